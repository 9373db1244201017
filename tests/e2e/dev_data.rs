//! `imadm server --dev` on a data dir that already has operators (issue #13 item 7): a
//! dir dev mode made prints the same logins again (`dev-credentials.json`) and keeps its
//! sessions and audit chain; nothing resets a credential. A dir dev mode did not make
//! (`server init`, or an older imadm), or whose dev logins were changed since, is
//! refused with exit 2 and a hint, and left as it was.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::harness::*;
use crate::rbac::{Api, seeded};

const SEED: [&str; 2] = ["--seed-operator", "aud:auditor"];

/// Every credential-bearing column of every operator.
fn operators(server: &Server) -> String {
    server.sql(&format!(
        "SELECT id, username, password_hash, {}, must_change_password, disabled
         FROM operators ORDER BY id",
        server.sql_hex("totp_secret")
    ))
}

#[test]
fn dev_server_started_again_on_its_data_dir_prints_the_same_logins_and_resets_nothing() {
    let server = Server::start_with(&SEED);
    server.login_with(Storage::InsecureFile);
    let token = server.token();
    let first = server.info.clone();
    let before = operators(&server);

    let server = server.restart_with(&SEED);
    assert_eq!(
        (
            &server.info.username,
            &server.info.password,
            &server.info.totp_secret
        ),
        (&first.username, &first.password, &first.totp_secret),
        "the same owner login, printed again"
    );
    assert_eq!(
        server.info.raw["seeded_operators"],
        first.raw["seeded_operators"]
    );
    assert_eq!(operators(&server), before, "no credential changed");
    let file = server.data_dir.join("dev-credentials.json");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "dev-credentials.json mode {mode:o}");

    // The earlier session is still valid: nothing changed that would end it.
    let out = server.status(&[("IMADM_TOKEN", &token)]);
    assert_success(&out);
    assert_eq!(json_stdout(&out)["operator"], "admin");
    // The printed logins work: the owner through the CLI, the seeded one through the API.
    server.login_with(Storage::InsecureFile);
    let api = Api::new(&server);
    let (password, secret) = &seeded(&server)["auditor"];
    api.login("aud", password, secret);

    // Nothing was reset (so there was nothing to audit), and the chain is whole.
    let events = crate::audit::all_events(&api, &server.token(), 100);
    crate::audit::verify_chain(&events);
    let changes: Vec<_> = events
        .iter()
        .filter(|e| {
            matches!(
                e.action.as_str(),
                "auth.password_change" | "mfa.enroll" | "mfa.disable" | "operator.reset_mfa"
            )
        })
        .map(|e| (&e.action, &e.actor))
        .collect();
    assert!(
        changes.is_empty(),
        "credential changes recorded: {changes:?}"
    );
    assert_eq!(
        server.sql("SELECT count(revoked_at) FROM sessions").trim(),
        "0",
        "no session was revoked"
    );
}

/// File names in `dir` (not SQLite's `-wal`/`-shm`, which any open creates).
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with("-wal") && !n.ends_with("-shm"))
        .collect();
    names.sort();
    names
}

/// What a refused start must leave as it was.
fn state(server: &Server) -> (String, String, Vec<String>, Vec<u8>) {
    let data_dir = &server.data_dir;
    (
        operators(server),
        server.sql(
            "SELECT (SELECT count(*) FROM auth_events), (SELECT count(*) FROM sessions),
                    (SELECT seq || ' ' || hash FROM audit_log ORDER BY seq DESC LIMIT 1)",
        ),
        files(data_dir),
        std::fs::read(data_dir.join("server.key")).unwrap(),
    )
}

/// Every file under `dir` with its contents, in a stable order.
fn contents(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn dev_mode_refuses_a_production_data_dir_and_changes_nothing() {
    // `server init`, served once the production way (its `dev` profile saved), stopped.
    let mut server = Server::start_initialised("root");
    server.stop_in_place();
    let before = state(&server);
    let config = contents(&server.config_dir);

    let out = run(&mut server.dev_server_cmd());
    assert_error(&out, 2, "dev mode did not create");
    assert!(stderr(&out).contains("--tls-cert"), "{}", describe(&out));
    assert!(
        out.stdout.is_empty(),
        "no login printed\n{}",
        describe(&out)
    );
    assert_eq!(state(&server), before, "the data dir changed");
    assert!(!server.data_dir.join("dev-credentials.json").exists());
    assert!(
        contents(&server.config_dir) == config,
        "a dev profile was saved for a server that never started"
    );
}

#[test]
fn dev_mode_refuses_to_reset_a_changed_dev_login_or_one_it_has_no_record_of() {
    let mut server = Server::start();
    server.login_with(Storage::InsecureFile);
    let new_password = "a brand new passphrase 42";
    let out = run(server
        .imadm()
        .args(["auth", "change-password", "--password-stdin"])
        .write_stdin(format!("{}\n{new_password}\n", server.info.password)));
    assert_success(&out);
    server.stop_in_place();
    let before = state(&server);

    let out = run(&mut server.dev_server_cmd());
    assert_error(&out, 2, "changed since dev mode created it");
    assert!(
        out.stdout.is_empty(),
        "no login printed\n{}",
        describe(&out)
    );
    assert_eq!(state(&server), before, "the data dir changed");

    // A dev data dir from before dev-credentials.json: its owner's login is unknown.
    std::fs::remove_file(server.data_dir.join("dev-credentials.json")).unwrap();
    let before = state(&server);
    let out = run(&mut server.dev_server_cmd());
    assert_error(&out, 2, "dev mode did not create");
    assert_eq!(state(&server), before, "the data dir changed");
}
