//! `imadm audit export`: fetch the events of a time range and the checkpoints proving
//! them, verify chain and signatures while streaming the events into the report (so a
//! report that would not verify is never written), then sign it with SSHSIG.
//!
//! The server's audit key is pinned in the profile at first use; a different key later
//! is an integrity failure (exit 8) until re-pinned with `config set audit_key`. The
//! chain must extend the checkpoint the profile pinned (`checkpoint::Guard`): checked
//! during the pass when the range passes the pinned seq, else by the cheap proof; the
//! newest verified checkpoint then becomes the pin.

use std::path::PathBuf;

use clap::Args;
use imadm_api::admin::Page;
use imadm_api::audit::{AuditEvent, ExportPlan, ExportRequest};
use imadm_server::fsutil::AtomicFile;
use serde_json::json;
use serde_json::value::RawValue;

use crate::audit::csv::CsvWriter;
use crate::audit::report::{Range, ReportWriter, ServerMeta};
use crate::audit::verify;
use crate::client::Auth;
use crate::cmdutil::sign_written;
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm audit export --since 30d --out audit.json\n  $ imadm audit export --since 2026-11-01T00:00:00Z --until 2026-12-01T00:00:00Z \\\n      --out nov.json --sign-key ~/.ssh/id_ed25519 --signer alice@example.com\n  $ ssh-keygen -Y verify -f allowed_signers -I alice@example.com -n imadm-audit \\\n      -s nov.json.sig < nov.json\n\nThe signature (FILE.sig) is an OpenSSH SSHSIG, namespace `imadm-audit`, sha512.\nAn encrypted --sign-key takes its passphrase from IMADM_SIGN_KEY_PASSPHRASE or a prompt.\nThe report format is documented in docs/audit-report.md.\nThe server's chain must extend the checkpoint pinned in the profile: exit 8 when it was\nrolled back or forked (see `imadm audit checkpoint`)."
)]
pub struct ExportArgs {
    /// Start of the range: RFC 3339 or a duration before now (`30d`)
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// End of the range: RFC 3339 or a duration before now
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// Report format
    #[arg(long, value_name = "FMT", default_value = "json")]
    pub format: ReportFormat,
    /// File to write (atomically); the signature goes to FILE.sig
    #[arg(long = "out", value_name = "FILE")]
    pub out: PathBuf,
    /// OpenSSH Ed25519 private key to sign the report with [default: config sign_key]
    #[arg(long, value_name = "KEY")]
    pub sign_key: Option<PathBuf>,
    /// Identity recorded for the signature, for allowed_signers matching [default: config signer]
    #[arg(long, value_name = "ID")]
    pub signer: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Json,
    /// Events as CSV rows, header and checkpoints in `#` lines (docs/audit-report.md)
    Csv,
}

/// The report being written, in either format.
enum Writer<W: std::io::Write> {
    Json(ReportWriter<W>),
    Csv(CsvWriter<W>),
}

impl<W: std::io::Write> Writer<W> {
    /// `canonical`: the event's canonical bytes, which the JSON report line reuses.
    fn event(&mut self, e: &AuditEvent, canonical: &[u8]) -> Result<()> {
        match self {
            Writer::Json(w) => w.event_canonical(e, canonical),
            Writer::Csv(w) => w.event(e),
        }
    }
    fn skip_digest(&mut self) {
        match self {
            Writer::Json(w) => w.skip_digest(),
            Writer::Csv(w) => w.skip_digest(),
        }
    }
    fn finish(self, cp: &Option<imadm_api::audit::Checkpoint>) -> Result<(W, [u8; 64])> {
        match self {
            Writer::Json(w) => w.finish(cp),
            Writer::Csv(w) => w.finish(cp),
        }
    }
}

/// Events per page (the server's maximum).
const PAGE: u32 = 10_000;

