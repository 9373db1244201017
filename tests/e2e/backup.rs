//! `imadm backup`: round trip against the real server and SQLite file, damaged archives
//! (exit 8, live data unchanged), interoperability with the Go `age` CLI, and what a
//! restore refuses: snapshots the server did not write (forged by a backup operator),
//! version 1 archives, and permissions its restorer does not hold.

use std::path::{Path, PathBuf};

use imadm_api::backup::{Header, Item, MacKey, Reader, Trailer, Value, ValueRef, Writer};
use serde_json::json;

use crate::harness::*;
use crate::rbac::{Api, seeded};

/// The rows of every data table (what a restore rolls back: IM data and role
/// definitions, `imadm_server::store::restore::TABLES`), in a stable order.
pub(crate) fn data_dump(server: &Server) -> String {
    use imadm_server::store::restore::{Class, TABLES};
    let mut out = String::new();
    for (t, _) in TABLES.iter().filter(|(_, c)| *c == Class::Data) {
        out.push_str(&format!("== {t}\n"));
        out.push_str(&server.sql(&format!("SELECT * FROM \"{t}\" ORDER BY 1, 2")));
    }
    out
}

/// `seq|hash` of every audit event, from the database.
pub(crate) fn ledger(server: &Server) -> Vec<String> {
    server
        .sql("SELECT seq, hash FROM audit_log ORDER BY seq")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `long` starts with `short`: the ledger was kept or extended, never shortened or changed.
pub(crate) fn assert_prefix(short: &[String], long: &[String]) {
    assert!(
        long.len() >= short.len() && long[..short.len()] == *short,
        "the ledger was not kept: {} events before, {} after, first difference at {:?}",
        short.len(),
        long.len(),
        short.iter().zip(long).position(|(a, b)| a != b)
    );
}

pub(crate) fn keypair(dir: &Path) -> (PathBuf, String) {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    let path = dir.join("key.txt");
    std::fs::write(&path, format!("{}\n", id.to_string().expose_secret())).unwrap();
    (path, id.to_public().to_string())
}

fn archives(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "age"))
        .collect();
    v.sort();
    v
}

pub(crate) fn backup(server: &Server, recipient: &str, dirs: &[&Path]) -> PathBuf {
    let mut cmd = server.imadm();
    cmd.args(["backup", "run", "--recipient", recipient, "-o", "json"]);
    for d in dirs {
        cmd.arg("--to").arg(d);
    }
    let out = run(&mut cmd);
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(v["archives"].as_array().unwrap().len(), dirs.len());
    PathBuf::from(v["archives"][0].as_str().unwrap())
}

/// A server with a custom role and an archive of it (in `b1` and `b2`); then an IM user
/// is created. Returns the archive, the identity file and the data at the backup.
fn backed_up_then_changed(server: &Server) -> (PathBuf, PathBuf, String) {
    server.login();
    let out = run(server.imadm().args([
        "role",
        "create",
        "kept-role",
        "-p",
        "user:read",
        "--otp",
        &server.next_code(),
    ]));
    assert_success(&out);
    let dir1 = server.tmp().join("b1");
    let dir2 = server.tmp().join("b2");
    std::fs::create_dir_all(&dir1).unwrap();
    std::fs::create_dir_all(&dir2).unwrap();
    let (key, recipient) = keypair(server.tmp());
    let archive = backup(server, &recipient, &[&dir1, &dir2]);
    let snapshot_state = data_dump(server);
    assert!(snapshot_state.contains("kept-role"));
    let out = run(server
        .imadm()
        .args(["user", "create", "later", "--password-stdin"])
        .write_stdin("pw-for-tests\n"));
    assert_success(&out);
    assert_ne!(data_dump(server), snapshot_state);
    (archive, key, snapshot_state)
}

