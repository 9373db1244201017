//! The backup snapshot stream format (docs/backup-format.md), shared by the server that
//! writes, authenticates and restores it and the CLI that verifies decrypted archives.
//!
//! Binary and length-prefixed because throughput matters (a JSON encoding was several
//! times slower), and streaming in both directions: the writer and the reader hold one
//! record at a time.
//!
//! Two properties, two mechanisms. Integrity: the trailer's BLAKE3 hash covers every byte
//! before the trailer, so truncation, reordering and bit flips are detected; anyone can
//! check it, and anyone can recompute it. Authenticity: two MACs under a [`MacKey`] that
//! only the server holds (derived from its server key): a tag right after the header, so
//! the server refuses a header it did not write before it reads any record, and a MAC in
//! the trailer over the header and the body hash. The CLI has no key: it checks integrity
//! and leaves authenticity to the server's restore ([`Reader::authenticate`]).
//!
//! Version 1 streams (SHA-256, no MAC) are still read without a key, so `backup verify`
//! can check old archives; an authenticating reader refuses them.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use zeroize::Zeroizing;

/// First bytes of every snapshot.
pub const MAGIC: &[u8; 8] = b"IMADMBAK";
/// Name in the header; a reader refuses any other.
pub const FORMAT_NAME: &str = "imadm-backup";
/// Bumped on any incompatible change; the writer writes this one.
pub const FORMAT_VERSION: u32 = 2;
/// The previous version (SHA-256, no MAC): read for integrity only, never restored.
pub const FORMAT_V1: u32 = 1;
/// Header and trailer are small JSON documents; anything bigger is corruption.
const MAX_JSON: u32 = 16 << 20;
/// One column value; far above anything the server stores.
const MAX_VALUE: u32 = 256 << 20;
/// Length of the header tag (a BLAKE3 output).
const TAG_LEN: usize = 32;
/// What each MAC starts with: the two never authenticate the same message.
const HEADER_TAG_LABEL: &[u8] = b"imadm-backup v2 header tag\0";
const SNAPSHOT_MAC_LABEL: &[u8] = b"imadm-backup v2 snapshot mac\0";

const TAG_RECORD: u8 = 0x01;
const TAG_END: u8 = 0xFF;
const V_NULL: u8 = 0;
const V_INT: u8 = 1;
const V_REAL: u8 = 2;
const V_TEXT: u8 = 3;
const V_BLOB: u8 = 4;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TableInfo {
    pub name: String,
    pub columns: Vec<String>,
    pub count: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub server_id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// `PRAGMA user_version` of the database the snapshot was taken from.
    pub schema_version: i64,
    /// The fingerprint of the server key that was active (`Key::fingerprint`): its MAC
    /// key authenticates the snapshot.
    pub key_fingerprint: String,
    pub tables: Vec<TableInfo>,
    /// Ids (16 hex digits) of the server keys the snapshot's sealed values are sealed
    /// under: a restore needs every one of them. Absent in snapshots written before key
    /// rotation, whose sealed values are all under the key of `key_fingerprint`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_ids: Vec<String>,
}

/// The trailer: version 2 has `blake3` and `mac`, version 1 only `sha256`. Unknown
/// fields are refused, so nothing unauthenticated can ride along.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Trailer {
    pub counts: BTreeMap<String, u64>,
    /// Hex BLAKE3 of every byte from the magic through the end tag (version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blake3: Option<String>,
    /// Hex MAC over the header and that hash ([`MacKey::snapshot_mac`], version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// Hex SHA-256 of the same bytes (version 1 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// One SQLite value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    /// The borrowed form [`Writer::record`] takes (to write back what a reader yielded).
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Int(*i),
            Value::Real(r) => ValueRef::Real(*r),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }
    }
}

