//! `imadm compliance check`: gather facts from the server (and `--backup-dir`s), judge
//! them with [`crate::compliance::evaluate`], print text / JSON / JUnit, exit 9 on failure.
//!
//! Authentication and connection failures abort (exit 4 / 3): they say nothing about the
//! server's compliance. Any other failure to gather a fact (a 403 for a token without
//! `security:read`, say) becomes an `error` result for the controls that needed it.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use imadm_api::ServerInfo;
use imadm_api::access::Attestation;
use imadm_api::admin::{Operator, Page, Role, ServiceToken};
use imadm_api::audit::{self, Alert, AuditEvent, Checkpoint, GENESIS};
use imadm_server::fsutil::write_atomic;
use serde_json::json;

use crate::audit::pin::ServerKey;
use crate::audit::verify;
use crate::client::Auth;
use crate::cmdutil::s3;
use crate::commands::audit::checkpoint::Guard;
use crate::compliance::{self, AlertFact, AuditFacts, BackupFacts, Fact, Facts, Policy, Status};
use crate::context::Context;
use crate::error::{CliError, Kind, Result};
use crate::output::OutputFormat;
use crate::session::{Conn, connect};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Junit,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Controls (id: what is checked; policy knob and default):
  operator-mfa          every active operator has MFA enrolled (TOTP or a passkey)
  operator-phishing-resistant-mfa
                        active operators holding a role listed in
                        phishing_resistant_mfa_roles ([] : off) have a passkey
  operator-inactive     no active operator inactive longer than operator_inactive_days (90)
  owner-count           owners_min (2) <= active owners <= owners_max (3)
  role-all-permissions  no custom role holds every permission
  token-expiry          live service tokens expire within token_max_lifetime_days (90)
  token-unused          no live token unused for token_unused_days (30)
  access-review-fresh   a signed access review attestation (`imadm access review
                        --attest`) younger than access_review_max_age_days (90)
  audit-chain           the audit chain verifies up to the latest signed checkpoint and
                        extends the checkpoint pinned in the profile
  audit-server-key      the server's audit key matches the key pinned in the profile
  backup-fresh          newest backup younger than backup_max_age_hours (26)
  backup-manifest       newest backup matches its manifest (size, SHA-256)
  backup-destinations   newest backup in >= backup_min_destinations (2) --backup-dir's
  alert-open-high       no high alert unacknowledged longer than alert_max_open_hours (24)
  tls-expiry            TLS certificate valid for more than tls_min_valid_days (30)

Policy file (TOML):
  [thresholds]
  owners_max = 4
  [disabled]
  tls-expiry = \"TLS ends at the load balancer, monitored by OPS-12\"

Exit status: 0 when every control passes or is skipped, 9 when any fails or cannot be
evaluated.

Examples:
  $ imadm compliance check
  $ imadm compliance check --policy policy.toml --backup-dir /srv/backup --format junit > compliance.xml
  $ imadm compliance check -o json --out result.json --sign-key ~/.ssh/id_ed25519
  $ ssh-keygen -Y verify -f allowed_signers -I ci@example.com -n imadm-audit -s result.json.sig < result.json")]
pub struct CheckArgs {
    /// Policy file (TOML) with thresholds and disabled controls
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Directory or s3://BUCKET/PREFIX holding backup archives and manifests (repeat for each destination)
    #[arg(long = "backup-dir", value_name = "DIR")]
    pub backup_dirs: Vec<PathBuf>,
    /// Result format [default: text, or json with -o json]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the result to FILE (atomically) instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Sign the result file (--out) with this OpenSSH Ed25519 key: FILE.sig, an SSHSIG in
    /// namespace imadm-audit, so the check itself is evidence [default: config sign_key]
    #[arg(long, value_name = "KEY", requires = "out")]
    pub sign_key: Option<PathBuf>,
}

