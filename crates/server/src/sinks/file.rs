//! The file sink: the audit log appended to a local file, one event per line exactly as
//! `audit export` writes events, so `imadm audit verify` checks the file, or a set of
//! rotated files, like a report (format: docs/audit-report.md, "Sink files").
//!
//! - The first line is a header ([`SinkFileHeader`]): server id and audit key, the seq the
//!   file starts at and the chain value before it, with a checkpoint the server signed
//!   there (the anchor). Each delivered batch ends with a seal, a checkpoint signed at its
//!   last event: editing or re-hashing any sealed event fails verification.
//! - Each batch is one `write` then `fdatasync` before it counts as delivered.
//! - Past `max_bytes` the file is renamed `PATH.<first seq, 12 digits>` and a new `PATH`
//!   starts where it ended (its header anchored at the last event), so the files chain.
//! - The file is the truth about what it holds: at start the sink reads its last line
//!   (dropping a line a crash left half-written) and skips events it already has, so a
//!   batch delivered again after a crash is not written twice.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use imadm_api::audit::AuditEvent;
use imadm_api::sinks::{SINK_FILE_KIND, SINK_FILE_SCHEMA, SealLine, SinkFileHeader};

use super::{Batch, Sign, Transport};

pub struct FileSink {
    path: PathBuf,
    max_bytes: Option<u64>,
    /// `None` until the first delivery opened (or found) the file.
    open: Option<Open>,
}

/// The active file and where its chain ends.
struct Open {
    file: File,
    size: u64,
    first_seq: u64,
    last_seq: u64,
    last_hash: String,
}

/// How far back from the end the last line is looked for.
const TAIL: u64 = 1 << 20;

impl FileSink {
    pub fn new(path: PathBuf, max_bytes: Option<u64>) -> FileSink {
        FileSink {
            path,
            max_bytes,
            open: None,
        }
    }

    /// The name of the file that held events from `first_seq` once rotated.
    fn rotated_name(&self, first_seq: u64) -> PathBuf {
        let mut n = 0;
        loop {
            let mut s = self.path.as_os_str().to_owned();
            s.push(format!(".{first_seq:012}"));
            // Two files can start at the same seq only after the log was replaced under
            // the sink (a disaster-recovery restore): keep both.
            if n > 0 {
                s.push(format!(".{n}"));
            }
            let p = PathBuf::from(s);
            if !p.exists() {
                return p;
            }
            n += 1;
        }
    }

