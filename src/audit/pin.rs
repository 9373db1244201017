//! The server's audit public key: parsing the OpenSSH one-line form the server publishes
//! (`ssh-ed25519 AAAA... imadm-audit@<server_id>`) and trust-on-first-use pinning, like
//! SSH known_hosts. The pin lives in the profile (`audit_key` in config.toml); a changed
//! key is an integrity failure until the operator re-pins deliberately, unless the server
//! rotated it with a hand-off signed by the pinned key (`GET /admin/keys/audit-handoffs`),
//! which the CLI follows.

use ed25519_dalek::VerifyingKey;
use imadm_api::audit::KeyHandoff;

use crate::error::{CliError, Kind, Result};

/// A parsed server audit key: the Ed25519 key and the OpenSSH text it came from.
#[derive(Debug, Clone)]
pub struct ServerKey {
    pub key: VerifyingKey,
    /// `ssh-ed25519 AAAA...` without the comment: what pins compare.
    pub openssh: String,
}

impl ServerKey {
    /// Parse `ssh-ed25519 AAAA... [comment]`; only Ed25519 keys are audit keys.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |why: String| {
            CliError::usage(format!("not a server audit key: {why}")).hint(
                "give the OpenSSH public key line `ssh-ed25519 AAAA...` from /admin/server-info \
                 (audit_public_key), or a file holding it",
            )
        };
        let pk = ssh_key::PublicKey::from_openssh(text.trim()).map_err(|e| bad(e.to_string()))?;
        let ed = pk
            .key_data()
            .ed25519()
            .ok_or_else(|| bad(format!("{} is not an Ed25519 key", pk.algorithm())))?;
        let key = VerifyingKey::from_bytes(&ed.0).map_err(|e| bad(e.to_string()))?;
        let mut bare = pk.clone();
        bare.set_comment("");
        let openssh = bare
            .to_openssh()
            .map_err(|e| bad(e.to_string()))?
            .trim()
            .to_owned();
        Ok(ServerKey { key, openssh })
    }

    /// `--server-key` takes the key text or a file holding it.
    pub fn from_arg(arg: &str) -> Result<Self> {
        if arg.trim_start().starts_with("ssh-") {
            return Self::parse(arg);
        }
        let text = std::fs::read_to_string(arg).map_err(|e| {
            CliError::usage(format!("cannot read server key file {arg}: {e}"))
                .hint("pass the key itself (`ssh-ed25519 AAAA...`) or a readable file")
        })?;
        Self::parse(&text)
    }
}

/// What pinning decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Pin {
    /// No key was pinned: pin this one now.
    First,
    /// The served key is the pinned one.
    Same,
    /// The served key is the pinned one's successor: each hand-off from the pinned key
    /// on (at these chain positions) is signed by the key it replaces.
    Followed(Vec<u64>),
}

/// Whether `h` is a hand-off of server `server_id` signed by `from`.
fn signed_by(h: &KeyHandoff, from: &ServerKey, server_id: &str) -> bool {
    use base64::Engine;
    h.server_id == server_id
        && ServerKey::parse(&h.old_key).is_ok_and(|k| k.key == from.key)
        && base64::engine::general_purpose::STANDARD
            .decode(&h.signature)
            .ok()
            .and_then(|b| ed25519_dalek::Signature::from_slice(&b).ok())
            .is_some_and(|sig| from.key.verify_strict(&h.message(), &sig).is_ok())
}

/// Follow the hand-offs (oldest first) from `pinned`: the key they lead to, and the chain
/// position of each one followed. A hand-off not signed by the key it names as old is
/// skipped, so it leads nowhere.
fn follow(pinned: &ServerKey, handoffs: &[KeyHandoff], server_id: &str) -> (ServerKey, Vec<u64>) {
    let mut current = pinned.clone();
    let mut followed = Vec::new();
    for h in handoffs {
        if signed_by(h, &current, server_id)
            && let Ok(next) = ServerKey::parse(&h.new_key)
        {
            current = next;
            followed.push(h.seq);
        }
    }
    (current, followed)
}

