//! `imadm audit checkpoint`: the checkpoint this profile pinned for the server and the
//! one the server signs now; `--repin` pins the server's current one deliberately (after
//! a restore its administrator accepted as a fork), recorded in the evidence dir.
//!
//! Also the online side of the pin (`crate::audit::checkpoint`), shared by every command
//! that reads the chain: [`trusted_key`] (the server's audit key, pinned at first use),
//! and [`Guard`], which proves that the server's chain extends the pinned checkpoint and
//! advances the pin afterwards. A fork saves both signed checkpoints as evidence and
//! exits 8.

use std::cell::RefCell;
use std::path::PathBuf;

use clap::Args;
use imadm_api::ServerInfo;
use imadm_api::admin::Page;
use imadm_api::audit::{AuditEvent, Checkpoint, GENESIS, KeyHandoff};
use serde_json::{Value, json};

use crate::audit::checkpoint::{
    self as pins, Advance, AdvanceError, Fork, PinStore, Pinned, fork_error, save_evidence,
};
use crate::audit::pin::{self, Pin, ServerKey};
use crate::audit::verify;
use crate::client::Auth;
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::session::{Conn, connect};

#[derive(Debug, Args)]
#[command(after_help = "\
Every command that reads the audit chain (audit log, export, verify, report, compliance
check) checks that the server's chain extends the checkpoint pinned here, and advances the
pin once it verified a newer one. A rolled-back or forked log exits 8 and saves both signed
checkpoints in <config-dir>/evidence/. docs/audit-report.md says what each command checks.

Output fields (json/jsonl objects, csv/tsv columns), stable:
  server_id, status, pinned_seq, pinned_head, pinned_signed_at, pinned_at, pinned_audit_key,
  pinned_signature, server_seq, server_head, server_signed_at, server_audit_key,
  server_signature, record
status is `not pinned`, `at the pin`, `extends the pin`, `re-pinned`, or the fork found.

Examples:
  $ imadm audit checkpoint
  $ imadm audit checkpoint --repin --yes")]
pub struct CheckpointArgs {
    /// Pin the server's current checkpoint in place of the pinned one (asks unless --yes),
    /// after a restore its administrator accepted as a fork (--accept-fork)
    #[arg(long)]
    pub repin: bool,
}

pub fn run(ctx: &mut Context, args: CheckpointArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let (key, info) = trusted_key(ctx, &conn)?;
    let guard = Guard::load(ctx, &conn, &info, &key, "audit checkpoint")?;
    let current = guard.current(ctx, &conn)?;
    if args.repin {
        let was = match &guard.pinned {
            Some(p) => format!(" (pinned now: seq {})", p.seq()),
            None => String::new(),
        };
        ctx.confirm(&format!(
            "Pin the audit checkpoint of server {} at seq {}{was}?",
            info.server_id, current.seq
        ))?;
        let new = Pinned::new(current.clone(), &key, ctx.now());
        let old = guard.store.replace(&new)?;
        let record = save_evidence(
            &ctx.config_dir,
            &info.server_id,
            ctx.now(),
            Some("repin"),
            &json!({
                "schema_version": 1,
                "kind": "imadm-audit-repin",
                "at": crate::output::rfc3339(ctx.now()),
                "profile": ctx.profile_name,
                "server": conn.client.server(),
                "server_id": info.server_id,
                "previous": old,
                "pinned": new,
            }),
        )?;
        ctx.info(format!(
            "re-pinned the audit checkpoint at seq {} in profile {:?}; recorded in {}",
            current.seq,
            ctx.profile_name,
            record.display()
        ))?;
        return show(
            ctx,
            &info,
            Some(&new),
            &current,
            &key,
            "re-pinned",
            Some(record),
        );
    }
    let checked = match &guard.pinned {
        None => Ok("not pinned".to_owned()),
        Some(_) => guard.prove(ctx, &conn, &current).map(|ahead| {
            if ahead {
                "extends the pin".to_owned()
            } else {
                "at the pin".to_owned()
            }
        }),
    };
    let status = match &checked {
        Ok(s) => s.clone(),
        Err(e) => e.message.clone(),
    };
    show(
        ctx,
        &info,
        guard.pinned.as_ref(),
        &current,
        &key,
        &status,
        None,
    )?;
    checked.map(|_| ())
}

