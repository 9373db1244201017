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
    /// The S3 copies' Object Lock retention (`backup run --object-lock-days`), so that
    /// prune knows without asking the service; absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_lock: Option<ObjectLock>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ObjectLock {
    /// `COMPLIANCE` or `GOVERNANCE`.
    pub mode: String,
    /// Unix seconds until which the S3 copies cannot be deleted.
    pub until: i64,
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
#[derive(Clone)]
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

    /// Delete the archive, then its manifest (gone or not: an archive without one is
    /// never listed for pruning again).
    pub fn remove(&self) -> Result<()> {
        match self {
            Archive::File(p) => {
                std::fs::remove_file(p).map_err(|e| {
                    CliError::unexpected(format!("cannot remove {}: {e}", p.display()))
                })?;
                let _ = std::fs::remove_file(manifest_path(p));
            }
            Archive::S3 { client, name } => {
                client.delete(name)?;
                let _ = client.delete(&manifest_name(name));
            }
        }
        Ok(())
    }

    /// Its file name (the object's name under the prefix).
    pub fn name(&self) -> String {
        match self {
            Archive::File(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            Archive::S3 { name, .. } => name.clone(),
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

/// The archives (`*.age`) in a directory or directly under `s3://BUCKET/PREFIX`, in name
/// order: what `backup list` and `prune` work on.
pub fn archives_in(dir: &std::path::Path, settings: &s3::Settings) -> Result<Vec<Archive>> {
    if let Some(url) = dir.to_str().filter(|d| d.starts_with("s3://")) {
        let url: s3::S3Url = url.parse().map_err(|e: String| {
            CliError::usage(format!("{url:?}: {e}"))
                .hint("pass the s3://BUCKET/PREFIX given to `imadm backup run --to`")
        })?;
        let client = s3::Client::connect(&url, settings)?;
        return Ok(client
            .names(".age")?
            .into_iter()
            .map(|name| Archive::S3 {
                client: client.clone(),
                name,
            })
            .collect());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| {
        CliError::usage(format!("cannot read {}: {e}", dir.display()))
            .hint("pass the directory given to `imadm backup run --to`")
    })?;
    let mut paths = Vec::new();
    for e in entries {
        let path = e?.path();
        if path.extension().is_some_and(|x| x == "age") {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths.into_iter().map(Archive::File).collect())
}

/// Every readable manifest in a directory or under `s3://BUCKET/PREFIX`, with the archive
/// it describes (which may be missing); unreadable ones are skipped. For the compliance
/// gate, which looks for the newest manifest, then checks its archives.
pub fn manifests_in(dir: &Path, settings: &s3::Settings) -> Result<Vec<(Archive, Vec<u8>)>> {
    let mut out = Vec::new();
    if let Some(url) = dir.to_str().filter(|d| d.starts_with("s3://")) {
        let url: s3::S3Url = url
            .parse()
            .map_err(|e: String| CliError::usage(format!("{url:?}: {e}")))?;
        let client = s3::Client::connect(&url, settings)?;
        for m in client.names(".manifest.json")? {
            if let Ok(bytes) = client.read_small(&m) {
                let name = m.trim_end_matches(".manifest.json").to_owned();
                out.push((
                    Archive::S3 {
                        client: client.clone(),
                        name,
                    },
                    bytes,
                ));
            }
        }
        return Ok(out);
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| CliError::usage(format!("cannot read backup dir {}: {e}", dir.display())))?;
    for e in entries {
        let path = e?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(archive) = name.strip_suffix(".manifest.json") else {
            continue;
        };
        if let Ok(bytes) = std::fs::read(&path) {
            out.push((Archive::File(dir.join(archive)), bytes));
        }
    }
    Ok(out)
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
