//! `imadm mfa enroll`: show the otpauth URI and a QR code, confirm with a code, print the
//! recovery codes once. Non-interactively it is two steps: `mfa enroll` prints the secret
//! (JSON with -o json), then `mfa enroll --confirm CODE` activates it.

use std::io::Write;

use clap::Args;
use imadm_api::auth::{MfaConfirmRequest, MfaEnrolled, MfaEnrollment};
use serde_json::json;

use crate::client::Auth;
use crate::context::Context;
use crate::error::Result;
use crate::output;
use crate::session::{Conn, Source, connect, stored};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  $ imadm mfa enroll                       # QR code, then prompts for a code
  $ imadm mfa enroll -o json --no-input    # scripts: prints the secret...
  $ imadm mfa enroll --confirm 123456      # ...then confirms with a code")]
pub struct EnrollArgs {
    /// Confirm a pending enrolment with this TOTP code
    #[arg(long, value_name = "CODE")]
    pub confirm: Option<String>,
}

pub fn run(ctx: &mut Context, args: EnrollArgs) -> Result<()> {
    let conn = connect(ctx)?;
    if let Some(code) = args.confirm {
        return confirm(ctx, &conn, code);
    }
    if ctx.interactive() {
        return enroll_interactive(ctx, &conn);
    }
    let e = start(ctx, &conn)?;
    output::object(
        ctx,
        vec![
            ("secret", "Secret", json!(e.secret)),
            ("otpauth_uri", "URI", json!(e.otpauth_uri)),
        ],
    )?;
    ctx.info("Add the secret to your authenticator, then run `imadm mfa enroll --confirm CODE`.")
}

fn start(ctx: &Context, conn: &Conn) -> Result<MfaEnrollment> {
    conn.call(ctx, |c, t| {
        c.post("/admin/mfa/enroll", &(), &Auth::token(t), false)
    })
}

/// The whole enrolment on a terminal: QR + URI on stderr, prompt, recovery codes.
pub fn enroll_interactive(ctx: &mut Context, conn: &Conn) -> Result<()> {
    let e = start(ctx, conn)?;
    let err = &mut ctx.io.err;
    writeln!(err, "\nScan this QR code with your authenticator app:\n")?;
    if let Ok(qr) = qrcode::QrCode::new(e.otpauth_uri.as_bytes()) {
        let art = qr
            .render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .build();
        writeln!(err, "{art}")?;
    }
    writeln!(
        err,
        "\nor enter it by hand:\n  URI:    {}\n  secret: {}\n",
        crate::output::visible(&e.otpauth_uri),
        crate::output::visible(&e.secret)
    )?;
    let code = ctx.ask_secret("Code from the app", "use `imadm mfa enroll --confirm CODE`")?;
    confirm(ctx, conn, code)
}

fn confirm(ctx: &mut Context, conn: &Conn, code: String) -> Result<()> {
    let res: MfaEnrolled = conn.call(ctx, |c, t| {
        c.post(
            "/admin/mfa/enroll/confirm",
            &MfaConfirmRequest { code: code.clone() },
            &Auth::token(t),
            false,
        )
    })?;
    // Enrolment lifted the session's restriction: keep the upgraded tokens.
    if let Some(tokens) = res.session {
        let active = conn.active(ctx)?;
        if let (Some(s), Source::Store(kind)) = (active.session, active.source) {
            conn.creds
                .save(&stored(&s.server, &s.username, tokens, ctx.now()), kind)?;
        }
    }
    print_recovery_codes(ctx, &res.recovery_codes)?;
    ctx.info("MFA is enrolled. Keep the recovery codes somewhere safe: each works once, and they are not shown again.")
}

pub fn print_recovery_codes(ctx: &mut Context, codes: &[String]) -> Result<()> {
    match ctx.output() {
        crate::output::OutputFormat::Table => {
            writeln!(ctx.io.out, "Recovery codes:")?;
            for c in codes {
                writeln!(ctx.io.out, "  {}", crate::output::visible(c))?;
            }
            Ok(())
        }
        _ => output::object(
            ctx,
            vec![("recovery_codes", "Recovery codes", json!(codes))],
        ),
    }
}
