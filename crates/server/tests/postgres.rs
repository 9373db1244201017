//! The PostgreSQL backend against a real cluster: `IMADM_TEST_PG` is its URL, e.g.
//! `IMADM_TEST_PG=$(scripts/pg-cluster.sh start /tmp/imadm-pg)`. Unset, every test here
//! passes without running and says so on stderr, unless `IMADM_REQUIRE_PG` is set (as
//! `.ci/run` does, beside the cluster it starts): then every test fails.
//!
//! Each test works in a schema of its own (`search_path` in the URL's `options`), dropped
//! at the end, so tests run in parallel on one database.

use std::collections::BTreeSet;
use std::sync::Arc;

use imadm_api::audit::{AuditEvent, GENESIS, chain_next, format_at, hash_hex};
use imadm_server::store::Store;
use imadm_server::store::audit::NewAudit;
use imadm_server::store::postgres::{INTERNAL_TABLES, PgStore};

/// A fresh schema on the test cluster; dropped with everything in it on drop.
struct Schema {
    base: String,
    name: String,
}

impl Schema {
    fn new() -> Option<Schema> {
        let Ok(base) = std::env::var("IMADM_TEST_PG") else {
            // CI (`.ci/run`) starts a cluster and sets IMADM_REQUIRE_PG: there a missing URL
            // is a broken run, not a reason to pass without testing anything.
            assert!(
                std::env::var_os("IMADM_REQUIRE_PG").is_none(),
                "IMADM_REQUIRE_PG is set but IMADM_TEST_PG is not: no PostgreSQL cluster to test on"
            );
            eprintln!(
                "IMADM_TEST_PG unset: PostgreSQL test skipped (scripts/pg-cluster.sh start DIR)"
            );
            return None;
        };
        let name = format!("t{:016x}", rand::random::<u64>());
        client(&base)
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .unwrap();
        Some(Schema { base, name })
    }

    /// The cluster's URL with this schema first on the search path.
    fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", self.base, self.name)
    }

    fn open(&self) -> PgStore {
        PgStore::open(&self.url()).unwrap()
    }

    /// A plain connection on this schema, for what the store does not offer (raw SQL).
    fn client(&self) -> postgres::Client {
        client(&self.url())
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = client(&self.base).batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name));
    }
}

fn client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap()
}

fn event(actor: &str, i: usize) -> NewAudit {
    NewAudit {
        actor_type: "operator".into(),
        actor: actor.into(),
        action: "user.create".into(),
        target: Some(format!("user:u{i}")),
        outcome: "success".into(),
        ..NewAudit::default()
    }
}

#[test]
fn migrations_apply_once_and_a_newer_schema_is_refused() {
    let Some(schema) = Schema::new() else { return };
    drop(schema.open());
    // A second start (or a second instance) finds the schema done.
    let store = schema.open();
    store.set_setting("k", "v").unwrap();
    drop(store);
    let store = schema.open();
    assert_eq!(store.setting("k").unwrap().as_deref(), Some("v"));
    let mut c = schema.client();
    let versions: Vec<i64> = c
        .query("SELECT version FROM imadm_schema ORDER BY version", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let latest = PgStore::latest_version() as i64;
    assert_eq!(versions, (1..=latest).collect::<Vec<_>>());

    c.execute(
        "INSERT INTO imadm_schema (version, applied_at_ms) VALUES ($1, 0)",
        &[&(latest + 1)],
    )
    .unwrap();
    let e = PgStore::open(&schema.url()).err().unwrap().to_string();
    assert!(e.contains("newer than this imadm"), "{e}");
}

#[test]
fn every_table_is_classified_or_internal() {
    let Some(schema) = Schema::new() else { return };
    drop(schema.open());
    let tables: BTreeSet<String> = schema
        .client()
        .query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1",
            &[&schema.name],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let expected: BTreeSet<String> = imadm_server::store::restore::TABLES
        .iter()
        .map(|(t, _)| *t)
        .chain(INTERNAL_TABLES.iter().copied())
        .map(str::to_owned)
        .collect();
    assert_eq!(tables, expected);
}

#[test]
fn concurrent_appends_make_one_chain_without_gap_or_duplicate() {
    let Some(schema) = Schema::new() else { return };
    // Two stores: two pools, as two instances would have.
    let stores = [Arc::new(schema.open()), Arc::new(schema.open())];
    const WRITERS: usize = 8;
    const EACH: usize = 25;
    let threads: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = stores[w % 2].clone();
            std::thread::spawn(move || {
                for i in 0..EACH {
                    store.append_audit(&event(&format!("w{w}"), i)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let rows = schema
        .client()
        .query(
            "SELECT seq, at_ms, actor_type, actor, source, action, target, outcome,
                 request_id, detail, hash
             FROM audit_log ORDER BY seq",
            &[],
        )
        .unwrap();
    assert_eq!(rows.len(), WRITERS * EACH);
    let (mut prev, mut last_at) = (GENESIS, i64::MIN);
    for (i, r) in rows.iter().enumerate() {
        let ev = AuditEvent {
            seq: r.get::<_, i64>(0) as u64,
            at: format_at(r.get(1)),
            actor_type: r.get(2),
            actor: r.get(3),
            source: r.get(4),
            action: r.get(5),
            target: r.get(6),
            outcome: r.get(7),
            request_id: r.get(8),
            detail: r.get(9),
            hash: r.get(10),
        };
        assert_eq!(
            ev.seq,
            i as u64 + 1,
            "a gap or a duplicate before {}",
            ev.seq
        );
        let at: i64 = r.get(1);
        assert!(at >= last_at, "time went backwards at seq {}", ev.seq);
        last_at = at;
        prev = chain_next(&prev, &ev.leaf());
        assert_eq!(
            ev.hash,
            hash_hex(&prev),
            "the chain breaks at seq {}",
            ev.seq
        );
    }
    assert_eq!(
        stores[0].audit_hash_at(None).unwrap(),
        Some(((WRITERS * EACH) as u64, hash_hex(&prev)))
    );
}

#[test]
fn a_totp_step_is_consumed_once_even_by_concurrent_logins() {
    let Some(schema) = Schema::new() else { return };
    let store = Arc::new(schema.open());
    let id = store
        .create_operator("alice", "$argon2id$x", false, &["owner"], 1_000)
        .unwrap();
    assert!(store.consume_totp_step(id, 100).unwrap());
    assert!(!store.consume_totp_step(id, 100).unwrap(), "replay");
    assert!(!store.consume_totp_step(id, 99).unwrap(), "an earlier step");
    assert!(store.consume_totp_step(id, 101).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || store.consume_totp_step(id, 200).unwrap())
        })
        .collect();
    let won = threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|w| *w)
        .count();
    assert_eq!(won, 1, "one of eight concurrent uses of a step succeeds");
    assert_eq!(
        store.operator_by_id(id).unwrap().unwrap().last_totp_step,
        Some(200)
    );
    // A second instance sees the same step used.
    assert!(!schema.open().consume_totp_step(id, 200).unwrap());
}

#[test]
fn history_tables_refuse_update_delete_and_truncate() {
    let Some(schema) = Schema::new() else { return };
    let store = schema.open();
    let id = store
        .create_operator("bob", "$argon2id$x", false, &[], 1_000)
        .unwrap();
    store
        .append_event(
            &imadm_server::store::AuthEvent {
                operator_id: Some(id),
                username: Some("bob".into()),
                event: "login.password".into(),
                outcome: "failure".into(),
                ..Default::default()
            },
            1_000,
        )
        .unwrap();
    let mut c = schema.client();
    // One row in every other history table, so the row triggers have a row to fire on.
    c.batch_execute(
        "INSERT INTO access_attestations (reviewer, recorded_by, review_sha256, signature,
             attested_at, operators, tokens, keep, revoke) VALUES ('r', 'r', 'h', 's', 1, 0, 0, 0, 0);
         INSERT INTO alerts (at_ms, rule, severity, actor, detail, event_seq)
             VALUES (1, 'lockout', 'medium', 'bob', 'd', 1);
         INSERT INTO alert_events (alert_id, state, actor, note, at_ms)
             VALUES (1, 'resolved', 'bob', 'n', 2);
         INSERT INTO audit_checkpoints (seq, head, at, server_id, signature)
             VALUES (1, 'h', 't', 's', 'sig');
         INSERT INTO incident_events (incident_id, seq, at_ms, actor, kind, detail)
             VALUES (1, 1, 1, 'bob', 'opened', '{}');
         INSERT INTO token_sources (actor, source, first_seq) VALUES ('bob#1', '10.0.0.1', 1);",
    )
    .unwrap();
    let history: Vec<&str> = imadm_server::store::restore::TABLES
        .iter()
        .filter(|(_, class)| matches!(class, imadm_server::store::restore::Class::History { .. }))
        .map(|(t, _)| *t)
        .chain(["audit_chain_head"])
        .collect();
    assert!(history.contains(&"audit_log") && history.contains(&"auth_events"));
    for t in history {
        for sql in [
            format!("UPDATE {t} SET {} = {0}", first_column(&mut c, t)),
            format!("DELETE FROM {t}"),
            format!("TRUNCATE {t}"),
        ] {
            let e = c
                .batch_execute(&sql)
                .err()
                .unwrap_or_else(|| panic!("{sql}: allowed"));
            let msg = e.as_db_error().map(|d| d.message().to_owned());
            assert_eq!(msg, Some(format!("{t} is append-only")), "{sql}");
        }
    }
    // Every row is still there.
    for t in ["auth_events", "token_sources", "audit_chain_head"] {
        let n: i64 = c
            .query_one(&format!("SELECT count(*) FROM {t}"), &[])
            .unwrap()
            .get(0);
        assert_eq!(n, 1, "{t}");
    }
    assert!(store.audit_hash_at(None).unwrap().is_some());
}

fn first_column(c: &mut postgres::Client, table: &str) -> String {
    c.query_one(
        "SELECT column_name::text FROM information_schema.columns
         WHERE table_name = $1 AND table_schema = current_schema() ORDER BY ordinal_position LIMIT 1",
        &[&table],
    )
    .unwrap()
    .get(0)
}

#[test]
fn the_last_owner_survives_concurrent_disables() {
    let Some(schema) = Schema::new() else { return };
    let store = Arc::new(schema.open());
    for round in 0..5 {
        let a = store
            .create_operator(&format!("a{round}"), "h", false, &["owner"], 1)
            .unwrap();
        let b = store
            .create_operator(&format!("b{round}"), "h", false, &["owner"], 1)
            .unwrap();
        // Each round starts from exactly these two enabled owners.
        for op in store.role_holders().unwrap() {
            if op.id != a && op.id != b {
                store.set_operator_disabled(op.id, true).unwrap();
            }
        }
        let threads: Vec<_> = [a, b]
            .into_iter()
            .map(|id| {
                let store = store.clone();
                std::thread::spawn(move || store.set_operator_disabled(id, true).is_ok())
            })
            .collect();
        let disabled = threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|ok| *ok)
            .count();
        assert_eq!(
            disabled, 1,
            "round {round}: one of the two owners stays enabled"
        );
    }
}

