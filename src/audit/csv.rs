//! The CSV form of an audit report (`audit export --format csv`): the events as CSV rows
//! with the same header and proof as the JSON form in `#` lines around them:
//!
//! ```text
//! # imadm-audit-report csv
//! # {"schema_version":1,"kind":"imadm-audit-report","server":...,"range":...,"signer":...,"anchor":...}
//! seq,at,actor_type,actor,source,action,target,outcome,request_id,detail,hash
//! 1,2026-11-26T19:55:00.123Z,operator,alice,127.0.0.1,auth.login,,success,req-1,,3f...
//! # {"checkpoint":{...}}
//! ```
//!
//! An absent value (JSON null) is an empty unquoted field; an empty string is `""`, so the
//! verifier rebuilds exactly the event the server hashed. Fields with `,` `"` CR LF or a
//! leading `#` are quoted (RFC 4180).

use std::io::{BufRead, BufWriter, Write};

use imadm_api::audit::{AuditEvent, Checkpoint};
use serde::Serialize;

use super::pin::ServerKey;
use super::report::{KIND, Range, SCHEMA_VERSION, ServerMeta};
use super::sshsig::HashingWriter;
use super::verify::{self, Chain, Verified};
use crate::error::{CliError, Kind, Result};

pub const MAGIC: &str = "# imadm-audit-report csv";
const COLUMNS: &str = "seq,at,actor_type,actor,source,action,target,outcome,request_id,detail,hash";

#[derive(Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Head {
    schema_version: u32,
    kind: String,
    server: ServerMeta,
    range: Range,
    signer: Option<String>,
    anchor: Option<Checkpoint>,
}

#[derive(Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Tail {
    checkpoint: Option<Checkpoint>,
}

pub struct CsvWriter<W: Write> {
    w: HashingWriter<BufWriter<W>>,
    row: Vec<u8>,
}

fn field(out: &mut Vec<u8>, v: Option<&str>) {
    let Some(v) = v else { return };
    let quote = v.is_empty() || v.starts_with('#') || v.contains([',', '"', '\r', '\n']);
    if quote {
        out.push(b'"');
        out.extend_from_slice(v.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(v.as_bytes());
    }
}

impl<W: Write> CsvWriter<W> {
    /// Do not compute the SHA-512 for a signature (the report will not be signed):
    /// `finish` then returns an all-zero digest.
    pub fn skip_digest(&mut self) {
        self.w.skip_digest();
    }

    pub fn begin(
        inner: W,
        server: &ServerMeta,
        range: &Range,
        signer: Option<&str>,
        anchor: &Option<Checkpoint>,
    ) -> Result<Self> {
        let mut w = HashingWriter::new(BufWriter::with_capacity(1 << 16, inner));
        let head = serde_json::to_string(&Head {
            schema_version: SCHEMA_VERSION,
            kind: KIND.into(),
            server: server.clone(),
            range: range.clone(),
            signer: signer.map(str::to_owned),
            anchor: anchor.clone(),
        })
        .map_err(|e| CliError::unexpected(e.to_string()))?;
        write!(w, "{MAGIC}\n# {head}\n{COLUMNS}\n")?;
        Ok(CsvWriter { w, row: Vec::new() })
    }

    pub fn event(&mut self, e: &AuditEvent) -> Result<()> {
        let r = &mut self.row;
        r.clear();
        r.extend_from_slice(e.seq.to_string().as_bytes());
        for v in [
            Some(e.at.as_str()),
            Some(&e.actor_type),
            Some(&e.actor),
            e.source.as_deref(),
            Some(&e.action),
            e.target.as_deref(),
            Some(&e.outcome),
            e.request_id.as_deref(),
            e.detail.as_deref(),
            Some(&e.hash),
        ] {
            r.push(b',');
            field(r, v);
        }
        r.push(b'\n');
        self.w.write_all(r)?;
        Ok(())
    }

    pub fn finish(mut self, checkpoint: &Option<Checkpoint>) -> Result<(W, [u8; 64])> {
        let tail = serde_json::to_string(&Tail {
            checkpoint: checkpoint.clone(),
        })
        .map_err(|e| CliError::unexpected(e.to_string()))?;
        writeln!(self.w, "# {tail}")?;
        let (buf, digest) = self.w.into_parts();
        let inner = buf
            .into_inner()
            .map_err(|e| CliError::from(e.into_error()))?;
        Ok((inner, digest))
    }
}

fn malformed(what: String) -> CliError {
    CliError::new(
        Kind::Integrity,
        format!("the CSV report is not valid: {what}"),
    )
    .hint("export the report again from the server; do not edit reports")
}

/// One CSV record (may span lines inside quotes); `None` values are empty unquoted fields.
fn record<R: BufRead>(r: &mut R, first: &str) -> Result<Vec<Option<String>>> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut text: String = first.to_owned();
    loop {
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    cur.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => cur.push(c),
                (false, '"') if cur.is_empty() && !was_quoted => {
                    quoted = true;
                    was_quoted = true;
                }
                (false, ',') => {
                    fields.push((was_quoted || !cur.is_empty()).then(|| std::mem::take(&mut cur)));
                    was_quoted = false;
                }
                (false, '\n') => {}
                (false, c) => cur.push(c),
            }
        }
        if !quoted {
            break;
        }
        text.clear();
        if r.read_line(&mut text)? == 0 {
            return Err(malformed(
                "a quoted field runs to the end of the file".into(),
            ));
        }
    }
    fields.push((was_quoted || !cur.is_empty()).then_some(cur));
    Ok(fields)
}

