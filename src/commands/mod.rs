//! One module per noun, one file per verb (as in gh). Each verb has an `Args` struct
//! (clap) and a `run(ctx, args)` function. `dispatch` routes a command to its verb (the
//! `user` noun routes its verbs itself, in `user/mod.rs`, beside the Lanying fallback).

pub mod access;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod completion;
pub mod compliance;
pub mod config;
pub mod help;
pub mod incident;
pub mod mfa;
pub mod notify;
pub mod operator;
pub mod role;
pub mod server;
pub mod token;
pub mod user;

use crate::cli::{
    AuthCommand, BackupCommand, Command, ConfigCommand, MfaCommand, OperatorCommand,
    PasskeyCommand, RoleCommand, TokenCommand,
};
use crate::context::Context;
use crate::error::Result;

pub fn dispatch(ctx: &mut Context, command: Command) -> Result<()> {
    match command {
        Command::Auth(c) => match c {
            AuthCommand::Login(a) => auth::login::run(ctx, a),
            AuthCommand::Status(a) => auth::status::run(ctx, a),
            AuthCommand::Logout(a) => auth::logout::run(ctx, a),
            AuthCommand::Token(a) => auth::token::run(ctx, a),
            AuthCommand::ChangePassword(a) => auth::change_password::run(ctx, a),
        },
        Command::Mfa(c) => match c {
            MfaCommand::Enroll(a) => mfa::enroll::run(ctx, a),
            MfaCommand::Status(a) => mfa::status::run(ctx, a),
            MfaCommand::Disable(a) => mfa::disable::run(ctx, a),
            MfaCommand::RecoveryCodes(a) => mfa::recovery_codes::run(ctx, a),
            MfaCommand::Passkey(c) => match c {
                PasskeyCommand::Add(a) => mfa::passkey::add::run(ctx, a),
                PasskeyCommand::List(a) => mfa::passkey::list::run(ctx, a),
                PasskeyCommand::Remove(a) => mfa::passkey::remove::run(ctx, a),
            },
        },
        Command::Operator(c) => match c {
            OperatorCommand::List(a) => operator::list::run(ctx, a),
            OperatorCommand::Show(a) => operator::show::run(ctx, a),
            OperatorCommand::Create(a) => operator::create::run(ctx, a),
            OperatorCommand::Disable(a) => operator::state::run(ctx, a, true),
            OperatorCommand::Enable(a) => operator::state::run(ctx, a, false),
            OperatorCommand::Delete(a) => operator::delete::run(ctx, a),
            OperatorCommand::Grant(a) => operator::grant::run(ctx, a, true),
            OperatorCommand::Revoke(a) => operator::grant::run(ctx, a, false),
            OperatorCommand::ResetMfa(a) => operator::reset_mfa::run(ctx, a),
            OperatorCommand::ResetPassword(a) => operator::reset_password::run(ctx, a),
        },
        Command::Role(c) => match c {
            RoleCommand::List(a) => role::list::run(ctx, a),
            RoleCommand::Show(a) => role::show::run(ctx, a),
            RoleCommand::Create(a) => role::create::run(ctx, a),
            RoleCommand::Update(a) => role::update::run(ctx, a),
            RoleCommand::Delete(a) => role::delete::run(ctx, a),
            RoleCommand::Permissions(a) => role::permissions::run(ctx, a),
            RoleCommand::Apply(a) => role::apply::run(ctx, a),
        },
        Command::Backup(c) => match c {
            BackupCommand::Run(a) => backup::run::run(ctx, a),
            BackupCommand::Verify(a) => backup::verify::run(ctx, a),
            BackupCommand::Restore(a) => backup::restore::run(ctx, a),
            BackupCommand::List(a) => backup::list::run(ctx, a),
            BackupCommand::Prune(a) => backup::prune::run(ctx, a),
        },
        Command::Token(c) => match c {
            TokenCommand::Create(a) => token::create::run(ctx, a),
            TokenCommand::List(a) => token::list::run(ctx, a),
            TokenCommand::Revoke(a) => token::revoke::run(ctx, a),
        },
        Command::User(c) => user::dispatch(ctx, c),
        Command::Audit(c) => audit::dispatch(ctx, c),
        Command::Compliance(c) => compliance::dispatch(ctx, c),
        Command::Access(c) => access::dispatch(ctx, c),
        Command::Incident(c) => incident::dispatch(ctx, c),
        Command::Notify(c) => notify::dispatch(ctx, c),
        Command::Server(a) => server::run(ctx, *a),
        Command::Config(c) => match c {
            ConfigCommand::Get(a) => config::get(ctx, a),
            ConfigCommand::Set(a) => config::set(ctx, a),
            ConfigCommand::List(a) => config::list(ctx, a),
        },
        Command::Completion(a) => completion::run(ctx, a),
        Command::Help(a) => help::run(ctx, a),
        Command::GenerateAssets(a) => assets::run(ctx, a),
        Command::SynthAuditReport(a) => audit::synth::run(ctx, a),
        Command::SeedAudit(a) => audit::seed::run(ctx, a),
    }
}

/// `--otp CODE` (prompted when omitted on a TTY) or `--web` for commands that need
/// step-up MFA.
#[derive(Debug, Clone, clap::Args)]
pub struct StepUpArgs {
    /// Current TOTP code for step-up MFA (prompted if needed); prefer IMADM_OTP in scripts
    #[arg(long, env = "IMADM_OTP", value_name = "CODE", hide_env_values = true)]
    pub otp: Option<String>,
    /// Approve with a passkey in the browser instead of a TOTP code (prints the URL;
    /// opens it when there is a display)
    #[arg(long, conflicts_with = "otp")]
    pub web: bool,
}

impl StepUpArgs {
    /// How this command's step-up is approved.
    pub fn approve(&self) -> crate::session::Approve<'_> {
        if self.web {
            crate::session::Approve::Web { open_browser: true }
        } else {
            crate::session::Approve::Code(self.otp.as_deref())
        }
    }
}
