//! Each control failing and passing on fixed facts with a fixed clock.

use super::*;

const NOW: i64 = 1_800_000_000;

fn op(name: &str, roles: &[&str], mfa: bool, last_login_days_ago: Option<i64>) -> Operator {
    Operator {
        id: 1,
        username: name.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        disabled: false,
        mfa_enrolled: mfa,
        passkeys: 0,
        created_at: NOW - 400 * DAY,
        last_login_at: last_login_days_ago.map(|d| NOW - d * DAY),
    }
}

fn token(name: &str, expires_in_days: i64, last_used_days_ago: Option<i64>) -> ServiceToken {
    ServiceToken {
        id: 7,
        name: name.into(),
        scopes: vec!["user:read".into()],
        created_by: "alice".into(),
        created_at: NOW - 100 * DAY,
        expires_at: NOW + expires_in_days * DAY,
        last_used_at: last_used_days_ago.map(|d| NOW - d * DAY),
        last_used_addr: None,
        revoked: false,
    }
}

fn attestation(days_ago: i64, signature: &str) -> Attestation {
    Attestation {
        id: 3,
        reviewer: "Ana".into(),
        recorded_by: "alice".into(),
        review_sha256: "a".repeat(64),
        signature: signature.into(),
        attested_at: NOW - days_ago * DAY,
        operators: 3,
        tokens: 1,
        keep: 0,
        revoke: 0,
    }
}

/// Facts on which every control passes with the default policy.
fn healthy() -> Facts {
    Facts {
        operators: Ok(vec![
            op("alice", &["owner"], true, Some(1)),
            op("bob", &["owner"], true, Some(2)),
            op("carol", &["auditor"], true, Some(3)),
        ]),
        roles: Ok(vec![Role {
            name: "viewer".into(),
            description: String::new(),
            builtin: false,
            permissions: vec!["user:read".into()],
        }]),
        tokens: Ok(vec![token("ci", 30, Some(1))]),
        attestations: Ok(vec![attestation(10, "-----BEGIN SSH SIGNATURE-----\nAAAA")]),
        audit: Ok(AuditFacts {
            chain_error: None,
            checkpoint_seq: 42,
            events_checked: 42,
            server_key: "ssh-ed25519 AAAA".into(),
            pinned_key: Some("ssh-ed25519 AAAA".into()),
        }),
        alerts: Ok(vec![AlertFact {
            id: 1,
            severity: "high".into(),
            rule: "role_escalation".into(),
            at: NOW - HOUR,
            open: true,
        }]),
        backups: Some(Ok(BackupFacts {
            newest: Some(("b.age".into(), NOW - 2 * HOUR)),
            manifest_error: None,
            destinations: vec!["/a".into(), "/b".into()],
        })),
        tls_not_after: Some(Ok(NOW + 200 * DAY)),
    }
}

fn status_of(results: &[ControlResult], id: &str) -> Status {
    results.iter().find(|r| r.id == id).unwrap().status
}

/// Controls that are off unless the policy turns them on.
const OFF_BY_DEFAULT: &[&str] = &["operator-phishing-resistant-mfa"];

#[test]
fn healthy_server_passes_every_control() {
    let r = evaluate(&Policy::default(), &healthy(), NOW);
    assert_eq!(r.len(), CONTROLS.len());
    for c in r.iter().filter(|c| !OFF_BY_DEFAULT.contains(&c.id)) {
        assert_eq!(c.status, Status::Pass, "{}: {:?}", c.id, c.evidence);
    }
    assert!(!failed(&r));
}

