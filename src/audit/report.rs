//! The audit report file (schema_version 1, documented in docs/audit-report.md) and its
//! streaming writer.
//!
//! JSON layout, one event per line so reports diff and grep well:
//!
//! ```text
//! {"schema_version":1,"kind":"imadm-audit-report","server":{...},"range":{...},"signer":ID|null,"anchor":CP|null,"events":[
//! {event 1},
//! {event 2}
//! ],"checkpoint":CP|null}
//! ```
//!
//! Events are written as they arrive and every byte goes through a SHA-512 hasher, so
//! the SSHSIG signature is made without reading the file back. The file appears only
//! when complete (the commands write it through `imadm_server::fsutil::AtomicFile`).

use std::io::{BufWriter, Write};

use imadm_api::audit::{AuditEvent, Checkpoint};
use serde::{Deserialize, Serialize};

use super::sshsig::HashingWriter;
use crate::error::{CliError, Result};

pub const SCHEMA_VERSION: u32 = 1;
pub const KIND: &str = "imadm-audit-report";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerMeta {
    pub url: String,
    pub server_id: String,
    /// `ssh-ed25519 AAAA...` that signed the checkpoints.
    pub audit_public_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    pub since: Option<String>,
    pub until: Option<String>,
    /// 0 when empty.
    pub first_seq: u64,
    pub last_seq: u64,
    pub count: u64,
}

#[derive(Serialize)]
struct Head<'a> {
    schema_version: u32,
    kind: &'static str,
    server: &'a ServerMeta,
    range: &'a Range,
    signer: Option<&'a str>,
    anchor: &'a Option<Checkpoint>,
}

/// Writes one report to `W`, hashing every byte.
pub struct ReportWriter<W: Write> {
    w: HashingWriter<BufWriter<W>>,
    first: bool,
    line: Vec<u8>,
}

fn io_err(e: std::io::Error) -> CliError {
    CliError::from(e)
}

impl<W: Write> ReportWriter<W> {
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
        let head = serde_json::to_vec(&Head {
            schema_version: SCHEMA_VERSION,
            kind: KIND,
            server,
            range,
            signer,
            anchor,
        })
        .map_err(|e| CliError::unexpected(e.to_string()))?;
        // Re-open the object to append the events array: `{...}` → `{...,"events":[`.
        w.write_all(&head[..head.len() - 1]).map_err(io_err)?;
        w.write_all(b",\"events\":[").map_err(io_err)?;
        Ok(ReportWriter {
            w,
            first: true,
            line: Vec::with_capacity(1024),
        })
    }

    pub fn event(&mut self, e: &AuditEvent) -> Result<()> {
        self.event_canonical(e, &e.canonical_bytes())
    }

    /// Write an event line that is already in the report's layout (checked by
    /// `verify::Chain::push_exact`).
    pub fn raw_line(&mut self, line: &[u8]) -> Result<()> {
        self.w
            .write_all(if self.first { b"\n" } else { b",\n" })
            .map_err(io_err)?;
        self.first = false;
        self.w.write_all(line).map_err(io_err)
    }

    /// Write `e` given its canonical bytes: the line is those bytes with the hash added
    /// before the closing brace (the same text serde writes for the whole event, and the
    /// layout `audit verify` hashes without parsing). Built in one buffer and written
    /// once, so the SHA-512 of the report is updated per line, not per JSON token.
    pub fn event_canonical(&mut self, e: &AuditEvent, canonical: &[u8]) -> Result<()> {
        let line = &mut self.line;
        line.clear();
        line.extend_from_slice(if self.first { b"\n" } else { b",\n" });
        self.first = false;
        match canonical.strip_suffix(b"}") {
            // A chain value is 64 hex digits (checked before a line is written).
            Some(body) if e.hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
                line.extend_from_slice(body);
                line.extend_from_slice(b",\"hash\":\"");
                line.extend_from_slice(e.hash.as_bytes());
                line.extend_from_slice(b"\"}");
            }
            _ => serde_json::to_writer(&mut *line, e)
                .map_err(|e| CliError::from(std::io::Error::from(e)))?,
        }
        self.w.write_all(line).map_err(io_err)
    }

    /// Close the document; returns the inner writer and the SHA-512 of all bytes written.
    pub fn finish(mut self, checkpoint: &Option<Checkpoint>) -> Result<(W, [u8; 64])> {
        self.w.write_all(b"\n],\"checkpoint\":").map_err(io_err)?;
        serde_json::to_writer(&mut self.w, checkpoint)
            .map_err(|e| CliError::from(std::io::Error::from(e)))?;
        self.w.write_all(b"}\n").map_err(io_err)?;
        let (buf, digest) = self.w.into_parts();
        let inner = buf
            .into_inner()
            .map_err(|e| CliError::from(e.into_error()))?;
        Ok((inner, digest))
    }
}
