//! `imadm completion SHELL`: print a completion script (clap_complete).

use std::io::Write;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;
use crate::context::Context;
use crate::error::Result;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  $ imadm completion bash > ~/.local/share/bash-completion/completions/imadm
  $ imadm completion zsh > \"${fpath[1]}/_imadm\"
  $ imadm completion fish > ~/.config/fish/completions/imadm.fish")]
pub struct CompletionArgs {
    /// Shell to generate for
    pub shell: Shell,
}

pub fn run(ctx: &mut Context, args: CompletionArgs) -> Result<()> {
    // Render into memory first: clap_complete panics on a write error, and a closed
    // pipe (`imadm completion bash | head`) must end quietly instead.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "imadm", &mut script);
    ctx.io.out.write_all(&script)?;
    ctx.io.out.flush()?;
    Ok(())
}
