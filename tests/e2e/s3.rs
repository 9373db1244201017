//! S3 destinations of `backup run|list|verify|restore|prune` and `compliance check`,
//! against a real S3 protocol server (`s3s-fs`, [`S3Server`]): a directory and a bucket
//! written in one pass and listed; the object fetched by an independent client (awscli)
//! and decrypted by the Go `age` CLI; restore streamed from the bucket; a killed run and a
//! service gone mid-upload (exit 3): no object, no local file, a note of the upload that
//! `backup prune` aborts; damaged objects (exit 8), a connection dropped mid-read (exit 3);
//! the imadm profile and the shared credentials file; two destinations with their own
//! settings (profile table, AWS config file); the compliance gate; prune; parts sized
//! for a database too large for 8 MiB ones; a locked run
//! refused by a service without Object Lock (s3s-fs has none: the Object Lock tests
//! proper are in `s3_lock.rs`, on Ceph RGW).

use std::path::{Path, PathBuf};

use crate::backup::{data_dump, keypair, manifest, seed_messages};
use crate::harness::*;

const PREFIX: &str = "imadm/prod";

/// `backup run` to `dir` and the bucket; the archives it reports.
fn backup_both(server: &Server, s3: &S3Server, recipient: &str, dir: &Path) -> Vec<String> {
    let mut cmd = server.imadm();
    s3.apply(&mut cmd);
    cmd.args([
        "backup",
        "run",
        "--recipient",
        recipient,
        "-o",
        "json",
        "--to",
    ])
    .arg(dir)
    .args(["--to", &s3.url(PREFIX)]);
    let out = run(&mut cmd);
    assert_success(&out);
    json_stdout(&out)["archives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

/// The bucket's archive among those `backup run` reported.
fn in_bucket(archives: &[String]) -> &str {
    archives
        .iter()
        .find(|a| a.starts_with("s3://"))
        .expect("an archive in the bucket")
}

fn file_name(p: &str) -> String {
    p.rsplit('/').next().unwrap().to_owned()
}

#[test]
fn one_run_writes_a_directory_and_a_bucket_and_restores_from_the_bucket() {
    let server = Server::start();
    let s3 = S3Server::start();
    server.login();
    // Several parts of a multipart upload (8 MiB each).
    seed_messages(&server, 20);
    let dir = server.tmp().join("local");
    std::fs::create_dir_all(&dir).unwrap();
    let (key, recipient) = keypair(server.tmp());
    let snapshot_state = data_dump(&server);
    let archives = backup_both(&server, &s3, &recipient, &dir);
    assert_eq!(archives.len(), 2, "{archives:?}");
    let name = file_name(&archives[0]);
    let object = format!("{PREFIX}/{name}");
    assert_eq!(
        in_bucket(&archives),
        format!("s3://{}/{object}", S3Server::BUCKET)
    );
    // The archive and its manifest (the commit marker), nothing else.
    assert_eq!(
        s3.keys(PREFIX),
        vec![object.clone(), format!("{object}.manifest.json")]
    );

    // The independent client fetches the object: the same bytes as the local copy, and
    // the same manifest; Go `age` decrypts it into the snapshot.
    let fetched = server.tmp().join("fetched.age");
    let out = s3.aws(&[
        "s3",
        "cp",
        &format!("s3://{}/{object}", S3Server::BUCKET),
        fetched.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    let local = dir.join(&name);
    assert_eq!(
        std::fs::read(&fetched).unwrap(),
        std::fs::read(&local).unwrap()
    );
    let fetched_manifest = server.tmp().join("fetched.manifest.json");
    let out = s3.aws(&[
        "s3",
        "cp",
        &format!("s3://{}/{object}.manifest.json", S3Server::BUCKET),
        fetched_manifest.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        std::fs::read(&fetched_manifest).unwrap(),
        std::fs::read(manifest(&local)).unwrap()
    );
    let plain = server.tmp().join("plain.bin");
    let st = std::process::Command::new("age")
        .args(["-d", "-i"])
        .arg(&key)
        .arg("-o")
        .arg(&plain)
        .arg(&fetched)
        .status()
        .expect("the Go `age` CLI is needed (Debian package `age`)");
    assert!(st.success());
    imadm_api::backup::verify(&std::fs::read(&plain).unwrap()[..]).expect("snapshot verifies");

    // Listed from the bucket with its manifest's facts, like the local copy.
    let url = in_bucket(&archives);
    let mut cmd = server.imadm();
    s3.apply(&mut cmd);
    let out = run(cmd
        .args(["backup", "list", "-o", "json", &s3.url(PREFIX)])
        .arg(&dir));
    assert_success(&out);
    let listed = json_stdout(&out);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0]["archive"], url);
    assert_eq!(listed[1]["archive"], local.display().to_string());
    assert_eq!(listed[0]["sha256"], listed[1]["sha256"]);
    assert!(listed[0]["sha256"].is_string(), "{listed:?}");

    // Verify (manifest and decryption) and restore straight from the bucket.
    let v = verify_in_bucket(&server, &s3.env(), &key, url);
    assert_eq!(v["manifest"], format!("{url}.manifest.json"));

    let out = run(server
        .imadm()
        .args(["user", "create", "later", "--password-stdin"])
        .write_stdin("pw-for-tests\n"));
    assert_success(&out);
    assert_ne!(data_dump(&server), snapshot_state);
    let mut cmd = server.imadm();
    s3.apply(&mut cmd);
    let out = run(cmd
        .args(["--yes", "backup", "restore", "--identity"])
        .arg(&key)
        .arg(url)
        .args(["--otp", &server.next_code()]));
    assert_success(&out);
    assert_eq!(data_dump(&server), snapshot_state);
}

#[test]
fn a_damaged_object_fails_verify_and_restore_with_exit_8() {
    let server = Server::start();
    let s3 = S3Server::start();
    server.login();
    let dir = server.tmp().join("local");
    std::fs::create_dir_all(&dir).unwrap();
    let (key, recipient) = keypair(server.tmp());
    let archives = backup_both(&server, &s3, &recipient, &dir);
    let url = in_bucket(&archives);
    let file = s3.object_file(&format!("{PREFIX}/{}", file_name(url)));
    let bytes = std::fs::read(&file).unwrap();
    let before = data_dump(&server);
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0x01;
    for damaged in [bytes[..bytes.len() - 100].to_vec(), flipped] {
        std::fs::write(&file, &damaged).unwrap();
        let mut cmd = server.imadm();
        s3.apply(&mut cmd);
        assert_exit(&run(cmd.args(["backup", "verify"]).arg(url)), 8);
        let mut cmd = server.imadm();
        s3.apply(&mut cmd);
        let out = run(cmd
            .args(["--yes", "backup", "restore", "--identity"])
            .arg(&key)
            .arg(url)
            .args(["--otp", &server.next_code()]));
        assert_exit(&out, 8);
        assert_eq!(data_dump(&server), before);
    }
}

#[test]
fn a_connection_dropped_mid_read_is_exit_3_not_a_damaged_archive() {
    let server = Server::start();
    let s3 = S3Server::start();
    server.login();
    // Far larger than what a reader that stops after the header lets through (socket
    // buffers), so each cut below falls in the read that streams the archive.
    seed_messages(&server, 48);
    let (key, recipient) = keypair(server.tmp());
    let mut cmd = server.imadm();
    s3.apply(&mut cmd);
    let out = run(cmd
        .args(["backup", "run", "-o", "json", "--recipient", &recipient])
        .args(["--to", &s3.url(PREFIX)]));
    assert_success(&out);
    let url = json_stdout(&out)["archives"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let size = json_stdout(&out)["size"].as_u64().unwrap();
    let before = data_dump(&server);
    // Through a network that drops after `budget` bytes of answers and stays down.
    let through = |budget: u64, args: &[&str]| {
        let proxy = CuttingProxy::start(s3.port, budget);
        let mut cmd = server.imadm();
        s3.apply(&mut cmd);
        cmd.env(
            "AWS_ENDPOINT_URL",
            format!("http://127.0.0.1:{}", proxy.port),
        );
        let out = run(cmd.args(args));
        assert_exit(&out, 3);
        let err = stderr(&out);
        assert!(err.contains(&format!("reading {url} failed")), "{err}");
        assert!(!err.contains("imadm-test-secret-key"), "{err}");
        err
    };
    let key = key.to_str().unwrap();
    // restore reads its header, then streams it to the server: cut in the stream.
    let err = through(
        size / 2,
        &[
            "--yes",
            "backup",
            "restore",
            "--identity",
            key,
            &url,
            "--otp",
            &server.next_code(),
        ],
    );
    assert!(err.contains("the server's data was not changed"), "{err}");
    assert_eq!(data_dump(&server), before);
    // verify reads the archive twice (its digest, then decrypted): cut in the second.
    through(
        size + size / 2,
        &["backup", "verify", "--identity", key, &url],
    );
}

/// Multipart parts `s3s-fs` holds for uploads not yet completed.
fn parts(root: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".upload_id-"))
        })
        .collect()
}

