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
pub const TOKEN_ENV: &str = "IMADM_TOKEN";

pub struct Conn {
    pub client: ApiClient,
    pub creds: Credentials,
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
}