fn event(f: Vec<Option<String>>) -> Result<AuditEvent> {
    if f.len() != 11 {
        return Err(malformed(format!("a row has {} fields, not 11", f.len())));
    }
    let mut it = f.into_iter();
    let mut req = |name: &str| {
        it.next()
            .flatten()
            .ok_or_else(|| malformed(format!("a row has no {name}")))
    };
    let seq = req("seq")?;
    let seq = seq
        .parse()
        .map_err(|_| malformed(format!("seq {seq:?} is not a number")))?;
    let at = req("at")?;
    let actor_type = req("actor_type")?;
    let actor = it.next().flatten().unwrap_or_default();
    let source = it.next().flatten();
    let mut req = |name: &str| {
        it.next()
            .flatten()
            .ok_or_else(|| malformed(format!("a row has no {name}")))
    };
    let action = req("action")?;
    let target = it.next().flatten();
    let outcome = it
        .next()
        .flatten()
        .ok_or_else(|| malformed("a row has no outcome".into()))?;
    let request_id = it.next().flatten();
    let detail = it.next().flatten();
    let hash = it.next().flatten().unwrap_or_default();
    Ok(AuditEvent {
        seq,
        at,
        actor_type,
        actor,
        source,
        action,
        target,
        outcome,
        request_id,
        detail,
        hash,
    })
}

/// Verify a CSV report whose first line (`MAGIC`) was already read.
pub fn verify<R: BufRead>(mut r: R, key: &ServerKey, watch: verify::Watch) -> Result<Verified> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let head: Head = line
        .strip_prefix("# ")
        .and_then(|h| serde_json::from_str(h.trim_end()).ok())
        .ok_or_else(|| malformed("the second line is not the `# {...}` header".into()))?;
    if head.schema_version != SCHEMA_VERSION || head.kind != KIND {
        return Err(malformed("unsupported schema_version or kind".into()));
    }
    if ServerKey::parse(&head.server.audit_public_key)
        .ok()
        .map(|k| k.key)
        != Some(key.key)
    {
        return Err(CliError::new(
            Kind::Integrity,
            format!(
                "the report names server key {:?}, not the trusted key {}",
                head.server.audit_public_key, key.openssh
            ),
        )
        .hint("verify with the key of the server the report came from"));
    }
    line.clear();
    r.read_line(&mut line)?;
    if line.trim_end() != COLUMNS {
        return Err(malformed(format!("the column line is not `{COLUMNS}`")));
    }
    let start = verify::start_head(
        head.range.first_seq,
        head.anchor.as_ref(),
        key,
        &head.server.server_id,
    )?;
    let mut chain = Chain::new(head.range.first_seq.max(1), start);
    chain.watch(watch(&head.server.server_id));
    let tail: Tail = loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(malformed(
                "it ends before the closing checkpoint (truncated)".into(),
            ));
        }
        if let Some(t) = line.strip_prefix("# ") {
            break serde_json::from_str(t.trim_end())
                .map_err(|e| malformed(format!("closing line: {e}")))?;
        }
        let e = event(record(&mut r, &line)?)?;
        chain.push(&e)?;
    };
    line.clear();
    r.read_line(&mut line)?;
    if !line.trim().is_empty() {
        return Err(malformed("data after the closing checkpoint".into()));
    }
    verify::finish(
        &chain,
        &head.range,
        tail.checkpoint.as_ref(),
        key,
        &head.server.server_id,
    )?;
    Ok(Verified {
        server: head.server,
        range: head.range,
        signer: head.signer,
        checkpoint: tail.checkpoint,
        watched: chain.watched,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::synth;

    /// The JSON vector rewritten as CSV through the writer.
    fn csv_of(first: u64, last: u64) -> Vec<u8> {
        let v: serde_json::Value = serde_json::from_slice(&synth::report(first, last)).unwrap();
        let mut w = CsvWriter::begin(
            Vec::new(),
            &serde_json::from_value(v["server"].clone()).unwrap(),
            &serde_json::from_value(v["range"].clone()).unwrap(),
            v["signer"].as_str(),
            &serde_json::from_value(v["anchor"].clone()).unwrap(),
        )
        .unwrap();
        for e in v["events"].as_array().unwrap() {
            w.event(&serde_json::from_value(e.clone()).unwrap())
                .unwrap();
        }
        w.finish(&serde_json::from_value(v["checkpoint"].clone()).unwrap())
            .unwrap()
            .0
    }

    #[test]
    fn csv_reports_round_trip_nulls_quotes_newlines_and_catch_edits() {
        let key = ServerKey::parse(&synth::server_key(1).1).unwrap();
        let csv = csv_of(3, 40);
        let text = String::from_utf8(csv.clone()).unwrap();
        assert!(
            text.contains("\"detail, with \"\"quotes\"\"\nand a newline\""),
            "{text}"
        );
        let v = verify::verify(&csv[..], &key).unwrap();
        assert_eq!((v.range.first_seq, v.range.count), (3, 38));
        let v = verify::verify_watching(&csv[..], &key, &|_| Some(20)).unwrap();
        let at20 = imadm_api::audit::parse_hash(&synth::chain(20)[19].hash).unwrap();
        assert_eq!(v.watched, Some((20, at20)));
        // An absent target (empty field) turned into an empty string: caught.
        let edited = text.replacen(",auth.login,,", ",auth.login,\"\",", 1);
        assert_ne!(edited, text);
        let e = verify::verify(edited.as_bytes(), &key).unwrap_err();
        assert!(e.message.contains("hash does not match"), "{}", e.message);
        // A row deleted.
        let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
        lines.remove(5);
        let e = verify::verify(lines.concat().as_bytes(), &key).unwrap_err();
        assert!(e.message.contains("events deleted"), "{}", e.message);
    }
}
