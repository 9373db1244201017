//! `imadm server --database`: the PostgreSQL backend is not complete, so a postgres://
//! URL never gets a server started; a password is refused on the command line, and no
//! message repeats one. (The backend itself is tested in crates/server/tests/postgres.rs.)

use crate::harness::{assert_error, imadm_in, run};

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
fn a_postgres_url_is_refused_until_the_backend_is_complete() {
    let out = server(&[], &["--database", "postgres://app@127.0.0.1:1/imadm"]);
    assert_error(&out, 2, "the PostgreSQL backend is not complete yet");
    let out = server(
        &[("IMADM_DATABASE_URL", "postgres://app@127.0.0.1:1/imadm")],
        &[],
    );
    assert_error(&out, 2, "the PostgreSQL backend is not complete yet");
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
