//! `imadm server`: run the reference admin API server, `--dev` for a throw-away one,
//! and `imadm server init` to bootstrap a production data dir. The server itself is the
//! `imadm-server` crate; this module turns flags into its options and prints for people.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use imadm_server::{Policy, ServeOptions, TlsSource, audit, sinks};
use serde_json::json;

use crate::cmdutil::server::{database_url, server_error};
use crate::config::{DEV_PROFILE, Profile};
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::output;

const DEV_USERNAME: &str = "admin";

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "\
Examples:
  $ imadm server --dev                                  # throw-away server + `dev` profile
  $ imadm server --dev -o json --listen 127.0.0.1:0     # for scripts and CI
  $ imadm server init --data-dir /var/lib/imadm         # once, for production
  $ imadm server --data-dir /var/lib/imadm --listen 0.0.0.0:8443 \\
        --tls-cert /etc/imadm/cert.pem --tls-key /etc/imadm/key.pem

  $ imadm server --data-dir /var/lib/imadm --tls-cert cert.pem --tls-key key.pem \\
        --alert-login-failures 3/5m --business-hours \"Mon-Fri 08:00-18:00\" --business-tz +01:00

Environment: IMADM_SERVER_KEY_FILE keeps the server key (which encrypts secrets at rest)
outside the data dir."
)]
pub struct ServerArgs {
    #[command(subcommand)]
    pub command: Option<ServerCommand>,
    /// Development mode: temp data dir, generated CA and certificate, an owner with a
    /// printed password and TOTP secret, and a `dev` profile in the CLI config. With
    /// --data-dir, later --dev starts print the same logins (kept in
    /// DIR/dev-credentials.json); a data dir not made by --dev is refused
    #[arg(long)]
    pub dev: bool,
    /// Address to listen on (port 0 picks a free port)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// Data directory (SQLite database, server key, dev certificates)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL database instead of the data dir's SQLite file, which several
    /// instances may share. A libpq-style postgres:// URL; its
    /// password comes from PGPASSWORD or the password file (PGPASSFILE, ~/.pgpass), or
    /// from the URL in IMADM_DATABASE_URL, never from the command line
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// A load balancer's address or CIDR range (e.g. 10.0.0.0/8). From there, a PROXY
    /// protocol header (v1 or v2, before TLS) or the X-Forwarded-For header names the
    /// client address that login throttling, the audit log and alerts see; from any other
    /// address a PROXY header closes the connection and X-Forwarded-For is ignored.
    /// Repeatable, or comma-separated [default: none, the TCP peer is the client]
    #[arg(
        long,
        value_name = "CIDR",
        env = "IMADM_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = imadm_server::proxy::parse_trusted_proxy
    )]
    pub trusted_proxy: Vec<imadm_server::proxy::IpNet>,
    /// PEM certificate chain (required without --dev)
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Access-token lifetime in seconds (testing aid)
    #[arg(long, hide = true, value_name = "SECS")]
    pub access_ttl: Option<u64>,
    /// Refresh grace window in seconds, 0 for none (testing aid)
    #[arg(long, hide = true, value_name = "SECS")]
    pub refresh_grace: Option<u64>,
    /// Base lockout delay in seconds after 5 failures (testing aid)
    #[arg(long, hide = true, value_name = "SECS")]
    pub lockout_base: Option<u64>,
    /// Browser approval (device code) lifetime in seconds (testing aid)
    #[arg(long, hide = true, value_name = "SECS")]
    pub approval_ttl: Option<u64>,
    /// Seconds between a browser approval's polls (testing aid)
    #[arg(long, hide = true, value_name = "SECS")]
    pub approval_interval: Option<u64>,
    /// The https:// URL browsers reach this server at: the passkeys' relying party (its
    /// host name) and the approval page's address [default: https://localhost:PORT]
    #[arg(
        long,
        value_name = "URL",
        env = "IMADM_PUBLIC_URL",
        help_heading = "Passkeys"
    )]
    pub public_url: Option<String>,
    /// Operators holding ROLE must use passkeys: once they have one, TOTP neither logs
    /// them in nor approves their step-ups; until then they may only enrol one.
    /// Repeatable
    #[arg(long, value_name = "ROLE", help_heading = "Passkeys")]
    pub require_passkey_for: Vec<String>,
    /// Attempts (passwords, MFA and step-up codes) one source address may make in a burst;
    /// an attempt that succeeds costs nothing
    #[arg(
        long,
        value_name = "N",
        env = "IMADM_LOGIN_BURST",
        default_value_t = Policy::default().address_rate.burst,
        value_parser = clap::value_parser!(u32).range(1..=10_000),
        help_heading = "Login throttling"
    )]
    pub login_burst: u32,
    /// After the burst, one more attempt per source address every DURATION (s, m or h)
    #[arg(
        long,
        value_name = "DURATION",
        env = "IMADM_LOGIN_REFILL",
        default_value = "6s",
        value_parser = parse_refill,
        help_heading = "Login throttling"
    )]
    pub login_refill: Duration,
    /// Dev only: also create NAME with ROLE and enrolled MFA, reported in -o json
    /// (testing aid)
    #[arg(long, hide = true, value_name = "NAME:ROLE", requires = "dev")]
    pub seed_operator: Vec<String>,
    /// Serve only the Lanying-compatible API, as a plain Lanying deployment would
    /// (testing aid for the CLI's fallback)
    #[arg(long, hide = true)]
    pub lanying_only: bool,
    /// Alert (login_failures, medium) when one username fails to log in COUNT times
    /// within DURATION (s, m, h or d)
    #[arg(
        long,
        value_name = "COUNT/DURATION",
        env = "IMADM_ALERT_LOGIN_FAILURES",
        default_value_t = audit::LOGIN_FAILURES,
        value_parser = parse_threshold,
        help_heading = "Security alerts"
    )]
    pub alert_login_failures: audit::Threshold,
    /// Alert (sensitive_read_burst, high) when one actor makes COUNT sensitive reads
    /// (message history, audit or user export) within DURATION
    #[arg(
        long,
        value_name = "COUNT/DURATION",
        env = "IMADM_ALERT_READ_BURST",
        default_value_t = audit::READ_BURST,
        value_parser = parse_threshold,
        help_heading = "Security alerts"
    )]
    pub alert_read_burst: audit::Threshold,
    /// Alert (off_hours, low; at most one an hour per operator) when an operator acts
    /// outside these hours, e.g. "Mon-Fri 08:00-18:00" [default: off]
    #[arg(
        long,
        value_name = "DAYS HH:MM-HH:MM",
        env = "IMADM_BUSINESS_HOURS",
        value_parser = parse_business_hours,
        help_heading = "Security alerts"
    )]
    pub business_hours: Option<audit::BusinessHours>,
    /// UTC offset of --business-hours: UTC, +HH:MM or -HH:MM [default: UTC]
    #[arg(
        long,
        value_name = "OFFSET",
        env = "IMADM_BUSINESS_TZ",
        requires = "business_hours",
        value_parser = parse_offset,
        allow_hyphen_values = true,
        help_heading = "Security alerts"
    )]
    pub business_tz: Option<i32>,
    /// Send alerts to the channels of this TOML file (webhook, Slack, DingTalk, WeCom,
    /// Feishu; see "Monitoring" in the README); mode 0600 or 0400; reloaded on SIGHUP
    #[arg(
        long,
        value_name = "FILE",
        env = "IMADM_NOTIFY_CONFIG",
        help_heading = "Security alerts"
    )]
    pub notify_config: Option<PathBuf>,
    /// Copy the audit log to SPEC, in order, at least once, from a cursor kept across
    /// restarts: file:PATH[?max_bytes=100MiB], syslog+tcp://HOST:PORT,
    /// syslog+tls://HOST:PORT[?ca=PEM], https://HOST/PATH?secret_env=VAR; any takes
    /// required=true (refuse changes while it lags), max_lag=EVENTS (1000), max_age=5m,
    /// retry_max=30s, name=NAME. Repeatable; several SPECs may be separated by commas
    #[arg(
        long,
        value_name = "SPEC",
        env = "IMADM_AUDIT_SINK",
        help_heading = "Audit sinks"
    )]
    pub audit_sink: Vec<String>,
}

