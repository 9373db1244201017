//! The CLI's error type and the contract's exit codes.
//!
//! Every failure becomes a [`CliError`]: what went wrong (`message`), what to do about it
//! (`hint`), and which documented exit code it maps to (`kind`). `main` prints it as
//! `error: ...` / `hint: ...` on stderr. Server envelope codes are mapped to kinds in
//! [`CliError::from_envelope`], the one place that knows both vocabularies.

use imadm_api::codes;

/// Exit codes of the contract (`imadm help exit-codes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Unexpected = 1,
    Usage = 2,
    Unavailable = 3,
    Auth = 4,
    Forbidden = 5,
    NotFound = 6,
    Conflict = 7,
    Integrity = 8,
    /// `compliance check` violations, `audit alerts --fail-on`.
    Violations = 9,
    Cancelled = 10,
}

/// `(code, name, meaning)` for `imadm help exit-codes` and the man page.
pub const EXIT_CODES: &[(i32, &str, &str)] = &[
    (0, "success", "the command did what was asked"),
    (
        1,
        "unexpected",
        "an unexpected error (a bug, or an I/O failure)",
    ),
    (
        2,
        "usage",
        "bad flag, missing argument, or a prompt needed under --no-input",
    ),
    (
        3,
        "unavailable",
        "server unreachable or unavailable (worth retrying)",
    ),
    (
        4,
        "auth",
        "authentication needed: not logged in, token expired or revoked, MFA code needed or wrong, account locked, browser approval denied or expired",
    ),
    (5, "forbidden", "permission denied by RBAC"),
    (6, "not-found", "not found"),
    (
        7,
        "conflict",
        "conflict: already exists, last owner, concurrent change",
    ),
    (
        8,
        "integrity",
        "a signature, hash chain, checksum or backup does not verify",
    ),
    (
        9,
        "violations",
        "compliance check found violations / alerts at or above --fail-on",
    ),
    (10, "cancelled", "cancelled at a confirmation prompt"),
];

#[derive(Debug)]
pub struct CliError {
    pub kind: Kind,
    pub message: String,
    pub hint: Option<String>,
    /// The server's envelope code, when the error came from the server.
    pub server_code: Option<i32>,
    /// Writing to stdout failed because the reader went away (`| head`): exit quietly.
    pub broken_pipe: bool,
    /// The server has no imadm admin API (a plain Lanying deployment): commands with a
    /// Lanying-only fallback take it, others report this error.
    pub not_offered: bool,
    /// With server code 50034: the browser approval this request waits for.
    pub approval: Option<Box<imadm_api::auth::DeviceAuthorization>>,
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;

impl CliError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        CliError {
            kind,
            message: message.into(),
            hint: None,
            server_code: None,
            broken_pipe: false,
            not_offered: false,
            approval: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn usage(message: impl Into<String>) -> Self {
        CliError::new(Kind::Usage, message)
    }

    pub fn unexpected(message: impl Into<String>) -> Self {
        CliError::new(Kind::Unexpected, message)
    }

    /// A file could not be written whole (created, synced or renamed into place).
    pub fn write_failed(path: &std::path::Path, e: std::io::Error) -> Self {
        CliError::unexpected(format!("cannot write {}: {e}", path.display()))
            .hint("check that the directory exists and is writable")
    }

    pub fn exit_code(&self) -> i32 {
        self.kind as i32
    }

    /// Map a server error envelope to a CLI error, keeping the server's own message.
    pub fn from_envelope(code: i32, message: &str, hint: Option<String>) -> Self {
        let kind = match code {
            codes::BAD_REQUEST | codes::METHOD_NOT_ALLOWED => Kind::Usage,
            codes::TOKEN_MISSING
            | codes::TOKEN_INVALID
            | codes::TOKEN_EXPIRED
            | codes::REFRESH_INVALID
            | codes::BAD_CREDENTIALS
            | codes::MFA_REQUIRED
            | codes::MFA_INVALID
            | codes::MFA_REPLAYED
            | codes::ACCOUNT_LOCKED
            | codes::ACCOUNT_DISABLED
            | codes::STEP_UP_REQUIRED
            | codes::MFA_ENROLLMENT_REQUIRED
            | codes::PASSWORD_CHANGE_REQUIRED
            | codes::APPROVAL_PENDING
            | codes::APPROVAL_SLOW_DOWN
            | codes::APPROVAL_DENIED
            | codes::APPROVAL_EXPIRED
            | codes::APPROVAL_REQUIRED
            | codes::PASSKEY_INVALID => Kind::Auth,
            codes::FORBIDDEN | codes::ESCALATION_REFUSED => Kind::Forbidden,
            codes::USER_NOT_FOUND | codes::NOT_FOUND => Kind::NotFound,
            codes::USER_EXISTS | codes::CONFLICT | codes::MFA_ALREADY_ENROLLED => Kind::Conflict,
            codes::INTEGRITY => Kind::Integrity,
            codes::UNAVAILABLE | codes::DATABASE_ERROR => Kind::Unavailable,
            codes::APP_ID_UNKNOWN => Kind::Usage,
            _ => Kind::Unexpected,
        };
        // Server text: on one line, control characters visible (see `output::visible`).
        let message = if message.is_empty() {
            format!("the server answered with error code {code}")
        } else {
            crate::output::visible(message).into_owned()
        };
        CliError {
            kind,
            message,
            hint: hint.map(|h| crate::output::visible(&h).into_owned()),
            server_code: Some(code),
            broken_pipe: false,
            not_offered: false,
            approval: None,
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        // An S3 failure that travelled through a writer keeps its own exit code.
        let e = match e.downcast::<crate::cmdutil::s3::Failure>() {
            Ok(f) => return f.into_cli(),
            Err(e) => e,
        };
        let mut c = CliError::unexpected(format!("I/O error: {e}"));
        c.broken_pipe = e.kind() == std::io::ErrorKind::BrokenPipe;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_message_and_hint_reach_the_terminal_with_controls_visible() {
        let e = CliError::from_envelope(
            codes::BAD_REQUEST,
            "bad \u{1b}]0;pwned\u{7}\nerror: fake",
            Some("\u{1b}[2Jhint\u{9b}".into()),
        );
        assert_eq!(e.message, "bad \\u{1b}]0;pwned\\u{7}\\nerror: fake");
        assert_eq!(e.hint.as_deref(), Some("\\u{1b}[2Jhint\\u{9b}"));
    }
}
