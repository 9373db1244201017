//! `imadm mfa`: enrol a TOTP authenticator, see status, regenerate recovery codes,
//! disable MFA. Also the step-up helper every sensitive command uses.

pub mod disable;
pub mod enroll;
pub mod recovery_codes;
pub mod status;

use imadm_api::codes;

use crate::context::Context;
use crate::error::Result;

/// Run a sensitive request that may need a step-up TOTP code: with `otp` if given;
/// otherwise try without, and if the server asks for a code, prompt once and retry.
pub fn with_step_up<T>(
    ctx: &Context,
    otp: Option<String>,
    f: impl Fn(Option<&str>) -> Result<T>,
) -> Result<T> {
    if let Some(code) = otp {
        return f(Some(&code));
    }
    match f(None) {
        Err(e) if e.server_code == Some(codes::STEP_UP_REQUIRED) => {
            let code = ctx
                .ask_secret("TOTP code (step-up)", "pass --otp CODE or set IMADM_OTP")
                .map_err(|p| if ctx.interactive() { p } else { e })?;
            f(Some(&code))
        }
        other => other,
    }
}
