//! Server key rotation end to end: offline (`imadm server rotate-key`) killed half-way by
//! the debug hook and resumed by the next start, online (`POST /admin/keys/rotate`, owner
//! only, step-up, audited), every sealed value read back through the API and none left
//! under the old key id in the database.
//!
//! On PostgreSQL the online rotations are refused (each instance keeps its own copy of the
//! keys): there these tests check the refusal (409 with the offline steps as hint,
//! audited, nothing changed) and run whatever does not depend on a rotation. The offline
//! rotations run there as on SQLite (the server stopped); with two instances:
//! `database.rs`.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::*;
use crate::rbac::{Api, seeded};

/// First bytes of a sealed value that names its key (`keys::SEALED_MAGIC`), in hex.
const MAGIC_HEX: &str = "FF6B6901";

/// Every sealed column (`store::keys::SEALED`): table and column.
const SEALED: &[(&str, &str)] = &[
    ("operators", "totp_secret"),
    ("operators", "totp_pending"),
    ("sessions", "grace_tokens"),
    ("im_users", "nick_name"),
    ("im_users", "email"),
    ("im_users", "mobile"),
    ("im_groups", "name"),
    ("im_groups", "description"),
    ("im_messages", "content"),
];

/// The one number `query` answers.
fn count(server: &Server, query: &str) -> u64 {
    server.sql(query).trim().parse().unwrap()
}

/// Sealed values in the database under the key `id` (16 hex digits).
fn values_under(server: &Server, id: &str) -> u64 {
    SEALED
        .iter()
        .map(|(t, c)| {
            count(
                server,
                &format!(
                    "SELECT count(*) FROM {t} WHERE {} = '{MAGIC_HEX}{}'",
                    server.sql_hex(&format!("substr({c}, 1, 12)")),
                    id.to_uppercase()
                ),
            )
        })
        .sum()
}

/// Sealed values in the database, whatever their key.
fn values(server: &Server) -> u64 {
    SEALED
        .iter()
        .map(|(t, c)| {
            count(
                server,
                &format!("SELECT count(*) FROM {t} WHERE {c} IS NOT NULL"),
            )
        })
        .sum()
}

/// A rotation of `what` refused on a database several instances share: 409 before
/// step-up, with the reason and a hint.
fn assert_rotation_refused(st: u16, env: &Value, what: &str) {
    assert_eq!(
        (st, env["code"].as_i64()),
        (409, Some(imadm_api::codes::CONFLICT as i64)),
        "{env}"
    );
    let message = env["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("rotating {what} online is refused on PostgreSQL")),
        "{env}"
    );
    assert!(
        env["data"]["hint"]
            .as_str()
            .is_some_and(|h| h.contains("rotate offline")),
        "{env}"
    );
}

/// The one key of a keyring no rotation touched: `id`, active, every value under it.
fn assert_keys_unchanged(server: &Server, api: &Api, id: &str) {
    let (st, env) = api.call("GET", "/admin/keys", Some(&server.token()), None, None);
    assert_eq!(st, 200, "{env}");
    let keys = env["data"]["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{env}");
    assert_eq!(
        (&keys[0]["id"], &keys[0]["active"]),
        (&Value::from(id), &Value::Bool(true))
    );
    assert_eq!(env["data"]["sealed_values_left"], 0, "{env}");
    assert!(!server.data_dir.join("server.key.d").exists());
    assert_eq!(values_under(server, id), values(server));
}

