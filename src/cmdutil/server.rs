//! Running the server library from the CLI (`server` verbs and the hidden `__seed-audit`):
//! its errors as CLI errors, and the PostgreSQL URL from `--database` or
//! `IMADM_DATABASE_URL`.

use imadm_server::{ErrorKind, ServerError};

use crate::error::{CliError, Kind, Result};

/// Where the database URL may come from instead of `--database` (never argv: see
/// [`database_url`]).
pub const DATABASE_URL_ENV: &str = "IMADM_DATABASE_URL";

/// A server library error as the CLI's, with its kind's exit code and its hint.
pub fn server_error(e: ServerError) -> CliError {
    let kind = match e.kind {
        ErrorKind::Usage => Kind::Usage,
        ErrorKind::Conflict => Kind::Conflict,
        ErrorKind::Unavailable => Kind::Unavailable,
        ErrorKind::Integrity => Kind::Integrity,
        ErrorKind::Io => Kind::Unexpected,
    };
    let mut c = CliError::new(kind, e.message);
    c.hint = e.hint;
    c
}

/// `--database` / `IMADM_DATABASE_URL`: the PostgreSQL URL to run on, if any. Read by hand rather
/// than by clap's `env`: a password may come from the environment but never from argv
/// (`ps` shows it), and no message repeats it.
pub fn database_url(flag: &Option<String>) -> Result<Option<String>> {
    let url = match (flag, std::env::var(DATABASE_URL_ENV)) {
        (Some(url), _) => {
            if url::Url::parse(url).is_ok_and(|u| u.password().is_some()) {
                return Err(CliError::usage(
                    "--database must not hold a password (other users can read the command line)",
                )
                .hint(format!(
                    "put it in PGPASSFILE or ~/.pgpass (0600), PGPASSWORD, or the URL in {DATABASE_URL_ENV}"
                )));
            }
            url.clone()
        }
        (None, Ok(url)) if !url.is_empty() => url,
        _ => return Ok(None),
    };
    if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
        return Err(CliError::usage("--database takes a postgres:// URL")
            .hint("leave it out to use the SQLite database in --data-dir"));
    }
    Ok(Some(url))
}