#[test]
fn round_trip_rolls_the_data_back_and_keeps_the_log() {
    let server = Server::start();
    let (archive, key, snapshot_state) = backed_up_then_changed(&server);
    // Both copies identical, each with a manifest; no temp files left.
    let dir2 = server.tmp().join("b2");
    let a2 = dir2.join(archive.file_name().unwrap());
    assert_eq!(
        std::fs::read(&archive).unwrap(),
        std::fs::read(&a2).unwrap()
    );
    for d in [archive.parent().unwrap(), &dir2] {
        let names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    }
    let out = run(server
        .imadm()
        .args(["backup", "verify", "-o", "json", "--identity"])
        .arg(&key)
        .arg(&archive));
    assert_success(&out);
    assert_eq!(json_stdout(&out)["decrypted"], true);
    let out = run(server
        .imadm()
        .args(["backup", "list", "-o", "json", "--in"])
        .arg(&dir2));
    assert_success(&out);
    let listed = json_stdout(&out);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["archive"], a2.display().to_string());
    assert!(
        listed[0]["counts"]["roles"].as_u64().unwrap() >= 7,
        "{listed}"
    );

    // The restore brings the data back, and keeps every event recorded since.
    let before = ledger(&server);
    let out = run(server
        .imadm()
        .args(["--yes", "backup", "restore", "-o", "json", "--identity"])
        .arg(&key)
        .arg(&archive)
        .args(["--otp", &server.next_code()]));
    assert_success(&out);
    assert!(
        stderr(&out).contains("everyone must log in again"),
        "{}",
        describe(&out)
    );
    assert_eq!(data_dump(&server), snapshot_state);
    assert_prefix(&before, &ledger(&server));
    let events = server.sql("SELECT action, outcome FROM audit_log WHERE action LIKE 'backup.%'");
    assert!(events.contains("backup.restore|success"), "{events}");
    assert!(events.contains("backup.run|success"), "{events}");
    assert!(
        server
            .sql("SELECT count(*) FROM audit_log WHERE action = 'user.create'")
            .trim()
            != "0",
        "the user created after the backup is still on record"
    );
}

#[test]
fn damaged_archives_fail_verify_and_restore_and_change_nothing() {
    let server = Server::start();
    let (archive, key, _) = backed_up_then_changed(&server);
    let changed_state = data_dump(&server);

    // Damaged copies: verify fails with exit 8 at many offsets.
    let bytes = std::fs::read(&archive).unwrap();
    let bad = server.tmp().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    let bad_archive = bad.join(archive.file_name().unwrap());
    std::fs::copy(manifest(&archive), manifest(&bad_archive)).unwrap();
    let step = (bytes.len() / 7).max(1);
    for cut in (0..bytes.len()).step_by(step) {
        std::fs::write(&bad_archive, &bytes[..cut]).unwrap();
        let out = run(server.imadm().args(["backup", "verify"]).arg(&bad_archive));
        assert_exit(&out, 8);
        let mut flipped = bytes.clone();
        flipped[cut] ^= 0x40;
        std::fs::write(&bad_archive, &flipped).unwrap();
        let out = run(server.imadm().args(["backup", "verify"]).arg(&bad_archive));
        assert_exit(&out, 8);
    }

    // Restoring damaged archives (cut short, or failing at the trailer): exit 8, the live
    // data exactly as before, the log kept (and extended by whatever the attempt recorded).
    for damaged in [bytes[..bytes.len() - 100].to_vec(), {
        let mut f = bytes.clone();
        let i = bytes.len() / 2;
        f[i] ^= 0x01;
        f
    }] {
        let before = ledger(&server);
        std::fs::write(&bad_archive, &damaged).unwrap();
        let out = run(server
            .imadm()
            .args(["--yes", "backup", "restore", "--identity"])
            .arg(&key)
            .arg(&bad_archive)
            .args(["--otp", &server.next_code()]));
        assert_exit(&out, 8);
        assert_eq!(data_dump(&server), changed_state);
        assert_prefix(&before, &ledger(&server));
    }
}

