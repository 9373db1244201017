//! S3 Object Lock against a service that enforces it: Ceph's Object Gateway (RGW, from
//! Debian, started by `.ci/run` with `scripts/ceph-rgw.sh`; [`Rgw`] gives each test a
//! bucket of its own with Object Lock enabled). `backup run --object-lock-days` leaves
//! copies that the bucket's own credential cannot delete (GOVERNANCE without the bypass
//! permission, COMPLIANCE not at all), that verify and restore read as any other, and
//! that `backup prune` keeps and says until when. Skipped without `IMADM_TEST_RGW`
//! (failed instead with `IMADM_REQUIRE_RGW`, as in CI).

use crate::backup::{keypair, seed_messages};
use crate::harness::*;

const PREFIX: &str = "imadm/locked";

/// `backup run --name NAME --to BUCKET/PREFIX` under `lock`; the archive's URL.
fn locked_run(server: &Server, rgw: &Rgw, recipient: &str, name: &str, lock: &[&str]) -> String {
    let mut cmd = server.imadm();
    rgw.apply(&mut cmd);
    let out = run(cmd
        .args(["backup", "run", "-o", "json", "--recipient", recipient])
        .args(["--name", name, "--to", &rgw.url(PREFIX)])
        .args(lock));
    assert_success(&out);
    json_stdout(&out)["archives"][0]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The object's key in the bucket.
fn key_of(rgw: &Rgw, url: &str) -> String {
    url.strip_prefix(&format!("s3://{}/", rgw.bucket))
        .unwrap()
        .to_owned()
}

/// `aws s3api delete-object` of one version of `key` (what an attacker holding the
/// bucket's credential would try): its stderr, or None if the service deleted it.
fn delete_version(rgw: &Rgw, key: &str, version: &str, bypass: bool) -> Option<String> {
    // One argument, `--version-id=ID`: RGW's version ids may begin with '-', which awscli
    // would take for an option ("expected one argument").
    let version = format!("--version-id={version}");
    let mut args = vec![
        "s3api",
        "delete-object",
        "--bucket",
        &rgw.bucket,
        "--key",
        key,
        &version,
    ];
    if bypass {
        args.push("--bypass-governance-retention");
    }
    let out = rgw.aws(&args);
    (!out.status.success()).then(|| String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn locked_copies_on_ceph_rgw_cannot_be_deleted_and_prune_keeps_them() {
    let Some(rgw) = Rgw::bucket() else { return };
    let server = Server::start();
    server.login();
    seed_messages(&server, 12);
    let (identity, recipient) = keypair(server.tmp());
    let older = locked_run(
        &server,
        &rgw,
        &recipient,
        "older",
        &[
            "--object-lock-days",
            "1",
            "--object-lock-mode",
            "compliance",
        ],
    );
    // Manifests order archives by their time in seconds.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let newer = locked_run(
        &server,
        &rgw,
        &recipient,
        "newer",
        &[
            "--object-lock-days",
            "2",
            "--object-lock-mode",
            "governance",
        ],
    );

    // The service holds each archive and its manifest under the retention asked for.
    let day = 86_400;
    for (url, mode, days) in [(&older, "COMPLIANCE", 1), (&newer, "GOVERNANCE", 2)] {
        for key in [
            key_of(&rgw, url),
            format!("{}.manifest.json", key_of(&rgw, url)),
        ] {
            let r = &rgw.s3api(&["get-object-retention", "--key", &key])["Retention"];
            assert_eq!(r["Mode"], mode, "{key}: {r}");
            let until = r["RetainUntilDate"].as_str().unwrap();
            let until =
                time::OffsetDateTime::parse(until, &time::format_description::well_known::Rfc3339)
                    .unwrap()
                    .unix_timestamp();
            let expected = now_secs() as i64 + days * day;
            assert!(
                (expected - 2 * day / 24..=expected + 60).contains(&until),
                "{key}: retained until {until}, expected about {expected}"
            );
        }
    }

    // The bucket's own credential cannot delete a locked version: COMPLIANCE not even
    // with the governance bypass, GOVERNANCE not without it.
    let versions = rgw.s3api(&["list-object-versions", "--prefix", PREFIX]);
    let version_of = |url: &str| {
        let key = key_of(&rgw, url);
        versions["Versions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["Key"] == key.as_str())
            .unwrap_or_else(|| panic!("no version of {key}: {versions}"))["VersionId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (older_v, newer_v) = (version_of(&older), version_of(&newer));
    for (url, version, bypass) in [
        (&older, &older_v, false),
        (&older, &older_v, true),
        (&newer, &newer_v, false),
    ] {
        let refused = delete_version(&rgw, &key_of(&rgw, url), version, bypass)
            .unwrap_or_else(|| panic!("{url} (bypass {bypass}) was deleted"));
        assert!(refused.contains("AccessDenied"), "{refused}");
    }

    // The locked copy reads back whole: verify decrypts it straight from the bucket.
    verify_in_bucket(&server, &rgw.env(), &identity, &older);

    // prune --keep-last 1: the older archive is past the policy but locked: kept, with
    // the date and the mode, and nothing is deleted.
    let mut cmd = server.imadm();
    rgw.apply(&mut cmd);
    let out = run(cmd
        .args(["backup", "prune", "-o", "json", "--keep-last", "1", "--in"])
        .arg(rgw.url(PREFIX)));
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(v["archives"][0]["archive"], newer.as_str(), "{v:#}");
    assert_eq!(v["archives"][1]["archive"], older.as_str(), "{v:#}");
    assert_eq!(v["archives"][1]["action"], "keep", "{v:#}");
    let reason = v["archives"][1]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("locked until ") && reason.ends_with("(S3 Object Lock, COMPLIANCE)"),
        "{reason}"
    );
    let listed = rgw.s3api(&["list-objects-v2", "--prefix", PREFIX]);
    let keys: Vec<&str> = listed["Contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["Key"].as_str().unwrap())
        .filter(|k| !k.contains(".imadm-pending"))
        .collect();
    assert_eq!(keys.len(), 4, "{listed}");
}

#[test]
fn a_locked_run_sends_the_retention_and_checksum_headers_and_checks_the_result() {
    // Through a proxy that keeps what imadm sends to the gateway.
    let Some(rgw) = Rgw::bucket() else { return };
    let port: u16 = rgw.endpoint.rsplit(':').next().unwrap().parse().unwrap();
    let proxy = RecordingProxy::start(port);
    let server = Server::start();
    server.login();
    seed_messages(&server, 10);
    let (_, recipient) = keypair(server.tmp());
    let mut cmd = server.imadm();
    rgw.apply(&mut cmd);
    cmd.env(
        "AWS_ENDPOINT_URL",
        format!("http://127.0.0.1:{}", proxy.port),
    )
    .args(["backup", "run", "-o", "json", "--recipient", &recipient])
    .args(["--to", &rgw.url(PREFIX)])
    .args([
        "--object-lock-days",
        "30",
        "--object-lock-mode",
        "compliance",
    ]);
    let out = run(&mut cmd);
    assert_success(&out);
    let url = json_stdout(&out)["archives"][0]
        .as_str()
        .unwrap()
        .to_owned();
    // The retention ends in 30 days (the date; the run took seconds).
    let until = time::OffsetDateTime::from_unix_timestamp((now_secs() + 30 * 86_400) as i64)
        .unwrap()
        .date();
    let until = format!(
        "x-amz-object-lock-retain-until-date: {:04}-{:02}-{:02}t",
        until.year(),
        u8::from(until.month()),
        until.day()
    );
    let sent = proxy.sent().to_ascii_lowercase();
    let key = format!("/{}/{}", rgw.bucket, key_of(&rgw, &url)).to_ascii_lowercase();
    let create = request(&sent, &format!("post {key}?uploads"));
    let part = request(&sent, &format!("put {key}?partnumber=1"));
    let manifest = request(&sent, &format!("put {key}.manifest.json "));
    for (what, r) in [("create", create), ("part", part), ("manifest", manifest)] {
        assert!(
            r.contains("x-amz-object-lock-mode: compliance"),
            "{what}: {r}"
        );
        assert!(r.contains(&until), "{what}: {r}");
        // Signed, as SigV4 requires of x-amz-* headers.
        assert!(r.contains("x-amz-object-lock-mode;"), "{what}: {r}");
    }
    assert!(
        create.contains("x-amz-checksum-algorithm: sha256"),
        "{create}"
    );
    assert!(part.contains("x-amz-checksum-sha256: "), "{part}");
    assert!(manifest.contains("x-amz-checksum-sha256: "), "{manifest}");
    // The upload's note is deleted after the upload: it carries no retention.
    let note = request(
        &sent,
        &format!("put /{}/{PREFIX}/.imadm-pending/", rgw.bucket),
    );
    assert!(!note.contains("x-amz-object-lock"), "{note}");
    // The result is read back, not assumed: a HEAD of the archive and of the manifest.
    request(&sent, &format!("head {key} "));
    request(&sent, &format!("head {key}.manifest.json "));
    // Ceph RGW 16 (Debian 12's) keeps no retention from a multipart upload's headers:
    // imadm then sets it (PutObjectRetention, with the Content-MD5 it requires).
    if sent.contains(&format!("put {key}?retention ")) {
        let set = request(&sent, &format!("put {key}?retention "));
        assert!(set.contains("content-md5: "), "{set}");
        assert!(set.contains("authorization: aws4-hmac-sha256"), "{set}");
    }
    let r = &rgw.s3api(&["get-object-retention", "--key", &key_of(&rgw, &url)])["Retention"];
    assert_eq!(r["Mode"], "COMPLIANCE", "{r}");
}