/// The `--audit-sink` values as sinks. Parsed here, not by clap, whose error would quote
/// the whole value: a mistyped SPEC can hold what should not be in a terminal or log.
fn parse_sinks(values: &[String]) -> Result<Vec<sinks::SinkSpec>> {
    values
        .iter()
        .flat_map(|v| sinks::split_specs(v))
        .enumerate()
        .map(|(i, spec)| {
            sinks::parse_sink_spec(spec).map_err(|e| {
                CliError::usage(format!("--audit-sink (SPEC {}): {e}", i + 1)).hint(
                    "e.g. file:/var/log/imadm/audit.jsonl?max_bytes=100MiB, \
                     syslog+tls://loghost:6514?ca=/etc/imadm/ca.pem, \
                     https://siem.example/ingest?secret_env=VAR; see `imadm server --help`",
                )
            })
        })
        .collect()
}

/// `--login-refill`: 1 s to 1 h.
fn parse_refill(s: &str) -> std::result::Result<Duration, String> {
    match crate::duration::parse_secs(s) {
        Ok(n) if n <= 3600 => Ok(Duration::from_secs(n)),
        _ => Err("expected a duration from 1s to 1h, e.g. 6s or 1m".into()),
    }
}

fn parse_threshold(s: &str) -> std::result::Result<audit::Threshold, String> {
    s.parse()
}