/// Compare the served key with the pinned one (comments ignored), following the server's
/// signed hand-offs from the pinned key.
pub fn check(
    pinned: Option<&str>,
    served: &ServerKey,
    handoffs: &[KeyHandoff],
    server_id: &str,
    profile: &str,
) -> Result<Pin> {
    let Some(pinned) = pinned else {
        return Ok(Pin::First);
    };
    let pinned = ServerKey::parse(pinned).map_err(|e| {
        CliError::new(
            Kind::Integrity,
            format!(
                "the pinned audit key of profile {profile:?} is unreadable: {}",
                e.message
            ),
        )
        .hint(format!(
            "remove it with `imadm --profile {profile} config set audit_key ''` to pin again"
        ))
    })?;
    if pinned.key == served.key {
        return Ok(Pin::Same);
    }
    let (reached, followed) = follow(&pinned, handoffs, server_id);
    if reached.key == served.key {
        Ok(Pin::Followed(followed))
    } else {
        Err(CliError::new(
            Kind::Integrity,
            format!(
                "the server's audit key changed: pinned {} but the server presents {}, and no hand-off signed by the pinned key leads to it",
                pinned.openssh, served.openssh
            ),
        )
        .hint(format!(
            "this can mean the server or the connection is not the one you trust. If the key was \
             rotated on purpose, confirm the new key with the server's administrator, then run \
             `imadm --profile {profile} config set audit_key '{}'`",
            served.openssh
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_first_use_accepts_same_and_refuses_change() {
        let a = crate::audit::synth::server_key(1);
        let b = crate::audit::synth::server_key(2);
        let ka = ServerKey::parse(&format!("{} imadm-audit@x", a.1)).unwrap();
        let kb = ServerKey::parse(&b.1).unwrap();
        assert_eq!(check(None, &ka, &[], "x", "p").unwrap(), Pin::First);
        assert_eq!(check(Some(&a.1), &ka, &[], "x", "p").unwrap(), Pin::Same);
        let e = check(Some(&a.1), &kb, &[], "x", "prod").unwrap_err();
        assert_eq!(e.kind, Kind::Integrity);
        assert!(e.message.contains("changed"), "{}", e.message);
        assert!(e.hint.unwrap().contains("config set audit_key"));
        assert!(ServerKey::parse("ssh-rsa AAAA").is_err());
    }

    fn handoff(from: &(ed25519_dalek::SigningKey, String), to: &str, seq: u64) -> KeyHandoff {
        use base64::Engine;
        use ed25519_dalek::Signer;
        let mut h = KeyHandoff {
            server_id: "x".into(),
            seq,
            head: "ab".repeat(32),
            at: "2026-01-01T00:00:00.000Z".into(),
            old_key: from.1.clone(),
            new_key: to.into(),
            signature: String::new(),
        };
        h.signature =
            base64::engine::general_purpose::STANDARD.encode(from.0.sign(&h.message()).to_bytes());
        h
    }

    /// A pinned key follows a chain of hand-offs each signed by the key it replaces; a
    /// hand-off signed by another key, for another server, or altered, leads nowhere.
    #[test]
    fn follows_signed_handoffs_only() {
        let a = crate::audit::synth::server_key(1);
        let b = crate::audit::synth::server_key(2);
        let c = crate::audit::synth::server_key(3);
        let kc = ServerKey::parse(&c.1).unwrap();
        let chain = [handoff(&a, &b.1, 5), handoff(&b, &c.1, 9)];
        assert_eq!(
            check(Some(&a.1), &kc, &chain, "x", "p").unwrap(),
            Pin::Followed(vec![5, 9])
        );
        assert_eq!(
            check(Some(&b.1), &kc, &chain, "x", "p").unwrap(),
            Pin::Followed(vec![9])
        );
        // Signed by c, not by a (the key it claims to replace).
        let mut forged = handoff(&c, &c.1, 5);
        forged.old_key = a.1.clone();
        let e = check(Some(&a.1), &kc, &[forged], "x", "p").unwrap_err();
        assert_eq!(e.kind, Kind::Integrity);
        // Another server's hand-off, or an altered one.
        assert!(check(Some(&a.1), &kc, &chain, "y", "p").is_err());
        let mut altered = chain.clone();
        altered[1].seq = 10;
        assert!(check(Some(&a.1), &kc, &altered, "x", "p").is_err());
    }
}
