//! `/admin/backup/snapshot` and `/admin/backup/restore`: binary streams both ways
//! (docs/backup-format.md), bridged to the blocking services in `crate::backup` through
//! small bounded channels so memory stays flat whatever the database size.

use std::io::{self, BufRead, Read};

use axum::Router;
use axum::body::Body as RawBody;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use imadm_api::Envelope;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::{Authed, ChannelWriter, Otp, Q, Shared, blocking, ok};
use crate::auth::RequestCtx;
use crate::backup::RestoreReport;
use crate::error::ApiError;

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/admin/backup/snapshot", get(snapshot))
        .route(
            "/admin/backup/restore",
            post(restore).layer(DefaultBodyLimit::disable()),
        )
}

/// Chunks in flight between the store's thread and the socket (64 KiB each).
const CHANNEL_DEPTH: usize = 8;

#[utoipa::path(get, path = "/admin/backup/snapshot", tag = "backup",
    params(("app_id" = String, Header), ("access-token" = String, Header)),
    responses((status = 200, description = "a point-in-time snapshot in the imadm-backup format (docs/backup-format.md)", content_type = "application/octet-stream", body = Vec<u8>)))]
pub async fn snapshot(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
) -> Result<Response, ApiError> {
    c.require("backup:run")?;
    let estimate = {
        let (ctx, c) = (ctx.clone(), c.clone());
        blocking(&s, move |s| s.start_snapshot(&ctx, &c)).await?
    };
    let (tx, rx) = mpsc::channel::<io::Result<Vec<u8>>>(CHANNEL_DEPTH);
    let state = s.clone();
    tokio::task::spawn_blocking(move || {
        let mut out = io::BufWriter::with_capacity(64 << 10, ChannelWriter(tx.clone()));
        if state.stream_snapshot(&ctx, &c, &mut out).is_err() {
            // Breaking the stream makes the client's trailer check fail.
            let _ = tx.blocking_send(Err(io::Error::other("snapshot failed")));
        }
    });
    let mut resp = (StatusCode::OK, super::channel_body(rx)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    resp.headers_mut()
        .insert(SIZE_ESTIMATE, HeaderValue::from(estimate));
    Ok(resp)
}

/// Response header of the snapshot: an estimate of its size in bytes (docs/backup-format.md).
const SIZE_ESTIMATE: &str = "x-imadm-size-estimate";

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RestoreQuery {
    /// Validate and report counts without switching the live data.
    #[serde(default)]
    pub dry_run: Option<bool>,
    /// Restore a snapshot whose audit log forks from the live one, for this reason
    /// (recorded in the restore's audit event; the live log is kept). 1-500 characters,
    /// no control characters, not only whitespace (what `check_fork_reason` accepts).
    #[serde(default)]
    #[param(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub accept_fork: Option<String>,
}

struct ChannelReader {
    rx: mpsc::Receiver<io::Result<axum::body::Bytes>>,
    cur: axum::body::Bytes,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = buf.len().min(avail.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// The received pieces are the buffer: the snapshot reader hashes each one whole, in
/// place.
impl BufRead for ChannelReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos >= self.cur.len() {
            match self.rx.blocking_recv() {
                Some(Ok(c)) => {
                    self.cur = c;
                    self.pos = 0;
                }
                Some(Err(e)) => return Err(e),
                None => break,
            }
        }
        Ok(&self.cur[self.pos.min(self.cur.len())..])
    }

    fn consume(&mut self, n: usize) {
        self.pos += n;
    }
}

#[utoipa::path(post, path = "/admin/backup/restore", tag = "backup",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "a snapshot in the imadm-backup format"),
    params(("app_id" = String, Header), ("access-token" = String, Header), ("x-imadm-otp" = Option<String>, Header), RestoreQuery),
    responses((status = 200, description = "rows per table, live and in the snapshot", body = Envelope<RestoreReport>)))]
pub async fn restore(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Otp(otp): Otp,
    Q(q): Q<RestoreQuery>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let dry_run = q.dry_run.unwrap_or(false);
    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    let mut data = body.into_data_stream();
    tokio::spawn(async move {
        while let Some(chunk) = data.next().await {
            let item = chunk.map_err(|e| io::Error::other(e.to_string()));
            let stop = item.is_err();
            if tx.send(item).await.is_err() || stop {
                break;
            }
        }
    });
    let report = blocking(&s, move |s| {
        let reader = ChannelReader {
            rx,
            cur: Default::default(),
            pos: 0,
        };
        s.restore_backup(
            &ctx,
            &c,
            otp.as_deref(),
            reader,
            dry_run,
            q.accept_fork.as_deref(),
        )
    })
    .await?;
    if !dry_run {
        crate::rotation::after_restore(s.clone());
    }
    Ok(ok(report))
}
