//! IM users, groups and messages end to end: `imadm user ...` against a real dev server
//! (import, streaming lists in every format, disable/enable, step-up delete, CSV row
//! errors and exit codes), the Lanying endpoints called directly (groups, messages,
//! HTTP 200 with the error code in the envelope), and encryption at rest checked by
//! scanning the raw SQLite files.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::harness::{
    Server, assert_error, assert_exit, assert_success, describe, json_stdout, run, stderr, stdout,
};

/// A logged-in dev server.
fn server() -> Server {
    let s = Server::start();
    s.login();
    s
}

fn write_csv(server: &Server, name: &str, body: &str) -> std::path::PathBuf {
    let path = server.tmp().join(name);
    std::fs::write(&path, body).unwrap();
    path
}

fn jsonl(out: &std::process::Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{}", describe(out))))
        .collect()
}

pub(crate) fn create_user(server: &Server, name: &str, extra: &[&str]) -> i64 {
    let out = run(server
        .imadm()
        .args(["user", "create", name, "--password-stdin", "-o", "json"])
        .args(extra)
        .write_stdin("pw-for-tests\n"));
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(v["schema_version"], 1, "{v}");
    assert_eq!(v["username"], name, "{v}");
    v["user_id"].as_i64().unwrap()
}

/// reqwest client trusting the dev CA, plus the Lanying headers.
pub(crate) struct Lanying {
    client: reqwest::blocking::Client,
    base: String,
    app_id: String,
    token: String,
}

impl Lanying {
    pub(crate) fn new(server: &Server) -> Lanying {
        let client = server.https_client();
        Lanying {
            client,
            base: server.info.server.clone(),
            app_id: server.info.app_id.clone(),
            token: server.token(),
        }
    }

    /// (HTTP status, envelope)
    pub(crate) fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        user_id: Option<i64>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut rb = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("app_id", &self.app_id)
            .header("access-token", &self.token);
        if let Some(u) = user_id {
            rb = rb.header("user_id", u.to_string());
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().unwrap())
    }
}

#[test]
fn import_then_list_streams_every_format_and_status_filters() {
    let server = server();
    let mut csv = String::from("username,password\n");
    for i in 0..250 {
        csv.push_str(&format!("bulk_{i:04},pw{i}\n"));
    }
    let file = write_csv(&server, "users.csv", &csv);
    let out = run(server
        .imadm()
        .args(["user", "import"])
        .arg(&file)
        .args(["-o", "jsonl"]));
    assert_success(&out);
    let rows = jsonl(&out);
    assert_eq!(rows.len(), 250, "{}", describe(&out));
    assert!(
        rows.iter()
            .all(|r| r["result"] == "ok" && r["user_id"].is_i64())
    );
    assert_eq!(rows[0]["row"], 2, "rows are numbered as lines of the file");

    // --all over three pages: every user once, ids ascending.
    let out = run(server
        .imadm()
        .args(["user", "list", "--all", "-o", "jsonl"]));
    assert_success(&out);
    let items = jsonl(&out);
    assert_eq!(items.len(), 250);
    let ids: Vec<i64> = items
        .iter()
        .map(|v| v["user_id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids not ascending");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 250, "duplicates");
    assert!(
        ids[0] >= 1_000_000_000_000,
        "Lanying-style 13-digit ids: {}",
        ids[0]
    );
    assert_eq!(items[0]["status"], "active");

    // Without --all: one page of 100, and stderr says how to get the rest.
    let out = run(server.imadm().args(["user", "list", "-o", "json"]));
    assert_success(&out);
    assert_eq!(json_stdout(&out).as_array().unwrap().len(), 100);
    assert!(stderr(&out).contains("--all"), "{}", describe(&out));

    // --limit caps the total across pages; csv/tsv have a header line.
    let out = run(server
        .imadm()
        .args(["user", "list", "--all", "--limit", "150", "-o", "csv"]));
    assert_success(&out);
    let csv_lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(csv_lines[0], "user_id,username,status,created_at");
    assert_eq!(csv_lines.len(), 151);
    let out = run(server.imadm().args(["user", "list", "--all", "-o", "tsv"]));
    assert_success(&out);
    assert_eq!(stdout(&out).lines().count(), 251);
    let out = run(server.imadm().args(["user", "list", "--all", "-o", "json"]));
    assert_success(&out);
    assert_eq!(json_stdout(&out).as_array().unwrap().len(), 250);
    let out = run(server
        .imadm()
        .args(["user", "list", "--limit", "3", "-o", "table"]));
    assert_success(&out);
    assert!(stdout(&out).contains("USERNAME") && stdout(&out).contains("bulk_0002"));

    // disable/enable by username and by id, reflected in --status.
    let out = run(server
        .imadm()
        .args(["user", "disable", "bulk_0007"])
        .arg(ids[9].to_string()));
    assert_success(&out);
    let disabled = |server: &Server| -> Vec<Value> {
        let out = run(server.imadm().args([
            "user", "list", "--all", "--status", "disabled", "-o", "jsonl",
        ]));
        assert_success(&out);
        jsonl(&out)
    };
    let d = disabled(&server);
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(d.iter().all(|v| v["status"] == "disabled"));
    assert_success(&run(server.imadm().args(["user", "enable", "bulk_0007"])));
    let d = disabled(&server);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["username"], "bulk_0009");
    let out = run(server
        .imadm()
        .args(["user", "list", "--all", "--status", "active", "-o", "jsonl"]));
    assert_eq!(jsonl(&out).len(), 249);

    // show accepts an id or a username; unknown users exit 6; disable is all or nothing.
    let out = run(server
        .imadm()
        .args(["user", "show", "bulk_0009", "-o", "json"]));
    assert_success(&out);
    assert_eq!(json_stdout(&out)["status"], "disabled");
    let out = run(server
        .imadm()
        .args(["user", "show"])
        .arg(ids[0].to_string())
        .args(["-o", "json"]));
    assert_eq!(json_stdout(&out)["username"], "bulk_0000");
    assert_error(
        &run(server.imadm().args(["user", "show", "nobody_here"])),
        6,
        "nobody_here",
    );
    let out = run(server
        .imadm()
        .args(["user", "disable", "bulk_0001", "nobody_here"]));
    assert_error(&out, 6, "nobody_here");
    assert_eq!(
        server
            .sql("SELECT COUNT(*) FROM im_users WHERE disabled = 1")
            .trim(),
        "1",
        "a failed disable changed something"
    );
}

