//! `completions/` and `man/` are committed; this fails when they are stale.
//! Regenerate with `cargo run -q -- __generate-assets` at the repository root.

use std::collections::BTreeMap;
use std::path::Path;

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn committed_completions_and_man_pages_are_current() {
    let tmp = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(assert_cmd::cargo::cargo_bin!("imadm"))
        .arg("--config-dir")
        .arg(tmp.path().join("cfg"))
        .args(["-q", "__generate-assets", "--out"])
        .arg(tmp.path())
        .status()
        .unwrap();
    assert!(status.success());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for sub in ["completions", "man"] {
        let fresh = files(&tmp.path().join(sub));
        let committed = files(&root.join(sub));
        assert!(
            fresh.len() > 3,
            "generator wrote almost nothing into {sub}/"
        );
        let fresh_names: Vec<_> = fresh.keys().collect();
        let committed_names: Vec<_> = committed.keys().collect();
        assert_eq!(
            fresh_names, committed_names,
            "{sub}/ has other files than generated; run `cargo run -q -- __generate-assets`"
        );
        for (name, bytes) in &fresh {
            assert!(
                committed[name] == *bytes,
                "{sub}/{name} is stale; run `cargo run -q -- __generate-assets`"
            );
        }
    }
}
