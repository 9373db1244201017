//! Envelope error codes.
//!
//! The 1xxxx/2xxxx/4xxxx values are Lanying's own (see its server API quick start); we
//! reuse them wherever the meaning matches so scripts written for Lanying keep working.
//! The 5xxxx range is the admin extension's: authentication, MFA and RBAC outcomes that
//! Lanying has no code for. The CLI maps every code to an exit code in one place
//! (`src/error.rs`), so a new code here needs a line there.

/// Success.
pub const OK: i32 = 200;

// --- Lanying codes -------------------------------------------------------------------
/// User does not exist.
pub const USER_NOT_FOUND: i32 = 10000;
/// Incorrect request parameter.
pub const BAD_REQUEST: i32 = 10002;
/// Missing access-token header.
pub const TOKEN_MISSING: i32 = 10003;
/// User already exists.
pub const USER_EXISTS: i32 = 10004;
/// Invalid access-token (unknown, expired or revoked).
pub const TOKEN_INVALID: i32 = 10008;
/// No permission.
pub const FORBIDDEN: i32 = 10010;
/// Server database exception.
pub const DATABASE_ERROR: i32 = 20000;
/// app_id does not exist.
pub const APP_ID_UNKNOWN: i32 = 40000;

// --- admin extension codes -----------------------------------------------------------
/// Wrong username or password (deliberately not saying which).
pub const BAD_CREDENTIALS: i32 = 50001;
/// Password accepted: send a TOTP code to `/admin/auth/mfa` to finish logging in.
pub const MFA_REQUIRED: i32 = 50002;
/// The TOTP or recovery code is wrong (or the MFA challenge expired).
pub const MFA_INVALID: i32 = 50003;
/// The TOTP code was already used by this operator (RFC 6238 §5.2 replay).
pub const MFA_REPLAYED: i32 = 50004;
/// Too many failed attempts: this source address is locked out of the account, the
/// address is throttled, or the account refuses addresses new to it for a while (see the
/// server's `auth.rs`). `retry_after_secs` says how long.
pub const ACCOUNT_LOCKED: i32 = 50005;
/// The session may only enrol MFA (and change its password) until that is done.
pub const MFA_ENROLLMENT_REQUIRED: i32 = 50006;
/// The operator must change the one-time password before anything else.
pub const PASSWORD_CHANGE_REQUIRED: i32 = 50007;
/// The access token has expired; refresh it.
pub const TOKEN_EXPIRED: i32 = 50008;
/// The refresh token is unknown, expired, rotated away or revoked: log in again.
pub const REFRESH_INVALID: i32 = 50009;
/// This action needs a fresh TOTP code in the `x-imadm-otp` header (step-up MFA).
pub const STEP_UP_REQUIRED: i32 = 50010;
/// The resource does not exist.
pub const NOT_FOUND: i32 = 50011;
/// Conflict: already exists, last owner, concurrent change.
pub const CONFLICT: i32 = 50012;
/// The operator account is disabled.
pub const ACCOUNT_DISABLED: i32 = 50013;
/// MFA is already enrolled for this operator.
pub const MFA_ALREADY_ENROLLED: i32 = 50014;
/// Integrity failure (signature, hash chain, checksum).
pub const INTEGRITY: i32 = 50015;
/// The server cannot serve right now (shutting down, overloaded); retry later.
pub const UNAVAILABLE: i32 = 50016;
/// The endpoint exists but not with this HTTP method.
pub const METHOD_NOT_ALLOWED: i32 = 50017;
/// Refused because it would give, create or use a permission the caller does not hold, or
/// act on a principal that holds one (the "who may act on whom" rule). Raises the
/// `escalation_attempt` alert.
pub const ESCALATION_REFUSED: i32 = 50018;

// --- browser approvals (RFC 8628 device authorization grant; passkeys) ------------------
/// The approval is not given yet: poll again after `interval` seconds
/// (RFC 8628 `authorization_pending`).
pub const APPROVAL_PENDING: i32 = 50030;
/// Polled sooner than `interval` allows: poll 5 s less often from now on (`slow_down`).
pub const APPROVAL_SLOW_DOWN: i32 = 50031;
/// The operator denied the approval in the browser (`access_denied`).
pub const APPROVAL_DENIED: i32 = 50032;
/// The device code expired, was used already, or is unknown (`expired_token`).
pub const APPROVAL_EXPIRED: i32 = 50033;
/// This request waits for a passkey approval in the browser: `data.approval` says where
/// (sent when the request asked for one with `x-imadm-otp: web`).
pub const APPROVAL_REQUIRED: i32 = 50034;
/// The passkey did not verify (unknown credential, no user verification, wrong origin).
pub const PASSKEY_INVALID: i32 = 50035;
/// Unexpected server error.
pub const INTERNAL: i32 = 50099;

/// The HTTP status our `/admin/` extension sends with each code.
pub fn http_status(code: i32) -> u16 {
    match code {
        OK => 200,
        // A missing or unknown app_id is a malformed request (a required header), not a
        // missing resource.
        BAD_REQUEST | APP_ID_UNKNOWN => 400,
        // RFC 8628 section 3.5 answers every polling error with 400; a poll here is a
        // well-formed request, so the status says what state it found instead: not yet
        // decided (409), too soon (429), denied (403), unknown or spent (404). The
        // envelope code is what clients act on.
        APPROVAL_PENDING => 409,
        APPROVAL_SLOW_DOWN => 429,
        APPROVAL_DENIED => 403,
        APPROVAL_EXPIRED => 404,
        TOKEN_MISSING | TOKEN_INVALID | BAD_CREDENTIALS | MFA_REQUIRED | MFA_INVALID
        | MFA_REPLAYED | TOKEN_EXPIRED | REFRESH_INVALID | STEP_UP_REQUIRED | APPROVAL_REQUIRED
        | PASSKEY_INVALID => 401,
        FORBIDDEN
        | ESCALATION_REFUSED
        | MFA_ENROLLMENT_REQUIRED
        | PASSWORD_CHANGE_REQUIRED
        | ACCOUNT_DISABLED => 403,
        ACCOUNT_LOCKED => 429,
        USER_NOT_FOUND | NOT_FOUND => 404,
        USER_EXISTS | CONFLICT | MFA_ALREADY_ENROLLED => 409,
        INTEGRITY => 422,
        METHOD_NOT_ALLOWED => 405,
        UNAVAILABLE => 503,
        _ => 500,
    }
}