pub fn run(ctx: &mut Context, args: ExportArgs) -> Result<()> {
    let since = args
        .since
        .as_deref()
        .map(|s| super::parse_time(ctx, "--since", s))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|s| super::parse_time(ctx, "--until", s))
        .transpose()?;
    let profile = ctx.profile();
    let signer = args.signer.clone().or(profile.signer.clone());
    // Load the signing key first: a wrong passphrase should not cost a whole export.
    let sign_key = crate::cmdutil::sign_key(ctx, args.sign_key.as_deref())?;

    let conn = connect(ctx)?;
    let (key, info) = super::checkpoint::trusted_key(ctx, &conn)?;
    let guard = super::checkpoint::Guard::load(ctx, &conn, &info, &key, "audit export")?;

    let req = ExportRequest {
        since: since.clone(),
        until: until.clone(),
    };
    let plan: ExportPlan = conn.call(ctx, |c, t| {
        c.post("/admin/audit/export", &req, &Auth::token(t), true)
    })?;
    let server_id = info.server_id.clone();
    let head = verify::start_head(plan.first_seq, plan.anchor.as_ref(), &key, &server_id)?;
    // The pinned checkpoint is checked during the pass when the range passes it (from the
    // anchor on); otherwise by the cheap proof, before anything is written.
    let covers = plan.count > 0
        && guard
            .seq()
            .is_some_and(|p| p + 1 >= plan.first_seq && p <= plan.last_seq);
    let mut proven = None;
    if let (Some(p), false) = (guard.seq(), covers) {
        let signed = match &plan.checkpoint {
            Some(cp) if cp.seq >= p => {
                verify::checkpoint(cp, &key, &server_id, "closing")?;
                cp.clone()
            }
            _ => guard.current(ctx, &conn)?,
        };
        guard.prove(ctx, &conn, &signed)?;
        proven = Some(signed);
    }
    let range = Range {
        since,
        until,
        first_seq: plan.first_seq,
        last_seq: plan.last_seq,
        count: plan.count,
    };
    let meta = ServerMeta {
        url: conn.client.server(),
        server_id: server_id.clone(),
        audit_public_key: key.openssh.clone(),
    };

    let fail = |e| CliError::write_failed(&args.out, e);
    let mut file = AtomicFile::create(&args.out, 0o600).map_err(fail)?.large();
    let mut w = match args.format {
        ReportFormat::Json => Writer::Json(ReportWriter::begin(
            file.file(),
            &meta,
            &range,
            signer.as_deref(),
            &plan.anchor,
        )?),
        ReportFormat::Csv => Writer::Csv(CsvWriter::begin(
            file.file(),
            &meta,
            &range,
            signer.as_deref(),
            &plan.anchor,
        )?),
    };
    if sign_key.is_none() {
        w.skip_digest();
    }
    let mut chain = verify::Chain::new(plan.first_seq.max(1), head);
    if covers {
        chain.watch(guard.seq());
    }
    if plan.count > 0 {
        // Pages are fixed by seq (events are numbered without gaps), so they can be
        // fetched ahead: FETCHERS threads each fetch and parse every FETCHERS-th page
        // while this thread checks and writes them in order. The server works on the
        // next page while the CLI parses this one. Each channel holds one page, so memory
        // stays at a few pages. A missing or extra event still fails the chain check.
        const FETCHERS: u64 = 2;
        let pages = plan.count.div_ceil(u64::from(PAGE));
        let path_of = |i: u64| {
            format!(
                "/admin/audit/events?after={}&to={}&limit={PAGE}",
                plan.first_seq - 1 + i * u64::from(PAGE),
                plan.last_seq
            )
        };
        // The first page through `call` (which refreshes an expired session); the others
        // with the token it used.
        let token = std::cell::RefCell::new(String::new());
        let first: Page<Box<RawValue>> = conn.call(ctx, |c, t| {
            *token.borrow_mut() = t.to_owned();
            c.get(&path_of(0), &Auth::token(t))
        })?;
        let token = token.into_inner();
        let (chain, w) = (&mut chain, &mut w);
        // Events arrive as raw JSON text. One the server serialised in the report's line
        // layout is checked by hashing its bytes and copied as it is (the verify fast
        // path); anything else is parsed, checked and written field by field.
        let mut process = |items: Vec<Box<RawValue>>| -> Result<()> {
            for raw in &items {
                let text = raw.get().as_bytes();
                if let Writer::Json(j) = &mut *w
                    && chain.push_exact(text)
                {
                    j.raw_line(text)?;
                    continue;
                }
                let e: AuditEvent = serde_json::from_slice(text).map_err(|err| {
                    CliError::unexpected(format!(
                        "the server sent an unreadable audit event after seq {}: {err}",
                        chain.next_seq.saturating_sub(1)
                    ))
                })?;
                let canonical = e.canonical_bytes();
                let leaf = imadm_api::audit::leaf_of_canonical(&[&canonical]);
                chain.push_leaf(&e, &leaf)?;
                w.event(&e, &canonical)?;
            }
            Ok(())
        };
        std::thread::scope(|scope| -> Result<()> {
            let mut rxs = Vec::new();
            for j in 0..FETCHERS {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<Box<RawValue>>>>(1);
                rxs.push(rx);
                let (client, token, path_of) = (&conn.client, &token, &path_of);
                scope.spawn(move || {
                    let mut i = 1 + j;
                    while i < pages {
                        let page = client
                            .get::<Page<Box<RawValue>>>(&path_of(i), &Auth::token(token))
                            .map(|p| p.items);
                        let failed = page.is_err();
                        // A closed channel: the writer stopped on an error it reports.
                        if tx.send(page).is_err() || failed {
                            return;
                        }
                        i += FETCHERS;
                    }
                });
            }
            process(first.items)?;
            for i in 1..pages {
                match rxs[((i - 1) % FETCHERS) as usize].recv() {
                    Ok(page) => process(page?)?,
                    Err(_) => return Err(CliError::unexpected("a page fetcher stopped early")),
                }
            }
            Ok(())
        })?;
    }
    verify::finish(&chain, &range, plan.checkpoint.as_ref(), &key, &server_id)?;
    if let (true, Some(cp)) = (covers, &plan.checkpoint) {
        guard.check_pass(ctx, chain.watched, cp)?;
    }
    // The newest checkpoint verified and shown to extend the pin (before the report is
    // committed: a concurrent command that pinned another chain value refuses it).
    if let Some(newest) = [proven, plan.checkpoint.clone()]
        .into_iter()
        .flatten()
        .max_by_key(|cp| cp.seq)
    {
        guard.advance(ctx, &newest)?;
    }
    let (_, digest) = w.finish(&plan.checkpoint)?;
    file.commit().map_err(fail)?;
    let mut fields = sign_written(sign_key.as_ref(), &args.out, &digest, signer.as_deref())?;
    fields.extend([
        ("server_id", "Server id", json!(server_id)),
        ("first_seq", "First seq", json!(range.first_seq)),
        ("last_seq", "Last seq", json!(range.last_seq)),
        ("count", "Events", json!(range.count)),
        ("verified", "Verified", json!(true)),
    ]);
    crate::output::object(ctx, fields)
}
