//! The browser approval page (`GET /admin/approve?code=XXXX-XXXX`) and the three calls its
//! script makes (`POST /admin/approve/begin|finish|deny`): enrolling a passkey, a login
//! (username + password + passkey, or "Sign in with a passkey": a discoverable one alone)
//! and a step-up, each completed with `navigator.credentials` (`crate::passkey`).
//!
//! The page is plain server-rendered HTML with one small inline script and style, no
//! external resource; its CSP allows exactly those two by hash (and requests to this
//! origin), nothing else. CSRF: the page sets a random token in a `__Host-` cookie
//! (Secure, HttpOnly, SameSite=Strict) and in the page; every POST must carry the same
//! token in `x-csrf-token` (double submit), and a browser's `Origin`, when sent, must be
//! the server's own. The POSTs are JSON, which a cross-site form cannot send anyway.

use std::sync::LazyLock;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use imadm_api::Envelope;
use imadm_api::auth::{ApproveBegin, ApproveDeny, ApproveFinish};
use imadm_api::codes;
use serde::Deserialize;
use sha2::Digest;

use super::{Body, Q, Shared, blocking, ok};
use crate::auth::RequestCtx;
use crate::error::ApiError;

const COOKIE: &str = "__Host-imadm_approve";
/// The longest `code` the page takes (a user code is 9 characters; typed with spaces, more).
const MAX_CODE: usize = 16;
const CSRF_HEADER: &str = "x-csrf-token";

/// Whether `path` is the page or one of its calls (reachable without `app_id`).
pub fn is_page(path: &str) -> bool {
    path == "/admin/approve" || path.starts_with("/admin/approve/")
}

const SCRIPT: &str = r#"
const m = document.querySelector('main');
const code = m.dataset.code, kind = m.dataset.kind, csrf = m.dataset.csrf;
const say = (text, cls) => { const s = document.getElementById('status'); s.textContent = text; s.className = cls; };
const enc = buf => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const dec = s => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - s.length % 4) % 4)), c => c.charCodeAt(0));
async function post(path, body) {
  const r = await fetch(path, { method: 'POST', credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify(body) });
  const e = await r.json();
  if (e.code !== 200) throw new Error(e.message + (e.data && e.data.hint ? ' (' + e.data.hint + ')' : ''));
  return e.data;
}
async function approve(only) {
  const body = { user_code: code };
  if (only) body.passkey_only = true;
  else {
    if (kind === 'login') body.username = document.getElementById('username').value;
    if (kind !== 'step_up') body.password = document.getElementById('password').value;
  }
  say('Waiting for your passkey (fingerprint, face or PIN)...', 'wait');
  const opts = await post('/admin/approve/begin', body);
  const pk = opts.publicKey;
  pk.challenge = dec(pk.challenge);
  let credential;
  if (pk.user) {
    pk.user.id = dec(pk.user.id);
    (pk.excludeCredentials || []).forEach(c => { c.id = dec(c.id); });
    const c = await navigator.credentials.create({ publicKey: pk });
    credential = { id: c.id, rawId: enc(c.rawId), type: c.type, extensions: {},
      response: { attestationObject: enc(c.response.attestationObject), clientDataJSON: enc(c.response.clientDataJSON) } };
  } else {
    (pk.allowCredentials || []).forEach(c => { c.id = dec(c.id); });
    const c = await navigator.credentials.get({ publicKey: pk }).catch(e => {
      if (!only) throw e;
      throw new Error('no passkey on this device signs in alone (only one stored as a discoverable credential does): sign in with username, password and passkey');
    });
    credential = { id: c.id, rawId: enc(c.rawId), type: c.type, extensions: {},
      response: { authenticatorData: enc(c.response.authenticatorData), clientDataJSON: enc(c.response.clientDataJSON),
        signature: enc(c.response.signature), userHandle: c.response.userHandle ? enc(c.response.userHandle) : null } };
  }
  await post('/admin/approve/finish', { user_code: code, credential });
  say('Approved. You can close this page and go back to the terminal.', 'ok');
  document.getElementById('buttons').remove();
}
async function deny() {
  await post('/admin/approve/deny', { user_code: code });
  say('Denied. Nothing was done; the terminal reports the denial.', 'err');
  document.getElementById('buttons').remove();
}
const run = f => () => f().catch(e => say('Not approved: ' + e.message, 'err'));
const a = document.getElementById('approve'), d = document.getElementById('deny');
const p = document.getElementById('passkey-only');
if (a) a.addEventListener('click', run(() => approve(false)));
if (p) p.addEventListener('click', run(() => approve(true)));
if (d) d.addEventListener('click', run(deny));
"#;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em;color:#222}\
code{font-size:1.4em;letter-spacing:.1em}.ok{color:#060}.err{color:#a00}.wait{color:#555}\
label{display:block;margin:.5em 0}button{font-size:1em;margin-right:1em;padding:.4em 1em}";

