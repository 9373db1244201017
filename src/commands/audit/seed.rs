//! `imadm __seed-audit N --data-dir DIR` (hidden, for bench/audit.sh): append N synthetic
//! events with a correct hash chain straight into the audit log of a STOPPED server's
//! SQLite file, so `audit export`/`verify` can be timed on a real server with a big log.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::context::Context;
use crate::error::{CliError, Result};

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Number of events
    pub count: u64,
    /// The server's data directory (holding imadm.db); the server must be stopped
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
}

pub fn run(ctx: &mut Context, args: SeedArgs) -> Result<()> {
    let db = args.data_dir.join("imadm.db");
    if !db.exists() {
        return Err(CliError::usage(format!("{} does not exist", db.display()))
            .hint("pass the data directory of a server started at least once"));
    }
    let last = imadm_server::audit::seed(&db, args.count, ctx.now() * 1000)
        .map_err(|e| CliError::unexpected(format!("cannot seed {}: {e}", db.display())))?;
    writeln!(ctx.io.out, "{last}")?;
    Ok(())
}
