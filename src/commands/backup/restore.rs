//! `imadm backup restore FILE --identity FILE [--dry-run]`: decrypt and stream the
//! snapshot to the server, which loads it into a staging file and switches the live data
//! only after the whole stream verified and authenticated (its MAC under the server's
//! key). Needs step-up MFA and confirmation. The report names every operator whose
//! permissions the restore extends (a dry run: would extend); the server refuses gains
//! the restorer does not hold. After a real restore the restored data's sessions apply:
//! you may have to log in again.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::Args;
use serde::Deserialize;
use serde_json::json;

use super::{Remember, decrypt, integrity, load_identities};
use crate::commands::StepUpArgs;
use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm backup restore /backups/imadm-3f2a-20260101T020000Z.age --identity ~/backup-key.txt --dry-run\n  $ IMADM_OTP=123456 imadm --yes backup restore /backups/imadm-3f2a-20260101T020000Z.age -i ~/.ssh/id_ed25519"
)]
pub struct RestoreArgs {
    /// The archive to restore
    pub file: PathBuf,
    /// age identity file or SSH private key (passphrase: prompted, or IMADM_IDENTITY_PASSPHRASE)
    #[arg(short, long, value_name = "FILE", required = true)]
    pub identity: PathBuf,
    /// Check the archive as a restore would, and show counts per table and who would gain permissions, without changing anything
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub step_up: StepUpArgs,
}

#[derive(Debug, Deserialize)]
struct TableCounts {
    table: String,
    current: u64,
    snapshot: u64,
}

#[derive(Debug, Deserialize)]
struct Gain {
    operator: String,
    permissions: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Report {
    dry_run: bool,
    server_id: String,
    created_at: i64,
    tables: Vec<TableCounts>,
    #[serde(default)]
    permission_gains: Vec<Gain>,
}

pub fn run(ctx: &mut Context, args: RestoreArgs) -> Result<()> {
    let ids = load_identities(ctx, &args.identity)?;
    // Fail on a wrong identity before asking anything.
    drop(decrypt(&args.file, &ids)?);
    if !args.dry_run {
        ctx.confirm(&format!(
            "Replace ALL data on the server with {}",
            args.file.display()
        ))?;
    }
    let conn = connect(ctx)?;
    let path = format!("/admin/backup/restore?dry_run={}", args.dry_run);
    let broken = Arc::new(Mutex::new(None));
    // Decrypted bytes against the archive's size: close enough for an ETA (age adds 16
    // bytes per 64 KiB chunk).
    let size = std::fs::metadata(&args.file).ok().map(|m| m.len());
    let progress = ctx.progress(size, if args.dry_run { "verify" } else { "restore" });
    // Streaming the archive only to be asked for a code is a waste: the code comes first.
    let result: Result<Report> =
        conn.step_up_with(ctx, args.step_up.otp.as_deref(), true, |c, auth| {
            progress.reset();
            let plain = decrypt(&args.file, &ids)?;
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
                return Err(
                    integrity(format!("{} is damaged: {why}", args.file.display()))
                        .hint("the server's data was not changed; use another copy of the backup"),
                );
            }
            return Err(e);
        }
    };
    let rows: Vec<_> = report
        .tables
        .iter()
        .map(|t| json!({"table": t.table, "current": t.current, "snapshot": t.snapshot}))
        .collect();
    // Structured in JSON; one `operator: permissions` item each elsewhere.
    let structured = matches!(
        ctx.output(),
        crate::output::OutputFormat::Json | crate::output::OutputFormat::Jsonl
    );
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
            ("tables", "Rows (current → snapshot)", json!(rows)),
            ("permission_gains", "Permissions gained", json!(gains)),
        ],
    )?;
    if !report.dry_run {
        ctx.info("Restored. Sessions are now those of the backup: you may need to log in again.")?;
    }
    Ok(())
}
