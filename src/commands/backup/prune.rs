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
//!
//! In S3, prune also aborts the multipart uploads that killed runs left behind: those
//! whose note (`PREFIX/.imadm-pending/NAME.json`, see `cmdutil::s3`) is older than
//! `--incomplete-older-than` (24h by default, so a run still uploading is not cut off),
//! then deletes the note. Given alone, that option prunes only incomplete uploads.

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
    /// S3: abort the multipart uploads of interrupted runs started longer ago than this
    /// (default 24h; 0s: all, including a run under way); alone, prune only those
    #[arg(long, value_name = "DURATION", value_parser = parse_age)]
    pub incomplete_older_than: Option<u64>,
    /// Only show what would be kept and removed
    #[arg(long)]
    pub dry_run: bool,
}

/// Incomplete uploads younger than this are left alone: a run may still be writing them.
const INCOMPLETE_DEFAULT_SECS: u64 = 86_400;

/// A duration, or zero (`0s`: every incomplete upload).
fn parse_age(s: &str) -> std::result::Result<u64, String> {
    let zero = s
        .trim()
        .strip_prefix('0')
        .filter(|u| ["", "s", "m", "h", "d"].contains(u));
    match zero {
        Some(_) => Ok(0),
        None => crate::duration::parse_secs(s).map_err(|e| e.message),
    }
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
    let only_incomplete = policy == Policy::default();
    if only_incomplete && args.incomplete_older_than.is_none() {
        return Err(CliError::usage(
            "no --keep-* policy given: prune would remove everything but the newest",
        )
        .hint("pass e.g. --keep-daily 7 --keep-weekly 4 (or only --incomplete-older-than 24h to abort interrupted S3 uploads)"));
    }
    let settings = s3::Settings::of(&ctx.profile());
    let mut failed = Vec::new();
    let mut archives_failed = 0;
    let incomplete = match args.dir.to_str().filter(|d| d.starts_with("s3://")) {
        Some(url) => incomplete_uploads(
            ctx,
            &s3::Client::connect(&url.parse().map_err(CliError::usage)?, &settings)?,
            args.incomplete_older_than
                .unwrap_or(INCOMPLETE_DEFAULT_SECS),
            args.dry_run,
            &mut failed,
        )?,
        None => Vec::new(),
    };
    let mut archives = Vec::new();
    let all = match only_incomplete {
        true => Vec::new(),
        false => archives_in(&args.dir, &settings)?,
    };
    for a in all {
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
            archives_failed += 1;
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
            (
                "incomplete_uploads",
                "Incomplete uploads (S3)",
                json!(incomplete),
            ),
        ],
    )?;
    // Uploads come first in `failed` (aborted before the archives are looked at).
    let uploads = failed.len() - archives_failed;
    let what = match (archives_failed, uploads) {
        (a, 0) => plural(a, "archive"),
        (0, u) => plural(u, "incomplete upload"),
        (a, u) => format!(
            "{} and {}",
            plural(a, "archive"),
            plural(u, "incomplete upload")
        ),
    };
    match failed.len() {
        0 => Ok(()),
        _ => {
            let first = failed.swap_remove(0);
            Err(CliError::new(
                first.kind,
                format!(
                    "{what} could not be removed (kept, see above); first: {}",
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

/// The uploads noted under the prefix: those older than `older_than` seconds are aborted
/// (unless a dry run), the others kept; one row each.
fn incomplete_uploads(
    ctx: &Context,
    client: &s3::Client,
    older_than: u64,
    dry_run: bool,
    failed: &mut Vec<CliError>,
) -> Result<Vec<serde_json::Value>> {
    let mut rows = Vec::new();
    for noted in client.pending()? {
        let p = match &noted.pending {
            Ok(p) => p,
            Err(why) => {
                rows.push(json!({
                    "upload": noted.note,
                    "action": "keep",
                    "reason": format!("note not used: {why}"),
                }));
                continue;
            }
        };
        let now = ctx.now();
        let started = crate::output::ago(p.started_at, now);
        let (mut action, mut reason) =
            if now.saturating_sub(p.started_at) >= i64::try_from(older_than).unwrap_or(i64::MAX) {
                ("abort", format!("interrupted run, started {started}"))
            } else {
                (
                    "keep",
                    format!(
                        "started {started}: a run may still be uploading (--incomplete-older-than)"
                    ),
                )
            };
        if action == "abort"
            && !dry_run
            && let Err(e) = client.abort_noted(&noted)
        {
            action = "keep";
            reason = format!("could not be aborted: {}", e.message);
            failed.push(e);
        }
        rows.push(json!({
            "upload": format!("s3://{}/{}", client.url.bucket, p.key),
            "upload_id": p.upload_id,
            "started_at": crate::output::rfc3339(p.started_at),
            "action": action,
            "reason": reason,
        }));
    }
    Ok(rows)
}

/// `1 archive`, `2 archives`.
fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
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
    fn incomplete_older_than_takes_a_duration_or_zero() {
        assert_eq!(parse_age("0s"), Ok(0));
        assert_eq!(parse_age("0"), Ok(0));
        assert_eq!(parse_age("24h"), Ok(86_400));
        for bad in ["", "-1h", "0x", "soon"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
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
