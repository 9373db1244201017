//! Verification of an audit report, streaming: the events array is visited element by
//! element (serde `DeserializeSeed`), each event re-hashed into the chain from the
//! anchor's head (genesis when the range starts at seq 1) and dropped, so memory does not
//! grow with the report. Then the final chain value must equal the checkpoint's signed
//! head, and both checkpoints must carry valid Ed25519 signatures by the trusted server
//! key, for the report's server id.
//!
//! [`Chain`] is also what `audit export` runs over events as they arrive, so an export
//! never writes a report that would not verify. A chain can watch one sequence number
//! ([`Chain::watch`]) and keep its value as it passes, which is how a pass over the chain
//! checks the checkpoint the profile pinned (`audit::checkpoint`) without a second look.

use std::fmt;
use std::io::{BufRead, Read};

use base64::Engine;
use ed25519_dalek::Verifier;
use imadm_api::audit::{self, AuditEvent, Checkpoint, GENESIS};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::pin::ServerKey;
use super::report::{KIND, Range, SCHEMA_VERSION, ServerMeta};
use crate::error::{CliError, Kind, Result};

fn integrity(msg: impl Into<String>) -> CliError {
    CliError::new(Kind::Integrity, msg).hint(
        "the report does not match the server's signed audit chain: it was altered, truncated or \
         assembled from other data; export it again from the server",
    )
}

/// The running hash chain over consecutive events.
pub struct Chain {
    pub head: [u8; 32],
    pub next_seq: u64,
    pub count: u64,
    /// The sequence number to watch, and its chain value once the chain passed it.
    watch: Option<u64>,
    pub watched: Option<(u64, [u8; 32])>,
}

impl Chain {
    /// Start before `first_seq`, at chain value `head`.
    pub fn new(first_seq: u64, head: [u8; 32]) -> Self {
        Chain {
            head,
            next_seq: first_seq,
            count: 0,
            watch: None,
            watched: None,
        }
    }

    /// Keep the chain value at `seq` in [`Chain::watched`] when the chain reaches it (at
    /// once when it is the value the chain starts from).
    pub fn watch(&mut self, seq: Option<u64>) {
        self.watch = seq;
        self.passed();
    }

    fn passed(&mut self) {
        if self.watch.is_some() && self.watch == self.next_seq.checked_sub(1) {
            self.watched = Some((self.next_seq - 1, self.head));
        }
    }

    pub fn push(&mut self, e: &AuditEvent) -> Result<()> {
        self.push_leaf(e, &e.leaf())
    }

    /// [`Chain::push`] with the event's leaf hash already computed (from its canonical
    /// bytes, which the exporter also writes).
    pub fn push_leaf(&mut self, e: &AuditEvent, leaf: &[u8; 32]) -> Result<()> {
        if e.seq != self.next_seq {
            let what = if e.seq > self.next_seq {
                "events deleted"
            } else {
                "events inserted, repeated or reordered"
            };
            return Err(integrity(format!(
                "expected seq {}, found {}: {what}",
                self.next_seq, e.seq
            )));
        }
        let next = audit::chain_next(&self.head, leaf);
        if audit::parse_hash(&e.hash) != Some(next) {
            return Err(integrity(format!(
                "event seq {}: hash does not match; the event was altered (or an earlier one was)",
                e.seq
            )));
        }
        self.head = next;
        self.next_seq += 1;
        self.count += 1;
        self.passed();
        Ok(())
    }

    /// The fast path for a line laid out exactly as `audit export` writes it: the
    /// event's canonical bytes with `,"hash":"<64 hex>"}` in place of their closing brace.
    /// Those bytes are hashed as they stand, without parsing or re-serialising; when the
    /// chain value matches, they are the very bytes the server hashed, so the event is
    /// intact. Returns false (and changes nothing) for any other layout or any mismatch:
    /// the caller then parses the line with [`Chain::push`], which decides and says what
    /// is wrong. Any change to a line therefore still fails, in either path.
    pub fn push_exact(&mut self, line: &[u8]) -> bool {
        const KEY: &[u8] = b",\"hash\":\"";
        const TAIL: usize = KEY.len() + 64 + 2;
        if line.len() <= TAIL {
            return false;
        }
        let (body, tail) = line.split_at(line.len() - TAIL);
        if !tail.starts_with(KEY) || !tail.ends_with(b"\"}") {
            return false;
        }
        let Some(hash) = std::str::from_utf8(&tail[KEY.len()..KEY.len() + 64])
            .ok()
            .and_then(audit::parse_hash)
        else {
            return false;
        };
        let Some(rest) = body.strip_prefix(b"{\"seq\":") else {
            return false;
        };
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let seq = std::str::from_utf8(&rest[..digits])
            .ok()
            .and_then(|d| d.parse::<u64>().ok());
        if seq != Some(self.next_seq) {
            return false;
        }
        let leaf = audit::leaf_of_canonical(&[body, b"}"]);
        let next = audit::chain_next(&self.head, &leaf);
        if next != hash {
            return false;
        }
        self.head = next;
        self.next_seq += 1;
        self.count += 1;
        self.passed();
        true
    }
}

