//! Human durations on the command line: `90d`, `24h`, `30m`, `45s`, `2w`, `1y`.

use crate::error::{CliError, Result};

/// Parse a duration into seconds.
pub fn parse_secs(s: &str) -> Result<u64> {
    let bad = || {
        CliError::usage(format!("invalid duration {s:?}"))
            .hint("use a number with a unit: s, m, h, d, w or y (e.g. 90d, 12h)")
    };
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "y" => 365 * 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).filter(|v| *v > 0).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::parse_secs;

    #[test]
    fn units_and_errors() {
        assert_eq!(parse_secs("45s").unwrap(), 45);
        assert_eq!(parse_secs("30m").unwrap(), 1800);
        assert_eq!(parse_secs("24h").unwrap(), 86_400);
        assert_eq!(parse_secs("90d").unwrap(), 90 * 86_400);
        assert_eq!(parse_secs("1y").unwrap(), 365 * 86_400);
        for bad in [
            "",
            "d",
            "10",
            "10x",
            "-1d",
            "0d",
            "1.5h",
            "99999999999999999999y",
        ] {
            assert!(parse_secs(bad).is_err(), "{bad:?}");
        }
    }
}
