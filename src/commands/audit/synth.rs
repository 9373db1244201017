//! `imadm __synth-audit-report N --out FILE` (hidden, for bench/audit.sh): write a valid
//! report of N synthetic events signed by the public test key of `audit::synth`, and
//! print that key, so `audit verify` can be measured without a server.

use std::path::PathBuf;

use std::io::Write;

use clap::Args;
use imadm_server::fsutil::AtomicFile;

use crate::audit::synth;
use crate::context::Context;
use crate::error::{CliError, Result};

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Number of events
    pub count: u64,
    #[arg(long = "out", value_name = "FILE")]
    pub out: PathBuf,
}

pub fn run(ctx: &mut Context, args: SynthArgs) -> Result<()> {
    let fail = |e| CliError::write_failed(&args.out, e);
    let mut f = AtomicFile::create(&args.out, 0o600).map_err(fail)?;
    synth::write_report(f.file(), args.count)?;
    f.commit().map_err(fail)?;
    writeln!(ctx.io.out, "{}", synth::server_key(1).1)?;
    Ok(())
}
