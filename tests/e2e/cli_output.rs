//! Golden files for what people read: `--help` of every command, and the error output
//! of bad input (unknown flag, http:// URL, no server configured, nothing listening).
//!
//! The command tree is discovered by walking `imadm --help` recursively, so a new
//! command gets a snapshot without editing this file. Regenerate after an intended
//! change with `IMADM_BLESS=1 cargo test --test e2e cli_output`, and review the diff.

use std::path::{Path, PathBuf};

/// `imadm --config-dir DIR` (clean environment) with a fixed width for stable wrapping.
fn imadm(config_dir: &Path) -> assert_cmd::Command {
    let mut cmd = crate::harness::imadm_in(config_dir);
    cmd.env("COLUMNS", "100");
    cmd
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Compare `actual` with the golden file, or rewrite it under IMADM_BLESS=1.
fn check_golden(name: &str, actual: &str) {
    let path = golden_dir().join(name);
    if std::env::var_os("IMADM_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden file {}; run with IMADM_BLESS=1 to create it",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} differs from the output (IMADM_BLESS=1 to accept):\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

/// Subcommand names listed under "Commands:" in a help text.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

fn help_of(dir: &Path, path: &[String]) -> String {
    let out = imadm(dir).args(path).arg("--help").output().unwrap();
    assert!(out.status.success(), "{path:?} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_of_every_command_matches_golden_and_has_an_example() {
    let dir = tempfile::tempdir().unwrap();
    let mut queue: Vec<Vec<String>> = vec![vec![]];
    let mut seen = 0;
    while let Some(path) = queue.pop() {
        let help = help_of(dir.path(), &path);
        let name = if path.is_empty() {
            "imadm".to_owned()
        } else {
            format!("imadm-{}", path.join("-"))
        };
        assert!(
            help.contains("$ imadm"),
            "`{name} --help` has no `$ imadm ...` example"
        );
        check_golden(&format!("help/{name}.txt"), &help);
        seen += 1;
        for sub in subcommands(&help) {
            let mut p = path.clone();
            p.push(sub);
            queue.push(p);
        }
    }
    // auth(5) mfa(4) config(3) server(1) + top-level nouns: a tree walk that found
    // nothing would pass vacuously, so insist on the size we know.
    assert!(seen >= 20, "only {seen} help pages found");
}

fn run_err(args: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = imadm(dir.path())
        .args(args)
        .write_stdin("")
        .output()
        .unwrap();
    assert!(out.stdout.is_empty(), "errors must not write to stdout");
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn unknown_flag_is_a_usage_error_with_hint() {
    let (code, err) = run_err(&["auth", "status", "--frobnicate"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("\nhint: "), "{err}");
    check_golden("errors/unknown-flag.txt", &err);
}

#[test]
fn http_url_is_refused_with_hint() {
    let (code, err) = run_err(&["--server", "http://im.example.com", "auth", "status"]);
    assert_eq!(code, 2);
    check_golden("errors/http-url.txt", &err);
    let (code, err) = run_err(&[
        "--server",
        "http://10.1.2.3:8080",
        "--insecure-http",
        "auth",
        "status",
    ]);
    assert_eq!(code, 2);
    check_golden("errors/insecure-http-not-loopback.txt", &err);
}

#[test]
fn missing_server_says_how_to_configure_one() {
    let (code, err) = run_err(&["auth", "status"]);
    assert_eq!(code, 2);
    check_golden("errors/no-server.txt", &err);
}

#[test]
fn prompt_needed_under_no_input_is_usage_error() {
    let (code, err) = run_err(&[
        "--server",
        "https://127.0.0.1:1",
        "--no-input",
        "auth",
        "login",
        "--insecure-storage",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("error: username is needed, but prompting is off"),
        "{err}"
    );
    assert!(err.contains("hint: pass --username"), "{err}");
}

#[test]
fn exit_codes_topic_lists_every_code() {
    let dir = tempfile::tempdir().unwrap();
    let out = imadm(dir.path())
        .args(["help", "exit-codes"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for code in 0..=10 {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&format!("{code} "))),
            "code {code} missing:\n{text}"
        );
    }
}

#[test]
fn closed_stdout_pipe_exits_quietly() {
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("imadm"))
        .args(["--config-dir"])
        .arg(dir.path())
        .args(["completion", "bash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close our end of stdout before the child writes its ~100 KB script.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.is_empty(), "expected no stderr, got {err}");
    assert_eq!(out.status.code(), Some(0));
}