#[test]
fn a_rotated_refresh_token_presented_again_revokes_the_session() {
    use imadm_server::store::{Grace, NewSession, RotateOutcome, Rotation};
    let Some(schema) = Schema::new() else { return };
    let store = schema.open();
    let op = store
        .create_operator("carol", "h", false, &["owner"], 1)
        .unwrap();
    let id = store
        .create_session(
            &NewSession {
                operator_id: op,
                access_hash: "a1".into(),
                access_expires_at: 2_000,
                refresh_hash: "r1".into(),
                refresh_expires_at: 5_000,
                absolute_expires_at: 9_000,
                restrictions: vec![],
                source_addr: None,
            },
            1_000,
        )
        .unwrap();
    let rotation = |n: u32| Rotation {
        access_hash: format!("a{n}"),
        access_expires_at: 2_000,
        refresh_hash: format!("r{n}"),
        refresh_expires_at: 20_000,
    };
    let no_grace = Grace {
        until: 0,
        seal: &|_| Vec::new(),
    };
    match store
        .rotate_refresh("r1", &rotation(2), 1_100, &no_grace)
        .unwrap()
    {
        RotateOutcome::Rotated(s) => {
            assert_eq!(s.id, id);
            assert_eq!(s.refresh_expires_at, 9_000, "capped at the absolute expiry");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        store.rotate_refresh("r1", &rotation(3), 1_200, &no_grace).unwrap(),
        RotateOutcome::Reused { session_id, .. } if session_id == id
    ));
    assert!(store.session_by_access_hash("a2").unwrap().unwrap().revoked);
    assert!(matches!(
        store
            .rotate_refresh("r2", &rotation(4), 1_300, &no_grace)
            .unwrap(),
        RotateOutcome::Invalid
    ));
}

#[test]
fn service_tokens_and_audit_pages_read_back() {
    use imadm_server::store::NewServiceToken;
    let Some(schema) = Schema::new() else { return };
    let store = schema.open();
    let op = store
        .create_operator("dave", "h", false, &["owner"], 1)
        .unwrap();
    let id = store
        .create_service_token(
            &NewServiceToken {
                name: "ci".into(),
                token_hash: "th".into(),
                created_by: op,
                expires_at: 10_000,
                scopes: vec!["user:read".into(), "audit:read".into()],
            },
            1_000,
        )
        .unwrap();
    let live = store.service_token_by_hash("th", 2_000).unwrap().unwrap();
    assert_eq!(live.scopes, ["audit:read", "user:read"]);
    assert_eq!(
        store
            .touch_service_token(id, Some("10.0.0.1"), 2_000)
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .touch_service_token(id, Some("10.0.0.2"), 2_001)
            .unwrap()
            .as_deref(),
        Some("10.0.0.1")
    );
    assert!(store.revoke_service_token(id, 3_000).unwrap());
    assert!(!store.revoke_service_token(id, 3_000).unwrap());
    assert!(store.service_token_by_hash("th", 3_001).unwrap().is_none());
    assert!(store.list_service_tokens().unwrap()[0].revoked);

    for (i, actor) in ["x", "y", "x"].iter().enumerate() {
        store.append_audit(&event(actor, i)).unwrap();
    }
    store
        .append_audit(&NewAudit {
            action: "auth.login".into(),
            ..event("x", 9)
        })
        .unwrap();
    let page = |f: imadm_server::store::audit::EventFilter| {
        store
            .audit_events(&imadm_server::store::audit::EventFilter { limit: 100, ..f })
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect::<Vec<_>>()
    };
    use imadm_server::store::audit::EventFilter;
    assert_eq!(page(EventFilter::default()), [1, 2, 3, 4]);
    assert_eq!(
        page(EventFilter {
            actor: Some("x".into()),
            ..Default::default()
        }),
        [1, 3, 4]
    );
    assert_eq!(
        page(EventFilter {
            action: Some("auth.".into()),
            ..Default::default()
        }),
        [4]
    );
    assert_eq!(
        page(EventFilter {
            after: 1,
            to: Some(3),
            ..Default::default()
        }),
        [2, 3]
    );
    let mut json = Vec::new();
    let (n, last) = store
        .audit_events_json(
            &EventFilter {
                limit: 2,
                ..Default::default()
            },
            &mut json,
        )
        .unwrap();
    assert_eq!((n, last), (2, Some(2)));
    let parsed: Vec<imadm_api::audit::AuditEvent> =
        serde_json::from_slice(&[b"[", &json[..], b"]"].concat()).unwrap();
    assert_eq!(parsed.len(), 2);
    assert_eq!(store.audit_range(None, None).unwrap(), (1, 4, 4));
}

#[test]
fn an_alert_changes_state_once_under_concurrent_acknowledgements() {
    use imadm_server::store::audit::SystemAlert;
    use imadm_server::store::{AlertChanged, AlertFilter, AlertStateChange};
    let Some(schema) = Schema::new() else { return };
    let store = Arc::new(schema.open());
    store
        .raise_alert(&SystemAlert {
            rule: "audit_sink_lagging",
            severity: "high",
            detail: "sink x is 5000 events behind".into(),
            event_seq: 1,
        })
        .unwrap();
    let open = store
        .alerts(&AlertFilter {
            states: vec!["open".into()],
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(open.len(), 1);
    let id = open[0].id;
    // Its `alert.raised` event is on the chain.
    assert_eq!(store.audit_range(None, None).unwrap().2, 1);
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let store = store.clone();
            std::thread::spawn(move || {
                store
                    .change_alert_state(&AlertStateChange {
                        id,
                        from: &["open"],
                        to: "acknowledged",
                        actor: &format!("op{i}"),
                        note: "looking",
                        at_ms: 5,
                    })
                    .unwrap()
            })
        })
        .collect();
    let changed = threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|c| matches!(c, AlertChanged::Changed(_)))
        .count();
    assert_eq!(changed, 1);
    assert_eq!(store.alert(id).unwrap().unwrap().state, "acknowledged");
    assert_eq!(
        store
            .change_alert_state(&AlertStateChange {
                id: id + 1,
                from: &["open"],
                to: "resolved",
                actor: "op",
                note: "",
                at_ms: 6,
            })
            .unwrap(),
        AlertChanged::NotFound
    );
}

#[test]
fn incident_steps_are_numbered_in_order_and_stop_at_the_close() {
    use imadm_api::incident::EventKind;
    use imadm_server::store::incident::{IncidentChange, IncidentStore, Principal};
    let Some(schema) = Schema::new() else { return };
    let store = Arc::new(schema.open());
    let inc = store.open_incident("leak", "high", "erin", 10).unwrap();
    let threads: Vec<_> = (0..6)
        .map(|i| {
            let store = store.clone();
            std::thread::spawn(move || {
                let note = serde_json::json!({ "text": format!("note {i}") });
                store
                    .record_incident_event(inc.id, "erin", EventKind::Note, &note, 20)
                    .unwrap()
            })
        })
        .collect();
    for t in threads {
        assert!(matches!(t.join().unwrap(), IncidentChange::Done(_)));
    }
    let closed = store
        .close_incident(inc.id, "erin", "contained", 30)
        .unwrap();
    assert!(matches!(closed, IncidentChange::Done(ref i) if i.closed_at.is_some()));
    assert!(matches!(
        store
            .record_incident_event(inc.id, "erin", EventKind::Note, &serde_json::json!({}), 40)
            .unwrap(),
        IncidentChange::Closed(_)
    ));
    assert!(matches!(
        store.close_incident(inc.id + 1, "erin", "", 40).unwrap(),
        IncidentChange::NotFound
    ));
    let detail = store.incident(inc.id).unwrap().unwrap();
    let seqs: Vec<u32> = detail.events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=8).collect::<Vec<_>>(),
        "opened, six notes, closed"
    );
    assert_eq!(store.incidents(0, 10).unwrap().len(), 1);

    for (actor_type, actor) in [
        ("operator", "erin"),
        ("token", "erin#7"),
        ("token", "erin_x#7"),
    ] {
        store
            .append_audit(&NewAudit {
                actor_type: actor_type.into(),
                ..event(actor, 0)
            })
            .unwrap();
    }
    let seqs = |p: Principal| -> Vec<u64> {
        store
            .principal_events(&p, 0, None, 0, 100)
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect()
    };
    assert_eq!(seqs(Principal::Operator("erin".into())), [1, 2]);
    assert_eq!(seqs(Principal::Token(7)), [2, 3]);
}