pub fn run(ctx: &mut Context, args: CheckArgs) -> Result<()> {
    let policy = match &args.policy {
        Some(p) => Policy::load(p)?,
        None => Policy::default(),
    };
    let format = args.format.unwrap_or(match ctx.output() {
        OutputFormat::Json | OutputFormat::Jsonl => Format::Json,
        _ => Format::Text,
    });
    // Load the signing key first: a wrong passphrase should not cost a whole check.
    let sign_key = match &args.out {
        Some(_) => crate::cmdutil::sign_key(ctx, args.sign_key.as_deref())?,
        None => None,
    };
    let conn = connect(ctx)?;
    let facts = gather(ctx, &conn, &args)?;
    if let Ok(a) = &facts.audit {
        let pinned = ctx.profile().audit_key;
        let same = pinned
            .as_deref()
            .and_then(|p| ServerKey::parse(p).ok())
            .is_some_and(|k| k.openssh == a.server_key);
        if pinned.is_none() {
            pin_first_use(ctx, &a.server_key, "pinned")?;
        } else if !same && a.pinned_key.as_deref() == Some(a.server_key.as_str()) {
            pin_first_use(
                ctx,
                &a.server_key,
                "the server rotated its audit key: followed its hand-off signed by the pinned key; pinned",
            )?;
        }
    }
    let now = ctx.now() + clock_shift();
    let results = compliance::evaluate(&policy, &facts, now);
    let server = conn.client.server();
    let checked_at = crate::output::rfc3339(now);
    let rendered = match format {
        Format::Junit => compliance::junit::render(&results, &server, &checked_at),
        Format::Json => {
            let count = |s: Status| results.iter().filter(|r| r.status == s).count();
            let v = json!({
                "schema_version": crate::output::SCHEMA_VERSION,
                "server": server,
                "checked_at": checked_at,
                "passed": !compliance::failed(&results),
                "summary": {
                    "pass": count(Status::Pass),
                    "fail": count(Status::Fail),
                    "error": count(Status::Error),
                    "skipped": count(Status::Skipped),
                },
                "policy": policy,
                "controls": results,
            });
            let mut s = serde_json::to_string_pretty(&v).map_err(std::io::Error::from)?;
            s.push('\n');
            s
        }
        Format::Text => text(&results, &server, &checked_at),
    };
    use std::io::Write;
    match &args.out {
        Some(path) => {
            write_atomic(path, rendered.as_bytes(), 0o600)
                .map_err(|e| CliError::write_failed(path, e))?;
            let mut note = format!("wrote {}", path.display());
            if let Some(key) = &sign_key {
                use sha2::Digest;
                let digest: [u8; 64] = sha2::Sha512::digest(rendered.as_bytes()).into();
                let sig_path = key.sign_file(path, &digest)?;
                note.push_str(&format!(" and its signature {}", sig_path.display()));
            }
            ctx.info(note)?;
        }
        None => {
            ctx.io.out.write_all(rendered.as_bytes())?;
            ctx.io.out.flush()?;
        }
    }
    let bad: Vec<&str> = results
        .iter()
        .filter(|r| matches!(r.status, Status::Fail | Status::Error))
        .map(|r| r.id)
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    Err(CliError::new(
        Kind::Violations,
        format!("compliance check failed: {}", bad.join(", ")),
    )
    .hint("the evidence above names each violation; a policy file (--policy) can change thresholds or turn a control off with a recorded reason"))
}

/// Debug builds only (the end-to-end tests): `IMADM_TEST_CLOCK_SHIFT_DAYS` moves the
/// clock the controls are judged with, so a test can ask how the facts of today will be
/// judged in N days. Release builds ignore it: a gate whose clock can be set is no gate.
fn clock_shift() -> i64 {
    if !cfg!(debug_assertions) {
        return 0;
    }
    std::env::var("IMADM_TEST_CLOCK_SHIFT_DAYS")
        .ok()
        .and_then(|d| d.parse::<i64>().ok())
        .map_or(0, |d| d * 86_400)
}

/// The people's form. Reasons and evidence quote the server (usernames, error messages),
/// so they pass through `output::visible`.
fn text(results: &[compliance::ControlResult], server: &str, at: &str) -> String {
    use crate::output::visible;
    let mut s = format!("Compliance check of {} at {at}\n\n", visible(server));
    let width = results.iter().map(|r| r.id.len()).max().unwrap_or(0);
    for r in results {
        s.push_str(&format!(
            "{:<5}  {:<width$}  {}\n",
            r.status.label(),
            r.id,
            r.title
        ));
        let indent = " ".repeat(width + 9);
        if let Some(reason) = &r.reason {
            s.push_str(&format!("{indent}{}\n", visible(reason)));
        }
        for e in &r.evidence {
            s.push_str(&format!("{indent}{}\n", visible(e)));
        }
    }
    let count = |st: Status| results.iter().filter(|r| r.status == st).count();
    s.push_str(&format!(
        "\n{}: {} passed, {} failed, {} could not be evaluated, {} skipped\n",
        crate::output::plural(results.len(), "control"),
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Error),
        count(Status::Skipped)
    ));
    s
}

/// Turn a gathering failure into a fact error, unless it means we cannot talk to the
/// server as anyone at all (then the whole check is meaningless: abort).
fn soft<T>(r: Result<T>) -> Result<Fact<T>> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(e) if matches!(e.kind, Kind::Auth | Kind::Unavailable) => Err(e),
        Err(e) => Ok(Err(e.message)),
    }
}