    /// Rotated files of this sink (any `PATH.<digits>[.<n>]`), newest first by first seq.
    fn rotated(&self) -> std::io::Result<Vec<(u64, PathBuf)>> {
        let dir = self.path.parent().unwrap_or(Path::new("/"));
        let base = self.path.file_name().unwrap_or_default().to_string_lossy();
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix(&*base).and_then(|r| r.strip_prefix('.')) else {
                continue;
            };
            let digits = rest.split('.').next().unwrap_or("");
            if digits.len() == 12
                && let Ok(seq) = digits.parse::<u64>()
            {
                found.push((seq, entry.path()));
            }
        }
        found.sort_by(|a, b| b.cmp(a));
        Ok(found)
    }

    /// Find where the sink's files end: the active file (repaired if a crash cut its last
    /// line), else the newest rotated one. `None`: nothing written yet.
    fn recover(&mut self, sign: &dyn Sign) -> Result<(), String> {
        let err = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
        if self.path.exists() {
            let mut file = OpenOptions::new()
                .read(true)
                .append(true)
                .open(&self.path)
                .map_err(|e| err(&self.path, e))?;
            let (header, last) = read_ends(&mut file, &self.path, true)?;
            check_owner(&header, sign, &self.path)?;
            let size = file.metadata().map_err(|e| err(&self.path, e))?.len();
            self.open = Some(Open {
                file,
                size,
                first_seq: header.first_seq,
                last_seq: last.0,
                last_hash: last.1,
            });
            return Ok(());
        }
        let rotated = self.rotated().map_err(|e| err(&self.path, e))?;
        if let Some((_, newest)) = rotated.first() {
            let mut f = File::open(newest).map_err(|e| err(newest, e))?;
            let (header, (seq, hash)) = read_ends(&mut f, newest, false)?;
            check_owner(&header, sign, newest)?;
            self.start_file(seq, &hash, sign)?;
        }
        Ok(())
    }

    /// The chain value the sink's files hold for event `seq` (`None`: no file holds it).
    /// Reads the one file that would, line by line: only called when the files are ahead
    /// of a whole batch, which a crash alone does not cause.
    fn hash_at(&self, seq: u64) -> Result<Option<String>, String> {
        let active = self.open.as_ref().map(|o| (o.first_seq, self.path.clone()));
        let rotated = self
            .rotated()
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        let Some((_, file)) = active
            .into_iter()
            .chain(rotated)
            .find(|(first, _)| *first <= seq)
        else {
            return Ok(None);
        };
        let f = File::open(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let prefix = format!("{{\"seq\":{seq},");
        for line in std::io::BufRead::lines(std::io::BufReader::new(f)) {
            let line = line.map_err(|e| format!("{}: {e}", file.display()))?;
            if line.starts_with(&prefix) {
                let e: AuditEvent =
                    serde_json::from_str(&line).map_err(|e| format!("{}: {e}", file.display()))?;
                return Ok(Some(e.hash));
            }
        }
        Ok(None)
    }

    /// Create `PATH` continuing the chain after `seq` (chain value `hash`).
    fn start_file(&mut self, seq: u64, hash: &str, sign: &dyn Sign) -> Result<(), String> {
        let err = |e: std::io::Error| format!("{}: {e}", self.path.display());
        let header = SinkFileHeader {
            schema_version: SINK_FILE_SCHEMA,
            kind: SINK_FILE_KIND.into(),
            server_id: sign.server_id().to_owned(),
            audit_public_key: sign.public_key(),
            first_seq: seq + 1,
            prev_hash: hash.to_owned(),
            anchor: (seq > 0).then(|| sign.checkpoint(seq, hash)),
        };
        let mut line = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
        line.push(b'\n');
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(err)?;
        file.write_all(&line).map_err(err)?;
        file.sync_all().map_err(err)?;
        sync_dir(&self.path).map_err(err)?;
        self.open = Some(Open {
            file,
            size: line.len() as u64,
            first_seq: seq + 1,
            last_seq: seq,
            last_hash: hash.to_owned(),
        });
        Ok(())
    }

    /// Rename the active file out of the way (`PATH.<first seq>`).
    fn rotate(&mut self) -> Result<(), String> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        let to = self.rotated_name(open.first_seq);
        std::fs::rename(&self.path, &to)
            .and_then(|()| sync_dir(&self.path))
            .map_err(|e| format!("rotating {} to {}: {e}", self.path.display(), to.display()))
    }
}

