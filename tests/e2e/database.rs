//! `imadm server --database`: the server serves on a PostgreSQL database (backups and
//! restores as on SQLite; several instances on one database); a password is refused on the command line, and no message
//! repeats one. (The backend itself is tested in crates/server/tests/postgres.rs; the
//! whole suite runs on it with `IMADM_TEST_STORE=postgres`, see `harness.rs`.)

use crate::harness::{
    PgDatabase, Server, assert_error, assert_success, imadm_in, json_stdout, run, stderr, stdout,
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
fn a_database_url_must_be_postgres() {
    let out = server(&[], &["--database", "mysql://app@127.0.0.1/imadm"]);
    assert_error(&out, 2, "--database takes a postgres:// URL");
    // Nothing listens on port 1: refused by the connection, not by a usage rule.
    let out = server(&[], &["--database", "postgres://app@127.0.0.1:1/imadm"]);
    assert_error(
        &out,
        3,
        "cannot connect to postgres://app@127.0.0.1:1/imadm",
    );
}

#[test]
fn a_database_password_never_comes_from_argv_nor_goes_into_a_message() {
    let out = server(
        &[],
        &["--database", "postgres://app:hunter2@127.0.0.1:1/imadm"],
    );
    assert_error(&out, 2, "--database must not hold a password");
    // From the environment it is allowed; the connection fails (nothing listens on port
    // 1) and the message shows the URL without it.
    let out = server(
        &[(
            "IMADM_DATABASE_URL",
            "postgres://app:hunter2@127.0.0.1:1/imadm",
        )],
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
    child: Option<std::process::Child>,
    url: String,
    ca_cert: std::path::PathBuf,
    client: reqwest::blocking::Client,
    /// Its data dir (the copies of the keys).
    data: std::path::PathBuf,
    /// `imadm server` with its flags and environment, for each start.
    command: std::process::Command,
    stderr_path: std::path::PathBuf,
    _tmp: tempfile::TempDir,
}

/// The key files and directories an instance's data dir holds copies of.
const KEYS: [&str; 4] = ["server.key", "server.key.d", "audit.key", "audit.key.d"];

/// Copy `name` (a key file or directory) from the data dir `from` into `to`, replacing
/// what `to` had, modes kept: what the README tells the operator to do.
fn copy_keys(from: &std::path::Path, to: &std::path::Path, name: &str) {
    let target = to.join(name);
    if target.is_dir() {
        std::fs::remove_dir_all(&target).unwrap();
    }
    if from.join(name).exists() {
        let ok = std::process::Command::new("cp")
            .arg("-a")
            .arg(from.join(name))
            .arg(to)
            .status()
            .unwrap();
        assert!(ok.success(), "cp -a {name}");
    }
}

impl Instance {
    /// The second instance, with `extra` flags (e.g. the same alert thresholds as `a`).
    fn beside(a: &Server, extra: &[&str]) -> Instance {
        Instance::beside_with_env(a, extra, &[])
    }

    /// [`Instance::beside`] with extra environment variables (e.g. a sink's secret).
    fn beside_with_env(a: &Server, extra: &[&str], env: &[(&str, &str)]) -> Instance {
        let mut b = Instance::prepared(a, extra, env);
        b.start();
        b
    }

    /// The second instance, its data dir and certificate made, not started.
    fn prepared(a: &Server, extra: &[&str], env: &[(&str, &str)]) -> Instance {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        std::fs::create_dir(&data).unwrap();
        for name in KEYS {
            copy_keys(&a.data_dir, &data, name);
        }
        let tls = tmp.path().join("tls");
        std::fs::create_dir(&tls).unwrap();
        let certs = imadm_server::tls::ensure_dev_certs(&tls).unwrap();
        let mut command = std::process::Command::new(crate::harness::bin());
        for var in crate::harness::IMADM_ENV {
            command.env_remove(var);
        }
        command
            .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .arg("--tls-cert")
            .arg(&certs.cert)
            .arg("--tls-key")
            .arg(&certs.key)
            .arg("--config-dir")
            .arg(tmp.path().join("config"))
            .args(extra)
            .envs(a.pg.as_ref().unwrap().env())
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null());
        Instance {
            child: None,
            url: String::new(),
            ca_cert: certs.ca_cert.clone(),
            client: reqwest::blocking::Client::builder()
                .tls_certs_merge(
                    reqwest::Certificate::from_pem_bundle(&std::fs::read(&certs.ca_cert).unwrap())
                        .unwrap(),
                )
                .build()
                .unwrap(),
            data,
            command,
            stderr_path: tmp.path().join("server.stderr"),
            _tmp: tmp,
        }
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "the instance runs already");
        let stderr = std::fs::File::create(&self.stderr_path).unwrap();
        self.child = Some(self.command.stderr(stderr).spawn().unwrap());
    }

    /// Start it and wait until it listens.
    fn start(&mut self) {
        self.spawn();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        self.url = loop {
            let text = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
            if let Some(url) = text
                .lines()
                .find_map(|l| l.strip_prefix("imadm server listening on "))
            {
                break url.trim().trim_end_matches('/').to_owned();
            }
            let child = self.child.as_mut().unwrap();
            assert!(
                std::time::Instant::now() < deadline && child.try_wait().unwrap().is_none(),
                "the second instance did not start:\n{text}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
    }

    /// Start it, expecting it to refuse: its exit code and stderr.
    fn start_refused(&mut self) -> (i32, String) {
        self.spawn();
        let mut child = self.child.take().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the instance started: {}",
                    std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let text = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        (status.code().unwrap_or(-1), text)
    }

    /// Kill it (its database session ends with it), keeping its data dir.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
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
        self.send("GET", path, app_id, Some(token), None)
    }

    /// `method path` with `token` (if any) and a JSON `body` (if any): (HTTP status, the
    /// body's `code`).
    fn send(
        &self,
        method: &str,
        path: &str,
        app_id: &str,
        token: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> (u16, i64) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self
            .client
            .request(method, format!("{}{path}", self.url))
            .header("app_id", app_id);
        if let Some(t) = token {
            rb = rb.header("access-token", t);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let r = rb.send().unwrap();
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().unwrap_or_default();
        (status, body["code"].as_i64().unwrap_or(0))
    }

    /// `GET path` with `token`: the envelope's `data` (asserting a 200).
    fn get_data(&self, path: &str, app_id: &str, token: &str) -> serde_json::Value {
        let r = self
            .client
            .get(format!("{}{path}", self.url))
            .header("app_id", app_id)
            .header("access-token", token)
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "GET {path}");
        r.json::<serde_json::Value>().unwrap()["data"].clone()
    }

    /// The CLI at this instance (profile `b` in `config`, written for its current URL),
    /// with `token`, a session of `a`'s owner (sessions are in the shared database).
    fn imadm(&self, a: &Server, config: &std::path::Path, token: &str) -> assert_cmd::Command {
        for (key, value) in [
            ("server", self.url.clone()),
            ("app_id", a.info.app_id.clone()),
            ("ca_cert", self.ca_cert.display().to_string()),
        ] {
            assert_success(&run(imadm_in(config)
                .args(["--profile", "b", "config", "set", key])
                .arg(value)));
        }
        let mut cmd = imadm_in(config);
        cmd.env("IMADM_TOKEN", token).args(["--profile", "b"]);
        cmd
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn two_instances_on_one_database_share_revocations_and_one_audit_chain() {
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    let a = Server::start_on(pg, &[]);
    a.login();
    let token = a.token();
    let b = Instance::beside(&a, &[]);
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

/// Issue #16 section 3: a change made through one instance is in force on the other's
/// very next request (the window is zero requests): a permission granted then revoked, a
/// role losing a permission, an operator disabled (its open session), `operator
/// reset-mfa`. (A service token revoked and a logout:
/// `two_instances_on_one_database_share_revocations_and_one_audit_chain`.) Every check
/// on B comes after B answered the same request at least once (its cache is warm).
#[test]
fn a_change_through_one_instance_is_in_force_on_the_others_very_next_request() {
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    let a = Server::start_on(
        pg,
        &[
            "--seed-operator",
            "sup:support",
            "--seed-operator",
            "aud:auditor",
            "--seed-operator",
            "own2:owner",
            "--seed-operator",
            "own3:owner",
        ],
    );
    a.login();
    let b = Instance::beside(&a, &[]);
    let app = a.info.app_id.clone();
    let creds = crate::rbac::seeded(&a);
    let api = crate::rbac::Api::new(&a);
    let (pw, secret) = &creds["support"];
    let sup = api.login("sup", pw, secret);
    let (pw, secret) = &creds["auditor"];
    let aud = api.login("aud", pw, secret);
    let roles_on_b = |token: &str| b.get("/admin/roles", &app, token).0;

    // Step-ups by three owners in turn, so no one waits for a fresh TOTP step.
    let mut owners = [
        crate::rbac::Acting::login(&a, "own2"),
        crate::rbac::Acting::login(&a, "own3"),
    ];
    let mut turn = 0;
    let mut on_a = |args: &[&str]| {
        turn += 1;
        let out = match turn % 3 {
            0 => run(a.imadm().args(args).args(["--otp", &a.next_code()])),
            n => {
                let o = &mut owners[n - 1];
                let code = o.code();
                o.run(&[args, &["--otp", code.as_str()][..]].concat())
            }
        };
        assert_success(&out);
    };

    // A grant, then a revoke.
    assert_eq!(roles_on_b(&sup), 403, "support has no role:read");
    assert_eq!(roles_on_b(&sup), 403);
    on_a(&[
        "role",
        "create",
        "reader",
        "--permission",
        "role:read",
        "--permission",
        "operator:read",
    ]);
    on_a(&["operator", "grant", "sup", "reader"]);
    assert_eq!(roles_on_b(&sup), 200, "B missed a grant made on A");
    assert_eq!(roles_on_b(&sup), 200);
    on_a(&["operator", "revoke", "sup", "reader"]);
    assert_eq!(roles_on_b(&sup), 403, "B missed a revoke made on A");

    // A role losing a permission.
    on_a(&["operator", "grant", "sup", "reader"]);
    assert_eq!(roles_on_b(&sup), 200);
    assert_eq!(roles_on_b(&sup), 200);
    on_a(&["role", "update", "reader", "--remove", "role:read"]);
    assert_eq!(
        roles_on_b(&sup),
        403,
        "B missed a permission removed from a role on A"
    );

    // An operator disabled: its open session ends. (`/admin/operators`: sup keeps
    // operator:read through `reader`; it lost role:read above.)
    assert_eq!(b.get("/admin/operators", &app, &sup).0, 200);
    assert_eq!(b.get("/admin/operators", &app, &sup).0, 200);
    on_a(&["operator", "disable", "sup", "--yes"]);
    assert_ne!(
        b.get("/admin/operators", &app, &sup).0,
        200,
        "B still served an operator disabled on A"
    );

    // `operator reset-mfa` ends the operator's sessions.
    assert_eq!(roles_on_b(&aud), 200, "auditors read roles");
    assert_eq!(roles_on_b(&aud), 200);
    on_a(&["operator", "reset-mfa", "aud", "--yes"]);
    assert_ne!(
        roles_on_b(&aud),
        200,
        "B still served a session that reset-mfa on A ended"
    );
}

/// Login throttling counts the attempts of every instance: failures split between A and
/// B lock the address out at the fifth, on both; a burst sent to both at once gets
/// exactly the address's ten attempts, not ten per instance.
#[test]
fn login_throttling_counts_the_attempts_of_every_instance() {
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    let a = Server::start_on(pg, &["--seed-operator", "victim:support"]);
    let b = Instance::beside(&a, &[]);
    let app = a.info.app_id.clone();
    let api = crate::rbac::Api::new(&a);
    let (password, _) = crate::rbac::creds_of(&a, "victim");
    let login = |on_b: bool, username: &str, password: &str| -> (u16, i64) {
        let body = serde_json::json!({"username": username, "password": password});
        if on_b {
            b.send("POST", "/admin/auth/login", &app, None, Some(&body))
        } else {
            let (status, env) = api.call("POST", "/admin/auth/login", None, None, Some(&body));
            (status, env["code"].as_i64().unwrap_or(0))
        }
    };
    let start = std::time::Instant::now();
    for on_b in [false, true, false, true] {
        assert_eq!(login(on_b, "victim", "wrong-password-1"), (401, 50001));
    }
    assert_eq!(
        login(false, "victim", "wrong-password-1"),
        (429, 50005),
        "the fifth failure in a row locks, though A saw only three"
    );
    assert_eq!(
        login(true, "victim", &password),
        (429, 50005),
        "B refuses even the right password while the address is locked out"
    );
    assert_eq!(
        a.sql("SELECT count(*) FROM auth_events WHERE event = 'account.lockout'")
            .trim(),
        "1"
    );

    // The address's bucket: 10 attempts, then one every 6 s. Six are used; 20 more at
    // once, half through each instance, on names no lock applies to.
    let answers: Vec<(u16, i64)> = std::thread::scope(|s| {
        let tries: Vec<_> = (0..20)
            .map(|i| {
                let login = &login;
                s.spawn(move || login(i % 2 == 1, &format!("guess-{i}"), "wrong-password-1"))
            })
            .collect();
        tries.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let passed = answers.iter().filter(|a| **a == (401, 50001)).count();
    let refused = answers.iter().filter(|a| **a == (429, 50005)).count();
    assert_eq!(refused + passed, 20, "{answers:?}");
    // Per instance it would be 7 each (A and B each saw 3 of the 6).
    let most = 4 + start.elapsed().as_secs() as usize / 6 + 1;
    assert!(
        (4..=most).contains(&passed),
        "4 attempts left (and one back every 6 s since), not 7 per instance: {answers:?}"
    );
}

/// Issue #16 section 3: the alert rules count events on every instance (they count the
/// shared audit log inside the writing transaction), so failures split between A and B
/// raise the alert at exactly the threshold, once; and so do sensitive reads.
#[test]
fn alerts_count_the_events_of_every_instance() {
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    let rules = [
        "--alert-login-failures",
        "3/10m",
        "--alert-read-burst",
        "3/2m",
    ];
    let a = Server::start_on(
        pg,
        &[&["--seed-operator", "victim:support"][..], &rules].concat(),
    );
    a.login();
    let b = Instance::beside(&a, &rules);
    let app = a.info.app_id.clone();
    let api = crate::rbac::Api::new(&a);
    let alerts = |rule: &str| -> Vec<String> {
        a.sql(&format!(
            "SELECT severity || ' ' || actor || ' ' || detail FROM alerts WHERE rule = '{rule}'"
        ))
        .lines()
        .map(str::to_owned)
        .collect()
    };
    let wrong = serde_json::json!({"username": "victim", "password": "wrong-password-1"});
    let fail_on_a = || {
        let (st, env) = api.call("POST", "/admin/auth/login", None, None, Some(&wrong));
        assert_eq!(st, 401, "{env}");
    };
    let fail_on_b = || {
        let (st, _) = b.send("POST", "/admin/auth/login", &app, None, Some(&wrong));
        assert_eq!(st, 401);
    };
    fail_on_a();
    fail_on_b();
    assert!(alerts("login_failures").is_empty(), "two are below three");
    fail_on_a();
    assert_eq!(
        alerts("login_failures"),
        ["medium victim 3 failed logins within 10m"],
        "the third failure, on A after one on B, reaches the threshold"
    );
    fail_on_b();
    assert_eq!(alerts("login_failures").len(), 1, "raised once");

    let token = a.token();
    let export = serde_json::json!({});
    let read_on_a = || {
        let (st, env) = api.call(
            "POST",
            "/admin/audit/export",
            Some(&token),
            None,
            Some(&export),
        );
        assert_eq!(st, 200, "{env}");
    };
    read_on_a();
    let (st, _) = b.send(
        "POST",
        "/admin/audit/export",
        &app,
        Some(&token),
        Some(&export),
    );
    assert_eq!(st, 200);
    assert!(alerts("sensitive_read_burst").is_empty());
    read_on_a();
    assert_eq!(
        alerts("sensitive_read_burst"),
        [format!(
            "high {} 3 sensitive reads within 2m",
            a.info.username
        )]
    );
}

/// `imadm server rotate-key` (or `rotate-audit-key`) on the data dir of `server`, on its
/// database, with `-o json`.
fn rotate_offline(server: &Server, command: &str) -> std::process::Output {
    run(imadm_in(&server.tmp().join("rotate-config"))
        .args(["server", command, "-o", "json", "--data-dir"])
        .arg(&server.data_dir)
        .envs(server.database_env()))
}

/// The `user show` of `name` through `cmd`: (nick name, e-mail).
fn nick_and_email(mut cmd: assert_cmd::Command, name: &str) -> (String, String) {
    let out = run(cmd.args(["user", "show", name, "-o", "json"]));
    assert_success(&out);
    let v = json_stdout(&out);
    (
        v["nick_name"].as_str().unwrap_or_default().to_owned(),
        v["email"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Issue #16: the server key rotates offline on PostgreSQL with two instances: refused
/// (exit 7, nothing changed) while one runs; with both stopped it rotates on A's host;
/// B, whose data dir lacks the new key, refuses to start (exit 8, naming it) until
/// server.key.d/ is copied; then sealed values written before and after read back the
/// same through both, all under the new key.
#[test]
fn the_server_key_rotates_offline_across_instances_once_the_keys_are_copied() {
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    let mut a = Server::start_on(pg, &[]);
    a.login();
    let mut b = Instance::beside(&a, &[]);
    let app = a.info.app_id.clone();
    let create = |cmd: &mut assert_cmd::Command, name: &str| {
        assert_success(&run(cmd
            .args(["user", "create", name, "--password-stdin"])
            .args(["--nick-name", &format!("Nick {name}")])
            .args(["--email", &format!("{name}@example.com")])
            .write_stdin("pw-for-tests\n")));
    };
    create(&mut a.imadm(), "before");
    let keys = b.get_data("/admin/keys", &app, &a.token());
    let old = keys["keys"][0]["id"].as_str().unwrap().to_owned();

    // With a PostgreSQL data dir but no database URL: told to set it.
    a.stop_in_place();
    let out = run(imadm_in(&a.tmp().join("rotate-config"))
        .args(["server", "rotate-key", "--data-dir"])
        .arg(&a.data_dir));
    assert_error(&out, 2, "no SQLite database");
    assert!(
        stderr(&out).contains("IMADM_DATABASE_URL"),
        "{}",
        stderr(&out)
    );

    // B still runs: refused, nothing changed.
    let out = rotate_offline(&a, "rotate-key");
    assert_error(&out, 7, "an imadm server is running on this database");
    assert!(
        stderr(&out).contains("stop every instance"),
        "{}",
        stderr(&out)
    );
    assert!(!a.data_dir.join("server.key.d").exists());
    assert_eq!(
        a.sql("SELECT count(*) FROM audit_log WHERE action LIKE 'keys.%'")
            .trim(),
        "0"
    );

    b.stop();
    let out = rotate_offline(&a, "rotate-key");
    assert_success(&out);
    let new = json_stdout(&out)["active"].as_str().unwrap().to_owned();
    assert_ne!(new, old);

    // B without the new key: refused, naming it; then with a copy of server.key.d/.
    let (code, err) = b.start_refused();
    assert_eq!(code, 8, "{err}");
    assert!(err.contains(&new) && err.contains("server.key.d"), "{err}");
    copy_keys(&a.data_dir, &b.data, "server.key.d");
    b.start();
    let a = a.restart_with(&[]);
    a.login();
    let token = a.token();
    let b_config = a.tmp().join("b-config");
    create(&mut b.imadm(&a, &b_config, &token), "after");
    for name in ["before", "after"] {
        let expected = (format!("Nick {name}"), format!("{name}@example.com"));
        assert_eq!(nick_and_email(a.imadm(), name), expected, "through A");
        assert_eq!(
            nick_and_email(b.imadm(&a, &b_config, &token), name),
            expected,
            "through B"
        );
    }
    let keys = b.get_data("/admin/keys", &app, &token);
    assert_eq!(keys["sealed_values_left"], 0, "{keys}");
    let active: Vec<_> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["active"] == true)
        .map(|k| k["id"].clone())
        .collect();
    assert_eq!(active, [serde_json::Value::from(new.clone())], "{keys}");
    assert_eq!(
        a.sql("SELECT actor, outcome FROM audit_log WHERE action = 'keys.rotate'")
            .trim(),
        "imadm server rotate-key|success"
    );
}

/// A `rotate-key` killed half-way on PostgreSQL, its server.key.d/ copied to B: both
/// instances start with the re-seal unfinished and finish it (one instance at a time,
/// by the lease `reseal`; checked here by its outcome): every value ends under the new
/// key, readable through both.
#[test]
fn a_rotation_cut_short_is_finished_when_the_instances_start() {
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    let mut a = Server::start_on(pg, &[]);
    a.login();
    let mut b = Instance::beside(&a, &[]);
    for i in 0..8 {
        assert_success(&run(a
            .imadm()
            .args(["user", "create", &format!("cut_{i}"), "--password-stdin"])
            .args(["--email", &format!("cut{i}@example.com")])
            .write_stdin("pw-for-tests\n")));
    }
    a.stop_in_place();
    b.stop();
    let out = run(imadm_in(&a.tmp().join("rotate-config"))
        .args(["server", "rotate-key", "--data-dir"])
        .arg(&a.data_dir)
        .envs(a.database_env())
        .env("IMADM_TEST_RESEAL_BATCH", "2")
        .env("IMADM_TEST_RESEAL_STOP_AFTER", "2"));
    assert!(!out.status.success(), "{}", stderr(&out));
    copy_keys(&a.data_dir, &b.data, "server.key.d");
    b.start();
    let a = a.restart_with(&[]);
    a.login();
    let token = a.token();
    let api = crate::rbac::Api::new(&a);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, on_a) = api.call("GET", "/admin/keys", Some(&token), None, None);
        let on_b = b.get_data("/admin/keys", &a.info.app_id, &token);
        if on_a["data"]["sealed_values_left"] == 0 && on_b["sealed_values_left"] == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the re-seal did not finish: {on_a} {on_b}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let b_config = a.tmp().join("b-config");
    for i in [0, 7] {
        let name = format!("cut_{i}");
        assert_eq!(
            nick_and_email(a.imadm(), &name).1,
            format!("cut{i}@example.com")
        );
        assert_eq!(
            nick_and_email(b.imadm(&a, &b_config, &token), &name).1,
            format!("cut{i}@example.com")
        );
    }
}

/// The audit signing key the same way: B refuses to start until audit.key.d/ is copied;
/// then B serves the hand-off and signs with the new key, a CLI pinned to the old key
/// follows the hand-off through B, and the export verifies.
#[test]
fn the_audit_key_rotates_offline_across_instances_and_the_pin_follows_through_either() {
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    let mut a = Server::start_on(pg, &[]);
    a.login();
    let mut b = Instance::beside(&a, &[]);
    // The first export pins the server's audit key.
    assert_success(&run(a
        .imadm()
        .args(["audit", "export", "--out"])
        .arg(a.tmp().join("before.json"))));
    let old_key = stdout(&run(a.imadm().args(["config", "get", "audit_key"])))
        .trim()
        .to_owned();
    let out = rotate_offline(&a, "rotate-audit-key");
    assert_error(&out, 7, "has the data dir");
    a.stop_in_place();
    let out = rotate_offline(&a, "rotate-audit-key");
    assert_error(&out, 7, "an imadm server is running on this database");
    assert!(!a.data_dir.join("audit.key.d").exists());

    b.stop();
    let out = rotate_offline(&a, "rotate-audit-key");
    assert_success(&out);
    let handoff = json_stdout(&out);
    let new_key = handoff["new_key"].as_str().unwrap().to_owned();
    assert!(old_key.starts_with(handoff["old_key"].as_str().unwrap()));

    let (code, err) = b.start_refused();
    assert_eq!(code, 8, "{err}");
    assert!(
        err.contains("audit signing key") && err.contains("audit.key.d"),
        "{err}"
    );
    copy_keys(&a.data_dir, &b.data, "audit.key.d");
    b.start();
    let a = a.restart_with(&[]);
    a.login();
    let token = a.token();
    let handoffs = b.get_data("/admin/keys/audit-handoffs", &a.info.app_id, &token);
    assert_eq!(handoffs[0]["new_key"], new_key.as_str(), "{handoffs}");

    // A CLI pinned to the old key, on B: follows the hand-off, and the export verifies.
    let b_config = a.tmp().join("b-config");
    assert_success(&run(b.imadm(&a, &b_config, &token).args([
        "config",
        "set",
        "audit_key",
        &old_key,
    ])));
    let report = a.tmp().join("report.json");
    let out = run(b
        .imadm(&a, &b_config, &token)
        .args(["audit", "export", "--out"])
        .arg(&report));
    assert_success(&out);
    assert!(
        stderr(&out).contains("followed the hand-off"),
        "{}",
        stderr(&out)
    );
    let pinned = stdout(&run(b.imadm(&a, &b_config, &token).args([
        "config",
        "get",
        "audit_key",
    ])));
    assert!(pinned.starts_with(&new_key), "{pinned}");
    assert_success(&run(b
        .imadm(&a, &b_config, &token)
        .args(["audit", "verify"])
        .arg(&report)));
    // A signs with the new key too: the moved pin accepts A's checkpoint as well.
    let out = run(a.imadm().args(["config", "set", "audit_key", &new_key]));
    assert_success(&out);
    let out = run(a
        .imadm()
        .args(["audit", "export", "--out"])
        .arg(a.tmp().join("report-a.json")));
    assert_success(&out);
}

/// An instance starting while an offline rotation holds the database (its instance lock
/// exclusive, as `rotate-key` does for its whole run) is refused after a short wait,
/// exit 7; it starts once the rotation ends.
#[test]
fn an_instance_does_not_start_while_an_offline_rotation_holds_the_database() {
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    let mut a = Server::start_on(pg, &[]);
    let mut b = Instance::prepared(&a, &[], &[]);
    a.stop_in_place();
    let mut rotation = a.pg.as_ref().unwrap().client();
    rotation
        .execute(
            "SELECT pg_advisory_lock($1)",
            &[&imadm_server::store::postgres::INSTANCE_LOCK],
        )
        .unwrap();
    let (code, err) = b.start_refused();
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("holds the database"), "{err}");
    drop(rotation);
    b.start();
}

/// Online rotations on PostgreSQL would reach the one instance that ran them: refused
/// (before step-up, so the code is not spent) with the offline steps as the hint,
/// recorded as failures, keys unchanged.
#[test]
fn online_key_rotations_are_refused_on_postgresql() {
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    let a = Server::start_on(pg, &[]);
    a.login();
    let token = a.token();
    let api = crate::rbac::Api::new(&a);
    let key_d = std::fs::read_dir(a.data_dir.join("server.key.d"))
        .map(|d| d.count())
        .unwrap_or(0);
    for (path, what) in [
        ("/admin/keys/rotate", "the server key"),
        ("/admin/keys/rotate-audit", "the audit signing key"),
    ] {
        let code = a.next_code();
        let (st, env) = api.call(
            "POST",
            path,
            Some(&token),
            Some(&code),
            Some(&serde_json::json!({})),
        );
        assert_eq!(st, 409, "{env}");
        assert_eq!(env["code"], imadm_api::codes::CONFLICT, "{env}");
        let msg = env["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains(&format!("rotating {what} online is refused on PostgreSQL")),
            "{env}"
        );
        // The hint gives the offline steps.
        let hint = env["data"]["hint"].as_str().unwrap_or_default();
        for step in [
            "stop every instance",
            "imadm server rotate-key",
            "server.key.d/",
            "modes kept",
        ] {
            assert!(hint.contains(step), "{step:?} missing: {env}");
        }
    }
    assert_eq!(
        std::fs::read_dir(a.data_dir.join("server.key.d"))
            .map(|d| d.count())
            .unwrap_or(0),
        key_d,
        "a key was added"
    );
    assert!(
        !a.data_dir
            .join("audit.key.d")
            .join("handoffs.json")
            .exists()
    );
    assert_eq!(
        a.sql("SELECT outcome FROM audit_log WHERE action LIKE 'keys.%' ORDER BY seq"),
        "failure\nfailure\n"
    );
}

/// docs/migrate-to-postgresql.md, step by step with the real binary: a SQLite dev server
/// backed up; a PostgreSQL server `server init`ed on a data dir holding copies of its
/// keys, its owner enrolled; the archive restored there; then the old owner logs in, the
/// audit chain verifies across the move, and the data and operators are the old server's.
/// (A move between the stores: the SQLite pass runs it; in the PostgreSQL pass, where every
/// dev server is on PostgreSQL, it would be PostgreSQL to PostgreSQL, which restore.rs's
/// disaster recovery covers, so it returns there.)
#[test]
fn a_sqlite_dev_server_moves_to_postgresql_by_the_documented_steps() {
    if crate::harness::on_postgres() {
        return;
    }
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    use crate::harness::{Storage, fresh_code, now_secs, totp_at};
    let old = Server::start_with(&["--seed-operator", "helper:support"]);
    old.login();
    for name in ["moved_1", "moved_2"] {
        assert_success(&run(old
            .imadm()
            .args(["user", "create", name, "--password-stdin"])
            .write_stdin("pw-for-tests\n")));
    }
    let list = |s: &Server, args: &[&str]| -> Vec<String> {
        let out = run(s.imadm().args(args).args(["-o", "jsonl"]));
        assert_success(&out);
        let mut v: Vec<String> = crate::harness::stdout(&out)
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["username"].as_str().unwrap().to_owned()
            })
            .collect();
        v.sort();
        v
    };
    let users = list(&old, &["user", "list", "--all"]);
    let operators = list(&old, &["operator", "list"]);
    assert_eq!(users, ["moved_1", "moved_2"]);

    // 1. Back up the SQLite server, and verify the archive.
    let (key, recipient) = crate::backup::keypair(old.tmp());
    let dir = old.tmp().join("backups");
    std::fs::create_dir(&dir).unwrap();
    let archive = crate::backup::backup(&old, &recipient, &[&dir]);
    assert_success(&run(old
        .imadm()
        .args(["backup", "verify", "--identity"])
        .arg(&key)
        .arg(&archive)));

    // 2 and 3. A data dir with copies of the keys; `server init` and the server on the
    // PostgreSQL database; the new owner changes its one-time password and enrols MFA.
    let new = Server::init_and_serve("pgowner", Some(pg), Some(&old.data_dir));
    let one_time = new.info.password.clone();
    let mut login = new.imadm();
    login
        .args(["auth", "login", "--username", "pgowner", "--password-stdin"])
        .write_stdin(format!("{one_time}\n"));
    new.use_storage(&mut login, Storage::preferred());
    assert_success(&run(&mut login));
    assert_success(&run(new
        .imadm()
        .args(["auth", "change-password", "--password-stdin"])
        .write_stdin(format!("{one_time}\ncorrect horse battery staple\n"))));
    let out = run(new
        .imadm()
        .args(["mfa", "enroll", "-o", "json", "--no-input"]));
    assert_success(&out);
    let secret = json_stdout(&out)["secret"].as_str().unwrap().to_owned();
    let mut last = Some(now_secs() / 30);
    let code = totp_at(&secret, now_secs());
    assert_success(&run(new.imadm().args([
        "mfa",
        "enroll",
        "--confirm",
        &code,
        "--no-input",
    ])));
    // 4. Restore (dry run, then for real) as the new owner, with a step-up code.
    for dry in [true, false] {
        let mut cmd = new.imadm();
        cmd.args(["--yes", "backup", "restore", "--identity"])
            .arg(&key)
            .arg(&archive)
            .args(["--otp", &fresh_code(&secret, &mut last)]);
        if dry {
            cmd.arg("--dry-run");
        }
        assert_success(&run(&mut cmd));
    }

    // Every session ended: the backup's owner logs in.
    new.login_as_owner_of(&old);

    // 5. Verify: the chain from seq 1 across the move, the same users and operators, and
    // a backup of the new server.
    let report = new.tmp().join("audit.json");
    let out = run(new
        .imadm()
        .args(["-o", "json", "audit", "export", "--out"])
        .arg(&report));
    assert_success(&out);
    assert_eq!(json_stdout(&out)["verified"], true);
    assert_success(&run(new.imadm().args(["audit", "verify"]).arg(&report)));
    assert_eq!(list(&new, &["user", "list", "--all"]), users);
    assert_eq!(list(&new, &["operator", "list"]), operators);
    assert!(new.pg.is_some());
    assert_eq!(
        new.sql("SELECT username FROM im_users ORDER BY username"),
        "moved_1\nmoved_2\n",
        "the rows are in the PostgreSQL database"
    );
    let dir = new.tmp().join("backups");
    std::fs::create_dir(&dir).unwrap();
    crate::backup::backup(&new, &recipient, &[&dir]);
}

/// An audit sink configured on two instances is delivered by one of them: every event
/// reaches the receiver once, though both instances held the same failing batch while
/// the receiver was down; after one instance dies, the other delivers what follows.
#[test]
fn each_sink_event_is_delivered_once_by_one_instance_and_survives_its_death() {
    use crate::audit_sinks::{Receiver, caught_up, webhook_secret};
    use std::sync::atomic::Ordering;
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    let receiver = Receiver::start(true);
    let secret = webhook_secret();
    let spec = receiver.spec("&retry_max=1s");
    let env = [("E2E_SINK_SECRET", secret.as_str())];
    let a = Server::start_on_with_env(pg, &["--audit-sink", &spec], &env);
    let b = Instance::beside_with_env(&a, &["--audit-sink", &spec], &env);
    a.seed_audit(300);
    a.login();
    // Refused while the receiver is down, for a few seconds: both instances are up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while receiver.received().len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            a.server_stderr()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    receiver.failing.store(false, Ordering::SeqCst);
    let last = caught_up(&a);
    // Time for a second instance's copy of a batch to arrive, if one were sent.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let delivered = |upto: u64| -> std::collections::BTreeMap<u64, usize> {
        let mut count = std::collections::BTreeMap::new();
        for r in receiver.received().iter().filter(|r| r.status == 200) {
            for e in r.body["events"].as_array().unwrap() {
                let seq = e["seq"].as_u64().unwrap();
                if seq <= upto {
                    *count.entry(seq).or_insert(0) += 1;
                }
            }
        }
        count
    };
    let count = delivered(last);
    assert_eq!(count.len() as u64, last, "every event up to {last}");
    let twice: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "{} events delivered more than once, from {:?}",
        twice.len(),
        twice.first()
    );

    // One instance gone (the leader or not): the other delivers the rest.
    drop(b);
    a.seed_audit(50);
    // Seeding writes behind the server's back; a login moves the store's epoch, which
    // the sink watches.
    a.login();
    let last = caught_up(&a);
    let count = delivered(last);
    assert_eq!(count.len() as u64, last, "every event up to {last}");
}

/// Alert notifications configured on two instances go out once: the receiver refuses
/// the first requests (both instances then hold the same message), and once it takes
/// them every message has arrived exactly once on every channel.
#[test]
fn each_alert_notification_goes_out_once_from_two_instances() {
    use crate::notify::{Receiver, announced};
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    let rx = Receiver::start(4);
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = rx.config(cfg_dir.path());
    let cfg = cfg.to_str().unwrap();
    let rules = ["--alert-login-failures", "3/10m"];
    let a = Server::start_on(
        pg,
        &[
            &["--notify-config", cfg, "--seed-operator", "victim:support"][..],
            &rules,
        ]
        .concat(),
    );
    let _b = Instance::beside(&a, &[&["--notify-config", cfg][..], &rules].concat());
    let api = crate::rbac::Api::new(&a);
    let wrong = serde_json::json!({"username": "victim", "password": "wrong-password-1"});
    for _ in 0..3 {
        api.call("POST", "/admin/auth/login", None, None, Some(&wrong));
    }
    rx.wait_for("the login_failures alert on the webhook", |r| {
        r.iter().any(|r| {
            r["answer"] == 200
                && r["kind"] == "webhook"
                && r["body"]["alerts"][0]["labels"]["alertname"] == "login_failures"
        })
    });
    // Time for the other instance's copy to arrive, if one were sent.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let mut count = std::collections::BTreeMap::new();
    for r in rx.requests().iter().filter(|r| r["answer"] == 200) {
        let (id, state) = announced(r);
        *count
            .entry((r["kind"].as_str().unwrap().to_owned(), id, state))
            .or_insert(0) += 1;
    }
    assert!(!count.is_empty());
    let twice: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "sent more than once: {twice:?} of {count:?}"
    );
}

/// Issue #16 section 3: browser approvals are shared by the instances. `a` with a passkey
/// (enrolled in the browser, its credentials in the returned file) and a second instance
/// beside it whose public URL is `a`'s, as both would have behind one load balancer name:
/// the WebAuthn origin is then the same wherever the page's calls land. Also the second
/// instance's origin on `localhost` (the page's cookie is for that host, any port).
fn approvals_on_two_instances(a: &Server) -> (Instance, std::path::PathBuf, String) {
    a.login_with(crate::harness::Storage::InsecureFile);
    let state = a.tmp().join("authenticator.json");
    crate::passkeys::enrol(a, "laptop", &state);
    let port = |url: &str| {
        url.rsplit_once(':')
            .unwrap()
            .1
            .trim_end_matches('/')
            .to_owned()
    };
    let public = format!("https://localhost:{}", port(&a.info.server));
    let b = Instance::beside(a, &["--public-url", &public, "--approval-interval", "1"]);
    let b_origin = format!("https://localhost:{}", port(&b.url));
    (b, state, b_origin)
}

/// `POST path` with `headers` and a JSON `body` through `client` at `url`: the envelope.
fn post(
    client: &reqwest::blocking::Client,
    url: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &serde_json::Value,
) -> serde_json::Value {
    let mut rb = client.post(format!("{}{path}", url.trim_end_matches('/')));
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    rb.json(body).send().unwrap().json().unwrap()
}

/// A `--web` login started through B, approved on the page served by A whose passkey
/// call lands on B (the ceremony A began), and polled through both at once: one poll
/// gets the session, every other is told the code is spent.
#[test]
fn a_browser_login_started_on_one_instance_is_approved_and_answered_once_on_either() {
    use serde_json::json;
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    let a = Server::start_on(pg, &["--approval-interval", "1"]);
    let (b, state, b_origin) = approvals_on_two_instances(&a);
    let app = a.info.app_id.clone();
    let app_id = [("app_id", app.as_str())];
    let (http_a, url_a) = (a.https_client(), a.info.server.clone());

    let started = post(&b.client, &b.url, "/admin/auth/device", &app_id, &json!({}));
    assert_eq!(started["code"], 200, "{started}");
    let grant = &started["data"];
    let page = crate::passkeys::browser(json!({
        "url": grant["verification_uri_complete"], "action": "approve", "state": state,
        "username": "admin", "password": a.info.password,
        "via": {"/admin/approve/finish": b_origin},
    }));
    assert_eq!(page["status_class"], "ok", "{page}");

    let polls: Vec<serde_json::Value> = std::thread::scope(|s| {
        let tries: Vec<_> = (0..8)
            .map(|i| {
                let (client, url) = if i % 2 == 0 {
                    (&http_a, url_a.as_str())
                } else {
                    (&b.client, b.url.as_str())
                };
                let body = json!({"device_code": grant["device_code"]});
                let app_id = &app_id;
                s.spawn(move || post(client, url, "/admin/auth/device/token", app_id, &body))
            })
            .collect();
        tries.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let won: Vec<_> = polls.iter().filter(|p| p["code"] == 200).collect();
    assert_eq!(won.len(), 1, "one poll gets the session: {polls:?}");
    assert!(
        polls
            .iter()
            .all(|p| p["code"] == 200 || p["code"] == imadm_api::codes::APPROVAL_EXPIRED),
        "{polls:?}"
    );
    assert_eq!(won[0]["data"]["username"], "admin");
    let token = won[0]["data"]["session"]["access_token"].as_str().unwrap();
    assert_eq!(b.get("/admin/operators", &app, token), (200, 200));
    assert_eq!(
        a.sql("SELECT count(*) FROM audit_log WHERE action = 'auth.mfa' AND detail LIKE '%mfa=passkey%'")
            .trim(),
        "1",
        "one login"
    );
}

/// A `--web` step-up asked through B, approved on A's page whose passkey options come
/// from B, polled through A; its token is good once on B and refused on both after.
#[test]
fn a_step_up_approved_across_instances_gives_a_token_good_once_on_any() {
    use serde_json::json;
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    let a = Server::start_on(pg, &["--approval-interval", "1"]);
    let (b, state, b_origin) = approvals_on_two_instances(&a);
    let app = a.info.app_id.clone();
    let token = a.token();
    let user = |name: &str| -> i64 {
        let out = run(a
            .imadm()
            .args(["user", "create", name, "--password-stdin"])
            .write_stdin(format!("pw-{name}-1234567\n")));
        assert_success(&out);
        let out = run(a.imadm().args(["user", "show", name, "-o", "json"]));
        json_stdout(&out)["user_id"].as_i64().unwrap()
    };
    let (alice, bob) = (user("alice"), user("bob"));
    let (http_a, url_a) = (a.https_client(), a.info.server.clone());
    let delete = |on_b: bool, user: i64, otp: &str| -> serde_json::Value {
        let (client, url) = if on_b {
            (&b.client, b.url.as_str())
        } else {
            (&http_a, url_a.as_str())
        };
        let headers = [
            ("app_id", app.as_str()),
            ("access-token", token.as_str()),
            ("x-imadm-otp", otp),
        ];
        post(
            client,
            url,
            "/admin/users/bulk-delete",
            &headers,
            &json!({"user_ids": [user]}),
        )
    };

    let asked = delete(true, alice, "web");
    assert_eq!(
        asked["code"],
        imadm_api::codes::APPROVAL_REQUIRED,
        "{asked}"
    );
    let approval = &asked["data"]["approval"];
    let page = crate::passkeys::browser(json!({
        "url": approval["verification_uri_complete"], "action": "approve", "state": state,
        "via": {"/admin/approve/begin": b_origin},
    }));
    assert_eq!(page["status_class"], "ok", "{page}");
    let grant = post(
        &http_a,
        &url_a,
        "/admin/auth/device/token",
        &[("app_id", app.as_str())],
        &json!({"device_code": approval["device_code"]}),
    );
    assert_eq!(grant["code"], 200, "{grant}");
    let step_up = grant["data"]["step_up_token"].as_str().unwrap();

    assert_eq!(delete(true, alice, step_up)["code"], 200, "good on B");
    for on_b in [true, false] {
        assert_eq!(
            delete(on_b, bob, step_up)["code"],
            imadm_api::codes::MFA_INVALID,
            "used once, refused on B and on A"
        );
    }
    let names = a.sql("SELECT username FROM im_users ORDER BY user_id");
    assert_eq!(names, "bob\n", "alice deleted once, bob not");
}
