//! `imadm user export USER --recipient R --out FILE.age`: the right of access (GDPR art.
//! 15). Streams the server's export document (`GET /admin/users/{user}/export`, format in
//! docs/gdpr-export.md) straight through age into a 0600 temp file beside `--out`, checks
//! on the way that the document is complete (a stream cut off mid-way is not valid JSON),
//! and only then renames it into place. The plaintext never touches the disk.

use std::fmt;
use std::io::BufReader;
use std::path::PathBuf;

use clap::Args;
use imadm_api::im::{USER_EXPORT_FORMAT, USER_EXPORT_VERSION};
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::json;

use crate::client::{Auth, path_segment};
use crate::cmdutil::integrity;
use crate::context::Context;
use crate::encrypt::{self, RecipientArgs, TapRead, Tee};
use crate::error::{CliError, Result};
use crate::output::plural;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "\
The file is age-encrypted to the recipients; decrypt it with `age -d -i KEY FILE.age`.
The server records the export in the audit log (`user.export`) before it sends anything.
Erased users cannot be exported (exit 6).

Examples:
  $ imadm user export alice --recipient \"$(age-keygen -y dpo-key.txt)\" --out alice.json.age
  $ imadm user export 2199023255553 -R dpo-recipients.txt --out export.age -o json")]
pub struct ExportArgs {
    /// User id or username
    #[arg(value_name = "USER")]
    pub user: String,
    #[command(flatten)]
    pub recipients: RecipientArgs,
    /// File to write (atomically, mode 0600)
    #[arg(long = "out", value_name = "FILE")]
    pub out: PathBuf,
}

/// Number of items of a JSON array, counted without keeping them.
struct Count(u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Count, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Count, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Count(n))
            }
        }
        d.deserialize_seq(V)
    }
}

#[derive(Deserialize)]
struct SummaryUser {
    user_id: i64,
}

/// What the CLI checks of the document while it streams (everything else is skipped).
#[derive(Deserialize)]
struct Summary {
    format: String,
    version: u32,
    server_id: String,
    user: SummaryUser,
    groups: Count,
    messages: Count,
    devices: Count,
    audit_events: Count,
}

pub fn run(ctx: &mut Context, args: ExportArgs) -> Result<()> {
    if args.user.trim().is_empty() {
        return Err(CliError::usage("USER is empty").hint("pass a user id or a username"));
    }
    let recipients = args.recipients.load("the export")?;
    if args.out.is_dir() {
        return Err(
            CliError::usage(format!("{} is a directory", args.out.display()))
                .hint("give --out the path of the file to write, e.g. alice.json.age"),
        );
    }
    // Before the request: a destination we cannot write to must not cost an export.
    let file = encrypt::output(&args.out)?;

    let conn = connect(ctx)?;
    let path = format!("/admin/users/{}/export", path_segment(&args.user));
    let resp = conn.call(ctx, |c, t| {
        c.get_stream_as(&path, &Auth::token(t), "application/json")
    })?;
    let writer = encrypt::encrypt(&recipients, Tee::new(vec![file]))?;
    let progress = ctx.progress(None, "export");
    let mut tap = BufReader::with_capacity(
        256 << 10,
        TapRead {
            inner: resp,
            sink: writer,
            progress: progress.clone(),
        },
    );
    let parsed: serde_json::Result<Summary> = serde_json::from_reader(&mut tap);
    progress.finish_and_clear();
    let summary = parsed.map_err(|e| {
        integrity(format!(
            "the server's export document is incomplete or invalid: {e}"
        ))
        .hint("nothing was written; retry, and check the server log")
    })?;
    if summary.format != USER_EXPORT_FORMAT || summary.version != USER_EXPORT_VERSION {
        return Err(integrity(format!(
            "the server sent a {:?} version {} document, expected {USER_EXPORT_FORMAT:?} version {USER_EXPORT_VERSION}",
            summary.format, summary.version
        ))
        .hint("nothing was written; compare `imadm --version` with the server's version"));
    }
    let tee = encrypt::finish(tap.into_inner().sink)?;
    let (size, sha) = (tee.size, tee.sha256_hex());
    let file = tee.files.into_iter().next().expect("one file");
    file.commit()
        .map_err(|e| CliError::write_failed(&args.out, e))?;

    let written = args.out.display().to_string();
    if ctx.output().is_json() {
        crate::output::object(
            ctx,
            vec![
                ("path", "Path", json!(written)),
                ("bytes", "Bytes", json!(size)),
                ("sha256", "SHA-256", json!(sha)),
                ("recipients", "Recipients", json!(recipients.lines)),
                ("user_id", "User id", json!(summary.user.user_id)),
                ("server_id", "Server id", json!(summary.server_id)),
                (
                    "counts",
                    "Counts",
                    json!({
                        "groups": summary.groups.0,
                        "messages": summary.messages.0,
                        "devices": summary.devices.0,
                        "audit_events": summary.audit_events.0,
                    }),
                ),
            ],
        )
    } else {
        ctx.info(format!(
            "Wrote {written} ({size} bytes, SHA-256 {sha}): user {}, {}, {}, {}, encrypted to {}.",
            summary.user.user_id,
            plural(summary.groups.0, "group"),
            plural(summary.messages.0, "message"),
            plural(summary.audit_events.0, "audit event"),
            plural(recipients.lines.len(), "recipient")
        ))
    }
}
