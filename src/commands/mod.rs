//! One module per noun, one file per verb (as in gh). Each verb has an `Args` struct
//! (clap) and a `run(ctx, args)` function; `dispatch` is the only switchboard.

pub mod assets;
pub mod auth;
pub mod completion;
pub mod config;
pub mod help;
pub mod mfa;
pub mod server;

use crate::cli::{AuthCommand, Command, ConfigCommand, MfaCommand};
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
        },
        Command::Server(a) => server::run(ctx, a),
        Command::Config(c) => match c {
            ConfigCommand::Get(a) => config::get(ctx, a),
            ConfigCommand::Set(a) => config::set(ctx, a),
            ConfigCommand::List(a) => config::list(ctx, a),
        },
        Command::Completion(a) => completion::run(ctx, a),
        Command::Help(a) => help::run(ctx, a),
        Command::GenerateAssets(a) => assets::run(ctx, a),
    }
}
