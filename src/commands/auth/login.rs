//! `imadm auth login`: password, then TOTP, then the session goes into the keyring.
//! `--web`: the login is approved in the browser instead (password and passkey on the
//! server's approval page, RFC 8628 device authorization: `approval.rs`); the session is
//! kept exactly like a TOTP login's.
//!
//! Interactive by default (username, hidden password and code prompted on stderr);
//! scriptable with `--username`, `--password-stdin` and `--otp`/`IMADM_OTP`. An operator
//! who has no MFA yet (or holds a one-time password) gets a restricted session and, on a
//! terminal, is walked through changing the password and enrolling right here.

use clap::Args;
use imadm_api::ServerInfo;
use imadm_api::auth::{
    DeviceAuthorization, LoginRequest, LoginResponse, MfaVerifyRequest, RESTRICTION_MFA_ENROLL,
    RESTRICTION_PASSKEY_ENROLL, RESTRICTION_PASSWORD_CHANGE, SessionTokens, WhoAmI,
};

use crate::client::Auth;
use crate::context::{Context, read_stdin_line};
use crate::credentials::{StoreKind, StoredSession};
use crate::error::{CliError, Kind, Result};
use crate::session::{self, connect};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  $ imadm auth login                                   # prompts for everything
  $ imadm --profile dev auth login                     # the dev server's profile
  $ printf '%s' \"$PW\" | imadm auth login --username alice --password-stdin --otp 123456
  $ printf '%s' \"$TOKEN\" | imadm auth login --with-token   # a service or Lanying admin token
  $ imadm auth login --web                             # password and passkey in the browser")]
pub struct LoginArgs {
    /// Operator username (prompted if omitted)
    #[arg(long, short = 'u', value_name = "U")]
    pub username: Option<String>,
    /// Read the password from standard input
    #[arg(long)]
    pub password_stdin: bool,
    /// TOTP code (or a recovery code); prefer IMADM_OTP over the flag in scripts
    #[arg(long, env = "IMADM_OTP", value_name = "CODE", hide_env_values = true)]
    pub otp: Option<String>,
    /// Read an access token from standard input instead of logging in
    #[arg(long, conflicts_with_all = ["username", "password_stdin", "otp"])]
    pub with_token: bool,
    /// Keep the session in a 0600 file under the config dir instead of the OS keyring
    #[arg(long)]
    pub insecure_storage: bool,
    /// Log in in the browser with password and passkey (fingerprint, face, PIN): prints
    /// a URL and code, opens the browser when there is a display
    #[arg(long, conflicts_with_all = ["with_token", "username", "password_stdin", "otp"])]
    pub web: bool,
    /// With --web: print the URL but do not open a browser
    #[arg(long, requires = "web")]
    pub no_browser: bool,
}

