//! JUnit XML for CI systems (GitLab, Jenkins, GitHub test reporters): one `<testcase>` per
//! control, `<failure>` for a violation, `<error>` for a control that could not be
//! evaluated, `<skipped>` with the policy's reason. The evidence goes in `<system-out>`.
//!
//! The format is small and fixed, so it is written directly; [`escape`] covers the five
//! XML special characters and drops characters XML 1.0 cannot carry at all.

use std::fmt::Write;

use super::{ControlResult, Status};

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// The whole document. `timestamp` is RFC 3339; `server` names what was checked.
pub fn render(results: &[ControlResult], server: &str, timestamp: &str) -> String {
    let count = |s: Status| results.iter().filter(|r| r.status == s).count();
    let (fail, err, skip) = (
        count(Status::Fail),
        count(Status::Error),
        count(Status::Skipped),
    );
    let mut x = String::new();
    let _ = writeln!(x, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        x,
        r#"<testsuites name="imadm compliance check" tests="{}" failures="{fail}" errors="{err}" skipped="{skip}">"#,
        results.len()
    );
    let _ = writeln!(
        x,
        r#"  <testsuite name="{}" tests="{}" failures="{fail}" errors="{err}" skipped="{skip}" timestamp="{}">"#,
        escape(&format!("imadm compliance: {server}")),
        results.len(),
        escape(timestamp)
    );
    for r in results {
        let _ = write!(
            x,
            r#"    <testcase classname="imadm.compliance" name="{}">"#,
            escape(&format!("{}: {}", r.id, r.title))
        );
        x.push('\n');
        let reason = r.reason.as_deref().unwrap_or("");
        let violations: Vec<&str> = r
            .evidence
            .iter()
            .filter_map(|e| e.strip_prefix(super::VIOLATION))
            .collect();
        match r.status {
            Status::Pass => {}
            Status::Fail => {
                let _ = writeln!(
                    x,
                    r#"      <failure message="{}" type="violation">{}</failure>"#,
                    escape(violations.first().copied().unwrap_or("violation")),
                    escape(&violations.join("\n"))
                );
            }
            Status::Error => {
                let _ = writeln!(x, r#"      <error message="{}"/>"#, escape(reason));
            }
            Status::Skipped => {
                let _ = writeln!(x, r#"      <skipped message="{}"/>"#, escape(reason));
            }
        }
        let mut out = format!("ISO 27001: {}\nGDPR: {}\n", r.iso27001, r.gdpr);
        for e in &r.evidence {
            out.push_str(e);
            out.push('\n');
        }
        let _ = writeln!(x, "      <system-out>{}</system-out>", escape(&out));
        let _ = writeln!(x, "    </testcase>");
    }
    let _ = writeln!(x, "  </testsuite>");
    let _ = writeln!(x, "</testsuites>");
    x
}
