//! The connection pool: `r2d2` over `r2d2_postgres`'s manager, each connection carrying
//! the statements it has prepared ([`PgConn::prepared`]).
//!
//! Why a cache: the driver's `query(&str, …)` prepares an unnamed statement, executes it
//! and closes it, three round trips, and the server parses and plans the text each time.
//! A statement prepared once per connection and kept costs one round trip per use. Only
//! the per-request reads use it (the blocking epoch read, the caller's permissions, the
//! list pages): writes are dominated by their transaction and audit append.
//!
//! Statements are keyed by their `&'static str` text, so the cache holds at most one
//! entry per query written in the source. The schema changes only in migrations, which
//! run before the pool exists, so a cached statement never outlives its tables' shape.
//!
//! Checkout tests a connection (a round trip) only when it has been idle for
//! [`FRESH`] or longer: one the pool got back unbroken a moment ago is handed out as it
//! is, which saves a round trip per request under load. A connection the database
//! dropped within that moment fails its first statement; [`PgStore::read`] then retries
//! once on another connection, and a write fails with the database error (the client
//! may retry), as it would on any database failover.
//!
//! [`PgStore::read`]: super::PgStore::read

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use postgres::{Client, Statement};
use r2d2_postgres::{PostgresConnectionManager, r2d2};
use tokio_postgres_rustls::MakeRustlsConnect;

pub(crate) type Pool = r2d2::Pool<Manager>;
pub(crate) type Conn = r2d2::PooledConnection<Manager>;

/// A connection back in the pool for less than this is not tested at checkout.
const FRESH: Duration = Duration::from_secs(1);

/// One pooled connection and its prepared statements.
pub(crate) struct PgConn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
    /// When the pool last got it back unbroken (or made it).
    returned: Instant,
}

impl PgConn {
    /// `sql` prepared on this connection, once.
    pub(crate) fn prepared(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }
}

impl Deref for PgConn {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl DerefMut for PgConn {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// `r2d2_postgres`'s manager, making [`PgConn`]s.
pub(crate) struct Manager(pub PostgresConnectionManager<MakeRustlsConnect>);

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConn, postgres::Error> {
        Ok(PgConn {
            client: self.0.connect()?,
            statements: HashMap::new(),
            returned: Instant::now(),
        })
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), postgres::Error> {
        if conn.returned.elapsed() < FRESH {
            return Ok(());
        }
        self.0.is_valid(&mut conn.client)
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        let broken = self.0.has_broken(&mut conn.client);
        if !broken {
            conn.returned = Instant::now();
        }
        broken
    }
}
