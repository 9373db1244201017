//! Small filesystem helpers: atomic, permission-correct writes, private files and
//! directories, and a head start on the fsync of large files. Shared by the server and the
//! CLI: every file either of them writes whole goes through [`AtomicFile`].
//!
//! [`AtomicFile`] (and the one-shot [`write_atomic`] built on it): a temp file in the same
//! directory, fsync, rename, fsync of the directory, each step's error returned. A crash
//! leaves either the old file or the new one, never half of either. Large files written
//! the same way (backup archives, audit exports, the restore's staging database) have a
//! [`Flusher`] beside them, so that their final fsync does not start from a gigabyte of
//! dirty pages and an unflushed disk cache.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Write `bytes` to `path` atomically with the given unix mode (e.g. `0o600`).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let mut f = AtomicFile::create(path, mode)?;
    f.write_all(bytes)?;
    f.commit()
}

/// A file that appears under its final name only on [`AtomicFile::commit`]: until then it
/// is a temp file (`.imadm-tmp-*`, created with `mode`) in the same directory. Dropped
/// uncommitted, on an error path, it leaves nothing behind.
#[derive(Debug)]
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    /// The final name; `None` until [`AtomicFile::commit_as`] gives one.
    path: Option<PathBuf>,
    flusher: Option<Flusher>,
}

impl AtomicFile {
    /// A file to appear at `path`.
    pub fn create(path: &Path, mode: u32) -> std::io::Result<AtomicFile> {
        let mut f = AtomicFile::create_in(dir_of(path), mode)?;
        f.path = Some(path.to_owned());
        Ok(f)
    }

    /// A file in `dir` whose name is known only once it is written (a backup is named
    /// after its snapshot's time): commit it with [`AtomicFile::commit_as`].
    pub fn create_in(dir: &Path, mode: u32) -> std::io::Result<AtomicFile> {
        let tmp = tempfile::Builder::new()
            .prefix(".imadm-tmp-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))
            .tempfile_in(dir)?;
        Ok(AtomicFile {
            tmp,
            path: None,
            flusher: None,
        })
    }

    /// For a large file: a [`Flusher`] writes it back and syncs it while it is written, so
    /// the fsync of the commit is short. Best effort: if the file cannot be opened a second
    /// time, the commit does all the work. (Several large files written together share one
    /// flusher instead: [`Flusher::watch`] their [`AtomicFile::temp_path`]s.)
    pub fn large(mut self) -> Self {
        self.flusher = Flusher::watch([self.tmp.path()]).ok();
        self
    }

    /// Where the bytes are until the commit.
    pub fn temp_path(&self) -> &Path {
        self.tmp.path()
    }

    pub fn file(&mut self) -> &mut std::fs::File {
        self.tmp.as_file_mut()
    }

    /// fsync, rename to the path given at creation, fsync the directory.
    pub fn commit(self) -> std::io::Result<()> {
        let path = self.path.clone().ok_or_else(|| {
            std::io::Error::other("AtomicFile::create_in needs commit_as, not commit")
        })?;
        self.commit_as(&path)
    }

    /// fsync, rename to `path` (in the directory the file was created in), fsync the
    /// directory. Returns the first error of any step: after an error of the last one the
    /// file may be there but is not known to survive a crash.
    pub fn commit_as(self, path: &Path) -> std::io::Result<()> {
        self.commit_with(path, sync_dir)
    }

    fn commit_with(
        mut self,
        path: &Path,
        sync_dir: impl FnOnce(&Path) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        if let Some(f) = self.flusher.take() {
            f.finish()?;
        }
        self.tmp.as_file().sync_all()?;
        self.tmp.persist(path).map_err(|e| e.error)?;
        sync_dir(dir_of(path))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tmp.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tmp.flush()
    }
}

/// The directory a file name is in (`.` for a bare name).
fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// fsync a directory, so that a rename or a new file in it survives a crash.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Make `path` a file only the owner can read and write: create it empty with mode 0600
/// if it does not exist (whatever the umask), or take group and other bits off an existing
/// one. For files that another library creates with its own mode (SQLite: 0644), which
/// then finds this one already there.
pub fn private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    let mode = f.metadata()?.permissions().mode();
    if mode & 0o077 != 0 {
        f.set_permissions(std::fs::Permissions::from_mode(mode & 0o700))?;
    }
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

/// Makes a large file durable while it is still being written, on a thread of its own,
/// so the fsync that ends it finds little left to do.
///
/// Why: an fsync at the end of a large file costs two waits. First the kernel writes the
/// dirty pages: with plenty of RAM it keeps gigabytes dirty before it starts on its own
/// (`vm.dirty_background_ratio`). Then the disk must make its write cache durable (the
/// flush that fsync sends), which on some virtual disks takes time in proportion to what
/// was written even when every page had already been written back (bench/README.md has
/// the figures). Both are waits for the disk, not CPU, so they can run beside the work
/// that produces the file.
///
/// What it does: every [`Flusher::POLL`] it looks at each file's length; for each new
/// [`Flusher::STEP`] it starts writeback (`sync_file_range(SYNC_FILE_RANGE_WRITE)`, which
/// does not wait; the pattern of PostgreSQL's `*_flush_after` and RocksDB's
/// `bytes_per_sync`), and every [`Flusher::SYNC_EVERY`] it calls `fdatasync`, which waits
/// for that writeback and the disk's flush. It has a thread of its own because that
/// `fdatasync` blocks for as long as the flush takes; the writer never calls it and never
/// waits for it.
///
/// It is a head start, not a replacement for the writer's own fsync. Errors: Linux reports
/// a writeback error to one `fdatasync` per open file description (and to a description
/// opened later only if nobody saw it yet), so an error the flusher's `fdatasync` took
/// might never reach the writer's fsync. Hence [`Flusher::finish`] returns it, and the
/// flusher opens the files again by path ([`Flusher::watch`] takes paths, not
/// descriptors: a `try_clone`d one shares the writer's open file description), so that
/// the writer's own descriptors still see every error too. Off Linux only the periodic
/// `fdatasync` runs.
#[derive(Debug)]
pub struct Flusher {
    stop: Arc<(Mutex<bool>, Condvar)>,
    /// The thread; it ends with the first error of an `fdatasync`, if any.
    thread: Option<std::thread::JoinHandle<Option<std::io::Error>>>,
}

impl Flusher {
    /// How often the thread looks at the files' lengths.
    pub const POLL: Duration = Duration::from_millis(10);
    /// Writeback is started for every step of this size.
    pub const STEP: u64 = 8 << 20;
    /// `fdatasync` after every this many bytes.
    pub const SYNC_EVERY: u64 = 64 << 20;