/// `'sha256-...'` of an inline element's text, for the CSP.
fn csp_hash(text: &str) -> String {
    let h = sha2::Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(h)
    )
}

static CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        csp_hash(SCRIPT),
        csp_hash(STYLE)
    )
});

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: `body` is already escaped HTML.
fn render(status: StatusCode, csrf: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width\"><title>imadm approval</title>\
         <style>{STYLE}</style></head><body>{body}<script>{SCRIPT}</script></body></html>"
    );
    let mut resp = (status, html).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&CSP) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{COOKIE}={csrf}; Path=/; Secure; HttpOnly; SameSite=Strict"
    )) {
        h.insert(header::SET_COOKIE, v);
    }
    resp
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The user code, `XXXX-XXXX` (the page asks for it when missing).
    #[param(max_length = 16)]
    pub code: Option<String>,
}

#[utoipa::path(get, path = "/admin/approve", tag = "approve", params(PageQuery),
    responses(
        (status = 200, description = "the approval page (HTML)", content_type = "text/html", body = String),
        (status = 400, description = "not a user code: longer than 16 characters (HTML)", content_type = "text/html", body = String),
        (status = 404, description = "unknown or expired code (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "already approved or denied (HTML)", content_type = "text/html", body = String),
        (status = 429, description = "too many wrong codes from this address: throttled like failed logins (HTML)", content_type = "text/html", body = String)))]
pub async fn page(State(s): State<Shared>, ctx: RequestCtx, Q(q): Q<PageQuery>) -> Response {
    let csrf = crate::secrets::random_token("");
    // The schema's limit: no user code is longer.
    if q.code
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_CODE)
    {
        return render(
            StatusCode::BAD_REQUEST,
            &csrf,
            "<main><h1>imadm approval</h1><p class=err>That is not a code imadm shows.</p>\
             <p>Copy the URL or the code from your terminal again.</p></main>",
        );
    }
    let Some(code) = q.code.filter(|c| !c.trim().is_empty()) else {
        return render(
            StatusCode::OK,
            &csrf,
            "<main><h1>imadm approval</h1><form method=get action=/admin/approve>\
             <label>Code shown in the terminal <input name=code autofocus \
             autocomplete=off maxlength=16></label><button>Continue</button></form></main>",
        );
    };
    let view = blocking(&s, move |s| s.approval_page(&ctx, &code)).await;
    let v = match view {
        Ok(v) => v,
        Err(e) => {
            let status =
                StatusCode::from_u16(codes::http_status(e.code)).unwrap_or(StatusCode::BAD_REQUEST);
            let hint = e.detail.and_then(|d| d.hint).unwrap_or_default();
            return render(
                status,
                &csrf,
                &format!(
                    "<main><h1>imadm approval</h1><p class=err>{}</p><p>{}</p></main>",
                    esc(&e.message),
                    esc(&hint)
                ),
            );
        }
    };
    if !v.pending {
        return render(
            StatusCode::CONFLICT,
            &csrf,
            "<main><h1>imadm approval</h1><p class=err>This approval was already approved \
             or denied.</p><p>Start again in the terminal if you need another one.</p></main>",
        );
    }
    // A login asks who signs in (or takes a discoverable passkey alone); an enrolment,
    // the operator's password again.
    let alone = if v.kind == "login" {
        "<button id=passkey-only>Sign in with a passkey</button>"
    } else {
        ""
    };
    let login = match v.kind {
        "login" => {
            "<label>Username <input id=username autocomplete=username></label>\
             <label>Password <input id=password type=password autocomplete=current-password></label>"
        }
        "enrol" => {
            "<label>Your password <input id=password type=password \
             autocomplete=current-password></label>"
        }
        _ => "",
    };
    render(
        StatusCode::OK,
        &csrf,
        &format!(
            "<main data-code=\"{code}\" data-kind=\"{kind}\" data-csrf=\"{csrf}\">\
             <h1>imadm approval</h1><p id=what>{what}</p>\
             <p>Check that this code is the one in your terminal: <code id=user-code>{code}</code></p>\
             <p>Requested from <strong id=client>{client}</strong>. If you did not start this, \
             deny it.</p>{login}\
             <p id=buttons><button id=approve>Approve with passkey</button>{alone}\
             <button id=deny>Deny</button></p><p id=status role=status></p></main>",
            code = esc(&v.user_code),
            kind = v.kind,
            csrf = esc(&csrf),
            what = esc(&v.description),
            client = esc(&v.client_addr),
        ),
    )
}

