//! `imadm backup`: round trip against the real server and SQLite file, damaged archives
//! (exit 8, live data unchanged), and interoperability with the Go `age` CLI.

use std::path::{Path, PathBuf};

use crate::harness::*;

/// Every table's rows, in a stable order; `auth_events` and `audit_log` without backup and
/// step-up events (the run and the restore each record some outside the snapshot).
fn dump(server: &Server) -> String {
    let tables = server.sql(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    );
    let mut out = String::new();
    for t in tables.lines() {
        let filter = match t {
            "auth_events" => " WHERE event NOT LIKE 'backup%' AND event != 'step_up'",
            // Backup runs, restores and step-ups are recorded outside what they compare.
            "audit_log" => " WHERE action NOT LIKE 'backup.%' AND action != 'auth.step_up'",
            _ => "",
        };
        // Step-up records the TOTP step it used (replay protection) on every call.
        let cols: Vec<String> = server
            .sql(&format!("SELECT name FROM pragma_table_info('{t}')"))
            .lines()
            .filter(|c| *c != "last_totp_step")
            .map(|c| format!("\"{c}\""))
            .collect();
        out.push_str(&format!("== {t}\n"));
        out.push_str(&server.sql(&format!(
            "SELECT {} FROM \"{t}\"{filter} ORDER BY 1",
            cols.join(",")
        )));
    }
    out
}

fn keypair(dir: &Path) -> (PathBuf, String) {
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

fn backup(server: &Server, recipient: &str, dirs: &[&Path]) -> PathBuf {
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

#[test]
fn round_trip_restores_every_table_and_damage_is_refused() {
    let server = Server::start();
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

    let archive = backup(&server, &recipient, &[&dir1, &dir2]);
    let snapshot_state = dump(&server);
    assert!(snapshot_state.contains("kept-role"));
    // Both copies identical, each with a manifest; no temp files left.
    let a2 = dir2.join(archive.file_name().unwrap());
    assert_eq!(
        std::fs::read(&archive).unwrap(),
        std::fs::read(&a2).unwrap()
    );
    for d in [&dir1, &dir2] {
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

    // Change the data after the backup.
    let out = run(server.imadm().args([
        "--yes",
        "role",
        "delete",
        "kept-role",
        "--otp",
        &server.next_code(),
    ]));
    assert_success(&out);
    let changed_state = dump(&server);
    assert_ne!(changed_state, snapshot_state);

    // Damaged copies: verify fails with exit 8 at many offsets.
    let bytes = std::fs::read(&archive).unwrap();
    let bad = server.tmp().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    let bad_archive = bad.join(archive.file_name().unwrap());
    std::fs::copy(
        dir1.join(format!(
            "{}.manifest.json",
            archive.file_name().unwrap().to_string_lossy()
        )),
        bad.join(format!(
            "{}.manifest.json",
            archive.file_name().unwrap().to_string_lossy()
        )),
    )
    .unwrap();
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

    // Restoring damaged archives: exit 8 and the live data is exactly as before.
    for damaged in [bytes[..bytes.len() - 100].to_vec(), {
        let mut f = bytes.clone();
        let i = bytes.len() / 2;
        f[i] ^= 0x01;
        f
    }] {
        std::fs::write(&bad_archive, &damaged).unwrap();
        let out = run(server
            .imadm()
            .args(["--yes", "backup", "restore", "--identity"])
            .arg(&key)
            .arg(&bad_archive)
            .args(["--otp", &server.next_code()]));
        assert_exit(&out, 8);
        assert_eq!(dump(&server), changed_state);
    }

    // The real restore brings back every table.
    let out = run(server
        .imadm()
        .args(["--yes", "backup", "restore", "-o", "json", "--identity"])
        .arg(&key)
        .arg(&archive)
        .args(["--otp", &server.next_code()]));
    assert_success(&out);
    assert_eq!(dump(&server), snapshot_state);
    let events = server.sql("SELECT action, outcome FROM audit_log WHERE action LIKE 'backup.%'");
    assert!(events.contains("backup.restore|success"), "{events}");
    assert!(events.contains("backup.run|success"), "{events}");
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
    let before = dump(&server);
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
    assert_eq!(dump(&server), before, "a dry run changes nothing");
}

/// About `mib` MiB of random message blobs, written straight into the SQLite file.
fn seed_messages(server: &Server, mib: usize) {
    server.sql(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {}) \
         INSERT INTO im_messages (from_id, to_type, to_id, content, created_at) \
         SELECT i, 'user', i + 1, randomblob(65536), 1700000000 + i FROM n",
        mib * 16
    ));
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

fn manifest(a: &Path) -> PathBuf {
    PathBuf::from(format!("{}.manifest.json", a.display()))
}

fn messages_digest(server: &Server) -> String {
    server.sql("SELECT count(*), sum(length(content)), hex(max(content)) FROM im_messages")
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
    std::thread::sleep(std::time::Duration::from_millis(600));
    server.kill();
    let _ = child.wait();
    let server = server.restart_with(&[]);
    assert_eq!(messages_digest(&server), before);
    assert_eq!(server.sql("PRAGMA integrity_check").trim(), "ok");
    let stale: Vec<_> = std::fs::read_dir(&server.data_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".restore-staging-"))
        .collect();
    assert!(
        stale.is_empty(),
        "a restart removes stale staging files: {stale:?}"
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
