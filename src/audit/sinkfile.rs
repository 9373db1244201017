//! Verification of a file audit sink's files (`imadm server --audit-sink file:PATH`;
//! format: docs/audit-report.md, "Sink files"): a header line, then events exactly as
//! `audit export` writes them, each delivered batch closed by a seal (a checkpoint the
//! server signed at its last event). Rotated files chain: each header names the seq it
//! starts at and the chain value before it, with a signed anchor there.
//!
//! The files are put in order by the seq they start at, then checked as one chain: every
//! event re-hashed, every anchor and seal signed by the trusted key at the chain value
//! the events reach, each file starting right after the previous one ended. Every event
//! must be covered by a signature after it (a seal, or the next file's anchor): events
//! after the last one could have been appended by anyone who can write the file.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use imadm_api::audit::{AuditEvent, Checkpoint, parse_hash};
use imadm_api::sinks::{SINK_FILE_KIND, SINK_FILE_SCHEMA, SealLine, SinkFileHeader};

use super::pin::ServerKey;
use super::verify::{self, Chain};
use crate::error::{CliError, Kind, Result};

fn integrity(msg: impl Into<String>) -> CliError {
    CliError::new(Kind::Integrity, msg).hint(
        "the sink files do not match the server's signed audit chain: a file was edited, \
         truncated, removed or replaced; compare with `imadm audit export` from the server",
    )
}

/// Whether `first_line` is the header of a sink file (and not a report).
pub fn is_sink_file(first_line: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Head {
        kind: String,
    }
    serde_json::from_slice::<Head>(first_line.trim_ascii_end())
        .is_ok_and(|h| h.kind == SINK_FILE_KIND)
}

/// What a successful verification of a set of sink files established.
#[derive(Debug)]
pub struct Verified {
    pub server_id: String,
    /// The files in chain order.
    pub files: Vec<PathBuf>,
    /// 0 when the files hold no event.
    pub first_seq: u64,
    pub last_seq: u64,
    pub count: u64,
}

/// Verify the files of one sink, given in any order.
pub fn verify_files(paths: &[PathBuf], key: &ServerKey) -> Result<Verified> {
    let mut files = Vec::with_capacity(paths.len());
    for p in paths {
        let mut r = open(p)?;
        let mut line = Vec::new();
        r.read_until(b'\n', &mut line)?;
        let header = parse_header(p, &line)?;
        files.push((header, p.clone(), r));
    }
    files.sort_by_key(|(h, _, _)| h.first_seq);
    for w in files.windows(2) {
        if w[0].0.first_seq == w[1].0.first_seq {
            return Err(integrity(format!(
                "{} and {} both start at seq {}: they are not one sink's consecutive files",
                w[0].1.display(),
                w[1].1.display(),
                w[0].0.first_seq
            )));
        }
    }
    let server_id = files
        .first()
        .map(|(h, _, _)| h.server_id.clone())
        .unwrap_or_default();
    let mut chain: Option<Chain> = None;
    // The seq up to which a signature (seal or anchor) covers the chain.
    let mut sealed: u64 = 0;
    let mut previous: Option<PathBuf> = None;
    let mut first_seq = 0;
    for (h, path, r) in files.iter_mut() {
        let name = path.display().to_string();
        let at = |msg: String| integrity(format!("{name}: {msg}"));
        if h.server_id != server_id {
            return Err(at(format!(
                "it is server {:?}'s sink file, the others are {server_id:?}'s",
                h.server_id
            )));
        }
        if key_part(&h.audit_public_key) != key_part(&key.openssh) {
            return Err(at(format!(
                "it names audit key {}, not the trusted key {}",
                h.audit_public_key, key.openssh
            )));
        }
        match (&mut chain, &previous) {
            (Some(c), Some(prev)) => {
                if h.first_seq != c.next_seq {
                    return Err(at(format!(
                        "it starts at seq {} but {} ends at seq {}: {}",
                        h.first_seq,
                        prev.display(),
                        c.next_seq - 1,
                        if h.first_seq > c.next_seq {
                            "events are missing between them (a file removed?)"
                        } else {
                            "the files overlap"
                        }
                    )));
                }
                if parse_hash(&h.prev_hash) != Some(c.head) {
                    return Err(at(format!(
                        "its chain value before seq {} is not the one {} ends with",
                        h.first_seq,
                        prev.display()
                    )));
                }
                if let Some(a) = &h.anchor {
                    anchor(a, c, key, &server_id).map_err(|e| at(e.message))?;
                    sealed = a.seq;
                }
            }
            _ => {
                let head = verify::start_head(h.first_seq, h.anchor.as_ref(), key, &server_id)
                    .map_err(|e| at(e.message))?;
                if parse_hash(&h.prev_hash) != Some(head) {
                    return Err(at(format!(
                        "its header's chain value before seq {} is not the anchor's",
                        h.first_seq
                    )));
                }
                first_seq = h.first_seq;
                sealed = h.first_seq - 1;
                chain = Some(Chain::new(h.first_seq, head));
            }
        }
        let c = chain.as_mut().expect("set above");
        let mut line = Vec::new();
        let mut n = 1;
        loop {
            line.clear();
            if r.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            n += 1;
            let at = |msg: String| integrity(format!("{name}: line {n}: {msg}"));
            let Some(body) = line.strip_suffix(b"\n") else {
                return Err(at("the line is cut off (truncated file?)".into()));
            };
            if body.starts_with(b"{\"checkpoint\":") {
                let s: SealLine =
                    serde_json::from_slice(body).map_err(|e| at(format!("not a seal: {e}")))?;
                seal(&s.checkpoint, c, key, &server_id).map_err(|e| at(e.message))?;
                sealed = s.checkpoint.seq;
            } else if !c.push_exact(body) {
                let e: AuditEvent = serde_json::from_slice(body)
                    .map_err(|e| at(format!("not an audit event: {e}")))?;
                c.push(&e).map_err(|e| at(e.message))?;
            }
        }
        previous = Some(path.clone());
    }
    let Some(c) = chain else {
        return Err(CliError::usage("no sink files given").hint("name the files of a file sink"));
    };
    let last_seq = c.next_seq - 1;
    if sealed < last_seq {
        return Err(integrity(format!(
            "{}: events {} to {last_seq} at the end are not sealed by the server (no signed \
             checkpoint after them): anyone able to write the file could have added them",
            previous.expect("one file at least").display(),
            sealed + 1
        )));
    }
    Ok(Verified {
        server_id,
        files: files.into_iter().map(|(_, p, _)| p).collect(),
        first_seq: if c.count == 0 { 0 } else { first_seq },
        last_seq: if c.count == 0 { 0 } else { last_seq },
        count: c.count,
    })
}