#[test]
fn notifications_queue_deliver_and_raise_a_failing_channel_once() {
    use imadm_server::store::notify::{Attempt, NotifyStore, Route};
    let Some(schema) = Schema::new() else { return };
    let store = Arc::new(schema.open());
    store.set_notify_routes(vec![
        Route {
            channel: "ops".into(),
            min_rank: 1,
            send_resolved: true,
        },
        Route {
            channel: "pager".into(),
            min_rank: 3,
            send_resolved: false,
        },
    ]);
    // A high alert queues on both channels, in its own transaction.
    store
        .raise_alert(&imadm_server::store::audit::SystemAlert {
            rule: "audit_sink_lagging",
            severity: "high",
            detail: "behind".into(),
            event_seq: 1,
        })
        .unwrap();
    let ops = store.next_message("ops").unwrap().unwrap();
    assert_eq!(ops.state, "open");
    assert!(store.next_message("pager").unwrap().is_some());
    let rec = store
        .record_attempt(
            ops.id,
            "ops",
            &Attempt::Failed {
                error: "503".into(),
                retry_at_ms: 100,
            },
            50,
        )
        .unwrap();
    assert_eq!((rec.queued, rec.failing_since_ms), (1, Some(50)));
    // Two instances notice the failing spell: one alert.
    let raised = (0..4)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || store.raise_channel_failing("ops", "503 since 50").unwrap())
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|r| *r)
        .count();
    assert_eq!(raised, 1);
    let rec = store
        .record_attempt(ops.id, "ops", &Attempt::Delivered, 120)
        .unwrap();
    assert_eq!((rec.queued, rec.failing_alerted), (0, false));
    assert_eq!(
        store.message(ops.id).unwrap().unwrap().delivered_ms,
        Some(120)
    );
    let names: Vec<String> = store
        .channel_records()
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["ops", "pager"]);
    assert_eq!(store.prune_delivered(121).unwrap(), 1);
    let id = store.enqueue_test("ops", "{}", 200).unwrap();
    assert_eq!(store.next_message("ops").unwrap().unwrap().id, id);
}

#[test]
fn a_key_rotation_reseals_every_value_in_batches() {
    use imadm_server::keys::ServerKey;
    use imadm_server::store::keys::{Cursor, KeyStore};
    use std::collections::BTreeMap;
    let Some(schema) = Schema::new() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ring = ServerKey::create(&dir.path().join("server.key")).unwrap();
    let store = schema.open();
    let mut ids = Vec::new();
    for i in 0..5 {
        let id = store
            .create_operator(&format!("k{i}"), "h", false, &[], 1)
            .unwrap();
        let aad = imadm_server::store::totp_aad(id);
        store
            .set_totp_secret(id, &ring.seal(format!("secret {i}").as_bytes(), &aad))
            .unwrap();
        ids.push(id);
    }
    let a = ring.active().id();
    assert_eq!(
        store.sealed_counts().unwrap(),
        BTreeMap::from([(Some(a), 5)])
    );
    let b = ring.rotate().unwrap();
    let reseal = |v: &[u8], aad: &str| ring.open(v, aad).map(|p| ring.seal(&p, aad));
    let (mut cursor, mut batches) = (Some(Cursor::START), 0);
    while let Some(c) = cursor {
        cursor = store.reseal_batch(c, 2, b, &reseal).unwrap().next;
        batches += 1;
    }
    assert!(batches >= 3, "5 rows, 2 a batch");
    assert_eq!(
        store.sealed_counts().unwrap(),
        BTreeMap::from([(Some(b), 5)])
    );
    let op = store.operator_by_id(ids[4]).unwrap().unwrap();
    let plain = ring
        .open(
            op.totp_secret.as_deref().unwrap(),
            &imadm_server::store::totp_aad(ids[4]),
        )
        .unwrap();
    assert_eq!(plain.as_slice(), b"secret 4");
}

#[test]
fn passkeys_add_touch_remove_and_keep_the_last_factor() {
    use imadm_server::store::passkey::{PasskeyStore, Removal};
    let Some(schema) = Schema::new() else { return };
    let store = schema.open();
    // An owner to spare: deleting an operator keeps one.
    store
        .create_operator("root", "h", false, &["owner"], 1)
        .unwrap();
    let alice = store.create_operator("alice", "h", false, &[], 1).unwrap();
    let bob = store.create_operator("bob", "h", false, &[], 1).unwrap();
    // The seal is given the new row's id (the AAD names it).
    let seal = |id: i64| format!("sealed-{id}").into_bytes();
    let k1 = store.add_passkey(alice, "k1", "cred-1", &seal, 10).unwrap();
    assert_eq!(k1.sealed, format!("sealed-{}", k1.id).into_bytes());
    assert_eq!(
        (k1.operator_id, k1.created_at, k1.last_used_at),
        (alice, 10, None)
    );
    let k2 = store.add_passkey(alice, "k2", "cred-2", &seal, 11).unwrap();
    // A name the operator already uses, or a credential already stored, is a conflict
    // (another operator may reuse the name).
    for (op, name, cred) in [(alice, "k1", "cred-3"), (bob, "b1", "cred-1")] {
        let err = store.add_passkey(op, name, cred, &seal, 12).unwrap_err();
        assert!(
            matches!(err, imadm_server::store::StoreError::Conflict(_)),
            "{err:?}"
        );
    }
    let b1 = store.add_passkey(bob, "k1", "cred-b1", &seal, 12).unwrap();

    // Found by credential id, whoever's it is.
    let found = store.passkey_by_credential("cred-b1").unwrap().unwrap();
    assert_eq!((found.id, found.operator_id), (b1.id, bob));
    assert!(store.passkey_by_credential("cred-x").unwrap().is_none());

    store.touch_passkey(k1.id, Some(b"counter-9"), 20).unwrap();
    store.touch_passkey(k2.id, None, 21).unwrap();
    let listed = store.passkeys(alice).unwrap();
    let view: Vec<_> = listed
        .iter()
        .map(|p| (p.name.as_str(), p.sealed.clone(), p.last_used_at))
        .collect();
    assert_eq!(
        view,
        [
            ("k1", b"counter-9".to_vec(), Some(20)),
            ("k2", format!("sealed-{}", k2.id).into_bytes(), Some(21)),
        ]
    );

    // Another operator's passkey is not found; the last passkey stays with keep_one, and
    // the last second factor stays without TOTP.
    assert_eq!(
        store.remove_passkey(alice, b1.id, false).unwrap(),
        Removal::NotFound
    );
    assert_eq!(
        store.remove_passkey(alice, k1.id, true).unwrap(),
        Removal::Removed
    );
    assert_eq!(
        store.remove_passkey(alice, k1.id, false).unwrap(),
        Removal::NotFound
    );
    assert_eq!(
        store.remove_passkey(alice, k2.id, true).unwrap(),
        Removal::LastPasskey
    );
    assert_eq!(
        store.remove_passkey(alice, k2.id, false).unwrap(),
        Removal::LastFactor
    );
    store.set_totp_secret(alice, b"totp").unwrap();
    assert_eq!(
        store.remove_passkey(alice, k2.id, false).unwrap(),
        Removal::Removed
    );
    // TOTP is now the last factor: kept, unless the caller allows it to go.
    assert_eq!(
        store.disable_totp(alice, true).unwrap(),
        Removal::LastFactor
    );
    let totp = |id| store.operator_by_id(id).unwrap().unwrap().totp_secret;
    assert!(totp(alice).is_some());
    store.set_totp_secret(bob, b"totp").unwrap();
    assert_eq!(store.disable_totp(bob, false).unwrap(), Removal::Removed);
    assert!(totp(bob).is_none());
    assert_eq!(store.disable_totp(-1, true).unwrap(), Removal::NotFound);
    assert!(store.passkeys(alice).unwrap().is_empty());

    // reset_mfa takes every factor; deleting an operator takes its passkeys.
    store.add_passkey(alice, "k3", "cred-3", &seal, 30).unwrap();
    store.reset_mfa(alice).unwrap();
    assert!(store.passkeys(alice).unwrap().is_empty());
    assert!(
        store
            .operator_by_id(alice)
            .unwrap()
            .unwrap()
            .totp_secret
            .is_none()
    );
    store.delete_operator(bob).unwrap();
    let left: i64 = schema
        .client()
        .query_one("SELECT count(*) FROM passkeys", &[])
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    // Ids are never reused.
    let next = store.add_passkey(alice, "k4", "cred-4", &seal, 40).unwrap();
    assert!(next.id > b1.id, "{} <= {}", next.id, b1.id);
}

