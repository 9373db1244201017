//! Server hardening (README "Hardening"): security headers on every response, a data dir
//! nobody else can read, a server process without core dumps, and length limits on the
//! IM fields the server stores (`imadm_api::im::limits`) and on request bodies.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use imadm_api::im::limits;
use reqwest::Method as M;
use serde_json::{Value, json};

use crate::harness::*;
use crate::users::{Lanying, create_user};

#[test]
fn every_response_carries_the_security_headers() {
    let server = Server::start();
    let token = {
        server.login();
        server.token()
    };
    let http = server.https_client();
    let base = &server.info.server;
    let app = server.info.app_id.as_str();
    let requests = [
        // public discovery, a success, the OpenAPI document
        http.get(format!("{base}/admin/server-info")),
        http.get(format!("{base}/openapi.json")),
        http.get(format!("{base}/admin/auth/whoami"))
            .header("app_id", app)
            .header("access-token", &token),
        // a Lanying route, an unauthenticated refusal, a refused app_id, no such route
        http.get(format!("{base}/user/list?page_num=1&page_size=10"))
            .header("app_id", app)
            .header("access-token", &token),
        http.post(format!("{base}/admin/auth/login"))
            .header("app_id", app)
            .json(&json!({"username": "nobody", "password": "x"})),
        http.get(format!("{base}/admin/auth/whoami")),
        http.get(format!("{base}/no/such/route"))
            .header("app_id", app),
    ];
    for rb in requests {
        let resp = rb.send().unwrap();
        let what = format!("{} {}", resp.status(), resp.url().path());
        let h = resp.headers();
        for (name, want) in [
            ("strict-transport-security", "max-age=31536000"),
            ("x-content-type-options", "nosniff"),
            ("content-security-policy", "default-src 'none'"),
            ("cache-control", "no-store"),
        ] {
            assert_eq!(
                h.get(name).and_then(|v| v.to_str().ok()),
                Some(want),
                "{name} on {what}: {h:?}"
            );
        }
    }
}

/// Every file under `dir` is 0600 and every directory 0700; how many files there are.
fn assert_private(dir: &Path) -> usize {
    let mut seen = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "directory {} is {mode:o}", d.display());
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                stack.push(p);
            } else {
                let mode = meta.permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{} is {mode:o}", p.display());
                seen += 1;
            }
        }
    }
    seen
}

#[test]
fn the_data_dir_is_readable_by_its_owner_only() {
    let server = Server::start();
    server.login();
    create_user(&server, "mode_check", &[]);
    // A write happened: on SQLite the database, its WAL and shared memory are there to
    // be checked; on PostgreSQL no database file is in the data dir at all.
    let mut db_files: Vec<String> = std::fs::read_dir(&server.data_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("imadm.db"))
        .collect();
    db_files.sort();
    assert_eq!(db_files, server.database_file_names());
    // Those, and the lock, the server and audit keys, the dev credentials, the dev CA
    // and the TLS certificate and key.
    let files = assert_private(&server.data_dir);
    assert!(
        files >= db_files.len() + 7,
        "expected the database files, keys and certificates; {files} files"
    );
}

#[test]
fn the_server_process_cannot_dump_core() {
    let server = Server::start();
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.pid())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap_or_else(|| panic!("{limits}"));
    let fields: Vec<&str> = line.split_whitespace().collect();
    // "Max core file size <soft> <hard> bytes": both 0, so nothing can raise it again.
    assert_eq!(&fields[4..6], ["0", "0"], "{line}");
}

fn register(api: &Lanying, body: Value) -> Value {
    let (status, env) = api.call(M::POST, "/user/register/v2", None, Some(body));
    assert_eq!(status, 200, "Lanying routes answer HTTP 200: {env}");
    env
}

fn assert_refused(env: &Value, field: &str, max: usize) {
    assert_eq!(env["code"], 10002, "{env}");
    let msg = env["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains(field) && msg.contains(&max.to_string()),
        "the message names {field} and {max}: {env}"
    );
}