fn show(
    ctx: &mut Context,
    info: &ServerInfo,
    pinned: Option<&Pinned>,
    current: &Checkpoint,
    key: &ServerKey,
    status: &str,
    record: Option<PathBuf>,
) -> Result<()> {
    let p = |f: fn(&Pinned) -> Value| pinned.map(f).unwrap_or(Value::Null);
    crate::output::object(
        ctx,
        vec![
            ("server_id", "Server id", json!(info.server_id)),
            ("status", "Status", json!(status)),
            ("pinned_seq", "Pinned seq", p(|p| json!(p.checkpoint.seq))),
            (
                "pinned_head",
                "Pinned head",
                p(|p| json!(p.checkpoint.head)),
            ),
            (
                "pinned_signed_at",
                "Pinned signed at",
                p(|p| json!(p.checkpoint.at)),
            ),
            ("pinned_at", "Pinned at", p(|p| json!(p.pinned_at))),
            ("pinned_audit_key", "Pinned key", p(|p| json!(p.audit_key))),
            (
                "pinned_signature",
                "Pinned signature",
                p(|p| json!(p.checkpoint.signature)),
            ),
            ("server_seq", "Server seq", json!(current.seq)),
            ("server_head", "Server head", json!(current.head)),
            ("server_signed_at", "Server signed at", json!(current.at)),
            ("server_audit_key", "Server key", json!(key.openssh)),
            (
                "server_signature",
                "Server signature",
                json!(current.signature),
            ),
            (
                "record",
                "Record",
                json!(record.map(|r| r.display().to_string())),
            ),
        ],
    )
}

/// The server's audit key (`/admin/server-info`), pinned in the profile at first use
/// like SSH's known_hosts; a key other than the pinned one is exit 8.
pub fn trusted_key(ctx: &mut Context, conn: &Conn) -> Result<(ServerKey, ServerInfo)> {
    let info: ServerInfo = conn.client.get("/admin/server-info", &Auth::NONE)?;
    let served = info.audit_public_key.as_deref().ok_or_else(|| {
        CliError::usage(format!("{} publishes no audit key", conn.client.server()))
            .hint("the server is too old for a verifiable audit log; upgrade it")
    })?;
    let key = ServerKey::parse(served)?;
    let mut profile = ctx.profile();
    let handoffs = handoffs_if_changed(ctx, conn, profile.audit_key.as_deref(), &key)?;
    let said = match pin::check(
        profile.audit_key.as_deref(),
        &key,
        &handoffs,
        &info.server_id,
        &ctx.profile_name,
    )? {
        Pin::Same => return Ok((key, info)),
        Pin::First => format!(
            "pinned the server's audit key {} in profile {:?}",
            key.openssh, ctx.profile_name
        ),
        Pin::Followed(seqs) => format!(
            "the server rotated its audit key: followed {} signed by the pinned key (at seq {}); pinned the new key {} in profile {:?}",
            if seqs.len() == 1 {
                "the hand-off"
            } else {
                "the hand-offs"
            },
            seqs.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            key.openssh,
            ctx.profile_name
        ),
    };
    profile.audit_key = Some(served.trim().to_owned());
    ctx.config
        .profiles
        .insert(ctx.profile_name.clone(), profile);
    ctx.config.save(&ctx.config_dir)?;
    ctx.info(said)?;
    Ok((key, info))
}

/// The server's audit-key hand-offs (`GET /admin/keys/audit-handoffs`), fetched only when
/// a key is pinned and the server presents another one (nothing to follow otherwise).
pub fn handoffs_if_changed(
    ctx: &Context,
    conn: &Conn,
    pinned: Option<&str>,
    served: &ServerKey,
) -> Result<Vec<KeyHandoff>> {
    let changed = pinned
        .and_then(|p| ServerKey::parse(p).ok())
        .is_some_and(|p| p.key != served.key);
    if !changed {
        return Ok(Vec::new());
    }
    conn.call(ctx, |c, t| {
        c.get("/admin/keys/audit-handoffs", &Auth::token(t))
    })
}

