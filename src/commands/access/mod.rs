//! `imadm access ...`: access reviews (ISO 27001 A.5.18). `review` fetches who can do
//! what (`GET /admin/access/review`), writes it as HTML, Markdown or JSON, and with
//! `--attest` signs the JSON and records the attestation on the server; a reviewer's
//! decisions (an edited copy of the JSON) become revocations, dry-run first. The
//! renderings are here, beside the one verb that uses them.

pub mod review;

use std::fmt::Write as _;

use clap::Subcommand;
use imadm_api::access::AccessReview;

use crate::audit::summary::{esc, md_escape};
use crate::output::rfc3339;

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Every operator and service token with roles, permissions, last use and flags
    Review(review::ReviewArgs),
}

pub fn dispatch(ctx: &mut crate::context::Context, c: AccessCommand) -> crate::error::Result<()> {
    match c {
        AccessCommand::Review(a) => review::run(ctx, a),
    }
}

/// The review as the JSON document that is written, signed and attested: the server's
/// review with the schema version and the server's address first.
pub fn document(review: &AccessReview, server: &str) -> String {
    let mut v = serde_json::json!({
        "schema_version": crate::output::SCHEMA_VERSION,
        "server": server,
    });
    if let (Some(m), Ok(serde_json::Value::Object(r))) =
        (v.as_object_mut(), serde_json::to_value(review))
    {
        m.extend(r);
    }
    let mut s = serde_json::to_string_pretty(&v).expect("serializable");
    s.push('\n');
    s
}

fn when(t: Option<i64>) -> String {
    t.map_or_else(|| "never".to_owned(), rfc3339)
}

fn mfa(totp: bool, passkeys: usize) -> String {
    match (totp, passkeys) {
        (false, 0) => "none".into(),
        (true, 0) => "TOTP".into(),
        (false, n) => format!("{n} passkeys"),
        (true, n) => format!("TOTP, {n} passkeys"),
    }
}

/// The review as Markdown: every server string through `md_escape`.
pub fn markdown(r: &AccessReview, server: &str) -> String {
    let e = |s: &str| md_escape(s);
    let j = |v: &[String]| md_escape(&v.join(", "));
    let mut o = String::new();
    let _ = writeln!(o, "# Access review: {}\n", e(&r.server_id));
    let _ = writeln!(
        o,
        "Server {} — generated {} — dormant after {} days\n",
        e(server),
        rfc3339(r.generated_at),
        r.dormant_days
    );
    let _ = writeln!(o, "## Operators\n");
    let _ = writeln!(
        o,
        "| Operator | Roles | Permissions | Disabled | MFA | Last login | From | Flags |\n|---|---|---|---|---|---|---|---|"
    );
    for op in &r.operators {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            e(&op.username),
            j(&op.roles),
            j(&op.permissions),
            if op.disabled { "yes" } else { "no" },
            mfa(op.mfa.totp, op.mfa.passkeys.len()),
            when(op.last_login_at),
            e(op.last_login_addr.as_deref().unwrap_or("-")),
            j(&op.flags)
        );
    }
    let _ = writeln!(o, "\n## Service tokens\n");
    let _ = writeln!(
        o,
        "| Id | Name | Created by | Permissions | Expires | Last use | From | Flags |\n|---|---|---|---|---|---|---|---|"
    );
    for t in &r.tokens {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            t.id,
            e(&t.name),
            e(&t.created_by),
            j(&t.permissions),
            rfc3339(t.expires_at),
            when(t.last_used_at),
            e(t.last_used_addr.as_deref().unwrap_or("-")),
            j(&t.flags)
        );
    }
    let _ = writeln!(o, "\n## Roles\n");
    for role in &r.roles {
        let holders = if role.operators.is_empty() {
            "nobody".to_owned()
        } else {
            j(&role.operators)
        };
        let _ = writeln!(o, "- {}: {holders}", e(&role.role));
    }
    o
}

/// The review as one self-contained HTML page: every server string through `esc`.
pub fn html(r: &AccessReview, server: &str) -> String {
    let j = |v: &[String]| esc(&v.join(", "));
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Access review {}</title>\
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 6px}}</style></head><body>\n",
        esc(&r.server_id)
    );
    let _ = writeln!(
        o,
        "<h1>Access review: {}</h1><p>Server {} — generated {} — dormant after {} days</p>",
        esc(&r.server_id),
        esc(server),
        rfc3339(r.generated_at),
        r.dormant_days
    );
    let _ = writeln!(
        o,
        "<h2>Operators</h2><table><tr><th>Operator</th><th>Roles</th><th>Permissions</th><th>Disabled</th><th>MFA</th><th>Last login</th><th>From</th><th>Flags</th></tr>"
    );
    for op in &r.operators {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&op.username),
            j(&op.roles),
            j(&op.permissions),
            if op.disabled { "yes" } else { "no" },
            mfa(op.mfa.totp, op.mfa.passkeys.len()),
            when(op.last_login_at),
            esc(op.last_login_addr.as_deref().unwrap_or("-")),
            j(&op.flags)
        );
    }
    let _ = writeln!(
        o,
        "</table>\n<h2>Service tokens</h2><table><tr><th>Id</th><th>Name</th><th>Created by</th><th>Permissions</th><th>Expires</th><th>Last use</th><th>From</th><th>Flags</th></tr>"
    );
    for t in &r.tokens {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            t.id,
            esc(&t.name),
            esc(&t.created_by),
            j(&t.permissions),
            rfc3339(t.expires_at),
            when(t.last_used_at),
            esc(t.last_used_addr.as_deref().unwrap_or("-")),
            j(&t.flags)
        );
    }
    let _ = writeln!(o, "</table>\n<h2>Roles</h2><ul>");
    for role in &r.roles {
        let holders = if role.operators.is_empty() {
            "nobody".to_owned()
        } else {
            j(&role.operators)
        };
        let _ = writeln!(o, "<li>{}: {holders}</li>", esc(&role.role));
    }
    o.push_str("</ul>\n</body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use imadm_api::access::{MfaFactors, ReviewedOperator};

    #[test]
    fn server_text_is_escaped_in_html_and_markdown() {
        let r = AccessReview {
            server_id: "srv".into(),
            generated_at: 0,
            dormant_days: 90,
            operators: vec![ReviewedOperator {
                id: 1,
                username: "<script>x|y</script>\u{1b}[2J".into(),
                roles: vec!["owner".into()],
                permissions: vec![],
                disabled: false,
                mfa: MfaFactors::default(),
                created_at: 0,
                last_login_at: None,
                last_login_addr: None,
                flags: vec![],
                decision: None,
            }],
            tokens: vec![],
            roles: vec![],
        };
        let h = html(&r, "https://x");
        assert!(
            h.contains("&lt;script&gt;x|y&lt;/script&gt;\\u{1b}[2J"),
            "{h}"
        );
        assert!(!h.contains("<script>") && !h.contains('\u{1b}'));
        let m = markdown(&r, "https://x");
        assert!(m.contains("\\<script\\>x\\|y\\</script\\>"), "{m}");
        assert!(!m.contains('\u{1b}'));
    }
}