impl Transport for FileSink {
    fn deliver(&mut self, batch: &Batch, sign: &dyn Sign) -> Result<(), String> {
        let Some(first) = batch.events.first() else {
            return Ok(());
        };
        if self.open.is_none() {
            self.recover(sign)?;
        }
        // Where the new events start, and whether they continue the file's chain.
        let (skip, continues) = match &self.open {
            None => (0, false),
            Some(o) if o.last_seq >= first.seq => {
                let i = (o.last_seq - first.seq) as usize;
                match batch.events.get(i) {
                    Some(e) => (i + 1, e.hash == o.last_hash),
                    // The files are ahead of the whole batch (its cursor was lost or
                    // reset): nothing to write if they hold the batch's events, which
                    // its last one's chain value tells.
                    None => {
                        let last = batch.events.last().expect("not empty");
                        if self.hash_at(last.seq)?.as_deref() == Some(last.hash.as_str()) {
                            return Ok(());
                        }
                        (0, false)
                    }
                }
            }
            Some(o) => (
                0,
                o.last_seq + 1 == first.seq && o.last_hash == batch.prev_hash,
            ),
        };
        let mut skip = skip;
        if !continues {
            skip = 0;
            if self.open.is_some() {
                // The log under the sink was replaced, or the file lost events: keep the
                // file as it is and start a new one, which `audit verify` shows as a break.
                tracing::warn!(
                    file = %self.path.display(),
                    "the audit log no longer continues this sink file; starting a new one"
                );
                self.rotate()?;
            }
            self.start_file(first.seq - 1, &batch.prev_hash, sign)?;
        }
        let new = &batch.events[skip..];
        let Some(end) = new.last() else {
            return Ok(());
        };
        let mut buf = Vec::with_capacity(new.len() * 400 + 300);
        for e in new {
            serde_json::to_writer(&mut buf, e).map_err(|e| e.to_string())?;
            buf.push(b'\n');
        }
        serde_json::to_writer(
            &mut buf,
            &SealLine {
                checkpoint: sign.checkpoint(end.seq, &end.hash),
            },
        )
        .map_err(|e| e.to_string())?;
        buf.push(b'\n');
        let o = self.open.as_mut().expect("opened above");
        let err = |e: std::io::Error| format!("{}: {e}", self.path.display());
        o.file.write_all(&buf).map_err(err)?;
        o.file.sync_data().map_err(err)?;
        o.size += buf.len() as u64;
        o.last_seq = end.seq;
        o.last_hash = end.hash.clone();
        if self.max_bytes.is_some_and(|m| o.size >= m) {
            let (seq, hash) = (o.last_seq, o.last_hash.clone());
            self.rotate()?;
            self.start_file(seq, &hash, sign)?;
        }
        Ok(())
    }
}

/// The file was written by this server (same audit key): never append to another's.
fn check_owner(h: &SinkFileHeader, sign: &dyn Sign, path: &Path) -> Result<(), String> {
    if h.audit_public_key.split(' ').nth(1) != sign.public_key().split(' ').nth(1) {
        return Err(format!(
            "{} was written by another server (audit key {}); move it away or choose another path",
            path.display(),
            h.audit_public_key
        ));
    }
    Ok(())
}

