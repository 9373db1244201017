//! Backup archives and their manifests, as `backup run` writes them: what `backup list`,
//! `prune` and `verify` read, and what the compliance gate checks.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::integrity;
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

/// Size and lower-case hex SHA-256 of an archive file (read once, in chunks).
pub fn digest_archive(file: &Path) -> Result<(u64, String)> {
    use sha2::Digest;
    use std::io::Read;
    let f = open_archive(file)?;
    let mut r = io::BufReader::with_capacity(256 << 10, f);
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
pub fn check_archive(file: &Path, manifest: &Manifest) -> Result<()> {
    let (size, sha) = digest_archive(file)?;
    if size != manifest.size {
        return Err(integrity(format!(
            "{} is {size} bytes, its manifest says {}",
            file.display(),
            manifest.size
        ))
        .hint("the archive is truncated or was changed; use another copy"));
    }
    if sha != manifest.sha256 {
        return Err(integrity(format!(
            "SHA-256 of {} is {sha}, its manifest says {}",
            file.display(),
            manifest.sha256
        ))
        .hint("the archive was changed or damaged; use another copy"));
    }
    Ok(())
}
