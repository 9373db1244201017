//! `imadm role apply -f roles.toml [--dry-run] [--prune]`: declarative custom roles.
//!
//! The server computes the diff (so the CLI and server can never disagree on it); we
//! show it, ask for confirmation, then send the same file again to apply it atomically
//! with step-up MFA. The file:
//!
//! ```toml
//! [roles.support-lead]
//! description = "first-line support"
//! permissions = ["user:read", "message:read"]
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use imadm_api::admin::{RoleCreate, RolesApply, RolesDiff};
use serde::Deserialize;
use serde_json::json;

use crate::client::Auth;
use crate::commands::StepUpArgs;
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::output::OutputFormat;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  $ imadm role apply -f roles.toml --dry-run     # show the diff only
  $ imadm role apply -f roles.toml               # show, confirm, apply atomically
  $ imadm role apply -f roles.toml --prune --yes --otp 123456   # also delete unlisted custom roles

File format (TOML):
  [roles.support-lead]
  description = \"first-line support\"
  permissions = [\"user:read\", \"message:read\"]")]
pub struct ApplyArgs {
    /// The roles file (TOML)
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: PathBuf,
    /// Show what would change; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Delete custom roles that the file does not list
    #[arg(long)]
    pub prune: bool,
    #[command(flatten)]
    pub step_up: StepUpArgs,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesFile {
    #[serde(default)]
    roles: BTreeMap<String, RoleSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleSpec {
    #[serde(default)]
    description: String,
    permissions: Vec<String>,
}

fn read_file(path: &PathBuf) -> Result<Vec<RoleCreate>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
    let parsed: RolesFile = toml::from_str(&text).map_err(|e| {
        CliError::usage(format!("{} is not a valid roles file: {e}", path.display()))
            .hint("see `imadm role apply --help` for the format")
    })?;
    Ok(parsed
        .roles
        .into_iter()
        .map(|(name, spec)| RoleCreate {
            name,
            description: spec.description,
            permissions: spec.permissions,
        })
        .collect())
}

pub fn run(ctx: &mut Context, args: ApplyArgs) -> Result<()> {
    let roles = read_file(&args.file)?;
    let conn = connect(ctx)?;
    let mut body = RolesApply {
        roles,
        prune: args.prune,
        dry_run: true,
    };
    let plan: RolesDiff = conn.call(ctx, |c, t| {
        c.post("/admin/roles/apply", &body, &Auth::token(t), true)
    })?;
    let pending = plan.changes.iter().any(|c| c.action != "unchanged");
    if args.dry_run || !pending {
        print_diff(ctx, &plan)?;
        if !pending {
            ctx.info("No changes.")?;
        }
        return Ok(());
    }
    if ctx.output() == OutputFormat::Table {
        print_diff(ctx, &plan)?;
    }
    ctx.confirm("Apply these role changes?")?;
    body.dry_run = false;
    let done: RolesDiff = conn.step_up(ctx, args.step_up.approve(), |c, auth| {
        c.post("/admin/roles/apply", &body, auth, false)
    })?;
    if ctx.output() == OutputFormat::Table {
        ctx.info("Applied.")
    } else {
        print_diff(ctx, &done)
    }
}

fn print_diff(ctx: &mut Context, diff: &RolesDiff) -> Result<()> {
    if ctx.output() != OutputFormat::Table {
        return crate::output::object(
            ctx,
            vec![
                ("applied", "Applied", json!(diff.applied)),
                (
                    "changes",
                    "Changes",
                    serde_json::to_value(&diff.changes).expect("serialisable"),
                ),
            ],
        );
    }
    let out = &mut ctx.io.out;
    for c in &diff.changes {
        let (mark, detail) = match c.action.as_str() {
            "create" => ("+", format!("create: {}", c.added.join(", "))),
            "delete" => ("-", "delete".to_owned()),
            "update" => {
                let mut parts: Vec<String> = c.added.iter().map(|p| format!("+{p}")).collect();
                parts.extend(c.removed.iter().map(|p| format!("-{p}")));
                if c.description.is_some() {
                    parts.push("description changed".into());
                }
                ("~", format!("update: {}", parts.join(" ")))
            }
            _ => ("=", "unchanged".to_owned()),
        };
        writeln!(
            out,
            "{mark} {} ({})",
            crate::output::visible(&c.role),
            crate::output::visible(&detail)
        )?;
    }
    Ok(())
}
