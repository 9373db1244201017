//! The command-line grammar: global options and the command tree (clap derive).
//!
//! Only parsing lives here. Each leaf command's arguments are a struct next to its
//! implementation under `commands/<noun>/<verb>.rs`; this file wires them into the tree.
//! Every command's `--help` carries at least one `$ imadm ...` example (a test checks it).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands;
use crate::output::{ColorChoice, OutputFormat};

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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in and out, show and print credentials
    #[command(
        subcommand,
        after_help = "Examples:\n  $ imadm auth login\n  $ imadm auth status -o json\n  $ imadm auth logout"
    )]
    Auth(AuthCommand),
    /// Manage your multi-factor authentication (TOTP, passkeys)
    #[command(
        subcommand,
        after_help = "Examples:\n  $ imadm mfa enroll\n  $ imadm mfa status\n  $ imadm mfa recovery-codes --regenerate\n  $ imadm mfa passkey add laptop"
    )]
    Mfa(MfaCommand),
    /// IM users (Lanying-compatible): list, show, create, import, disable, delete ...
    #[command(
        subcommand,
        after_help = "Examples:\n  $ imadm user list --all -o jsonl\n  $ imadm user show alice\n  $ imadm user import users.csv"
    )]
    User(UserCommand),
    /// Console operators (admin accounts) and their roles
    #[command(
        subcommand,
        after_help = "Examples:\n  $ imadm operator list\n  $ imadm operator create alice --role user-manager\n  $ imadm operator grant alice auditor"
    )]
    Operator(OperatorCommand),
    /// RBAC roles and the permission catalogue
    #[command(
        subcommand,
        after_help = "Examples:\n  $ imadm role list\n  $ imadm role permissions\n  $ imadm role apply -f roles.toml --dry-run"
    )]
    Role(RoleCommand),
    /// Service tokens for cron and CI
    #[command(
        subcommand,
        after_help = "Examples:\n  $ imadm token create --name nightly --scope user:read --expires 90d\n  $ imadm token list"
    )]
    Token(TokenCommand),
    /// The tamper-evident audit log and security alerts
    #[command(
        subcommand,
        after_help = "Examples:\n  $ imadm audit log --since 24h\n  $ imadm audit alerts --since 24h --fail-on high\n  $ imadm audit export --since 30d --out audit.json --sign-key ~/.ssh/id_ed25519\n  $ imadm audit verify audit.json --allowed-signers allowed_signers"
    )]
    Audit(commands::audit::AuditCommand),
    /// Access reviews: who can do what, signed attestations, revocations
    #[command(
        subcommand,
        after_help = "Examples:\n  $ imadm access review --out review.html\n  $ imadm access review --out review.json --attest --sign-key ~/.ssh/id_ed25519 --reviewer \"Ana Lima\""
    )]
    Access(commands::access::AccessCommand),
    /// Incident response: open an incident, scope, contain, notify, report, close
    #[command(
        subcommand,
        after_help = "Examples:\n  $ imadm incident open --title \"support token leaked\" --severity high\n  $ imadm incident show 3\n  $ imadm incident close 3 --summary \"token revoked, users notified\""
    )]
    Incident(commands::incident::IncidentCommand),
    /// Compliance gate for CI: controls mapped to ISO 27001 and GDPR
    #[command(
        subcommand,
        after_help = "Examples:\n  $ imadm compliance check\n  $ imadm compliance check --format junit > compliance.xml"
    )]
    Compliance(commands::compliance::ComplianceCommand),
    /// Alert notification channels of the server: delivery status, test messages
    #[command(
        subcommand,
        after_help = "Examples:\n  $ imadm notify status\n  $ imadm notify test ops-dingtalk"
    )]
    Notify(commands::notify::NotifyCommand),
    /// Encrypted backups of the server's data: run, verify, restore
    #[command(
        subcommand,
        after_help = "Examples:\n  $ imadm backup run --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p --to /backups\n  $ imadm backup verify /backups/imadm-3f2a-20260101T020000Z.age"
    )]
    Backup(BackupCommand),
    /// Run the reference admin API server
    Server(Box<commands::server::ServerArgs>),
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
    /// Write a synthetic signed audit report (for bench/audit.sh)
    #[command(hide = true, name = "__synth-audit-report")]
    SynthAuditReport(commands::audit::synth::SynthArgs),
    /// Append synthetic events to a stopped server's audit log (for bench/audit.sh)
    #[command(hide = true, name = "__seed-audit")]
    SeedAudit(commands::audit::seed::SeedArgs),
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
    /// Remove your TOTP authenticator (step-up MFA; never your last second factor)
    Disable(commands::mfa::disable::DisableArgs),
    /// Count recovery codes left, or --regenerate a new set (step-up MFA)
    RecoveryCodes(commands::mfa::recovery_codes::RecoveryCodesArgs),
    /// Passkeys (fingerprint, face, PIN, security key) through the browser
    #[command(
        subcommand,
        after_help = "Examples:\n  $ imadm mfa passkey add laptop\n  $ imadm mfa passkey list\n  $ imadm mfa passkey remove 3"
    )]
    Passkey(PasskeyCommand),
}