#[test]
fn each_control_fails_on_its_own_violation() {
    type Breaker = fn(&mut Facts);
    let cases: &[(&str, Breaker)] = &[
        ("operator-mfa", |f| {
            f.operators.as_mut().unwrap()[2].mfa_enrolled = false
        }),
        ("operator-inactive", |f| {
            f.operators.as_mut().unwrap()[2].last_login_at = Some(NOW - 91 * DAY)
        }),
        ("owner-count", |f| {
            f.operators.as_mut().unwrap()[1].roles = vec!["admin".into()]
        }),
        ("owner-count", |f| {
            for n in ["d", "e"] {
                f.operators
                    .as_mut()
                    .unwrap()
                    .push(op(n, &["owner"], true, Some(1)));
            }
        }),
        ("role-all-permissions", |f| {
            f.roles.as_mut().unwrap()[0].permissions = imadm_api::permissions::CATALOGUE
                .iter()
                .map(|(n, _)| n.to_string())
                .collect()
        }),
        ("token-expiry", |f| {
            f.tokens.as_mut().unwrap()[0].expires_at = NOW + 365 * DAY
        }),
        ("token-unused", |f| {
            f.tokens.as_mut().unwrap()[0].last_used_at = None
        }),
        ("audit-chain", |f| {
            f.audit.as_mut().unwrap().chain_error = Some("event seq 7 altered".into())
        }),
        ("audit-server-key", |f| {
            f.audit.as_mut().unwrap().server_key = "ssh-ed25519 BBBB".into()
        }),
        ("audit-server-key", |f| {
            f.audit.as_mut().unwrap().pinned_key = None
        }),
        ("backup-fresh", |f| {
            f.backups.as_mut().unwrap().as_mut().unwrap().newest =
                Some(("b".into(), NOW - 30 * HOUR))
        }),
        ("backup-manifest", |f| {
            f.backups.as_mut().unwrap().as_mut().unwrap().manifest_error =
                Some("SHA-256 differs".into())
        }),
        ("backup-destinations", |f| {
            f.backups
                .as_mut()
                .unwrap()
                .as_mut()
                .unwrap()
                .destinations
                .pop();
        }),
        ("alert-open-high", |f| {
            f.alerts.as_mut().unwrap()[0].at = NOW - 25 * HOUR
        }),
        ("tls-expiry", |f| f.tls_not_after = Some(Ok(NOW + 10 * DAY))),
    ];
    for (id, breaker) in cases {
        let mut f = healthy();
        breaker(&mut f);
        let r = evaluate(&Policy::default(), &f, NOW);
        for c in &r {
            let want = if c.id == *id {
                Status::Fail
            } else if OFF_BY_DEFAULT.contains(&c.id) {
                Status::Skipped
            } else {
                Status::Pass
            };
            assert_eq!(c.status, want, "breaking {id}: {} {:?}", c.id, c.evidence);
        }
        assert!(failed(&r));
        let broken = r.iter().find(|c| c.id == *id).unwrap();
        assert!(
            broken.evidence.iter().any(|e| e.starts_with(VIOLATION)),
            "{id} names its violation"
        );
    }
}

#[test]
fn phishing_resistant_mfa_is_off_by_default_and_then_wants_a_passkey_per_listed_role() {
    let off = evaluate(&Policy::default(), &healthy(), NOW);
    assert_eq!(
        status_of(&off, "operator-phishing-resistant-mfa"),
        Status::Skipped
    );
    let mut policy = Policy::default();
    policy.thresholds.phishing_resistant_mfa_roles = vec!["owner".into()];
    let mut f = healthy();
    // Owners alice and bob: bob has no passkey; carol (auditor) is not bound.
    f.operators.as_mut().unwrap()[0].passkeys = 2;
    let r = evaluate(&policy, &f, NOW);
    let c = r
        .iter()
        .find(|c| c.id == "operator-phishing-resistant-mfa")
        .unwrap();
    assert_eq!(c.status, Status::Fail, "{:?}", c.evidence);
    assert!(c.evidence.iter().any(|e| e.contains("operator bob")));
    assert!(!c.evidence.iter().any(|e| e.contains("carol")));
    f.operators.as_mut().unwrap()[1].passkeys = 1;
    let r = evaluate(&policy, &f, NOW);
    assert_eq!(
        status_of(&r, "operator-phishing-resistant-mfa"),
        Status::Pass
    );
}

