//! Connecting to the server and holding a valid access token.
//!
//! [`connect`] resolves the server, app id and CAs (flags and env over the profile) into
//! an [`ApiClient`] and the [`Credentials`] of this profile and server. [`Conn::call`]
//! runs a request with a valid access token: `IMADM_TOKEN` if set, else the stored
//! session, refreshed first when it expires within [`REFRESH_MARGIN`] seconds, and
//! refreshed and retried once if the server still says it expired. The rotated refresh
//! token is saved back before the request runs, so an interrupted command never loses
//! the session.
//!
//! Commands running in parallel share the stored session, and presenting a refresh token
//! that another command already rotated would end it. So [`Conn::refresh`] holds the
//! account's refresh lock (`credentials.rs`) from reading the session to saving the new
//! one: the first command refreshes, the others find the new session when they get the
//! lock and use it as it is.
//!
//! Sensitive requests need step-up MFA, a current TOTP code beside the token, or an
//! approval with a passkey in the browser (`--web`, or `web` at the prompt): the request is
//! sent with `x-imadm-otp: web`, the server answers with a browser approval bound to that
//! very request (`approval.rs` follows it), and the request is sent again, unchanged, with
//! the one-use token the approval gave. [`Conn::step_up`] is the one way commands send
//! them (when to ask for the code, how often).

use imadm_api::auth::{RefreshRequest, SessionTokens};
use imadm_api::{UnixTime, codes};

use crate::client::{ApiClient, Auth, Endpoint};
use crate::context::Context;
use crate::credentials::{self, Credentials, StoreKind, StoredSession};
use crate::error::{CliError, Kind, Result};

/// Refresh when the access token has less than this many seconds left (or less than half
/// its lifetime, when that is shorter: see [`refresh_due`]).
pub const REFRESH_MARGIN: i64 = 60;
/// How many times [`Conn::call`] follows a session that other commands rotated meanwhile.
const ROTATED_RETRIES: usize = 3;
/// How many codes an interactive step-up asks for before it gives up.
pub const STEP_UP_TRIES: usize = 3;
const STEP_UP_PROMPT: &str = "TOTP code (step-up), or `web` to approve with a passkey";
const STEP_UP_HINT: &str = "pass --otp CODE or set IMADM_OTP, or --web";
/// What the step-up header carries to ask for a browser approval.
const WEB: &str = "web";
pub const TOKEN_ENV: &str = "IMADM_TOKEN";

pub struct Conn {
    pub client: ApiClient,
    pub creds: Credentials,
}

/// How a step-up is approved: a TOTP code (given, or prompted for), or a passkey in the
/// browser. `Option<&str>` (the code flag) converts into it.
#[derive(Debug, Clone, Copy)]
pub enum Approve<'a> {
    Code(Option<&'a str>),
    Web { open_browser: bool },
}

impl<'a> From<Option<&'a str>> for Approve<'a> {
    fn from(code: Option<&'a str>) -> Self {
        Approve::Code(code)
    }
}

/// Where the credential in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Env,
    Store(StoreKind),
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Env => "env",
            Source::Store(k) => k.name(),
        }
    }
}

pub struct Active {
    pub token: String,
    pub source: Source,
    pub session: Option<StoredSession>,
}

/// The server URL for this invocation, or a usage error saying how to set one.
pub fn server_url(ctx: &Context) -> Result<String> {
    ctx.global
        .server
        .clone()
        .or_else(|| ctx.profile().server)
        .ok_or_else(|| {
            CliError::usage(format!("no server configured for profile {:?}", ctx.profile_name))
                .hint("pass --server URL (or IMADM_SERVER), use --profile dev after `imadm server --dev`, or `imadm config set server URL`")
        })
}

pub fn connect(ctx: &Context) -> Result<Conn> {
    let server = server_url(ctx)?;
    let profile = ctx.profile();
    let app_id = ctx.global.app_id.clone().or(profile.app_id.clone());
    let mut cas = Vec::new();
    if let Some(p) = &profile.ca_cert {
        if ctx.global.server.is_none()
            && std::fs::metadata(p).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            return Err(server_gone(ctx, p));
        }
        cas.push(p.as_path());
    }
    if let Some(p) = &ctx.global.ca_cert {
        cas.push(p.as_path());
    }
    let client = ApiClient::new(&Endpoint {
        server: &server,
        app_id: app_id.as_deref(),
        ca_certs: cas,
        insecure_http: ctx.global.insecure_http,
    })?;
    let account = credentials::account(&ctx.profile_name, client.base_url());
    Ok(Conn {
        creds: Credentials::new(&ctx.config_dir, account),
        client,
    })
}