/// Check a checkpoint's signature by `key` and its server id.
pub fn checkpoint(cp: &Checkpoint, key: &ServerKey, server_id: &str, what: &str) -> Result<()> {
    if cp.server_id != server_id {
        return Err(integrity(format!(
            "the {what} checkpoint is for server {:?}, not {server_id:?}",
            cp.server_id
        )));
    }
    let sig = base64::engine::general_purpose::STANDARD
        .decode(&cp.signature)
        .ok()
        .and_then(|b| ed25519_dalek::Signature::from_slice(&b).ok())
        .ok_or_else(|| integrity(format!("the {what} checkpoint's signature is malformed")))?;
    key.key.verify(&cp.message(), &sig).map_err(|_| {
        integrity(format!(
            "the {what} checkpoint (seq {}) is not signed by the trusted server key {}",
            cp.seq, key.openssh
        ))
    })
}

/// The head a range starting at `first_seq` continues from: genesis, or the anchor's
/// verified head.
pub fn start_head(
    first_seq: u64,
    anchor: Option<&Checkpoint>,
    key: &ServerKey,
    server_id: &str,
) -> Result<[u8; 32]> {
    if first_seq <= 1 {
        return Ok(GENESIS);
    }
    let a = anchor.ok_or_else(|| {
        integrity(format!(
            "the report starts at seq {first_seq} but has no anchor checkpoint at seq {}",
            first_seq - 1
        ))
    })?;
    checkpoint(a, key, server_id, "anchor")?;
    if a.seq + 1 != first_seq {
        return Err(integrity(format!(
            "the anchor checkpoint is at seq {}, not {}: events deleted at the start",
            a.seq,
            first_seq - 1
        )));
    }
    audit::parse_hash(&a.head).ok_or_else(|| integrity("the anchor's head is not a hash"))
}

/// The end of a verified range: the final chain value must be the checkpoint's head.
pub fn finish(
    chain: &Chain,
    range: &Range,
    cp: Option<&Checkpoint>,
    key: &ServerKey,
    server_id: &str,
) -> Result<()> {
    if chain.count != range.count {
        return Err(integrity(format!(
            "the report declares {} events but holds {}",
            range.count, chain.count
        )));
    }
    if range.count == 0 {
        return Ok(());
    }
    let last = chain.next_seq - 1;
    if last != range.last_seq {
        return Err(integrity(format!(
            "the report declares last seq {} but ends at {last}",
            range.last_seq
        )));
    }
    let cp = cp.ok_or_else(|| integrity("the report has no closing checkpoint"))?;
    checkpoint(cp, key, server_id, "closing")?;
    if cp.seq != last {
        return Err(integrity(format!(
            "the closing checkpoint is at seq {} but the events end at {last}: events deleted or added at the end",
            cp.seq
        )));
    }
    if audit::parse_hash(&cp.head) != Some(chain.head) {
        return Err(integrity(format!(
            "the chain after seq {last} does not match the checkpoint's signed head: events were altered and re-hashed"
        )));
    }
    Ok(())
}

/// What a successful verification established.
#[derive(Debug)]
pub struct Verified {
    pub server: ServerMeta,
    pub range: Range,
    /// The identity the exporter recorded for the report's SSH signature.
    pub signer: Option<String>,
    /// The closing checkpoint (verified); `None` for an empty report.
    pub checkpoint: Option<Checkpoint>,
    /// The chain value at the watched sequence number, when the report covers it.
    pub watched: Option<(u64, [u8; 32])>,
}

/// Which sequence number to watch in a report of the server with this id (the
/// checkpoint a profile pinned for it), asked once the header is read.
pub type Watch<'a> = &'a dyn Fn(&str) -> Option<u64>;

/// Verify a JSON report: reports in the writer's layout (one event per line) take the
/// fast line path, anything else (the same JSON reformatted) the general streaming parser.
#[cfg(test)]
pub fn verify<R: BufRead>(r: R, key: &ServerKey) -> Result<Verified> {
    verify_watching(r, key, &|_| None)
}

