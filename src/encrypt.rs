//! age encryption into atomic files, shared by `backup run` and `user export`.
//!
//! Recipients come from `--recipient` (age `age1...` or an SSH public key line) and
//! `--recipients-file`. The ciphertext goes into `fsutil::AtomicFile`s (0600 temp files
//! in the destination directories), hashed once on the way; a caller commits them under
//! their final names only after the whole plaintext arrived and checked out, so a failed or
//! killed run never leaves a final name behind.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::Args;
use imadm_server::fsutil::{AtomicFile, Flusher};
use sha2::{Digest, Sha256};

use crate::error::{CliError, Result};

/// The recipient options (flattened into a command's arguments).
#[derive(Debug, Clone, Args)]
pub struct RecipientArgs {
    /// age recipient (age1...) or SSH public key (ssh-ed25519/ssh-rsa ...); repeatable
    #[arg(short, long = "recipient", value_name = "R")]
    pub recipients: Vec<String>,
    /// File with one recipient per line (# comments allowed)
    #[arg(short = 'R', long, value_name = "FILE")]
    pub recipients_file: Option<PathBuf>,
}

/// Parsed recipients and the lines they came from (for manifests and summaries).
pub struct Recipients {
    pub lines: Vec<String>,
    pub parsed: Vec<Box<dyn age::Recipient + Send>>,
}

impl RecipientArgs {
    /// Every recipient, parsed; a usage error when there is none (`what` names the
    /// file nobody could decrypt, e.g. "the backup").
    pub fn load(&self, what: &str) -> Result<Recipients> {
        let mut lines = self.recipients.clone();
        if let Some(f) = &self.recipients_file {
            let text = std::fs::read_to_string(f).map_err(|e| {
                CliError::usage(format!("cannot read {}: {e}", f.display()))
                    .hint("one recipient per line, # for comments")
            })?;
            lines.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_owned),
            );
        }
        if lines.is_empty() {
            return Err(
                CliError::usage(format!("no recipients: nobody could decrypt {what}"))
                    .hint("pass --recipient age1... or --recipients-file FILE"),
            );
        }
        let parsed = lines
            .iter()
            .map(|l| parse_recipient(l))
            .collect::<Result<Vec<_>>>()?;
        Ok(Recipients { lines, parsed })
    }
}

pub fn parse_recipient(s: &str) -> Result<Box<dyn age::Recipient + Send>> {
    if s.starts_with("age1") {
        return age::x25519::Recipient::from_str(s)
            .map(|r| Box::new(r) as _)
            .map_err(|e| {
                CliError::usage(format!("invalid age recipient {s:?}: {e}"))
                    .hint("an age recipient looks like age1... (see `age-keygen -y key.txt`)")
            });
    }
    age::ssh::Recipient::from_str(s)
        .map(|r| Box::new(r) as _)
        .map_err(|e| {
            CliError::usage(format!("invalid recipient {s:?}: {e:?}"))
                .hint("use an age1... recipient or an ssh-ed25519/ssh-rsa public key line")
        })
}

/// The encrypted file to be committed as `file`. Created before anything is asked of the
/// server, so a destination that cannot be written fails first, with exit 2.
pub fn output(file: &Path) -> Result<AtomicFile> {
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    AtomicFile::create(file, 0o600).map_err(|e| cannot_write_in(dir, e))
}

/// Like [`output`], for a file in `dir` whose name is known only at the end
/// (`AtomicFile::commit_as`).
pub fn output_in(dir: &Path) -> Result<AtomicFile> {
    AtomicFile::create_in(dir, 0o600).map_err(|e| cannot_write_in(dir, e))
}

fn cannot_write_in(dir: &Path, e: io::Error) -> CliError {
    CliError::usage(format!("cannot write in {}: {e}", dir.display()))
        .hint("create the directory and check its permissions")
}

/// Tees the ciphertext into every file and hashes it once. The files are written back and
/// synced while they are written, by one thread of their own ([`Flusher`]), so the fsync of
/// their commits is short.
pub struct Tee {
    pub files: Vec<AtomicFile>,
    /// S3 destinations (`backup run --to s3://`), committed by the caller like the files.
    pub uploads: Vec<crate::cmdutil::s3::Upload>,
    flusher: Option<Flusher>,
    hash: Sha256,
    pub size: u64,
}

impl Tee {
    pub fn new(files: Vec<AtomicFile>) -> Tee {
        Tee::with_uploads(files, Vec::new())
    }

    /// Files and S3 uploads.
    pub fn with_uploads(files: Vec<AtomicFile>, uploads: Vec<crate::cmdutil::s3::Upload>) -> Tee {
        Tee {
            uploads,
            // Best effort: without it the files are only made durable by their commits.
            flusher: Flusher::watch(files.iter().map(|f| f.temp_path())).ok(),
            files,
            hash: Sha256::new(),
            size: 0,
        }
    }

