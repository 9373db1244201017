//! Small filesystem helpers: atomic, permission-correct writes of secrets and configs.
//!
//! Every file the server writes that matters (keys, certificates) goes through
//! [`write_atomic`]: a temp file in the same directory, fsync, rename, fsync of the
//! directory. A crash leaves either the old file or the new one, never half of either.

use std::io::Write;
use std::path::Path;

/// Write `bytes` to `path` atomically with the given unix mode (e.g. `0o600`).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Create a directory (and parents) that only the owner can read, or tighten an existing one.
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}
