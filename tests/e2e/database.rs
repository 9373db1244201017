//! `imadm server --database`: the PostgreSQL backend is experimental, so a postgres://
//! URL needs `IMADM_EXPERIMENTAL_POSTGRES=1`; with it the server serves on the database
//! (backups and restores as on SQLite); a password is refused on the command line, and no message
//! repeats one. (The backend itself is tested in crates/server/tests/postgres.rs; the
//! whole suite runs on it with `IMADM_TEST_STORE=postgres`, see `harness.rs`.)

use crate::harness::{
    PgDatabase, Server, assert_error, assert_success, imadm_in, json_stdout, run, stderr,
};

/// `imadm server --dev` with `args`; port 0, so a server that did start would not clash.
fn server(env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = imadm_in(dir.path());
    cmd.args(["server", "--dev", "--listen", "127.0.0.1:0"])
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

#[test]
fn a_postgres_url_is_refused_unless_the_experiment_is_enabled() {
    let out = server(&[], &["--database", "postgres://app@127.0.0.1:1/imadm"]);
    assert_error(&out, 2, "the PostgreSQL backend is experimental");
    let out = server(
        &[("IMADM_DATABASE_URL", "postgres://app@127.0.0.1:1/imadm")],
        &[],
    );
    assert_error(&out, 2, "the PostgreSQL backend is experimental");
    let out = server(&[], &["--database", "mysql://app@127.0.0.1/imadm"]);
    assert_error(&out, 2, "--database takes a postgres:// URL");
}

#[test]
fn a_database_password_never_comes_from_argv_nor_goes_into_a_message() {
    let out = server(
        &[("IMADM_EXPERIMENTAL_POSTGRES", "1")],
        &["--database", "postgres://app:hunter2@127.0.0.1:1/imadm"],
    );
    assert_error(&out, 2, "--database must not hold a password");
    // From the environment it is allowed; the connection fails (nothing listens on port
    // 1) and the message shows the URL without it.
    let out = server(
        &[
            ("IMADM_EXPERIMENTAL_POSTGRES", "1"),
            (
                "IMADM_DATABASE_URL",
                "postgres://app:hunter2@127.0.0.1:1/imadm",
            ),
        ],
        &[],
    );
    assert_error(
        &out,
        3,
        "cannot connect to postgres://app@127.0.0.1:1/imadm",
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("hunter2"), "the password leaked: {all}");
}

#[test]
fn the_server_serves_on_postgresql_and_backs_up_and_restores_there() {
    let Some(pg) = PgDatabase::create() else {
        eprintln!("IMADM_TEST_PG unset: PostgreSQL e2e test skipped");
        return;
    };
    let server = Server::start_on(pg, &[]);
    server.login();
    let create = |name: &str| {
        let out = run(server
            .imadm()
            .args(["user", "create", name, "--password-stdin"])
            .write_stdin("pw-for-tests\n"));
        assert!(out.status.success(), "{}", server.server_stderr());
    };
    let names = || -> Vec<String> {
        let mut db = server.pg.as_ref().unwrap().client();
        db.query("SELECT username FROM im_users ORDER BY user_id", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    create("alice");
    assert_eq!(
        names(),
        vec!["alice".to_owned()],
        "the user is in PostgreSQL"
    );
    assert!(
        !server.data_dir.join("imadm.db").exists(),
        "no SQLite file beside the keys"
    );
    // The same backup and restore as on SQLite: the data rolls back, history stays.
    let dir = tempfile::tempdir().unwrap();
    let (key, recipient) = crate::backup::keypair(dir.path());
    let archive = crate::backup::backup(&server, &recipient, &[dir.path()]);
    create("bob");
    let out = run(server
        .imadm()
        .args(["--yes", "backup", "restore", "-o", "json", "--identity"])
        .arg(&key)
        .arg(&archive)
        .args(["--otp", &server.next_code()]));
    assert_success(&out);
    assert_eq!(
        names(),
        vec!["alice".to_owned()],
        "bob came after the backup"
    );
    let creates = server.sql("SELECT count(*) FROM audit_log WHERE action = 'user.create'");
    assert_eq!(creates.trim(), "2", "bob's creation is still on record");
}

/// A second `imadm server` (production mode, its own data dir and certificate) on
/// `a`'s PostgreSQL database, with copies of `a`'s server key and audit key; killed on
/// drop.
struct Instance {
    child: std::process::Child,
    url: String,
    ca_cert: std::path::PathBuf,
    client: reqwest::blocking::Client,
    _tmp: tempfile::TempDir,
}

impl Instance {
    fn beside(a: &Server) -> Instance {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        std::fs::create_dir(&data).unwrap();
        for name in ["server.key", "server.key.d", "audit.key", "audit.key.d"] {
            let from = a.data_dir.join(name);
            if from.exists() {
                let ok = std::process::Command::new("cp")
                    .arg("-a")
                    .arg(&from)
                    .arg(&data)
                    .status()
                    .unwrap();
                assert!(ok.success());
            }
        }
        let tls = tmp.path().join("tls");
        std::fs::create_dir(&tls).unwrap();
        let certs = imadm_server::tls::ensure_dev_certs(&tls).unwrap();
        let stderr_path = tmp.path().join("server.stderr");
        let mut cmd = std::process::Command::new(crate::harness::bin());
        for var in crate::harness::IMADM_ENV {
            cmd.env_remove(var);
        }
        let child = cmd
            .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .arg("--tls-cert")
            .arg(&certs.cert)
            .arg("--tls-key")
            .arg(&certs.key)
            .arg("--config-dir")
            .arg(tmp.path().join("config"))
            .envs(a.pg.as_ref().unwrap().env())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap();
        let mut b = Instance {
            child,
            url: String::new(),
            ca_cert: certs.ca_cert.clone(),
            client: reqwest::blocking::Client::builder()
                .tls_certs_merge(
                    reqwest::Certificate::from_pem_bundle(&std::fs::read(&certs.ca_cert).unwrap())
                        .unwrap(),
                )
                .build()
                .unwrap(),
            _tmp: tmp,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        b.url = loop {
            let text = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            if let Some(url) = text
                .lines()
                .find_map(|l| l.strip_prefix("imadm server listening on "))
            {
                break url.trim().trim_end_matches('/').to_owned();
            }
            assert!(
                std::time::Instant::now() < deadline && b.child.try_wait().unwrap().is_none(),
                "the second instance did not start:\n{text}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        b
    }

    /// `GET /admin/instance`'s data through `client` at `url`.
    fn instance_info(
        client: &reqwest::blocking::Client,
        url: &str,
        app_id: &str,
        token: &str,
    ) -> serde_json::Value {
        let r = client
            .get(format!("{}/admin/instance", url.trim_end_matches('/')))
            .header("app_id", app_id)
            .header("access-token", token)
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        r.json::<serde_json::Value>().unwrap()["data"].clone()
    }

    /// `GET path` with `token` for app `app_id`: (HTTP status, the body's `code`).
    fn get(&self, path: &str, app_id: &str, token: &str) -> (u16, i64) {
        let r = self
            .client
            .get(format!("{}{path}", self.url))
            .header("app_id", app_id)
            .header("access-token", token)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().unwrap_or_default();
        (status, body["code"].as_i64().unwrap_or(0))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn two_instances_on_one_database_share_revocations_and_one_audit_chain() {
    let Some(pg) = PgDatabase::create() else {
        eprintln!("IMADM_TEST_PG unset: PostgreSQL e2e test skipped");
        return;
    };
    let a = Server::start_on(pg, &[]);
    a.login();
    let token = a.token();
    let b = Instance::beside(&a);
    let info_a = Instance::instance_info(&a.https_client(), &a.info.server, &a.info.app_id, &token);
    let info_b = Instance::instance_info(&b.client, &b.url, &a.info.app_id, &token);
    assert_eq!(info_a["store"], "postgresql", "{info_a}");
    assert_eq!(info_a["schema_version"], info_b["schema_version"]);
    assert_ne!(
        info_a["instance"], info_b["instance"],
        "two instances, two ids"
    );
    // Twice: the second answer may come from B's cache of the session.
    assert_eq!(b.get("/admin/permissions", &a.info.app_id, &token).0, 200);
    assert_eq!(b.get("/admin/permissions", &a.info.app_id, &token).0, 200);

    // A service token revoked through A is refused by B on its next request.
    let code = a.next_code();
    let out = run(a.imadm().args([
        "token",
        "create",
        "--name",
        "t",
        "--scope",
        "role:read",
        "--expires",
        "1d",
        "-o",
        "json",
        "--otp",
        &code,
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json_stdout(&out);
    let (id, secret) = (
        v["id"].to_string(),
        v["secret"].as_str().unwrap().to_owned(),
    );
    assert_eq!(b.get("/admin/permissions", &a.info.app_id, &secret).0, 200);
    assert_eq!(b.get("/admin/permissions", &a.info.app_id, &secret).0, 200);
    assert_success(&run(a.imadm().args(["token", "revoke", &id])));
    assert_ne!(
        b.get("/admin/permissions", &a.info.app_id, &secret).0,
        200,
        "B still accepted a token revoked through A"
    );

    // Users created on both instances at once: one audit chain, no gap, verified.
    let b_config = tempfile::tempdir().unwrap();
    for (key, value) in [
        ("server", b.url.clone()),
        ("app_id", a.info.app_id.clone()),
        ("ca_cert", b.ca_cert.display().to_string()),
    ] {
        assert_success(&run(imadm_in(b_config.path())
            .args(["--profile", "b", "config", "set", key])
            .arg(value)));
    }
    let until = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let created: usize = std::thread::scope(|sc| {
        let mut handles = Vec::new();
        for t in 0..4 {
            let (a, b_config, token) = (&a, b_config.path(), &token);
            handles.push(sc.spawn(move || {
                let mut n = 0;
                while std::time::Instant::now() < until {
                    let name = format!("u{t}x{n}");
                    let mut cmd = if t % 2 == 0 {
                        a.imadm()
                    } else {
                        let mut c = imadm_in(b_config);
                        c.env("IMADM_TOKEN", token).args(["--profile", "b"]);
                        c
                    };
                    let out = run(cmd
                        .args(["user", "create", &name, "--password-stdin"])
                        .write_stdin("pw-for-tests\n"));
                    assert!(out.status.success(), "{}", stderr(&out));
                    n += 1;
                }
                n
            }));
        }
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert!(created >= 4, "{created}");
    assert_eq!(
        a.sql("SELECT count(*) FROM im_users").trim(),
        created.to_string()
    );
    assert_eq!(
        a.sql("SELECT count(*) = max(seq) FROM audit_log").trim(),
        "t",
        "the audit chain has a gap"
    );
    let report = b_config.path().join("report.json");
    assert_success(&run(a
        .imadm()
        .args(["audit", "export", "--out"])
        .arg(&report)));
    let out = run(a.imadm().args(["audit", "verify"]).arg(&report));
    assert!(out.status.success(), "{}", stderr(&out));

    let out = run(a.imadm().args(["auth", "logout"]));
    assert!(out.status.success(), "{}", a.server_stderr());
    let (status, code) = b.get("/admin/permissions", &a.info.app_id, &token);
    assert_eq!(
        (status, code),
        (401, i64::from(imadm_api::codes::TOKEN_INVALID)),
        "B still accepted a session logged out through A"
    );
}