    /// Lower-case hex SHA-256 of everything written so far.
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.hash.clone().finalize())
    }

    /// Flush the files and stop the flusher (after it started writeback of the tails):
    /// nothing more will be written. A write error its syncs found fails the run.
    fn done(&mut self) -> io::Result<()> {
        self.flush()?;
        match self.flusher.take() {
            Some(f) => f.finish(),
            None => Ok(()),
        }
    }
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for f in &mut self.files {
            f.write_all(buf)?;
        }
        for u in &mut self.uploads {
            u.write_all(buf)?;
        }
        self.hash.update(buf);
        self.size += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.files.iter_mut().try_for_each(|f| f.flush())
    }
}

/// The age writer over a [`Tee`]. Unbuffered: age writes whole 64 KiB chunks, and only
/// the header in small pieces.
pub type Encrypting = age::stream::StreamWriter<Tee>;

/// Start encrypting to `recipients` into `tee`.
pub fn encrypt(recipients: &Recipients, tee: Tee) -> Result<Encrypting> {
    let enc = age::Encryptor::with_recipients(recipients.parsed.iter().map(|r| r.as_ref() as _))
        .map_err(|e| CliError::usage(format!("cannot encrypt to these recipients: {e}")))?;
    enc.wrap_output(tee).map_err(CliError::from)
}

/// Write the age trailer and hand the files back, flushed (not yet synced).
pub fn finish(w: Encrypting) -> Result<Tee> {
    Ok(close(w)?)
}

fn close(w: Encrypting) -> io::Result<Tee> {
    let mut tee = w.finish()?;
    tee.done()?;
    Ok(tee)
}

/// Everything read from `inner` is also written to `sink` (the encryptor), so the
/// plaintext can be checked while it streams and is encrypted in the same pass; `progress`
/// counts the bytes (`Context::progress`: hidden unless stderr is a terminal).
pub struct TapRead<R, W> {
    pub inner: R,
    pub sink: W,
    pub progress: indicatif::ProgressBar,
}

impl<R: Read, W: Write> Read for TapRead<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sink.write_all(&buf[..n])?;
        self.progress.inc(n as u64);
        Ok(n)
    }
}

/// Size of the pieces [`Background`] hands to its thread.
const PIECE: usize = 256 << 10;

/// An [`Encrypting`] writer on a thread of its own: writes are gathered into pieces and
/// passed through a small bounded channel, so encrypting, hashing and writing the
/// ciphertext run beside the caller's reading and checking of the plaintext (on two
/// cores, `backup run` was bound by doing both on one thread). Memory stays bounded: at
/// most a few pieces are in flight.
pub struct Background {
    buf: Vec<u8>,
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    /// Pieces the thread is done with, to be filled again: a fresh 256 KiB allocation per
    /// piece is an mmap and a page fault per 4 KiB each time (glibc).
    spent: std::sync::mpsc::Receiver<Vec<u8>>,
    worker: Option<std::thread::JoinHandle<io::Result<Tee>>>,
    /// Why the thread stopped early (a full disk, an S3 service gone), kept with its exit
    /// code: the caller only sees a broken stream.
    failure: Option<CliError>,
}

/// Pieces in flight to [`Background`]'s thread.
const PIECES: usize = 4;

impl Background {
    pub fn spawn(w: Encrypting) -> Background {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(PIECES);
        let (spent_tx, spent) = std::sync::mpsc::sync_channel::<Vec<u8>>(PIECES + 2);
        let worker = std::thread::spawn(move || {
            let mut w = w;
            for mut piece in rx {
                w.write_all(&piece)?;
                piece.clear();
                let _ = spent_tx.try_send(piece);
            }
            close(w)
        });
        Background {
            buf: Vec::with_capacity(PIECE),
            tx: Some(tx),
            spent,
            worker: Some(worker),
            failure: None,
        }
    }

    fn send(&mut self) -> io::Result<()> {
        let next = self
            .spent
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(PIECE));
        let piece = std::mem::replace(&mut self.buf, next);
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(piece).is_ok());
        if sent {
            return Ok(());
        }
        // The thread stopped: report why (a full disk, say), not just that it stopped.
        let e = match self.join() {
            Err(e) => CliError::from(e),
            Ok(_) => CliError::unexpected("the encryption thread stopped early"),
        };
        let err = io::Error::other(e.message.clone());
        self.failure = Some(e);
        Err(err)
    }

    /// Why the thread stopped early, if it did: a destination's failure, to be reported
    /// instead of the broken stream it caused.
    pub fn take_failure(&mut self) -> Option<CliError> {
        self.failure.take()
    }

    fn join(&mut self) -> io::Result<Tee> {
        self.tx = None;
        match self.worker.take() {
            Some(w) => w
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the encryption thread panicked"))),
            None => Err(io::Error::other("the encryption thread already stopped")),
        }
    }

    /// Encrypt what is left, write the age trailer, and hand the files back, flushed
    /// (not yet synced).
    pub fn finish(mut self) -> Result<Tee> {
        if !self.buf.is_empty()
            && let Err(e) = self.send()
        {
            return Err(self.failure.take().unwrap_or_else(|| e.into()));
        }
        Ok(self.join()?)
    }
}

impl Write for Background {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        if self.buf.len() >= PIECE {
            self.send()?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Background {
    /// On an error path: stop the thread and let it drop (delete) its temp files before
    /// the process goes on or exits.
    fn drop(&mut self) {
        if self.worker.is_some() {
            let _ = self.join();
        }
    }
}
