//! From a libpq-style URL to a connection config: the parameters libpq knows and
//! tokio-postgres does not (`sslmode` beyond `require`, `sslrootcert`, `passfile`), the
//! password (URL, then `PGPASSWORD`, then the password file), the rustls connector, and
//! the URL as it may be shown (no password).
//!
//! TLS: every certificate is verified against the roots (`sslrootcert=FILE`, else the
//! system's), and the host name checked, whatever the `sslmode`: `require`, `verify-ca` and
//! `verify-full` all mean verify-full here, `allow` and `prefer` use TLS when the server
//! offers it (verified too), `disable` never does. A server with a certificate no root
//! vouches for is refused rather than trusted.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use postgres::config::{Host, SslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::{Result, StoreError};

/// A parsed `--database` URL.
pub struct Target {
    pub config: postgres::Config,
    /// The same, for the async client (`reader.rs`).
    pub async_config: tokio_postgres::Config,
    pub tls: MakeRustlsConnect,
    /// The URL without its password, for logs and errors.
    pub shown: String,
}

fn usage(msg: impl Into<String>) -> StoreError {
    StoreError::Backend(msg.into())
}

/// Parse `url` (`postgres://` or `postgresql://`) and resolve its password.
pub fn target(url: &str) -> Result<Target> {
    let mut parsed = url::Url::parse(url)
        // The parser's message may quote the URL, password and all.
        .map_err(|_| usage("the database URL is not a valid postgres:// URL"))?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return Err(usage("the database URL must start with postgres://"));
    }
    let mut sslmode = None;
    let mut rootcert = None;
    let mut passfile = None;
    let mut rest = Vec::new();
    for (k, v) in parsed.query_pairs() {
        match k.as_ref() {
            "sslmode" => sslmode = Some(v.into_owned()),
            "sslrootcert" => rootcert = Some(PathBuf::from(v.as_ref())),
            "passfile" => passfile = Some(PathBuf::from(v.as_ref())),
            "password" => {
                return Err(usage(
                    "put the password in the URL's user part, PGPASSWORD or the password file, not in ?password=",
                ));
            }
            _ => rest.push((k.into_owned(), v.into_owned())),
        }
    }
    if rest.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(rest);
    }
    let mut config = tokio_postgres::Config::from_str(parsed.as_str())
        .map_err(|e| usage(format!("bad database URL: {e}")))?;
    config.ssl_mode(match sslmode.as_deref() {
        None | Some("prefer" | "allow") => SslMode::Prefer,
        Some("disable") => SslMode::Disable,
        Some("require" | "verify-ca" | "verify-full") => SslMode::Require,
        Some(other) => {
            return Err(usage(format!(
                "sslmode={other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
            )));
        }
    });
    if config.get_user().is_none() {
        return Err(usage(
            "the database URL names no user (postgres://USER@HOST/DB)",
        ));
    }
    if config.get_password().is_none() {
        if let Some(pw) = std::env::var_os("PGPASSWORD") {
            config.password(pw.as_encoded_bytes());
        } else if let Some(pw) = from_passfile(&config, passfile)? {
            config.password(pw);
        }
    }
    let tls = MakeRustlsConnect::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots(rootcert.as_deref())?)
            .with_no_client_auth(),
    );
    let shown = shown(&parsed);
    Ok(Target {
        config: postgres::Config::from(config.clone()),
        async_config: config,
        tls,
        shown,
    })
}

/// `url` without its password or query.
fn shown(url: &url::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_password(None);
    u.set_query(None);
    u.to_string()
}

/// An empty system store is no error here: it only matters if the server speaks TLS, and
/// then the handshake fails with the server's name in the message.
fn roots(ca: Option<&Path>) -> Result<Arc<rustls::RootCertStore>> {
    crate::tls::client_roots(ca, "sslrootcert")
        .map(Arc::new)
        .map_err(usage)
}

/// The password the password file holds for `config`'s first host, port, database and
/// user: `passfile=` in the URL, else `PGPASSFILE`, else `~/.pgpass`. Like libpq, a file
/// others may read is ignored (with a warning, never its content).
fn from_passfile(
    config: &tokio_postgres::Config,
    named: Option<PathBuf>,
) -> Result<Option<String>> {
    let path = match named.or_else(|| std::env::var_os("PGPASSFILE").map(PathBuf::from)) {
        Some(p) => p,
        None => match std::env::var_os("HOME") {
            Some(h) => Path::new(&h).join(".pgpass"),
            None => return Ok(None),
        },
    };
    let Ok(meta) = std::fs::metadata(&path) else {
        return Ok(None);
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(file = %path.display(), "password file ignored: group or others may read it (chmod 0600)");
            return Ok(None);
        }
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| usage(format!("cannot read password file {}: {e}", path.display())))?;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(_)) | None => "localhost".to_owned(),
        #[cfg(not(unix))]
        None => "localhost".to_owned(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default();
    let db = config.get_dbname().unwrap_or(user);
    Ok(passfile_lookup(&text, [&host, &port, db, user]))
}

/// The first line of a `.pgpass` file whose four fields (`*` matches anything) match
/// `want`; `\:` and `\\` escape inside a field.
fn passfile_lookup(text: &str, want: [&str; 4]) -> Option<String> {
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_fields(line);
        if fields.len() != 5 {
            continue;
        }
        if fields[..4]
            .iter()
            .zip(want)
            .all(|(f, w)| f == "*" || f == w)
        {
            return Some(fields[4].clone());
        }
    }
    None
}

fn split_fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.last_mut().expect("one field at least").push(n);
                }
            }
            // The password (fifth field) may hold unescaped colons.
            ':' if out.len() < 5 => out.push(String::new()),
            c => out.last_mut().expect("one field at least").push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passfile_lines_match_field_by_field() {
        let text = "# comment\n\
                    db.example:5432:imadm:app:s3cr\\:et\n\
                    *:*:*:app:fallback:with:colons\n";
        assert_eq!(
            passfile_lookup(text, ["db.example", "5432", "imadm", "app"]).as_deref(),
            Some("s3cr:et")
        );
        assert_eq!(
            passfile_lookup(text, ["other", "5433", "x", "app"]).as_deref(),
            Some("fallback:with:colons")
        );
        assert_eq!(
            passfile_lookup(text, ["db.example", "5432", "imadm", "bob"]),
            None
        );
    }

    #[test]
    fn urls_keep_libpq_parameters_and_show_no_password() {
        let t = target(
            "postgres://app:pw@db.example:5433/imadm?sslmode=verify-full&application_name=x",
        )
        .unwrap();
        assert_eq!(t.shown, "postgres://app@db.example:5433/imadm");
        assert_eq!(t.config.get_ssl_mode(), SslMode::Require);
        assert_eq!(t.config.get_password(), Some(&b"pw"[..]));
        assert_eq!(t.config.get_application_name(), Some("x"));
        for (bad, says) in [
            ("mysql://a@b/c", "postgres://"),
            ("postgres://a:pw@b/c?sslmode=maybe", "sslmode"),
            ("postgres://b/c", "no user"),
            ("postgres://a@b/c?password=pw", "not in ?password="),
        ] {
            let e = target(bad).err().unwrap().to_string();
            assert!(e.contains(says), "{bad}: {e}");
            assert!(!e.contains("pw"), "{bad}: the password leaked: {e}");
        }
    }
}