    /// Start for the files at `paths` (already created; opened again here, read-only).
    pub fn watch<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> std::io::Result<Flusher> {
        let files = paths
            .into_iter()
            .map(std::fs::File::open)
            .collect::<std::io::Result<Vec<_>>>()?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("flusher".into())
            .spawn(move || {
                let mut progress = vec![Progress::default(); files.len()];
                let mut error = None;
                let (lock, cv) = &*flag;
                loop {
                    // Once stopped: one last pass, to start writeback of the tail.
                    let last = *lock.lock().unwrap_or_else(|p| p.into_inner());
                    for (f, p) in files.iter().zip(&mut progress) {
                        if let Ok(m) = f.metadata()
                            && let Err(e) = p.advance(f, m.len(), last)
                        {
                            error.get_or_insert(e);
                        }
                    }
                    if last {
                        return error;
                    }
                    let stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
                    drop(cv.wait_timeout_while(stopped, Self::POLL, |stopped| !*stopped));
                }
            });
        Ok(Flusher {
            stop,
            // Without a thread (the system refused one) only the head start is lost.
            thread: thread.ok(),
        })
    }

    /// The writer is done: one last pass starts writeback of the tail, then the thread
    /// stops and closes its descriptors. Returns the first error of its `fdatasync`s: the
    /// file must not be used then, whatever the writer's fsync says.
    pub fn finish(mut self) -> std::io::Result<()> {
        match self.stop() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn stop(&mut self) -> Option<std::io::Error> {
        let t = self.thread.take()?;
        let (lock, cv) = &*self.stop;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cv.notify_all();
        t.join().unwrap_or(None)
    }
}

impl Drop for Flusher {
    /// On an error path (the file is deleted): stop the thread, ignore what it found.
    fn drop(&mut self) {
        self.stop();
    }
}

/// How far the [`Flusher`] got with one file.
#[derive(Debug, Default, Clone)]
struct Progress {
    /// Writeback was requested for every byte before this offset.
    started: u64,
    /// Length at the last `fdatasync`.
    synced: u64,
}

impl Progress {
    /// `file` has `len` bytes written so far (appended, or anywhere below `len`).
    fn advance(&mut self, file: &std::fs::File, len: u64, tail: bool) -> std::io::Result<()> {
        let end = if tail { len } else { len - len % Flusher::STEP };
        if end > self.started {
            sync_range(file, self.started, end - self.started);
            self.started = end;
        }
        if !tail && len >= self.synced + Flusher::SYNC_EVERY {
            self.synced = len;
            file.sync_data()?;
        }
        Ok(())
    }
}

#[cfg(target_os = "linux")]
fn sync_range(file: &std::fs::File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: a plain syscall on a descriptor `file` keeps open; it reads no memory of ours.
    // The result is ignored on purpose: this is a hint, and the writer's fsync reports any
    // write error.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn sync_range(_file: &std::fs::File, _offset: u64, _len: u64) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::Flusher;
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

    /// 48 MiB written while a [`Flusher`] watches the file; the writer calls nothing but
    /// `write_all`. Without the flusher most of the file is still dirty when the writer is
    /// done (the kernel waits for gigabytes, or 30 s); with it, once it has stopped,
    /// writeback of the whole file has at least started.
    #[test]
    fn flusher_starts_writeback_without_the_writer_calling_it() {
        let dir = tempfile::tempdir().unwrap();
        let chunk = vec![0x5au8; 1 << 20];
        let write = |name: &str, flush: bool| {
            let path = dir.path().join(name);
            let mut f = std::fs::File::create(&path).unwrap();
            let flusher = flush.then(|| Flusher::watch([&path]).unwrap());
            for _ in 0..48 {
                f.write_all(&chunk).unwrap();
            }
            if let Some(fl) = flusher {
                fl.finish().unwrap();
            }
            let dirty = dirty_pages(&f);
            f.sync_all().unwrap();
            dirty
        };
        let Some(plain) = write("plain", false) else {
            eprintln!("skipped: this kernel has no cachestat(2) to observe dirty pages");
            return;
        };
        let with = write("flushed", true).unwrap();
        let page = 4096;
        assert!(
            plain * page >= 40 << 20,
            "premise: without the flusher most of the file is still dirty ({plain} pages)"
        );
        assert!(
            with * page < Flusher::STEP,
            "{with} dirty pages left, more than a step"
        );
    }
}

#[cfg(test)]
mod atomic_tests {
    use super::{AtomicFile, write_atomic};
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_write_gets_its_mode_and_replaces_the_old_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        write_atomic(&path, b"first", 0o600).unwrap();
        assert_eq!(mode(&path), 0o600);
        write_atomic(&path, b"second", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        // The umask may take bits away, never add them.
        let public = dir.path().join("page.1");
        write_atomic(&public, b"man", 0o644).unwrap();
        assert_eq!(mode(&public) & !0o644, 0);
        assert_eq!(mode(&public) & 0o600, 0o600);
        assert_eq!(names(dir.path()), ["key", "page.1"]);
    }

