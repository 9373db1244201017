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
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
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
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Manage your multi-factor authentication (TOTP)
    #[command(subcommand)]
    Mfa(MfaCommand),
    /// Run the reference admin API server
    Server(commands::server::ServerArgs),
    /// Read and change settings and profiles
    #[command(subcommand)]
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
    Login(commands::auth::login::LoginArgs),
    Status(commands::auth::status::StatusArgs),
    Logout(commands::auth::logout::LogoutArgs),
    Token(commands::auth::token::TokenArgs),
    ChangePassword(commands::auth::change_password::ChangePasswordArgs),
}

#[derive(Debug, Subcommand)]
pub enum MfaCommand {
    Enroll(commands::mfa::enroll::EnrollArgs),
    Status(commands::mfa::status::MfaStatusArgs),
    Disable(commands::mfa::disable::DisableArgs),
    RecoveryCodes(commands::mfa::recovery_codes::RecoveryCodesArgs),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    Get(commands::config::GetArgs),
    Set(commands::config::SetArgs),
    List(commands::config::ListArgs),
}