/// The double-submit check: the header's token equals the cookie's, and a browser's
/// `Origin` is this server's.
fn check_csrf(s: &Shared, headers: &HeaderMap) -> Result<(), ApiError> {
    let refused = || {
        ApiError::new(
            codes::FORBIDDEN,
            "the approval page's CSRF token is missing or wrong",
        )
        .hint("reload the approval page and try again")
    };
    if let Some(origin) = headers.get(header::ORIGIN)
        && Some(origin.to_str().unwrap_or("")) != s.passkeys.origin()
    {
        return Err(refused());
    }
    let sent = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v);
    match cookie {
        Some(c)
            if !sent.is_empty()
                && crate::secrets::token_hash(c) == crate::secrets::token_hash(sent) =>
        {
            Ok(())
        }
        _ => Err(refused()),
    }
}

#[utoipa::path(post, path = "/admin/approve/begin", tag = "approve", request_body = ApproveBegin,
    params(("x-csrf-token" = String, Header, description = "the page's CSRF token (equal to its cookie)")),
    responses(
        (status = 200, description = "WebAuthn options for navigator.credentials.create or .get", body = Envelope<Object>),
        (status = 403, description = "CSRF token missing or wrong (10010)", body = Envelope<imadm_api::ErrorDetail>),
        (status = 404, description = "unknown or expired code (50033)", body = Envelope<imadm_api::ErrorDetail>)))]
pub async fn begin(
    State(s): State<Shared>,
    ctx: RequestCtx,
    headers: HeaderMap,
    Body(req): Body<ApproveBegin>,
) -> Result<Response, ApiError> {
    check_csrf(&s, &headers)?;
    Ok(ok(blocking(&s, move |s| {
        s.approve_begin(
            &ctx,
            &req.user_code,
            req.username.as_deref(),
            req.password.as_deref(),
            req.passkey_only,
        )
    })
    .await?))
}

#[utoipa::path(post, path = "/admin/approve/finish", tag = "approve", request_body = ApproveFinish,
    params(("x-csrf-token" = String, Header, description = "the page's CSRF token (equal to its cookie)")),
    responses(
        (status = 200, description = "approved", body = Envelope<bool>),
        (status = 401, description = "the passkey did not verify (50035)", body = Envelope<imadm_api::ErrorDetail>),
        (status = 403, description = "CSRF token missing or wrong", body = Envelope<imadm_api::ErrorDetail>),
        (status = 404, description = "unknown or expired code (50033)", body = Envelope<imadm_api::ErrorDetail>)))]
pub async fn finish(
    State(s): State<Shared>,
    ctx: RequestCtx,
    headers: HeaderMap,
    Body(req): Body<ApproveFinish>,
) -> Result<Response, ApiError> {
    check_csrf(&s, &headers)?;
    blocking(&s, move |s| {
        s.approve_finish(&ctx, &req.user_code, req.credential)
    })
    .await?;
    Ok(ok(true))
}

#[utoipa::path(post, path = "/admin/approve/deny", tag = "approve", request_body = ApproveDeny,
    params(("x-csrf-token" = String, Header, description = "the page's CSRF token (equal to its cookie)")),
    responses(
        (status = 200, description = "denied", body = Envelope<bool>),
        (status = 403, description = "CSRF token missing or wrong", body = Envelope<imadm_api::ErrorDetail>),
        (status = 404, description = "unknown or expired code (50033)", body = Envelope<imadm_api::ErrorDetail>)))]
pub async fn deny(
    State(s): State<Shared>,
    ctx: RequestCtx,
    headers: HeaderMap,
    Body(req): Body<ApproveDeny>,
) -> Result<Response, ApiError> {
    check_csrf(&s, &headers)?;
    blocking(&s, move |s| s.approve_deny(&ctx, &req.user_code)).await?;
    Ok(ok(true))
}
