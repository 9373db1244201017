//! The server's audit public key: parsing the OpenSSH one-line form the server publishes
//! (`ssh-ed25519 AAAA... imadm-audit@<server_id>`) and trust-on-first-use pinning, like
//! SSH known_hosts. The pin lives in the profile (`audit_key` in config.toml); a changed
//! key is an integrity failure until the operator re-pins deliberately.

use ed25519_dalek::VerifyingKey;

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
}

/// Compare the served key with the pinned one (comments ignored).
pub fn check(pinned: Option<&str>, served: &ServerKey, profile: &str) -> Result<Pin> {
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
        Ok(Pin::Same)
    } else {
        Err(CliError::new(
            Kind::Integrity,
            format!(
                "the server's audit key changed: pinned {} but the server presents {}",
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
        assert_eq!(check(None, &ka, "p").unwrap(), Pin::First);
        assert_eq!(check(Some(&a.1), &ka, "p").unwrap(), Pin::Same);
        let e = check(Some(&a.1), &kb, "prod").unwrap_err();
        assert_eq!(e.kind, Kind::Integrity);
        assert!(e.message.contains("changed"), "{}", e.message);
        assert!(e.hint.unwrap().contains("config set audit_key"));
        assert!(ServerKey::parse("ssh-rsa AAAA").is_err());
    }
}
