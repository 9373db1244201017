//! The server's layering, checked on its source (ARCHITECTURE.md, "The server"): only
//! a backend's own modules use its driver (`store/sqlite.rs` and `store/sqlite/`:
//! rusqlite; `store/postgres/`: postgres, r2d2 and the rustls connector), and
//! the store sits below the services (it never names `audit`, `auth`, `backup` or a
//! handler), so a second backend plugs in behind the same traits and
//! `audit → auth → store` has no way back.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, with its path relative to `src/`.
fn sources(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push((rel, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

fn src() -> Vec<(String, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    sources(&root, &root, &mut out);
    assert!(out.len() > 20, "found the server's sources");
    out
}

/// The code of a file without its comments and its unit tests (tests may reach across
/// layers to set up a case).
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a file names as `crate::<module>`.
fn uses(code: &str) -> Vec<String> {
    let mut out: Vec<String> = code
        .match_indices("crate::")
        .map(|(i, m)| {
            code[i + m.len()..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect::<String>()
        })
        .filter(|m| !m.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn only_the_store_backends_use_the_database_driver() {
    let outside: Vec<String> = src()
        .into_iter()
        .filter(|(path, text)| !path.starts_with("store/sqlite") && text.contains("rusqlite"))
        .map(|(path, _)| path)
        .collect();
    assert!(
        outside.is_empty(),
        "rusqlite outside the SQLite backend, store/sqlite* (move the SQL behind a store trait): {outside:?}"
    );
}

#[test]
fn only_the_postgres_backend_uses_its_driver() {
    const DRIVER: &[&str] = &["postgres::", "tokio_postgres", "r2d2", "postgres_rustls"];
    let outside: Vec<String> = src()
        .into_iter()
        .filter(|(path, text)| {
            let text = code(text);
            !path.starts_with("store/postgres/")
                && DRIVER.iter().any(|d| {
                    // `store::postgres::PgStore` is the backend's name, not its driver.
                    text.match_indices(d)
                        .any(|(i, _)| !text[..i].ends_with("store::"))
                })
        })
        .map(|(path, _)| path)
        .collect();
    assert!(
        outside.is_empty(),
        "the PostgreSQL driver outside store/postgres/ (move the SQL behind a store trait): {outside:?}"
    );
}

#[test]
fn the_store_depends_on_no_service_or_handler() {
    // What the store may name: itself, the error type its restore refusals use, file
    // helpers, the key types of sealed values, the crate root's clock (`crate::now`), and
    // the TLS client roots (`tls::client_roots`).
    const ALLOWED: &[&str] = &["error", "fsutil", "keys", "now", "store", "tls"];
    let mut wrong = Vec::new();
    for (path, text) in src() {
        if !path.starts_with("store") {
            continue;
        }
        for m in uses(&code(&text)) {
            if !ALLOWED.contains(&m.as_str()) {
                wrong.push(format!("{path} uses crate::{m}"));
            }
        }
    }
    assert!(wrong.is_empty(), "the store reaches up a layer: {wrong:#?}");
}

#[test]
fn authentication_does_not_depend_on_the_audit_service() {
    let (_, auth) = src().into_iter().find(|(p, _)| p == "auth.rs").unwrap();
    let used = uses(&code(&auth));
    assert!(
        !used.iter().any(|m| m == "audit" || m == "backup"),
        "auth.rs names {used:?}: the audit service sits above auth (it builds events from a Caller)"
    );
}