/// [`verify`], keeping the chain value at the sequence number `watch` names.
pub fn verify_watching<R: BufRead>(mut r: R, key: &ServerKey, watch: Watch) -> Result<Verified> {
    let mut first = Vec::new();
    r.read_until(b'\n', &mut first)?;
    let head = first.strip_suffix(b"\n").unwrap_or(&first);
    if head == super::csv::MAGIC.as_bytes() {
        return super::csv::verify(r, key, watch);
    }
    match head.strip_suffix(EVENTS_OPEN) {
        Some(h) => verify_lines(h, r, key, watch),
        None => verify_json(std::io::Cursor::new(first).chain(r), key, watch),
    }
}

const EVENTS_OPEN: &[u8] = b",\"events\":[";
const CLOSE_PREFIX: &[u8] = b"],\"checkpoint\":";

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct HeadLine {
    schema_version: u32,
    kind: String,
    server: ServerMeta,
    range: Range,
    #[serde(default)]
    signer: Option<String>,
    anchor: Option<Checkpoint>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TailLine {
    checkpoint: Option<Checkpoint>,
}

/// The line path: each event parsed from its own line with `from_slice` into a reused
/// buffer (several times faster than parsing from a reader byte by byte).
fn verify_lines<R: BufRead>(
    head: &[u8],
    mut r: R,
    key: &ServerKey,
    watch: Watch,
) -> Result<Verified> {
    let malformed =
        |what: String| integrity(format!("the report is not a valid audit report: {what}"));
    let mut h = head.to_vec();
    h.push(b'}');
    let h: HeadLine = serde_json::from_slice(&h).map_err(|e| malformed(format!("header: {e}")))?;
    if h.schema_version != SCHEMA_VERSION {
        return Err(CliError::usage(format!(
            "report schema_version {} is not supported (this imadm reads {SCHEMA_VERSION})",
            h.schema_version
        ))
        .hint("use an imadm version that matches the report"));
    }
    if h.kind != KIND {
        return Err(malformed(format!("kind is {:?}, not {KIND:?}", h.kind)));
    }
    if ServerKey::parse(&h.server.audit_public_key)
        .ok()
        .map(|k| k.key)
        != Some(key.key)
    {
        return Err(integrity(format!(
            "the report names server key {:?}, not the trusted key {}",
            h.server.audit_public_key, key.openssh
        )));
    }
    let start = start_head(
        h.range.first_seq,
        h.anchor.as_ref(),
        key,
        &h.server.server_id,
    )?;
    let mut chain = Chain::new(h.range.first_seq.max(1), start);
    chain.watch(watch(&h.server.server_id));
    let mut line = Vec::with_capacity(1024);
    let mut open_comma = false;
    let closing = loop {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            return Err(malformed(
                "it ends before the closing checkpoint (truncated)".into(),
            ));
        }
        let l = line.strip_suffix(b"\n").unwrap_or(&line);
        if let Some(rest) = l.strip_prefix(CLOSE_PREFIX) {
            if open_comma {
                return Err(malformed(format!(
                    "a comma after event seq {}",
                    chain.next_seq - 1
                )));
            }
            let mut t = b"{\"checkpoint\":".to_vec();
            t.extend_from_slice(rest);
            let t: TailLine =
                serde_json::from_slice(&t).map_err(|e| malformed(format!("closing line: {e}")))?;
            break t.checkpoint;
        }
        if chain.count > 0 && !open_comma {
            return Err(malformed(format!(
                "no comma after event seq {}",
                chain.next_seq - 1
            )));
        }
        let (ev, comma) = match l.strip_suffix(b",") {
            Some(e) => (e, true),
            None => (l, false),
        };
        open_comma = comma;
        if chain.push_exact(ev) {
            continue;
        }
        let e: AuditEvent = serde_json::from_slice(ev).map_err(|err| {
            malformed(format!(
                "the line after event seq {}: {err}",
                chain.next_seq.saturating_sub(1)
            ))
        })?;
        chain.push(&e)?;
    };
    line.clear();
    r.read_to_end(&mut line)?;
    if !line.iter().all(u8::is_ascii_whitespace) {
        return Err(malformed("data after the closing checkpoint".into()));
    }
    finish(&chain, &h.range, closing.as_ref(), key, &h.server.server_id)?;
    Ok(Verified {
        server: h.server,
        range: h.range,
        signer: h.signer,
        checkpoint: closing,
        watched: chain.watched,
    })
}

