//! Message templates of `incident notify`: text with `{placeholder}`s filled per user.
//! `{{` and `}}` stand for literal braces; a placeholder not in [`PLACEHOLDERS`], or a
//! brace left open, is an error when the template is loaded, before anything is sent.

/// What a template may use, in the order [`Template::render`] takes the values.
pub const PLACEHOLDERS: &[&str] = &[
    "name",
    "user_id",
    "exposure",
    "incident_id",
    "incident_title",
    "severity",
    "opened_at",
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    /// Index into [`PLACEHOLDERS`].
    Field(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut cur = String::new();
        let mut chars = text.char_indices().peekable();
        let line_of = |at: usize| text[..at].matches('\n').count() + 1;
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().is_some_and(|&(_, n)| n == '{') => {
                    chars.next();
                    cur.push('{');
                }
                '}' if chars.peek().is_some_and(|&(_, n)| n == '}') => {
                    chars.next();
                    cur.push('}');
                }
                '{' => {
                    let rest = &text[at + 1..];
                    let Some(end) = rest.find('}') else {
                        return Err(format!("line {}: a `{{` is never closed", line_of(at)));
                    };
                    let name = &rest[..end];
                    let Some(i) = PLACEHOLDERS.iter().position(|p| *p == name) else {
                        return Err(format!(
                            "line {}: unknown placeholder {{{name}}} (known: {})",
                            line_of(at),
                            PLACEHOLDERS
                                .iter()
                                .map(|p| format!("{{{p}}}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    };
                    if !cur.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut cur)));
                    }
                    parts.push(Part::Field(i));
                    for _ in 0..=name.chars().count() {
                        chars.next();
                    }
                }
                '}' => {
                    return Err(format!(
                        "line {}: a `}}` without its `{{` (write `}}}}` for a brace)",
                        line_of(at)
                    ));
                }
                c => cur.push(c),
            }
        }
        if !cur.is_empty() {
            parts.push(Part::Text(cur));
        }
        Ok(Template { parts })
    }

    /// The text with `values[i]` for placeholder `PLACEHOLDERS[i]`.
    pub fn render(&self, values: &[&str; PLACEHOLDERS.len()]) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Field(i) => out.push_str(values[*i]),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: [&str; 7] = [
        "Ana",
        "42",
        "message.read",
        "3",
        "leak",
        "high",
        "2026-11-27",
    ];

    #[test]
    fn placeholders_are_filled_and_double_braces_are_literal() {
        let t =
            Template::parse("Hi {name} ({user_id}): {exposure} in #{incident_id} {{not}} }}x{{")
                .unwrap();
        assert_eq!(t.render(&V), "Hi Ana (42): message.read in #3 {not} }x{");
        let t = Template::parse("您好 {name}，事件「{incident_title}」").unwrap();
        assert_eq!(t.render(&V), "您好 Ana，事件「leak」");
        assert_eq!(Template::parse("").unwrap().render(&V), "");
    }

    #[test]
    fn the_shipped_templates_parse_and_use_the_users_name() {
        for t in [
            include_str!("../../../docs/incident-templates/notify.en.txt"),
            include_str!("../../../docs/incident-templates/notify.zh-CN.txt"),
        ] {
            let text = Template::parse(t).unwrap().render(&V);
            assert!(
                text.contains("Ana") && text.contains("#3") && !text.contains('{'),
                "{text}"
            );
        }
    }

    #[test]
    fn unknown_placeholders_and_stray_braces_are_errors_naming_the_line() {
        let e = Template::parse("ok\nHi {nmae}").unwrap_err();
        assert!(e.starts_with("line 2: unknown placeholder {nmae}"), "{e}");
        assert!(e.contains("{name}"), "{e}");
        assert!(
            Template::parse("Hi {name")
                .unwrap_err()
                .contains("never closed")
        );
        assert!(
            Template::parse("a } b")
                .unwrap_err()
                .contains("without its")
        );
        assert!(Template::parse("{}").is_err());
    }
}