#[test]
fn disabled_and_unreachable_operators_do_not_count() {
    let mut f = healthy();
    let ops = f.operators.as_mut().unwrap();
    let mut gone = op("dave", &["owner"], false, Some(500));
    gone.disabled = true;
    ops.push(gone);
    f.tokens.as_mut().unwrap().push(ServiceToken {
        revoked: true,
        ..token("old", 900, None)
    });
    f.alerts.as_mut().unwrap().push(AlertFact {
        id: 2,
        severity: "high".into(),
        rule: "lockout".into(),
        at: NOW - 100 * HOUR,
        open: false,
    });
    let r = evaluate(&Policy::default(), &f, NOW);
    assert!(!failed(&r), "{r:#?}");
}

#[test]
fn unreachable_facts_are_errors_that_fail_the_gate() {
    let mut f = healthy();
    f.tokens = Err("403 permission denied".into());
    let r = evaluate(&Policy::default(), &f, NOW);
    assert_eq!(status_of(&r, "token-expiry"), Status::Error);
    assert_eq!(status_of(&r, "token-unused"), Status::Error);
    assert!(failed(&r));
}

#[test]
fn policy_knobs_move_the_thresholds_and_disable_controls_with_reasons() {
    let mut f = healthy();
    f.operators.as_mut().unwrap()[2].last_login_at = Some(NOW - 40 * DAY);
    f.tokens.as_mut().unwrap()[0].expires_at = NOW + 200 * DAY;
    f.tls_not_after = Some(Ok(NOW + 20 * DAY));
    f.backups = None;
    let strict = Policy::parse(
        r#"
        [thresholds]
        operator_inactive_days = 30
        owners_min = 1
        owners_max = 1
        token_max_lifetime_days = 365
        token_unused_days = 0
        backup_max_age_hours = 1
        backup_min_destinations = 3
        alert_max_open_hours = 0
        tls_min_valid_days = 10

        [disabled]
        audit-chain = "verified nightly by the SIEM"
        "#,
    )
    .unwrap();
    let r = evaluate(&strict, &f, NOW);
    assert_eq!(status_of(&r, "operator-inactive"), Status::Fail);
    assert_eq!(status_of(&r, "owner-count"), Status::Fail);
    assert_eq!(status_of(&r, "token-expiry"), Status::Pass);
    assert_eq!(status_of(&r, "token-unused"), Status::Fail);
    assert_eq!(status_of(&r, "alert-open-high"), Status::Fail);
    assert_eq!(status_of(&r, "tls-expiry"), Status::Pass);
    assert_eq!(status_of(&r, "backup-fresh"), Status::Skipped);
    let chain = r.iter().find(|c| c.id == "audit-chain").unwrap();
    assert_eq!(chain.status, Status::Skipped);
    assert!(
        chain
            .reason
            .as_deref()
            .unwrap()
            .contains("verified nightly by the SIEM")
    );
    let default = evaluate(&Policy::default(), &f, NOW);
    assert_eq!(status_of(&default, "operator-inactive"), Status::Pass);
    assert_eq!(status_of(&default, "token-expiry"), Status::Fail);
    assert_eq!(status_of(&default, "tls-expiry"), Status::Fail);
}

#[test]
fn bad_policies_are_refused_with_a_reason() {
    for (text, needle) in [
        ("[thresholds]\nowner_min = 2\n", "owner_min"),
        ("[disabled]\nno-such = \"x\"\n", "unknown control"),
        ("[disabled]\ntls-expiry = \"  \"\n", "without a reason"),
        (
            "[thresholds]\nowners_min = 4\nowners_max = 2\n",
            "larger than",
        ),
        ("[thresholds]\ntoken_unused_days = -1\n", "negative"),
        ("colour = 1\n", "colour"),
    ] {
        let e = Policy::parse(text).unwrap_err();
        assert!(e.message.contains(needle), "{text}: {}", e.message);
    }
}