/// Verify a JSON report read from `r` against the trusted server key, in any layout.
pub fn verify_json<R: Read>(r: R, key: &ServerKey, watch: Watch) -> Result<Verified> {
    let mut de = serde_json::Deserializer::from_reader(r);
    let mut failure = None;
    let out = DeserializeSeed::deserialize(
        ReportSeed {
            key,
            watch,
            failure: &mut failure,
        },
        &mut de,
    );
    if let Some(f) = failure {
        return Err(f);
    }
    let v = out.map_err(|e| integrity(format!("the report is not a valid audit report: {e}")))?;
    de.end()
        .map_err(|e| integrity(format!("unexpected data after the report: {e}")))?;
    Ok(v)
}

/// Carries the typed error out of serde, which only has string errors.
struct ReportSeed<'a> {
    key: &'a ServerKey,
    watch: Watch<'a>,
    failure: &'a mut Option<CliError>,
}

impl<'de> DeserializeSeed<'de> for ReportSeed<'_> {
    type Value = Verified;
    fn deserialize<D: de::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Verified, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ReportSeed<'_> {
    type Value = Verified;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an imadm audit report object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Verified, A::Error> {
        let fail = |slot: &mut Option<CliError>, e: CliError| {
            *slot = Some(e);
            de::Error::custom("verification failed")
        };
        let mut server: Option<ServerMeta> = None;
        let mut range: Option<Range> = None;
        let mut anchor: Option<Checkpoint> = None;
        let mut signer: Option<String> = None;
        let mut chain: Option<Chain> = None;
        let mut closing: Option<Option<Checkpoint>> = None;
        while let Some(k) = map.next_key::<String>()? {
            match k.as_str() {
                "schema_version" => {
                    let v: u32 = map.next_value()?;
                    if v != SCHEMA_VERSION {
                        return Err(fail(self.failure, CliError::usage(format!(
                            "report schema_version {v} is not supported (this imadm reads {SCHEMA_VERSION})"
                        )).hint("use an imadm version that matches the report")));
                    }
                }
                "kind" => {
                    let v: String = map.next_value()?;
                    if v != KIND {
                        return Err(de::Error::custom(format!("kind is {v:?}, not {KIND:?}")));
                    }
                }
                "server" => server = Some(map.next_value()?),
                "range" => range = Some(map.next_value()?),
                "anchor" => anchor = map.next_value()?,
                "signer" => signer = map.next_value()?,
                "events" => {
                    let (Some(s), Some(r)) = (&server, &range) else {
                        return Err(de::Error::custom(
                            "\"server\" and \"range\" must precede \"events\"",
                        ));
                    };
                    if ServerKey::parse(&s.audit_public_key).ok().map(|k| k.key)
                        != Some(self.key.key)
                    {
                        return Err(fail(
                            self.failure,
                            integrity(format!(
                                "the report names server key {:?}, not the trusted key {}",
                                s.audit_public_key, self.key.openssh
                            )),
                        ));
                    }
                    let head = start_head(r.first_seq, anchor.as_ref(), self.key, &s.server_id)
                        .map_err(|e| fail(self.failure, e))?;
                    let mut c = Chain::new(r.first_seq.max(1), head);
                    c.watch((self.watch)(&s.server_id));
                    let mut err = None;
                    let res = map.next_value_seed(EventsSeed {
                        chain: &mut c,
                        failure: &mut err,
                    });
                    if let Some(e) = err {
                        return Err(fail(self.failure, e));
                    }
                    res?;
                    chain = Some(c);
                }
                "checkpoint" => closing = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let (Some(server), Some(range), Some(chain), Some(closing)) =
            (server, range, chain, closing)
        else {
            return Err(de::Error::custom(
                "missing one of \"server\", \"range\", \"events\", \"checkpoint\"",
            ));
        };
        finish(
            &chain,
            &range,
            closing.as_ref(),
            self.key,
            &server.server_id,
        )
        .map_err(|e| fail(self.failure, e))?;
        Ok(Verified {
            server,
            range,
            signer,
            checkpoint: closing,
            watched: chain.watched,
        })
    }
}

struct EventsSeed<'a> {
    chain: &'a mut Chain,
    failure: &'a mut Option<CliError>,
}