#[test]
fn concurrent_removals_of_the_last_two_passkeys_leave_one() {
    use imadm_server::store::passkey::{PasskeyStore, Removal};
    let Some(schema) = Schema::new() else { return };
    let store = Arc::new(schema.open());
    for round in 0..10 {
        let op = store
            .create_operator(&format!("op{round}"), "h", false, &[], 1)
            .unwrap();
        let ids: Vec<i64> = ["a", "b"]
            .iter()
            .map(|n| {
                let cred = format!("cred-{round}-{n}");
                store.add_passkey(op, n, &cred, &|_| vec![1], 1).unwrap().id
            })
            .collect();
        let start = Arc::new(std::sync::Barrier::new(2));
        let threads: Vec<_> = ids
            .into_iter()
            .map(|id| {
                let (store, start) = (store.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    store.remove_passkey(op, id, false).unwrap()
                })
            })
            .collect();
        let mut outcomes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        outcomes.sort_by_key(|o| *o == Removal::Removed);
        assert_eq!(
            outcomes,
            [Removal::LastFactor, Removal::Removed],
            "round {round}: the operator keeps one second factor"
        );
        assert_eq!(store.passkeys(op).unwrap().len(), 1, "round {round}");
    }
}

#[test]
fn disabling_totp_while_the_last_passkey_is_removed_leaves_one_factor() {
    use imadm_server::store::passkey::{PasskeyStore, Removal};
    let Some(schema) = Schema::new() else { return };
    let store = Arc::new(schema.open());
    for round in 0..20 {
        let op = store
            .create_operator(&format!("op{round}"), "h", false, &[], 1)
            .unwrap();
        store.set_totp_secret(op, b"totp").unwrap();
        let cred = format!("cred-{round}");
        let key = store
            .add_passkey(op, "k", &cred, &|_| vec![1], 1)
            .unwrap()
            .id;
        let start = Arc::new(std::sync::Barrier::new(2));
        let remove = {
            let (store, start) = (store.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                store.remove_passkey(op, key, false).unwrap()
            })
        };
        let disable = {
            let (store, start) = (store.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                store.disable_totp(op, true).unwrap()
            })
        };
        let outcomes = [remove.join().unwrap(), disable.join().unwrap()];
        assert_eq!(
            outcomes.iter().filter(|o| **o == Removal::Removed).count(),
            1,
            "round {round}: {outcomes:?}: the operator keeps one second factor"
        );
        let totp = store.operator_by_id(op).unwrap().unwrap().totp_secret;
        let passkeys = store.passkeys(op).unwrap().len();
        assert_eq!(usize::from(totp.is_some()) + passkeys, 1, "round {round}");
    }
}

// --- backup and restore (store/postgres/backup.rs) ---

mod backup {
    use std::collections::BTreeMap;
    use std::io::BufRead;

    use imadm_api::audit::{AuditEvent, GENESIS, chain_next, format_at, hash_hex};
    use imadm_api::backup::{Item, MacKey, Reader, Value};
    use imadm_server::error::ApiError;
    use imadm_server::keys::KeyId;
    use imadm_server::store::audit::NewAudit;
    use imadm_server::store::passkey::PasskeyStore;
    use imadm_server::store::restore::{
        BackupStore, Relation, RestoreOptions, RestoreReport, SnapshotKeys, SnapshotMeta,
        open_snapshot,
    };
    use imadm_server::store::sqlite::SqliteStore;
    use imadm_server::store::{NewServiceToken, NewSession, Store};

    use super::Schema;

    fn mac() -> MacKey {
        MacKey::from_bytes([9; 32])
    }

    /// A server holding one key ([`mac`], fingerprint `fp`) and every key id.
    struct TestKey;

    impl SnapshotKeys for TestKey {
        fn mac_key(&self, fingerprint: &str) -> Option<MacKey> {
            (fingerprint == "fp").then(mac)
        }

        fn holds(&self, _: &str) -> bool {
            true
        }
    }

    fn snap(store: &dyn BackupStore, server_id: &str) -> Vec<u8> {
        let mut out = Vec::new();
        store
            .snapshot(
                &SnapshotMeta {
                    server_id,
                    key_fingerprint: "fp",
                    mac: &mac(),
                    original_key: KeyId([0; 8]),
                },
                &mut out,
            )
            .unwrap();
        out
    }