/// What went wrong reading a snapshot; every variant is an integrity failure.
#[derive(Debug)]
pub enum FormatError {
    Io(io::Error),
    /// The stream ended before the trailer was complete.
    Truncated(String),
    Invalid(String),
    /// Well formed, but a MAC does not verify under the reader's key: the snapshot was
    /// not written by a server holding that key (forged or altered).
    Unauthentic(String),
    /// A version 1 stream given to an authenticating reader: it carries no MAC.
    NoMac,
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormatError::Io(e) => write!(f, "reading the snapshot failed: {e}"),
            FormatError::Truncated(w) => write!(f, "the snapshot is truncated ({w})"),
            FormatError::Invalid(w) => write!(f, "the snapshot is corrupt: {w}"),
            FormatError::Unauthentic(w) => write!(f, "the snapshot fails authentication: {w}"),
            FormatError::NoMac => write!(
                f,
                "the snapshot is in {FORMAT_NAME} version {FORMAT_V1}, which carries no MAC, so its authenticity cannot be checked"
            ),
        }
    }
}

impl std::error::Error for FormatError {}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The key of a snapshot's MACs (keyed BLAKE3). The server derives it from its server
/// key; holding it is what lets a server vouch that it wrote a snapshot.
///
/// Both MACs start from `start`, the stream's first bytes exactly as written (magic,
/// header length, header JSON), after a label of their own: the header tag is
/// `BLAKE3-keyed(K, HEADER_TAG_LABEL ‖ start)`, the trailer's MAC
/// `BLAKE3-keyed(K, SNAPSHOT_MAC_LABEL ‖ start ‖ body hash)`. The header length inside
/// `start` and the fixed 32-byte hash at the end make the message unambiguous.
#[derive(Clone)]
pub struct MacKey(Zeroizing<[u8; 32]>);

impl MacKey {
    pub fn from_bytes(key: [u8; 32]) -> Self {
        MacKey(Zeroizing::new(key))
    }

    /// The tag written right after the header.
    pub fn header_tag(&self, start: &[u8]) -> blake3::Hash {
        let mut h = blake3::Hasher::new_keyed(&self.0);
        h.update(HEADER_TAG_LABEL);
        h.update(start);
        h.finalize()
    }

    /// The trailer's MAC, given the BLAKE3 body hash.
    pub fn snapshot_mac(&self, start: &[u8], body: &blake3::Hash) -> blake3::Hash {
        let mut h = self.snapshot_mac_state(start);
        h.update(body.as_bytes());
        h.finalize()
    }

    /// The trailer MAC's state once `start` is in: writer and reader keep this (not the
    /// key) until the body hash is known.
    fn snapshot_mac_state(&self, start: &[u8]) -> blake3::Hasher {
        let mut h = blake3::Hasher::new_keyed(&self.0);
        h.update(SNAPSHOT_MAC_LABEL);
        h.update(start);
        h
    }
}

impl std::fmt::Debug for MacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MacKey(..)")
    }
}

/// Magic, header length and header JSON: the stream's first bytes.
fn start_bytes(json: &[u8]) -> Vec<u8> {
    let mut start = Vec::with_capacity(12 + json.len());
    start.extend_from_slice(MAGIC);
    start.extend_from_slice(&(json.len() as u32).to_be_bytes());
    start.extend_from_slice(json);
    start
}

/// Writes a snapshot: [`Writer::new`] (magic, header, header tag), [`Writer::record`] per
/// row, [`Writer::finish`] (end tag, trailer with hash and MAC).
pub struct Writer<W: Write> {
    out: W,
    hash: blake3::Hasher,
    mac: blake3::Hasher,
    tables: Vec<String>,
    counts: Vec<u64>,
    buf: Vec<u8>,
}

/// Records are gathered into pieces of this size before they are hashed and written:
/// BLAKE3 hashes several 1 KiB chunks at once (SIMD) only when it gets many at a time.
const WRITE_PIECE: usize = 64 << 10;