    #[test]
    fn nothing_is_left_behind_when_a_write_fails_or_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        // Rename over a non-empty directory: the last step before the directory sync fails.
        let busy = dir.path().join("busy");
        std::fs::create_dir(&busy).unwrap();
        std::fs::write(busy.join("x"), b"x").unwrap();
        assert!(write_atomic(&busy, b"data", 0o600).is_err());
        // No directory to put the temp file in.
        assert!(write_atomic(&dir.path().join("missing/f"), b"data", 0o600).is_err());
        // Dropped uncommitted (the caller's own error path).
        let mut f = AtomicFile::create(&dir.path().join("half"), 0o600).unwrap();
        f.write_all(b"half").unwrap();
        drop(f);
        // A name known only at the end, and none given.
        let f = AtomicFile::create_in(dir.path(), 0o600).unwrap();
        assert!(f.commit().is_err());
        assert_eq!(names(dir.path()), ["busy"]);
    }

    #[test]
    fn a_large_file_is_committed_under_the_name_given_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = AtomicFile::create_in(dir.path(), 0o600).unwrap().large();
        f.write_all(&vec![7u8; 1 << 20]).unwrap();
        let path = dir.path().join("archive.age");
        f.commit_as(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 1 << 20);
        assert_eq!(names(dir.path()), ["archive.age"]);
    }

    /// The directory fsync is what makes the rename survive a crash: its error is the
    /// commit's error, not ignored.
    #[test]
    fn a_failed_directory_sync_fails_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        let mut f = AtomicFile::create(&path, 0o600).unwrap();
        f.write_all(b"{}").unwrap();
        let err = f
            .commit_with(&path, |d| {
                assert_eq!(d, dir.path());
                Err(std::io::Error::other("injected fsync failure"))
            })
            .unwrap_err();
        assert_eq!(err.to_string(), "injected fsync failure");
    }
}
