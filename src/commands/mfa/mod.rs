//! `imadm mfa`: enrol a TOTP authenticator, see status, regenerate recovery codes,
//! disable MFA; passkeys (`passkey/`). (The step-up every sensitive command needs is
//! `session::Conn::step_up`.)

pub mod disable;
pub mod enroll;
pub mod passkey;
pub mod recovery_codes;
pub mod status;
