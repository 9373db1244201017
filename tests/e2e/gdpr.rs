//! GDPR art. 15 end to end: `imadm user export` against a real dev server, decrypted with
//! the Go `age` CLI, its JSON checked item by item (the user's data, nobody else's), the
//! `user.export` audit event naming the pseudonym, the file mode, and the refusals (unknown
//! and erased users, missing permission, a failing audit write) leaving no file behind.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::{
    Server, assert_error, assert_exit, assert_success, describe, json_stdout, run,
};
use crate::rbac::{Api, seeded};
use crate::users::{Lanying, create_user};

/// `age-keygen -o key.txt` (the Go CLI) → (identity file, recipient).
fn keygen(dir: &Path) -> (PathBuf, String) {
    let key = dir.join("dpo-key.txt");
    let st = Command::new("age-keygen")
        .arg("-o")
        .arg(&key)
        .output()
        .expect("the Go `age-keygen` CLI is needed (Debian package `age`)");
    assert!(st.status.success(), "{st:?}");
    let out = Command::new("age-keygen")
        .arg("-y")
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    (
        key,
        String::from_utf8(out.stdout).unwrap().trim().to_owned(),
    )
}

/// `age -d -i key file` → the plaintext.
fn decrypt(key: &Path, file: &Path) -> String {
    let out = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(key)
        .arg(file)
        .output()
        .expect("the Go `age` CLI is needed");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn send(api: &Lanying, from: i64, to: i64, content: &str) -> i64 {
    let (_, r) = api.call(
        reqwest::Method::POST,
        "/message/send",
        None,
        Some(json!({"from_user_id": from, "targets": [to], "type": 1, "content": content, "content_type": 0})),
    );
    assert_eq!(r["code"], 200, "{r}");
    last_msg_id(api, from, to)
}

fn send_group(api: &Lanying, from: i64, group: i64, content: &str) {
    let (_, r) = api.call(
        reqwest::Method::POST,
        "/message/send",
        Some(from),
        Some(json!({"targets": [group], "type": 2, "content": content, "content_type": 0})),
    );
    assert_eq!(r["code"], 200, "{r}");
}

fn last_msg_id(api: &Lanying, me: i64, opposite: i64) -> i64 {
    let (_, conv) = api.call(
        reqwest::Method::GET,
        &format!("/message/conversation?opposite_id={opposite}&msg_id_start=0&limit=1"),
        Some(me),
        None,
    );
    conv["data"]["messages"][0]["msg_id"].as_i64().unwrap()
}

fn group(api: &Lanying, owner: i64, name: &str, members: &[i64]) -> i64 {
    let (_, g) = api.call(
        reqwest::Method::POST,
        "/group/create",
        Some(owner),
        Some(json!({"name": name, "description": format!("{name} description"), "user_list": members})),
    );
    assert_eq!(g["code"], 200, "{g}");
    g["data"]["group_id"].as_i64().unwrap()
}

/// Entries of `dir` (temp files included).
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn export_decrypts_to_exactly_the_users_data_and_is_audited_by_pseudonym() {
    let server = Server::start();
    server.login();
    let alice = create_user(
        &server,
        "alice_export",
        &["--nick-name", "Alice Nick", "--email", "alice@example.com"],
    );
    let bob = create_user(&server, "bob", &[]);
    let carol = create_user(&server, "carol", &[]);
    let api = Lanying::new(&server);

    let m1 = send(&api, alice, bob, "hello bob, from alice");
    let m2 = send(&api, bob, alice, "hi alice, from bob");
    send(&api, bob, carol, "UnrelatedBobToCarol");
    let club = group(&api, bob, "Book club", &[alice, carol]);
    let other = group(&api, carol, "Carols group", &[bob]);
    send_group(&api, alice, club, "alice in the club");
    let m3 = last_msg_id(&api, alice, club);
    send_group(&api, carol, club, "UnrelatedCarolInClub");
    send_group(&api, bob, other, "UnrelatedBobInOtherGroup");

    let (key, recipient) = keygen(server.tmp());
    let dir = server.tmp().join("exports");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("alice.json.age");
    let out = run(server
        .imadm()
        .args([
            "user",
            "export",
            "alice_export",
            "--recipient",
            &recipient,
            "-o",
            "json",
            "--out",
        ])
        .arg(&file));
    assert_success(&out);
    let summary = json_stdout(&out);
    assert_eq!(summary["schema_version"], 1, "{summary}");
    assert_eq!(summary["path"], file.display().to_string());
    assert_eq!(summary["recipients"], json!([recipient]));
    assert_eq!(summary["user_id"], alice);
    assert_eq!(summary["counts"]["groups"], 1, "{summary}");
    assert_eq!(summary["counts"]["messages"], 3, "{summary}");
    assert_eq!(summary["counts"]["devices"], 0, "{summary}");
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(summary["bytes"], bytes.len() as u64);
    assert_eq!(summary["sha256"], hex::encode(Sha256::digest(&bytes)));
    assert!(
        bytes.starts_with(b"age-encryption.org/v1"),
        "age binary format"
    );
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "export file mode {mode:o}");
    assert_eq!(
        entries(&dir),
        vec![file.clone()],
        "no temp file left behind"
    );

    let text = decrypt(&key, &file);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["format"], "imadm-user-export");
    assert_eq!(doc["version"], 1);
    assert!(doc["exported_at"].as_str().unwrap().ends_with('Z'), "{doc}");
    assert_eq!(doc["server_id"], summary["server_id"]);
    assert!(!doc["server_id"].as_str().unwrap().is_empty());
    let user = &doc["user"];
    assert_eq!(user["user_id"], alice);
    assert_eq!(user["username"], "alice_export");
    assert_eq!(user["status"], "active");
    assert_eq!(user["nick_name"], "Alice Nick");
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["mobile"], Value::Null);
    let pseudonym = user["pseudonym"].as_str().unwrap().to_owned();
    assert!(
        pseudonym.starts_with("user:") && pseudonym.len() == 21,
        "{pseudonym}"
    );
    assert_eq!(doc["groups"].as_array().unwrap().len(), 1, "{doc}");
    let g = &doc["groups"][0];
    assert_eq!(g["group_id"], club);
    assert_eq!(g["name"], "Book club");
    assert_eq!(g["description"], "Book club description");
    assert_eq!(g["role"], "member");
    assert_eq!(g["owner_id"], bob);
    let messages: Vec<Value> = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            json!([
                m["msg_id"],
                m["direction"],
                m["from_user_id"],
                m["to_type"],
                m["to_id"],
                m["content_type"],
                m["content"]
            ])
        })
        .collect();
    assert_eq!(
        messages,
        vec![
            json!([
                m1,
                "sent",
                alice,
                "user",
                bob,
                "TEXT",
                "hello bob, from alice"
            ]),
            json!([
                m2,
                "received",
                bob,
                "user",
                alice,
                "TEXT",
                "hi alice, from bob"
            ]),
            json!([
                m3,
                "sent",
                alice,
                "group",
                club,
                "TEXT",
                "alice in the club"
            ]),
        ]
    );
    assert_eq!(doc["devices"], json!([]));
    for unrelated in [
        "UnrelatedBobToCarol",
        "UnrelatedCarolInClub",
        "UnrelatedBobInOtherGroup",
        "Carols group",
        "password",
        "pw-for-tests",
        "argon2",
    ] {
        assert!(
            !text.contains(unrelated),
            "{unrelated:?} in the export:\n{text}"
        );
    }
    // Exactly the events whose target is the user's pseudonym (message reads and sends
    // acting as alice), ending with the export's own record, made before the first byte.
    let events = doc["audit_events"].as_array().unwrap();
    assert_eq!(summary["counts"]["audit_events"], events.len(), "{summary}");
    let listed: Vec<String> = events
        .iter()
        .map(|e| {
            format!(
                "{}|{}|{}",
                e["seq"],
                e["action"].as_str().unwrap(),
                e["hash"].as_str().unwrap()
            )
        })
        .collect();
    let expected = server.sql(&format!(
        "SELECT seq, action, hash FROM audit_log WHERE target = '{pseudonym}' ORDER BY seq"
    ));
    assert_eq!(listed.join("\n"), expected.trim());
    assert!(
        listed.iter().any(|e| e.contains("|message.send|")),
        "{listed:?}"
    );
    let own = events.last().unwrap();
    assert_eq!(own["action"], "user.export");
    assert_eq!(own["outcome"], "success");
    assert_eq!(own["actor"], server.info.username.as_str());
    assert!(own.get("source").is_none(), "no operator address");

    // The audit log names the user by pseudonym only.
    let rows =
        server.sql("SELECT target, outcome, actor FROM audit_log WHERE action = 'user.export'");
    assert_eq!(
        rows.trim(),
        format!("{pseudonym}|success|{}", server.info.username)
    );
    assert_eq!(
        server
            .sql("SELECT seq FROM audit_log WHERE action = 'user.export'")
            .trim(),
        own["seq"].to_string()
    );
    assert!(!rows.contains("alice") && !rows.contains(&alice.to_string()));

    // By user id too, and again with --recipients-file (SSH and age recipients).
    let list = server.tmp().join("recipients.txt");
    std::fs::write(&list, format!("# the DPO\n{recipient}\n")).unwrap();
    let file2 = dir.join("by-id.age");
    let out = run(server
        .imadm()
        .args(["user", "export", &alice.to_string(), "--recipients-file"])
        .arg(&list)
        .arg("--out")
        .arg(&file2));
    assert_success(&out);
    let doc2: Value = serde_json::from_str(&decrypt(&key, &file2)).unwrap();
    assert_eq!(doc2["user"]["user_id"], alice);
    assert_eq!(doc2["messages"], doc["messages"]);
    assert_eq!(
        doc2["audit_events"].as_array().unwrap().len(),
        events.len() + 1,
        "the second export lists the first"
    );
}

