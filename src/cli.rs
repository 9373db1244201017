//! The command-line grammar: global options and the command tree (clap derive).
//!
//! Only parsing lives here. Each leaf command's arguments are a struct next to its
//! implementation under `commands/<noun>/<verb>.rs`; this file wires them into the tree.
//! Every command's `--help` carries at least one `$ imadm ...` example (a test checks it).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands;

const AFTER_HELP: &str = "\
Examples:
  $ imadm server --dev                 # start a throw-away dev server (second terminal:)
  $ imadm auth login                   # log in to it with password and TOTP code
  $ imadm auth status

Exit codes: `imadm help exit-codes`. Environment variables: see each option.";

#[derive(Debug, Parser)]
#[command(
    name = "imadm",
    version,
    about = "Administer an enterprise IM service (Lanying IM compatible): operators, MFA, users, roles, audit, backups",
    after_help = AFTER_HELP,
    disable_help_subcommand = true,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Saved server profile to use
    #[arg(long, global = true, env = "IMADM_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// Admin API base URL (https only)
    #[arg(long, global = true, env = "IMADM_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// Lanying app id, sent as the `app_id` header
    #[arg(long, global = true, env = "IMADM_APP_ID", value_name = "ID")]
    pub app_id: Option<String>,
    /// Extra PEM CA certificate to trust
    #[arg(long, global = true, env = "IMADM_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Allow an http:// server URL, for a loopback address only
    #[arg(long, global = true, hide_short_help = true)]
    pub insecure_http: bool,
    /// Output format [default: table on a terminal, tsv when piped]
    #[arg(short, long, global = true, env = "IMADM_OUTPUT", value_name = "FMT")]
    pub output: Option<OutputFormat>,
    /// Never prompt; fail with a hint instead (implied when stdin is not a terminal)
    #[arg(long, global = true, env = "IMADM_NO_INPUT", value_parser = clap::builder::FalseyValueParser::new())]
    pub no_input: bool,
    /// Answer yes to confirmations
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,
    /// Directory holding profiles [default: XDG config dir imadm/]
    #[arg(long, global = true, env = "IMADM_CONFIG_DIR", value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// When to use colour (NO_COLOR is honoured)
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub color: ColorChoice,
    /// More diagnostics on stderr (repeat for more); never secrets
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Fewer messages on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Jsonl,
    Csv,
    Tsv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in and out, show and print credentials
    #[command(
        subcommand,
        after_help = "Examples:\n  $ imadm auth login\n  $ imadm auth status -o json\n  $ imadm auth logout"
    )]
    Auth(AuthCommand),
    /// Manage your multi-factor authentication (TOTP)
    #[command(
        subcommand,
        after_help = "Examples:\n  $ imadm mfa enroll\n  $ imadm mfa status\n  $ imadm mfa recovery-codes --regenerate"
    )]
    Mfa(MfaCommand),
    /// Run the reference admin API server
    Server(commands::server::ServerArgs),
    /// Read and change settings and profiles
    #[command(
        subcommand,
        after_help = "Examples:\n  $ imadm config list\n  $ imadm --profile prod config set server https://im.example.com"
    )]
    Config(ConfigCommand),
    /// Print a shell completion script
    Completion(commands::completion::CompletionArgs),
    /// Help on a command or topic (`imadm help exit-codes`)
    Help(commands::help::HelpArgs),
    /// Regenerate completions/ and man/ (for maintainers)
    #[command(hide = true, name = "__generate-assets")]
    GenerateAssets(commands::assets::AssetsArgs),
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Log in with password and TOTP; the session goes into the OS keyring
    Login(commands::auth::login::LoginArgs),
    /// Show who you are logged in as, where, until when, and where it is stored
    Status(commands::auth::status::StatusArgs),
    /// Revoke the session on the server and forget it locally
    Logout(commands::auth::logout::LogoutArgs),
    /// Print a valid access token for scripts (refreshed first)
    Token(commands::auth::token::TokenArgs),
    /// Change your password (required after `server init`)
    ChangePassword(commands::auth::change_password::ChangePasswordArgs),
}

#[derive(Debug, Subcommand)]
pub enum MfaCommand {
    /// Enrol a TOTP authenticator (QR code), get recovery codes
    Enroll(commands::mfa::enroll::EnrollArgs),
    /// Show whether MFA is enrolled and recovery codes left
    Status(commands::mfa::status::MfaStatusArgs),
    /// Remove your TOTP authenticator (step-up MFA)
    Disable(commands::mfa::disable::DisableArgs),
    /// Count recovery codes left, or --regenerate a new set (step-up MFA)
    RecoveryCodes(commands::mfa::recovery_codes::RecoveryCodesArgs),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print one setting of the active profile
    Get(commands::config::GetArgs),
    /// Change one setting of the active profile
    Set(commands::config::SetArgs),
    /// List the active profile's settings
    List(commands::config::ListArgs),
}