/// The profile's CA certificate no longer exists. The dev server keeps its CA in its data
/// dir, a temp dir removed when the server stops: this is how a stopped dev server looks,
/// and "cannot read the CA" (exit 2, check --ca-cert) would send people the wrong way.
fn server_gone(ctx: &Context, ca: &std::path::Path) -> CliError {
    let hint = if ctx.profile_name == crate::config::DEV_PROFILE {
        "the dev server has stopped (its data went with it): start it again with `imadm server --dev`, which saves its new CA in this profile, then log in again".to_owned()
    } else {
        format!(
            "start the server again, or point the profile at its CA: `imadm --profile {} config set ca_cert FILE`",
            ctx.profile_name
        )
    };
    CliError::new(
        Kind::Unavailable,
        format!(
            "the server of profile {:?} is gone: its CA certificate {} no longer exists",
            ctx.profile_name,
            ca.display()
        ),
    )
    .hint(hint)
}

fn not_logged_in(ctx: &Context) -> CliError {
    let profile = if ctx.profile_name == crate::config::DEFAULT_PROFILE {
        String::new()
    } else {
        format!("--profile {} ", ctx.profile_name)
    };
    CliError::new(Kind::Auth, "not logged in").hint(format!(
        "run `imadm {profile}auth login`, or set {TOKEN_ENV} for scripts"
    ))
}

impl Conn {
    /// The credential to use now, refreshed if it is about to expire.
    pub fn active(&self, ctx: &Context) -> Result<Active> {
        if let Some(t) = std::env::var(TOKEN_ENV).ok().filter(|t| !t.is_empty()) {
            return Ok(Active {
                token: t,
                source: Source::Env,
                session: None,
            });
        }
        let Some((session, kind)) = self.creds.load()? else {
            return Err(not_logged_in(ctx));
        };
        let (session, kind) = if refresh_due(&session, ctx.now()) {
            self.refresh(ctx, &session)?
        } else {
            (session, kind)
        };
        Ok(Active {
            token: session.access_token.clone(),
            source: Source::Store(kind),
            session: Some(session),
        })
    }

