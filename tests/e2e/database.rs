//! `imadm server --database`: the PostgreSQL backend is experimental, so a postgres://
//! URL needs `IMADM_EXPERIMENTAL_POSTGRES=1`; with it the server serves on the database
//! (backups refused, clearly); a password is refused on the command line, and no message
//! repeats one. (The backend itself is tested in crates/server/tests/postgres.rs; the
//! whole suite runs on it with `IMADM_TEST_STORE=postgres`, see `harness.rs`.)

use crate::harness::{PgDatabase, Server, assert_error, imadm_in, run};

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
fn the_server_serves_on_postgresql_and_refuses_backups_clearly() {
    let Some(pg) = PgDatabase::create() else {
        eprintln!("IMADM_TEST_PG unset: PostgreSQL e2e test skipped");
        return;
    };
    let server = Server::start_on(pg, &[]);
    server.login();
    let out = run(server
        .imadm()
        .args(["user", "create", "alice", "--password-stdin"])
        .write_stdin("pw-for-tests\n"));
    assert!(out.status.success(), "{}", server.server_stderr());
    let mut db = server.pg.as_ref().unwrap().client();
    let names: Vec<String> = db
        .query("SELECT username FROM im_users", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(names, vec!["alice".to_owned()], "the user is in PostgreSQL");
    assert!(
        !server.data_dir.join("imadm.db").exists(),
        "no SQLite file beside the keys"
    );
    let dir = tempfile::tempdir().unwrap();
    let (_, recipient) = crate::backup::keypair(dir.path());
    let out = run(server
        .imadm()
        .args(["backup", "run", "--recipient", &recipient, "--to"])
        .arg(dir.path()));
    assert_error(&out, 3, "backups are not yet available on PostgreSQL");
}
