//! `imadm config get|set|list`: the active profile's settings in config.toml.

use std::io::Write;

use clap::Args;
use serde_json::json;

use crate::config::KEYS;
use crate::context::Context;
use crate::error::{CliError, Kind, Result};
use crate::output::OutputFormat;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm config get server\n  $ imadm --profile dev config get app_id"
)]
pub struct GetArgs {
    /// Setting name (see `imadm config list`)
    pub key: String,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm config set server https://im.example.com\n  $ imadm --profile prod config set output json\n  $ imadm config set ca_cert ''   # an empty value removes the setting"
)]
pub struct SetArgs {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm config list\n  $ imadm --profile dev config list -o json"
)]
pub struct ListArgs {}

fn check_key(key: &str) -> Result<()> {
    if KEYS.iter().any(|(k, _)| *k == key) {
        Ok(())
    } else {
        Err(
            CliError::usage(format!("unknown config key {key:?}")).hint(format!(
                "known keys: {}",
                KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
            )),
        )
    }
}

pub fn get(ctx: &mut Context, args: GetArgs) -> Result<()> {
    check_key(&args.key)?;
    match ctx.profile().get(&args.key) {
        Some(v) => {
            writeln!(ctx.io.out, "{}", crate::output::visible(&v))?;
            Ok(())
        }
        None => Err(CliError::new(
            Kind::NotFound,
            format!("{} is not set in profile {:?}", args.key, ctx.profile_name),
        )
        .hint(format!("set it with `imadm config set {} VALUE`", args.key))),
    }
}

pub fn set(ctx: &mut Context, args: SetArgs) -> Result<()> {
    check_key(&args.key)?;
    if args.key == "server" && !args.value.is_empty() {
        crate::client::parse_server_url(&args.value, ctx.global.insecure_http)?;
    }
    let mut profile = ctx.profile();
    profile.set(&args.key, Some(args.value).filter(|v| !v.is_empty()))?;
    ctx.config
        .profiles
        .insert(ctx.profile_name.clone(), profile);
    ctx.config.save(&ctx.config_dir)?;
    Ok(())
}

pub fn list(ctx: &mut Context, _args: ListArgs) -> Result<()> {
    let p = ctx.profile();
    match ctx.output() {
        OutputFormat::Json | OutputFormat::Jsonl => {
            let mut fields = vec![("profile", "Profile", json!(ctx.profile_name))];
            for (k, _) in KEYS {
                fields.push((k, k, json!(p.get(k))));
            }
            crate::output::object(ctx, fields)
        }
        _ => {
            for (k, desc) in KEYS {
                // The pinned audit key came from a server: print it like server text.
                let v = crate::output::visible(&p.get(k).unwrap_or_default()).into_owned();
                if ctx.output() == OutputFormat::Table {
                    writeln!(ctx.io.out, "{k:<8} = {v:<40} # {desc}")?;
                } else {
                    writeln!(ctx.io.out, "{k}\t{v}")?;
                }
            }
            Ok(())
        }
    }
}
