//! `imadm help [COMMAND...|exit-codes]`: clap's help for a command, plus topics.

use std::io::Write;

use clap::{Args, CommandFactory};

use crate::cli::Cli;
use crate::context::Context;
use crate::error::{CliError, EXIT_CODES, Result};

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  $ imadm help exit-codes\n  $ imadm help auth login")]
pub struct HelpArgs {
    /// A command path (e.g. `auth login`) or a topic: exit-codes
    pub topic: Vec<String>,
}

/// The exit-code table as text, shared with the man page.
pub fn exit_codes_text() -> String {
    let mut s = String::from("Exit codes:\n");
    for (code, name, meaning) in EXIT_CODES {
        s.push_str(&format!("  {code:>2}  {name:<12} {meaning}\n"));
    }
    s
}

pub fn run(ctx: &mut Context, args: HelpArgs) -> Result<()> {
    if args.topic.len() == 1 && args.topic[0] == "exit-codes" {
        write!(ctx.io.out, "{}", exit_codes_text())?;
        return Ok(());
    }
    let mut cmd = Cli::command();
    cmd.build();
    let mut current = &mut cmd;
    for word in &args.topic {
        current = current.find_subcommand_mut(word).ok_or_else(|| {
            CliError::usage(format!(
                "no help topic or command {:?}",
                args.topic.join(" ")
            ))
            .hint("topics: exit-codes; commands: see `imadm --help`")
        })?;
    }
    write!(ctx.io.out, "{}", current.render_long_help())?;
    Ok(())
}