#[test]
fn the_go_age_cli_decrypts_our_archives() {
    if std::process::Command::new("age")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("the Go `age` CLI is needed (Debian package `age`)");
    }
    let server = Server::start();
    server.login();
    let dir = server.tmp().join("b");
    std::fs::create_dir_all(&dir).unwrap();
    let (key, recipient) = keypair(server.tmp());
    let archive = backup(&server, &recipient, &[&dir]);
    let plain = server.tmp().join("plain.bin");
    let st = std::process::Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&key)
        .arg("-o")
        .arg(&plain)
        .arg(&archive)
        .status()
        .unwrap();
    assert!(st.success());
    let data = std::fs::read(&plain).unwrap();
    assert_eq!(&data[..8], b"IMADMBAK");
    let (header, _) = imadm_api::backup::verify(&data[..]).expect("snapshot verifies");
    assert!(!header.server_id.is_empty());
    assert!(header.tables.iter().any(|t| t.name == "operators"));
    assert_eq!(archives(&dir).len(), 1);

    // An archive the Go CLI encrypted from a snapshot body restores with imadm.
    let theirs = server.tmp().join("theirs.age");
    let st = std::process::Command::new("age")
        .args(["-r", &recipient, "-o"])
        .arg(&theirs)
        .arg(&plain)
        .status()
        .unwrap();
    assert!(st.success());
    let before = data_dump(&server);
    let out = run(server
        .imadm()
        .args([
            "--yes",
            "backup",
            "restore",
            "--dry-run",
            "-o",
            "json",
            "--identity",
        ])
        .arg(&key)
        .arg(&theirs)
        .args(["--otp", &server.next_code()]));
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(v["dry_run"], true);
    assert!(
        v["tables"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["table"] == "operators"),
        "{v}"
    );
    assert_eq!(data_dump(&server), before, "a dry run changes nothing");
}

/// About `mib` MiB of random (incompressible) message blobs, written straight into the
/// server's database, whichever store it is (PostgreSQL has no `randomblob`: 4,096 MD5s
/// of random numbers make each 64 KiB value).
pub(crate) fn seed_messages(server: &Server, mib: usize) {
    let rows = mib * 16;
    server.sql(&if server.pg.is_some() {
        format!(
            "INSERT INTO im_messages (from_id, to_type, to_id, content, created_at) \
             SELECT i, 'user', i + 1, \
                    (SELECT decode(string_agg(md5(random()::text || i || j), ''), 'hex') \
                     FROM generate_series(1, 4096) AS j), \
                    1700000000 + i \
             FROM generate_series(1, {rows}) AS i"
        )
    } else {
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) \
             INSERT INTO im_messages (from_id, to_type, to_id, content, created_at) \
             SELECT i, 'user', i + 1, randomblob(65536), 1700000000 + i FROM n"
        )
    });
}

#[test]
fn a_killed_backup_run_never_leaves_a_final_name() {
    let server = Server::start();
    server.login();
    seed_messages(&server, 48);
    let (_, recipient) = keypair(server.tmp());
    let dir = server.tmp().join("k");
    std::fs::create_dir_all(&dir).unwrap();
    for delay_ms in [5u64, 40, 120, 250, 400] {
        let mut cmd = std::process::Command::new(bin());
        cmd.arg("--config-dir")
            .arg(&server.config_dir)
            .args([
                "--profile",
                "dev",
                "backup",
                "run",
                "--recipient",
                &recipient,
                "--to",
            ])
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let _ = child.wait();
        let finals = archives(&dir);
        if finished {
            // Too slow a kill: the archive must then be complete.
            for a in &finals {
                let out = run(server.imadm().args(["backup", "verify"]).arg(a));
                assert_success(&out);
                std::fs::remove_file(a).unwrap();
                std::fs::remove_file(manifest(a)).unwrap();
            }
        } else {
            assert!(finals.is_empty(), "killed after {delay_ms} ms: {finals:?}");
            let manifests: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".manifest.json"))
                .collect();
            assert!(manifests.is_empty(), "{manifests:?}");
        }
    }
}

pub(crate) fn manifest(a: &Path) -> PathBuf {
    PathBuf::from(format!("{}.manifest.json", a.display()))
}

fn messages_digest(server: &Server) -> String {
    // The largest content: what max() is on SQLite (PostgreSQL has no max of bytea).
    server.sql(&format!(
        "SELECT count(*), sum(length(content)),
                (SELECT {} FROM im_messages ORDER BY content DESC LIMIT 1)
           FROM im_messages",
        server.sql_hex("content")
    ))
}