/// The checkpoint this profile pinned for one server, and the checks against it.
pub struct Guard {
    store: PinStore,
    pub pinned: Option<Pinned>,
    key: ServerKey,
    server_id: String,
    server: String,
    command: &'static str,
    /// Where the evidence of a fork went, once one was found.
    evidence: RefCell<Option<PathBuf>>,
}

impl Guard {
    /// `key` verifies what the server signs now; `command` is named in evidence.
    pub fn load(
        ctx: &Context,
        conn: &Conn,
        info: &ServerInfo,
        key: &ServerKey,
        command: &'static str,
    ) -> Result<Guard> {
        let store = PinStore::new(&ctx.config_dir, &ctx.profile_name);
        let pinned = store.get(&info.server_id)?;
        Ok(Guard {
            store,
            pinned,
            key: key.clone(),
            server_id: info.server_id.clone(),
            server: conn.client.server(),
            command,
            evidence: RefCell::new(None),
        })
    }

    /// The pinned seq, for a pass over the chain to watch ([`verify::Chain::watch`]).
    pub fn seq(&self) -> Option<u64> {
        self.pinned.as_ref().map(Pinned::seq)
    }

    /// Where the evidence of the fork found went, if one was found.
    pub fn evidence(&self) -> Option<PathBuf> {
        self.evidence.borrow().clone()
    }

    /// A checkpoint at the server's head, signed now, and verified with the key.
    pub fn current(&self, ctx: &Context, conn: &Conn) -> Result<Checkpoint> {
        let cp: Checkpoint = conn.call(ctx, |c, t| {
            c.get("/admin/audit/checkpoint", &Auth::token(t))
        })?;
        verify::checkpoint(&cp, &self.key, &self.server_id, "server's current")?;
        Ok(cp)
    }

    /// The cheap proof that the server's chain extends the pin, without downloading it:
    /// `signed` (a verified checkpoint of the server) is at or after the pinned seq, and
    /// the event at the pinned seq hashes (from its predecessor's chain value) to the
    /// pinned chain value. Returns whether `signed` is past the pin.
    pub fn prove(&self, ctx: &Context, conn: &Conn, signed: &Checkpoint) -> Result<bool> {
        let Some(p) = &self.pinned else {
            return Ok(true);
        };
        let ahead = pins::relate(p, signed).map_err(|f| self.fork(ctx, &f, signed, None))?;
        let seq = p.seq();
        if !ahead || seq == 0 {
            // At the pin, or a pin at genesis, which every chain extends.
            return Ok(ahead);
        }
        let path = format!(
            "/admin/audit/events?after={}&to={seq}&limit=2",
            seq.saturating_sub(2)
        );
        let page: Page<AuditEvent> = conn.call(ctx, |c, t| c.get(&path, &Auth::token(t)))?;
        let at = |s: u64| page.items.iter().find(|e| e.seq == s);
        let prev = match seq {
            1 => Some(GENESIS),
            _ => at(seq - 1).and_then(|e| imadm_api::audit::parse_hash(&e.hash)),
        };
        let value = prev.zip(at(seq)).and_then(|(prev, e)| {
            let mut chain = verify::Chain::new(seq, prev);
            chain.push(e).ok().map(|()| chain.head)
        });
        let checked = match value {
            Some(v) => pins::check_value(p, &v),
            None => Err(Fork {
                seq,
                detail: format!(
                    "the server signs seq {} but does not serve a consistent event at seq {seq}",
                    signed.seq
                ),
            }),
        };
        checked.map_err(|f| self.fork(ctx, &f, signed, Some(&page.items)))?;
        Ok(true)
    }