fn parse_business_hours(s: &str) -> std::result::Result<audit::BusinessHours, String> {
    audit::BusinessHours::parse(s)
}

fn parse_offset(s: &str) -> std::result::Result<i32, String> {
    audit::parse_utc_offset(s)
}

#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Bootstrap a production data dir and its first owner (one-time password)
    Init(InitArgs),
    /// Rotate the server key offline: a new active key, every sealed value re-sealed
    RotateKey(RotateKeyArgs),
    /// Rotate the audit signing key offline, with a hand-off signed by the old key
    RotateAuditKey(RotateAuditKeyArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Refused while a server runs on the data dir (rotate online with POST /admin/keys/rotate-audit).\n\
The new key goes to audit.key.d/; the old key signs a hand-off naming the new key and the\n\
chain head, which CLIs that pinned the old key verify and follow. Pseudonyms do not change.\n\
On PostgreSQL (IMADM_DATABASE_URL set): refused while any instance runs on the database;\n\
then copy audit.key.d/ to every other instance's data dir (modes kept) before starting it.\n\n\
Examples:\n  $ imadm server rotate-audit-key --data-dir /var/lib/imadm\n  $ imadm server rotate-audit-key --data-dir ./data -o json"
)]
pub struct RotateAuditKeyArgs {
    /// Data directory of the server (stopped)
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Refused while a server runs on the data dir (rotate online with POST /admin/keys/rotate).\n\
The new key is written beside the server key (server.key.d/); older keys are kept, retired,\n\
to open backups taken before the rotation. Killed half-way, run it again: it finishes the\n\
re-seal instead of making another key (a server started on the dir does the same).\n\
On PostgreSQL (IMADM_DATABASE_URL set): refused while any instance runs on the database;\n\
then copy server.key.d/ to every other instance's data dir (modes kept) before starting it.\n\n\
Examples:\n  $ imadm server rotate-key --data-dir /var/lib/imadm\n  $ imadm server rotate-key --data-dir ./data -o json"
)]
pub struct RotateKeyArgs {
    /// Data directory of the server (stopped)
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm server init --data-dir /var/lib/imadm\n  $ imadm server init --data-dir ./data --username root -o json"
)]
pub struct InitArgs {
    /// Data directory to create
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Username of the first owner
    #[arg(long, default_value = DEV_USERNAME)]
    pub username: String,
    /// PostgreSQL database to initialise instead of a SQLite file in the data dir (as
    /// `imadm server --database`; also IMADM_DATABASE_URL)
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
}