    fn restore(
        store: &dyn BackupStore,
        archive: &[u8],
        server_id: &str,
        accept_fork: Option<&str>,
    ) -> Result<RestoreReport, ApiError> {
        let inp: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(archive.to_vec()));
        let opts = RestoreOptions {
            dry_run: false,
            server_id,
            accept_fork,
        };
        store
            .stage(open_snapshot(&TestKey, inp)?, &opts)?
            .install(&|_| Ok(()))
    }

    /// Every table of an archive: its rows as text, sorted (a store's content, the same
    /// way for both backends).
    fn tables(archive: &[u8]) -> BTreeMap<String, Vec<String>> {
        let mut r = Reader::new(archive).unwrap().authenticate(&mac()).unwrap();
        let names: Vec<String> = r.header.tables.iter().map(|t| t.name.clone()).collect();
        let mut out: BTreeMap<String, Vec<String>> =
            names.iter().map(|n| (n.clone(), Vec::new())).collect();
        while let Item::Record { table, values } = r.next().unwrap() {
            let row = values
                .iter()
                .map(|v| match v {
                    Value::Null => "NULL".to_owned(),
                    Value::Int(i) => i.to_string(),
                    Value::Real(f) => format!("{f}r"),
                    Value::Text(t) => format!("'{t}'"),
                    Value::Blob(b) => format!("x'{}'", hex::encode(b)),
                })
                .collect::<Vec<_>>()
                .join("|");
            out.get_mut(&names[table as usize]).unwrap().push(row);
        }
        for rows in out.values_mut() {
            rows.sort();
        }
        out
    }

    /// The events of an archive's audit log, checked: no gap, each hash chained on the
    /// one before.
    fn verified_chain(archive: &[u8]) -> u64 {
        let mut r = Reader::new(archive).unwrap().authenticate(&mac()).unwrap();
        let idx = r
            .header
            .tables
            .iter()
            .position(|t| t.name == "audit_log")
            .unwrap() as u32;
        let cols = r.header.tables[idx as usize].columns.clone();
        assert_eq!(
            cols,
            [
                "seq",
                "at_ms",
                "actor_type",
                "actor",
                "source",
                "action",
                "target",
                "outcome",
                "request_id",
                "detail",
                "hash"
            ]
        );
        let mut rows = Vec::new();
        while let Item::Record { table, values } = r.next().unwrap() {
            if table == idx {
                rows.push(values);
            }
        }
        let int = |v: &Value| match v {
            Value::Int(i) => *i,
            v => panic!("{v:?}"),
        };
        let text = |v: &Value| match v {
            Value::Text(t) => Some(t.clone()),
            Value::Null => None,
            v => panic!("{v:?}"),
        };
        rows.sort_by_key(|v| int(&v[0]));
        let mut prev = GENESIS;
        for (i, v) in rows.iter().enumerate() {
            let ev = AuditEvent {
                seq: int(&v[0]) as u64,
                at: format_at(int(&v[1])),
                actor_type: text(&v[2]).unwrap(),
                actor: text(&v[3]).unwrap(),
                source: text(&v[4]),
                action: text(&v[5]).unwrap(),
                target: text(&v[6]),
                outcome: text(&v[7]).unwrap(),
                request_id: text(&v[8]),
                detail: text(&v[9]),
                hash: text(&v[10]).unwrap(),
            };
            assert_eq!(ev.seq, i as u64 + 1, "a gap before seq {}", ev.seq);
            prev = chain_next(&prev, &ev.leaf());
            assert_eq!(ev.hash, hash_hex(&prev), "the chain breaks at {}", ev.seq);
        }
        rows.len() as u64
    }

    fn audit(store: &dyn Store, actor: &str, action: &str) {
        store
            .append_audit(&NewAudit {
                actor_type: "operator".into(),
                actor: actor.into(),
                action: action.into(),
                outcome: "success".into(),
                ..NewAudit::default()
            })
            .unwrap();
    }

    /// A server's content through the store API: an owner with MFA, carol (auditor, a
    /// passkey, a session), a service token, a custom role, audit and auth events.
    struct Ids {
        carol: i64,
        token: i64,
        passkey: i64,
    }

    fn populate(store: &dyn Store) -> Ids {
        let owner = store
            .create_operator("root", "h-root", false, &["owner"], 1)
            .unwrap();
        store.set_totp_secret(owner, b"sealed-totp").unwrap();
        let carol = store
            .create_operator("carol", "h-carol", false, &["auditor"], 2)
            .unwrap();
        let passkey = store
            .add_passkey(
                carol,
                "yubi",
                "cred-carol",
                &|id| format!("pk-{id}").into_bytes(),
                3,
            )
            .unwrap()
            .id;
        store
            .create_session(
                &NewSession {
                    operator_id: carol,
                    access_hash: "a1".into(),
                    access_expires_at: 100,
                    refresh_hash: "r1".into(),
                    refresh_expires_at: 200,
                    absolute_expires_at: 300,
                    restrictions: vec![],
                    source_addr: Some("10.0.0.1".into()),
                },
                4,
            )
            .unwrap();
        let token = store
            .create_service_token(
                &NewServiceToken {
                    name: "ci".into(),
                    token_hash: "th".into(),
                    created_by: owner,
                    expires_at: 1_000_000,
                    scopes: vec!["audit:read".into()],
                },
                5,
            )
            .unwrap();
        store
            .append_event(
                &imadm_server::store::AuthEvent {
                    event: "login".into(),
                    outcome: "success".into(),
                    ..Default::default()
                },
                6,
            )
            .unwrap();
        for a in ["user.create", "role.grant", "token.create"] {
            audit(store, "root", a);
        }
        Ids {
            carol,
            token,
            passkey,
        }
    }

    /// What a restore leaves out of "every table equal": the install's own tables, and
    /// sessions and MFA challenges (everyone logs in again).
    fn comparable(mut t: BTreeMap<String, Vec<String>>) -> BTreeMap<String, Vec<String>> {
        for k in [
            "settings",
            "notify_queue",
            "notify_channels",
            "audit_sink_cursors",
            "sessions",
            "mfa_challenges",
        ] {
            t.remove(k);
        }
        t
    }

    fn sqlite_store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("imadm.db")).unwrap();
        (dir, store)
    }

    /// A new install: its own owner's login, nothing else (a restore there is a recovery).
    fn fresh_install(store: &dyn Store) {
        let o = store
            .create_operator("newroot", "h", false, &["owner"], 50)
            .unwrap();
        store.set_totp_secret(o, b"x").unwrap();
        audit(store, "newroot", "auth.login");
    }

    #[test]
    fn a_postgres_archive_restores_into_postgres_with_every_table_equal() {
        let Some(schema) = Schema::new() else { return };
        let store = schema.open();
        populate(&store);
        let archive = snap(&store, "srv");
        assert!(store.snapshot_size_estimate() > 0);
        let before = tables(&archive);
        // Data changed after the backup rolls back.
        store
            .write_roles(
                &[imadm_api::admin::Role {
                    name: "later".into(),
                    description: "made after".into(),
                    builtin: false,
                    permissions: vec!["audit:read".into()],
                }],
                &[],
            )
            .unwrap();
        let later = store.create_operator("later", "h", false, &[], 9).unwrap();
        // A dry run changes nothing.
        let dry = {
            let inp: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(archive.clone()));
            let opts = RestoreOptions {
                dry_run: true,
                server_id: "srv",
                accept_fork: None,
            };
            store
                .stage(open_snapshot(&TestKey, inp).unwrap(), &opts)
                .unwrap()
                .report()
                .clone()
        };
        assert!(dry.dry_run);
        assert!(
            dry.kept_from_live
                .iter()
                .any(|n| n.principal == "operator later" && n.kept == "removed"),
            "{:?}",
            dry.kept_from_live
        );
        assert!(store.operator_by_id(later).unwrap().is_some());
        let report = restore(&store, &archive, "srv", None).unwrap();
        assert_eq!(report.ledger.relation, Relation::Extends);
        let after = tables(&snap(&store, "srv"));
        assert!(after["sessions"].is_empty(), "every session ends");
        assert_eq!(comparable(after), comparable(before));
        // The operator made after the backup is gone, and its id is never given again.
        assert!(store.operator_by_id(later).unwrap().is_none());
        let next = store.create_operator("dave", "h", false, &[], 9).unwrap();
        assert!(next > later, "{next} after {later}");
        assert_no_scratch_dirs();
    }

    /// No scratch directory of this process is left (the tests run one per process).
    fn assert_no_scratch_dirs() {
        let prefix = format!("imadm-pg-restore-{}-", std::process::id());
        let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&prefix))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    /// SQLite → archive → PostgreSQL → archive → SQLite, each a new install restoring the
    /// other's backup (a recovery): every table equal, history continued.
    #[test]
    fn archives_move_between_sqlite_and_postgres_with_every_table_equal() {
        let Some(schema) = Schema::new() else { return };
        let (_d1, lite) = sqlite_store();
        populate(&lite);
        let from_lite = snap(&lite, "lite");
        let events = verified_chain(&from_lite);

        let pg = schema.open();
        fresh_install(&pg);
        let report = restore(&pg, &from_lite, "pg", None).unwrap();
        assert_eq!(report.ledger.relation, Relation::Recovery);
        let from_pg = snap(&pg, "pg");
        // The snapshot's ledger, then the install's login appended after it.
        assert_eq!(verified_chain(&from_pg), events + 1);
        let mut expected = comparable(tables(&from_lite));
        let mut got = comparable(tables(&from_pg));
        let history = [
            "audit_log",
            "auth_events",
            "token_sources",
            "alerts",
            "alert_events",
            "audit_checkpoints",
            "access_attestations",
            "incident_events",
        ];
        for h in history {
            let (e, g) = (expected.remove(h).unwrap(), got.remove(h).unwrap());
            assert!(e.iter().all(|r| g.contains(r)), "{h}: {e:#?} not in {g:#?}");
        }
        assert_eq!(got, expected);

        let (_d2, lite2) = sqlite_store();
        fresh_install(&lite2);
        let report = restore(&lite2, &from_pg, "lite2", None).unwrap();
        assert_eq!(report.ledger.relation, Relation::Recovery);
        let back = snap(&lite2, "lite2");
        assert_eq!(verified_chain(&back), events + 2);
        let mut expected = comparable(tables(&from_pg));
        let mut got = comparable(tables(&back));
        for h in history {
            let (e, g) = (expected.remove(h).unwrap(), got.remove(h).unwrap());
            assert!(e.iter().all(|r| g.contains(r)), "{h}: {e:#?} not in {g:#?}");
        }
        assert_eq!(got, expected);
    }

    /// A revocation, a disable and a passkey removal made after the backup survive the
    /// restore; the history appended after it is still there.
    #[test]
    fn security_state_after_the_backup_survives_a_restore_on_postgres() {
        let Some(schema) = Schema::new() else { return };
        let store = schema.open();
        let ids = populate(&store);
        let archive = snap(&store, "srv");
        assert!(store.revoke_service_token(ids.token, 7).unwrap());
        store.set_operator_disabled(ids.carol, true).unwrap();
        // A second factor first: the last one cannot be removed.
        store.set_totp_secret(ids.carol, b"carol-totp").unwrap();
        assert!(matches!(
            store.remove_passkey(ids.carol, ids.passkey, false).unwrap(),
            imadm_server::store::passkey::Removal::Removed
        ));
        audit(&store, "root", "operator.disable");
        let head = store.audit_hash_at(None).unwrap().unwrap();

        let report = restore(&store, &archive, "srv", None).unwrap();
        assert_eq!(report.ledger.relation, Relation::Extends);
        let carol = store.operator_by_id(ids.carol).unwrap().unwrap();
        assert!(carol.disabled, "carol stays disabled");
        assert!(
            store.passkeys(ids.carol).unwrap().is_empty(),
            "the passkey stays removed"
        );
        let tok = store.service_token(ids.token).unwrap().unwrap();
        assert!(tok.revoked, "the token stays revoked");
        assert_eq!(
            store.service_token_by_hash("th", 8).unwrap().map(|t| t.id),
            None
        );
        // History never rewinds: the event after the backup is still the head.
        assert_eq!(store.audit_hash_at(None).unwrap().unwrap(), head);
        verified_chain(&snap(&store, "srv"));
    }

    #[test]
    fn a_forked_ledger_is_refused_without_accept_fork_and_nothing_changes() {
        let Some(other) = Schema::new() else { return };
        let Some(schema) = Schema::new() else { return };
        let a = other.open();
        populate(&a);
        audit(&a, "root", "role.create");
        let forked = snap(&a, "srv");
        let store = schema.open();
        populate(&store);
        audit(&store, "root", "user.delete");
        let before = tables(&snap(&store, "srv"));
        let e = restore(&store, &forked, "srv", None).unwrap_err();
        assert!(e.message.contains("forks"), "{}", e.message);
        assert_eq!(tables(&snap(&store, "srv")), before, "nothing changed");
        let report = restore(&store, &forked, "srv", Some("known")).unwrap();
        assert_eq!(report.ledger.relation, Relation::Fork);
        // The live ledger stays.
        assert_eq!(
            tables(&snap(&store, "srv"))["audit_log"],
            before["audit_log"]
        );
    }

    #[test]
    fn a_tampered_archive_is_refused_and_nothing_changes() {
        let Some(schema) = Schema::new() else { return };
        let store = schema.open();
        populate(&store);
        let mut archive = snap(&store, "srv");
        store.create_operator("dave", "h", false, &[], 9).unwrap();
        let before = tables(&snap(&store, "srv"));
        // A byte of a record, then the trailer's last byte.
        for at in [archive.len() / 2, archive.len() - 2] {
            let mut bad = archive.clone();
            bad[at] ^= 0x01;
            assert!(restore(&store, &bad, "srv", None).is_err(), "flip at {at}");
            assert_eq!(tables(&snap(&store, "srv")), before, "nothing changed");
        }
        archive.truncate(archive.len() - 10);
        assert!(restore(&store, &archive, "srv", None).is_err());
        assert_eq!(tables(&snap(&store, "srv")), before);
        assert_no_scratch_dirs();
    }

    /// A snapshot taken while writers append is one point in time: its chain verifies,
    /// and its header's counts are its records'.
    #[test]
    fn a_snapshot_during_concurrent_writes_is_consistent() {
        let Some(schema) = Schema::new() else { return };
        let store = std::sync::Arc::new(schema.open());
        populate(&*store);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let (store, stop) = (store.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut n = 0;
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        audit(&*store, &format!("w{w}"), "user.create");
                        store
                            .create_operator(&format!("op{w}-{n}"), "h", false, &[], 1)
                            .unwrap();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let mut counts = Vec::new();
        for _ in 0..5 {
            let archive = snap(&*store, "srv");
            counts.push(verified_chain(&archive));
            // Reading every record checks the header's counts (the trailer).
            let t = tables(&archive);
            let r = Reader::new(&archive[..]).unwrap();
            for info in &r.header.tables {
                assert_eq!(t[&info.name].len() as u64, info.count, "{}", info.name);
            }
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let written: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
        assert!(written > 0);
        assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    }
}

/// What live commits between the stage and the install (another instance disabling an
/// operator, its audit event) is merged too: the install reads live again under its
/// lock.
#[test]
fn a_change_between_stage_and_install_survives_the_restore() {
    use imadm_server::store::restore::{BackupStore, RestoreOptions, open_snapshot};
    let Some(schema) = Schema::new() else { return };
    let store = schema.open();
    let owner = store
        .create_operator("root", "h", false, &["owner"], 1)
        .unwrap();
    store.set_totp_secret(owner, b"t").unwrap();
    let carol = store
        .create_operator("carol", "h", false, &["auditor"], 1)
        .unwrap();
    store.append_audit(&event("root", 1)).unwrap();
    let mut archive = Vec::new();
    let mac = imadm_api::backup::MacKey::from_bytes([9; 32]);
    store
        .snapshot(
            &imadm_server::store::restore::SnapshotMeta {
                server_id: "srv",
                key_fingerprint: "fp",
                mac: &mac,
                original_key: imadm_server::keys::KeyId([0; 8]),
            },
            &mut archive,
        )
        .unwrap();
    struct Key;
    impl imadm_server::store::restore::SnapshotKeys for Key {
        fn mac_key(&self, _: &str) -> Option<imadm_api::backup::MacKey> {
            Some(imadm_api::backup::MacKey::from_bytes([9; 32]))
        }
        fn holds(&self, _: &str) -> bool {
            true
        }
    }
    let inp: Box<dyn std::io::BufRead + Send> = Box::new(std::io::Cursor::new(archive));
    let opts = RestoreOptions {
        dry_run: false,
        server_id: "srv",
        accept_fork: None,
    };
    let staged = store
        .stage(open_snapshot(&Key, inp).unwrap(), &opts)
        .unwrap();
    // Another instance, meanwhile.
    let other = schema.open();
    other.set_operator_disabled(carol, true).unwrap();
    other.append_audit(&event("root", 2)).unwrap();
    let head = other.audit_hash_at(None).unwrap().unwrap();
    staged.install(&|_| Ok(())).unwrap();
    assert!(store.operator_by_id(carol).unwrap().unwrap().disabled);
    assert_eq!(store.audit_hash_at(None).unwrap().unwrap(), head);
}

/// A restore while two instances keep appending: the install waits for no lock while
/// holding another (no deadlock, no writer fails), and afterwards the chain is whole and
/// holds every event a writer committed.
#[test]
fn a_restore_while_other_instances_write_keeps_every_committed_event() {
    use imadm_server::store::restore::{BackupStore, RestoreOptions, open_snapshot};
    let Some(schema) = Schema::new() else { return };
    let store = schema.open();
    let owner = store
        .create_operator("root", "h", false, &["owner"], 1)
        .unwrap();
    store.set_totp_secret(owner, b"t").unwrap();
    store.append_audit(&event("root", 0)).unwrap();
    let mac = imadm_api::backup::MacKey::from_bytes([9; 32]);
    let meta = imadm_server::store::restore::SnapshotMeta {
        server_id: "srv",
        key_fingerprint: "fp",
        mac: &mac,
        original_key: imadm_server::keys::KeyId([0; 8]),
    };
    let mut archive = Vec::new();
    store.snapshot(&meta, &mut archive).unwrap();
    struct Key;
    impl imadm_server::store::restore::SnapshotKeys for Key {
        fn mac_key(&self, _: &str) -> Option<imadm_api::backup::MacKey> {
            Some(imadm_api::backup::MacKey::from_bytes([9; 32]))
        }
        fn holds(&self, _: &str) -> bool {
            true
        }
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (other, stop) = (Arc::new(schema.open()), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    other.append_audit(&event(&format!("w{w}"), n)).unwrap();
                    n += 1;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                n
            })
        })
        .collect();
    for _ in 0..3 {
        let inp: Box<dyn std::io::BufRead + Send> = Box::new(std::io::Cursor::new(archive.clone()));
        let opts = RestoreOptions {
            dry_run: false,
            server_id: "srv",
            accept_fork: None,
        };
        store
            .stage(open_snapshot(&Key, inp).unwrap(), &opts)
            .unwrap()
            .install(&|_| Ok(()))
            .unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let written: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
    let events = store
        .audit_events(&imadm_server::audit::EventFilter {
            limit: 100_000,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(events.len(), 1 + written);
    let mut prev = GENESIS;
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1);
        prev = chain_next(&prev, &e.leaf());
        assert_eq!(e.hash, hash_hex(&prev));
    }
}

