//! `imadm`: the command-line entry point.
//!
//! Parse (clap), build the [`context::Context`], dispatch to the command, and turn any
//! error into `error: ...` / `hint: ...` on stderr and the contract's exit code. Start-up
//! does nothing else: `imadm --version` must stay instant.

mod approval;
mod audit;
mod cli;
mod client;
mod cmdutil;
mod commands;
mod compliance;
mod config;
mod context;
mod credentials;
mod duration;
mod encrypt;
mod error;
mod fsname;
mod lockfile;
mod logging;
mod output;
mod session;

use std::io::Write;

use clap::Parser;

use crate::error::CliError;

/// One crypto provider (aws-lc-rs) for the client and the server alike.
pub fn install_crypto_provider() {
    imadm_server::tls::install_crypto_provider();
}

fn main() {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => std::process::exit(clap_error(e)),
    };
    logging::init_cli(cli.global.verbose);
    if cli.global.color == output::ColorChoice::Never {
        console::set_colors_enabled(false);
        console::set_colors_enabled_stderr(false);
    }
    let result = context::Context::new(cli.global.clone(), context::Io::system())
        .and_then(|mut ctx| commands::dispatch(&mut ctx, cli.command));
    std::process::exit(match result {
        Ok(()) => 0,
        Err(e) => report(&e),
    })
}

/// Print a CLI error; return its exit code. A closed stdout (`imadm ... | head`) is not
/// an error worth a word. Messages may quote the server (its envelope's `message`, names
/// it sent), so control characters are made visible.
fn report(e: &CliError) -> i32 {
    if e.broken_pipe {
        return 0;
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "error: {}", output::visible_lines(&e.message));
    if let Some(h) = &e.hint {
        let _ = writeln!(err, "hint: {}", output::visible_lines(h));
    }
    e.exit_code()
}

/// clap's own errors exit 2 with a `hint:` line like ours; --help/--version exit 0.
fn clap_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                2
            } else {
                0
            }
        }
        _ => {
            let text = e.render().to_string();
            let mut err = std::io::stderr().lock();
            for line in text.lines() {
                if line.starts_with("For more information") {
                    let _ = writeln!(err, "hint: {}", line.replace("For more", "for more"));
                } else {
                    let _ = writeln!(err, "{line}");
                }
            }
            2
        }
    }
}