pub fn run(ctx: &mut Context, args: ServerArgs) -> Result<()> {
    // Before any key or password is in memory (init creates them, too).
    imadm_server::harden_process().map_err(|e| {
        CliError::unexpected(format!("cannot disable core dumps of the server: {e}"))
    })?;
    match args.command {
        Some(ServerCommand::Init(init)) => return run_init(ctx, init),
        Some(ServerCommand::RotateKey(rotate)) => return run_rotate_key(ctx, rotate),
        Some(ServerCommand::RotateAuditKey(rotate)) => return run_rotate_audit_key(ctx, rotate),
        None => {}
    }
    crate::logging::init_server(ctx.global.verbose, ctx.global.quiet);
    let database = database_url(&args.database)?;
    let audit_sinks = parse_sinks(&args.audit_sink)?;
    let mut policy = Policy::default();
    if let Some(s) = args.access_ttl {
        policy.access_ttl = Duration::from_secs(s.max(1));
    }
    if let Some(s) = args.refresh_grace {
        policy.refresh_grace = Duration::from_secs(s);
    }
    if let Some(s) = args.lockout_base {
        policy.lockout_base = Duration::from_secs(s);
    }
    if let Some(s) = args.approval_ttl {
        policy.approval_ttl = Duration::from_secs(s.max(1));
    }
    if let Some(s) = args.approval_interval {
        policy.approval_interval = Duration::from_secs(s.max(1));
    }
    policy.require_passkey_for = args.require_passkey_for.clone();
    policy.address_rate = imadm_server::throttle::Rate {
        burst: args.login_burst,
        refill: args.login_refill,
    };
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => TlsSource::Files { cert, key },
        _ if args.dev => TlsSource::Dev,
        _ => {
            return Err(CliError::usage("the server needs a TLS certificate").hint(
                "pass --tls-cert FILE --tls-key FILE, or use --dev for a local test server",
            ));
        }
    };
    // --dev without --data-dir: a temp dir removed when the server stops.
    let (data_dir, _temp) = match (&args.data_dir, args.dev) {
        (Some(d), _) => (d.clone(), None),
        (None, true) => {
            let t = tempfile::Builder::new().prefix("imadm-dev-").tempdir()?;
            (t.path().to_owned(), Some(t))
        }
        (None, false) => {
            return Err(CliError::usage("--data-dir is required without --dev")
                .hint("create one with `imadm server init --data-dir DIR`"));
        }
    };
    let dir = imadm_server::open_data_dir(&data_dir, args.dev, database.as_deref())
        .map_err(server_error)?;
    // Absolute, so the profile's CA path works from any directory.
    let data_dir = std::fs::canonicalize(&data_dir)?;
    let mut seeds = Vec::new();
    for spec in &args.seed_operator {
        let (name, role) = spec
            .split_once(':')
            .ok_or_else(|| CliError::usage(format!("--seed-operator {spec:?} is not NAME:ROLE")))?;
        seeds.push((name.to_owned(), role.to_owned()));
    }
    let logins = if args.dev {
        Some(imadm_server::dev_bootstrap(&dir, DEV_USERNAME, &seeds).map_err(server_error)?)
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::unexpected(format!("cannot start the async runtime: {e}")))?;
    let mut ready_err = None;
    let opts = ServeOptions {
        listen: args.listen,
        tls,
        policy,
        admin_api: !args.lanying_only,
        alerts: audit::AlertRules {
            login_failures: args.alert_login_failures,
            read_burst: args.alert_read_burst,
            business_hours: args
                .business_hours
                .map(|h| h.at_offset(args.business_tz.unwrap_or(0))),
            ..Default::default()
        },
        notify_config: args.notify_config.clone(),
        audit_sinks,
        public_url: args.public_url.clone(),
        trusted_proxies: args.trusted_proxy.clone(),
    };
    let served = runtime.block_on(imadm_server::serve(dir, opts, |ready| {
        let r = match &logins {
            Some(logins) => announce_dev(ctx, ready, logins, &data_dir),
            None => ctx.info(format!("imadm server listening on {}", ready.url)),
        };
        if let Err(e) = r {
            ready_err = Some(e);
        }
    }));
    served.map_err(server_error)?;
    if let Some(e) = ready_err {
        return Err(e);
    }
    Ok(())
}