#[test]
fn refused_or_broken_exports_exit_with_the_contract_codes_and_leave_no_file() {
    let server = Server::start_with(&["--seed-operator", "helper:support"]);
    server.login();
    let dave = create_user(&server, "dave", &[]);
    let (_, recipient) = keygen(server.tmp());
    let dir = server.tmp().join("out");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("x.age");
    let export = |user: &str| {
        let mut cmd = server.imadm();
        cmd.args(["user", "export", user, "--recipient", &recipient, "--out"])
            .arg(&file);
        cmd
    };

    // No recipient: usage, before anything is asked of the server.
    let out = run(server
        .imadm()
        .args(["user", "export", "dave", "--out"])
        .arg(&file));
    assert_exit(&out, 2);

    // Unknown user: not found.
    let out = run(&mut export("nobody_here"));
    assert_exit(&out, 6);
    assert!(
        entries(&dir).is_empty(),
        "{:?}\n{}",
        entries(&dir),
        describe(&out)
    );

    // An operator without user:export (support): permission denied, recorded as denied.
    let api = Api::new(&server);
    let creds = seeded(&server);
    let (pw, secret) = &creds["support"];
    let token = api.login("helper", pw, secret);
    let out = run(export("dave").env("IMADM_TOKEN", &token));
    assert_exit(&out, 5);
    assert!(entries(&dir).is_empty(), "{:?}", entries(&dir));
    assert_eq!(
        server
            .sql("SELECT outcome FROM audit_log WHERE action = 'user.export' AND actor = 'helper'")
            .trim(),
        "denied"
    );

    // Fail-closed: when the export cannot be recorded, nothing is sent or written.
    server.fail_inserts("audit_log", "NEW.action = 'user.export'");
    let out = run(&mut export("dave"));
    assert_error(&out, 1, "audit log could not be written");
    assert!(entries(&dir).is_empty(), "{:?}", entries(&dir));
    server.stop_failing_inserts("audit_log");
    assert_success(&run(&mut export("dave")));
    assert_eq!(entries(&dir), vec![file.clone()]);
    std::fs::remove_file(&file).unwrap();

    // A stream that breaks off after it started (here: a stored message that no longer
    // decrypts) is an integrity failure, and leaves no file; the server records it.
    let eve = create_user(&server, "eve", &[]);
    let (_, r) = Lanying::new(&server).call(
        reqwest::Method::POST,
        "/message/send",
        None,
        Some(json!({"from_user_id": dave, "targets": [eve], "type": 1, "content": "to eve", "content_type": 0})),
    );
    assert_eq!(r["code"], 200, "{r}");
    server.sql(&format!(
        "UPDATE im_messages SET content = {} WHERE from_id = {dave}",
        server.sql_blob("00112233445566778899aabbccddeeff00112233445566778899")
    ));
    let out = run(&mut export("dave"));
    assert_exit(&out, 8);
    assert!(entries(&dir).is_empty(), "{:?}", entries(&dir));
    assert_eq!(
        server
            .sql("SELECT outcome || ' ' || detail FROM audit_log WHERE action = 'user.export' ORDER BY seq DESC LIMIT 1")
            .trim(),
        "failure the export stream broke off"
    );

    // An erased user has nothing identifiable left: not found, and the refusal is
    // recorded under the pseudonym.
    let out = run(server
        .imadm()
        .args(["--yes", "user", "erase", "dave", "--otp"])
        .arg(server.next_code()));
    assert_success(&out);
    let out = run(&mut export(&dave.to_string()));
    assert_exit(&out, 6);
    assert!(entries(&dir).is_empty(), "{:?}", entries(&dir));
    assert_eq!(
        server
            .sql("SELECT outcome FROM audit_log WHERE action = 'user.export' ORDER BY seq DESC LIMIT 1")
            .trim(),
        "failure"
    );
}

