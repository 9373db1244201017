//! The CLI side of browser approvals (RFC 8628 device authorization grant): show the
//! approval URL and user code, open a browser when there is a display (unless
//! `--no-browser`), and poll the server as the RFC says (every `interval` seconds, 5 s
//! slower after each `slow_down`, until `expires_in`) for the outcome. Used by
//! `auth login --web`, `mfa passkey add` and the passkey step-up of `session::Conn::step_up`.
//!
//! A denial and an expired code are authentication failures (exit 4) with their own
//! message; a poll that the network loses is retried by the client like any request.

use std::time::{Duration, Instant};

use imadm_api::auth::{DeviceAuthorization, DeviceGrant, DeviceTokenRequest};
use imadm_api::codes;

use crate::client::{ApiClient, Auth};
use crate::context::Context;
use crate::error::{CliError, Kind, Result};

/// How much longer the interval gets at each `slow_down` (RFC 8628 section 3.5).
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// Show `a` to the operator, open it in a browser if asked and possible, and wait for the
/// outcome.
pub fn follow(
    ctx: &mut Context,
    client: &ApiClient,
    a: &DeviceAuthorization,
    open_browser: bool,
) -> Result<DeviceGrant> {
    ctx.info(format!(
        "Approve in a browser ({}): open {} and check that it shows the code {}.",
        a.description, a.verification_uri_complete, a.user_code
    ))?;
    if open_browser && has_display() && open(&a.verification_uri_complete) {
        ctx.info("(Opened in your browser.)")?;
    }
    ctx.info(format!(
        "Waiting for the approval (up to {} minutes)...",
        a.expires_in.div_ceil(60)
    ))?;
    poll(client, a)
}

/// Poll until the grant is decided or expires.
fn poll(client: &ApiClient, a: &DeviceAuthorization) -> Result<DeviceGrant> {
    let deadline = Instant::now() + Duration::from_secs(a.expires_in);
    let mut interval = Duration::from_secs(a.interval.max(1));
    let req = DeviceTokenRequest {
        device_code: a.device_code.clone(),
    };
    loop {
        std::thread::sleep(interval);
        let res: Result<DeviceGrant> =
            client.post("/admin/auth/device/token", &req, &Auth::NONE, false);
        match res {
            Ok(grant) => return Ok(grant),
            Err(e) if e.server_code == Some(codes::APPROVAL_PENDING) => {}
            Err(e) if e.server_code == Some(codes::APPROVAL_SLOW_DOWN) => {
                interval += SLOW_DOWN_STEP;
            }
            Err(e) if e.server_code == Some(codes::APPROVAL_DENIED) => {
                return Err(
                    CliError::new(Kind::Auth, "the approval was denied in the browser")
                        .hint("nothing was done; run the command again to start a new approval"),
                );
            }
            Err(e) if e.server_code == Some(codes::APPROVAL_EXPIRED) => return Err(expired()),
            Err(e) => return Err(e),
        }
        if Instant::now() >= deadline {
            return Err(expired());
        }
    }
}

fn expired() -> CliError {
    CliError::new(
        Kind::Auth,
        "the approval code expired before it was approved in the browser",
    )
    .hint("run the command again and approve within the time shown")
}

/// A graphical session to open a browser in.
fn has_display() -> bool {
    cfg!(target_os = "macos")
        || ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

/// Hand `url` to the desktop's opener; false if there is none. The URL holds only the
/// user code, which the page shows anyway, never the device code.
fn open(url: &str) -> bool {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_ok()
}
