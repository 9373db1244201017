//! `imadm backup prune --in DIR --keep-*`: retention with restic's semantics. The policy is
//! a pure function ([`plan`]) of archive times, so it is tested with a fixed clock.
//!
//! Each `--keep-daily/weekly/monthly N` keeps the newest archive in each of the last N
//! days/weeks/months that have archives; `--keep-last N` the N newest; the union is kept.
//! The newest archive is always kept. Removing deletes archive and manifest. DIR may be
//! `s3://BUCKET/PREFIX`. An archive that cannot be removed (file permissions, an S3
//! Object Lock retention, a refused credential) is reported as kept, with why, the
//! others are still removed, and the command then fails with that error's exit code. An
//! S3 copy whose manifest records an Object Lock retention still in force is kept without
//! trying (S3 would refuse it, or, on a versioned bucket, only hide it).

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::Manifest;
use crate::cmdutil::archive::archives_in;
use crate::cmdutil::s3;
use crate::context::Context;
use crate::error::{CliError, Result};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm backup prune --in /backups --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --dry-run\n  $ imadm backup prune --in /backups --keep-last 3"
)]
pub struct PruneArgs {
    /// Directory or s3://BUCKET/PREFIX holding archives and their manifests
    #[arg(long = "in", value_name = "DIR")]
    pub dir: PathBuf,
    /// Keep the N newest archives
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_last: usize,
    /// Keep the newest archive of each of the last N days that have archives
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_daily: usize,
    /// Keep the newest archive of each of the last N ISO weeks that have archives
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_weekly: usize,
    /// Keep the newest archive of each of the last N months that have archives
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_monthly: usize,
    /// Only show what would be kept and removed
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    pub last: usize,
    pub daily: usize,
    pub weekly: usize,
    pub monthly: usize,
}

/// For archive times (Unix seconds, UTC), the reasons each is kept (empty: remove).
pub fn plan(times: &[i64], p: Policy) -> Vec<Vec<&'static str>> {
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by(|a, b| times[*b].cmp(&times[*a]));
    let mut reasons = vec![Vec::new(); times.len()];
    type Bucket = fn(i64) -> i64;
    let day: Bucket = |t| t.div_euclid(86_400);
    // ISO-ish weeks starting Monday (1970-01-01 was a Thursday).
    let week: Bucket = |t| (t.div_euclid(86_400) + 3).div_euclid(7);
    let month: Bucket = |t| {
        let d = time::OffsetDateTime::from_unix_timestamp(t)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        d.year() as i64 * 12 + u8::from(d.month()) as i64
    };
    for (pos, &i) in order.iter().enumerate() {
        if pos < p.last {
            reasons[i].push("last");
        }
    }
    for (n, name, bucket) in [
        (p.daily, "daily", day),
        (p.weekly, "weekly", week),
        (p.monthly, "monthly", month),
    ] {
        let mut seen = BTreeSet::new();
        for &i in &order {
            if seen.len() >= n {
                break;
            }
            if seen.insert(bucket(times[i])) {
                reasons[i].push(name);
            }
        }
    }
    if let Some(&newest) = order.first()
        && reasons[newest].is_empty()
    {
        reasons[newest].push("newest");
    }
    reasons
}