/// Trust on first use, as `audit export` does: the key seen now is pinned in the profile
/// (and the control passes on that evidence); later checks compare against it. Also the
/// new key of a hand-off the pinned key signed (`said` tells which).
fn pin_first_use(ctx: &mut Context, served: &str, said: &str) -> Result<()> {
    let mut p = ctx.profile();
    p.audit_key = Some(served.to_owned());
    ctx.config.profiles.insert(ctx.profile_name.clone(), p);
    ctx.config.save(&ctx.config_dir)?;
    ctx.info(format!(
        "{said} the server's audit key {served} in profile {:?}",
        ctx.profile_name
    ))
}

/// Verify the whole audit chain from genesis up to a checkpoint signed now, page by page
/// (bounded memory), with the server's published key; compare that key with the pin. The
/// chain must pass the checkpoint this profile pinned (else `chain_error` is the fork),
/// and the newly verified checkpoint becomes the pin.
fn audit_facts(ctx: &Context, conn: &Conn) -> Result<AuditFacts> {
    let info: ServerInfo = conn.client.get("/admin/server-info", &Auth::NONE)?;
    let served = info
        .audit_public_key
        .as_deref()
        .ok_or_else(|| CliError::unexpected("the server publishes no audit key"))?;
    let key = ServerKey::parse(served)?;
    let pinned = ctx.profile().audit_key.clone();
    let mut facts = AuditFacts {
        chain_error: None,
        checkpoint_seq: 0,
        events_checked: 0,
        server_key: key.openssh.clone(),
        // The first use pins this key (see `pin_first_use`): it then matches by definition.
        // A pinned key that hands off (signed) to the served one counts as the served one.
        pinned_key: Some(match &pinned {
            Some(p) => match crate::audit::pin::check(
                Some(p),
                &key,
                &crate::commands::audit::checkpoint::handoffs_if_changed(ctx, conn, Some(p), &key)?,
                &info.server_id,
                &ctx.profile_name,
            ) {
                Ok(_) => key.openssh.clone(),
                Err(_) => ServerKey::parse(p)
                    .map(|k| k.openssh)
                    .unwrap_or_else(|_| p.clone()),
            },
            None => key.openssh.clone(),
        }),
    };
    let cp: Checkpoint = conn.call(ctx, |c, t| {
        c.get("/admin/audit/checkpoint", &Auth::token(t))
    })?;
    facts.checkpoint_seq = cp.seq;
    if let Err(e) = verify::checkpoint(&cp, &key, &info.server_id, "latest") {
        facts.chain_error = Some(e.message);
        return Ok(facts);
    }
    // The checkpoint this profile pinned must be in the chain: checked during the pass.
    let guard = match Guard::load(ctx, conn, &info, &key, "compliance check") {
        Ok(g) => g,
        Err(e) => {
            facts.chain_error = Some(e.message);
            return Ok(facts);
        }
    };
    let mut chain = verify::Chain::new(1, GENESIS);
    chain.watch(guard.seq());
    let mut after = 0u64;
    while after < cp.seq {
        let path = format!(
            "/admin/audit/events?after={after}&to={}&limit=10000",
            cp.seq
        );
        let page: Page<AuditEvent> = conn.call(ctx, |c, t| c.get(&path, &Auth::token(t)))?;
        if page.items.is_empty() {
            break;
        }
        for e in &page.items {
            if let Err(err) = chain.push(e) {
                facts.chain_error = Some(err.message);
                facts.events_checked = chain.count;
                return Ok(facts);
            }
        }
        after = chain.next_seq - 1;
    }
    facts.events_checked = chain.count;
    if chain.count != cp.seq {
        facts.chain_error = Some(format!(
            "the server returned {} events but its checkpoint is at seq {}: events missing",
            chain.count, cp.seq
        ));
    } else if audit::parse_hash(&cp.head) != Some(chain.head) {
        facts.chain_error = Some(format!(
            "the chain computed over events 1..={} does not end at the signed head {}",
            cp.seq, cp.head
        ));
    } else if let Err(e) = guard
        .check_pass(ctx, chain.watched, &cp)
        .and_then(|()| guard.advance_quietly(ctx, &cp))
    {
        facts.chain_error = Some(match guard.evidence() {
            Some(p) => format!(
                "{}; both signed checkpoints saved in {}",
                e.message,
                p.display()
            ),
            None => e.message,
        });
    }
    Ok(facts)
}

