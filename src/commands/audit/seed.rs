//! `imadm __seed-audit N --data-dir DIR` (hidden, for bench/audit.sh and the e2e tests
//! that need a long log): append N synthetic events with a correct hash chain straight
//! into the audit log of the data dir's SQLite file, or of the PostgreSQL database in
//! IMADM_DATABASE_URL, so `audit export`/`verify` can be timed on a real server with a
//! big log.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::context::Context;
use crate::error::Result;

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Number of events
    pub count: u64,
    /// The server's data directory (holding imadm.db; with IMADM_DATABASE_URL, that
    /// database instead)
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
}

pub fn run(ctx: &mut Context, args: SeedArgs) -> Result<()> {
    let database = crate::cmdutil::server::database_url(&None)?;
    let last = imadm_server::seed_audit(
        &args.data_dir,
        database.as_deref(),
        args.count,
        ctx.now() * 1000,
    )
    .map_err(crate::cmdutil::server::server_error)?;
    writeln!(ctx.io.out, "{last}")?;
    Ok(())
}