#[test]
fn a_server_killed_mid_restore_keeps_the_old_data() {
    let mut server = Server::start();
    server.login();
    seed_messages(&server, 48);
    let (key, recipient) = keypair(server.tmp());
    let dir = server.tmp().join("b");
    std::fs::create_dir_all(&dir).unwrap();
    let archive = backup(&server, &recipient, &[&dir]);
    // Change the data so a completed restore would be visible.
    server.sql("DELETE FROM im_messages WHERE msg_id % 2 = 0");
    let before = messages_digest(&server);
    let log_before = ledger(&server);
    let mut cmd = std::process::Command::new(bin());
    cmd.arg("--config-dir")
        .arg(&server.config_dir)
        .args([
            "--profile",
            "dev",
            "--yes",
            "backup",
            "restore",
            "--identity",
        ])
        .arg(&key)
        .arg(&archive)
        .args(["--otp", &server.next_code()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    // Killed once the restore has begun to stage (its staging file, or on PostgreSQL its
    // scratch copy, exists), well before it could install.
    let killed = server.pid();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while server.restore_leftovers(killed).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the restore never began staging"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    server.kill();
    let _ = child.wait();
    let server = server.restart_with(&[]);
    assert_eq!(messages_digest(&server), before);
    assert_prefix(&log_before, &ledger(&server));
    server.assert_database_intact();
    let stale = server.restore_leftovers(killed);
    assert!(
        stale.is_empty(),
        "a restart removes what the killed restore left: {stale:?}"
    );
}

/// Shell-quote one argument for `script -c`.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
fn progress_is_drawn_on_a_terminal_and_never_into_pipes() {
    let server = Server::start();
    server.login();
    seed_messages(&server, 8);
    let (key, recipient) = keypair(server.tmp());
    let dir = server.tmp().join("p");
    std::fs::create_dir_all(&dir).unwrap();

    // Piped, as under cron: stderr carries nothing but the result line.
    let out = run(server
        .imadm()
        .args(["backup", "run", "--recipient", &recipient, "--to"])
        .arg(&dir));
    assert_success(&out);
    let err = stderr(&out);
    assert!(
        err.lines().all(|l| l.starts_with("Wrote ")) && !err.contains("B/s"),
        "{}",
        describe(&out)
    );
    let archive = archives(&dir).pop().unwrap();

    // On a terminal (script(1) runs the command on a pseudo-terminal): bytes, rate, ETA.
    let on_tty = |args: &[&str]| {
        let mut line = vec![
            sh_quote(&bin().display().to_string()),
            "--config-dir".into(),
            sh_quote(&server.config_dir.display().to_string()),
            "--profile".into(),
            "dev".into(),
        ];
        line.extend(args.iter().map(|a| sh_quote(a)));
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qefc", &line.join(" "), "/dev/null"]);
        for var in IMADM_ENV {
            cmd.env_remove(var);
        }
        let out = cmd.output().expect("run script(1)");
        assert!(out.status.success(), "{}", describe(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dir2 = server.tmp().join("p2");
    std::fs::create_dir_all(&dir2).unwrap();
    let shown = on_tty(&[
        "backup",
        "run",
        "--recipient",
        &recipient,
        "--to",
        &dir2.display().to_string(),
    ]);
    assert!(
        shown.contains("backup [") && shown.contains("MiB/s") && shown.contains("ETA"),
        "no progress bar on a terminal:\n{shown}"
    );
    let code = server.next_code();
    let shown = on_tty(&[
        "backup",
        "restore",
        &archive.display().to_string(),
        "--identity",
        &key.display().to_string(),
        "--dry-run",
        "--otp",
        &code,
    ]);
    assert!(
        shown.contains("verify [") && shown.contains("ETA"),
        "no progress bar on a terminal:\n{shown}"
    );
}

#[test]
fn passphrase_protected_identities_unlock_from_the_environment_and_refuse_a_wrong_one() {
    use std::io::Write;
    let server = Server::start();
    server.login();
    let dir = server.tmp().join("pp");
    std::fs::create_dir_all(&dir).unwrap();

    // An age identity file encrypted with a passphrase, as `age-keygen | age -p -a` makes.
    let id = age::x25519::Identity::generate();
    let age_key = dir.join("key.age");
    {
        use age::secrecy::ExposeSecret;
        let mut r = age::scrypt::Recipient::new("correct horse".to_owned().into());
        r.set_work_factor(12);
        let enc = age::Encryptor::with_recipients(std::iter::once(&r as _)).unwrap();
        let armor = age::armor::ArmoredWriter::wrap_output(
            std::fs::File::create(&age_key).unwrap(),
            age::armor::Format::AsciiArmor,
        )
        .unwrap();
        let mut w = enc.wrap_output(armor).unwrap();
        writeln!(w, "{}", id.to_string().expose_secret()).unwrap();
        w.finish().unwrap().finish().unwrap();
    }
    // An OpenSSH key with a passphrase, from the real ssh-keygen.
    let ssh_key = dir.join("id_ed25519");
    let made = std::process::Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "battery staple",
            "-C",
            "",
            "-f",
        ])
        .arg(&ssh_key)
        .status()
        .unwrap();
    assert!(made.success());
    let ssh_pub = std::fs::read_to_string(dir.join("id_ed25519.pub")).unwrap();

    let out = run(server
        .imadm()
        .args(["backup", "run", "-o", "json", "--recipient"])
        .arg(id.to_public().to_string())
        .args(["--recipient", ssh_pub.trim(), "--to"])
        .arg(&dir));
    assert_success(&out);
    let archive = PathBuf::from(json_stdout(&out)["archives"][0].as_str().unwrap());

    let verify = |key: &Path, pass: Option<&str>| {
        let mut cmd = server.imadm();
        cmd.args(["backup", "verify"])
            .arg(&archive)
            .arg("--identity")
            .arg(key);
        if let Some(p) = pass {
            cmd.env("IMADM_IDENTITY_PASSPHRASE", p);
        }
        run(&mut cmd)
    };
    for (key, pass) in [(&age_key, "correct horse"), (&ssh_key, "battery staple")] {
        let out = verify(key, Some(pass));
        assert_success(&out);
        let out = verify(key, Some("wrong"));
        assert_error(&out, 2, "cannot unlock");
        // Piped stdin: no prompt, a usage error naming the variable.
        let out = verify(key, None);
        assert_error(&out, 2, "IMADM_IDENTITY_PASSPHRASE");
    }
}

/// An age archive at `path` of the snapshot stream `plain`, for `recipient`.
fn encrypt_to(path: &Path, recipient: &str, plain: &[u8]) {
    use std::io::Write;
    let r: age::x25519::Recipient = recipient.parse().unwrap();
    let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient)).unwrap();
    let mut w = enc
        .wrap_output(std::fs::File::create(path).unwrap())
        .unwrap();
    w.write_all(plain).unwrap();
    w.finish().unwrap();
}

/// Every record of a snapshot, by table number.
fn records(snapshot: &[u8]) -> (Header, Vec<(u32, Vec<Value>)>) {
    let mut r = Reader::new(snapshot).unwrap();
    let mut out = Vec::new();
    loop {
        match r.next().unwrap() {
            Item::Record { table, values } => out.push((table, values)),
            Item::End(_) => return (r.header, out),
        }
    }
}

/// A snapshot stream of `records` under `header`, written with the public writer and
/// `key`, as anyone can.
fn encode(header: &Header, records: &[(u32, Vec<Value>)], key: &MacKey) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), header, key).unwrap();
    for (table, values) in records {
        let refs: Vec<ValueRef<'_>> = values.iter().map(Value::as_ref).collect();
        w.record(*table, &refs).unwrap();
    }
    w.finish().unwrap()
}

