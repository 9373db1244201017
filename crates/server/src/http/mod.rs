//! The HTTP layer: router, per-request context, extractors and the envelope.
//!
//! A request flows: TLS (axum-server + rustls) → [`context`] middleware (request id,
//! `app_id` check, client address: `proxy.rs`) → an extractor that authenticates the
//! `access-token` header ([`Authed`]) → the handler, which unpacks the body and calls
//! the service layer (`auth.rs`) on the blocking pool → [`ok`] wraps the result in the
//! `{code, message, data}` envelope. Errors are [`ApiError`]s and take the same shape.

mod access;
mod admin;
mod approve;
mod audit;
mod auth;
mod backup;
mod im;
mod incident;
mod info;
mod keys;
mod notify;
pub mod openapi;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use imadm_api::{
    Envelope, HEADER_ACCESS_TOKEN, HEADER_APP_ID, HEADER_OTP, HEADER_REQUEST_ID, codes,
};
use serde::Serialize;

use crate::AppState;
use crate::auth::{Caller, RequestCtx};
use crate::error::ApiError;

pub type Shared = Arc<AppState>;

/// The largest request body any route but the streamed restore upload takes (1 MiB). The
/// biggest legitimate ones are batches: 100 users from `user import` are ~10 KB, 1000
/// users with typical profiles ~150 KB, a message at its content limit under 400 KB.
pub const MAX_BODY: usize = 1 << 20;

/// The blocking end of a streamed response body: each write is one chunk sent to the
/// socket task through a small bounded channel, so a slow client slows the writer down
/// instead of filling memory. A write fails once the client went away.
pub(crate) struct ChannelWriter(pub tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>>);

impl std::io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(buf.to_vec()))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The socket end of a [`ChannelWriter`]: a response body that streams what the writer
/// sends, and breaks (the client sees a truncated document) at an error item.
///
/// The error is handed over one `Pending` late: hyper flushes what it holds (the response
/// head, the data so far) when the body has nothing ready, and a body that fails at once
/// made it close the connection with nothing sent. The client then reported an
/// unreachable server (exit 3) for what is a broken stream (exit 8); the e2e test
/// `gdpr::refused_or_broken_exports_exit_with_the_contract_codes_and_leave_no_file` failed
/// that way about one run in eight on a loaded machine.
pub(crate) fn channel_body(
    rx: tokio::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
) -> axum::body::Body {
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let item = rx.recv().await?;
        if item.is_err() {
            tokio::task::yield_now().await;
        }
        Some((item, rx))
    });
    axum::body::Body::from_stream(stream)
}

pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/openapi.json", get(openapi::serve))
        .route("/admin/server-info", get(info::server_info))
        .route("/admin/auth/login", post(auth::login))
        .route("/admin/auth/mfa", post(auth::mfa))
        .route("/admin/auth/refresh", post(auth::refresh))
        .route("/admin/auth/logout", post(auth::logout))
        .route("/admin/auth/whoami", get(auth::whoami))
        .route("/admin/auth/password", post(auth::change_password))
        .route("/admin/mfa/status", get(auth::mfa_status))
        .route("/admin/mfa/enroll", post(auth::mfa_enroll))
        .route("/admin/mfa/enroll/confirm", post(auth::mfa_confirm))
        .route("/admin/mfa/recovery-codes", post(auth::recovery_codes))
        .route("/admin/mfa/disable", post(auth::mfa_disable))
        .route("/admin/auth/device", post(auth::device))
        .route("/admin/auth/device/token", post(auth::device_token))
        .route("/admin/mfa/passkeys", post(auth::passkey_add))
        .route("/admin/mfa/passkeys/{id}", delete(auth::passkey_remove))
        .route("/admin/approve", get(approve::page))
        .route("/admin/approve/begin", post(approve::begin))
        .route("/admin/approve/finish", post(approve::finish))
        .route("/admin/approve/deny", post(approve::deny))
        .merge(access::router())
        .merge(admin::router())
        .merge(incident::router())
        .merge(audit::router())
        .merge(notify::router())
        .merge(keys::router())
        .merge(backup::router())
        // IM users, groups, messages (Lanying-compatible) and /admin/users: http/im.rs
        .merge(im::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Outside the routes: the restore route's own `DefaultBodyLimit::disable()` is
        // applied later and wins there.
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(state.clone(), context))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(codes::NOT_FOUND, "no such endpoint")
        .hint("see /openapi.json for the endpoints this server offers")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        codes::METHOD_NOT_ALLOWED,
        "this endpoint does not take that HTTP method",
    )
    .hint("see /openapi.json for the methods each endpoint accepts")
}

/// Paths reachable without the `app_id` header: discovery, and the browser approval page
/// (a browser sends no such header; the page has CSRF protection of its own).
fn is_public(path: &str) -> bool {
    matches!(path, "/openapi.json" | "/admin/server-info") || approve::is_page(path)
}

