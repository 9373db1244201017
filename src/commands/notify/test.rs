//! `imadm notify test CHANNEL`: queue a test message on a channel (`security:manage`,
//! audited as `notify.test`) and report the channel's first attempt at it. A message
//! the receiver refused stays queued and is retried like an alert's; this exits 3 then.

use clap::Args;
use imadm_api::notify::{NotifyTest, NotifyTestResult};
use serde_json::json;

use crate::client::Auth;
use crate::context::Context;
use crate::error::{CliError, Kind, Result};
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "\
Exit 0 when the receiver took the message, 3 when it did not (yet): the error is shown,
and the message stays queued and is retried (see `imadm notify status`).

Examples:
  $ imadm notify test ops-dingtalk")]
pub struct TestArgs {
    /// A channel name of the server's --notify-config file
    pub channel: String,
}

pub fn run(ctx: &mut Context, args: TestArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let body = NotifyTest {
        channel: args.channel,
    };
    let r: NotifyTestResult = conn.call(ctx, |c, t| {
        c.post("/admin/notify/test", &body, &Auth::token(t), false)
    })?;
    crate::output::object(
        ctx,
        vec![
            ("channel", "Channel", json!(r.channel)),
            ("message_id", "Message", json!(r.message_id)),
            ("delivered", "Delivered", json!(r.delivered)),
            ("attempts", "Attempts", json!(r.attempts)),
            ("error", "Error", json!(r.error)),
        ],
    )?;
    if r.delivered {
        return Ok(());
    }
    let why = match &r.error {
        Some(e) => format!("the receiver did not take the test message: {}", crate::output::visible(e)),
        None => "the channel has not tried the test message yet (it is behind other messages or a backoff)".to_owned(),
    };
    Err(CliError::new(Kind::Unavailable, why)
        .hint("the message stays queued and is retried; watch `imadm notify status`"))
}
