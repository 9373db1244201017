//! Passwords, tokens and recovery codes: generation and one-way hashing.
//!
//! Operator passwords are hashed with argon2id (m = 19456 KiB, t = 2, p = 1, the OWASP
//! minimum) into PHC strings. Bearer tokens and recovery codes are 256-bit / 50-bit random
//! values: they need no slow hash, so the database keeps their SHA-256 only, which is
//! enough to look them up and useless to a thief of the database.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

/// Prefixes make a leaked token recognisable (secret scanners, logs) and say what it is.
pub const ACCESS_PREFIX: &str = "imadm_at_";
pub const REFRESH_PREFIX: &str = "imadm_rt_";
pub const MFA_PREFIX: &str = "imadm_mfa_";
pub const SERVICE_PREFIX: &str = "imadm_st_";

fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16-byte salt");
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing of a short password cannot fail")
        .to_string()
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A PHC hash of nothing anyone knows, verified against when the username does not exist
/// so that an attacker cannot tell "no such operator" from "wrong password" by timing.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_token("")))
}

/// A random 256-bit token, base64url, behind `prefix`.
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// A password for generated accounts (dev owner, one-time init password).
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A recovery code: `xxxxx-xxxxx` from an unambiguous lowercase alphabet (~50 bits).
pub fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let mut s = String::with_capacity(11);
    for i in 0..10 {
        if i == 5 {
            s.push('-');
        }
        s.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    s
}

/// SHA-256 hex of a token: what the database stores and looks up.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hash_is_argon2id_phc_with_required_cost() {
        let phc = hash_password("correct horse");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("correct horsf", &phc));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn tokens_are_unique_and_hashes_hide_them() {
        let a = random_token(ACCESS_PREFIX);
        let b = random_token(ACCESS_PREFIX);
        assert_ne!(a, b);
        assert!(a.starts_with(ACCESS_PREFIX));
        assert_eq!(token_hash(&a).len(), 64);
        assert!(!token_hash(&a).contains(&a[ACCESS_PREFIX.len()..]));
        let code = recovery_code();
        assert_eq!(code.len(), 11);
        assert_eq!(&code[5..6], "-");
    }
}
