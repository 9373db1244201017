//! `imadm access review`: who can do what, for a periodic access review.
//!
//! Without `--out` it prints one row per operator and service token (server text through
//! `output::visible`, as every table); `-o json` prints the review document. `--out`
//! writes it (atomically) as HTML, Markdown or JSON, by extension. `--attest` signs the
//! JSON document (SSHSIG, namespace `imadm-audit`, `FILE.sig`) and records the attestation
//! (`POST /admin/access/attestations`: reviewer, SHA-256 of the document, the signature,
//! the counts); the compliance control `access-review-fresh` looks for it.
//!
//! `--decisions FILE` is the reviewer's edited copy of the JSON, `"decision": "keep"` or
//! `"revoke"` on each line; that file is what is attested. Its revocations (disable the
//! operator, revoke the token) are shown as a dry run; `--apply` makes them, each through
//! the ordinary endpoint, so the server's who-may-act-on-whom rules and step-up MFA apply
//! (one TOTP code per operator disabled: a code is spent once).

use std::path::PathBuf;

use clap::Args;
use imadm_api::access::{AccessReview, Attestation, AttestationCreate};
use imadm_api::admin::Operator;
use imadm_server::fsutil::write_atomic;
use serde_json::json;
use sha2::{Digest, Sha256, Sha512};

use crate::audit::sshsig::sig_path_for;
use crate::client::{Auth, path_segment};
use crate::cmdutil::sign_written;
use crate::commands::StepUpArgs;
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::output::{ListWriter, OutputFormat};
use crate::session::{Conn, connect};

#[derive(Debug, Args)]
#[command(after_help = "\
Flags: dormant (no login or use for --dormant-days, counted from creation when never),
never_used, owner, broader_than_peers (an operator holding, for some role of theirs, a
permission no other holder of that role has).

Examples:
  $ imadm access review
  $ imadm access review --dormant-days 30 --out review.html
  $ imadm access review --out review.json --attest --sign-key ~/.ssh/id_ed25519 --reviewer \"Ana Lima\"
  $ imadm access review --decisions edited.json --attest --sign-key ~/.ssh/id_ed25519 --reviewer \"Ana Lima\"
  $ imadm access review --decisions edited.json --attest --sign-key ~/.ssh/id_ed25519 --reviewer \"Ana Lima\" --apply
  $ ssh-keygen -Y verify -f allowed_signers -I ana@example.com -n imadm-audit -s review.json.sig < review.json")]
pub struct ReviewArgs {
    /// Days without a login or use after which a principal is flagged dormant
    #[arg(long, value_name = "N", default_value_t = imadm_api::access::DEFAULT_DORMANT_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub dormant_days: u32,
    /// Write the review to FILE (atomically): .html, .md or .json
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Sign the JSON review (--out FILE.json, or --decisions) and record the attestation
    #[arg(long, requires = "reviewer")]
    pub attest: bool,
    /// OpenSSH Ed25519 key to sign with (FILE.sig) [default: config sign_key]
    #[arg(long, value_name = "KEY", requires = "attest")]
    pub sign_key: Option<PathBuf>,
    /// Who reviewed, as recorded in the attestation
    #[arg(long, value_name = "NAME", requires = "attest")]
    pub reviewer: Option<String>,
    /// The reviewer's edited copy of the JSON review, "decision": "keep"|"revoke" per line
    #[arg(long, value_name = "FILE", conflicts_with_all = ["out", "dormant_days"])]
    pub decisions: Option<PathBuf>,
    /// Make the revocations of --decisions (without it: a dry run)
    #[arg(long, requires = "decisions")]
    pub apply: bool,
    #[command(flatten)]
    pub step_up: StepUpArgs,
}

const COLUMNS: &[&str] = &[
    "kind",
    "name",
    "roles",
    "permissions",
    "disabled",
    "mfa",
    "last_seen",
    "last_addr",
    "flags",
];

/// One revocation a decision asks for.
enum Action {
    DisableOperator(String),
    RevokeToken(i64, String),
}