/// Every alert the server holds, paged by id; open means neither acknowledged nor resolved.
fn alert_facts(ctx: &Context, conn: &Conn) -> Result<Vec<AlertFact>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            None => "/admin/alerts?limit=1000".to_owned(),
            Some(a) => format!("/admin/alerts?limit=1000&after={a}"),
        };
        let page: Page<Alert> = conn.call(ctx, |c, t| c.get(&path, &Auth::token(t)))?;
        for a in page.items {
            let at =
                time::OffsetDateTime::parse(&a.at, &time::format_description::well_known::Rfc3339)
                    .map(|t| t.unix_timestamp())
                    .map_err(|e| {
                        CliError::unexpected(format!("alert {} has a bad time: {e}", a.id))
                    })?;
            out.push(AlertFact {
                id: a.id,
                severity: a.severity,
                rule: a.rule,
                at,
                open: a.state == imadm_api::audit::ALERT_OPEN,
            });
        }
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => return Ok(out),
        }
    }
}

/// The newest archive of this server (by the manifests' `created_at`) across the
/// `--backup-dir`s, whether it matches its manifest, and where identical copies are.
fn backup_facts(conn: &Conn, dirs: &[PathBuf], settings: &s3::Settings) -> Result<BackupFacts> {
    use crate::cmdutil::archive::{Archive, Manifest, check_archive, manifests_in};
    let info: ServerInfo = conn.client.get("/admin/server-info", &Auth::NONE)?;
    // (dir, archive, manifest) of every manifest of this server.
    let mut found: Vec<(String, Archive, Manifest)> = Vec::new();
    for dir in dirs {
        for (archive, bytes) in manifests_in(dir, settings)? {
            let Ok(m) = serde_json::from_slice::<Manifest>(&bytes) else {
                continue;
            };
            if m.server_id == info.server_id {
                found.push((dir.display().to_string(), archive, m));
            }
        }
    }
    let Some((_, newest_archive, newest)) = found
        .iter()
        .max_by_key(|(_, a, m)| (m.created_at, a.name()))
        .cloned()
    else {
        return Ok(BackupFacts {
            newest: None,
            manifest_error: None,
            destinations: Vec::new(),
        });
    };
    let name = newest_archive.name();
    // Every copy of the newest archive is read and checked: a copy that does not match
    // its manifest is no copy.
    let mut errors = Vec::new();
    let mut destinations: Vec<String> = Vec::new();
    for (dir, archive, m) in &found {
        if m.sha256 != newest.sha256 {
            continue;
        }
        match check_archive(archive, m) {
            Ok(()) => destinations.push(dir.clone()),
            Err(e) => errors.push(e.message),
        }
    }
    destinations.dedup();
    let manifest_error = (!errors.is_empty()).then(|| errors.join("; "));
    Ok(BackupFacts {
        newest: Some((name, newest.created_at)),
        manifest_error,
        destinations,
    })
}

fn gather(ctx: &Context, conn: &Conn, args: &CheckArgs) -> Result<Facts> {
    let operators = soft(operators(ctx, conn))?;
    let roles = soft(conn.call(ctx, |c, t| {
        c.get::<Vec<Role>>("/admin/roles", &Auth::token(t))
    }))?;
    let tokens = soft(conn.call(ctx, |c, t| {
        c.get::<Vec<ServiceToken>>("/admin/tokens", &Auth::token(t))
    }))?;
    let attestations = soft(conn.call(ctx, |c, t| {
        c.get::<Vec<Attestation>>("/admin/access/attestations", &Auth::token(t))
    }))?;
    let tls_not_after = soft(conn.client.certificate_not_after())?.transpose();
    let backups = if args.backup_dirs.is_empty() {
        None
    } else {
        Some(soft(backup_facts(
            conn,
            &args.backup_dirs,
            &s3::Settings::of(&ctx.profile()),
        ))?)
    };
    Ok(Facts {
        operators,
        roles,
        tokens,
        attestations,
        audit: soft(audit_facts(ctx, conn))?,
        alerts: soft(alert_facts(ctx, conn))?,
        backups,
        tls_not_after,
    })
}

fn operators(ctx: &Context, conn: &Conn) -> Result<Vec<Operator>> {
    // The control needs every operator at once; operators are a few hundred at most
    // (console staff, not IM users), so collecting them is bounded in practice.
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            None => "/admin/operators?limit=500".to_owned(),
            Some(a) => format!("/admin/operators?limit=500&after={a}"),
        };
        let page: Page<Operator> = conn.call(ctx, |c, t| c.get(&path, &Auth::token(t)))?;
        all.extend(page.items);
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => return Ok(all),
        }
    }
}