#[test]
fn import_reports_every_bad_row_with_its_line_and_the_documented_exit_code() {
    let server = server();
    create_user(&server, "existing", &[]);
    let file = write_csv(
        &server,
        "bad.csv",
        "username,password,email\n\
         good_one,pw,a@example.com\n\
         good_one,pw2,\n\
         existing,pw,\n\
         12345,pw,\n\
         too,many,fields,here\n\
         no_password,,\n\
         good_two,pw,\n",
    );
    let out = run(server
        .imadm()
        .args(["user", "import"])
        .arg(&file)
        .args(["-o", "json"]));
    assert_error(&out, 2, "5 of 7 rows failed");
    let rows = json_stdout(&out);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 7, "one result per data line, nothing skipped");
    let by_row = |n: i64| rows.iter().find(|r| r["row"] == n).unwrap().clone();
    assert_eq!(by_row(2)["result"], "ok");
    assert!(
        by_row(3)["error"].as_str().unwrap().contains("row 2"),
        "{rows:?}"
    );
    assert!(
        by_row(4)["error"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
    assert!(by_row(5)["error"].as_str().unwrap().contains("digits"));
    assert!(by_row(6)["error"].as_str().unwrap().contains("fields"));
    assert!(by_row(7)["error"].as_str().unwrap().contains("password"));
    assert_eq!(by_row(8)["result"], "ok");
    assert_eq!(server.sql("SELECT COUNT(*) FROM im_users").trim(), "3");

    // Only conflicts: exit 7.
    let file = write_csv(
        &server,
        "dups.csv",
        "username,password\nexisting,pw\nfresh,pw\n",
    );
    let out = run(server
        .imadm()
        .args(["user", "import"])
        .arg(&file)
        .args(["-o", "jsonl"]));
    assert_error(&out, 7, "1 of 2 rows failed");
    assert_eq!(jsonl(&out)[1]["result"], "ok");

    // An unknown column refuses the whole file before anything is created.
    let file = write_csv(
        &server,
        "typo.csv",
        "username,password,emial\nnew_user,pw,x\n",
    );
    let out = run(server.imadm().args(["user", "import"]).arg(&file));
    assert_error(&out, 2, "emial");
    assert_eq!(
        server
            .sql("SELECT COUNT(*) FROM im_users WHERE username = 'new_user'")
            .trim(),
        "0"
    );
}

#[test]
fn delete_needs_confirmation_and_a_fresh_step_up_code() {
    let server = server();
    let a = create_user(&server, "doomed_a", &[]);
    create_user(&server, "doomed_b", &[]);

    // No password source under --no-input: usage error with a hint.
    let out = run(server
        .imadm()
        .args(["--no-input", "user", "create", "nopw"]));
    assert_error(&out, 2, "--password-stdin");

    let out = run(server
        .imadm()
        .args(["--no-input", "user", "delete", "doomed_a"]));
    assert_error(&out, 2, "--yes");
    let out = run(server
        .imadm()
        .args(["--no-input", "--yes", "user", "delete", "doomed_a"]));
    assert_error(&out, 4, "step-up");
    assert_eq!(server.sql("SELECT COUNT(*) FROM im_users").trim(), "2");

    let code = server.next_code();
    let out = run(server
        .imadm()
        .args(["--no-input", "--yes", "user", "delete"])
        .arg(a.to_string())
        .args(["--otp", &code]));
    assert_success(&out);
    assert_eq!(
        server.sql("SELECT username FROM im_users").trim(),
        "doomed_b"
    );

    // The same code again is a replay.
    let out = run(server.imadm().args([
        "--no-input",
        "--yes",
        "user",
        "delete",
        "doomed_b",
        "--otp",
        &code,
    ]));
    assert_exit(&out, 4);
    assert_eq!(server.sql("SELECT COUNT(*) FROM im_users").trim(), "1");

    // Through the env variable, as in cron.
    let out = run(server
        .imadm()
        .args(["--no-input", "--yes", "user", "delete", "doomed_b"])
        .env("IMADM_OTP", server.next_code()));
    assert_success(&out);
    assert_eq!(server.sql("SELECT COUNT(*) FROM im_users").trim(), "0");
}

#[test]
fn profile_fields_group_names_and_messages_are_encrypted_at_rest() {
    let server = server();
    let alice = create_user(
        &server,
        "alice",
        &[
            "--nick-name",
            "NickPlainMarker",
            "--email",
            "alice-marker@example.com",
        ],
    );
    let bob = create_user(&server, "bob", &[]);
    let api = Lanying::new(&server);
    let secret = "SecretMessageMarker-42";
    let (_, r) = api.call(
        reqwest::Method::POST,
        "/message/send",
        None,
        Some(json!({"from_user_id": alice, "targets": [bob], "type": 1, "content": secret, "content_type": 0})),
    );
    assert_eq!(r["code"], 200, "{r}");
    let (_, g) = api.call(
        reqwest::Method::POST,
        "/group/create",
        Some(alice),
        Some(json!({"name": "GroupNameMarker", "description": "GroupDescMarker", "user_list": [bob]})),
    );
    assert_eq!(g["code"], 200, "{g}");
    let gid = g["data"]["group_id"].as_i64().unwrap();
    let (_, r) = api.call(
        reqwest::Method::POST,
        "/message/send",
        Some(bob),
        Some(json!({"targets": [gid], "type": 2, "content": "GroupMessageMarker", "content_type": 0})),
    );
    assert_eq!(r["code"], 200, "{r}");

    // Readable through the API...
    let (_, conv) = api.call(
        reqwest::Method::GET,
        &format!("/message/conversation?opposite_id={bob}&msg_id_start=0&limit=10"),
        Some(alice),
        None,
    );
    assert_eq!(conv["data"]["messages"][0]["content"], secret, "{conv}");
    assert_eq!(conv["data"]["is_last"], true);
    let out = run(server.imadm().args(["user", "show", "alice", "-o", "json"]));
    assert_eq!(json_stdout(&out)["nick_name"], "NickPlainMarker");
    assert_eq!(g["data"]["name"], "GroupNameMarker");

    // ...but nowhere in the database's files or anything else in the data dir.
    for needle in [
        secret,
        "NickPlainMarker",
        "alice-marker@example.com",
        "GroupNameMarker",
        "GroupDescMarker",
        "GroupMessageMarker",
    ] {
        let hits = server.stored_files_containing(needle);
        assert!(hits.is_empty(), "{needle:?} in plaintext in {hits:?}");
    }
    // The control: usernames are not secret and are found, so the scan works.
    assert!(!server.stored_files_containing("alice").is_empty());
}

#[test]
fn groups_round_trip_and_business_errors_answer_http_200_with_the_code() {
    let server = server();
    let owner = create_user(&server, "owner_u", &[]);
    let m1 = create_user(&server, "member_1", &[]);
    let m2 = create_user(&server, "member_2", &[]);
    let api = Lanying::new(&server);
    use reqwest::Method as M;

    let (_, g) = api.call(
        M::POST,
        "/group/create",
        Some(owner),
        Some(json!({"name": "team"})),
    );
    assert_eq!(g["code"], 200, "{g}");
    let gid = g["data"]["group_id"].as_i64().unwrap();
    assert_eq!(g["data"]["owner_id"], owner);
    assert_eq!(g["data"]["count"], 1);

    let (_, inv) = api.call(
        M::POST,
        "/group/invite",
        Some(owner),
        Some(json!({"group_id": gid, "user_list": [m1, m2, m1 + 999_999]})),
    );
    assert_eq!(inv["code"], 200, "{inv}");
    let results: Vec<&str> = inv["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["success", "success", "fail"]);
    let (_, again) = api.call(
        M::POST,
        "/group/invite",
        None,
        Some(json!({"group_id": gid, "user_list": [m1]})),
    );
    assert!(
        again["data"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("20017"),
        "{again}"
    );

    let (_, members) = api.call(
        M::GET,
        &format!("/group/member_list?group_id={gid}&limit=2"),
        Some(owner),
        None,
    );
    assert_eq!(members["code"], 200, "{members}");
    assert_eq!(members["data"].as_array().unwrap().len(), 2);
    let cursor = members["cursor"]
        .as_str()
        .expect("a cursor while more members follow")
        .to_owned();
    let (_, rest) = api.call(
        M::GET,
        &format!("/group/member_list?group_id={gid}&limit=2&cursor={cursor}"),
        None,
        None,
    );
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);
    assert!(rest.get("cursor").is_none(), "{rest}");

    let (_, kick) = api.call(
        M::POST,
        "/group/kick",
        None,
        Some(json!({"group_id": gid, "user_list": [m2, owner]})),
    );
    assert_eq!(kick["data"][0]["result"], "success", "{kick}");
    assert_eq!(kick["data"][1]["result"], "fail", "the owner stays: {kick}");
    let (_, info) = api.call(M::GET, &format!("/group/info?group_id={gid}"), None, None);
    assert_eq!(info["data"]["count"], 2, "{info}");
    assert_eq!(info["data"]["name"], "team");

    let (_, d) = api.call(
        M::POST,
        &format!("/group/destroy?group_id={gid}"),
        Some(owner),
        None,
    );
    assert_eq!(d["code"], 200, "{d}");
    let (status, info) = api.call(M::GET, &format!("/group/info?group_id={gid}"), None, None);
    assert_eq!(
        (status, info["code"].as_i64()),
        (200, Some(20001)),
        "{info}"
    );

    // Lanying business errors: HTTP 200 and the code in the envelope.
    let (status, p) = api.call(M::GET, "/user/profile", Some(owner + 12_345), None);
    assert_eq!((status, p["code"].as_i64()), (200, Some(10000)), "{p}");
    let (status, p) = api.call(
        M::POST,
        "/user/register/v2",
        None,
        Some(json!({"username": "maxim_x", "password": "pw"})),
    );
    assert_eq!((status, p["code"].as_i64()), (200, Some(10002)), "{p}");
    let (status, p) = api.call(
        M::POST,
        "/user/register/v2",
        None,
        Some(json!({"username": "owner_u", "password": "pw"})),
    );
    assert_eq!((status, p["code"].as_i64()), (200, Some(10004)), "{p}");
    let (status, p) = api.call(M::POST, "/user/delete", Some(m1), None);
    assert_eq!(
        (status, p["code"].as_i64()),
        (200, Some(50010)),
        "step-up needed: {p}"
    );
    let (_, list) = api.call(M::GET, "/user/list?page_num=2&page_size=2", None, None);
    assert_eq!(list["data"][0]["username"], "member_2", "{list}");
    assert_eq!(list["data"][0]["status"], 0);

    // The admin extension keeps real HTTP statuses.
    let (status, p) = api.call(M::GET, "/admin/users/nobody_here", None, None);
    assert_eq!((status, p["code"].as_i64()), (404, Some(10000)), "{p}");
    let (status, _) = api.call(M::GET, "/admin/users?limit=5000", None, None);
    assert_eq!(status, 400);

    // Both parts are in our OpenAPI document.
    let (_, doc) = api.call(M::GET, "/openapi.json", None, None);
    for path in [
        "/user/register/v2",
        "/group/member_list",
        "/message/conversation",
        "/admin/users/{user}",
        "/admin/users/{user}/export",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from /openapi.json"
        );
    }
}

/// GDPR art. 17: `user erase` wipes the profile, the contents of sent messages and the
/// memberships, leaves no trace of the name in the SQLite file (secure_delete, WAL
/// truncated), keeps a pseudonymous tombstone, and the audit chain still verifies.
#[test]
fn erase_leaves_no_trace_of_the_name_and_the_audit_chain_still_verifies() {
    let server = server();
    let name = "erasable_zed";
    let zed = create_user(&server, name, &["--nick-name", "ZedNickMarker"]);
    let bob = create_user(&server, "bob", &[]);
    let api = Lanying::new(&server);
    let (_, r) = api.call(
        reqwest::Method::POST,
        "/message/send",
        None,
        Some(json!({"from_user_id": zed, "targets": [bob], "type": 1, "content": "ZedSaysHello", "content_type": 0})),
    );
    assert_eq!(r["code"], 200, "{r}");
    let (_, g) = api.call(
        reqwest::Method::POST,
        "/group/create",
        Some(bob),
        Some(json!({"name": "Club", "user_list": [zed]})),
    );
    assert_eq!(g["code"], 200, "{g}");

    // Without a step-up code the server refuses (exit 4) and nothing changes.
    let out = run(server
        .imadm()
        .args(["--no-input", "--yes", "user", "erase", name]));
    assert_exit(&out, 4);
    assert_eq!(
        server
            .sql(&format!(
                "SELECT username FROM im_users WHERE user_id = {zed}"
            ))
            .trim(),
        name
    );

    let out = run(server
        .imadm()
        .args(["--yes", "user", "erase", name, "-o", "json", "--otp"])
        .arg(server.next_code()));
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(v["user_id"], zed);
    assert_eq!(v["messages_erased"], 1, "{v}");
    assert_eq!(v["memberships_removed"], 1, "{v}");
    let pseudonym = v["pseudonym"].as_str().unwrap().to_owned();
    assert!(pseudonym.starts_with("user:"));

    // The row is a tombstone; the message row stays (bob's conversation keeps its shape)
    // with no content; the membership is gone.
    let row = server.sql(&format!(
        "SELECT username, disabled, CASE WHEN nick_name IS NULL THEN 1 ELSE 0 END, password_hash \
         FROM im_users WHERE user_id = {zed}"
    ));
    assert_eq!(
        row.trim(),
        format!(
            "erased-{}|1|1|!erased",
            pseudonym.trim_start_matches("user:")
        )
    );
    assert_eq!(
        server
            .sql(&format!(
                "SELECT length(content) FROM im_messages WHERE from_id = {zed}"
            ))
            .trim(),
        "0"
    );
    assert_eq!(
        server
            .sql(&format!(
                "SELECT count(*) FROM im_group_members WHERE user_id = {zed}"
            ))
            .trim(),
        "0"
    );
    // The name is nowhere in the database's files or the data dir.
    assert_eq!(
        server.stored_files_containing(name),
        Vec::<std::path::PathBuf>::new()
    );
    // The audit log names the user only by pseudonym, and records the erasure.
    assert_eq!(
        server
            .sql(&format!(
                "SELECT outcome FROM audit_log WHERE action = 'user.erase' AND target = '{pseudonym}' ORDER BY seq"
            ))
            .trim(),
        "denied\nsuccess",
        "the refused attempt, then the erasure"
    );
    let out = run(server
        .imadm()
        .args(["user", "show", &zed.to_string(), "-o", "json"]));
    assert_success(&out);
    assert_eq!(json_stdout(&out)["status"], "erased");
    assert_exit(&run(server.imadm().args(["user", "show", name])), 6);
    // Bob can still read his conversation: the erased message is empty, not an error.
    let (_, conv) = api.call(
        reqwest::Method::GET,
        &format!("/message/conversation?opposite_id={zed}&msg_id_start=0&limit=10"),
        Some(bob),
        None,
    );
    assert_eq!(conv["code"], 200, "{conv}");

    // The audit chain still verifies end to end.
    let report = server.tmp().join("after-erase.json");
    assert_success(&run(server
        .imadm()
        .args(["audit", "export", "--since", "1h", "--out"])
        .arg(&report)));
    assert_success(&run(server.imadm().arg("audit").arg("verify").arg(&report)));
    // Erasing twice is refused.
    let out = run(server
        .imadm()
        .args(["--yes", "user", "erase", &zed.to_string(), "--otp"])
        .arg(server.next_code()));
    assert_exit(&out, 6);
}