/// More messages than one server page (500): every one arrives once, in id order, and
/// the CLI's counts match the document.
#[test]
fn export_pages_through_more_messages_than_one_page() {
    let server = Server::start();
    server.login();
    let erin = create_user(&server, "erin", &[]);
    let frank = create_user(&server, "frank", &[]);
    let api = Lanying::new(&server);
    for (from, to, n) in [(erin, frank, 1000), (frank, erin, 300)] {
        let (_, r) = api.call(
            reqwest::Method::POST,
            "/message/send",
            None,
            Some(json!({"from_user_id": from, "targets": vec![to; n], "type": 1, "content": format!("bulk from {from}"), "content_type": 0})),
        );
        assert_eq!(r["code"], 200, "{r}");
    }
    let (key, recipient) = keygen(server.tmp());
    let file = server.tmp().join("erin.age");
    let out = run(server
        .imadm()
        .args([
            "user", "export", "erin", "-r", &recipient, "-o", "json", "--out",
        ])
        .arg(&file));
    assert_success(&out);
    assert_eq!(json_stdout(&out)["counts"]["messages"], 1300);
    let doc: Value = serde_json::from_str(&decrypt(&key, &file)).unwrap();
    let messages = doc["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1300);
    let ids: Vec<i64> = messages
        .iter()
        .map(|m| m["msg_id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ascending, no repeats");
    let sent = messages.iter().filter(|m| m["direction"] == "sent").count();
    assert_eq!(sent, 1000);
}