/// Whether the step-up header asks for a passkey approval or carries one: then the
/// approval is bound to this very request (`passkey.rs`).
fn wants_binding(req: &Request) -> bool {
    req.headers()
        .get(HEADER_OTP)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v == crate::passkey::STEP_UP_WEB || v.starts_with(crate::passkey::STEP_UP_TOKEN_PREFIX)
        })
}

/// The request's method, path with query and body hash; the body is read (at most
/// [`MAX_BODY`]) and put back.
async fn bind(req: Request) -> Result<(Request, crate::approval::Binding), ApiError> {
    use sha2::Digest;
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        ApiError::bad_request(format!(
            "a request approved with a passkey has a body of at most {MAX_BODY} bytes"
        ))
        .hint("approve this one with a TOTP code (--otp)")
    })?;
    let binding = crate::approval::Binding {
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned()),
        body_sha256: sha2::Sha256::digest(&bytes).into(),
    };
    Ok((
        Request::from_parts(parts, axum::body::Body::from(bytes)),
        binding,
    ))
}

/// Assign a request id, record the source address, and enforce the `app_id` header.
async fn context(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let request_id = crate::secrets::random_token("")[..16].to_owned();
    // The one place a request's client address is decided (`proxy.rs`).
    let source_addr = req
        .extensions()
        .get::<crate::proxy::ConnAddr>()
        .map(|c| crate::proxy::client_addr(c.0, req.headers(), &state.trusted_proxies).to_string());
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let mut resp = if !state.admin_api && (path.starts_with("/admin/") || path == "/openapi.json") {
        (StatusCode::NOT_FOUND, "Not Found").into_response()
    } else if !is_public(&path)
        && req
            .headers()
            .get(HEADER_APP_ID)
            .and_then(|v| v.to_str().ok())
            != Some(state.app_id.as_str())
    {
        let resp = ApiError::new(codes::APP_ID_UNKNOWN, "missing or unknown app_id header")
            .hint("pass --app-id (or IMADM_APP_ID), or use the profile `imadm server --dev` wrote")
            .into_response();
        if im::is_lanying_path(&path) {
            im::lanying_render(resp)
        } else {
            resp
        }
    } else {
        let bound = if wants_binding(&req) {
            bind(req).await.map(|(r, b)| (r, Some(b)))
        } else {
            Ok((req, None))
        };
        match bound {
            Ok((mut req, binding)) => {
                req.extensions_mut().insert(RequestCtx {
                    source_addr,
                    request_id: Some(request_id.clone()),
                    binding,
                });
                next.run(req).await
            }
            Err(e) => e.into_response(),
        }
    };
    // Method, path, status and id only: headers and bodies carry secrets.
    // Debug, not info: an access log line per request costs a noticeable share of
    // throughput (bench/README.md); run the server with -v (or IMADM_LOG) to see them.
    tracing::debug!(
        request_id = %request_id,
        status = resp.status().as_u16(),
        "{method} {path}"
    );
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert(HEADER_REQUEST_ID, v);
    }
    security_headers(resp.headers_mut());
    resp
}

/// On every response. The server speaks only HTTPS (HSTS: browsers never try plain HTTP
/// for a year); every answer is JSON (nosniff, a CSP that allows nothing), but for the
/// approval page, which sets a CSP of its own allowing exactly its inline script and
/// style (`approve.rs`); and answers carry tokens, secrets and personal data, so no cache
/// keeps them.
fn security_headers(h: &mut axum::http::HeaderMap) {
    use axum::http::header;
    for (name, value) in [
        (header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static("default-src 'none'"));
}

/// Wrap a successful result in the envelope (`security_headers` adds `no-store`).
pub fn ok<T: Serialize>(data: T) -> Response {
    (StatusCode::OK, axum::Json(Envelope::ok(data))).into_response()
}

pub use crate::blocking;

impl<S: Send + Sync> FromRequestParts<S> for RequestCtx {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(parts
            .extensions
            .get::<RequestCtx>()
            .cloned()
            .unwrap_or_default())
    }
}

fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

/// A caller with a session that may be restricted (must enrol MFA / change password).
/// Only the endpoints that lift restrictions (and whoami/logout) take this.
pub struct AnySession(pub Caller);

/// A caller with a full, unrestricted session.
pub struct Authed(pub Caller);

/// The step-up code sent with a sensitive request, if any.
pub struct Otp(pub Option<String>);