/// Save the `dev` profile and tell the person (or script) how to log in.
fn announce_dev(
    ctx: &mut Context,
    ready: &imadm_server::Ready,
    logins: &imadm_server::DevLogins,
    data_dir: &std::path::Path,
) -> Result<()> {
    let owner = &logins.owner;
    let ca = ready.ca_cert.clone().unwrap_or_default();
    ctx.config.profiles.insert(
        DEV_PROFILE.to_owned(),
        Profile {
            server: Some(ready.url.clone()),
            app_id: Some(ready.app_id.clone()),
            ca_cert: Some(ca.clone()),
            // A new dev server has a new audit key: its pin starts afresh.
            ..Profile::default()
        },
    );
    // Like `vault server -dev`: make the dev server the one plain `imadm` talks to, unless
    // the user already has a configured default profile we would silently redirect.
    let has_default = ctx
        .config
        .profiles
        .get(crate::config::DEFAULT_PROFILE)
        .is_some_and(|p| p.server.is_some());
    let activated = !has_default
        && ctx
            .config
            .active_profile
            .as_deref()
            .is_none_or(|p| p == DEV_PROFILE);
    if activated {
        ctx.config.active_profile = Some(DEV_PROFILE.to_owned());
    }
    ctx.config.save(&ctx.config_dir)?;
    if ctx.output().is_json() {
        // One object, one line, so `read -r line` or `head -1` gets all of it.
        let mut v = json!({
            "schema_version": output::SCHEMA_VERSION,
            "server": ready.url,
            "app_id": ready.app_id,
            "ca_cert": ca,
            "profile": DEV_PROFILE,
            "username": owner.username,
            "password": owner.password,
            "totp_secret": owner.totp_secret,
            "data_dir": data_dir,
        });
        if !logins.seeded.is_empty() {
            v["seeded_operators"] = json!(logins.seeded);
        }
        writeln!(ctx.io.out, "{v}")?;
        ctx.io.out.flush()?;
        return Ok(());
    }
    let code = owner.current_code();
    let cfg = ctx
        .global
        .config_dir
        .as_ref()
        .map(|d| format!(" --config-dir {}", d.display()))
        .unwrap_or_default();
    let out = &mut ctx.io.out;
    writeln!(out, "imadm dev server listening on {}", ready.url)?;
    writeln!(
        out,
        "WARNING: development mode. Throw-away data, generated CA, credentials printed below.\n"
    )?;
    writeln!(out, "  Data dir:     {}", data_dir.display())?;
    writeln!(out, "  App id:       {}", ready.app_id)?;
    writeln!(out, "  CA cert:      {}", ca.display())?;
    writeln!(out, "  Username:     {}", owner.username)?;
    writeln!(out, "  Password:     {}", owner.password)?;
    writeln!(out, "  TOTP secret:  {}", owner.totp_secret)?;
    writeln!(
        out,
        "  Current code: {code}   (later: `oathtool --totp -b {}`, or add the secret to an authenticator app)\n",
        owner.totp_secret
    )?;
    let p = if activated { "" } else { " --profile dev" };
    let made_active = if activated {
        " and made the active profile"
    } else {
        ""
    };
    writeln!(
        out,
        "The `dev` profile was saved in {}{made_active}. In another terminal, log in with:\n",
        ctx.config_dir.display()
    )?;
    writeln!(
        out,
        "  $ imadm{cfg}{p} auth login      # username {}, then the password and current code above\n",
        owner.username
    )?;
    writeln!(
        out,
        "or non-interactively:\n\n  $ printf '%s' '{}' | imadm{cfg}{p} auth login --username {} --password-stdin --otp \"$(oathtool --totp -b {})\"\n",
        owner.password, owner.username, owner.totp_secret
    )?;
    writeln!(
        out,
        "Then try:\n  $ imadm{cfg}{p} auth status\n  $ imadm{cfg}{p} auth token\n  $ imadm{cfg}{p} auth logout\n"
    )?;
    writeln!(out, "Press Ctrl-C to stop the server.")?;
    out.flush()?;
    Ok(())
}