    /// Replace `stale`, the session this command found too old: under the account's
    /// refresh lock, take the stored session if another command replaced it meanwhile,
    /// else exchange its refresh token and save the rotated pair.
    pub fn refresh(
        &self,
        ctx: &Context,
        stale: &StoredSession,
    ) -> Result<(StoredSession, StoreKind)> {
        let _lock = self.creds.lock_refresh()?;
        let Some((old, kind)) = self.creds.load()? else {
            // Another command found the session dead and removed it.
            return Err(not_logged_in(ctx));
        };
        if old.access_token != stale.access_token {
            return Ok((old, kind));
        }
        let Some(refresh_token) = old.refresh_token.clone() else {
            return Err(CliError::new(
                Kind::Auth,
                "the stored access token has expired and cannot be refreshed",
            )
            .hint("log in again with `imadm auth login`"));
        };
        if old.refresh_expires_at.is_some_and(|t| t <= ctx.now()) {
            self.creds.delete()?;
            return Err(CliError::new(Kind::Auth, "the session has expired")
                .hint("log in again with `imadm auth login`"));
        }
        let res: Result<SessionTokens> = self.client.post(
            "/admin/auth/refresh",
            &RefreshRequest { refresh_token },
            &Auth::NONE,
            false,
        );
        match res {
            Ok(tokens) => {
                let new = stored(&old.server, &old.username, tokens, ctx.now());
                self.creds.save(&new, kind)?;
                Ok((new, kind))
            }
            Err(e) if e.kind == Kind::Auth => {
                // Revoked, expired or rotated away: the stored session is dead.
                self.creds.delete()?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Run `f` with a valid access token; on "token expired" refresh once and retry.
    ///
    /// A command that read the stored session just before another one rotated it sends an
    /// access token the server no longer knows: when the stored session changed since,
    /// the request is retried with it (a few times: a burst of commands may rotate more
    /// than once), rather than failing a cron job that did nothing wrong.
    pub fn call<T>(&self, ctx: &Context, f: impl Fn(&ApiClient, &str) -> Result<T>) -> Result<T> {
        let active = self.active(ctx)?;
        let (Some(mut session), Source::Store(_)) = (active.session, active.source) else {
            return f(&self.client, &active.token);
        };
        let mut retries = 0;
        loop {
            let e = match f(&self.client, &session.access_token) {
                Err(e)
                    if matches!(
                        e.server_code,
                        Some(codes::TOKEN_EXPIRED | codes::TOKEN_INVALID)
                    ) =>
                {
                    e
                }
                other => return other,
            };
            let stored = self.creds.load()?.map(|(s, _)| s);
            match stored {
                Some(s) if s.access_token != session.access_token && retries < ROTATED_RETRIES => {
                    retries += 1;
                    session = s;
                }
                _ if e.server_code == Some(codes::TOKEN_EXPIRED) => {
                    let (fresh, _) = self.refresh(ctx, &session)?;
                    return f(&self.client, &fresh.access_token);
                }
                _ => return Err(e),
            }
        }
    }

    /// Send a request that needs step-up MFA: `f` sends it with the token and code in
    /// `Auth`.
    ///
    /// With `otp` (`--otp`, `IMADM_OTP`): one try. On a terminal, with an operator's session
    /// from `auth login`: the code is asked for before the first request (the server
    /// always wants one here, and a request without it would only add a `denied` row to the
    /// audit log), and asked for again after a wrong or used code, [`STEP_UP_TRIES`] codes
    /// in all. Any other credential (`IMADM_TOKEN`, `auth login --with-token`: maybe a
    /// service token, which never passes step-up, or a plain Lanying token, which needs
    /// none) is tried without a code first; a terminal is then asked only if the server
    /// wants a code, and without one the server's refusal is the error (exit 4).
    pub fn step_up<'a, T>(
        &self,
        ctx: &mut Context,
        how: impl Into<Approve<'a>>,
        f: impl Fn(&ApiClient, &Auth<'_>) -> Result<T>,
    ) -> Result<T> {
        let otp = match how.into() {
            Approve::Web { open_browser } => return self.step_up_web(ctx, open_browser, &f),
            Approve::Code(otp) => otp,
        };
        let ask_first = otp.is_none()
            && ctx.interactive()
            && self
                .active(ctx)?
                .session
                .is_some_and(|s| s.refresh_token.is_some());
        self.step_up_with(ctx, otp, ask_first, f)
    }

    /// [`Conn::step_up`], asking for the code before the first request whenever `ask_first`
    /// (for a request too costly to send twice: a restore's upload). Without a terminal
    /// that is then a usage error (exit 2), as for any prompt.
    pub fn step_up_with<T>(
        &self,
        ctx: &mut Context,
        otp: Option<&str>,
        ask_first: bool,
        f: impl Fn(&ApiClient, &Auth<'_>) -> Result<T>,
    ) -> Result<T> {
        step_up_dialogue(ctx, otp, ask_first, |ctx, code| {
            if code == Some(WEB) {
                return self.step_up_web(ctx, true, &f);
            }
            self.send_with(ctx, code, &f)
        })
    }

    fn send_with<T>(
        &self,
        ctx: &Context,
        code: Option<&str>,
        f: &impl Fn(&ApiClient, &Auth<'_>) -> Result<T>,
    ) -> Result<T> {
        self.call(ctx, |c, t| {
            f(
                c,
                &Auth {
                    token: Some(t),
                    otp: code,
                },
            )
        })
    }

    /// The step-up approved with a passkey: ask for a browser approval of this request,
    /// follow it, then send the request again with the approval's one-use token.
    fn step_up_web<T>(
        &self,
        ctx: &mut Context,
        open_browser: bool,
        f: &impl Fn(&ApiClient, &Auth<'_>) -> Result<T>,
    ) -> Result<T> {
        let e = match self.send_with(ctx, Some(WEB), f) {
            Err(e) if e.server_code == Some(codes::APPROVAL_REQUIRED) => e,
            other => return other,
        };
        let Some(approval) = e.approval else {
            return Err(CliError::unexpected(
                "the server asked for a browser approval but did not say where",
            ));
        };
        let grant = crate::approval::follow(ctx, &self.client, &approval, open_browser)?;
        let Some(token) = grant.step_up_token else {
            return Err(CliError::unexpected(
                "the approval gave no step-up token for this request",
            ));
        };
        let token = zeroize::Zeroizing::new(token);
        self.send_with(ctx, Some(&token), f)
    }
}

/// The dialogue of [`Conn::step_up_with`] apart from HTTP: `send` makes the request with a
/// code or without one.
fn step_up_dialogue<T>(
    ctx: &mut Context,
    otp: Option<&str>,
    ask_first: bool,
    send: impl Fn(&mut Context, Option<&str>) -> Result<T>,
) -> Result<T> {
    if let Some(code) = otp {
        return send(ctx, Some(code));
    }
    if !ask_first {
        match send(ctx, None) {
            Err(e) if e.server_code == Some(codes::STEP_UP_REQUIRED) && ctx.interactive() => {}
            other => return other,
        }
    }
    let mut left = STEP_UP_TRIES;
    loop {
        let code = ctx.ask_secret(STEP_UP_PROMPT, STEP_UP_HINT)?;
        left -= 1;
        match send(ctx, Some(&code)) {
            Err(e)
                if left > 0
                    && matches!(
                        e.server_code,
                        Some(codes::MFA_INVALID | codes::MFA_REPLAYED)
                    ) =>
            {
                let more = if left == 1 {
                    "1 more try".to_owned()
                } else {
                    format!("{left} more tries")
                };
                ctx.warn(format!("{}; enter another code ({more})", e.message))?;
            }
            other => return other,
        }
    }
}

/// Whether `session`'s access token should be refreshed before use at `now`: within
/// [`REFRESH_MARGIN`] of its expiry, or within half its lifetime when that is shorter
/// (so a token that was just refreshed is never refreshed again at once, which would
/// rotate it away under other commands using it).
pub fn refresh_due(session: &StoredSession, now: UnixTime) -> bool {
    let Some(expires) = session.access_expires_at else {
        return false;
    };
    let margin = match session.obtained_at {
        Some(t) if expires > t => REFRESH_MARGIN.min((expires - t) / 2),
        _ => REFRESH_MARGIN,
    };
    expires - now < margin
}

pub fn stored(server: &str, username: &str, t: SessionTokens, now: UnixTime) -> StoredSession {
    StoredSession {
        server: server.to_owned(),
        username: username.to_owned(),
        access_token: t.access_token,
        access_expires_at: Some(t.access_expires_at),
        refresh_token: Some(t.refresh_token),
        refresh_expires_at: Some(t.refresh_expires_at),
        restrictions: t.restrictions,
        obtained_at: Some(now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(expires: Option<UnixTime>, obtained: Option<UnixTime>) -> StoredSession {
        StoredSession {
            server: "https://127.0.0.1:1".into(),
            username: "admin".into(),
            access_token: "a".into(),
            access_expires_at: expires,
            refresh_token: None,
            refresh_expires_at: None,
            restrictions: vec![],
            obtained_at: obtained,
        }
    }

    #[test]
    fn refresh_is_due_within_the_margin_or_half_the_lifetime() {
        // Production lifetime (15 min): the 60 s margin.
        let s = session(Some(1000 + 900), Some(1000));
        assert!(!refresh_due(&s, 1000 + 839));
        assert!(refresh_due(&s, 1000 + 841));
        // A 20 s token is fresh for its first 10 s, then due: a token another command
        // has just refreshed is not refreshed again at once.
        let s = session(Some(1020), Some(1000));
        assert!(!refresh_due(&s, 1000));
        assert!(!refresh_due(&s, 1009));
        assert!(refresh_due(&s, 1011));
        // Sessions saved by older versions: the plain margin; unknown expiry: never.
        assert!(refresh_due(&session(Some(1020), None), 1000));
        assert!(!refresh_due(&session(None, Some(1000)), 5000));
    }

    /// Answers prompts from a script and remembers what was asked.
    struct Script {
        answers: std::cell::RefCell<std::collections::VecDeque<&'static str>>,
        asked: std::rc::Rc<std::cell::RefCell<Vec<String>>>,
    }

    impl crate::context::Prompter for Script {
        fn input(&self, prompt: &str) -> Result<String> {
            self.password(prompt)
        }
        fn password(&self, prompt: &str) -> Result<String> {
            self.asked.borrow_mut().push(prompt.to_owned());
            let a = self.answers.borrow_mut().pop_front();
            Ok(a.expect("no more scripted answers").to_owned())
        }
        fn confirm(&self, _: &str) -> Result<bool> {
            unreachable!()
        }
    }

    /// A context whose stdin is a terminal (or not) and whose prompts are answered by
    /// `answers`; returns it and the prompts it will have shown.
    fn context(
        terminal: bool,
        answers: &[&'static str],
    ) -> (Context, std::rc::Rc<std::cell::RefCell<Vec<String>>>) {
        use clap::Parser;
        let dir = tempfile::tempdir().unwrap();
        let cli = crate::cli::Cli::try_parse_from([
            "imadm",
            "--config-dir",
            dir.path().to_str().unwrap(),
            "auth",
            "status",
        ])
        .unwrap();
        let io = crate::context::Io {
            out: Box::new(std::io::sink()),
            err: Box::new(std::io::sink()),
            stdin_tty: terminal,
            stdout_tty: false,
            stderr_tty: false,
        };
        let mut ctx = Context::new(cli.global, io).unwrap();
        let asked = std::rc::Rc::default();
        ctx.prompter = Box::new(Script {
            answers: std::cell::RefCell::new(answers.iter().copied().collect()),
            asked: std::rc::Rc::clone(&asked),
        });
        (ctx, asked)
    }

    /// The server's answers: "good" passes, "used" is a replay, anything else is wrong;
    /// no code asks for one. Every code sent is logged.
    fn server(
        sent: &std::cell::RefCell<Vec<Option<String>>>,
    ) -> impl Fn(&mut Context, Option<&str>) -> Result<&'static str> + '_ {
        move |_, code| {
            sent.borrow_mut().push(code.map(str::to_owned));
            let refuse = |c, m: &str| Err(CliError::from_envelope(c, m, None));
            match code {
                None => refuse(codes::STEP_UP_REQUIRED, "needs a current TOTP code"),
                Some("good") => Ok("done"),
                Some("used") => refuse(codes::MFA_REPLAYED, "this TOTP code has already been used"),
                Some(_) => refuse(codes::MFA_INVALID, "the MFA code is wrong"),
            }
        }
    }

    fn sent_codes(sent: &std::cell::RefCell<Vec<Option<String>>>) -> Vec<Option<String>> {
        sent.borrow().clone()
    }

    fn owned(codes: &[Option<&str>]) -> Vec<Option<String>> {
        codes.iter().map(|c| c.map(str::to_owned)).collect()
    }

    #[test]
    fn step_up_asks_first_and_again_after_a_used_or_wrong_code() {
        let sent = Default::default();
        let (mut ctx, asked) = context(true, &["used", "123456", "good"]);
        let r = step_up_dialogue(&mut ctx, None, true, server(&sent));
        assert_eq!(r.unwrap(), "done");
        // No request without a code (no `denied 50010` row), one per code typed.
        assert_eq!(
            sent_codes(&sent),
            owned(&[Some("used"), Some("123456"), Some("good")])
        );
        assert_eq!(asked.borrow().len(), 3);
    }

    #[test]
    fn step_up_gives_up_after_three_codes() {
        let sent = Default::default();
        let (mut ctx, asked) = context(true, &["1", "2", "3", "good"]);
        let e = step_up_dialogue(&mut ctx, None, true, server(&sent)).unwrap_err();
        assert_eq!(e.server_code, Some(codes::MFA_INVALID));
        assert_eq!(e.exit_code(), 4);
        assert_eq!(asked.borrow().len(), STEP_UP_TRIES);
        assert_eq!(sent.borrow().len(), STEP_UP_TRIES);
    }

    #[test]
    fn a_code_given_up_front_is_tried_once() {
        let sent = Default::default();
        let (mut ctx, asked) = context(true, &[]);
        let e = step_up_dialogue(&mut ctx, Some("used"), true, server(&sent)).unwrap_err();
        assert_eq!(e.server_code, Some(codes::MFA_REPLAYED));
        assert_eq!(sent_codes(&sent), owned(&[Some("used")]));
        assert!(asked.borrow().is_empty());
    }

    #[test]
    fn other_credentials_try_without_a_code_and_ask_only_when_told() {
        // A terminal: asked once the server wants a code.
        let sent = Default::default();
        let (mut ctx, asked) = context(true, &["good"]);
        let r = step_up_dialogue(&mut ctx, None, false, server(&sent));
        assert_eq!(r.unwrap(), "done");
        assert_eq!(sent_codes(&sent), owned(&[None, Some("good")]));
        assert_eq!(asked.borrow().len(), 1);
        // No terminal: the server's refusal is the answer (exit 4), nothing is asked.
        let sent = Default::default();
        let (mut ctx, asked) = context(false, &[]);
        let e = step_up_dialogue(&mut ctx, None, false, server(&sent)).unwrap_err();
        assert_eq!(e.server_code, Some(codes::STEP_UP_REQUIRED));
        assert_eq!(sent_codes(&sent), owned(&[None]));
        assert!(asked.borrow().is_empty());
    }

    #[test]
    fn asking_first_without_a_terminal_is_a_usage_error_before_any_request() {
        let sent = Default::default();
        let (mut ctx, _) = context(false, &[]);
        let e = step_up_dialogue(&mut ctx, None, true, server(&sent)).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.hint.unwrap().contains("IMADM_OTP"));
        assert!(sent.borrow().is_empty());
    }
}
