//! OpenSSH `allowed_signers` files (ssh-keygen(1) "ALLOWED SIGNERS"): which keys may sign
//! audit reports, for which principals and namespaces, and when.
//!
//! Each line: `principals [options] keytype base64-key [comment]`, `#` comments and blank
//! lines ignored. Options: `namespaces="a,b"`, `valid-after=`/`valid-before=` (YYYYMMDD,
//! YYYYMMDDHHMM or YYYYMMDDHHMMSS, taken as UTC; a trailing `Z` is accepted).
//! `cert-authority` lines are refused with a clear error: report signatures are plain
//! keys, and accepting a CA without checking certificates would trust every key it signs.

use crate::error::{CliError, Kind, Result};

#[derive(Debug, Clone)]
pub struct Entry {
    pub line: usize,
    pub principals: Vec<String>,
    pub namespaces: Option<Vec<String>>,
    pub valid_after: Option<i64>,
    pub valid_before: Option<i64>,
    pub key: ssh_key::public::KeyData,
}

#[derive(Debug, Default)]
pub struct AllowedSigners {
    pub entries: Vec<Entry>,
}

/// Split on whitespace outside double quotes (quotes kept for the option splitter).
fn tokens(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    if any {
        out.push(cur);
    }
    Ok(out)
}

/// Split options on commas outside quotes.
fn split_options(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim_end_matches(['Z', 'z']);
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r).and_then(|v| v.parse::<u32>().ok());
    let (hh, mm, ss) = match s.len() {
        8 => (0, 0, 0),
        12 => (n(8..10)?, n(10..12)?, 0),
        14 => (n(8..10)?, n(10..12)?, n(12..14)?),
        _ => return None,
    };
    let date = time::Date::from_calendar_date(
        n(0..4)? as i32,
        time::Month::try_from(n(4..6)? as u8).ok()?,
        n(6..8)? as u8,
    )
    .ok()?;
    let t = time::Time::from_hms(hh as u8, mm as u8, ss as u8).ok()?;
    Some(
        time::PrimitiveDateTime::new(date, t)
            .assume_utc()
            .unix_timestamp(),
    )
}