pub fn run(ctx: &mut Context, args: ReviewArgs) -> Result<()> {
    if args.attest
        && args.decisions.is_none()
        && args
            .out
            .as_ref()
            .is_none_or(|p| p.extension().is_none_or(|e| e != "json"))
    {
        return Err(CliError::usage("--attest signs the JSON review")
            .hint("write it with --out review.json, or attest an edited copy with --decisions"));
    }
    // Load the signing key first: a wrong passphrase should not cost a review.
    let sign_key = if args.attest {
        Some(
            crate::cmdutil::sign_key(ctx, args.sign_key.as_deref())?.ok_or_else(|| {
                CliError::usage("--attest needs a signing key")
                    .hint("pass --sign-key KEY or set sign_key in the profile")
            })?,
        )
    } else {
        None
    };
    let conn = connect(ctx)?;
    let server = conn.client.server();

    // The document reviewed: fetched now, or the reviewer's decided copy.
    let (review, doc, file) = match &args.decisions {
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
            let review: AccessReview = serde_json::from_slice(&bytes).map_err(|e| {
                CliError::usage(format!("{} is not an access review: {e}", path.display()))
                    .hint("edit a copy of `imadm access review --out review.json`")
            })?;
            // Decisions about another server's principals must not be applied here.
            let info: imadm_api::ServerInfo = conn.client.get("/admin/server-info", &Auth::NONE)?;
            if review.server_id != info.server_id {
                return Err(CliError::usage(format!(
                    "{} reviews server {:?}, not this one ({:?})",
                    path.display(),
                    review.server_id,
                    info.server_id
                ))
                .hint("use a review of this server (`imadm access review --out review.json`), or select its profile"));
            }
            (review, bytes, Some(path.clone()))
        }
        None => {
            let path = format!("/admin/access/review?dormant_days={}", args.dormant_days);
            let review: AccessReview = conn.call(ctx, |c, t| c.get(&path, &Auth::token(t)))?;
            let doc = super::document(&review, &server).into_bytes();
            (review, doc, args.out.clone())
        }
    };
    let actions = decided(&review)?;

    if let (None, Some(out)) = (&args.decisions, &args.out) {
        let body = match out.extension().and_then(|e| e.to_str()) {
            Some("json") => doc.clone(),
            Some("html" | "htm") => super::html(&review, &server).into_bytes(),
            Some("md" | "markdown") => super::markdown(&review, &server).into_bytes(),
            _ => {
                return Err(CliError::usage(format!(
                    "cannot tell the review format from {}",
                    out.display()
                ))
                .hint("name the file .html, .md or .json"));
            }
        };
        write_atomic(out, &body, 0o600).map_err(|e| CliError::write_failed(out, e))?;
    }

    let Some(file) = file else {
        return print(ctx, &review, &doc);
    };
    let mut fields = Vec::new();
    if let Some(key) = &sign_key {
        let digest: [u8; 64] = Sha512::digest(&doc).into();
        fields = sign_written(Some(key), &file, &digest, None)?;
        let sig_path = sig_path_for(&file);
        let signature = std::fs::read_to_string(&sig_path).map_err(|e| {
            CliError::unexpected(format!("cannot read {}: {e}", sig_path.display()))
        })?;
        let keep = review
            .operators
            .iter()
            .map(|o| &o.decision)
            .chain(review.tokens.iter().map(|t| &t.decision))
            .filter(|d| d.as_deref() == Some("keep"))
            .count();
        let req = AttestationCreate {
            reviewer: args.reviewer.clone().unwrap_or_default(),
            review_sha256: hex::encode(Sha256::digest(&doc)),
            signature,
            operators: review.operators.len() as u32,
            tokens: review.tokens.len() as u32,
            keep: keep as u32,
            revoke: actions.len() as u32,
        };
        let a: Attestation = conn.call(ctx, |c, t| {
            c.post("/admin/access/attestations", &req, &Auth::token(t), false)
        })?;
        fields.extend([
            ("attestation", "Attestation", json!(a.id)),
            ("reviewer", "Reviewer", json!(a.reviewer)),
            ("review_sha256", "Review SHA-256", json!(a.review_sha256)),
        ]);
    } else {
        fields.push(("file", "File", json!(file.display().to_string())));
    }
    fields.extend([
        ("operators", "Operators", json!(review.operators.len())),
        ("tokens", "Tokens", json!(review.tokens.len())),
        (
            "flagged",
            "Flagged",
            json!(
                review
                    .operators
                    .iter()
                    .filter(|o| !o.flags.is_empty())
                    .count()
                    + review.tokens.iter().filter(|t| !t.flags.is_empty()).count()
            ),
        ),
    ]);
    if args.decisions.is_some() {
        apply(ctx, &conn, &actions, args.apply, args.step_up.approve())?;
        fields.push(("revocations", "Revocations", json!(actions.len())));
        fields.push(("applied", "Applied", json!(args.apply)));
    }
    crate::output::object(ctx, fields)
}