/// The header and the (seq, chain value) the file ends at. With `repair`, a last line
/// without its newline (a crash during a write) is cut off first.
fn read_ends(
    file: &mut File,
    path: &Path,
    repair: bool,
) -> Result<(SinkFileHeader, (u64, String)), String> {
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    let bad = |what: &str| format!("{} is not an audit sink file: {what}", path.display());
    let len = file.metadata().map_err(err)?.len();
    let mut first = Vec::new();
    file.seek(SeekFrom::Start(0)).map_err(err)?;
    Read::by_ref(file)
        .take(TAIL)
        .read_to_end(&mut first)
        .map_err(err)?;
    let Some(nl) = first.iter().position(|&b| b == b'\n') else {
        return Err(bad("no complete first line"));
    };
    let header: SinkFileHeader =
        serde_json::from_slice(&first[..nl]).map_err(|e| bad(&format!("header: {e}")))?;
    if header.kind != SINK_FILE_KIND || header.schema_version != SINK_FILE_SCHEMA {
        return Err(bad("unknown kind or schema_version"));
    }
    let start = len.saturating_sub(TAIL).max(nl as u64 + 1);
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(start)).map_err(err)?;
    file.read_to_end(&mut tail).map_err(err)?;
    let complete = match tail.iter().rposition(|&b| b == b'\n') {
        Some(i) => i + 1,
        None => 0,
    };
    if complete < tail.len() {
        if !repair {
            return Err(bad("its last line is cut off"));
        }
        tracing::warn!(file = %path.display(), "dropping a half-written last line");
        file.set_len(start + complete as u64).map_err(err)?;
        file.sync_data().map_err(err)?;
        tail.truncate(complete);
    }
    let body = tail.strip_suffix(b"\n").unwrap_or(&tail);
    if body.is_empty() {
        let end = (header.first_seq.saturating_sub(1), header.prev_hash.clone());
        return Ok((header, end));
    }
    let line = &body[body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)..];
    let last = if line.starts_with(b"{\"checkpoint\":") {
        let s: SealLine = serde_json::from_slice(line).map_err(|e| bad(&e.to_string()))?;
        (s.checkpoint.seq, s.checkpoint.head)
    } else {
        let e: AuditEvent = serde_json::from_slice(line).map_err(|e| bad(&e.to_string()))?;
        (e.seq, e.hash)
    };
    Ok((header, last))
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    File::open(path.parent().unwrap_or(Path::new("/")))?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::tests::{TestSigner, batch, chain};
    use imadm_api::audit::{GENESIS, hash_hex};

    fn lines(p: &Path) -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn appends_sealed_batches_and_skips_what_the_file_already_has() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let sign = TestSigner::new();
        let events = chain(10);
        let mut sink = FileSink::new(path.clone(), None);
        sink.deliver(&batch(&events, 0, 4), &sign).unwrap();
        // Delivered again after a "crash" (a new sink on the same file), plus more.
        let mut again = FileSink::new(path.clone(), None);
        again.deliver(&batch(&events, 0, 7), &sign).unwrap();
        let l = lines(&path);
        // header, 4 events, seal, 3 events, seal
        assert_eq!(l.len(), 1 + 4 + 1 + 3 + 1, "{l:#?}");
        let header: SinkFileHeader = serde_json::from_str(&l[0]).unwrap();
        assert_eq!((header.first_seq, header.anchor), (1, None));
        assert_eq!(header.prev_hash, hash_hex(&GENESIS));
        for (line, e) in [&l[1..5], &l[6..9]].concat().iter().zip(&events[..7]) {
            assert_eq!(line, &serde_json::to_string(e).unwrap());
        }
        let seal: SealLine = serde_json::from_str(&l[9]).unwrap();
        assert_eq!(
            (seal.checkpoint.seq, &seal.checkpoint.head),
            (7, &events[6].hash)
        );
        sign.verify(&seal.checkpoint);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_half_written_last_line_is_dropped_and_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let sign = TestSigner::new();
        let events = chain(6);
        FileSink::new(path.clone(), None)
            .deliver(&batch(&events, 0, 3), &sign)
            .unwrap();
        // A crash in the middle of the next batch's write.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        let half = serde_json::to_string(&events[3]).unwrap();
        f.write_all(&half.as_bytes()[..half.len() / 2]).unwrap();
        drop(f);
        FileSink::new(path.clone(), None)
            .deliver(&batch(&events, 3, 6), &sign)
            .unwrap();
        let l = lines(&path);
        assert_eq!(l.len(), 1 + 3 + 1 + 3 + 1, "{l:#?}");
        assert_eq!(l[5], serde_json::to_string(&events[3]).unwrap());
    }

    #[test]
    fn rotation_chains_the_files_and_survives_a_missing_active_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let sign = TestSigner::new();
        let events = chain(40);
        let mut sink = FileSink::new(path.clone(), Some(4096));
        for i in 0..20 {
            sink.deliver(&batch(&events, i * 2, i * 2 + 2), &sign)
                .unwrap();
        }
        let mut rotated: Vec<_> = sink
            .rotated()
            .unwrap()
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        rotated.reverse();
        assert!(rotated.len() >= 2, "{rotated:?}");
        assert_eq!(rotated[0], 1);
        // Each file starts right after the previous one ended, anchored there.
        let mut files: Vec<PathBuf> = sink
            .rotated()
            .unwrap()
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        files.reverse();
        files.push(path.clone());
        let mut next = 1;
        for f in &files {
            let l = lines(f);
            let h: SinkFileHeader = serde_json::from_str(&l[0]).unwrap();
            assert_eq!(h.first_seq, next, "{}", f.display());
            if next > 1 {
                let a = h.anchor.unwrap();
                assert_eq!(
                    (a.seq, &a.head),
                    (next - 1, &events[next as usize - 2].hash)
                );
                sign.verify(&a);
            }
            next += l.iter().filter(|l| l.starts_with("{\"seq\":")).count() as u64;
        }
        assert_eq!(next, 41);
        // The active file removed (a crash between rename and create): the sink goes on
        // from the newest rotated file.
        std::fs::remove_file(&path).unwrap();
        let newest = files[files.len() - 2].clone();
        let ends_at = lines(&newest)
            .iter()
            .filter(|l| l.starts_with("{\"seq\":"))
            .count() as u64
            + serde_json::from_str::<SinkFileHeader>(&lines(&newest)[0])
                .unwrap()
                .first_seq
            - 1;
        // A batch that overlaps the rotated file and adds two events (too few to rotate).
        let more = chain(45);
        FileSink::new(path.clone(), Some(4096))
            .deliver(
                &batch(&more, ends_at as usize - 2, ends_at as usize + 2),
                &sign,
            )
            .unwrap();
        let h: SinkFileHeader = serde_json::from_str(&lines(&path)[0]).unwrap();
        assert_eq!(h.first_seq, ends_at + 1);
        let seqs: Vec<u64> = lines(&path)[1..3]
            .iter()
            .map(|l| serde_json::from_str::<AuditEvent>(l).unwrap().seq)
            .collect();
        assert_eq!(seqs, [ends_at + 1, ends_at + 2]);
    }

    #[test]
    fn a_batch_the_files_already_hold_is_skipped_but_not_one_of_another_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let sign = TestSigner::new();
        let events = chain(30);
        let mut sink = FileSink::new(path.clone(), Some(4096));
        for i in 0..3 {
            sink.deliver(&batch(&events, i * 10, i * 10 + 10), &sign)
                .unwrap();
        }
        let files = |d: &Path| std::fs::read_dir(d).unwrap().count();
        let before = (files(dir.path()), lines(&path));
        // The same events again from seq 1 (a lost cursor): nothing is written.
        FileSink::new(path.clone(), Some(4096))
            .deliver(&batch(&events, 0, 5), &sign)
            .unwrap();
        assert_eq!((files(dir.path()), lines(&path)), before);
        // Events 1-5 of another log (replaced under the sink): a new file from seq 1.
        let mut other = chain(5);
        other[1].detail = Some("another log".into());
        let other = crate::sinks::tests::rehash(other);
        FileSink::new(path.clone(), Some(4096))
            .deliver(&batch(&other, 0, 5), &sign)
            .unwrap();
        let h: SinkFileHeader = serde_json::from_str(&lines(&path)[0]).unwrap();
        assert_eq!(h.first_seq, 1);
        assert_eq!(lines(&path)[2], serde_json::to_string(&other[1]).unwrap());
    }

    #[test]
    fn another_servers_file_is_refused_and_a_replaced_log_starts_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.jsonl");
        let events = chain(5);
        FileSink::new(path.clone(), None)
            .deliver(&batch(&events, 0, 3), &TestSigner::with_seed(9))
            .unwrap();
        let e = FileSink::new(path.clone(), None)
            .deliver(&batch(&events, 3, 5), &TestSigner::new())
            .unwrap_err();
        assert!(e.contains("another server"), "{e}");
        // Same server, but a batch whose chain differs from the file's (a replaced log).
        let sign = TestSigner::with_seed(9);
        let mut other = chain(5);
        other[2].detail = Some("different".into());
        let other = crate::sinks::tests::rehash(other);
        let mut sink = FileSink::new(path.clone(), None);
        sink.deliver(&batch(&other, 0, 5), &sign).unwrap();
        assert_eq!(sink.rotated().unwrap().len(), 1);
        let h: SinkFileHeader = serde_json::from_str(&lines(&path)[0]).unwrap();
        assert_eq!(h.first_seq, 1);
        assert_eq!(lines(&path).len(), 1 + 5 + 1);
    }
}