fn open(p: &Path) -> Result<BufReader<std::fs::File>> {
    let f = std::fs::File::open(p).map_err(|e| {
        CliError::usage(format!("cannot read {}: {e}", p.display()))
            .hint("give the files of a file sink (PATH and its rotated PATH.<seq> files)")
    })?;
    Ok(BufReader::with_capacity(1 << 16, f))
}

fn parse_header(p: &Path, line: &[u8]) -> Result<SinkFileHeader> {
    let bad = |why: String| integrity(format!("{}: line 1: {why}", p.display()));
    let body = line
        .strip_suffix(b"\n")
        .ok_or_else(|| bad("no complete header line".into()))?;
    let h: SinkFileHeader = serde_json::from_slice(body)
        .map_err(|e| bad(format!("not an audit sink file header: {e}")))?;
    if h.kind != SINK_FILE_KIND || h.schema_version != SINK_FILE_SCHEMA {
        return Err(bad(format!(
            "kind {:?} schema_version {} is not a sink file this imadm reads",
            h.kind, h.schema_version
        )));
    }
    if h.first_seq == 0 {
        return Err(bad("first_seq is 0".into()));
    }
    Ok(h)
}

/// The base64 key of `ssh-ed25519 AAAA... [comment]`.
fn key_part(openssh: &str) -> &str {
    openssh.split_whitespace().nth(1).unwrap_or("")
}

/// A seal: signed, at the event before it, with the chain value the events reach.
fn seal(cp: &Checkpoint, c: &Chain, key: &ServerKey, server_id: &str) -> Result<()> {
    verify::checkpoint(cp, key, server_id, "seal")?;
    if cp.seq + 1 != c.next_seq || parse_hash(&cp.head) != Some(c.head) {
        return Err(integrity(format!(
            "the seal at seq {} does not match the events before it (they end at seq {}): \
             events were altered, added or removed",
            cp.seq,
            c.next_seq - 1
        )));
    }
    Ok(())
}

