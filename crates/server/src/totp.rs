//! TOTP (RFC 6238) verification with the replay rule of RFC 6238 §5.2.
//!
//! A code is accepted for the steps T-1, T and T+1 only (30 s steps), and only when its
//! step is later than the last step this operator successfully used: a code seen once is
//! dead, even inside its window. The caller stores the returned step atomically
//! (`UPDATE ... WHERE last_totp_step < ?`), so two concurrent logins with the same code
//! cannot both win. Code generation goes through totp-rs; the RFC's Appendix B vectors are
//! checked against this same path in the tests below.
//!
//! A last used step beyond the window (`> T+1`) can only come from a server clock that ran
//! ahead and came back: every right code would then read as a replay. [`check`] says
//! [`Check::ClockSkew`] instead, and the caller caps the stored step at [`max_step`] (no
//! code of the current window can have been used after that), so codes work again from
//! the next step on.

use totp_rs::{Algorithm, Builder, Secret, Totp};

pub const STEP_SECS: u64 = 30;
pub const DIGITS: u8 = 6;
/// Steps of tolerated clock drift either side of now.
pub const SKEW: u64 = 1;

#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    /// The code matches this step, which has not been used before.
    Valid(u64),
    /// The code matches a step at or before the last one used: a replay.
    Replayed,
    /// The code matches the window, but the last used step lies beyond the window: the
    /// clock ran ahead when that step was used. Not the user's fault, and not a replay of
    /// this code as far as anyone can tell.
    ClockSkew {
        last_step: u64,
    },
    Invalid,
}

/// The latest step a code can be accepted for at unix time `now` (the window's end): a
/// stored last used step is never meaningfully later than this.
pub fn max_step(now: u64) -> u64 {
    now / STEP_SECS + SKEW
}

/// Build the TOTP generator for a raw secret. `algorithm` and `digits` are parameters only
/// so the RFC vectors can run through this function; operators always get SHA1/6.
pub fn generator(secret: &[u8], algorithm: Algorithm, digits: u8) -> Totp {
    Builder::new()
        .with_algorithm(algorithm)
        .with_digits(digits)
        .with_step_duration(STEP_SECS)
        .with_skew(SKEW as u16)
        .with_secret(Secret::from(secret.to_vec()))
        .build_noncompliant()
}

/// The code for unix time `now`.
pub fn code_at(secret: &[u8], algorithm: Algorithm, digits: u8, now: u64) -> String {
    generator(secret, algorithm, digits)
        .generate(now)
        .to_string()
}

/// Check a 6-digit SHA1 code against `now`, given the last step used (if any).
pub fn check(secret: &[u8], code: &str, now: u64, last_step: Option<u64>) -> Check {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Check::Invalid;
    }
    let totp = generator(secret, Algorithm::SHA1, DIGITS);
    let current = now / STEP_SECS;
    for step in current.saturating_sub(SKEW)..=current + SKEW {
        let expected = totp.generate(step * STEP_SECS).to_string();
        if constant_time_eq(expected.as_bytes(), code.as_bytes()) {
            return match last_step {
                Some(last) if last > max_step(now) => Check::ClockSkew { last_step: last },
                Some(last) if step <= last => Check::Replayed,
                _ => Check::Valid(step),
            };
        }
    }
    Check::Invalid
}

/// A fresh random secret (160 bits, as RFC 4226 recommends).
pub fn new_secret() -> Vec<u8> {
    Secret::generate().as_bytes().to_vec()
}