pub fn run(ctx: &mut Context, args: PruneArgs) -> Result<()> {
    let policy = Policy {
        last: args.keep_last,
        daily: args.keep_daily,
        weekly: args.keep_weekly,
        monthly: args.keep_monthly,
    };
    if policy == Policy::default() {
        return Err(CliError::usage(
            "no --keep-* policy given: prune would remove everything but the newest",
        )
        .hint("pass e.g. --keep-daily 7 --keep-weekly 4"));
    }
    let mut archives = Vec::new();
    for a in archives_in(&args.dir, &s3::Settings::of(&ctx.profile()))? {
        // Not ours, or no manifest: never delete what we cannot date.
        let Some(m) = a
            .read_manifest()
            .ok()
            .flatten()
            .and_then(|t| serde_json::from_slice::<Manifest>(&t).ok())
        else {
            continue;
        };
        // An S3 copy under Object Lock cannot be deleted yet: kept, and said so.
        let locked = match (&a, &m.object_lock) {
            (super::Archive::S3 { .. }, Some(l)) if l.until > ctx.now() => Some(format!(
                "locked until {} (S3 Object Lock, {})",
                crate::output::rfc3339(l.until),
                l.mode
            )),
            _ => None,
        };
        archives.push((a, m.created_at, locked));
    }
    let times: Vec<i64> = archives.iter().map(|a| a.1).collect();
    let reasons = plan(&times, policy);
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for ((archive, t, locked), why) in archives.iter().zip(&reasons) {
        let mut action = if why.is_empty() { "remove" } else { "keep" };
        let mut reason = if why.is_empty() {
            "not matched by any --keep policy".to_owned()
        } else {
            why.join(",")
        };
        if action == "remove"
            && let Some(l) = locked
        {
            action = "keep";
            reason = l.clone();
        }
        if action == "remove"
            && !args.dry_run
            && let Err(e) = archive.remove()
        {
            action = "keep";
            reason = format!("could not be removed: {}", e.message);
            failed.push(e);
        }
        rows.push(json!({
            "archive": archive.to_string(),
            "created_at": crate::output::rfc3339(*t),
            "action": action,
            "reason": reason,
        }));
    }
    rows.sort_by(|a, b| b["created_at"].as_str().cmp(&a["created_at"].as_str()));
    crate::output::object(
        ctx,
        vec![
            ("dry_run", "Dry run", json!(args.dry_run)),
            ("archives", "Archives", json!(rows)),
        ],
    )?;
    match failed.len() {
        0 => Ok(()),
        n => {
            let first = failed.swap_remove(0);
            Err(CliError::new(
                first.kind,
                format!(
                    "{n} archive{} could not be removed (kept, see above); first: {}",
                    if n == 1 { "" } else { "s" },
                    first.message
                ),
            )
            .hint(
                first
                    .hint
                    .unwrap_or_else(|| "check permissions and retry".into()),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    // 2026-01-05 is a Monday.
    const MON: i64 = 1_767_571_200;

    fn kept(times: &[i64], p: Policy) -> Vec<usize> {
        plan(times, p)
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.is_empty())
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn policies_table() {
        let two_a_day: Vec<i64> = (0..10)
            .flat_map(|d| [MON + d * DAY + 3600, MON + d * DAY + 7200])
            .collect();
        let cases: &[(&str, &[i64], Policy, &[usize])] = &[
            (
                "empty",
                &[],
                Policy {
                    last: 3,
                    ..Default::default()
                },
                &[],
            ),
            (
                "last 2 of 3",
                &[MON, MON + 10, MON + 20],
                Policy {
                    last: 2,
                    ..Default::default()
                },
                &[1, 2],
            ),
            (
                "newest always kept",
                &[MON, MON + 10],
                Policy {
                    daily: 0,
                    last: 0,
                    weekly: 0,
                    monthly: 0,
                },
                &[1],
            ),
            (
                "daily keeps the newest of each day",
                &two_a_day,
                Policy {
                    daily: 3,
                    ..Default::default()
                },
                &[15, 17, 19],
            ),
            // Days 0-6 are week 1 (newest: day 6, index 13), days 7-9 week 2 (index 19).
            (
                "weekly",
                &two_a_day,
                Policy {
                    weekly: 2,
                    ..Default::default()
                },
                &[13, 19],
            ),
            (
                "union of policies",
                &two_a_day,
                Policy {
                    last: 1,
                    daily: 2,
                    weekly: 2,
                    ..Default::default()
                },
                &[13, 17, 19],
            ),
            (
                "monthly counts months that have archives",
                &[MON - 40 * DAY, MON - 100 * DAY, MON],
                Policy {
                    monthly: 2,
                    ..Default::default()
                },
                &[0, 2],
            ),
        ];
        for (name, times, p, want) in cases {
            assert_eq!(kept(times, *p), want.to_vec(), "{name}");
        }
    }
}
