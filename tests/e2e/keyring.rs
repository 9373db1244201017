//! Where the session is kept: the OS keyring through the Secret Service (service `imadm`,
//! account `<profile>@<host:port>`, never a file), login failing with exit 4 and both
//! ways out named when there is no Secret Service, and `--insecure-storage` (a 0600
//! file that `auth status` reports as insecure).
//!
//! The keyring test needs a reachable, unlocked Secret Service: it skips (saying
//! "skipping: no Secret Service") when there is none, except under `CI=true` or
//! `IMADM_TEST_KEYRING=1`, where it fails. Run it locally as in stack-notes:
//! `HOME=$(mktemp -d) dbus-run-session -- sh -c 'printf %s pw | gnome-keyring-daemon
//! --unlock --components=secrets >/dev/null; cargo test --test e2e'`.
//! The other two tests need no keyring and always run. A keyring session also survives a
//! burst of parallel commands (the refresh lock is the same for both stores).

use std::os::unix::fs::PermissionsExt;

use crate::harness::{
    Server, Storage, assert_error, assert_success, describe, files_containing, json_stdout,
    keyring_lookup, require_secret_service, run, secret_service,
};

/// D-Bus address where no bus listens: the keyring crate cannot reach a Secret Service.
const NO_BUS: &str = "unix:path=/nonexistent/bus";

#[test]
fn login_keeps_the_session_in_the_keyring_and_in_no_file() {
    if !require_secret_service("login_keeps_the_session_in_the_keyring_and_in_no_file") {
        return;
    }
    let server = Server::start();
    server.login_with(Storage::Keyring);
    let token = server.token();

    let secret = keyring_lookup(&server.account()).unwrap_or_else(|| {
        panic!(
            "no keyring item with service=imadm username={}",
            server.account()
        )
    });
    assert!(
        secret.contains(&token),
        "the keyring item does not hold the access token `auth token` printed"
    );
    let out = server.status(&[]);
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(v["credential_store"], "keyring", "{v}");
    assert_eq!(v["insecure"], false, "{v}");

    assert_eq!(
        files_containing(&server.config_dir, &token),
        Vec::<std::path::PathBuf>::new(),
        "the access token is in a file under the config dir"
    );
    assert!(!server.config_dir.join("credentials.json").exists());
    // The refresh token is the more valuable one: it must not be in a file either.
    if let Ok(stored) = serde_json::from_str::<serde_json::Value>(&secret)
        && let Some(refresh) = stored["refresh_token"].as_str()
    {
        assert!(files_containing(&server.config_dir, refresh).is_empty());
    }

    // Logout deletes the keyring item.
    let out = run(server.imadm().args(["auth", "logout"]));
    assert_success(&out);
    assert_eq!(keyring_lookup(&server.account()), None);
}

#[test]
fn login_without_a_secret_service_exits_4_and_names_both_ways_out() {
    let server = Server::start();
    let mut cmd = server.login_cmd(&server.info.password, &server.next_code(), Storage::Keyring);
    cmd.env("DBUS_SESSION_BUS_ADDRESS", NO_BUS);
    let out = run(&mut cmd);
    assert_error(&out, 4, "IMADM_TOKEN");
    assert!(
        crate::harness::stderr(&out).contains("--insecure-storage"),
        "stderr should name --insecure-storage\n{}",
        describe(&out)
    );
    assert!(!server.config_dir.join("credentials.json").exists());
    // Nothing was left alive on the server that nobody holds.
    assert_eq!(
        server
            .sql("SELECT count(*) FROM sessions WHERE revoked_at IS NULL")
            .trim(),
        "0",
        "a live session was left on the server"
    );
}

#[test]
fn insecure_storage_writes_a_0600_file_and_status_says_insecure() {
    let server = Server::start();
    // Works with no Secret Service at all.
    let mut cmd = server.login_cmd(
        &server.info.password,
        &server.next_code(),
        Storage::InsecureFile,
    );
    cmd.env("DBUS_SESSION_BUS_ADDRESS", NO_BUS);
    let out = run(&mut cmd);
    assert_success(&out);

    let file = server.config_dir.join("credentials.json");
    let mode = std::fs::metadata(&file)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", file.display(), describe(&out)))
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "credentials.json mode {:o}",
        mode & 0o777
    );

    let token = server.token();
    assert!(
        std::fs::read_to_string(&file).unwrap().contains(&token),
        "credentials.json does not hold the session"
    );
    let out = server.status(&[]);
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(v["insecure"], true, "{v}");
    assert_eq!(v["credential_store"], "insecure-file", "{v}");
    if secret_service().is_ok() {
        assert_eq!(
            keyring_lookup(&server.account()),
            None,
            "--insecure-storage also wrote the keyring"
        );
    }
    // Logout removes it from the file.
    let out = run(server.imadm().args(["auth", "logout"]));
    assert_success(&out);
    assert!(files_containing(&server.config_dir, &token).is_empty());
}

#[test]
fn parallel_commands_keep_a_keyring_session() {
    if !require_secret_service("parallel_commands_keep_a_keyring_session") {
        return;
    }
    crate::auth::parallel_commands_keep_the_session(Storage::Keyring);
}
