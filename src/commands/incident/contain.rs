//! `imadm incident contain`: end sessions, revoke service tokens, disable operators (one
//! step-up request, `POST /admin/incidents/{id}/contain`, through the server's
//! who-may-act-on-whom rules), and kick IM users or replace their passwords (the
//! Lanying-compatible `/user/kick` and `/user/change_password_admin`, one user per
//! request, in batches with progress on stderr). A dry run unless `--apply`.
//!
//! Replacement passwords are random, sent once and dropped: nobody is shown them and they
//! are written nowhere, so an attacker who knew the old one is out and the user gets a new
//! one through the usual support path (`imadm user reset-password`).

use std::path::{Path, PathBuf};

use clap::Args;
use imadm_api::im::PasswordDto;
use imadm_api::incident::{
    ContainAction, ContainRequest, ContainResult, IncidentEvent, IncidentRecord, RecordKind,
};
use rand::Rng;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::super::StepUpArgs;
use crate::client::Auth;
use crate::cmdutil::call_as;
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::output::ListWriter;
use crate::session::{Conn, connect};

const COLUMNS: &[&str] = &["action", "principal", "outcome", "note"];
/// IM users per batch between two progress lines.
const BATCH: usize = 100;
const PASSWORD_LEN: usize = 24;

#[derive(Debug, Args)]
#[command(after_help = "\
A dry run unless --apply: it prints exactly what would be done, as the server decides
it: an operator or token holding a permission you lack is skipped, and the line says why.
With --apply each switch is confirmed (--yes for scripts) and the server part needs
step-up MFA (one code). You keep the session running this command unless --including-me.
Everything done is recorded on the incident's timeline and in the audit log
(incident.contain; user.kick and user.password_reset per IM user).

FILE for --kick-users and --reset-user-passwords: a CSV whose first column is the user id
(a first line starting with `user_id` is a header), e.g. what `incident scope --out` wrote.
Replacement passwords are random and never shown or stored: users get a new one through
`imadm user reset-password`.

Output fields (json/jsonl objects, csv/tsv columns), stable: action, principal, outcome
(would, done, skipped), note.

Examples:
  $ imadm incident contain --incident 3 --revoke-tokens all --revoke-sessions all
  $ imadm incident contain --incident 3 --revoke-tokens all --revoke-sessions all --apply
  $ imadm incident contain --incident 3 --kick-users affected.csv --apply --yes")]
pub struct ContainArgs {
    /// The incident this containment belongs to
    #[arg(long, value_name = "ID")]
    pub incident: u64,
    /// End the sessions of every operator (`all`) or of these operators
    #[arg(long, value_name = "all|OP", num_args = 1..)]
    pub revoke_sessions: Vec<String>,
    /// Revoke every live service token (`all`) or these, by id
    #[arg(long, value_name = "all|ID", num_args = 1..)]
    pub revoke_tokens: Vec<String>,
    /// Disable these operators (their sessions end too)
    #[arg(long, value_name = "OP", num_args = 1..)]
    pub disable_operators: Vec<String>,
    /// Log the IM users listed in FILE out of every device
    #[arg(long, value_name = "FILE")]
    pub kick_users: Option<PathBuf>,
    /// Replace the passwords of the IM users listed in FILE with random ones
    #[arg(long, value_name = "FILE")]
    pub reset_user_passwords: Option<PathBuf>,
    /// End your own session too (by default the session running this command is kept)
    #[arg(long)]
    pub including_me: bool,
    /// Act (default: a dry run)
    #[arg(long)]
    pub apply: bool,
    #[command(flatten)]
    pub step_up: StepUpArgs,
}

/// `all`, or the values as given.
fn selection(values: &[String]) -> (bool, Vec<String>) {
    let all = values.iter().any(|v| v == "all");
    (all, if all { Vec::new() } else { values.to_vec() })
}

