//! Small filesystem helpers: atomic, permission-correct writes of secrets and configs,
//! and write-behind for large files that end in an fsync.
//!
//! Every file the server writes that matters (keys, certificates) goes through
//! [`write_atomic`]: a temp file in the same directory, fsync, rename, fsync of the
//! directory. A crash leaves either the old file or the new one, never half of either.
//! Large files written the same way (backup archives, the restore's staging database) use
//! [`WriteBehind`] so that their final fsync does not start from a gigabyte of dirty pages.

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

/// Starts the kernel's writeback of a large file while it is still being written, so the
/// fsync that makes it durable finds little left to do.
///
/// Why: on a machine with plenty of RAM the kernel keeps gigabytes dirty before it starts
/// writing on its own (`vm.dirty_background_ratio`), so a 1 GiB archive is written to disk
/// only by the final fsync, a second or two during which nothing else happens. Asking for
/// writeback of every finished step (`sync_file_range(SYNC_FILE_RANGE_WRITE)`, which does
/// not wait) lets the disk work while the caller keeps encrypting or loading; waiting for
/// the step before the last one keeps the dirty data bounded to about two steps. This is
/// the pattern of PostgreSQL's `*_flush_after` and RocksDB's `bytes_per_sync`.
///
/// It is only a hint: it neither replaces the fsync nor reports errors (the fsync does),
/// and off Linux it does nothing.
#[derive(Debug, Default)]
pub struct WriteBehind {
    /// Writeback was requested for every byte before this offset.
    started: u64,
}

impl WriteBehind {
    /// How much is written between two requests.
    pub const STEP: u64 = 8 << 20;

    /// `file` has `len` bytes written so far (appended in order, or anywhere below `len`).
    pub fn advance(&mut self, file: &std::fs::File, len: u64) {
        if len < self.started + Self::STEP {
            return;
        }
        let end = len - len % Self::STEP;
        sync_range(file, self.started, end - self.started, false);
        self.started = end;
        if end >= 2 * Self::STEP {
            sync_range(file, 0, end - 2 * Self::STEP, true);
        }
    }
}

#[cfg(target_os = "linux")]
fn sync_range(file: &std::fs::File, offset: u64, len: u64, wait: bool) {
    use std::os::fd::AsRawFd;
    let flags = if wait {
        libc::SYNC_FILE_RANGE_WAIT_BEFORE
            | libc::SYNC_FILE_RANGE_WRITE
            | libc::SYNC_FILE_RANGE_WAIT_AFTER
    } else {
        libc::SYNC_FILE_RANGE_WRITE
    };
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: a plain syscall on a descriptor `file` keeps open; it reads no memory of ours.
    // The result is ignored on purpose: this is a hint, and the caller's fsync reports
    // any write error.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, flags);
    }
}

#[cfg(not(target_os = "linux"))]
fn sync_range(_file: &std::fs::File, _offset: u64, _len: u64, _wait: bool) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::WriteBehind;
    use std::io::Write;
    use std::os::fd::AsRawFd;

    /// Dirty pages of `f` from the kernel's page cache (`cachestat(2)`, Linux 6.5+);
    /// `None` where the kernel has no such call.
    fn dirty_pages(f: &std::fs::File) -> Option<u64> {
        #[repr(C)]
        struct Range {
            off: u64,
            len: u64,
        }
        #[repr(C)]
        #[derive(Default)]
        struct Stat {
            cache: u64,
            dirty: u64,
            writeback: u64,
            evicted: u64,
            recently_evicted: u64,
        }
        const SYS_CACHESTAT: libc::c_long = 451;
        let range = Range { off: 0, len: 0 };
        let mut stat = Stat::default();
        // SAFETY: both structs are the kernel's layout and outlive the call.
        let r = unsafe {
            libc::syscall(
                SYS_CACHESTAT,
                f.as_raw_fd(),
                &range as *const Range,
                &mut stat as *mut Stat,
                0u32,
            )
        };
        (r == 0).then_some(stat.dirty)
    }

    /// Without write-behind, a 48 MiB file stays dirty until its fsync (the kernel waits
    /// for gigabytes, or 30 s); with it, everything but the last two steps has been
    /// written when the writer gets there.
    #[test]
    fn write_behind_keeps_at_most_two_steps_dirty() {
        let dir = tempfile::tempdir().unwrap();
        let chunk = vec![0x5au8; 1 << 20];
        let write = |name: &str, behind: bool| {
            let mut f = std::fs::File::create(dir.path().join(name)).unwrap();
            let mut wb = WriteBehind::default();
            for i in 1..=48u64 {
                f.write_all(&chunk).unwrap();
                if behind {
                    wb.advance(&f, i << 20);
                }
            }
            let dirty = dirty_pages(&f);
            f.sync_all().unwrap();
            dirty
        };
        let Some(plain) = write("plain", false) else {
            eprintln!("skipped: this kernel has no cachestat(2) to observe dirty pages");
            return;
        };
        let with = write("behind", true).unwrap();
        let page = 4096;
        assert!(
            plain * page >= 40 << 20,
            "premise: without write-behind most of the file is still dirty ({plain} pages)"
        );
        assert!(
            with * page <= 2 * WriteBehind::STEP,
            "{with} dirty pages left, more than two steps"
        );
    }
}