fn fake_seal(p: &[u8], aad: &str) -> Vec<u8> {
    let mut v = aad.as_bytes().to_vec();
    v.extend(p.iter().map(|b| b ^ 0x55));
    v
}

fn im_user(name: &str) -> imadm_server::store::im::NewImUser {
    imadm_server::store::im::NewImUser {
        username: name.into(),
        password_hash: "h".into(),
        nick_name: Some(format!("nick of {name}")),
        ..Default::default()
    }
}

#[test]
fn im_users_ids_pages_updates_deletes_and_erasure() {
    use imadm_server::store::im::{GROUP_ID_BASE, ImStore, MemberOutcome, USER_ID_BASE};
    let Some(schema) = Schema::new() else { return };
    let s = schema.open();
    let seen = std::sync::Mutex::new(Vec::new());
    let ids = s
        .create_im_users(
            &[im_user("a"), im_user("b"), im_user("a")],
            &fake_seal,
            1,
            &|c| seen.lock().unwrap().extend_from_slice(c),
        )
        .unwrap();
    assert_eq!(ids, vec![Some(USER_ID_BASE), Some(USER_ID_BASE + 1), None]);
    assert_eq!(*seen.lock().unwrap(), vec![USER_ID_BASE, USER_ID_BASE + 1]);
    let a = s.im_user_by_username("a").unwrap().unwrap();
    assert_eq!(
        a.nick_name.unwrap(),
        fake_seal(b"nick of a", &format!("im_users:{USER_ID_BASE}:nick_name")),
        "sealed with the allocated id"
    );
    // Taken by an earlier request.
    assert_eq!(
        s.create_im_users(&[im_user("b")], &fake_seal, 1, &|_| {})
            .unwrap(),
        vec![None]
    );
    s.delete_im_users(&[USER_ID_BASE + 1]).unwrap().unwrap();
    let names: Vec<_> = (0..5).map(|i| im_user(&format!("u{i}"))).collect();
    let more: Vec<i64> = s
        .create_im_users(&names, &fake_seal, 2, &|_| {})
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert_eq!(more[0], USER_ID_BASE + 2, "a deleted id is never reused");

    // Keyset pages, the state filter, and all-or-nothing updates.
    assert_eq!(
        s.set_im_users_disabled(&[more[1], 42], true, 3).unwrap(),
        Err(42)
    );
    assert!(s.im_users_after(0, 10, Some(true)).unwrap().is_empty());
    s.set_im_users_disabled(&[more[1], more[3]], true, 3)
        .unwrap()
        .unwrap();
    let disabled: Vec<i64> = s
        .im_users_after(0, 10, Some(true))
        .unwrap()
        .iter()
        .map(|u| u.user_id)
        .collect();
    assert_eq!(disabled, vec![more[1], more[3]]);
    let page = s.im_users_after(more[1], 2, None).unwrap();
    assert_eq!(
        page.iter().map(|u| u.user_id).collect::<Vec<_>>(),
        more[2..4]
    );
    assert_eq!(s.im_users_page(2, 2).unwrap()[0].user_id, more[1]);
    // `GET /user/list`'s read on the async runtime answers the same pages.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (num, size) in [(1, 3), (2, 2), (9, 50)] {
        let page = rt.block_on(s.im_users_page_async(num, size).expect("an async read"));
        assert_eq!(
            page,
            Some(s.im_users_page(num, size).unwrap()),
            "page {num} of {size}"
        );
    }
    assert_eq!(s.delete_im_users(&[7]).unwrap(), Err(7));

    // Groups, members, messages.
    let (g, unknown) = s
        .create_im_group(a.user_id, 2, "g", Some("d"), &[more[0], 7], &fake_seal, 4)
        .unwrap();
    assert_eq!(g, GROUP_ID_BASE);
    assert_eq!(unknown, vec![7]);
    let group = s.im_group(g).unwrap().unwrap();
    assert_eq!((group.members, group.kind), (2, 2));
    assert_eq!(
        s.add_im_members(g, &[more[0], more[1], 9], 5).unwrap(),
        vec![
            MemberOutcome::AlreadyMember,
            MemberOutcome::Done,
            MemberOutcome::UnknownUser
        ]
    );
    assert_eq!(
        s.remove_im_members(g, &[a.user_id, more[1], more[2]])
            .unwrap(),
        vec![
            MemberOutcome::IsOwner,
            MemberOutcome::Done,
            MemberOutcome::NotMember
        ]
    );
    assert_eq!(
        s.im_members_after(g, 0, 10).unwrap(),
        vec![(a.user_id, 4), (more[0], 4)]
    );
    let sent = s
        .send_im_messages(more[0], false, &[a.user_id], 1, "hi", &fake_seal, 6)
        .unwrap();
    s.send_im_messages(more[0], true, &[g], 0, "all", &fake_seal, 6)
        .unwrap();
    let conv = s
        .im_conversation(a.user_id, more[0], false, None, 10)
        .unwrap();
    assert_eq!(conv.len(), 1);
    assert_eq!(conv[0].msg_id, sent[0]);
    assert_eq!(
        conv[0].content,
        fake_seal(b"hi", &format!("im_messages:{}:content", sent[0]))
    );
    assert_eq!(s.im_user_messages_after(more[0], 0, 10).unwrap().len(), 2);
    assert_eq!(s.im_memberships_after(more[0], 0, 10).unwrap().len(), 1);
    assert!(s.set_im_password(a.user_id, "h2", 7).unwrap());
    assert!(!s.kick_im_user(1, 7).unwrap());

    // Erasure: no content, no membership, no profile, no name left.
    assert_eq!(
        s.erase_im_user(more[0], "erased-1", 8).unwrap(),
        Some((2, 1))
    );
    assert!(s.erase_im_user(1, "erased-2", 8).unwrap().is_none());
    assert!(s.im_user_by_username("u0").unwrap().is_none());
    let t = s.im_user(more[0]).unwrap().unwrap();
    assert!(t.disabled && t.nick_name.is_none() && t.username == "erased-1");
    assert_eq!(s.im_user_group_count(more[0]).unwrap(), 0);
    let mut c = schema.client();
    let left: i64 = c
        .query_one(
            "SELECT count(*) FROM im_messages WHERE from_id = $1 AND content <> '\\x'",
            &[&more[0]],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0);

    // Deleting the owner takes the group and its messages.
    s.destroy_im_group(g).unwrap();
    assert!(s.im_group(g).unwrap().is_none());
    assert!(
        s.im_conversation(a.user_id, g, true, None, 10)
            .unwrap()
            .is_empty()
    );
    let (g2, _) = s
        .create_im_group(a.user_id, 0, "h", None, &[], &fake_seal, 9)
        .unwrap();
    assert_eq!(g2, GROUP_ID_BASE + 1, "group ids are never reused either");
    s.delete_im_users(&[a.user_id]).unwrap().unwrap();
    assert!(s.im_group(g2).unwrap().is_none());
}