/// OpenSSH principal patterns: `*` and `?` wildcards, `!` negation not supported.
fn glob(pat: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

impl AllowedSigners {
    pub fn parse(text: &str, file: &str) -> Result<Self> {
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let t = raw.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let bad = |why: String| {
                CliError::usage(format!("{file} line {line}: {why}")).hint(
                    "each line is `principals [namespaces=\"imadm-audit\"] ssh-ed25519 AAAA...` \
                     (see ssh-keygen(1), ALLOWED SIGNERS)",
                )
            };
            let toks = tokens(t).map_err(bad)?;
            let mut it = toks.into_iter();
            let principals: Vec<String> = it
                .next()
                .unwrap_or_default()
                .replace('"', "")
                .split(',')
                .map(str::to_owned)
                .collect();
            let rest: Vec<String> = it.collect();
            let (opts, key_at) = match rest.first() {
                Some(k) if ssh_key::Algorithm::new(k).is_ok() => (None, 0),
                Some(o) => (Some(o.clone()), 1),
                None => return Err(bad("no key".into())),
            };
            let mut e = Entry {
                line,
                principals,
                namespaces: None,
                valid_after: None,
                valid_before: None,
                key: ssh_key::public::KeyData::Ed25519(ssh_key::public::Ed25519PublicKey([0; 32])),
            };
            if let Some(opts) = opts {
                for o in split_options(&opts) {
                    let (name, value) = match o.split_once('=') {
                        Some((n, v)) => (n.to_ascii_lowercase(), Some(v.to_owned())),
                        None => (o.to_ascii_lowercase(), None),
                    };
                    match (name.as_str(), value) {
                        ("cert-authority", _) => {
                            return Err(CliError::usage(format!(
                                "{file} line {line}: cert-authority entries are not supported"
                            ))
                            .hint("list the signers' own public keys instead of a certificate authority"));
                        }
                        ("namespaces", Some(v)) => {
                            e.namespaces = Some(v.split(',').map(str::to_owned).collect())
                        }
                        ("valid-after", Some(v)) => {
                            e.valid_after =
                                Some(parse_time(&v).ok_or_else(|| bad(format!("bad time {v:?}")))?)
                        }
                        ("valid-before", Some(v)) => {
                            e.valid_before =
                                Some(parse_time(&v).ok_or_else(|| bad(format!("bad time {v:?}")))?)
                        }
                        (other, _) => return Err(bad(format!("unknown option {other:?}"))),
                    }
                }
            }
            let key_text = rest
                .get(key_at..key_at + 2)
                .map(|k| k.join(" "))
                .ok_or_else(|| bad("no key".into()))?;
            let pk = ssh_key::PublicKey::from_openssh(&key_text)
                .map_err(|err| bad(format!("bad key: {err}")))?;
            e.key = pk.key_data().clone();
            entries.push(e);
        }
        Ok(AllowedSigners { entries })
    }

    /// The principal under which `key` may sign in `namespace` at `now`, optionally
    /// restricted to `identity`. Errors say why no entry fits.
    pub fn authorize(
        &self,
        key: &ssh_key::public::KeyData,
        namespace: &str,
        now: i64,
        identity: Option<&str>,
        key_text: &str,
    ) -> Result<String> {
        let mut why = format!("the signing key {key_text} is not in the allowed signers file");
        for e in self.entries.iter().filter(|e| &e.key == key) {
            let principal = match identity {
                Some(id) => match e.principals.iter().any(|p| glob(p, id)) {
                    true => id.to_owned(),
                    false => {
                        why = format!(
                            "the signing key is allowed for {}, not for {id:?}",
                            e.principals.join(",")
                        );
                        continue;
                    }
                },
                None => e.principals.join(","),
            };
            if let Some(ns) = &e.namespaces
                && !ns.iter().any(|n| glob(n, namespace))
            {
                why = format!(
                    "the signing key is allowed (line {}) only for namespaces {}, not {namespace}",
                    e.line,
                    ns.join(",")
                );
                continue;
            }
            if e.valid_after.is_some_and(|t| now < t) || e.valid_before.is_some_and(|t| now >= t) {
                why = format!("the signing key is not valid now (line {})", e.line);
                continue;
            }
            return Ok(principal);
        }
        Err(
            CliError::new(Kind::Integrity, format!("signature not trusted: {why}")).hint(
                "add the signer's key to the allowed signers file, or check --allowed-signers",
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGWbJzbfr2Y6xcl6i0dVb1f4yYcr2nU9lPqJzGmXJ6ZG";

    fn key() -> ssh_key::public::KeyData {
        ssh_key::PublicKey::from_openssh(KEY)
            .unwrap()
            .key_data()
            .clone()
    }

    #[test]
    fn parses_options_comments_and_matches() {
        let text = format!(
            "# auditors\n\nalice@example.com,bob@* namespaces=\"imadm-audit,git\",valid-after=\"20200101\" {KEY} comment\n"
        );
        let a = AllowedSigners::parse(&text, "f").unwrap();
        assert_eq!(a.entries.len(), 1);
        let now = 1_800_000_000;
        assert!(
            a.authorize(&key(), "imadm-audit", now, Some("bob@corp"), KEY)
                .is_ok()
        );
        let e = a.authorize(&key(), "file", now, None, KEY).unwrap_err();
        assert!(e.message.contains("namespaces"), "{}", e.message);
        assert!(
            a.authorize(&key(), "imadm-audit", now, Some("eve"), KEY)
                .is_err()
        );
        assert!(
            a.authorize(&key(), "imadm-audit", 1_000_000, None, KEY)
                .is_err()
        );
    }

    #[test]
    fn refuses_cert_authority_and_garbage() {
        let e = AllowedSigners::parse(&format!("* cert-authority {KEY}"), "f").unwrap_err();
        assert!(e.message.contains("cert-authority"));
        assert!(AllowedSigners::parse("alice", "f").is_err());
        assert!(AllowedSigners::parse("alice bogus=1 ssh-ed25519 AAAA", "f").is_err());
        assert_eq!(parse_time("20200101"), Some(1_577_836_800));
        assert!(glob("*@example.com", "a@example.com") && !glob("a?", "abc"));
    }
}