/// Index of table `name` and of its column `col` in `header`.
fn column(header: &Header, name: &str, col: &str) -> (usize, usize) {
    let t = header.tables.iter().position(|t| t.name == name).unwrap();
    let c = header.tables[t]
        .columns
        .iter()
        .position(|c| c == col)
        .unwrap();
    (t, c)
}

/// `backup restore` of `archive` as the operator holding `token` (IMADM_TOKEN), approved
/// with `otp`.
fn restore_as(
    server: &Server,
    token: &str,
    key: &Path,
    archive: &Path,
    otp: &str,
) -> std::process::Output {
    run(server
        .imadm()
        .env("IMADM_TOKEN", token)
        .args(["--yes", "backup", "restore", "--identity"])
        .arg(key)
        .arg(archive)
        .args(["--otp", otp]))
}

pub(crate) fn roles_of(server: &Server, operator: &str) -> serde_json::Value {
    let out = run(server
        .imadm()
        .args(["operator", "show", operator, "-o", "json"]));
    assert_success(&out);
    json_stdout(&out)["roles"].clone()
}

/// `audit alerts` rules and details, as the owner sees them.
pub(crate) fn alerts(server: &Server) -> Vec<(String, String)> {
    let out = run(server.imadm().args(["audit", "alerts", "-o", "json"]));
    assert_success(&out);
    json_stdout(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["rule"].as_str().unwrap().to_owned(),
                a["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `(outcome, detail)` of every `backup.restore` event, from `audit log`.
pub(crate) fn restore_events(server: &Server) -> Vec<(String, String)> {
    let out =
        run(server
            .imadm()
            .args(["audit", "log", "--action", "backup.restore", "-o", "json"]));
    assert_success(&out);
    json_stdout(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["outcome"].as_str().unwrap().to_owned(),
                e["detail"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// Issue #13's first attack, step by step: a backup operator downloads a snapshot, makes
/// itself owner in it, re-encodes it (with the real key fingerprint) and restores it. The
/// server did not write that snapshot, so it refuses it: exit 8, nothing changes, the
/// attempt is in the audit log and raises `escalation_attempt`. The same for a subtler
/// forgery that keeps the genuine header and its tag and recomputes the BLAKE3 hash.
#[test]
fn a_backup_operator_cannot_make_itself_owner_with_a_forged_snapshot() {
    let server = Server::start_with(&["--seed-operator", "bop:backup-operator"]);
    server.login();
    let api = Api::new(&server);
    let (password, secret) = &seeded(&server)["backup-operator"];
    let mut last = None;
    let bop = api.login_tracking("bop", password, secret, &mut last);
    let (key, recipient) = keypair(server.tmp());

    // 1. The snapshot, as backup:run allows.
    let resp = server
        .https_client()
        .get(format!("{}/admin/backup/snapshot", server.info.server))
        .header("app_id", &server.info.app_id)
        .header("access-token", &bop)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let genuine = resp.bytes().unwrap().to_vec();

    // 2. bop's row (bop, 'backup-operator') in operator_roles becomes (bop, 'owner') ...
    let (header, mut rows) = records(&genuine);
    let (ops, ops_name) = column(&header, "operators", "username");
    let (_, ops_id) = column(&header, "operators", "id");
    let (roles, roles_op) = column(&header, "operator_roles", "operator_id");
    let (_, roles_role) = column(&header, "operator_roles", "role");
    let bop_id = rows
        .iter()
        .find(|(t, v)| *t as usize == ops && v[ops_name] == Value::Text("bop".into()))
        .map(|(_, v)| v[ops_id].clone())
        .unwrap();
    let row = rows
        .iter_mut()
        .find(|(t, v)| *t as usize == roles && v[roles_op] == bop_id)
        .unwrap();
    row.1[roles_role] = Value::Text("owner".into());

    // 3a. ... re-encoded with the public writer: the real fingerprint, another key.
    let forged_dir = server.tmp().join("forged");
    std::fs::create_dir_all(&forged_dir).unwrap();
    let own_key = encode(&header, &rows, &MacKey::from_bytes([0x42; 32]));
    assert!(
        imadm_api::backup::verify(&own_key[..]).is_ok(),
        "well formed"
    );
    // 3b. ... or spliced after the genuine header and tag, with the hash recomputed
    // (the header is unchanged: same tables, same counts).
    let spliced = {
        let start = 12 + u32::from_be_bytes(genuine[8..12].try_into().unwrap()) as usize + 32;
        let body_end = own_key
            .windows(10)
            .rposition(|w| w == b"{\"counts\":")
            .unwrap()
            - 4;
        let mut body = genuine[..start].to_vec();
        body.extend_from_slice(&own_key[start..body_end]);
        let mut trailer: Trailer = serde_json::from_slice(&own_key[body_end + 4..]).unwrap();
        trailer.blake3 = Some(blake3::hash(&body).to_hex().to_string());
        let json = serde_json::to_vec(&trailer).unwrap();
        body.extend_from_slice(&(json.len() as u32).to_be_bytes());
        body.extend_from_slice(&json);
        body
    };
    assert!(
        imadm_api::backup::verify(&spliced[..]).is_ok(),
        "well formed"
    );

    // 4. Restored by bop with a valid step-up code: refused as a forgery, exit 8.
    for (name, forged) in [("own-key", &own_key), ("spliced", &spliced)] {
        let archive = forged_dir.join(format!("{name}.age"));
        encrypt_to(&archive, &recipient, forged);
        let otp = fresh_code(secret, &mut last);
        let out = restore_as(&server, &bop, &key, &archive, &otp);
        assert_error(&out, 8, "fails authentication");
        assert_eq!(
            roles_of(&server, "bop"),
            json!(["backup-operator"]),
            "{name}"
        );
    }

    // A version 1 archive carries no MAC: refused too (exit 8, saying what to do), but
    // as an old file, not an attack.
    let v1 = server.tmp().join("v1.age");
    encrypt_to(
        &v1,
        &recipient,
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/backup/v1.bin"))
            .unwrap(),
    );
    let out = restore_as(&server, &bop, &key, &v1, &fresh_code(secret, &mut last));
    assert_error(&out, 8, "take a new backup");

    assert_eq!(roles_of(&server, "bop"), json!(["backup-operator"]));
    let code = |c: i32| format!("code {c}");
    assert_eq!(
        restore_events(&server),
        [
            ("denied".to_owned(), code(imadm_api::codes::INTEGRITY)),
            ("denied".to_owned(), code(imadm_api::codes::INTEGRITY)),
            ("failure".to_owned(), code(imadm_api::codes::INTEGRITY)),
        ]
    );
    let raised: Vec<_> = alerts(&server)
        .into_iter()
        .filter(|(rule, _)| rule == "escalation_attempt")
        .collect();
    assert_eq!(raised.len(), 2, "{raised:?}");
    assert!(
        raised.iter().all(|(_, d)| d.contains("backup.restore")),
        "{raised:?}"
    );
}

/// A genuine snapshot taken while custom role `ops` carried `user:delete`, restored after
/// that permission was taken out of the role, gives its holder x `user:delete` again
/// (role definitions roll back; x's grant of `ops` is in both, so it stays): a backup
/// operator (who does not hold `user:delete`) is refused (exit 5, `escalation_attempt`);
/// an owner sees the gain in a dry run and in the restore's report, and the real restore
/// raises `role_escalation` for x. A role granted after the backup does not come back.
/// (The changes are spread over the owner, an admin `a` and a second owner `o2`: each
/// TOTP secret gives three codes without waiting for the clock.)
#[test]
fn a_restore_that_gives_permissions_needs_a_restorer_who_holds_them() {
    let server = Server::start_with(&[
        "--seed-operator",
        "x:support",
        "--seed-operator",
        "bop:backup-operator",
        "--seed-operator",
        "a:admin",
        "--seed-operator",
        "o2:owner",
    ]);
    server.login();
    let ok = |args: &[&str]| {
        let out = run(server
            .imadm()
            .args(args)
            .args(["--otp", &server.next_code()]));
        assert_success(&out);
    };
    ok(&[
        "role",
        "create",
        "ops",
        "-p",
        "user:read",
        "-p",
        "user:delete",
    ]);
    ok(&["operator", "grant", "x", "ops"]);
    let (key, recipient) = keypair(server.tmp());
    let dir = server.tmp().join("b");
    std::fs::create_dir_all(&dir).unwrap();
    let archive = backup(&server, &recipient, &[&dir]);
    let api = Api::new(&server);
    let seeds = seeded(&server);
    let (a_password, a_secret) = &seeds["admin"];
    let mut a_last = None;
    let a = api.login_tracking("a", a_password, a_secret, &mut a_last);
    let (st, env) = api.call(
        "PATCH",
        "/admin/roles/ops",
        Some(&a),
        Some(&fresh_code(a_secret, &mut a_last)),
        Some(&json!({"remove": ["user:delete"]})),
    );
    assert_eq!(st, 200, "{env}");
    let (st, env) = api.call(
        "POST",
        "/admin/operators/x/grant",
        Some(&a),
        Some(&fresh_code(a_secret, &mut a_last)),
        Some(&json!({"roles": ["auditor"]})),
    );
    assert_eq!(st, 200, "{env}");

    // The backup operator: refused, nothing changes.
    let (password, secret) = &seeds["backup-operator"];
    let mut last = None;
    let bop = api.login_tracking("bop", password, secret, &mut last);
    let out = restore_as(
        &server,
        &bop,
        &key,
        &archive,
        &fresh_code(secret, &mut last),
    );
    assert_error(&out, 5, "operator \"x\"");
    assert_eq!(roles_of(&server, "x"), json!(["auditor", "ops", "support"]));
    assert_eq!(
        restore_events(&server),
        [(
            "denied".to_owned(),
            format!("code {}", imadm_api::codes::ESCALATION_REFUSED)
        )]
    );
    assert!(
        alerts(&server)
            .iter()
            .any(|(rule, d)| rule == "escalation_attempt" && d.contains("backup.restore")),
        "{:?}",
        alerts(&server)
    );

    // An owner's dry run shows the gain (JSON here, a table below); nothing changes.
    let (password, secret) = &seeds["owner"];
    let mut last = None;
    let o2 = api.login_tracking("o2", password, secret, &mut last);
    let as_o2 = |format: &str, dry_run: bool, otp: &str| {
        let mut cmd = server.imadm();
        cmd.env("IMADM_TOKEN", &o2)
            .args(["--yes", "backup", "restore", "-o", format, "--identity"])
            .arg(&key)
            .arg(&archive)
            .args(["--otp", otp]);
        if dry_run {
            cmd.arg("--dry-run");
        }
        run(&mut cmd)
    };
    let out = as_o2("json", true, &fresh_code(secret, &mut last));
    assert_success(&out);
    let dry = json_stdout(&out);
    assert_eq!(
        dry["permission_gains"],
        json!([{"operator": "x", "permissions": ["user:delete"]}])
    );
    assert!(
        dry["kept_from_live"]
            .as_array()
            .unwrap()
            .contains(&json!({"principal": "operator x", "kept": "loses role auditor", "why": "granted after the backup"})),
        "{dry}"
    );
    assert_eq!(roles_of(&server, "x"), json!(["auditor", "ops", "support"]));

    // The restore: x holds user:delete again (through ops), which raises role_escalation
    // for x; auditor, granted after the backup, is gone.
    let out = as_o2("table", false, &fresh_code(secret, &mut last));
    assert_success(&out);
    let table = stdout(&out);
    assert!(
        table.contains("Permissions gained: x: user:delete"),
        "{table}"
    );
    assert!(
        table.contains("operator x: loses role auditor (granted after the backup)"),
        "{table}"
    );
    // Every session ended: read the result from the database.
    assert_eq!(
        server.sql(
            "SELECT r.role FROM operator_roles r JOIN operators o ON o.id = r.operator_id
              WHERE o.username = 'x' ORDER BY 1"
        ),
        "ops\nsupport\n"
    );
    let escalations = server.sql("SELECT detail FROM alerts WHERE rule = 'role_escalation'");
    assert_eq!(
        escalations.lines().collect::<Vec<_>>(),
        ["a restore gives operator x user:delete"]
    );
}