#[test]
fn concurrent_creates_of_one_username_make_one_user() {
    use imadm_server::store::im::ImStore;
    let Some(schema) = Schema::new() else { return };
    let s = Arc::new(schema.open());
    for round in 0..5 {
        let name = format!("same{round}");
        let created: Vec<Option<i64>> = std::thread::scope(|sc| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let (s, name) = (s.clone(), name.clone());
                    sc.spawn(move || {
                        s.create_im_users(&[im_user(&name)], &fake_seal, 1, &|_| {})
                            .unwrap()[0]
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            created.iter().flatten().count(),
            1,
            "round {round}: {created:?}"
        );
    }
}

#[test]
fn audit_lag_reads_the_head_and_the_oldest_undelivered_event() {
    let Some(schema) = Schema::new() else { return };
    let s = schema.open();
    // `seq = $1 + 1` made PostgreSQL take $1 for an int4, refusing the i64 (audit sinks
    // could not start).
    assert_eq!(s.audit_lag(0).unwrap(), (0, None));
    s.append_audit(&event("admin", 1)).unwrap();
    let (head, oldest) = s.audit_lag(0).unwrap();
    assert_eq!(head, 1);
    assert!(oldest.is_some());
}

/// The epoch a request with a cached session waits on (read on the async runtime, not the
/// pool): it moves with every write at once, and after the database drops its connection
/// one read falls back (a value no cached lookup holds, so the request takes the blocking
/// path) and the next one reconnects.
#[test]
fn the_async_epoch_follows_writes_and_survives_a_dropped_connection() {
    use imadm_server::store::Backend;
    let Some(schema) = Schema::new() else { return };
    // A name of its own, so this test terminates only its own connections.
    let app = format!("epoch_{}", schema.name);
    let store = PgStore::open(&format!("{}&application_name={app}", schema.url())).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let read = || rt.block_on(async { store.epoch_async().expect("async epoch").await });

    let before = read();
    assert_eq!(before, store.epoch());
    store.append_audit(&event("alice", 0)).unwrap();
    let after = read();
    assert!(
        after > before,
        "a write moves the epoch: {before} -> {after}"
    );
    assert_eq!(after, store.epoch());

    schema
        .client()
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{app}'"
        ))
        .unwrap();
    let fallback = read();
    assert!(
        fallback >= 1 << 63,
        "a failed read answers a value no cache holds, got {fallback}"
    );
    assert_eq!(read(), store.epoch(), "the next read reconnects");
    // The blocking reads get past every dropped connection in the pool, each time.
    for _ in 0..3 {
        schema
            .client()
            .batch_execute(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{app}'"
            ))
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(
            store.epoch() < 1 << 63,
            "a blocking read after the connections dropped"
        );
        assert!(store.operator_permissions(1).is_ok());
    }
}

