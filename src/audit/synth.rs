//! Synthetic audit chains for tests and the benchmark (`imadm __synth-audit-report`):
//! events hashed with the api's chain functions and checkpoints signed with a
//! deterministic, publicly known test Ed25519 key, as the server would. Never trusted:
//! the key is derived from a constant and exists only to make test data.

use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use imadm_api::audit::{self, AuditEvent, Checkpoint, GENESIS};

use super::report::{Range, ReportWriter, ServerMeta};

pub const SERVER_ID: &str = "srv-test";

/// A deterministic server key and its `ssh-ed25519 AAAA...` line.
pub fn server_key(n: u8) -> (SigningKey, String) {
    let sk = SigningKey::from_bytes(&[n; 32]);
    let pk = ssh_key::PublicKey::new(
        ssh_key::public::KeyData::Ed25519(ssh_key::public::Ed25519PublicKey(
            sk.verifying_key().to_bytes(),
        )),
        "",
    );
    (sk, pk.to_openssh().unwrap().trim().to_owned())
}

const ACTIONS: &[(&str, &str)] = &[
    ("auth.login", "success"),
    ("auth.login", "failure"),
    ("user.create", "success"),
    ("message.read", "success"),
    ("operator.grant", "success"),
    ("auth.lockout", "failure"),
];

/// Event `seq` (hash left empty).
pub fn event(seq: u64) -> AuditEvent {
    let (action, outcome) = ACTIONS[(seq as usize * 7) % ACTIONS.len()];
    AuditEvent {
        seq,
        at: audit::format_at(1_764_000_000_000 + seq as i64 * 60_000),
        actor_type: if seq.is_multiple_of(5) {
            "token"
        } else {
            "operator"
        }
        .into(),
        actor: format!("op{}", seq % 4),
        source: Some(format!("10.0.0.{}", seq % 250)),
        action: action.into(),
        target: (seq.is_multiple_of(3)).then(|| format!("user:u{seq}")),
        outcome: outcome.into(),
        request_id: Some(format!("req-{seq}")),
        detail: (seq.is_multiple_of(7)).then(|| "detail, with \"quotes\"\nand a newline".into()),
        hash: String::new(),
    }
}

/// Events 1..=n with correct chain hashes.
#[cfg(test)]
pub fn chain(n: u64) -> Vec<AuditEvent> {
    let mut prev = GENESIS;
    (1..=n)
        .map(|s| {
            let mut e = event(s);
            prev = audit::chain_next(&prev, &e.leaf());
            e.hash = audit::hash_hex(&prev);
            e
        })
        .collect()
}

pub fn checkpoint(sk: &SigningKey, seq: u64, head: &str) -> Checkpoint {
    let at = audit::format_at(1_765_000_000_000);
    let msg = Checkpoint::signed_message(seq, head, &at, SERVER_ID);
    Checkpoint {
        seq,
        head: head.to_owned(),
        at,
        server_id: SERVER_ID.into(),
        signature: base64::engine::general_purpose::STANDARD.encode(sk.sign(&msg).to_bytes()),
    }
}

/// Stream a report of events 1..=n into `w` without holding them; returns the digest.
pub fn write_report<W: std::io::Write>(w: W, n: u64) -> crate::error::Result<[u8; 64]> {
    let (sk, pk) = server_key(1);
    let server = ServerMeta {
        url: "https://127.0.0.1:1".into(),
        server_id: SERVER_ID.into(),
        audit_public_key: pk,
    };
    let range = Range {
        since: None,
        until: None,
        first_seq: 1,
        last_seq: n,
        count: n,
    };
    let mut rw = ReportWriter::begin(w, &server, &range, None, &None)?;
    let mut prev = GENESIS;
    for s in 1..=n {
        let mut e = event(s);
        prev = audit::chain_next(&prev, &e.leaf());
        e.hash = audit::hash_hex(&prev);
        rw.event(&e)?;
    }
    let cp = checkpoint(&sk, n, &audit::hash_hex(&prev));
    Ok(rw.finish(&Some(cp))?.1)
}

/// A JSON report of events `first..=last` of a chain of `last` events.
#[cfg(test)]
pub fn report(first: u64, last: u64) -> Vec<u8> {
    let (sk, pk) = server_key(1);
    let all = chain(last);
    let anchor = (first > 1).then(|| checkpoint(&sk, first - 1, &all[first as usize - 2].hash));
    let cp = checkpoint(&sk, last, &all[last as usize - 1].hash);
    let server = ServerMeta {
        url: "https://127.0.0.1:1".into(),
        server_id: SERVER_ID.into(),
        audit_public_key: pk,
    };
    let range = Range {
        since: None,
        until: None,
        first_seq: first,
        last_seq: last,
        count: last - first + 1,
    };
    let mut w = ReportWriter::begin(
        Vec::new(),
        &server,
        &range,
        Some("tester@example.com"),
        &anchor,
    )
    .unwrap();
    for e in &all[first as usize - 1..] {
        w.event(e).unwrap();
    }
    w.finish(&Some(cp)).unwrap().0
}