/// `backup run` to `dir` and the bucket as a child process (stderr piped).
fn spawn_backup(
    server: &Server,
    s3: &S3Server,
    recipient: &str,
    dir: &Path,
) -> std::process::Child {
    let mut cmd = std::process::Command::new(bin());
    cmd.arg("--config-dir")
        .arg(&server.config_dir)
        .args([
            "--profile",
            "dev",
            "backup",
            "run",
            "--recipient",
            recipient,
            "--to",
        ])
        .arg(dir)
        .args(["--to", &s3.url(PREFIX)])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    for var in IMADM_ENV {
        cmd.env_remove(var);
    }
    cmd.env_remove("AWS_PROFILE");
    for (k, v) in s3.env() {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Wait until the first part of the upload arrived: the upload is under way.
fn wait_for_a_part(s3: &S3Server, child: &mut std::process::Child) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while parts(&s3.root).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no part was uploaded");
        if let Some(st) = child.try_wait().unwrap() {
            panic!("finished ({st}) before a part arrived");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The notes of uploads under way under `PREFIX` (`.imadm-pending/NAME.json`), parsed.
fn notes(s3: &S3Server) -> Vec<serde_json::Value> {
    s3.keys(&format!("{PREFIX}/.imadm-pending"))
        .iter()
        .map(|k| serde_json::from_slice(&std::fs::read(s3.object_file(k)).unwrap()).unwrap())
        .collect()
}

/// `backup prune --in` the bucket's prefix with `args`, as JSON.
fn prune_json(server: &Server, s3: &S3Server, args: &[&str]) -> serde_json::Value {
    let mut cmd = server.imadm();
    s3.apply(&mut cmd);
    let out = run(cmd
        .args(["backup", "prune", "-o", "json", "--in", &s3.url(PREFIX)])
        .args(args));
    assert_success(&out);
    json_stdout(&out)
}

#[test]
fn a_killed_run_leaves_no_object_at_a_final_key_and_prune_aborts_its_upload() {
    let server = Server::start();
    let s3 = S3Server::start();
    server.login();
    let (_, recipient) = keypair(server.tmp());
    // One complete archive first: prune must leave it and its listing alone.
    let mut cmd = server.imadm();
    s3.apply(&mut cmd);
    assert_success(&run(cmd
        .args(["backup", "run", "--recipient", &recipient])
        .args(["--to", &s3.url(PREFIX)])));
    let list = || {
        let mut cmd = server.imadm();
        s3.apply(&mut cmd);
        let out = run(cmd.args(["backup", "list", "-o", "json", &s3.url(PREFIX)]));
        assert_success(&out);
        json_stdout(&out)
    };
    let listed = list();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed:#}");
    let complete = s3.keys(PREFIX);
    assert!(notes(&s3).is_empty(), "a completed upload leaves no note");

    seed_messages(&server, 48);
    let dir = server.tmp().join("local");
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = spawn_backup(&server, &s3, &recipient, &dir);
    wait_for_a_part(&s3, &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    // The service is still up: a final key would be visible to a client.
    let out = s3.aws(&["s3", "ls", &format!("s3://{}/{PREFIX}/", S3Server::BUCKET)]);
    let objects: Vec<_> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim_start().starts_with("PRE "))
        .map(|l| l.rsplit(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(objects.len(), 2, "{}", describe(&out));
    assert_eq!(s3.keys(PREFIX), complete);
    // No final name locally either (a killed process may leave its temp file).
    let finals: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".age") || n.ends_with(".manifest.json"))
        .collect();
    assert!(finals.is_empty(), "{finals:?}");

    // The run noted its upload: the key, the upload id, when; the parts are on the server.
    let noted = notes(&s3);
    assert_eq!(noted.len(), 1, "{noted:?}");
    let id = noted[0]["upload_id"].as_str().unwrap().to_owned();
    let key = noted[0]["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with(&format!("{PREFIX}/imadm-")) && key.ends_with(".age"));
    assert!(!s3.files_naming(&id).is_empty());
    let upload = format!("s3://{}/{key}", S3Server::BUCKET);

    // By default (24h) a recent upload is left alone: its run may still be going.
    let v = prune_json(&server, &s3, &["--keep-last", "1"]);
    let rows = v["incomplete_uploads"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v:#}");
    assert_eq!(rows[0]["upload"], upload);
    assert_eq!(rows[0]["action"], "keep", "{v:#}");
    // A dry run says what it would abort and aborts nothing.
    let v = prune_json(
        &server,
        &s3,
        &["--incomplete-older-than", "0s", "--dry-run"],
    );
    assert_eq!(v["incomplete_uploads"][0]["action"], "abort", "{v:#}");
    assert_eq!(v["incomplete_uploads"][0]["upload_id"], id.as_str());
    assert_eq!(notes(&s3).len(), 1);
    assert!(!s3.files_naming(&id).is_empty());

    let v = prune_json(&server, &s3, &["--incomplete-older-than", "0s"]);
    let rows = v["incomplete_uploads"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v:#}");
    assert_eq!(rows[0]["upload"], upload);
    assert_eq!(rows[0]["action"], "abort", "{v:#}");
    assert_eq!(
        v["archives"],
        serde_json::json!([]),
        "only uploads were pruned"
    );
    // Gone from the server (s3s-fs keeps an upload's parts and state in files named
    // after its id), the note too; the archive and its listing are as they were.
    assert_eq!(s3.files_naming(&id), Vec::<PathBuf>::new());
    assert!(notes(&s3).is_empty());
    assert_eq!(s3.keys(PREFIX), complete);
    assert_eq!(list(), listed);
    let v = prune_json(&server, &s3, &["--incomplete-older-than", "0s"]);
    assert_eq!(v["incomplete_uploads"], serde_json::json!([]), "{v:#}");
}

#[test]
fn a_service_gone_mid_upload_is_exit_3_and_leaves_no_object_and_no_local_file() {
    let server = Server::start();
    let mut s3 = S3Server::start();
    server.login();
    seed_messages(&server, 48);
    let dir = server.tmp().join("local");
    std::fs::create_dir_all(&dir).unwrap();
    let (_, recipient) = keypair(server.tmp());
    let mut child = spawn_backup(&server, &s3, &recipient, &dir);
    wait_for_a_part(&s3, &mut child);
    s3.kill();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("s3://"), "{err}");
    assert!(!err.contains("imadm-test-secret-key"), "{err}");
    // Nothing at a final key (the object files are written only when an upload is
    // completed), and the local copy was not committed either.
    assert!(s3.keys(PREFIX).is_empty(), "{:?}", s3.keys(PREFIX));
    // Its note stays (the service was gone), for `backup prune` to find.
    assert_eq!(notes(&s3).len(), 1);
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn the_profile_and_the_shared_credentials_file_reach_the_bucket_without_aws_variables() {
    let server = Server::start();
    let s3 = S3Server::start();
    server.login();
    let env = s3.env();
    let value = |k: &str| env.iter().find(|(n, _)| *n == k).unwrap().1.clone();
    let creds = server.tmp().join("aws-credentials");
    std::fs::write(
        &creds,
        format!(
            "[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n[backup]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            value("AWS_ACCESS_KEY_ID"),
            value("AWS_SECRET_ACCESS_KEY")
        ),
    )
    .unwrap();
    for (k, v) in [
        ("s3_endpoint", value("AWS_ENDPOINT_URL")),
        ("s3_region", "us-east-1".into()),
        ("s3_path_style", "true".into()),
    ] {
        assert_success(&run(server.imadm().args(["config", "set", k, &v])));
    }
    let (_, recipient) = keypair(server.tmp());
    let backup = |profile: &str| {
        let mut cmd = server.imadm();
        for (k, _) in &env {
            cmd.env_remove(k);
        }
        cmd.env("AWS_SHARED_CREDENTIALS_FILE", &creds)
            .env("AWS_PROFILE", profile)
            .args(["backup", "run", "--recipient", &recipient])
            .args(["--to", &s3.url(PREFIX)]);
        run(&mut cmd)
    };
    let out = backup("backup");
    assert_success(&out);
    assert_eq!(s3.keys(PREFIX).len(), 2, "{:?}", s3.keys(PREFIX));
    // The default section's keys are refused by the service (S3 answers 403 for an
    // unknown key too: exit 5), nothing written;
    // a section that does not exist is a usage error; no secret is ever printed.
    let out = backup("default");
    assert_exit(&out, 5);
    assert_eq!(s3.keys(PREFIX).len(), 2);
    let out = backup("nope");
    assert_error(&out, 2, "AWS_PROFILE=nope");
    assert!(!stderr(&out).contains(&value("AWS_SECRET_ACCESS_KEY")));
}

#[test]
fn two_destinations_take_their_own_settings_from_the_profile_and_the_aws_files() {
    let server = Server::start();
    let first = S3Server::start();
    let second = S3Server::start();
    server.login();
    let env = first.env();
    let value = |k: &str| env.iter().find(|(n, _)| *n == k).unwrap().1.clone();
    let keys = format!(
        "aws_access_key_id = {}\naws_secret_access_key = {}\n",
        value("AWS_ACCESS_KEY_ID"),
        value("AWS_SECRET_ACCESS_KEY")
    );
    // The AWS files: the default profile reaches the first server (its endpoint from the
    // config file); the second destination names its own profile and endpoint in imadm's.
    let aws_config = server.tmp().join("aws-config");
    std::fs::write(
        &aws_config,
        format!(
            "[default]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:{}\n\n[profile second]\nregion = us-east-1\n",
            first.port
        ),
    )
    .unwrap();
    let creds = server.tmp().join("aws-credentials");
    std::fs::write(&creds, format!("[default]\n{keys}\n[second]\n{keys}")).unwrap();
    let config = server.config_dir.join("config.toml");
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str(&format!(
        "\n[profiles.dev.s3.\"s3://{}/two\"]\nendpoint = \"http://127.0.0.1:{}\"\naws_profile = \"second\"\npath_style = true\n",
        S3Server::BUCKET,
        second.port
    ));
    std::fs::write(&config, toml).unwrap();
    let (_, recipient) = keypair(server.tmp());
    let aws = |cmd: &mut assert_cmd::Command| {
        for (k, _) in &env {
            cmd.env_remove(k);
        }
        cmd.env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", &aws_config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &creds);
    };
    let mut cmd = server.imadm();
    aws(&mut cmd);
    let out = run(cmd
        .args(["backup", "run", "-o", "json", "--recipient", &recipient])
        .args(["--to", &first.url("one"), "--to", &first.url("two")]));
    assert_success(&out);
    let name = file_name(json_stdout(&out)["archives"][0].as_str().unwrap());
    let both = |p: &str| vec![format!("{p}/{name}"), format!("{p}/{name}.manifest.json")];
    assert_eq!(first.keys("one"), both("one"));
    assert!(first.keys("two").is_empty(), "{:?}", first.keys("two"));
    assert_eq!(second.keys("two"), both("two"));
    assert!(second.keys("one").is_empty());
    // Read back from each through the same settings; the config file survives imadm's
    // own rewrites.
    assert_success(&run(server
        .imadm()
        .args(["config", "set", "output", "table"])));
    let mut cmd = server.imadm();
    aws(&mut cmd);
    let out = run(cmd.args([
        "backup",
        "list",
        "-o",
        "json",
        &first.url("two"),
        &first.url("one"),
    ]));
    assert_success(&out);
    let listed = json_stdout(&out);
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed:#}");
    assert!(listed[0]["sha256"].is_string() && listed[0]["sha256"] == listed[1]["sha256"]);
}

#[test]
fn the_compliance_gate_counts_a_bucket_as_a_backup_destination() {
    use crate::compliance::{evidence, failing, policy};
    use std::collections::BTreeMap;
    let server = Server::start_with(&["--seed-operator", "second:owner"]);
    let s3 = S3Server::start();
    server.login();
    let pol = policy(server.tmp(), "");
    let dir = server.tmp().join("local");
    std::fs::create_dir_all(&dir).unwrap();
    let (_, recipient) = keypair(server.tmp());
    let archives = backup_both(&server, &s3, &recipient, &dir);
    let check = |dirs: &[&str]| {
        let mut cmd = server.imadm();
        s3.apply(&mut cmd);
        cmd.args(["compliance", "check", "-o", "json", "--policy"])
            .arg(&pol);
        for d in dirs {
            cmd.args(["--backup-dir", d]);
        }
        let v = json_stdout(&run(&mut cmd));
        let s: BTreeMap<String, String> = v["controls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["id"].as_str().unwrap().into(),
                    c["status"].as_str().unwrap().into(),
                )
            })
            .collect();
        (s, v)
    };
    let bucket = s3.url(PREFIX);
    let local = dir.to_str().unwrap();
    let (s, v) = check(&[local, &bucket]);
    assert!(failing(&s).is_empty(), "{v:#}");
    assert!(
        evidence(&v, "backup-destinations").contains(&bucket),
        "{v:#}"
    );
    // The bucket alone is one destination; its copy checks out.
    let (s, v) = check(&[&bucket]);
    assert_eq!(failing(&s), ["backup-destinations"], "{v:#}");
    // An altered object no longer matches its manifest.
    let file = s3.object_file(&format!("{PREFIX}/{}", file_name(in_bucket(&archives))));
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&file, bytes).unwrap();
    let (s, v) = check(&[local, &bucket]);
    assert_eq!(
        failing(&s),
        ["backup-destinations", "backup-manifest"],
        "{v:#}"
    );
    assert!(evidence(&v, "backup-manifest").contains("SHA-256"), "{v:#}");
}

/// Two archives in the bucket, the older backdated two days; `prune --keep-last 1`.
/// (With Object Lock: `s3_lock.rs`, on a service that has it.)
#[test]
fn prune_removes_old_archives_and_their_manifests_from_the_bucket() {
    let server = Server::start();
    let s3 = S3Server::start();
    server.login();
    let (_, recipient) = keypair(server.tmp());
    let mut names = Vec::new();
    for n in ["older", "newer"] {
        let mut cmd = server.imadm();
        s3.apply(&mut cmd);
        let out = run(cmd
            .args(["backup", "run", "-o", "json", "--recipient", &recipient])
            .args(["--name", n, "--to", &s3.url(PREFIX)]));
        assert_success(&out);
        names.push(file_name(
            json_stdout(&out)["archives"][0].as_str().unwrap(),
        ));
    }
    // The older one was taken two days ago (the manifest's time is what counts).
    let m = s3.object_file(&format!("{PREFIX}/{}.manifest.json", names[0]));
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&m).unwrap()).unwrap();
    v["created_at"] = (now_secs() as i64 - 2 * 86_400).into();
    std::fs::write(&m, serde_json::to_vec(&v).unwrap()).unwrap();
    let prune = |dry: bool| {
        let mut cmd = server.imadm();
        s3.apply(&mut cmd);
        cmd.args([
            "backup",
            "prune",
            "-o",
            "json",
            "--keep-last",
            "1",
            "--in",
            &s3.url(PREFIX),
        ]);
        if dry {
            cmd.arg("--dry-run");
        }
        let out = run(&mut cmd);
        assert_success(&out);
        json_stdout(&out)
    };
    let v = prune(true);
    assert_eq!(v["archives"][1]["action"], "remove", "{v:#}");
    assert_eq!(s3.keys(PREFIX).len(), 4);
    let v = prune(false);
    let url = |n: &str| format!("s3://{}/{PREFIX}/{n}", S3Server::BUCKET);
    assert_eq!(v["archives"][0]["archive"], url(&names[1]), "{v:#}");
    assert_eq!(v["archives"][0]["action"], "keep");
    assert_eq!(v["archives"][1]["archive"], url(&names[0]));
    assert_eq!(v["archives"][1]["action"], "remove");
    assert_eq!(
        s3.keys(PREFIX),
        vec![
            format!("{PREFIX}/{}", names[1]),
            format!("{PREFIX}/{}.manifest.json", names[1])
        ]
    );
}

#[test]
fn a_database_too_large_for_8_mib_parts_is_uploaded_in_larger_ones() {
    // S3 takes at most 10,000 parts: 8 MiB ones would stop an archive at 78 GiB. The parts
    // are sized from the server's estimate of the snapshot (its database files' size),
    // here 80 GiB: a sparse tail on the SQLite file, which SQLite ignores (it reads the
    // database's size from the file's header). 80 GiB and a quarter over 8,000 parts:
    // 12.8 MiB, so 13 MiB parts.
    let server = Server::start();
    if server.pg.is_some() {
        eprintln!("skipped on PostgreSQL: the estimate is the database's own size there");
        return;
    }
    let s3 = S3Server::start();
    let proxy = RecordingProxy::start(s3.port);
    server.login();
    seed_messages(&server, 20);
    let db = std::fs::OpenOptions::new()
        .write(true)
        .open(server.data_dir.join("imadm.db"))
        .unwrap();
    db.set_len(db.metadata().unwrap().len() + (80 << 30))
        .unwrap();
    let (key, recipient) = keypair(server.tmp());
    let mut cmd = server.imadm();
    s3.apply(&mut cmd);
    cmd.env(
        "AWS_ENDPOINT_URL",
        format!("http://127.0.0.1:{}", proxy.port),
    );
    let out = run(cmd.args([
        "backup",
        "run",
        "--recipient",
        &recipient,
        "-o",
        "json",
        "--to",
        &s3.url(PREFIX),
    ]));
    assert_success(&out);
    let url = json_stdout(&out)["archives"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let sent = proxy.sent().to_ascii_lowercase();
    let part_length = |n: usize| {
        let key = format!("/{}/{PREFIX}/{}", S3Server::BUCKET, file_name(&url));
        let head = request(
            &sent,
            &format!("put {key}?partnumber={n}&").to_ascii_lowercase(),
        );
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "));
        length
            .unwrap_or_else(|| panic!("no content-length: {head}"))
            .trim()
            .parse::<u64>()
            .unwrap()
    };
    assert_eq!(part_length(1), 13 << 20);
    // About 20 MiB of archive: the second part is the last, the rest.
    let second = part_length(2);
    assert!(second > 0 && second < 13 << 20, "{second}");
    assert!(!sent.contains("?partnumber=3&"), "{sent}");
    // Parts of two sizes make one archive that decrypts and checks out.
    verify_in_bucket(&server, &s3.env(), &key, &url);
}

#[test]
fn a_service_without_object_lock_fails_a_locked_run_and_keeps_no_copy() {
    // s3s-fs ignores the retention headers: the run must not leave copies that claim a
    // retention nobody holds them under (exit 7), in the bucket or beside it.
    let server = Server::start();
    let s3 = S3Server::start();
    server.login();
    seed_messages(&server, 10);
    let (_, recipient) = keypair(server.tmp());
    let dir = server.tmp().join("local");
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = server.imadm();
    s3.apply(&mut cmd);
    let out = run(cmd
        .args(["backup", "run", "--recipient", &recipient, "--to"])
        .arg(&dir)
        .args(["--to", &s3.url(PREFIX)])
        .args([
            "--object-lock-days",
            "30",
            "--object-lock-mode",
            "governance",
        ]));
    assert_error(&out, 7, "did not keep the S3 Object Lock retention");
    assert!(
        stderr(&out).contains("Object Lock enabled"),
        "{}",
        stderr(&out)
    );
    assert_eq!(s3.keys(PREFIX), Vec::<String>::new());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);

    // Without an s3:// destination the option is a usage error; mode without days too.
    let out = run(server
        .imadm()
        .args(["backup", "run", "--recipient", &recipient, "--to"])
        .arg(&dir)
        .args([
            "--object-lock-days",
            "30",
            "--object-lock-mode",
            "governance",
        ]));
    assert_error(&out, 2, "needs an s3:// destination");
    let out = run(server
        .imadm()
        .args(["backup", "run", "--recipient", &recipient, "--to"])
        .arg(&dir)
        .args(["--object-lock-mode", "governance"]));
    assert_exit(&out, 2);
}
