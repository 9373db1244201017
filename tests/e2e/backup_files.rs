//! Archives on disk, without a restore: `backup list` over several directories (and its
//! table on a terminal), `backup verify` of an archive whose manifest was lost, `backup
//! prune` when an archive cannot be removed.

use std::path::Path;

use crate::backup::{backup, keypair};
use crate::harness::*;

fn backup_dirs(server: &Server, names: &[&str]) -> Vec<std::path::PathBuf> {
    names
        .iter()
        .map(|n| {
            let d = server.tmp().join(n);
            std::fs::create_dir_all(&d).unwrap();
            d
        })
        .collect()
}

/// A realistic disaster: only the `.age` file was copied. With an identity the archive is
/// checked from itself alone; without one there is nothing to check it against, and the
/// command says so (exit 2) instead of failing on the manifest (exit 6) or passing.
#[test]
fn verify_checks_an_archive_without_its_manifest_from_the_archive_alone() {
    let server = Server::start();
    server.login();
    let (key, recipient) = keypair(server.tmp());
    let dirs = backup_dirs(&server, &["v"]);
    let archive = backup(&server, &recipient, &[&dirs[0]]);
    let manifest = format!("{}.manifest.json", archive.display());
    let key = key.display().to_string();
    let verify = |args: &[&str]| {
        run(server
            .imadm()
            .args(["backup", "verify"])
            .args(args)
            .arg(&archive))
    };
    let with_manifest = json_stdout(&verify(&["-o", "json"]));
    std::fs::remove_file(&manifest).unwrap();

    let out = verify(&[]);
    assert_error(&out, 2, "no manifest");
    assert!(stderr(&out).contains("--identity"), "{}", describe(&out));

    let out = verify(&["-o", "json", "--identity", &key]);
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(v["decrypted"], true, "{v}");
    assert_eq!(v["manifest"], serde_json::Value::Null, "{v}");
    for k in ["size", "sha256", "format_version", "counts"] {
        assert_eq!(v[k], with_manifest[k], "{k}: {v}");
    }

    // The table says what was checked, in words, not as JSON.
    let out = verify(&["-o", "table", "--identity", &key]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(text.contains("checked from the archive alone"), "{text}");
    assert!(text.contains("roles: "), "{text}");
    assert!(!text.contains('{') && !text.contains('"'), "{text}");

    // A damaged archive still fails, manifest or not.
    let mut bytes = std::fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&archive, &bytes).unwrap();
    assert_exit(&verify(&["--identity", &key]), 8);
}

fn listed(out: &std::process::Output) -> Vec<String> {
    assert_success(out);
    json_stdout(out)
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["archive"].as_str().unwrap().to_owned())
        .collect()
}

/// Directories as arguments or as repeated `--in`, like the other backup commands; on a
/// terminal an archive's name is never broken across lines.
#[test]
fn list_takes_several_directories_and_keeps_names_whole() {
    let server = Server::start();
    server.login();
    let (_, recipient) = keypair(server.tmp());
    let dirs = backup_dirs(&server, &["l1", "l2"]);
    let archive = backup(&server, &recipient, &[&dirs[0], &dirs[1]]);
    let name = archive.file_name().unwrap();
    let both = [dirs[0].join(name), dirs[1].join(name)].map(|p| p.display().to_string());

    let out = run(server
        .imadm()
        .args(["backup", "list", "-o", "json"])
        .args(&dirs));
    assert_eq!(listed(&out), both);
    let out = run(server
        .imadm()
        .args(["backup", "list", "-o", "json", "--in"])
        .arg(&dirs[0])
        .arg("--in")
        .arg(&dirs[1]));
    assert_eq!(listed(&out), both);
    let out = run(server
        .imadm()
        .args(["backup", "list", "-o", "json"])
        .arg(&dirs[0])
        .arg("--in")
        .arg(&dirs[1]));
    assert_eq!(listed(&out), both);
    assert_exit(&run(server.imadm().args(["backup", "list"])), 2);

    let path = |p: &Path| p.display().to_string();
    let (code, shown) = on_terminal(
        &server.config_dir,
        &["--profile", "dev", "backup", "list", &path(&dirs[0])],
        "never prompted",
        &[],
    );
    assert_eq!(code, Some(0), "{shown}");
    assert!(
        shown.lines().any(|l| l.contains(&both[0])),
        "the archive's path is broken across lines:\n{shown}"
    );
}

#[test]
fn prune_keeps_and_reports_an_archive_it_cannot_remove_and_removes_the_others() {
    let server = Server::start();
    server.login();
    let dir = backup_dirs(&server, &["p"]).remove(0);
    let (_, recipient) = keypair(server.tmp());
    let newest = backup(&server, &recipient, &[&dir]);
    let manifest = |a: &Path| std::path::PathBuf::from(format!("{}.manifest.json", a.display()));
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(manifest(&newest)).unwrap()).unwrap();
    // An old copy, and an "archive" that is a directory: remove_file fails on it, even
    // for root.
    let old = dir.join("imadm-old.age");
    let stuck = dir.join("imadm-stuck.age");
    std::fs::copy(&newest, &old).unwrap();
    std::fs::create_dir(&stuck).unwrap();
    for (a, days) in [(&old, 3), (&stuck, 2)] {
        m["created_at"] = (now_secs() as i64 - days * 86_400).into();
        std::fs::write(manifest(a), serde_json::to_vec(&m).unwrap()).unwrap();
    }
    let out = run(server
        .imadm()
        .args(["backup", "prune", "-o", "json", "--keep-last", "1", "--in"])
        .arg(&dir));
    assert_error(&out, 1, "1 archive could not be removed");
    let v = json_stdout(&out);
    let rows = v["archives"].as_array().unwrap();
    let row = |p: &Path| {
        rows.iter()
            .find(|r| r["archive"] == p.display().to_string())
            .unwrap()
            .clone()
    };
    assert_eq!(row(&newest)["action"], "keep");
    assert_eq!(row(&old)["action"], "remove");
    assert_eq!(row(&stuck)["action"], "keep");
    assert!(
        row(&stuck)["reason"]
            .as_str()
            .unwrap()
            .starts_with("could not be removed"),
        "{v:#}"
    );
    assert!(!old.exists() && !manifest(&old).exists());
    assert!(stuck.exists() && manifest(&stuck).exists());
}