pub fn to_base32(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

/// The `otpauth://` URI authenticator apps scan.
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        enc(issuer),
        enc(account),
        to_base32(secret),
        enc(issuer)
    )
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn window_is_previous_current_and_next_step_only() {
        let now = 1_000_000_020; // inside step 33_333_334
        let step = now / STEP_SECS;
        for (offset, ok) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let t = ((step as i64 + offset) as u64) * STEP_SECS;
            let code = code_at(SECRET, Algorithm::SHA1, 6, t);
            let got = check(SECRET, &code, now, None);
            assert_eq!(
                matches!(got, Check::Valid(_)),
                ok,
                "offset {offset}: {got:?}"
            );
        }
    }

    #[test]
    fn used_step_and_earlier_steps_are_replays() {
        let now = 1_000_000_020;
        let step = now / STEP_SECS;
        let code = code_at(SECRET, Algorithm::SHA1, 6, now);
        assert_eq!(check(SECRET, &code, now, None), Check::Valid(step));
        assert_eq!(check(SECRET, &code, now, Some(step)), Check::Replayed);
        let prev = code_at(SECRET, Algorithm::SHA1, 6, now - STEP_SECS);
        assert_eq!(check(SECRET, &prev, now, Some(step)), Check::Replayed);
        let next = code_at(SECRET, Algorithm::SHA1, 6, now + STEP_SECS);
        assert_eq!(
            check(SECRET, &next, now, Some(step)),
            Check::Valid(step + 1)
        );
    }

    #[test]
    fn a_last_step_beyond_the_window_is_clock_skew_not_a_replay() {
        let now = 1_000_000_020;
        let step = now / STEP_SECS;
        let code = code_at(SECRET, Algorithm::SHA1, 6, now);
        // Stored while the clock ran a day ahead.
        let ahead = step + 2880;
        assert_eq!(
            check(SECRET, &code, now, Some(ahead)),
            Check::ClockSkew { last_step: ahead }
        );
        // Just beyond the window is skew too; the window's end is an ordinary replay.
        assert_eq!(
            check(SECRET, &code, now, Some(step + 2)),
            Check::ClockSkew {
                last_step: step + 2
            }
        );
        assert_eq!(max_step(now), step + 1);
        assert_eq!(check(SECRET, &code, now, Some(step + 1)), Check::Replayed);
        // A wrong code stays wrong.
        let wrong = if code == "000000" { "111111" } else { "000000" };
        assert_eq!(check(SECRET, wrong, now, Some(ahead)), Check::Invalid);
        // Once the stored step is capped at the window's end, the next step's code works.
        let next = code_at(SECRET, Algorithm::SHA1, 6, now + 2 * STEP_SECS);
        assert_eq!(
            check(SECRET, &next, now + 2 * STEP_SECS, Some(max_step(now))),
            Check::Valid(step + 2)
        );
    }

    #[test]
    fn malformed_codes_are_invalid() {
        for bad in ["", "12345", "1234567", "12a456", "      "] {
            assert_eq!(check(SECRET, bad, 59, None), Check::Invalid, "{bad:?}");
        }
    }

    /// RFC 6238 Appendix B: all 18 vectors (3 algorithms × 6 times, 8 digits). The
    /// vectors are data (tests/vectors/rfc6238.txt at the repo root); the codes are
    /// computed by [`code_at`], the function the server's [`check`] uses.
    #[test]
    fn rfc6238_appendix_b_vectors() {
        let data = include_str!("../../../tests/vectors/rfc6238.txt");
        let mut n = 0;
        for line in data
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (time, alg, expected) = (f[0].parse::<u64>().unwrap(), f[1], f[2]);
            let (algorithm, secret): (Algorithm, &[u8]) = match alg {
                "SHA1" => (Algorithm::SHA1, b"12345678901234567890"),
                "SHA256" => (Algorithm::SHA256, b"12345678901234567890123456789012"),
                "SHA512" => (
                    Algorithm::SHA512,
                    b"1234567890123456789012345678901234567890123456789012345678901234",
                ),
                other => panic!("unknown algorithm {other}"),
            };
            assert_eq!(code_at(secret, algorithm, 8, time), expected, "{line}");
            n += 1;
        }
        assert_eq!(n, 18);
    }

    #[test]
    fn otpauth_uri_has_parameters_apps_need() {
        let uri = otpauth_uri(SECRET, "imadm dev", "admin");
        assert!(uri.starts_with(
            "otpauth://totp/imadm%20dev:admin?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        ));
        assert!(uri.contains("&digits=6&period=30"));
    }
}