/// The user ids of a users file: the first column of each line, a `user_id` header skipped.
pub fn read_user_ids(path: &Path) -> Result<Vec<i64>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::usage(format!("cannot read {}: {e}", path.display()))
            .hint("pass the CSV `imadm incident scope --out` wrote")
    })?;
    let mut ids = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let first = line.split(',').next().unwrap_or("").trim();
        if first.is_empty() || (i == 0 && first == "user_id") {
            continue;
        }
        let id = first.parse::<i64>().map_err(|_| {
            CliError::usage(format!(
                "{} line {}: {:?} is not a user id",
                path.display(),
                i + 1,
                crate::output::visible(first)
            ))
            .hint("the first column must be the user id (user_id,name,exposure)")
        })?;
        ids.push(id);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

fn action_json(a: &ContainAction) -> Value {
    json!({"action": a.action, "principal": a.principal, "outcome": a.outcome, "note": a.note})
}

pub fn run(ctx: &mut Context, args: ContainArgs) -> Result<()> {
    let (sessions_all, sessions) = selection(&args.revoke_sessions);
    let (tokens_all, token_args) = selection(&args.revoke_tokens);
    let tokens = token_args
        .iter()
        .map(|t| {
            t.parse::<i64>().map_err(|_| {
                CliError::usage(format!(
                    "--revoke-tokens {t:?} is neither `all` nor a token id"
                ))
                .hint("see `imadm token list`")
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let kick = args.kick_users.as_deref().map(read_user_ids).transpose()?;
    let reset = args
        .reset_user_passwords
        .as_deref()
        .map(read_user_ids)
        .transpose()?;
    let mut req = ContainRequest {
        sessions_all,
        sessions,
        tokens_all,
        tokens,
        disable_operators: args.disable_operators.clone(),
        keep_session: !args.including_me,
        dry_run: true,
    };
    let conn = connect(ctx)?;
    let path = format!("/admin/incidents/{}/contain", args.incident);
    let plan: ContainResult = conn.call(ctx, |c, t| c.post(&path, &req, &Auth::token(t), false))?;
    let mut lines: Vec<ContainAction> = plan.actions;
    let im_line = |action: &str, ids: &[i64], file: &Path, note: Option<String>| ContainAction {
        action: action.to_owned(),
        principal: format!(
            "{} listed in {}",
            crate::output::plural(ids.len(), "IM user"),
            file.display()
        ),
        outcome: "would".into(),
        note,
    };
    if let (Some(ids), Some(f)) = (&kick, &args.kick_users) {
        lines.push(im_line("kick_users", ids, f, None));
    }
    if let (Some(ids), Some(f)) = (&reset, &args.reset_user_passwords) {
        lines.push(im_line(
            "reset_user_passwords",
            ids,
            f,
            Some("random passwords, never shown or stored".into()),
        ));
    }
    if !args.apply {
        print(ctx, &lines)?;
        return ctx.info("Dry run: nothing was changed. Add --apply to act.");
    }

    // One confirmation per switch.
    if sessions_all || !req.sessions.is_empty() {
        let whose = if sessions_all {
            "every operator".to_owned()
        } else {
            req.sessions.join(", ")
        };
        let mine = if args.including_me {
            "including the one running this command"
        } else {
            "except the one running this command"
        };
        ctx.confirm(&format!("End the sessions of {whose} ({mine})?"))?;
    }
    if tokens_all || !req.tokens.is_empty() {
        ctx.confirm(&format!(
            "Revoke {}?",
            if tokens_all {
                "every live service token".to_owned()
            } else {
                format!("service tokens {}", token_args.join(", "))
            }
        ))?;
    }
    if !req.disable_operators.is_empty() {
        ctx.confirm(&format!(
            "Disable operators {}?",
            req.disable_operators.join(", ")
        ))?;
    }
    if let Some(ids) = &kick {
        ctx.confirm(&format!(
            "Kick {} off every device?",
            crate::output::plural(ids.len(), "IM user")
        ))?;
    }
    if let Some(ids) = &reset {
        ctx.confirm(&format!(
            "Replace the passwords of {} with random ones nobody is shown?",
            crate::output::plural(ids.len(), "IM user")
        ))?;
    }

    // IM users first: ending this command's own session (--including-me) comes last.
    let mut im_done = serde_json::Map::new();
    for (action, ids, counts_key) in [
        ("kick_users", &kick, "kicked"),
        ("reset_user_passwords", &reset, "passwords_reset"),
    ] {
        let Some(ids) = ids else { continue };
        let failed = for_each_user(ctx, &conn, action, ids)?;
        im_done.insert(counts_key.into(), json!(ids.len() - failed.len()));
        im_done.insert(format!("{counts_key}_failed"), json!(failed.len()));
        if let Some(l) = lines.iter_mut().find(|l| l.action == action) {
            l.outcome = "done".into();
            if !failed.is_empty() {
                let first: Vec<String> = failed.iter().take(5).map(|id| id.to_string()).collect();
                l.note = Some(format!(
                    "{} failed (e.g. {})",
                    crate::output::plural(failed.len(), "user"),
                    first.join(", ")
                ));
            }
        }
    }
    if !im_done.is_empty() {
        let body = IncidentRecord {
            kind: RecordKind::Contain,
            detail: im_done,
        };
        let path = format!("/admin/incidents/{}/events", args.incident);
        let _: IncidentEvent =
            conn.call(ctx, |c, t| c.post(&path, &body, &Auth::token(t), false))?;
    }

    req.dry_run = false;
    let done: ContainResult = conn.step_up(ctx, args.step_up.approve(), |c, auth| {
        c.post(&path, &req, auth, false)
    })?;
    let im_lines: Vec<ContainAction> = lines
        .into_iter()
        .filter(|l| l.action == "kick_users" || l.action == "reset_user_passwords")
        .collect();
    let mut all = done.actions;
    all.extend(im_lines);
    print(ctx, &all)?;
    if args.including_me && (sessions_all || !req.sessions.is_empty()) {
        ctx.info("Your own session ended too: log in again with `imadm auth login`.")?;
    }
    Ok(())
}

/// Kick, or replace the password of, each user; progress on stderr per batch. The ids
/// that failed (e.g. no such user).
fn for_each_user(ctx: &mut Context, conn: &Conn, action: &str, ids: &[i64]) -> Result<Vec<i64>> {
    let mut failed = Vec::new();
    for (n, batch) in ids.chunks(BATCH).enumerate() {
        for &id in batch {
            let r: Result<bool> = if action == "kick_users" {
                call_as::<(), _>(
                    ctx,
                    conn,
                    reqwest::Method::POST,
                    "/user/kick",
                    id,
                    None,
                    None,
                )
            } else {
                let password: Zeroizing<String> = Zeroizing::new(
                    rand::rng()
                        .sample_iter(&rand::distr::Alphanumeric)
                        .take(PASSWORD_LEN)
                        .map(char::from)
                        .collect(),
                );
                let body = PasswordDto {
                    password: password.to_string(),
                };
                let r = call_as(
                    ctx,
                    conn,
                    reqwest::Method::POST,
                    "/user/change_password_admin",
                    id,
                    Some(&body),
                    None,
                );
                drop(Zeroizing::new(body.password));
                r
            };
            if r.is_err() {
                failed.push(id);
            }
        }
        let done = (n * BATCH + batch.len()).min(ids.len());
        ctx.info(format!("{action}: {done}/{}", ids.len()))?;
    }
    Ok(failed)
}

fn print(ctx: &mut Context, lines: &[ContainAction]) -> Result<()> {
    let items: Vec<Value> = lines.iter().map(action_json).collect();
    let mut w = ListWriter::new(ctx, COLUMNS)?;
    w.page(ctx, &items)?;
    w.finish(ctx)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_file_gives_its_first_column_sorted_without_repeats_or_header() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("affected.csv");
        std::fs::write(
            &f,
            "user_id,name,exposure\n12,bo,message.read\n3,\"a, b\",user.export\n\n12,bo,x\n",
        )
        .unwrap();
        assert_eq!(read_user_ids(&f).unwrap(), vec![3, 12]);
        std::fs::write(&f, "3\nalice\n").unwrap();
        let e = read_user_ids(&f).unwrap_err();
        assert!(e.message.contains("line 2"), "{}", e.message);
        assert_eq!(
            selection(&["alice".into(), "all".into()]),
            (true, Vec::<String>::new())
        );
    }
}
