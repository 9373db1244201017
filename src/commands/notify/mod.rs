//! `imadm notify ...`: the server's alert notification channels (configured on the server
//! with `imadm server --notify-config`): their delivery status, and test messages.

pub mod status;
pub mod test;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Per channel: messages queued, last success, last error (security:read)
    Status(status::StatusArgs),
    /// Send a test message on a channel and show how it went (security:manage; audited)
    Test(test::TestArgs),
}

pub fn dispatch(ctx: &mut crate::context::Context, c: NotifyCommand) -> crate::error::Result<()> {
    match c {
        NotifyCommand::Status(a) => status::run(ctx, a),
        NotifyCommand::Test(a) => test::run(ctx, a),
    }
}
