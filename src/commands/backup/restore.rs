//! `imadm backup restore FILE --identity FILE [--dry-run] [--accept-fork REASON]`:
//! decrypt and stream the snapshot to the server, which loads it into a staging file and
//! switches only after the whole stream verified and authenticated (its MAC under the
//! server's key). Needs step-up MFA and confirmation.
//!
//! Data rolls back; history never does; security state merges to the most restrictive
//! (README "Backup and restore"): the report says per table where its rows come from, what
//! became of the audit log, what was kept from live per operator and token and why, and
//! who gains permissions (the server refuses gains the restorer does not hold). A snapshot
//! whose audit log forks from the live one is refused unless `--accept-fork REASON`. Every
//! session ends, the restorer's too. The archive may be an object
//! (`s3://BUCKET/PREFIX/NAME.age`): it is streamed, never downloaded to disk first.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Archive, Remember, decrypt, load_identities, unreadable};
use crate::commands::StepUpArgs;
use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm backup restore /backups/imadm-3f2a-20260101T020000Z.age --identity ~/backup-key.txt --dry-run\n  $ IMADM_OTP=123456 imadm --yes backup restore /backups/imadm-3f2a-20260101T020000Z.age -i ~/.ssh/id_ed25519"
)]
pub struct RestoreArgs {
    /// The archive to restore: a file or s3://BUCKET/PREFIX/NAME.age
    pub file: PathBuf,
    /// age identity file or SSH private key (passphrase: prompted, or IMADM_IDENTITY_PASSPHRASE)
    #[arg(short, long, value_name = "FILE", required = true)]
    pub identity: PathBuf,
    /// Check the archive as a restore would, and show what it would do (per table, to the audit log, per operator and token) and who would gain permissions, without changing anything
    #[arg(long)]
    pub dry_run: bool,
    /// Restore even though the archive's audit log forks from the server's, for this reason (recorded in the audit log; the server's log is kept)
    #[arg(long, value_name = "REASON")]
    pub accept_fork: Option<String>,
    #[command(flatten)]
    pub step_up: StepUpArgs,
}