impl FromRequestParts<Shared> for AnySession {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let token = header(parts, HEADER_ACCESS_TOKEN)
            .map(str::to_owned)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::new(
                    codes::TOKEN_MISSING,
                    "this endpoint needs the access-token header",
                )
                .hint("log in with `imadm auth login`, or set IMADM_TOKEN")
            })?;
        let ctx = parts
            .extensions
            .get::<RequestCtx>()
            .cloned()
            .unwrap_or_default();
        // Inline, not on the blocking pool: a few indexed reads with cached statements on
        // pooled read connections are quick, and a second thread hop per request (auth,
        // then the handler) cost much of the throughput under load (bench/README.md).
        // A backend that waits on the network (PostgreSQL's client runs its own runtime)
        // must not do so on an async worker: it reads the epoch asynchronously, which is
        // all a cached session needs; anything else runs under `block_in_place`, which
        // hands the worker's other tasks on instead, without the hop.
        let caller = if state.backend.reads_inline() {
            state.authenticate(&ctx, &token)?
        } else {
            let cached = match state.backend.epoch_async() {
                Some(epoch) => state.authenticate_cached(&token, epoch.await),
                None => None,
            };
            match cached {
                Some(caller) => caller?,
                None => store_read(state, || state.authenticate(&ctx, &token))?,
            }
        };
        Ok(AnySession(caller))
    }
}

impl FromRequestParts<Shared> for Authed {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let AnySession(caller) = AnySession::from_request_parts(parts, state).await?;
        use imadm_api::auth::{RESTRICTION_MFA_ENROLL, RESTRICTION_PASSWORD_CHANGE};
        let r = caller.restrictions();
        if r.iter().any(|x| x == RESTRICTION_PASSWORD_CHANGE) {
            return Err(ApiError::new(
                codes::PASSWORD_CHANGE_REQUIRED,
                "this session must change the one-time password first",
            )
            .hint("run `imadm auth change-password`"));
        }
        if r.iter().any(|x| x == RESTRICTION_MFA_ENROLL) {
            return Err(ApiError::new(
                codes::MFA_ENROLLMENT_REQUIRED,
                "this operator must enrol MFA before doing anything else",
            )
            .hint("run `imadm mfa enroll`"));
        }
        refuse_until_passkey(state, &caller)?;
        Ok(Authed(caller))
    }
}

/// A store read made in an extractor, on an async worker: inline on a backend that reads a
/// local file, else under `block_in_place` (PostgreSQL's blocking client panics when it
/// waits on a worker, which dropped the connection without an answer).
fn store_read<T>(state: &Shared, read: impl FnOnce() -> T) -> T {
    if state.backend.reads_inline() {
        read()
    } else {
        tokio::task::block_in_place(read)
    }
}

/// A session of an operator whose role needs passkeys (`--require-passkey-for`) may only
/// enrol one until it has one; the restriction lapses as soon as a passkey is stored.
fn refuse_until_passkey(state: &Shared, caller: &Caller) -> Result<(), ApiError> {
    let restricted = caller
        .restrictions()
        .iter()
        .any(|x| x == imadm_api::auth::RESTRICTION_PASSKEY_ENROLL);
    if restricted && store_read(state, || state.store.passkeys(caller.operator.id))?.is_empty() {
        return Err(ApiError::new(
            codes::MFA_ENROLLMENT_REQUIRED,
            "a role of this operator needs a passkey: enrol one before doing anything else",
        )
        .hint("run `imadm mfa passkey add NAME` and complete it in the browser"));
    }
    Ok(())
}

impl<S: Send + Sync> FromRequestParts<S> for Otp {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(Otp(header(parts, HEADER_OTP).map(str::to_owned)))
    }
}

/// JSON body whose rejections become envelope errors that say what was wrong.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::bad_request(format!(
                    "the request body is larger than {MAX_BODY} bytes, the most this server takes"
                ))
                .hint("send smaller requests, e.g. batches of at most 100 users"))
            }
            Err(rejection) => Err(ApiError::bad_request(format!(
                "invalid request body: {}",
                rejection.body_text()
            ))
            .hint("send a JSON body as documented in /openapi.json")),
        }
    }
}

/// For routes that take no body: reads and drops whatever body a client sent anyway.
///
/// hyper does not reuse a connection whose request body was left unread; it closes it
/// after the response, and a client that already sent its next request on that keep-alive
/// connection sees an EOF (schemathesis reported it as an intermittent "SSL: EOF").
/// Reading the body (bounded like any other by `DefaultBodyLimit`) keeps the connection.
pub struct Unused;

impl<S: Send + Sync> FromRequest<S> for Unused {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        // Too large or broken: the connection is closed anyway; the request still runs.
        let _ = axum::body::Bytes::from_request(req, state).await;
        Ok(Unused)
    }
}

/// Query string whose parse errors become 10002 envelopes naming the problem.
pub struct Q<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(Q(v)),
            Err(e) => Err(ApiError::bad_request(format!(
                "invalid query string: {}",
                e.body_text()
            ))
            .hint("see /openapi.json for this endpoint's parameters")),
        }
    }
}

/// Path parameters whose parse errors become 10002 envelopes rather than plain text.
pub struct P<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for P<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(P(v)),
            Err(e) => Err(ApiError::bad_request(format!(
                "invalid path parameter: {}",
                e.body_text()
            ))
            .hint("see /openapi.json for this endpoint's parameters")),
        }
    }
}