#[derive(Debug, Subcommand)]
pub enum PasskeyCommand {
    /// Enrol a passkey in the browser (prints or opens a one-time URL)
    Add(commands::mfa::passkey::add::AddArgs),
    /// List your passkeys
    List(commands::mfa::passkey::list::ListArgs),
    /// Remove one of your passkeys (step-up MFA; never the last second factor)
    Remove(commands::mfa::passkey::remove::RemoveArgs),
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

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// List operators with their roles and MFA state
    List(commands::operator::list::ListArgs),
    /// Show one operator
    Show(commands::operator::show::ShowArgs),
    /// Create an operator with a one-time password (step-up MFA)
    Create(commands::operator::create::CreateArgs),
    /// Disable an operator and end their sessions (step-up MFA)
    Disable(commands::operator::state::StateArgs),
    /// Enable a disabled operator (step-up MFA)
    Enable(commands::operator::state::StateArgs),
    /// Delete an operator (step-up MFA)
    Delete(commands::operator::delete::DeleteArgs),
    /// Grant roles to an operator (step-up MFA)
    Grant(commands::operator::grant::RolesArgs),
    /// Revoke roles from an operator (step-up MFA)
    Revoke(commands::operator::grant::RolesArgs),
    /// Remove an operator's MFA so they enrol again (step-up MFA)
    ResetMfa(commands::operator::reset_mfa::ResetMfaArgs),
    /// Give an operator a new one-time password and end their sessions (step-up MFA)
    ResetPassword(commands::operator::reset_password::ResetPasswordArgs),
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// List roles and their permissions
    List(commands::role::list::ListArgs),
    /// Show one role
    Show(commands::role::show::ShowArgs),
    /// Create a custom role (step-up MFA)
    Create(commands::role::create::CreateArgs),
    /// Add or remove permissions of a custom role (step-up MFA)
    Update(commands::role::update::UpdateArgs),
    /// Delete a custom role nobody holds (step-up MFA)
    Delete(commands::role::delete::DeleteArgs),
    /// The permission catalogue
    Permissions(commands::role::permissions::PermissionsArgs),
    /// Make custom roles match a TOML file; shows the diff (step-up MFA)
    Apply(commands::role::apply::ApplyArgs),
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Stream an age-encrypted snapshot into one or more directories
    Run(commands::backup::run::RunArgs),
    /// List the archives in directories (from their manifests)
    List(commands::backup::list::ListArgs),
    /// Check an archive against its manifest, or decrypt and check it fully
    Verify(commands::backup::verify::VerifyArgs),
    /// Roll the server's data back to an archive; its audit log and revocations stay (step-up MFA)
    Restore(commands::backup::restore::RestoreArgs),
    /// Delete old archives by retention policy (restic's semantics)
    Prune(commands::backup::prune::PruneArgs),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a service token; the secret is shown once (step-up MFA)
    Create(commands::token::create::CreateArgs),
    /// List service tokens with their last use
    List(commands::token::list::ListArgs),
    /// Revoke a service token
    Revoke(commands::token::revoke::RevokeArgs),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List IM users, streamed page by page
    List(commands::user::list::ListArgs),
    /// Show one IM user
    Show(commands::user::show::ShowArgs),
    /// Register an IM user
    Create(commands::user::create::CreateArgs),
    /// Register IM users from a CSV file, one result per row
    Import(commands::user::import::ImportArgs),
    /// Ban IM users
    Disable(commands::user::disable::DisableArgs),
    /// Lift a ban
    Enable(commands::user::enable::EnableArgs),
    /// Log all of a user's devices out
    Kick(commands::user::kick::KickArgs),
    /// Set a new password for an IM user
    ResetPassword(commands::user::reset_password::ResetPasswordArgs),
    /// Delete IM users (step-up MFA, confirmation)
    Delete(commands::user::delete::DeleteArgs),
    /// Export everything held about an IM user, age-encrypted (GDPR art. 15)
    Export(commands::user::export::ExportArgs),
    /// Erase an IM user's personal data (GDPR art. 17; step-up MFA, confirmation)
    Erase(commands::user::erase::EraseArgs),
}