/// The active key id the keyring file names.
fn active_in_keyring(data_dir: &Path) -> String {
    let text = std::fs::read_to_string(data_dir.join("server.key.d/keyring.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["active"].as_str().unwrap().to_owned()
}

/// `GET /admin/keys` until no sealed value is left under another key than the active one.
fn wait_for_reseal(api: &Api, token: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (st, env) = api.call("GET", "/admin/keys", Some(token), None, None);
        assert_eq!(st, 200, "{env}");
        if env["data"]["sealed_values_left"] == 0 {
            return env["data"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "the re-seal did not finish: {env}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// 40 users with a nick name and an e-mail address (80 sealed values), imported.
fn import_users(server: &Server) {
    let mut csv = String::from("username,password,nick_name,email\n");
    for i in 0..40 {
        csv.push_str(&format!(
            "rot_{i:02},pw-{i}-xyz,Nick {i},rot{i}@example.com\n"
        ));
    }
    let file = server.tmp().join("users.csv");
    std::fs::write(&file, csv).unwrap();
    assert_success(&run(server.imadm().args(["user", "import"]).arg(&file)));
}

fn user_show(server: &Server, name: &str) -> Value {
    let out = run(server.imadm().args(["user", "show", name, "-o", "json"]));
    assert_success(&out);
    json_stdout(&out)
}

#[test]
fn offline_rotation_killed_half_way_resumes_at_the_next_start() {
    let mut server = Server::start();
    server.login();
    import_users(&server);
    let data = server.data_dir.clone();
    let total = values(&server);
    assert!(total >= 80, "{total}");
    let (_, env) = Api::new(&server).call("GET", "/admin/keys", Some(&server.token()), None, None);
    let old = env["data"]["keys"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(env["data"]["keys"][0]["active"], true, "{env}");
    assert_eq!(
        values_under(&server, &old),
        total,
        "every value names its key"
    );

    // Run as its operator would: on the server's database.
    let config = server.tmp().join("rotate-config");
    let database = server.database_env();
    let rotate = |env: &[(&str, &str)]| {
        let mut cmd = imadm_in(&config);
        cmd.args(["server", "rotate-key", "--data-dir"])
            .arg(&data)
            .envs(database.iter().cloned());
        for (k, v) in env {
            cmd.env(k, v);
        }
        run(&mut cmd)
    };
    let killed_half_way = [
        ("IMADM_TEST_RESEAL_BATCH", "10"),
        ("IMADM_TEST_RESEAL_STOP_AFTER", "2"),
    ];
    // Not beside a running server: the data dir is locked.
    assert_error(&rotate(&[]), 7, "has the data dir");
    assert!(!data.join("server.key.d").exists());

    server.stop_in_place();
    // Killed after two batches of ten rows (the debug hook aborts, as a crash would).
    let out = rotate(&killed_half_way);
    assert!(!out.status.success(), "{}", describe(&out));
    let new = active_in_keyring(&data);
    assert_ne!(new, old);
    let moved = values_under(&server, &new);
    assert!(
        moved > 0 && moved < total,
        "half-way: {moved} of {total} values under the new key"
    );
    assert_eq!(values_under(&server, &old) + moved, total);
    assert_eq!(
        server
            .sql(
                "SELECT actor_type, actor, target, outcome, detail FROM audit_log WHERE action = 'keys.rotate'"
            )
            .trim(),
        format!("system|imadm server rotate-key|key:{new}|success|replaces key {old} (offline)")
    );

    // The next start resumes in the background; reads work meanwhile and after.
    let server = server.restart_with(&[]);
    server.login();
    assert_eq!(user_show(&server, "rot_07")["email"], "rot7@example.com");
    let status = wait_for_reseal(&Api::new(&server), &server.token());
    assert_eq!(values_under(&server, &old), 0);
    assert_eq!(values_under(&server, &new), values(&server));
    let keys = status["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{status}");
    assert_eq!(
        (
            &keys[0]["id"],
            &keys[0]["retired"],
            &keys[0]["sealed_values"]
        ),
        (
            &Value::from(old.clone()),
            &Value::Bool(true),
            &Value::from(0)
        )
    );
    assert_eq!(
        (&keys[1]["id"], &keys[1]["active"]),
        (&Value::from(new.clone()), &Value::Bool(true))
    );
    for i in [0, 13, 39] {
        let u = user_show(&server, &format!("rot_{i:02}"));
        assert_eq!(u["email"], format!("rot{i}@example.com"), "{u}");
        assert_eq!(u["nick_name"], format!("Nick {i}"), "{u}");
    }
    // The old key stays on disk (0600) for backups taken before the rotation.
    assert!(data.join(format!("server.key.d/{new}.key")).exists());
    assert!(data.join("server.key").exists());
}

#[test]
fn online_rotation_is_owner_only_with_step_up_and_audited() {
    let server = Server::start_with(&["--seed-operator", "ada:admin"]);
    server.login();
    import_users(&server);
    let api = Api::new(&server);
    let creds = seeded(&server);
    let ada = api.login("ada", &creds["admin"].0, &creds["admin"].1);
    let owner = server.token();
    let (_, env) = api.call("GET", "/admin/keys", Some(&owner), None, None);
    let original = env["data"]["keys"][0]["id"].as_str().unwrap().to_owned();

    // An admin holds everything but restore and key rotation: refused before step-up.
    let (st, env) = api.call("POST", "/admin/keys/rotate", Some(&ada), None, None);
    assert_eq!((st, env["code"].as_i64()), (403, Some(10010)), "{env}");
    // The owner without a code: step-up needed (on PostgreSQL, refused before that).
    let (st, env) = api.call("POST", "/admin/keys/rotate", Some(&owner), None, None);
    if server.shares_its_database() {
        assert_rotation_refused(st, &env, "the server key");
    } else {
        assert_eq!((st, env["code"].as_i64()), (401, Some(50010)), "{env}");
    }
    assert!(!server.data_dir.join("server.key.d").exists());

    let code = server.next_code();
    let (st, env) = api.call(
        "POST",
        "/admin/keys/rotate",
        Some(&owner),
        Some(&code),
        None,
    );
    if server.shares_its_database() {
        assert_rotation_refused(st, &env, "the server key");
        // Refused before step-up: the code was not spent on it.
        let (st, env) = api.call(
            "POST",
            "/admin/roles",
            Some(&owner),
            Some(&code),
            Some(&serde_json::json!({"name": "after_refusal", "permissions": ["user:read"]})),
        );
        assert_eq!(st, 200, "{env}");
        assert_keys_unchanged(&server, &api, &original);
        assert_eq!(user_show(&server, "rot_21")["email"], "rot21@example.com");
        let rows = server.sql(
            "SELECT actor, target, outcome, detail FROM audit_log WHERE action = 'keys.rotate' ORDER BY seq",
        );
        let refused = format!(
            "{}||failure|code {}",
            server.info.username,
            imadm_api::codes::CONFLICT
        );
        assert_eq!(
            rows.lines().collect::<Vec<_>>(),
            ["ada||denied|code 10010", refused.as_str(), refused.as_str()],
            "{rows}"
        );
        return;
    }
    assert_eq!(st, 200, "{env}");
    let new = env["data"]["active"].as_str().unwrap().to_owned();
    let old = env["data"]["previous"].as_str().unwrap().to_owned();
    assert_eq!(old, original);
    let status = wait_for_reseal(&api, &owner);
    assert_eq!(status["keys"][1]["id"], new.as_str(), "{status}");
    assert_eq!(values_under(&server, &old), 0);
    assert_eq!(values_under(&server, &new), values(&server));
    assert_eq!(user_show(&server, "rot_21")["email"], "rot21@example.com");

    let rows = server.sql(
        "SELECT actor, target, outcome, detail FROM audit_log WHERE action = 'keys.rotate' ORDER BY seq",
    );
    assert_eq!(
        rows.lines().collect::<Vec<_>>(),
        [
            "ada||denied|code 10010".to_owned(),
            format!("{}||denied|code 50010", server.info.username),
            format!(
                "{}|key:{new}|success|replaces key {old}",
                server.info.username
            ),
        ]
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
        "{rows}"
    );
}

/// The rows of every data table with each sealed value shown as whether it is set (a
/// re-seal changes the ciphertext, not the value), in a stable order.
fn data_without_ciphertext(server: &Server) -> String {
    use imadm_server::store::restore::{Class, TABLES};
    let mut out = String::new();
    for (t, _) in TABLES.iter().filter(|(_, c)| *c == Class::Data) {
        let select: Vec<String> = server
            .columns(t)
            .iter()
            .map(|c| {
                if SEALED.contains(&(t, c.as_str())) {
                    format!("{c} IS NOT NULL")
                } else {
                    format!("\"{c}\"")
                }
            })
            .collect();
        out.push_str(&format!("== {t}\n"));
        out.push_str(&server.sql(&format!(
            "SELECT {} FROM \"{t}\" ORDER BY 1, 2",
            select.join(", ")
        )));
    }
    out
}

fn rotate_online(server: &Server, api: &Api) -> (String, String) {
    let (st, env) = api.call(
        "POST",
        "/admin/keys/rotate",
        Some(&server.token()),
        Some(&server.next_code()),
        None,
    );
    assert_eq!(st, 200, "{env}");
    wait_for_reseal(api, &server.token());
    (
        env["data"]["previous"].as_str().unwrap().to_owned(),
        env["data"]["active"].as_str().unwrap().to_owned(),
    )
}

fn restore(server: &Server, identity: &Path, archive: &Path) -> std::process::Output {
    run(server
        .imadm()
        .args(["--yes", "backup", "restore", "-o", "json", "--identity"])
        .arg(identity)
        .arg(archive)
        .args(["--otp", &server.next_code()]))
}

#[test]
fn a_backup_taken_before_a_rotation_restores_after_it() {
    let server = Server::start();
    server.login();
    import_users(&server);
    let api = Api::new(&server);
    let dir = server.tmp().join("backups");
    std::fs::create_dir_all(&dir).unwrap();
    let (identity, recipient) = crate::backup::keypair(server.tmp());
    let archive = crate::backup::backup(&server, &recipient, &[&dir]);
    let at_backup = data_without_ciphertext(&server);

    // On PostgreSQL the rotation is refused; the restore below runs all the same.
    let rotated = if server.shares_its_database() {
        let (_, env) = api.call("GET", "/admin/keys", Some(&server.token()), None, None);
        let k0 = env["data"]["keys"][0]["id"].as_str().unwrap().to_owned();
        let (st, env) = api.call(
            "POST",
            "/admin/keys/rotate",
            Some(&server.token()),
            Some(&server.next_code()),
            None,
        );
        assert_rotation_refused(st, &env, "the server key");
        assert_keys_unchanged(&server, &api, &k0);
        None
    } else {
        Some(rotate_online(&server, &api))
    };
    assert_success(&run(server
        .imadm()
        .args([
            "user",
            "create",
            "later",
            "--password-stdin",
            "--email",
            "l@example.com",
        ])
        .write_stdin("pw-for-tests\n")));
    assert_ne!(data_without_ciphertext(&server), at_backup);

    // The snapshot's MAC is under k0 (after a rotation retired, but kept); its values
    // open under k0.
    let out = restore(&server, &identity, &archive);
    assert_success(&out);
    server.login();
    assert_eq!(data_without_ciphertext(&server), at_backup);
    for i in [0, 17, 39] {
        let u = user_show(&server, &format!("rot_{i:02}"));
        assert_eq!(u["email"], format!("rot{i}@example.com"), "{u}");
        assert_eq!(u["nick_name"], format!("Nick {i}"), "{u}");
    }
    let Some((k0, k1)) = rotated else {
        return;
    };
    // Then the restored values move to the active key, and k0 is retired again.
    let status = wait_for_reseal(&api, &server.token());
    assert_eq!(values_under(&server, &k0), 0);
    assert_eq!(values_under(&server, &k1), values(&server));
    assert_eq!(status["keys"][0]["retired"], true, "{status}");
    assert_eq!(data_without_ciphertext(&server), at_backup);

    // A backup under k1, restored on a new install that has the original key only (no
    // server.key.d/): integrity error, with the hint to copy the keyring; nothing changed.
    let archive = crate::backup::backup(&server, &recipient, &[&dir]);
    let original = std::fs::read(server.data_dir.join("server.key")).unwrap();
    let other = Server::start_with_files(&[("server.key", &original)], &[]);
    other.login();
    let before = data_without_ciphertext(&other);
    let out = restore(&other, &identity, &archive);
    assert_error(&out, 8, "different server key");
    assert!(stderr(&out).contains("server.key.d"), "{}", describe(&out));
    assert_eq!(data_without_ciphertext(&other), before);
}

/// The `dev` profile's pinned audit key (config.toml).
fn pinned_audit_key(server: &Server) -> String {
    let out = run(server.imadm().args(["config", "get", "audit_key"]));
    assert_success(&out);
    stdout(&out).trim().to_owned()
}

fn export(server: &Server, file: &Path) -> std::process::Output {
    run(server.imadm().args(["audit", "export", "--out"]).arg(file))
}

/// The pseudonym the log names IM user `name` by (its `user.create` event).
fn pseudonym_in_log(server: &Server, action: &str) -> String {
    server
        .sql(&format!(
            "SELECT target FROM audit_log WHERE action = '{action}' ORDER BY seq DESC LIMIT 1"
        ))
        .trim()
        .to_owned()
}

/// `ssh-ed25519 AAAA…` without its comment.
fn bare(key: &str) -> String {
    key.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

/// The `audit-server-key` control of `compliance check`, and its stderr.
fn key_control(server: &Server) -> (Value, String) {
    let out = run(server.imadm().args(["compliance", "check", "-o", "json"]));
    let v = json_stdout(&out);
    let control = v["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "audit-server-key")
        .unwrap()
        .clone();
    (control, stderr(&out))
}

/// Swap in (the server stopped) a signing key the server's key `current` hands off to in
/// a hand-off that the new key signed itself, not `current`: one no pinned CLI follows.
/// The new key, bare.
fn swap_in_a_self_signed_key(server: &Server, current: &str) -> String {
    use base64::Engine;
    use ed25519_dalek::Signer;
    use std::os::unix::fs::PermissionsExt;
    let seed = [42u8; 32];
    let forged = imadm_server::audit::AuditKey::from_seed(&seed).openssh_public("x");
    let row = server.sql("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
    let (seq, head) = row.trim().split_once('|').unwrap();
    let mut handoff = imadm_api::audit::KeyHandoff {
        server_id: server
            .sql("SELECT value FROM settings WHERE key = 'server_id'")
            .trim()
            .to_owned(),
        seq: seq.parse().unwrap(),
        head: head.to_owned(),
        at: "2026-01-01T00:00:00Z".into(),
        old_key: current.to_owned(),
        new_key: bare(&forged),
        signature: String::new(),
    };
    let signer = ed25519_dalek::SigningKey::from_bytes(&seed);
    handoff.signature = base64::engine::general_purpose::STANDARD
        .encode(signer.sign(&handoff.message()).to_bytes());
    let kdir = server.data_dir.join("audit.key.d");
    std::fs::create_dir_all(&kdir).unwrap();
    std::fs::set_permissions(&kdir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let file = kdir.join("handoffs.json");
    let mut handoffs: Vec<imadm_api::audit::KeyHandoff> = std::fs::read(&file)
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or_default();
    handoffs.push(handoff);
    std::fs::write(&file, serde_json::to_vec(&handoffs).unwrap()).unwrap();
    let key = kdir.join(format!("signing-{}.key", handoffs.len()));
    std::fs::write(&key, seed).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    bare(&forged)
}

#[test]
fn a_pinned_cli_follows_a_signed_audit_key_handoff_and_nothing_else() {
    let mut server = Server::start();
    server.login();
    crate::users::create_user(&server, "handoff_user", &[]);
    let dir = server.tmp().join("reports");
    std::fs::create_dir_all(&dir).unwrap();
    assert_success(&export(&server, &dir.join("before.json")));
    let old_key = pinned_audit_key(&server);
    assert!(old_key.starts_with("ssh-ed25519 "), "{old_key}");
    let created = pseudonym_in_log(&server, "user.create");

    let api = Api::new(&server);
    let (st, env) = api.call(
        "POST",
        "/admin/keys/rotate-audit",
        Some(&server.token()),
        Some(&server.next_code()),
        None,
    );
    // The key the pinned CLI holds the server to from here on.
    let current = if server.shares_its_database() {
        assert_rotation_refused(st, &env, "the audit signing key");
        let (_, info) = api.call("GET", "/admin/server-info", None, None, None);
        assert_eq!(
            bare(info["data"]["audit_public_key"].as_str().unwrap()),
            bare(&old_key),
            "{info}"
        );
        let (st, list) = api.call(
            "GET",
            "/admin/keys/audit-handoffs",
            Some(&server.token()),
            None,
            None,
        );
        assert_eq!(st, 200, "{list}");
        assert_eq!(list["data"], serde_json::json!([]));
        assert!(!server.data_dir.join("audit.key.d").exists());
        // The key control passes on the unchanged key; the pin stays.
        let (control, err) = key_control(&server);
        assert_eq!(control["status"], "pass", "{control}");
        assert!(!err.contains("hand-off"), "{err}");
        assert_eq!(pinned_audit_key(&server), old_key);
        let out = export(&server, &dir.join("after.json"));
        assert_success(&out);
        assert!(!stderr(&out).contains("hand-off"), "{}", describe(&out));
        assert_eq!(pinned_audit_key(&server), old_key);
        let rows = server.sql(
            "SELECT outcome, target, detail FROM audit_log WHERE action = 'keys.rotate_audit'",
        );
        assert_eq!(
            rows.trim(),
            format!("failure||code {}", imadm_api::codes::CONFLICT)
        );
        bare(&old_key)
    } else {
        assert_eq!(st, 200, "{env}");
        let handoff = env["data"].clone();
        assert!(
            old_key.starts_with(handoff["old_key"].as_str().unwrap()),
            "{env}"
        );
        let new_key = handoff["new_key"].as_str().unwrap().to_owned();
        let (_, info) = api.call("GET", "/admin/server-info", None, None, None);
        assert!(
            info["data"]["audit_public_key"]
                .as_str()
                .unwrap()
                .starts_with(&new_key),
            "{info}"
        );
        assert!(info["data"].get("audit_key_handoffs").is_none(), "{info}");
        let (st, list) = api.call(
            "GET",
            "/admin/keys/audit-handoffs",
            Some(&server.token()),
            None,
            None,
        );
        assert_eq!(st, 200, "{list}");
        assert_eq!(list["data"], Value::Array(vec![handoff.clone()]));

        // `compliance check` follows the hand-off: the key control passes, the pin moves.
        let config = std::fs::read(server.config_dir.join("config.toml")).unwrap();
        let (control, err) = key_control(&server);
        assert_eq!(control["status"], "pass", "{control}");
        assert!(err.contains("followed its hand-off"), "{err}");
        assert!(pinned_audit_key(&server).starts_with(&new_key));
        // Back to the old pin, for the other commands.
        std::fs::write(server.config_dir.join("config.toml"), config).unwrap();
        assert_eq!(pinned_audit_key(&server), old_key);

        // The pinned CLI checks the hand-off with the pinned key, follows it and says so.
        let out = export(&server, &dir.join("after.json"));
        assert_success(&out);
        assert!(
            stderr(&out).contains("rotated its audit key: followed the hand-off"),
            "{}",
            describe(&out)
        );
        assert!(pinned_audit_key(&server).starts_with(&new_key));
        let rows = server.sql(
            "SELECT outcome, target, detail FROM audit_log WHERE action = 'keys.rotate_audit'",
        );
        assert_eq!(
            rows.trim(),
            format!(
                "success|audit-key|hand-off at seq {} to {new_key}",
                handoff["seq"]
            )
        );
        new_key
    };
    let out = run(server
        .imadm()
        .args(["audit", "verify", "-o", "json"])
        .arg(dir.join("after.json")));
    assert_success(&out);
    // The old report still verifies under the old key.
    let out = run(server
        .imadm()
        .args(["audit", "verify", "--server-key", &old_key])
        .arg(dir.join("before.json")));
    assert_success(&out);
    // Pseudonyms do not depend on the signing key.
    assert_success(&run(server.imadm().args([
        "user",
        "disable",
        "handoff_user",
    ])));
    assert_eq!(pseudonym_in_log(&server, "user.disable"), created);

    // A key swapped in with a hand-off the pinned key did not sign (the new key signed it
    // itself): exit 8, the pin unchanged.
    server.stop_in_place();
    let forged = swap_in_a_self_signed_key(&server, &current);
    if server.shares_its_database() {
        // On PostgreSQL the server itself refuses a signing key other than the one the
        // database records for every instance; someone who can also write the database
        // gets it to start, and the pinned CLI still refuses it.
        let out = run(&mut server.dev_server_cmd());
        assert_error(&out, 8, "audit signing key");
        server.sql(&format!(
            "UPDATE settings SET value = '{forged}' WHERE key = 'audit_signing_key'"
        ));
    }
    let server = restart_pinned(server, &current);
    let out = export(&server, &dir.join("forged.json"));
    assert_error(&out, 8, "no hand-off signed by the pinned key");
    assert!(pinned_audit_key(&server).starts_with(&current));
    // `compliance check` judges the key the same way.
    let (control, _) = key_control(&server);
    assert_eq!(control["status"], "fail", "{control}");
    assert!(pinned_audit_key(&server).starts_with(&current));
}

/// `server` started again on its data and logged in, with `key` pinned as the audit key
/// again: the dev server rewrote its profile (new port).
fn restart_pinned(server: Server, key: &str) -> Server {
    let server = server.restart_with(&[]);
    server.login();
    assert_success(&run(server.imadm().args([
        "config",
        "set",
        "audit_key",
        key,
    ])));
    server
}

#[test]
fn the_audit_key_rotates_offline_with_a_handoff_the_pinned_cli_follows() {
    let mut server = Server::start();
    server.login();
    let dir = server.tmp().join("reports");
    std::fs::create_dir_all(&dir).unwrap();
    assert_success(&export(&server, &dir.join("before.json")));
    let old_key = pinned_audit_key(&server);
    let data = server.data_dir.clone();
    // Run as its operator would: on the server's database.
    let mut rotate = imadm_in(&server.tmp().join("rotate-config"));
    rotate
        .args(["server", "rotate-audit-key", "-o", "json", "--data-dir"])
        .arg(&data)
        .envs(server.database_env());
    assert_error(&run(&mut rotate), 7, "has the data dir");

    server.stop_in_place();
    let out = run(&mut rotate);
    assert_success(&out);
    let h = json_stdout(&out);
    assert!(old_key.starts_with(h["old_key"].as_str().unwrap()), "{h}");
    let new_key = h["new_key"].as_str().unwrap().to_owned();
    let server = restart_pinned(server, &old_key);
    let out = export(&server, &dir.join("after.json"));
    assert_success(&out);
    assert!(
        stderr(&out).contains("followed the hand-off"),
        "{}",
        describe(&out)
    );
    assert!(pinned_audit_key(&server).starts_with(&new_key));
    let rows = server
        .sql("SELECT actor_type, actor, outcome FROM audit_log WHERE action = 'keys.rotate_audit'");
    assert_eq!(rows.trim(), "system|imadm server rotate-audit-key|success");
}