impl<W: Write> Writer<W> {
    /// Start a snapshot of `header` (which must be of [`FORMAT_VERSION`]), authenticated
    /// under `key`.
    pub fn new(mut out: W, header: &Header, key: &MacKey) -> io::Result<Self> {
        if header.format != FORMAT_NAME || header.version != FORMAT_VERSION {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the writer writes {FORMAT_NAME} version {FORMAT_VERSION} only"),
            ));
        }
        let json = serde_json::to_vec(header).map_err(io::Error::other)?;
        let start = start_bytes(&json);
        let tag = key.header_tag(&start);
        let mut buf = Vec::with_capacity(WRITE_PIECE + (64 << 10));
        buf.extend_from_slice(&start);
        buf.extend_from_slice(tag.as_bytes());
        out.write_all(&buf)?;
        let mut hash = blake3::Hasher::new();
        hash.update(&buf);
        buf.clear();
        Ok(Writer {
            out,
            hash,
            mac: key.snapshot_mac_state(&start),
            tables: header.tables.iter().map(|t| t.name.clone()).collect(),
            counts: vec![0; header.tables.len()],
            buf,
        })
    }

    /// Append one row of table number `table` (its index in the header).
    pub fn record(&mut self, table: u32, values: &[ValueRef<'_>]) -> io::Result<()> {
        self.buf.push(TAG_RECORD);
        self.buf.extend_from_slice(&table.to_be_bytes());
        for v in values {
            match v {
                ValueRef::Null => self.buf.push(V_NULL),
                ValueRef::Int(i) => {
                    self.buf.push(V_INT);
                    self.buf.extend_from_slice(&i.to_be_bytes());
                }
                ValueRef::Real(r) => {
                    self.buf.push(V_REAL);
                    self.buf.extend_from_slice(&r.to_bits().to_be_bytes());
                }
                ValueRef::Text(t) => {
                    self.buf.push(V_TEXT);
                    self.buf.extend_from_slice(&(t.len() as u32).to_be_bytes());
                    self.buf.extend_from_slice(t);
                }
                ValueRef::Blob(b) => {
                    self.buf.push(V_BLOB);
                    self.buf.extend_from_slice(&(b.len() as u32).to_be_bytes());
                    self.buf.extend_from_slice(b);
                }
            }
        }
        self.counts[table as usize] += 1;
        if self.buf.len() >= WRITE_PIECE {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        self.hash.update(&self.buf);
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Write the end tag and trailer; returns the sink.
    pub fn finish(mut self) -> io::Result<W> {
        self.buf.push(TAG_END);
        self.flush_buf()?;
        let body = self.hash.finalize();
        self.mac.update(body.as_bytes());
        let trailer = Trailer {
            counts: self
                .tables
                .iter()
                .cloned()
                .zip(self.counts.iter().copied())
                .collect(),
            blake3: Some(body.to_hex().to_string()),
            mac: Some(self.mac.finalize().to_hex().to_string()),
            sha256: None,
        };
        let json = serde_json::to_vec(&trailer).map_err(io::Error::other)?;
        self.out.write_all(&(json.len() as u32).to_be_bytes())?;
        self.out.write_all(&json)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// A borrowed value for [`Writer::record`] (text as raw bytes, as SQLite hands it out).
#[derive(Debug, Clone, Copy)]
pub enum ValueRef<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a [u8]),
    Blob(&'a [u8]),
}

/// What [`Reader::next`] yields.
#[derive(Debug)]
pub enum Item {
    Record {
        table: u32,
        values: Vec<Value>,
    },
    /// The trailer verified (hash, counts, and the MAC if the reader authenticates);
    /// nothing follows.
    End(Trailer),
}

/// The body hash of a version.
enum BodyHash {
    Sha256(Sha256),
    Blake3(Box<blake3::Hasher>),
}

impl BodyHash {
    fn update(&mut self, b: &[u8]) {
        match self {
            BodyHash::Sha256(h) => h.update(b),
            BodyHash::Blake3(h) => {
                h.update(b);
            }
        }
    }

    fn finish(&self) -> [u8; 32] {
        match self {
            BodyHash::Sha256(h) => h.clone().finalize().into(),
            BodyHash::Blake3(h) => h.finalize().into(),
        }
    }
}

/// Reads and verifies a snapshot: the header up front, then items; an `Ok(Item::End)` is
/// returned only if the hash, the counts and end of stream all check out, and, once
/// [`Reader::authenticate`]d, the MAC.
///
/// Bytes are read in place from the input's buffer and hashed a whole buffer at a time,
/// when the reader moves on to the next one (BLAKE3 is several times faster on large
/// slices than on the few bytes of one value).
pub struct Reader<R: BufRead> {
    inp: R,
    /// Bytes at the front of `inp`'s buffer that were read but not yet hashed and
    /// consumed.
    off: usize,
    /// `None` while reading what the body hash does not cover in this pass (the start,
    /// hashed from its copy; the trailer).
    hash: Option<BodyHash>,
    pub header: Header,
    /// Magic, header length and header JSON, as read.
    start: Vec<u8>,
    /// The header tag (version 2).
    tag: Option<[u8; TAG_LEN]>,
    /// Once authenticated: the trailer MAC's state, waiting for the body hash.
    mac: Option<blake3::Hasher>,
    counts: Vec<u64>,
    done: bool,
    /// Check records without decoding their values (see [`Reader::skip_values`]).
    skip: bool,
}

impl<R: BufRead> Reader<R> {
    /// Read the header (and, in version 2, its tag) without authenticating it: the
    /// snapshot's integrity is checked, not who wrote it. See [`Reader::authenticate`].
    pub fn new(inp: R) -> Result<Self, FormatError> {
        let mut r = Reader {
            inp,
            off: 0,
            hash: None,
            header: Header::default(),
            start: Vec::new(),
            tag: None,
            mac: None,
            counts: Vec::new(),
            done: false,
            skip: false,
        };
        let magic = r.array::<8>("the magic")?;
        if &magic != MAGIC {
            return Err(FormatError::Invalid(
                "not an imadm snapshot (bad magic bytes)".into(),
            ));
        }
        let len = r.array::<4>("the header length")?;
        let n = u32::from_be_bytes(len);
        if n > MAX_JSON {
            return Err(FormatError::Invalid(format!("header length {n} too large")));
        }
        let json = r.bytes(n as usize, "the header")?;
        r.start = start_bytes(&json);
        r.header = serde_json::from_slice(&json)
            .map_err(|e| FormatError::Invalid(format!("unreadable header: {e}")))?;
        let h = &r.header;
        let mut hash = match (h.format.as_str(), h.version) {
            (FORMAT_NAME, FORMAT_VERSION) => BodyHash::Blake3(Box::default()),
            (FORMAT_NAME, FORMAT_V1) => BodyHash::Sha256(Sha256::new()),
            _ => {
                return Err(FormatError::Invalid(format!(
                    "format {} version {} is not supported (this build reads {FORMAT_NAME} versions {FORMAT_V1} and {FORMAT_VERSION})",
                    h.format, h.version
                )));
            }
        };
        if h.version == FORMAT_VERSION {
            r.tag = Some(r.array::<TAG_LEN>("the header tag")?);
        }
        // What was read so far is hashed from `start` and the tag, not from the input.
        r.release()?;
        hash.update(&r.start);
        if let Some(tag) = &r.tag {
            hash.update(tag);
        }
        r.hash = Some(hash);
        r.counts = vec![0; r.header.tables.len()];
        Ok(r)
    }

    /// Check the header tag under `key` now, and the trailer's MAC at the end: a header
    /// this key did not authenticate is refused before any record is read. A version 1
    /// snapshot has no MAC and is refused ([`FormatError::NoMac`]).
    pub fn authenticate(mut self, key: &MacKey) -> Result<Self, FormatError> {
        let Some(tag) = self.tag else {
            return Err(FormatError::NoMac);
        };
        if key.header_tag(&self.start) != blake3::Hash::from_bytes(tag) {
            return Err(FormatError::Unauthentic(
                "the header tag does not verify under this server's key".into(),
            ));
        }
        self.mac = Some(key.snapshot_mac_state(&self.start));
        Ok(self)
    }

    /// Yield records with empty `values`: everything is still read, hashed and checked
    /// (structure, lengths, trailer), but text and blobs are not copied out. For callers
    /// that only pass the stream on, like `backup run` and `backup verify`.
    pub fn skip_values(mut self, skip: bool) -> Self {
        self.skip = skip;
        self
    }

    /// Hash (when hashing) and consume what was read of the input's current buffer.
    fn release(&mut self) -> Result<(), FormatError> {
        if self.off > 0 {
            if let Some(h) = &mut self.hash {
                // The bytes are still in the buffer: this `fill_buf` reads nothing.
                h.update(&self.inp.fill_buf().map_err(FormatError::Io)?[..self.off]);
            }
            self.inp.consume(self.off);
            self.off = 0;
        }
        Ok(())
    }

    /// Hand the next `n` bytes to `sink` piece by piece, straight from the input's
    /// buffer; a used-up buffer is hashed whole, then consumed.
    fn take(
        &mut self,
        mut n: usize,
        what: &str,
        mut sink: impl FnMut(&[u8]),
    ) -> Result<(), FormatError> {
        while n > 0 {
            let Reader { inp, off, hash, .. } = self;
            let buf = match inp.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(FormatError::Io(e)),
            };
            if buf.len() <= *off {
                if *off == 0 {
                    return Err(FormatError::Truncated(format!("ended inside {what}")));
                }
                if let Some(h) = hash {
                    h.update(&buf[..*off]);
                }
                inp.consume(*off);
                *off = 0;
                continue;
            }
            let k = n.min(buf.len() - *off);
            sink(&buf[*off..*off + k]);
            *off += k;
            n -= k;
        }
        Ok(())
    }

    /// The underlying reader (e.g. to finish a tee after the trailer). Everything up to
    /// the end of the trailer has been consumed once [`Item::End`] was returned.
    pub fn into_inner(self) -> R {
        self.inp
    }

    /// The next `n` bytes, copied once out of the input's buffer.
    fn bytes(&mut self, n: usize, what: &str) -> Result<Vec<u8>, FormatError> {
        let mut v = Vec::with_capacity(n);
        self.take(n, what, |piece| v.extend_from_slice(piece))?;
        Ok(v)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], FormatError> {
        let mut v = [0u8; N];
        let mut at = 0;
        self.take(N, what, |piece| {
            v[at..at + piece.len()].copy_from_slice(piece);
            at += piece.len();
        })?;
        Ok(v)
    }

    /// The next record, or the verified trailer.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Item, FormatError> {
        if self.done {
            return Err(FormatError::Invalid("read past the trailer".into()));
        }
        let [tag] = self.array::<1>("a record tag")?;
        match tag {
            TAG_RECORD => {
                let table = u32::from_be_bytes(self.array::<4>("a record")?);
                let Some(info) = self.header.tables.get(table as usize) else {
                    return Err(FormatError::Invalid(format!(
                        "record for unknown table number {table}"
                    )));
                };
                let ncols = info.columns.len();
                let mut values = Vec::with_capacity(ncols);
                for _ in 0..ncols {
                    let [t] = self.array::<1>("a value")?;
                    values.push(match t {
                        V_NULL => Value::Null,
                        V_INT => Value::Int(i64::from_be_bytes(self.array::<8>("a value")?)),
                        V_REAL => Value::Real(f64::from_bits(u64::from_be_bytes(
                            self.array::<8>("a value")?,
                        ))),
                        V_TEXT | V_BLOB => {
                            let len = u32::from_be_bytes(self.array::<4>("a value")?);
                            if len > MAX_VALUE {
                                return Err(FormatError::Invalid(format!(
                                    "value length {len} too large"
                                )));
                            }
                            if self.skip {
                                // Text is not checked for UTF-8 here; a restore (which
                                // decodes) still refuses invalid text.
                                self.take(len as usize, "a value", |_| {})?;
                                continue;
                            }
                            let b = self.bytes(len as usize, "a value")?;
                            if t == V_TEXT {
                                Value::Text(String::from_utf8(b).map_err(|_| {
                                    FormatError::Invalid("text value is not UTF-8".into())
                                })?)
                            } else {
                                Value::Blob(b)
                            }
                        }
                        other => {
                            return Err(FormatError::Invalid(format!(
                                "unknown value type {other}"
                            )));
                        }
                    });
                }
                if self.skip {
                    values.clear();
                }
                self.counts[table as usize] += 1;
                Ok(Item::Record { table, values })
            }
            TAG_END => {
                self.done = true;
                self.release()?;
                let digest = self.hash.take().map(|h| h.finish()).unwrap_or_default();
                let len = u32::from_be_bytes(self.array::<4>("the trailer length")?);
                if len > MAX_JSON {
                    return Err(FormatError::Invalid(format!(
                        "trailer length {len} too large"
                    )));
                }
                let json = self.bytes(len as usize, "the trailer")?;
                self.release()?;
                let trailer: Trailer = serde_json::from_slice(&json)
                    .map_err(|e| FormatError::Invalid(format!("unreadable trailer: {e}")))?;
                self.check_hash(&trailer, &digest)?;
                for (i, t) in self.header.tables.iter().enumerate() {
                    let got = self.counts[i];
                    if got != t.count || trailer.counts.get(&t.name) != Some(&got) {
                        return Err(FormatError::Invalid(format!(
                            "table {}: header count {}, trailer count {:?}, records {got}",
                            t.name,
                            t.count,
                            trailer.counts.get(&t.name)
                        )));
                    }
                }
                if let Some(mac) = self.mac.take() {
                    let mut mac = mac;
                    mac.update(&digest);
                    let claimed = trailer
                        .mac
                        .as_deref()
                        .and_then(|m| blake3::Hash::from_hex(m).ok());
                    // `blake3::Hash` compares in constant time.
                    if claimed != Some(mac.finalize()) {
                        return Err(FormatError::Unauthentic(
                            "the trailer's MAC does not verify under this server's key".into(),
                        ));
                    }
                }
                if !self.inp.fill_buf().map_err(FormatError::Io)?.is_empty() {
                    return Err(FormatError::Invalid(
                        "unexpected data after the trailer".into(),
                    ));
                }
                Ok(Item::End(trailer))
            }
            other => Err(FormatError::Invalid(format!(
                "unknown record tag {other:#x}"
            ))),
        }
    }

    /// The trailer's body hash against the computed one, with the version's fields.
    fn check_hash(&self, trailer: &Trailer, digest: &[u8; 32]) -> Result<(), FormatError> {
        let hex = to_hex(digest);
        let (name, claimed, fields_ok) = if self.header.version == FORMAT_V1 {
            (
                "SHA-256",
                &trailer.sha256,
                trailer.blake3.is_none() && trailer.mac.is_none(),
            )
        } else {
            ("BLAKE3", &trailer.blake3, trailer.sha256.is_none())
        };
        if !fields_ok {
            return Err(FormatError::Invalid(format!(
                "the trailer has fields of another format version than {}",
                self.header.version
            )));
        }
        let mac_ok = trailer
            .mac
            .as_deref()
            .is_some_and(|m| blake3::Hash::from_hex(m).is_ok());
        if self.header.version != FORMAT_V1 && !mac_ok {
            return Err(FormatError::Invalid(
                "the trailer has no well-formed MAC".into(),
            ));
        }
        match claimed {
            Some(c) if *c == hex => Ok(()),
            Some(c) => Err(FormatError::Invalid(format!(
                "{name} mismatch: trailer says {c}, body hashes to {hex}"
            ))),
            None => Err(FormatError::Invalid(format!("the trailer has no {name}"))),
        }
    }
}

/// Read a whole snapshot, checking its structure and trailer (not its MAC: that needs
/// the server's key); returns header and trailer.
pub fn verify<R: BufRead>(inp: R) -> Result<(Header, Trailer), FormatError> {
    let mut r = Reader::new(inp)?.skip_values(true);
    loop {
        if let Item::End(t) = r.next()? {
            return Ok((r.header, t));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> MacKey {
        MacKey::from_bytes([b; 32])
    }

    fn header(count: u64) -> Header {
        Header {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            server_id: "s".into(),
            created_at: 1,
            schema_version: 3,
            key_fingerprint: "f".into(),
            tables: vec![TableInfo {
                name: "t".into(),
                columns: vec!["a".into(), "b".into()],
                count,
            }],
            key_ids: Vec::new(),
        }
    }

    fn sample_with(key: &MacKey, second: &[u8]) -> Vec<u8> {
        let mut w = Writer::new(Vec::new(), &header(2), key).unwrap();
        w.record(0, &[ValueRef::Int(-5), ValueRef::Text(b"hi")])
            .unwrap();
        w.record(0, &[ValueRef::Null, ValueRef::Blob(second)])
            .unwrap();
        w.finish().unwrap()
    }

    fn sample() -> Vec<u8> {
        sample_with(&key(7), &[0, 1, 2])
    }

    /// Read to the end, authenticating under `key` when given.
    fn read_all(d: &[u8], key: Option<&MacKey>, skip: bool) -> Result<Trailer, FormatError> {
        let mut r = Reader::new(d)?;
        if let Some(k) = key {
            r = r.authenticate(k)?;
        }
        let mut r = r.skip_values(skip);
        loop {
            match r.next()? {
                Item::End(t) => return Ok(t),
                Item::Record { values, .. } => assert_eq!(values.is_empty(), skip),
            }
        }
    }

    #[test]
    fn round_trip_and_every_truncation_or_flip_fails() {
        let data = sample();
        let (h, t) = verify(&data[..]).unwrap();
        assert_eq!(h.tables[0].count, 2);
        assert_eq!(t.counts["t"], 2);
        assert!(t.sha256.is_none() && t.mac.is_some());
        let at = data.windows(7).position(|w| w == b"\"mac\":\"").unwrap() + 7;
        let mac = at..at + 64;
        // Every reader (checking, skipping, authenticating) accepts and refuses the same.
        for (k, skip) in [(None, true), (None, false), (Some(key(7)), false)] {
            assert_eq!(read_all(&data, k.as_ref(), skip).unwrap(), t);
            for cut in 0..data.len() {
                assert!(
                    read_all(&data[..cut], k.as_ref(), skip).is_err(),
                    "truncated at {cut} verified"
                );
            }
            for i in 0..data.len() {
                // Without the key nothing can tell a changed MAC (it stays well formed).
                if k.is_none() && mac.contains(&i) {
                    continue;
                }
                let mut d = data.clone();
                d[i] ^= 0x01;
                assert!(
                    read_all(&d, k.as_ref(), skip).is_err(),
                    "flip at {i} verified"
                );
            }
            let mut d = data.clone();
            d.push(0);
            assert!(read_all(&d, k.as_ref(), skip).is_err());
        }
    }

    /// The reader hashes whole input buffers; values straddling buffer boundaries of any
    /// size must hash and decode exactly as from one buffer.
    #[test]
    fn any_input_buffer_size_reads_and_hashes_the_same() {
        let big: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let data = sample_with(&key(7), &big);
        let whole = read_all(&data, Some(&key(7)), false).unwrap();
        for cap in [1, 2, 3, 5, 8, 13, 64, 1000, 4096, 65536] {
            let r = Reader::new(io::BufReader::with_capacity(cap, &data[..]))
                .unwrap()
                .authenticate(&key(7))
                .unwrap();
            let mut r = r;
            let mut blob = None;
            let t = loop {
                match r.next().unwrap() {
                    Item::End(t) => break t,
                    Item::Record { values, .. } => {
                        if let Some(Value::Blob(b)) = values.get(1) {
                            blob = Some(b.clone());
                        }
                    }
                }
            };
            assert_eq!(t, whole, "buffer of {cap}");
            assert_eq!(blob.as_deref(), Some(&big[..]), "buffer of {cap}");
            let mut d = data.clone();
            d[data.len() / 2] ^= 0x10;
            assert!(verify(io::BufReader::with_capacity(cap, &d[..])).is_err());
        }
    }

    /// Position of the trailer's length field (after the end tag).
    fn trailer_at(d: &[u8]) -> usize {
        (0..d.len() - 4)
            .rev()
            .find(|&p| {
                u32::from_be_bytes(d[p..p + 4].try_into().unwrap()) as usize == d.len() - p - 4
                    && d[p + 4] == b'{'
            })
            .unwrap()
    }

    /// `body` (everything before the trailer) with a trailer whose BLAKE3 is recomputed,
    /// as anyone can: only the MAC is left to tell.
    fn rehash(body: &[u8], mut trailer: Trailer) -> Vec<u8> {
        trailer.blake3 = Some(blake3::hash(body).to_hex().to_string());
        let json = serde_json::to_vec(&trailer).unwrap();
        let mut out = body.to_vec();
        out.extend_from_slice(&(json.len() as u32).to_be_bytes());
        out.extend_from_slice(&json);
        out
    }

    #[test]
    fn only_the_key_holder_authenticates_and_anyone_checks_integrity() {
        let data = sample();
        // Written under another key: integrity holds, the header tag does not verify.
        let other = sample_with(&key(8), &[0, 1, 2]);
        assert!(verify(&other[..]).is_ok());
        let Err(e) = Reader::new(&other[..]).unwrap().authenticate(&key(7)) else {
            panic!("a header tag under another key verified");
        };
        assert!(matches!(e, FormatError::Unauthentic(_)), "{e}");

        // The genuine header and tag, a changed record, the hash recomputed: the header
        // passes, the trailer's MAC does not.
        let p = trailer_at(&data);
        let trailer: Trailer = serde_json::from_slice(&data[p + 4..]).unwrap();
        let mut body = data[..p].to_vec();
        let hi = body.windows(2).position(|w| w == b"hi").unwrap();
        body[hi] = b'H';
        let forged = rehash(&body, trailer.clone());
        let (_, t) = verify(&forged[..]).expect("integrity holds: the hash was recomputed");
        assert_ne!(t.blake3, trailer.blake3);
        let e = read_all(&forged, Some(&key(7)), false).unwrap_err();
        assert!(
            matches!(&e, FormatError::Unauthentic(w) if w.contains("trailer")),
            "{e}"
        );
        // Nothing unauthenticated can be added to the trailer either.
        let mut json: serde_json::Value = serde_json::from_slice(&data[p + 4..]).unwrap();
        json["note"] = "x".into();
        let json = serde_json::to_vec(&json).unwrap();
        let mut extra = data[..p].to_vec();
        extra.extend_from_slice(&(json.len() as u32).to_be_bytes());
        extra.extend_from_slice(&json);
        assert!(verify(&extra[..]).is_err());
        // The writer only writes the current version.
        let mut h = header(0);
        h.version = FORMAT_V1;
        assert!(Writer::new(Vec::new(), &h, &key(7)).is_err());
    }

    const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/vectors/backup");

    /// tests/vectors/backup/v2.bin: the sample above under the key of 32 bytes 0x07 (see
    /// the README there). Any change to the bytes this writes is a format change.
    #[test]
    fn version_2_vector_is_what_the_writer_writes() {
        let file = std::fs::read(format!("{VECTORS}/v2.bin")).unwrap();
        if std::env::var_os("IMADM_BLESS").is_some() {
            std::fs::write(format!("{VECTORS}/v2.bin"), sample()).unwrap();
        }
        assert_eq!(file, sample());
        read_all(&file, Some(&key(7)), false).unwrap();
    }

    /// The key ids a snapshot needs ride in the authenticated header; a snapshot without
    /// them (written before key rotation, like v2.bin) reads as needing none beyond its key.
    #[test]
    fn key_ids_are_in_the_authenticated_header_and_optional() {
        let file = std::fs::read(format!("{VECTORS}/v2.bin")).unwrap();
        assert!(Reader::new(&file[..]).unwrap().header.key_ids.is_empty());
        let mut h = header(0);
        h.key_ids = vec!["0011223344556677".into(), "8899aabbccddeeff".into()];
        let data = Writer::new(Vec::new(), &h, &key(7))
            .unwrap()
            .finish()
            .unwrap();
        let r = Reader::new(&data[..])
            .unwrap()
            .authenticate(&key(7))
            .unwrap();
        assert_eq!(r.header.key_ids, h.key_ids);
        // Changing the list breaks the header tag.
        let at = data
            .windows(16)
            .position(|w| w == b"8899aabbccddeeff")
            .unwrap();
        let mut forged = data.clone();
        forged[at + 15] = b'e';
        assert!(
            Reader::new(&forged[..])
                .and_then(|r| r.authenticate(&key(7)))
                .is_err()
        );
    }

    /// tests/vectors/backup/v1.bin was written by the version 1 writer: readable for its
    /// integrity (SHA-256), refused by an authenticating reader.
    #[test]
    fn version_1_is_checked_for_integrity_and_never_authenticated() {
        let v1 = std::fs::read(format!("{VECTORS}/v1.bin")).unwrap();
        let (h, t) = verify(&v1[..]).unwrap();
        assert_eq!((h.version, t.counts["t"]), (FORMAT_V1, 2));
        assert!(t.sha256.is_some() && t.blake3.is_none());
        let Err(e) = Reader::new(&v1[..]).unwrap().authenticate(&key(0)) else {
            panic!("a version 1 snapshot authenticated");
        };
        assert!(matches!(e, FormatError::NoMac), "{e}");
        for i in 0..v1.len() {
            let mut d = v1.clone();
            d[i] ^= 0x01;
            assert!(verify(&d[..]).is_err(), "flip at {i} verified");
        }
    }
}