#[test]
fn throttle_counters_are_updated_one_at_a_time_across_instances() {
    use imadm_server::store::throttle::{Counter, ThrottleStore};
    let Some(schema) = Schema::new() else { return };
    let stores = [Arc::new(schema.open()), Arc::new(schema.open())];
    let (x, y) = ([1u8; 16], [2u8; 16]);
    // A counter nobody touched for three days: the process's first update prunes it.
    let stale = [9u8; 16];
    schema
        .client()
        .execute(
            "INSERT INTO login_throttle (key, failures, at, touched) VALUES ($1, 3, 0, $2)",
            &[
                &&stale[..],
                &(imadm_server::store::audit::now_ms() - 3 * 86_400_000),
            ],
        )
        .unwrap();
    // 2 instances x 4 threads x 25 updates, half naming the keys in the other order:
    // a lost update or a crosswise wait (deadlock) would show in the counts or fail.
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let store = stores[i % 2].clone();
            std::thread::spawn(move || {
                let keys = if i % 4 < 2 { [x, y] } else { [y, x] };
                for _ in 0..25 {
                    store
                        .update_counters(&keys, &mut |slots| {
                            for slot in slots.iter_mut() {
                                let c = slot.get_or_insert(Counter {
                                    tokens: 0.0,
                                    failures: 0,
                                    locked_until: None,
                                    at: 0,
                                });
                                c.failures += 1;
                                c.tokens += 0.5;
                            }
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut seen = Vec::new();
    stores[1]
        .update_counters(&[x, y, [3u8; 16]], &mut |slots| seen = slots.to_vec())
        .unwrap();
    let counts: Vec<_> = seen
        .iter()
        .map(|c| c.map(|c| (c.failures, c.tokens)))
        .collect();
    assert_eq!(counts, [Some((200, 100.0)), Some((200, 100.0)), None]);
    stores[0]
        .update_counters(&[stale], &mut |slots| assert_eq!(slots[0], None, "pruned"))
        .unwrap();
    // Forgetting a counter leaves no counter (the row stays, empty, until pruned).
    stores[0]
        .update_counters(&[x], &mut |slots| slots[0] = None)
        .unwrap();
    stores[0]
        .update_counters(&[x], &mut |slots| assert_eq!(slots[0], None))
        .unwrap();
    // Nothing of a name or an address in clear: keys only.
    let n: i64 = schema
        .client()
        .query_one(
            "SELECT count(*) FROM login_throttle WHERE octet_length(key) = 16",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 4);
}

/// Browser approvals over two instances' stores with copies of one server key: the
/// service's `Approvals` on each `PgStore`, as two servers behind a load balancer.
mod approvals {
    use std::sync::{Arc, Barrier};
    use std::time::Duration;

    use imadm_server::approval::{Approvals, Binding, Full, Outcome, Poll, Purpose, Redeem};
    use imadm_server::keys::ServerKey;
    use imadm_server::store::audit::now_ms;

    use super::Schema;

    const HOME: Option<&str> = Some("192.0.2.1");

    struct Instance {
        approvals: Approvals<String>,
        key: ServerKey,
    }

    /// `n` instances on `schema`, each with its copy of one server key.
    fn instances(schema: &Schema, n: usize) -> (tempfile::TempDir, Vec<Arc<Instance>>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.key");
        ServerKey::create(&path).unwrap();
        let all = (0..n)
            .map(|_| {
                Arc::new(Instance {
                    approvals: Approvals::new(
                        Arc::new(schema.open()),
                        Duration::from_secs(600),
                        Duration::from_secs(1),
                    ),
                    key: ServerKey::load(&path).unwrap(),
                })
            })
            .collect();
        (dir, all)
    }

    fn step_up() -> Purpose {
        Purpose::StepUp {
            operator_id: 3,
            session_id: 30,
            binding: binding(),
            action: "deleting users".into(),
            shown: "delete IM users alice".into(),
        }
    }

    fn binding() -> Binding {
        Binding {
            method: "POST".into(),
            path: "/admin/users/bulk-delete".into(),
            body_sha256: [7; 32],
        }
    }

    /// Run `f` on 8 threads at once, half on each instance; what each returned.
    fn at_once<T: Send + 'static>(
        on: &[Arc<Instance>],
        f: impl Fn(&Instance) -> T + Send + Sync + 'static,
    ) -> Vec<T> {
        let f = Arc::new(f);
        let barrier = Arc::new(Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let (one, f, barrier) = (on[i % 2].clone(), f.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    f(&one)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    }

    #[test]
    fn a_grant_started_on_one_instance_is_approved_on_another_and_answered_once() {
        let Some(schema) = Schema::new() else { return };
        let (_keys, on) = instances(&schema, 2);
        let (a, b) = (&on[0], &on[1]);
        let now = now_ms();
        let s = a
            .approvals
            .start(&a.key, step_up(), HOME.map(str::to_owned), now, now / 1000)
            .unwrap()
            .unwrap();
        // The page's ceremony begun on B is finished on A.
        b.approvals
            .with(&b.key, &s.user_code, now, |g| {
                assert_eq!(g.purpose, step_up());
                g.ceremony = Some("webauthn state".into())
            })
            .unwrap()
            .unwrap();
        let taken = a
            .approvals
            .with(&a.key, &s.user_code, now, |g| g.ceremony.take())
            .unwrap();
        assert_eq!(taken, Some(Some("webauthn state".to_owned())));
        assert_eq!(
            b.approvals.poll(&b.key, &s.device_code, HOME, now).unwrap(),
            Poll::Pending
        );
        // Polled again at once through the other instance: too fast all the same.
        assert!(matches!(
            a.approvals
                .poll(&a.key, &s.device_code, HOME, now + 10)
                .unwrap(),
            Poll::SlowDown(_)
        ));
        let outcome = Outcome::Approved { operator_id: 3 };
        assert!(
            b.approvals
                .approve(&b.key, &s.user_code, outcome.clone(), now)
                .unwrap()
        );
        assert!(!a.approvals.deny(&a.key, &s.user_code, now).unwrap());

        // Eight polls at once, four through each instance: one gets the outcome.
        let code = s.device_code.clone();
        let later = now + 60_000;
        let polls = at_once(&on, move |i| {
            i.approvals.poll(&i.key, &code, HOME, later).unwrap()
        });
        let done: Vec<_> = polls.iter().filter(|p| **p != Poll::Expired).collect();
        assert_eq!(done, [&Poll::Done(step_up(), outcome)], "{polls:?}");

        // Nothing of the secrets or the purpose in clear in the table.
        let mut db = schema.client();
        let rows = db.query("SELECT 1 FROM approval_grants", &[]).unwrap();
        assert!(rows.is_empty(), "the answered grant is gone");
        let t = a
            .approvals
            .start(&a.key, step_up(), HOME.map(str::to_owned), now, 0)
            .unwrap()
            .unwrap();
        a.approvals
            .with(&a.key, &t.user_code, now, |g| {
                g.ceremony = Some("webauthn state".into())
            })
            .unwrap();
        let r = db
            .query_one(
                "SELECT device_hash, body, ceremony FROM approval_grants",
                &[],
            )
            .unwrap();
        let (hash, body, ceremony): (String, Vec<u8>, Vec<u8>) = (r.get(0), r.get(1), r.get(2));
        assert_eq!(hash, imadm_server::secrets::token_hash(&t.device_code));
        for sealed in [&body, &ceremony] {
            let text = String::from_utf8_lossy(sealed);
            for clear in ["alice", "deleting", "webauthn", "bulk-delete"] {
                assert!(!text.contains(clear), "{clear} in clear");
            }
        }
    }

    #[test]
    fn a_step_up_token_issued_on_one_instance_is_redeemed_once_on_any() {
        let Some(schema) = Schema::new() else { return };
        let (_keys, on) = instances(&schema, 2);
        let (a, b) = (&on[0], &on[1]);
        let now = now_ms();
        let token = a.approvals.issue(&a.key, &step_up(), now).unwrap().unwrap();
        let hashes: Vec<String> = schema
            .client()
            .query("SELECT hash FROM approval_tokens", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(hashes, [imadm_server::secrets::token_hash(&token)]);
        // Another session cannot spend it, on either instance.
        let other = b
            .approvals
            .redeem(&b.key, &token, 3, 31, &binding(), now)
            .unwrap();
        assert_eq!(other, Err(Redeem::Invalid));
        assert_eq!(
            b.approvals
                .redeem(&b.key, &token, 3, 30, &binding(), now)
                .unwrap()
                .as_deref(),
            Ok("deleting users")
        );
        for i in [a, b] {
            let again = i.approvals.redeem(&i.key, &token, 3, 30, &binding(), now);
            assert_eq!(again.unwrap(), Err(Redeem::Invalid), "used once");
        }
        // Eight redemptions at once, four through each instance: one succeeds.
        let token = a.approvals.issue(&a.key, &step_up(), now).unwrap().unwrap();
        let redeemed = at_once(&on, move |i| {
            i.approvals
                .redeem(&i.key, &token, 3, 30, &binding(), now)
                .unwrap()
        });
        let ok = redeemed.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 1, "{redeemed:?}");

        // A token given to another session by changing its row does not open there.
        let token = a.approvals.issue(&a.key, &step_up(), now).unwrap().unwrap();
        schema
            .client()
            .execute("UPDATE approval_tokens SET session_id = 31", &[])
            .unwrap();
        let moved = b.approvals.redeem(&b.key, &token, 3, 31, &binding(), now);
        assert_eq!(moved.unwrap(), Err(Redeem::Invalid));
    }

    #[test]
    fn a_grant_whose_clear_columns_were_changed_does_not_open() {
        let Some(schema) = Schema::new() else { return };
        let (_keys, on) = instances(&schema, 1);
        let a = &on[0];
        let now = now_ms();
        let s = a
            .approvals
            .start(&a.key, step_up(), HOME.map(str::to_owned), now, 0)
            .unwrap()
            .unwrap();
        assert!(
            a.approvals
                .approve(
                    &a.key,
                    &s.user_code,
                    Outcome::Approved { operator_id: 3 },
                    now
                )
                .unwrap()
        );
        // Polled from another address after changing the row's: as if unknown.
        let elsewhere = Some("203.0.113.9");
        schema
            .client()
            .execute("UPDATE approval_grants SET client_addr = $1", &[&elsewhere])
            .unwrap();
        let poll = a.approvals.poll(&a.key, &s.device_code, elsewhere, now);
        assert_eq!(poll.unwrap(), Poll::Expired);
    }

    #[test]
    fn the_caps_count_the_grants_of_every_instance_and_ended_rows_are_deleted() {
        let Some(schema) = Schema::new() else { return };
        let (_keys, on) = instances(&schema, 2);
        let now = now_ms();
        // An ended grant and token, not yet deleted: not counted, and pruned by a start.
        let mut db = schema.client();
        db.execute(
            "INSERT INTO approval_grants (user_code, device_hash, client_addr, login,
               started_at, expires, interval_ms, body)
             VALUES ('BCDF-GHJK', 'x', '192.0.2.1', true, 0, $1, 1000, '\\x')",
            &[&(now - 1)],
        )
        .unwrap();
        db.execute(
            "INSERT INTO approval_tokens (hash, operator_id, session_id, expires, body)
             VALUES ('y', 1, 1, $1, '\\x')",
            &[&(now - 1)],
        )
        .unwrap();
        // 16 starts at once from one address, half through each instance: ten start.
        let started = at_once(&on, move |i| {
            (0..2)
                .map(|_| {
                    i.approvals
                        .start(&i.key, Purpose::Login, HOME.map(str::to_owned), now, 0)
                        .unwrap()
                })
                .collect::<Vec<_>>()
        });
        let all: Vec<_> = started.into_iter().flatten().collect();
        assert_eq!(all.iter().filter(|s| s.is_ok()).count(), 10, "{all:?}");
        assert!(
            all.iter()
                .filter_map(|s| s.as_ref().err())
                .all(|e| matches!(e, Full::Address(_))),
            "{all:?}"
        );
        let left: Vec<i64> = ["approval_grants", "approval_tokens"]
            .iter()
            .map(|t| {
                db.query_one(
                    &format!("SELECT count(*) FROM {t} WHERE expires <= $1"),
                    &[&now],
                )
                .unwrap()
                .get(0)
            })
            .collect();
        assert_eq!(left, [0, 0], "ended rows pruned");
    }
}

/// Poll `f` for up to 10 s (a dropped hold's session closes on a thread of its own).
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !f() {
        assert!(std::time::Instant::now() < until, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The instance lock (`instances.rs`): serving instances share it; an offline rotation
/// takes it only when none serves, and then no instance (nor another rotation) gets it
/// until the rotation ends. An instance whose session was cut finds the lock taken.
#[test]
fn the_instance_lock_is_shared_by_servers_and_exclusive_for_a_rotation() {
    use imadm_server::store::postgres::INSTANCE_LOCK;
    use imadm_server::store::{Backend, Hold};
    let Some(schema) = Schema::new() else { return };
    let store = schema.open();
    let mut a = store.instance_lock(false);
    let mut b = store.instance_lock(false);
    assert_eq!(a.check(), Hold::Held);
    assert_eq!(b.check(), Hold::Held, "instances share it");
    let mut rotation = store.instance_lock(true);
    assert_eq!(rotation.check(), Hold::Refused, "two instances serve");
    drop(a);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(rotation.check(), Hold::Refused, "one instance still serves");
    drop(b);
    eventually("the rotation gets the lock once no instance serves", || {
        rotation.check() == Hold::Held
    });
    let mut starting = store.instance_lock(false);
    assert_eq!(
        starting.check(),
        Hold::Refused,
        "no start during a rotation"
    );
    assert_eq!(
        store.instance_lock(true).check(),
        Hold::Refused,
        "nor another rotation"
    );
    drop(rotation);
    eventually("the instance starts once the rotation ended", || {
        starting.check() == Hold::Held
    });

    // The serving instance's session is cut; a rotation takes the lock before it can
    // take it again: its next check says so (the server then stops).
    let mut admin = schema.client();
    let cut = |admin: &mut postgres::Client| {
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks
                 WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                   AND classid::bigint = $1 AND objid::bigint = $2",
                &[&(INSTANCE_LOCK >> 32), &(INSTANCE_LOCK & 0xffff_ffff)],
            )
            .unwrap()
    };
    assert_eq!(cut(&mut admin), 1);
    let mut rotation = store.instance_lock(true);
    eventually("the rotation gets the lock of the cut session", || {
        rotation.check() == Hold::Held
    });
    assert_eq!(starting.check(), Hold::Refused);
    drop(rotation);
    eventually("and takes it again after the rotation", || {
        starting.check() == Hold::Held
    });
}