/// A later file's anchor: signed, where the previous file ended.
fn anchor(cp: &Checkpoint, c: &Chain, key: &ServerKey, server_id: &str) -> Result<()> {
    verify::checkpoint(cp, key, server_id, "anchor")?;
    if cp.seq + 1 != c.next_seq || parse_hash(&cp.head) != Some(c.head) {
        return Err(integrity(format!(
            "the anchor at seq {} is not where the previous file ends",
            cp.seq
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use imadm_api::audit::{GENESIS, chain_next, format_at, hash_hex};
    use imadm_server::audit::AuditKey;
    use imadm_server::sinks::file::FileSink;
    use imadm_server::sinks::{Batch, Sign, Transport};

    struct Signer(AuditKey);

    impl Sign for Signer {
        fn server_id(&self) -> &str {
            "srv"
        }
        fn public_key(&self) -> String {
            self.0.openssh_public("srv")
        }
        fn checkpoint(&self, seq: u64, head: &str) -> Checkpoint {
            self.0.checkpoint(seq, head, "srv")
        }
    }

    fn events(n: u64) -> Vec<AuditEvent> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|seq| {
                let mut e = AuditEvent {
                    seq,
                    at: format_at(1_795_694_400_000 + seq as i64),
                    actor_type: "operator".into(),
                    actor: "op".into(),
                    source: None,
                    action: "user.create".into(),
                    target: Some(format!("user:{seq:016x}")),
                    outcome: "success".into(),
                    request_id: None,
                    detail: Some("x".repeat(200)),
                    hash: String::new(),
                };
                prev = chain_next(&prev, &e.leaf());
                e.hash = hash_hex(&prev);
                e
            })
            .collect()
    }

    /// A sink's files for `n` events delivered 10 at a time, rotated past 4 KiB; the
    /// files out of order (rotated ones newest first, then `a.jsonl`) and the trusted key.
    fn sink(dir: &Path, n: u64) -> (Vec<PathBuf>, ServerKey, Signer) {
        let sign = Signer(AuditKey::from_seed(&[7; 32]));
        let evs = events(n);
        let mut s = FileSink::new(dir.join("a.jsonl"), Some(4096));
        for chunk in (0..evs.len()).step_by(10) {
            let end = (chunk + 10).min(evs.len());
            let prev_hash = if chunk == 0 {
                hash_hex(&GENESIS)
            } else {
                evs[chunk - 1].hash.clone()
            };
            s.deliver(
                &Batch {
                    prev_hash,
                    events: evs[chunk..end].to_vec(),
                },
                &sign,
            )
            .unwrap();
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files.reverse();
        let key = ServerKey::parse(&sign.public_key()).unwrap();
        (files, key, sign)
    }

    fn fails(files: &[PathBuf], key: &ServerKey, says: &str) {
        let e = verify_files(files, key).expect_err(says);
        assert_eq!(e.kind, Kind::Integrity, "{}", e.message);
        assert!(e.message.contains(says), "{}", e.message);
    }

    #[test]
    fn a_rotated_set_verifies_in_any_order() {
        let dir = tempfile::tempdir().unwrap();
        let (files, key, _) = sink(dir.path(), 95);
        assert!(files.len() >= 3, "{files:?}");
        let v = verify_files(&files, &key).unwrap();
        assert_eq!((v.first_seq, v.last_seq, v.count), (1, 95, 95));
        assert_eq!(v.server_id, "srv");
        // The newest files alone verify too: they start at their signed anchor.
        let newest = [dir.path().join("a.jsonl"), files[0].clone()];
        let v = verify_files(&newest, &key).unwrap();
        assert_eq!(v.last_seq, 95);
        assert!(v.first_seq > 1);
        let mut line = Vec::new();
        BufReader::new(std::fs::File::open(&files[0]).unwrap())
            .read_until(b'\n', &mut line)
            .unwrap();
        assert!(is_sink_file(&line));
        assert!(!is_sink_file(
            b"{\"schema_version\":1,\"kind\":\"imadm-audit-report\"}\n"
        ));
    }

    #[test]
    fn another_key_an_unsealed_tail_or_a_rehashed_edit_fail() {
        let dir = tempfile::tempdir().unwrap();
        let (files, _, _) = sink(dir.path(), 30);
        let other = ServerKey::parse(&AuditKey::from_seed(&[8; 32]).openssh_public("srv")).unwrap();
        fails(&files, &other, "not the trusted key");

        // An event appended with a correct hash, but no seal after it.
        let dir = tempfile::tempdir().unwrap();
        let (files, key, _) = sink(dir.path(), 31);
        let more = events(32);
        let active = dir.path().join("a.jsonl");
        let mut text = std::fs::read_to_string(&active).unwrap();
        text.push_str(&serde_json::to_string(&more[31]).unwrap());
        text.push('\n');
        std::fs::write(&active, text).unwrap();
        fails(&files, &key, "events 32 to 32 at the end are not sealed");

        // An event edited and the chain re-hashed from there: the seal no longer matches.
        let dir = tempfile::tempdir().unwrap();
        let (files, key, _) = sink(dir.path(), 5);
        let mut evs = events(5);
        evs[2].outcome = "failure".into();
        let mut prev = imadm_api::audit::parse_hash(&evs[1].hash).unwrap();
        for e in &mut evs[2..] {
            prev = chain_next(&prev, &e.leaf());
            e.hash = hash_hex(&prev);
        }
        let active = dir.path().join("a.jsonl");
        let lines: Vec<String> = std::fs::read_to_string(&active)
            .unwrap()
            .lines()
            .enumerate()
            .map(|(i, l)| match i {
                1..=5 => serde_json::to_string(&evs[i - 1]).unwrap(),
                _ => l.to_owned(),
            })
            .collect();
        std::fs::write(&active, lines.join("\n") + "\n").unwrap();
        fails(&files, &key, "line 7: the seal at seq 5 does not match");
    }

    #[test]
    fn two_files_from_the_same_seq_and_a_cut_line_fail() {
        let dir = tempfile::tempdir().unwrap();
        let (files, key, _) = sink(dir.path(), 30);
        let copy = dir.path().join("copy");
        std::fs::copy(dir.path().join("a.jsonl.000000000001"), &copy).unwrap();
        let mut with_copy = files.clone();
        with_copy.push(copy);
        fails(&with_copy, &key, "both start at seq 1");

        let first = dir.path().join("a.jsonl.000000000001");
        let text = std::fs::read_to_string(&first).unwrap();
        std::fs::write(&first, &text[..text.len() - 5]).unwrap();
        fails(&files, &key, "the line is cut off");
    }
}
