//! `imadm audit report`: a human-readable compliance summary of a period (logins and
//! failures per day, lockouts, MFA coverage, role changes, sensitive-data access, alerts,
//! token use). Events are paged and folded into `crate::audit::summary` counters, so
//! memory is bounded by distinct days/actors; the rendered file is written atomically and
//! SSH-signed like `audit export`. Like `audit log`, it first checks that the server's
//! chain extends the checkpoint the profile pinned (the cheap proof), then advances it.

use std::path::PathBuf;

use clap::Args;
use imadm_api::admin::{Operator, Page};
use imadm_api::audit::{Alert, AuditEvent};
use imadm_server::fsutil::write_atomic;
use serde_json::json;
use sha2::{Digest, Sha512};

use super::q;
use crate::audit::summary::{self, Header, Summary};
use crate::client::Auth;
use crate::cmdutil::sign_written;
use crate::context::Context;
use crate::error::{CliError, Kind, Result};
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm audit report --period 30d --out november.html\n  $ imadm audit report --period 7d --out week.md --sign-key ~/.ssh/id_ed25519 --signer ops@example.com\n\nThe format comes from the extension of --out (.html, .md, .json) unless --format is given.\nThe JSON form is documented in docs/audit-report.md (schema_version 1).\nThe server's chain must extend the checkpoint pinned in the profile: exit 8 when it was\nrolled back or forked (see `imadm audit checkpoint`)."
)]
pub struct ReportArgs {
    /// How far back the report goes (`30d`, `24h`)
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub period: String,
    /// File to write (atomically); the signature goes to FILE.sig
    #[arg(long = "out", value_name = "FILE")]
    pub out: PathBuf,
    /// Report format [default: from the extension of --out]
    #[arg(long, value_name = "FMT")]
    pub format: Option<SummaryFormat>,
    /// OpenSSH Ed25519 private key to sign the report with [default: config sign_key]
    #[arg(long, value_name = "KEY")]
    pub sign_key: Option<PathBuf>,
    /// Identity for the signature, for allowed_signers matching [default: config signer]
    #[arg(long, value_name = "ID")]
    pub signer: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SummaryFormat {
    Html,
    Md,
    Json,
}

const PAGE: u32 = 10_000;

pub fn run(ctx: &mut Context, args: ReportArgs) -> Result<()> {
    let format = match args.format {
        Some(f) => f,
        None => match args.out.extension().and_then(|e| e.to_str()) {
            Some("html" | "htm") => SummaryFormat::Html,
            Some("md" | "markdown") => SummaryFormat::Md,
            Some("json") => SummaryFormat::Json,
            _ => {
                return Err(CliError::usage(format!(
                    "cannot tell the report format from {}",
                    args.out.display()
                ))
                .hint("name the file .html, .md or .json, or pass --format html|md|json"));
            }
        },
    };
    let since = super::parse_time(ctx, "--period", &args.period)?;
    let until = imadm_api::audit::format_at(ctx.now() * 1000);
    let profile = ctx.profile();
    let sign_key = crate::cmdutil::sign_key(ctx, args.sign_key.as_deref())?;
    let signer = args.signer.clone().or(profile.signer.clone());

    let conn = connect(ctx)?;
    let (key, info) = super::checkpoint::trusted_key(ctx, &conn)?;
    let guard = super::checkpoint::Guard::load(ctx, &conn, &info, &key, "audit report")?;
    let current = guard.current(ctx, &conn)?;
    guard.prove(ctx, &conn, &current)?;
    guard.advance(ctx, &current)?;
    let mut s = Summary::default();

    // No `until`: events of the current second would be cut off; the report covers the
    // period up to the moment it is generated.
    let filter = format!("&since={}", q(&since));
    let mut after = 0u64;
    loop {
        let path = format!("/admin/audit/events?after={after}&limit={PAGE}{filter}");
        let page: Page<AuditEvent> = conn.call(ctx, |c, t| c.get(&path, &Auth::token(t)))?;
        for e in &page.items {
            s.add(e);
        }
        match (page.next_cursor, page.items.last()) {
            (Some(_), Some(last)) => after = last.seq,
            _ => break,
        }
    }

    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => "/admin/operators?limit=500".to_owned(),
            Some(a) => format!("/admin/operators?limit=500&after={}", q(a)),
        };
        let page: Page<Operator> = conn.call(ctx, |c, t| c.get(&path, &Auth::token(t)))?;
        for o in &page.items {
            s.operator(&o.username, o.disabled, o.mfa_enrolled);
        }
        match page.next_cursor {
            Some(c) if !page.items.is_empty() => cursor = Some(c),
            _ => break,
        }
    }

    let mut after = 0u64;
    loop {
        let path = format!("/admin/alerts?after={after}&limit=1000&since={}", q(&since));
        match conn.call(ctx, |c, t| c.get::<Page<Alert>>(&path, &Auth::token(t))) {
            Ok(page) => {
                s.alerts.available = true;
                for a in &page.items {
                    s.alert(a);
                }
                match (page.next_cursor, page.items.last()) {
                    (Some(_), Some(last)) => after = last.id,
                    _ => break,
                }
            }
            Err(e) if e.kind == Kind::Forbidden => {
                s.alerts_forbidden(
                    "Alerts are not included: this login may not read them (needs security:read).",
                );
                break;
            }
            Err(e) => return Err(e),
        }
    }

    let header = Header {
        server: conn.client.server(),
        server_id: info.server_id.clone(),
        since: since.clone(),
        until: until.clone(),
        generated_at: until.clone(),
    };
    let body = match format {
        SummaryFormat::Html => summary::html(&header, &s),
        SummaryFormat::Md => summary::markdown(&header, &s),
        SummaryFormat::Json => summary::json(&header, &s),
    };
    write_atomic(&args.out, body.as_bytes(), 0o600)
        .map_err(|e| CliError::write_failed(&args.out, e))?;
    let digest: [u8; 64] = Sha512::digest(body.as_bytes()).into();
    let mut fields = sign_written(sign_key.as_ref(), &args.out, &digest, signer.as_deref())?;
    let t = s.totals();
    fields.extend([
        ("since", "Since", json!(since)),
        ("events", "Events", json!(s.events)),
        ("logins", "Logins", json!(t.logins)),
        ("login_failures", "Failed logins", json!(t.login_failures)),
        (
            "alerts",
            "Alerts",
            json!(s.alerts.available.then_some(s.alerts.total)),
        ),
    ]);
    crate::output::object(ctx, fields)
}