impl<'de> DeserializeSeed<'de> for EventsSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EventsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of audit events")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while let Some(e) = seq.next_element::<AuditEvent>()? {
            if let Err(err) = self.chain.push(&e) {
                *self.failure = Some(err);
                return Err(de::Error::custom("verification failed"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::synth;

    fn key() -> ServerKey {
        ServerKey::parse(&synth::server_key(1).1).unwrap()
    }

    #[test]
    fn intact_reports_verify_from_genesis_and_from_an_anchor() {
        let v = verify(&synth::report(1, 50)[..], &key()).unwrap();
        assert_eq!((v.range.first_seq, v.range.count), (1, 50));
        let v = verify(&synth::report(20, 60)[..], &key()).unwrap();
        assert_eq!((v.range.first_seq, v.range.last_seq), (20, 60));
    }

    #[test]
    fn reformatted_json_takes_the_general_parser_and_still_catches_edits() {
        let v: serde_json::Value = serde_json::from_slice(&synth::report(5, 30)).unwrap();
        let compact = serde_json::to_vec(&v).unwrap();
        assert!(verify(&compact[..], &key()).is_ok());
        let pretty = serde_json::to_vec_pretty(&v).unwrap();
        assert!(verify(&pretty[..], &key()).is_ok());
        let mut v2 = v.clone();
        v2["events"][3]["actor"] = "mallory".into();
        let e = verify(&serde_json::to_vec(&v2).unwrap()[..], &key()).unwrap_err();
        assert!(
            e.message.starts_with("event seq 8: hash does not match"),
            "{}",
            e.message
        );
        // The line path refuses a line layout with a missing comma.
        let text = String::from_utf8(synth::report(1, 5))
            .unwrap()
            .replacen("},\n{", "}\n{", 1);
        assert!(verify(text.as_bytes(), &key()).is_err());
    }

    #[test]
    fn a_watched_seq_keeps_its_chain_value_in_every_form() {
        let all = synth::chain(30);
        let value = |s: usize| audit::parse_hash(&all[s - 1].hash).unwrap();
        let r = synth::report(10, 30);
        let v =
            verify_watching(&r[..], &key(), &|id| (id == synth::SERVER_ID).then_some(17)).unwrap();
        assert_eq!(v.watched, Some((17, value(17))));
        assert_eq!(v.checkpoint.unwrap().seq, 30);
        // The anchor's value (the seq before the range) counts as passed.
        let v = verify_watching(&r[..], &key(), &|_| Some(9)).unwrap();
        assert_eq!(v.watched, Some((9, value(9))));
        // Outside the range: nothing.
        let v = verify_watching(&r[..], &key(), &|_| Some(5)).unwrap();
        assert_eq!(v.watched, None);
        let json: serde_json::Value = serde_json::from_slice(&r).unwrap();
        let pretty = serde_json::to_vec_pretty(&json).unwrap();
        let v = verify_watching(&pretty[..], &key(), &|_| Some(30)).unwrap();
        assert_eq!(v.watched, Some((30, value(30))));
    }

    #[test]
    fn wrong_server_key_is_refused() {
        let other = ServerKey::parse(&synth::server_key(2).1).unwrap();
        let e = verify(&synth::report(1, 5)[..], &other).unwrap_err();
        assert_eq!(e.kind, Kind::Integrity);
        assert!(e.message.contains("trusted key"), "{}", e.message);
    }

    fn lines(r: &[u8]) -> Vec<String> {
        String::from_utf8(r.to_vec())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn join(l: &[String]) -> Vec<u8> {
        let mut s = l.join("\n");
        s.push('\n');
        s.into_bytes()
    }

    #[test]
    fn named_errors_for_edit_delete_and_reorder() {
        let l = lines(&synth::report(1, 10));
        // line 0 is the head, lines 1..=10 the events.
        let mut edited = l.clone();
        edited[4] = edited[4].replace("\"op", "\"mallory");
        let e = verify(&join(&edited)[..], &key()).unwrap_err();
        assert_eq!(
            e.message,
            "event seq 4: hash does not match; the event was altered (or an earlier one was)"
        );
        let mut deleted = l.clone();
        deleted.remove(5);
        let e = verify(&join(&deleted)[..], &key()).unwrap_err();
        assert!(
            e.message
                .starts_with("expected seq 5, found 6: events deleted"),
            "{}",
            e.message
        );
        let mut swapped = l.clone();
        swapped.swap(2, 3);
        let e = verify(&join(&swapped)[..], &key()).unwrap_err();
        assert!(
            e.message.starts_with("expected seq 2, found 3"),
            "{}",
            e.message
        );
        // The last event removed (and the range edited to match): the checkpoint catches it.
        let mut tail = l.clone();
        tail.remove(10);
        tail[9] = tail[9].trim_end_matches(',').to_owned();
        tail[0] = tail[0].replace("\"last_seq\":10,\"count\":10", "\"last_seq\":9,\"count\":9");
        let e = verify(&join(&tail)[..], &key()).unwrap_err();
        assert!(
            e.message.contains("closing checkpoint is at seq 10"),
            "{}",
            e.message
        );
    }
}