#[derive(Debug, Deserialize)]
struct TableCounts {
    table: String,
    current: u64,
    snapshot: u64,
    /// `snapshot`, `live`, `merged` or `cleared` (absent from older servers).
    #[serde(default)]
    source: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Gain {
    operator: String,
    permissions: Vec<String>,
}

#[derive(Debug, Deserialize, Serialize)]
struct Head {
    seq: u64,
    hash: String,
}

#[derive(Debug, Deserialize, Serialize)]
struct Appended {
    live_from: u64,
    live_to: u64,
    live_head: String,
    from: u64,
    to: u64,
}

#[derive(Debug, Deserialize, Serialize)]
struct Ledger {
    relation: String,
    server_id: String,
    snapshot_head: Option<Head>,
    live_head: Option<Head>,
    appended: Option<Appended>,
    fork_reason: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
struct Note {
    principal: String,
    kept: String,
    why: String,
}

#[derive(Debug, Deserialize)]
struct Report {
    dry_run: bool,
    server_id: String,
    created_at: i64,
    tables: Vec<TableCounts>,
    #[serde(default)]
    permission_gains: Vec<Gain>,
    #[serde(default)]
    ledger: Option<Ledger>,
    #[serde(default)]
    kept_from_live: Vec<Note>,
}

/// How a table's `source` reads in the human formats.
fn source_text(source: Option<&str>) -> &str {
    match source {
        Some("snapshot") => "from the snapshot",
        Some("live") => "kept from live",
        Some("merged") => "merged",
        Some("cleared") => "cleared",
        Some(other) => other,
        None => "from the snapshot",
    }
}

/// What became of the audit log, in one sentence.
fn ledger_text(l: &Ledger) -> String {
    let head = |h: &Option<Head>| {
        h.as_ref().map_or("no events".to_owned(), |h| {
            format!("seq {} {}", h.seq, h.hash)
        })
    };
    let mut t = match l.relation.as_str() {
        "extends" => format!(
            "kept: the server's log ({}) extends the snapshot's ({})",
            head(&l.live_head),
            head(&l.snapshot_head)
        ),
        "behind" => format!(
            "the server's log ({}) is a prefix of the snapshot's ({}), which is continued",
            head(&l.live_head),
            head(&l.snapshot_head)
        ),
        "recovery" => format!(
            "disaster recovery onto server {}: the snapshot's log ({}) is continued",
            l.server_id,
            head(&l.snapshot_head)
        ),
        "fork" => format!(
            "fork accepted ({}): the server's log ({}) is kept, the snapshot's ({}) is not",
            l.fork_reason.as_deref().unwrap_or("-"),
            head(&l.live_head),
            head(&l.snapshot_head)
        ),
        other => other.to_owned(),
    };
    if let Some(a) = &l.appended {
        t.push_str(&format!(
            "; the server's events seq {}..={} appended as seq {}..={}",
            a.live_from, a.live_to, a.from, a.to
        ));
    }
    t
}

pub fn run(ctx: &mut Context, args: RestoreArgs) -> Result<()> {
    let ids = load_identities(ctx, &args.identity)?;
    let archive = Archive::from_arg(
        &args.file,
        &crate::cmdutil::s3::Settings::of(&ctx.profile()),
    )?;
    // Fail on a wrong identity before asking anything.
    drop(decrypt(&archive, &ids)?);
    if !args.dry_run {
        ctx.confirm(&format!(
            "Roll the server's data back to {archive} (its audit log and revocations stay; every session ends)"
        ))?;
    }
    let conn = connect(ctx)?;
    let mut path = format!("/admin/backup/restore?dry_run={}", args.dry_run);
    if let Some(reason) = &args.accept_fork {
        path.push_str("&accept_fork=");
        path.push_str(&crate::client::path_segment(reason));
    }
    let broken = Arc::new(Mutex::new(None));
    // Decrypted bytes against the archive's size: close enough for an ETA (age adds 16
    // bytes per 64 KiB chunk).
    let size = match &archive {
        Archive::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
        // Not a request just for a progress bar.
        Archive::S3 { .. } => None,
    };
    let progress = ctx.progress(size, if args.dry_run { "verify" } else { "restore" });
    if args.step_up.web {
        // The approval binds the request's body, and a restore's is the whole archive.
        return Err(crate::error::CliError::usage(
            "a restore cannot be approved with a passkey: its upload is too large to bind",
        )
        .hint("pass a TOTP code (--otp, or at the prompt)"));
    }
    // Streaming the archive only to be asked for a code is a waste: the code comes first.
    let result: Result<Report> =
        conn.step_up_with(ctx, args.step_up.otp.as_deref(), true, |c, auth| {
            progress.reset();
            let plain = decrypt(&archive, &ids)?;
            let body = Remember {
                inner: progress.wrap_read(plain),
                error: broken.clone(),
            };
            c.post_stream(&path, body, auth)
        });
    progress.finish_and_clear();
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            if let Some(why) = broken.lock().unwrap_or_else(|p| p.into_inner()).take() {
                let e = unreadable(&archive, why);
                let hint = e.hint.clone().unwrap_or_default();
                return Err(e.hint(format!("the server's data was not changed; {hint}")));
            }
            return Err(e);
        }
    };
    // Structured in JSON; one line of text per item elsewhere (escaped by `output`).
    let structured = matches!(
        ctx.output(),
        crate::output::OutputFormat::Json | crate::output::OutputFormat::Jsonl
    );
    let tables: Vec<_> = report
        .tables
        .iter()
        .map(|t| {
            if structured {
                json!({"table": t.table, "current": t.current, "snapshot": t.snapshot, "source": t.source})
            } else {
                json!(format!(
                    "{}: {} ({} → {})",
                    t.table,
                    source_text(t.source.as_deref()),
                    t.current,
                    t.snapshot
                ))
            }
        })
        .collect();
    let gains: Vec<_> = report
        .permission_gains
        .iter()
        .map(|g| {
            if structured {
                json!({"operator": g.operator, "permissions": g.permissions})
            } else {
                json!(format!("{}: {}", g.operator, g.permissions.join(" ")))
            }
        })
        .collect();
    let kept: Vec<_> = report
        .kept_from_live
        .iter()
        .map(|n| {
            if structured {
                json!(n)
            } else {
                json!(format!("{}: {} ({})", n.principal, n.kept, n.why))
            }
        })
        .collect();
    let ledger = match &report.ledger {
        Some(l) if structured => json!(l),
        Some(l) => json!(ledger_text(l)),
        None => serde_json::Value::Null,
    };
    crate::output::object(
        ctx,
        vec![
            ("dry_run", "Dry run", json!(report.dry_run)),
            ("server_id", "Snapshot of server", json!(report.server_id)),
            (
                "created_at",
                "Taken at",
                json!(crate::output::rfc3339(report.created_at)),
            ),
            ("tables", "Tables (rows current → snapshot)", json!(tables)),
            ("ledger", "Audit log", ledger),
            ("kept_from_live", "Kept from live", json!(kept)),
            ("permission_gains", "Permissions gained", json!(gains)),
        ],
    )?;
    if report.dry_run {
        ctx.info(
            "Dry run: nothing changed. A restore ends every session: everyone logs in again.",
        )?;
    } else {
        ctx.info("Restored. Every session has ended, yours too: everyone must log in again (`imadm auth login`).")?;
    }
    Ok(())
}