pub fn run(ctx: &mut Context, args: LoginArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let server = conn.client.server();
    let kind = if args.insecure_storage {
        StoreKind::InsecureFile
    } else {
        // Fail before asking for secrets we could not keep.
        conn.creds.probe_keyring()?;
        StoreKind::Keyring
    };

    if args.with_token {
        return with_token(ctx, &conn, &server, kind);
    }
    if args.web {
        let a: DeviceAuthorization =
            conn.client
                .post("/admin/auth/device", &(), &Auth::NONE, false)?;
        let grant = crate::approval::follow(ctx, &conn.client, &a, !args.no_browser)?;
        let Some(tokens) = grant.session else {
            return Err(CliError::unexpected(
                "the approved login did not include a session",
            ));
        };
        return keep(ctx, &conn, &server, &grant.username, tokens, kind);
    }

    let username = match args.username {
        Some(u) => u,
        None => ctx.ask("Username", "pass --username")?,
    };
    let password = if args.password_stdin {
        read_stdin_line("password")?
    } else {
        ctx.ask_secret("Password", "pass --password-stdin and pipe the password in")?
    };

    let resp: LoginResponse = conn.client.post(
        "/admin/auth/login",
        &LoginRequest {
            username: username.clone(),
            password: password.clone(),
        },
        &Auth::NONE,
        false,
    )?;
    let tokens: SessionTokens = match (resp.mfa, resp.session) {
        (Some(challenge), _) => {
            let code = match args.otp {
                Some(c) => c,
                None => ctx.ask_secret("TOTP code", "pass --otp CODE or set IMADM_OTP")?,
            };
            conn.client.post(
                "/admin/auth/mfa",
                &MfaVerifyRequest {
                    mfa_token: challenge.mfa_token,
                    code,
                },
                &Auth::NONE,
                false,
            )?
        }
        (None, Some(session)) => session,
        (None, None) => {
            return Err(CliError::unexpected(
                "the server answered the login with neither an MFA challenge nor a session",
            ));
        }
    };
    let mut stored = save(&conn, &server, &username, tokens, kind, ctx.now())?;

    // Restricted session: fix the account now if we can talk to a person.
    if stored
        .restrictions
        .iter()
        .any(|r| r == RESTRICTION_PASSWORD_CHANGE)
    {
        if ctx.interactive() {
            ctx.info("This account has a one-time password; choose a new one now.")?;
            let req = super::new_password_pair(ctx, false, Some(password))?;
            super::send_password_change(
                &conn,
                &stored.access_token,
                &req,
                &server,
                &username,
                kind,
                ctx.now(),
            )?;
            stored = conn.creds.load()?.map(|(s, _)| s).unwrap_or(stored);
        } else {
            ctx.warn(
                "this account must change its one-time password: run `imadm auth change-password`",
            )?;
        }
    }
    if stored
        .restrictions
        .iter()
        .any(|r| r == RESTRICTION_PASSKEY_ENROLL)
    {
        ctx.warn(
            "a role of this account needs a passkey: run `imadm mfa passkey add NAME` before anything else",
        )?;
    }
    if stored
        .restrictions
        .iter()
        .any(|r| r == RESTRICTION_MFA_ENROLL)
    {
        if ctx.interactive() {
            ctx.info("This account has no MFA yet; enrolling a TOTP authenticator now.")?;
            crate::commands::mfa::enroll::enroll_interactive(ctx, &conn)?;
        } else {
            ctx.warn("this account must enrol MFA before anything else: run `imadm mfa enroll`")?;
        }
    }
    ctx.info(format!(
        "Logged in to {server} as {username} (session kept in {}).",
        store_name(kind)
    ))?;
    Ok(())
}

/// Keep a new session (or end it on the server when it cannot be kept).
fn save(
    conn: &session::Conn,
    server: &str,
    username: &str,
    tokens: SessionTokens,
    kind: StoreKind,
    now: i64,
) -> Result<StoredSession> {
    let stored = session::stored(server, username, tokens, now);
    if let Err(e) = conn.creds.save(&stored, kind) {
        // Do not leave a live session on the server that nobody holds.
        let _: Result<bool> = conn.client.post(
            "/admin/auth/logout",
            &(),
            &Auth::token(&stored.access_token),
            false,
        );
        return Err(e);
    }
    Ok(stored)
}

/// The end of a browser login: the session kept like a TOTP login's.
fn keep(
    ctx: &mut Context,
    conn: &session::Conn,
    server: &str,
    username: &str,
    tokens: SessionTokens,
    kind: StoreKind,
) -> Result<()> {
    let stored = save(conn, server, username, tokens, kind, ctx.now())?;
    if stored
        .restrictions
        .iter()
        .any(|r| r == RESTRICTION_PASSWORD_CHANGE)
    {
        ctx.warn(
            "this account must change its one-time password: run `imadm auth change-password`",
        )?;
    }
    ctx.info(format!(
        "Logged in to {server} as {} with a passkey (session kept in {}).",
        crate::output::visible(username),
        store_name(kind)
    ))
}

fn store_name(kind: StoreKind) -> &'static str {
    match kind {
        StoreKind::Keyring => "the OS keyring",
        StoreKind::InsecureFile => "an insecure file (--insecure-storage)",
    }
}

fn with_token(
    ctx: &mut Context,
    conn: &session::Conn,
    server: &str,
    kind: StoreKind,
) -> Result<()> {
    let token = read_stdin_line("token")?;
    // Our server can tell us who the token belongs to; a plain Lanying server cannot.
    let info: Result<ServerInfo> = conn.client.get("/admin/server-info", &Auth::NONE);
    let (username, expires) = match info {
        Ok(_) => {
            let me: WhoAmI = conn
                .client
                .get("/admin/auth/whoami", &Auth::token(&token))?;
            (me.username, me.expires_at)
        }
        Err(e) if e.not_offered || e.kind == Kind::NotFound => ("(token)".to_owned(), None),
        Err(e) => return Err(e),
    };
    conn.creds.save(
        &StoredSession {
            server: server.to_owned(),
            username: username.clone(),
            access_token: token,
            access_expires_at: expires,
            refresh_token: None,
            refresh_expires_at: None,
            restrictions: vec![],
            obtained_at: Some(ctx.now()),
        },
        kind,
    )?;
    ctx.info(format!("Token for {username} at {server} stored."))?;
    Ok(())
}