#[test]
fn im_fields_are_refused_past_their_limit_and_accepted_at_it() {
    let server = Server::start();
    server.login();
    let api = Lanying::new(&server);

    // Registration: each profile field at its limit passes, one character more is refused
    // naming the field and the limit. Multi-byte text: limits count characters.
    for (i, (field, max)) in [
        ("nick_name", limits::NICK_NAME),
        ("email", limits::EMAIL),
        ("mobile", limits::MOBILE),
        ("password", limits::PASSWORD),
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = json!({"username": format!("limit_{i}"), "password": "pw"});
        body[field] = json!("é".repeat(max + 1));
        assert_refused(&register(&api, body.clone()), field, max);
        body[field] = json!("é".repeat(max));
        let env = register(&api, body);
        assert_eq!(env["code"], 200, "{field} at its limit: {env}");
    }
    // The case: a 2 MB nick name. It no longer fits a request body at all.
    let env = register(
        &api,
        json!({"username": "huge", "password": "pw", "nick_name": "x".repeat(2_000_000)}),
    );
    assert_eq!(env["code"], 10002, "{env}");
    let (_, list) = api.call(M::GET, "/user/list?page_num=1&page_size=50", None, None);
    assert!(
        !list.to_string().contains("\"huge\""),
        "not created: {list}"
    );

    // Groups and messages.
    let owner = create_user(&server, "limit_owner", &[]);
    let peer = create_user(&server, "limit_peer", &[]);
    let (_, env) = api.call(
        M::POST,
        "/group/create",
        Some(owner),
        Some(json!({"name": "g".repeat(limits::GROUP_NAME + 1)})),
    );
    assert_refused(&env, "name", limits::GROUP_NAME);
    let (_, env) = api.call(
        M::POST,
        "/group/create",
        Some(owner),
        Some(json!({"name": "team", "description": "d".repeat(limits::GROUP_DESCRIPTION + 1)})),
    );
    assert_refused(&env, "description", limits::GROUP_DESCRIPTION);
    let (_, env) = api.call(
        M::POST,
        "/group/create",
        Some(owner),
        Some(json!({
            "name": "g".repeat(limits::GROUP_NAME),
            "description": "d".repeat(limits::GROUP_DESCRIPTION),
        })),
    );
    assert_eq!(env["code"], 200, "at the limits: {env}");
    let send = |content: String| {
        api.call(
            M::POST,
            "/message/send",
            Some(owner),
            Some(json!({"targets": [peer], "type": 1, "content": content})),
        )
        .1
    };
    assert_refused(
        &send("m".repeat(limits::MESSAGE_CONTENT + 1)),
        "content",
        limits::MESSAGE_CONTENT,
    );
    let env = send("m".repeat(limits::MESSAGE_CONTENT));
    assert_eq!(env["code"], 200, "at the limit: {env}");

    // Passwords changed by an admin.
    let (_, env) = api.call(
        M::POST,
        "/user/change_password_admin",
        Some(peer),
        Some(json!({"password": "p".repeat(limits::PASSWORD + 1)})),
    );
    assert_refused(&env, "password", limits::PASSWORD);
}

#[test]
fn request_bodies_are_capped_at_one_mebibyte() {
    let server = Server::start();
    server.login();
    let api = Lanying::new(&server);
    // Valid fields, padded past 1 MiB with a field the server ignores.
    let env = register(
        &api,
        json!({"username": "padded", "password": "pw", "pad": "p".repeat(1_100_000)}),
    );
    assert_eq!(env["code"], 10002, "{env}");
    assert!(
        env["message"]
            .as_str()
            .unwrap_or_default()
            .contains("1048576 bytes"),
        "{env}"
    );
    let env = register(
        &api,
        json!({"username": "padded", "password": "pw", "pad": "p".repeat(1_000_000)}),
    );
    assert_eq!(env["code"], 200, "under the cap: {env}");
}

#[test]
fn the_cli_reports_fields_over_their_limit() {
    let server = Server::start();
    server.login();
    let out = run(server
        .imadm()
        .args(["user", "create", "long_nick", "--password-stdin"])
        .arg("--nick-name")
        .arg("n".repeat(limits::NICK_NAME + 1))
        .write_stdin("pw-for-tests\n"));
    assert_error(&out, 2, "nick_name is longer than 256 characters");

    let file = server.tmp().join("limits.csv");
    std::fs::write(
        &file,
        format!(
            "username,password,nick_name\nat_limit,pw,{}\nover_limit,pw,{}\n",
            "n".repeat(limits::NICK_NAME),
            "n".repeat(limits::NICK_NAME + 1)
        ),
    )
    .unwrap();
    let out = run(server
        .imadm()
        .args(["user", "import", "-o", "jsonl"])
        .arg(&file));
    assert_exit(&out, 2);
    let rows: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{}", describe(&out));
    assert_eq!(rows[0]["result"], "ok", "{}", describe(&out));
    assert_eq!(rows[1]["row"], 3);
    assert_eq!(rows[1]["result"], "error");
    assert!(
        rows[1]["error"]
            .as_str()
            .unwrap()
            .contains("nick_name is longer than 256 characters"),
        "{}",
        describe(&out)
    );
}
