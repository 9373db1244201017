//! `/admin/notify/*`: the notification channels' status and test messages. The delivery
//! and the rules live in `crate::notify`.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use imadm_api::Envelope;
use imadm_api::notify::{NotifyStatus, NotifyTest, NotifyTestResult};

use super::{Authed, Body, Shared, blocking, ok};
use crate::auth::RequestCtx;
use crate::error::ApiError;

/// How long a test waits for the channel's first attempt before answering.
const TEST_WAIT: Duration = Duration::from_secs(10);

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/admin/notify/status", get(status))
        .route("/admin/notify/test", post(test))
}

#[utoipa::path(get, path = "/admin/notify/status", tag = "audit",
    params(("app_id" = String, Header), ("access-token" = String, Header)),
    responses((status = 200, description = "the configured channels and their queues", body = Envelope<NotifyStatus>)))]
pub async fn status(State(s): State<Shared>, Authed(c): Authed) -> Result<Response, ApiError> {
    Ok(ok(blocking(&s, move |s| s.notify_status(&c)).await?))
}

#[utoipa::path(post, path = "/admin/notify/test", tag = "audit", request_body = NotifyTest,
    params(("app_id" = String, Header), ("access-token" = String, Header)),
    responses((status = 200, description = "the test message and its first attempt", body = Envelope<NotifyTestResult>)))]
pub async fn test(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Body(req): Body<NotifyTest>,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(
        &ctx,
        Some(&c),
        "notify.test",
        Some(format!("channel:{}", req.channel)),
    );
    let name = req.channel.clone();
    let id = blocking(&s, move |s| s.audited(ev, || s.notify_test(&c, &name))).await?;
    // Wait for the channel's first attempt (it may be behind other messages or a backoff).
    let deadline = Instant::now() + TEST_WAIT;
    loop {
        let m = blocking(&s, move |s| s.notify_message(id)).await?;
        let done = m
            .as_ref()
            .is_none_or(|m| m.delivered_ms.is_some() || m.attempts > 0);
        if done || Instant::now() >= deadline {
            return Ok(ok(NotifyTestResult {
                channel: req.channel,
                message_id: id as u64,
                delivered: m.as_ref().is_some_and(|m| m.delivered_ms.is_some()),
                attempts: m.as_ref().map_or(0, |m| m.attempts),
                error: m.and_then(|m| m.last_error),
            }));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