#[test]
fn junit_output_parses_and_carries_every_verdict() {
    let mut f = healthy();
    f.operators.as_mut().unwrap()[2].mfa_enrolled = false;
    f.tokens = Err("boom <&>".into());
    let mut p = Policy::default();
    p.disabled
        .insert("tls-expiry".into(), "terminated at the \"LB\"".into());
    let r = evaluate(&p, &f, NOW);
    let xml = junit::render(&r, "https://im.example:8443", "2027-01-15T08:00:00Z");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("15"));
    assert_eq!(root.attribute("failures"), Some("1"));
    assert_eq!(root.attribute("errors"), Some("2"));
    // tls-expiry by the policy, operator-phishing-resistant-mfa by default.
    assert_eq!(root.attribute("skipped"), Some("2"));
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), CONTROLS.len());
    let mfa = cases
        .iter()
        .find(|c| c.attribute("name").unwrap().starts_with("operator-mfa"))
        .unwrap();
    let failure = mfa.children().find(|n| n.has_tag_name("failure")).unwrap();
    assert!(failure.attribute("message").unwrap().contains("carol"));
    let tls = cases
        .iter()
        .find(|c| c.attribute("name").unwrap().starts_with("tls-expiry"))
        .unwrap();
    let skipped = tls.children().find(|n| n.has_tag_name("skipped")).unwrap();
    assert!(
        skipped
            .attribute("message")
            .unwrap()
            .contains("terminated at the \"LB\"")
    );
    let err = cases
        .iter()
        .find(|c| c.attribute("name").unwrap().starts_with("token-unused"))
        .unwrap();
    let e = err.children().find(|n| n.has_tag_name("error")).unwrap();
    assert!(e.attribute("message").unwrap().contains("boom <&>"));
}

#[test]
fn access_review_fresh_needs_a_signed_attestation_within_the_limit() {
    let judge = |atts: Vec<Attestation>, p: &Policy, now: i64| {
        let mut f = healthy();
        f.attestations = Ok(atts);
        let r = evaluate(p, &f, now);
        let c = r
            .iter()
            .find(|r| r.id == "access-review-fresh")
            .unwrap()
            .clone();
        (c.status, c.evidence.join("; "))
    };
    let p = Policy::default();
    let signed = "-----BEGIN SSH SIGNATURE-----\nAAAA";
    assert_eq!(
        judge(vec![attestation(90, signed)], &p, NOW).0,
        Status::Pass
    );
    // The same attestation, one day later on the clock: beyond 90 days.
    let (st, ev) = judge(vec![attestation(90, signed)], &p, NOW + DAY);
    assert_eq!(st, Status::Fail);
    assert!(ev.contains("91 days ago (limit 90)"), "{ev}");
    // The newest signed one counts; an unsigned one never does.
    let (st, _) = judge(
        vec![attestation(200, signed), attestation(5, signed)],
        &p,
        NOW,
    );
    assert_eq!(st, Status::Pass);
    let (st, ev) = judge(vec![attestation(1, "unsigned")], &p, NOW);
    assert_eq!(st, Status::Fail);
    assert!(ev.contains("no signed access review attestation"), "{ev}");
    assert_eq!(judge(vec![], &p, NOW).0, Status::Fail);
    let mut lenient = Policy::default();
    lenient.thresholds.access_review_max_age_days = 365;
    assert_eq!(
        judge(vec![attestation(200, signed)], &lenient, NOW).0,
        Status::Pass
    );
    // Facts that could not be gathered are an error, which fails the gate.
    let mut f = healthy();
    f.attestations = Err("403".into());
    let r = evaluate(&p, &f, NOW);
    assert_eq!(status_of(&r, "access-review-fresh"), Status::Error);
}