    /// Check what a pass over the chain ending at `signed` found at the pinned seq
    /// (`Chain::watched`); the pass must have covered it.
    pub fn check_pass(
        &self,
        ctx: &Context,
        watched: Option<(u64, [u8; 32])>,
        signed: &Checkpoint,
    ) -> Result<()> {
        let Some(p) = &self.pinned else {
            return Ok(());
        };
        pins::relate(p, signed).map_err(|f| self.fork(ctx, &f, signed, None))?;
        let checked = match watched {
            Some((s, v)) if s == p.seq() => pins::check_value(p, &v),
            _ => Err(Fork {
                seq: p.seq(),
                detail: "the chain the server served does not pass it".into(),
            }),
        };
        checked.map_err(|f| self.fork(ctx, &f, signed, None))
    }

    /// Pin `cp` (verified, and shown to extend the pin) if it is newer than the pin, under
    /// the lock; says so when it is the first pin of this server.
    pub fn advance(&self, ctx: &mut Context, cp: &Checkpoint) -> Result<()> {
        if self.advance_quietly(ctx, cp)? == Advance::First {
            ctx.info(format!(
                "pinned the server's audit checkpoint at seq {} in profile {:?}",
                cp.seq, ctx.profile_name
            ))?;
        }
        Ok(())
    }

    /// [`Guard::advance`] without a word.
    pub fn advance_quietly(&self, ctx: &Context, cp: &Checkpoint) -> Result<Advance> {
        match self
            .store
            .advance(&Pinned::new(cp.clone(), &self.key, ctx.now()))
        {
            Ok(a) => Ok(a),
            Err(AdvanceError::Fork(f)) => {
                let (fork, pinned) = *f;
                Err(self.fork_with(ctx, &fork, &pinned, cp, None))
            }
            Err(AdvanceError::Other(e)) => Err(e),
        }
    }

    fn fork(
        &self,
        ctx: &Context,
        fork: &Fork,
        current: &Checkpoint,
        events: Option<&[AuditEvent]>,
    ) -> CliError {
        let pinned = self.pinned.as_ref().expect("a fork needs a pin");
        self.fork_with(ctx, fork, pinned, current, events)
    }

    fn fork_with(
        &self,
        ctx: &Context,
        fork: &Fork,
        pinned: &Pinned,
        current: &Checkpoint,
        events: Option<&[AuditEvent]>,
    ) -> CliError {
        let (err, path) = fork_found(
            ctx,
            self.command,
            &self.server,
            &self.key,
            fork,
            pinned,
            current,
            json!({ "server_events": events }),
        );
        *self.evidence.borrow_mut() = path;
        err
    }
}

/// Save the evidence of a fork (both signed checkpoints, and `more`'s fields) in the
/// evidence dir; the error to exit with, and where the evidence went.
#[allow(clippy::too_many_arguments)]
pub fn fork_found(
    ctx: &Context,
    command: &str,
    server: &str,
    key: &ServerKey,
    fork: &Fork,
    pinned: &Pinned,
    current: &Checkpoint,
    more: Value,
) -> (CliError, Option<PathBuf>) {
    let mut doc = json!({
        "schema_version": 1,
        "kind": "imadm-audit-fork",
        "detected_at": crate::output::rfc3339(ctx.now()),
        "command": command,
        "profile": ctx.profile_name,
        "server": server,
        "server_id": current.server_id,
        "message": fork.message(),
        "pinned": pinned,
        "server_checkpoint": {"checkpoint": current, "audit_key": key.openssh},
    });
    if let (Some(d), Value::Object(m)) = (doc.as_object_mut(), more) {
        d.extend(m);
    }
    match save_evidence(&ctx.config_dir, &current.server_id, ctx.now(), None, &doc) {
        Ok(path) => (fork_error(fork, &path, &ctx.profile_name), Some(path)),
        Err(e) => {
            let mut err = fork_error(fork, std::path::Path::new("-"), &ctx.profile_name);
            err.hint = Some(format!("the evidence could not be saved: {}", e.message));
            (err, None)
        }
    }
}
