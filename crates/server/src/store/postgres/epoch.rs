//! The shared epoch read on the async runtime: one `tokio-postgres` connection that every
//! request's authentication pipelines its `SELECT last_value FROM imadm_epoch` on.
//!
//! Why: a request whose session is cached (`auth::AuthCache`) needs only the epoch from the
//! database. Through the blocking pool that read costs a thread hand-off on every request
//! (`block_in_place`), which dominated the server's CPU under load (bench/README.md);
//! here it is awaited on the worker itself. The value is as fresh as the blocking read:
//! the statement starts after the request arrived, so it sees every epoch advance that
//! committed before, and "in force on the very next request" holds across instances.
//!
//! On any error the connection is dropped (the next read reconnects) and the caller gets
//! `None`: it then authenticates the blocking way, which fails closed on its own.

use std::sync::{Arc, Mutex};

use tokio_postgres::{Client, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

const QUERY: &str = "SELECT last_value FROM imadm_epoch";

pub(crate) struct EpochReader {
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    /// The connection and its prepared statement; `None` until the first read or after
    /// an error.
    live: Mutex<Option<Arc<(Client, Statement)>>>,
}

impl EpochReader {
    pub(crate) fn new(config: tokio_postgres::Config, tls: MakeRustlsConnect) -> Self {
        EpochReader {
            config,
            tls,
            live: Mutex::new(None),
        }
    }

    /// The epoch, or `None` if it cannot be read now (see the module header).
    pub(crate) async fn read(&self) -> Option<u64> {
        let live = match self.current() {
            Some(l) => l,
            None => self.connect().await?,
        };
        match live.0.query_one(&live.1, &[]).await {
            Ok(row) => row.try_get::<_, i64>(0).ok().map(|v| v as u64),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the store epoch on the async connection; reconnecting");
                self.forget(&live);
                None
            }
        }
    }

    fn current(&self) -> Option<Arc<(Client, Statement)>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn forget(&self, broken: &Arc<(Client, Statement)>) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if live.as_ref().is_some_and(|l| Arc::ptr_eq(l, broken)) {
            *live = None;
        }
    }

    /// Connect and prepare; requests racing here may each connect once, the last kept.
    async fn connect(&self) -> Option<Arc<(Client, Statement)>> {
        let connected = async {
            let (client, connection) = self.config.connect(self.tls.clone()).await?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(error = %e, "the async epoch connection ended");
                }
            });
            let statement = client.prepare(QUERY).await?;
            Ok::<_, tokio_postgres::Error>(Arc::new((client, statement)))
        };
        match connected.await {
            Ok(live) => {
                *self.live.lock().unwrap_or_else(|p| p.into_inner()) = Some(live.clone());
                Some(live)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot open the async epoch connection");
                None
            }
        }
    }
}
