//! Reads on the async runtime: one `tokio-postgres` connection that the hottest requests
//! pipeline their reads on, with each statement prepared once on it.
//!
//! Why: through the blocking pool every read costs thread hand-offs (`block_in_place` or
//! `spawn_blocking`, then the synchronous driver), which dominated the server's CPU under
//! load (bench/README.md). Here a read is awaited on the worker itself, and the reads of
//! concurrent requests share one connection, so they travel to the database together.
//! Two reads take this path: the shared epoch, which is all a request whose session is
//! cached (`auth::AuthCache`) needs, and the page of `GET /user/list`. A read here is as
//! fresh as through the pool: its statement starts after the request arrived, so it sees
//! every commit before that, and "in force on the very next request" holds across
//! instances.
//!
//! The epoch read is shared: concurrent requests join one read ([`Coalesced`]), so under
//! load the database answers one epoch read per round trip, not one per request, and the
//! page read is most of what it does per request. A request only joins a read that has
//! not started yet, so the read that answers it still starts after it arrived.
//!
//! On any error the connection is dropped (the next read reconnects) and the caller gets
//! `None`: it then reads the blocking way, which reports the error (and, for the epoch,
//! fails closed) on its own.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

pub(crate) struct AsyncReader {
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    /// The connection; `None` until the first read or after an error.
    live: Mutex<Option<Arc<Live>>>,
}

struct Live {
    client: Client,
    /// Statements prepared on `client`, by their text (always a `&'static str`).
    prepared: Mutex<HashMap<&'static str, Statement>>,
}

impl AsyncReader {
    pub(crate) fn new(config: tokio_postgres::Config, tls: MakeRustlsConnect) -> Self {
        AsyncReader {
            config,
            tls,
            live: Mutex::new(None),
        }
    }

    /// The rows of `sql`, or `None` if they cannot be read now (see the module header).
    pub(crate) async fn query(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Option<Vec<Row>> {
        let live = match self.current() {
            Some(l) => l,
            None => self.connect().await?,
        };
        let statement = live
            .prepared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(sql)
            .cloned();
        let result = async {
            let statement = match statement {
                Some(s) => s,
                None => {
                    let s = live.client.prepare(sql).await?;
                    let mut prepared = live.prepared.lock().unwrap_or_else(|p| p.into_inner());
                    prepared.insert(sql, s.clone());
                    s
                }
            };
            live.client.query(&statement, params).await
        };
        match result.await {
            Ok(rows) => Some(rows),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read on the async connection; reconnecting");
                self.forget(&live);
                None
            }
        }
    }

    fn current(&self) -> Option<Arc<Live>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn forget(&self, broken: &Arc<Live>) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if live.as_ref().is_some_and(|l| Arc::ptr_eq(l, broken)) {
            *live = None;
        }
    }

    /// Connect; requests racing here may each connect once, the last kept.
    async fn connect(&self) -> Option<Arc<Live>> {
        match self.config.connect(self.tls.clone()).await {
            Ok((client, connection)) => {
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::warn!(error = %e, "the async read connection ended");
                    }
                });
                let live = Arc::new(Live {
                    client,
                    prepared: Mutex::default(),
                });
                *self.live.lock().unwrap_or_else(|p| p.into_inner()) = Some(live.clone());
                Some(live)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot open the async read connection");
                None
            }
        }
    }
}

/// One read shared by every caller that asks for it before it starts, reads one at a
/// time: the next one starts when the running one has answered. Every caller gets the
/// answer of a read that started after its call, which is what makes sharing it safe for
/// the epoch (see the module header).
pub(crate) struct Coalesced<T: Clone> {
    read: Box<dyn Fn() -> BoxFuture<'static, T> + Send + Sync>,
    reads: Mutex<Reads<T>>,
}

struct Reads<T: Clone> {
    /// The read callers join: it has not started, so it will start after their call.
    next: Option<Shared<BoxFuture<'static, T>>>,
    /// The read that started last (answered or not): `next` starts once it has answered.
    running: Option<Shared<BoxFuture<'static, T>>>,
}

impl<T: Clone + Send + Sync + 'static> Coalesced<T> {
    pub(crate) fn new<F, Fut>(read: F) -> Arc<Self>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = T> + Send + 'static,
    {
        Arc::new(Coalesced {
            read: Box::new(move || read().boxed()),
            reads: Mutex::new(Reads {
                next: None,
                running: None,
            }),
        })
    }

    /// The answer of a read that starts after this call.
    pub(crate) fn get(self: &Arc<Self>) -> impl Future<Output = T> + Send + 'static {
        let mut reads = self.reads.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(next) = &reads.next {
            return next.clone();
        }
        let previous = reads.running.clone();
        let this = Arc::clone(self);
        let read = async move {
            if let Some(previous) = previous {
                previous.await;
            }
            // From here on, callers queue for the read after this one.
            let start = {
                let mut reads = this.reads.lock().unwrap_or_else(|p| p.into_inner());
                reads.running = reads.next.take();
                (this.read)()
            };
            start.await
        }
        .boxed()
        .shared();
        reads.next = Some(read.clone());
        read
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    /// Every caller is answered by a read that started after its call, and concurrent
    /// callers share reads.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_caller_gets_a_read_that_started_after_its_call() {
        let started = Arc::new(AtomicU64::new(0));
        let counter = started.clone();
        let epoch = Coalesced::new(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                tokio::time::sleep(Duration::from_millis(2)).await;
                n
            }
        });
        let mut callers = Vec::new();
        for i in 0..200u64 {
            let epoch = epoch.clone();
            let started = started.clone();
            callers.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_micros(i * 97 % 3000)).await;
                let before = started.load(Ordering::SeqCst);
                let answer = epoch.get().await;
                assert!(
                    answer > before,
                    "answered by read {answer}, which started before the call (read {before} had)"
                );
            }));
        }
        for c in callers {
            c.await.unwrap();
        }
        let reads = started.load(Ordering::SeqCst);
        assert!(
            reads < 200,
            "{reads} reads for 200 concurrent callers: none shared"
        );
    }
}