/// The revocations a decided review asks for; a decision other than keep or revoke is
/// a usage error (a typo must not silently keep access).
fn decided(r: &AccessReview) -> Result<Vec<Action>> {
    let check = |what: String, d: &Option<String>| -> Result<bool> {
        match d.as_deref() {
            None | Some("keep") => Ok(false),
            Some("revoke") => Ok(true),
            Some(other) => Err(CliError::usage(format!(
                "{what}: decision {other:?} is neither \"keep\" nor \"revoke\""
            ))
            .hint("set \"decision\" to \"keep\" or \"revoke\" (or leave it out: keep)")),
        }
    };
    let mut out = Vec::new();
    for o in &r.operators {
        if check(format!("operator {}", o.username), &o.decision)? {
            out.push(Action::DisableOperator(o.username.clone()));
        }
    }
    for t in &r.tokens {
        if check(format!("token {}", t.id), &t.decision)? {
            out.push(Action::RevokeToken(t.id, t.name.clone()));
        }
    }
    Ok(out)
}

/// Show the revocations (dry run), or make them one by one with `apply`; the first
/// refusal stops and is the error.
fn apply(
    ctx: &mut Context,
    conn: &Conn,
    actions: &[Action],
    apply: bool,
    otp: crate::session::Approve<'_>,
) -> Result<()> {
    use crate::output::visible;
    for a in actions {
        let line = match a {
            Action::DisableOperator(name) => format!("- operator {}: disable", visible(name)),
            Action::RevokeToken(id, name) => format!("- token {id} ({}): revoke", visible(name)),
        };
        ctx.info(if apply {
            line
        } else {
            format!("{line} (dry run)")
        })?;
    }
    if !apply {
        if !actions.is_empty() {
            ctx.info("Nothing changed: run again with --apply to make these revocations.")?;
        }
        return Ok(());
    }
    for a in actions {
        match a {
            Action::DisableOperator(name) => {
                let path = format!("/admin/operators/{}/disable", path_segment(name));
                let _: Operator =
                    conn.step_up(ctx, otp, |c, auth| c.post(&path, &(), auth, false))?;
            }
            Action::RevokeToken(id, _) => {
                let path = format!("/admin/tokens/{id}");
                let _: bool = conn.call(ctx, |c, t| c.delete(&path, &Auth::token(t)))?;
            }
        }
    }
    Ok(())
}

/// The review on stdout: the document for `-o json`, else one row per principal.
fn print(ctx: &mut Context, r: &AccessReview, doc: &[u8]) -> Result<()> {
    if ctx.output() == OutputFormat::Json {
        use std::io::Write;
        ctx.io.out.write_all(doc)?;
        return Ok(());
    }
    let mut rows = Vec::new();
    for o in &r.operators {
        rows.push(json!({
            "kind": "operator",
            "name": o.username,
            "roles": o.roles,
            "permissions": o.permissions.len(),
            "disabled": o.disabled,
            "mfa": if o.mfa.totp { "totp" } else { "none" },
            "last_seen": o.last_login_at.map(crate::output::rfc3339),
            "last_addr": o.last_login_addr,
            "flags": o.flags,
        }));
    }
    for t in &r.tokens {
        rows.push(json!({
            "kind": "token",
            "name": format!("{} (#{}, by {})", t.name, t.id, t.created_by),
            "roles": t.scopes,
            "permissions": t.permissions.len(),
            "disabled": false,
            "mfa": null,
            "last_seen": t.last_used_at.map(crate::output::rfc3339),
            "last_addr": t.last_used_addr,
            "flags": t.flags,
        }));
    }
    let mut w = ListWriter::new(ctx, COLUMNS)?;
    w.page(ctx, &rows)?;
    w.finish(ctx)?;
    Ok(())
}