fn run_rotate_key(ctx: &mut Context, args: RotateKeyArgs) -> Result<()> {
    // On PostgreSQL (IMADM_DATABASE_URL): refused while any instance runs on it.
    let database = database_url(&None)?;
    let out =
        imadm_server::rotate_key(&args.data_dir, database.as_deref()).map_err(server_error)?;
    let retired: Vec<String> = out.resealed.retired.iter().map(|k| k.to_string()).collect();
    if ctx.output().is_json() {
        return output::object(
            ctx,
            vec![
                ("active", "Active key", json!(out.active.to_string())),
                (
                    "new_key",
                    "New key",
                    json!(out.new_key.map(|k| k.to_string())),
                ),
                ("resealed_rows", "Rows re-sealed", json!(out.resealed.rows)),
                ("batches", "Batches", json!(out.resealed.batches)),
                ("retired", "Retired keys", json!(retired)),
            ],
        );
    }
    let w = &mut ctx.io.out;
    match out.new_key {
        Some(id) => writeln!(w, "New active key {id}.")?,
        None => writeln!(
            w,
            "Finished an earlier rotation: the active key is {}.",
            out.active
        )?,
    }
    writeln!(
        w,
        "  Re-sealed:    {} ({} of at most {} rows)",
        output::plural(out.resealed.rows, "row"),
        output::plural(out.resealed.batches, "transaction"),
        imadm_server::rotation::BATCH
    )?;
    writeln!(
        w,
        "  Retired keys: {} (kept to open older backups)",
        if retired.is_empty() {
            "none".to_owned()
        } else {
            retired.join(", ")
        }
    )?;
    Ok(())
}

fn run_rotate_audit_key(ctx: &mut Context, args: RotateAuditKeyArgs) -> Result<()> {
    let database = database_url(&None)?;
    let h = imadm_server::rotate_audit_key(&args.data_dir, database.as_deref())
        .map_err(server_error)?;
    if ctx.output().is_json() {
        return output::object(
            ctx,
            vec![
                ("old_key", "Old key", json!(h.old_key)),
                ("new_key", "New key", json!(h.new_key)),
                ("seq", "Hand-off at seq", json!(h.seq)),
                ("head", "Chain value", json!(h.head)),
            ],
        );
    }
    let w = &mut ctx.io.out;
    writeln!(w, "New audit signing key {}.", h.new_key)?;
    writeln!(
        w,
        "  Handed off at seq {} by {} (pinned CLIs follow it).",
        h.seq, h.old_key
    )?;
    Ok(())
}

fn run_init(ctx: &mut Context, args: InitArgs) -> Result<()> {
    let database = database_url(&args.database)?;
    let out = imadm_server::init(&args.data_dir, &args.username, database.as_deref())
        .map_err(server_error)?;
    if ctx.output().is_json() {
        return output::object(
            ctx,
            vec![
                ("username", "Username", json!(out.username)),
                (
                    "one_time_password",
                    "One-time password",
                    json!(out.one_time_password),
                ),
                ("app_id", "App id", json!(out.app_id)),
                ("data_dir", "Data dir", json!(args.data_dir)),
            ],
        );
    }
    let w = &mut ctx.io.out;
    writeln!(w, "Initialised {}.", args.data_dir.display())?;
    writeln!(w, "  Owner:             {}", out.username)?;
    writeln!(w, "  One-time password: {}", out.one_time_password)?;
    writeln!(w, "  App id:            {}", out.app_id)?;
    writeln!(
        w,
        "\nStart the server with your certificate, then log in: the first login must change this"
    )?;
    writeln!(
        w,
        "password and enrol MFA before anything else. The password is shown only now."
    )?;
    Ok(())
}
