//! Backup archives and their manifests, as `backup run` writes them: what `backup list`,
//! `prune` and `verify` read, and what the compliance gate checks. An archive is a file or
//! an object in an S3 bucket ([`Archive`]), read as a stream either way.

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::integrity;
use super::s3;
use crate::error::{CliError, Kind, Result};

/// Version of the manifest JSON beside each archive.
pub const MANIFEST_SCHEMA: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub server: String,
    pub server_id: String,
    /// Unix seconds when the snapshot was taken (server clock).
    pub created_at: i64,
    pub format: String,
    pub format_version: u32,
    pub db_schema_version: i64,
    pub counts: std::collections::BTreeMap<String, u64>,
    /// Size and SHA-256 of the encrypted archive file.
    pub size: u64,
    pub sha256: String,
    pub recipients: Vec<String>,
}

pub fn manifest_path(archive: &Path) -> PathBuf {
    let mut s = archive.as_os_str().to_owned();
    s.push(".manifest.json");
    PathBuf::from(s)
}

/// Open an archive; not there is exit 6.
pub fn open_archive(file: &Path) -> Result<std::fs::File> {
    std::fs::File::open(file).map_err(|e| {
        CliError::new(
            Kind::NotFound,
            format!("cannot open {}: {e}", file.display()),
        )
        .hint("give the path of an archive written by `imadm backup run`")
    })
}

/// Where an archive is: a file, or an object (`s3://BUCKET/PREFIX/NAME`).
pub enum Archive {
    File(PathBuf),
    S3 { client: s3::Client, name: String },
}

impl Archive {
    /// The archive an argument names; an `s3://` one is connected to (nothing sent yet).
    pub fn from_arg(arg: &Path, settings: &s3::Settings) -> Result<Archive> {
        let Some(url) = arg.to_str().filter(|a| a.starts_with("s3://")) else {
            return Ok(Archive::File(arg.to_owned()));
        };
        let bad = |e: String| {
            CliError::usage(format!("{url:?} is not an archive in S3: {e}"))
                .hint("give s3://BUCKET/PREFIX/NAME.age, as `imadm backup list s3://BUCKET/PREFIX` shows it")
        };
        let mut u: s3::S3Url = url.parse().map_err(bad)?;
        let (prefix, name) = match u.prefix.rsplit_once('/') {
            Some((p, n)) => (p.to_owned(), n.to_owned()),
            None => (String::new(), u.prefix.clone()),
        };
        if name.is_empty() {
            return Err(bad("no object name".into()));
        }
        u.prefix = prefix;
        Ok(Archive::S3 {
            client: s3::Client::connect(&u, settings)?,
            name,
        })
    }

    /// The archive as a stream, and its size when known; not there is exit 6.
    pub fn open(&self) -> Result<(Box<dyn Read + Send>, Option<u64>)> {
        match self {
            Archive::File(p) => {
                let f = open_archive(p)?;
                let size = f.metadata().ok().map(|m| m.len());
                Ok((Box::new(f), size))
            }
            Archive::S3 { client, name } => {
                let (r, size) = client.open(name)?;
                Ok((Box::new(r), Some(size)))
            }
        }
    }

    /// Where its manifest is, for messages.
    pub fn manifest_shown(&self) -> String {
        match self {
            Archive::File(p) => manifest_path(p).display().to_string(),
            Archive::S3 { client, name } => client.display(&manifest_name(name)),
        }
    }

    /// The manifest's bytes; `None` when there is none.
    pub fn read_manifest(&self) -> Result<Option<Vec<u8>>> {
        match self {
            Archive::File(p) => {
                let m = manifest_path(p);
                match std::fs::read(&m) {
                    Ok(b) => Ok(Some(b)),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(CliError::unexpected(format!(
                        "cannot read manifest {}: {e}",
                        m.display()
                    ))),
                }
            }
            Archive::S3 { client, name } => match client.read_small(&manifest_name(name)) {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind == Kind::NotFound => Ok(None),
                Err(e) => Err(e),
            },
        }
    }
}

impl fmt::Display for Archive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Archive::File(p) => write!(f, "{}", p.display()),
            Archive::S3 { client, name } => f.write_str(&client.display(name)),
        }
    }
}

/// The manifest's name beside an archive named `name`.
pub fn manifest_name(name: &str) -> String {
    format!("{name}.manifest.json")
}

/// Size and lower-case hex SHA-256 of an archive (read once, in chunks).
pub fn digest_archive(archive: &Archive) -> Result<(u64, String)> {
    use sha2::Digest;
    let (r, _) = archive.open()?;
    let mut r = io::BufReader::with_capacity(256 << 10, r);
    let mut hash = sha2::Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hex::encode(hash.finalize())))
}

/// Check an archive's size and SHA-256 against its manifest. Shared by `backup verify`
/// and the compliance gate.
pub fn check_archive(archive: &Archive, manifest: &Manifest) -> Result<()> {
    let (size, sha) = digest_archive(archive)?;
    if size != manifest.size {
        return Err(integrity(format!(
            "{archive} is {size} bytes, its manifest says {}",
            manifest.size
        ))
        .hint("the archive is truncated or was changed; use another copy"));
    }
    if sha != manifest.sha256 {
        return Err(integrity(format!(
            "SHA-256 of {archive} is {sha}, its manifest says {}",
            manifest.sha256
        ))
        .hint("the archive was changed or damaged; use another copy"));
    }
    Ok(())
}
