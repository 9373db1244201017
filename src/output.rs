//! Printing results in the format the user asked for, and making server text safe to print.
//!
//! Machine formats (`json`, `jsonl`, `csv`, `tsv`) go to stdout and are stable: single
//! objects carry `"schema_version": 1`; list outputs (later issues) stream one page at a
//! time through [`ListWriter`]. `table` is for people: aligned key/value rows or a
//! comfy-table sized to the terminal.
//!
//! Text from the server is untrusted: a username typed at the unauthenticated login or an
//! IM user's nick name could carry terminal escape sequences (clear the screen, retitle
//! the window, hide text) or spreadsheet formulas. Every non-JSON writer here therefore
//! passes values through [`visible`] (tables, key/value rows, messages) or `cell` (csv,
//! tsv); JSON needs nothing, serde escapes control characters itself.

use std::borrow::Cow;
use std::io::Write;

use serde_json::{Map, Value};

use crate::context::Context;
use crate::error::Result;

pub const SCHEMA_VERSION: u64 = 1;

// `--output`: what `object` and `ListWriter` write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Jsonl,
    Csv,
    Tsv,
}

impl OutputFormat {
    /// JSON or JSON lines: a structured answer rather than text for people.
    pub fn is_json(self) -> bool {
        matches!(self, OutputFormat::Json | OutputFormat::Jsonl)
    }
}

// `--color` (a plain comment: a doc comment would reach clap's help).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Print one object. `fields` are its key/value pairs in display order; `labels` are
/// the human names used by the table format.
pub fn object(ctx: &mut Context, fields: Vec<(&str, &str, Value)>) -> Result<()> {
    let format = ctx.output();
    let out = &mut ctx.io.out;
    match format {
        OutputFormat::Json | OutputFormat::Jsonl => {
            let mut map = Map::new();
            map.insert("schema_version".into(), SCHEMA_VERSION.into());
            for (key, _, v) in fields {
                map.insert(key.into(), v);
            }
            let v = Value::Object(map);
            if format == OutputFormat::Json {
                serde_json::to_writer_pretty(&mut *out, &v).map_err(std::io::Error::from)?;
            } else {
                serde_json::to_writer(&mut *out, &v).map_err(std::io::Error::from)?;
            }
            writeln!(out)?;
        }
        OutputFormat::Csv | OutputFormat::Tsv => {
            let sep = if format == OutputFormat::Csv {
                ','
            } else {
                '\t'
            };
            let header: Vec<String> = fields
                .iter()
                .map(|(k, _, _)| cell(&Value::String((*k).into()), sep))
                .collect();
            let row: Vec<String> = fields.iter().map(|(_, _, v)| cell(v, sep)).collect();
            writeln!(out, "{}", header.join(&sep.to_string()))?;
            writeln!(out, "{}", row.join(&sep.to_string()))?;
        }
        OutputFormat::Table => {
            let width = fields.iter().map(|(_, l, _)| l.len()).max().unwrap_or(0);
            for (_, label, v) in &fields {
                writeln!(out, "{label:>width$}: {}", human(v))?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// A value as people read it, control characters made [`visible`].
pub fn human(v: &Value) -> String {
    let raw = match v {
        Value::Null => return "-".into(),
        Value::String(s) => return visible(s).into_owned(),
        Value::Array(a) if a.is_empty() => return "-".into(),
        Value::Array(a) => return a.iter().map(human).collect::<Vec<_>>().join(", "),
        // Numbers and booleans; objects as JSON, whose strings may still hold bidi controls.
        other => other.to_string(),
    };
    visible(&raw).into_owned()
}

/// Server text made safe for a terminal: every control character is shown as an escape
/// instead of being obeyed. C0 (newline and tab too: a value is one line in a table or
/// a key/value row), DEL and C1 (U+0080-U+009F, some terminals take U+009B as ESC `[`), and
/// the bidirectional controls that reorder what is displayed (U+061C, U+200E, U+200F,
/// U+202A-U+202E, U+2066-U+2069, "Trojan Source"). Newline, tab and CR read `\n`, `\t`,
/// `\r`; the others `\u{1b}`, as Rust writes them.
///
/// A backslash is left as it is, so `\u{1b}` in the output may also be those six
/// characters in the data: what matters is that nothing is obeyed, and `-o json` shows
/// the exact text. Leaving backslashes alone also makes this idempotent (text already
/// passed through it comes out the same), so layers can apply it without double escapes.
pub fn visible(s: &str) -> Cow<'_, str> {
    escape(s, Escape::Terminal)
}

/// Like [`visible`] but keeps newlines: for messages that are written as lines (`error:`,
/// `hint:`, notes on stderr), whose own line breaks are wanted.
pub fn visible_lines(s: &str) -> Cow<'_, str> {
    escape(s, Escape::Lines)
}

#[derive(Clone, Copy)]
enum Escape {
    /// Tables and key/value rows: every control character, bidi controls included.
    Terminal,
    /// As `Terminal`, but newlines pass.
    Lines,
    /// CSV/TSV cells: C0, DEL and C1. Bidi controls are kept: they are legitimate in
    /// right-to-left names, and a spreadsheet does not execute them.
    Cell,
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn escape(s: &str, how: Escape) -> Cow<'_, str> {
    // `is_control` is Unicode category Cc: exactly C0, DEL and C1.
    let needs = |c: char| match how {
        Escape::Terminal => c.is_control() || is_bidi_control(c),
        Escape::Lines => (c.is_control() && c != '\n') || is_bidi_control(c),
        Escape::Cell => c.is_control(),
    };
    if !s.chars().any(needs) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !needs(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// A value as a CSV/TSV cell: scalars plain, arrays joined by commas (inner quotes
/// escaped by CSV rules), control characters escaped as by [`visible`] (so a TSV cell
/// never holds a tab or a line break).
///
/// Text that a spreadsheet would take for a formula (starting with `=`, `+`, `-`, `@`,
/// tab or CR: OWASP "CSV injection") gets a leading `'`, which spreadsheets read as "this
/// is text". Only text: a JSON number such as `-5` is data and stays as it is, and so
/// does an array of numbers.
fn cell(v: &Value, sep: char) -> String {
    let (raw, text) = match v {
        Value::Null => (String::new(), false),
        Value::String(s) => (s.clone(), true),
        Value::Array(a) => (
            a.iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            a.first().is_some_and(Value::is_string),
        ),
        other => (other.to_string(), false),
    };
    let formula = text && raw.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let mut raw = escape(&raw, Escape::Cell).into_owned();
    if formula {
        raw.insert(0, '\'');
    }
    if sep == ',' && raw.contains([',', '"']) {
        format!("\"{}\"", raw.replace('"', "\"\""))
    } else {
        raw
    }
}

/// One CSV record of `values` (cells as in `-o csv`: formulas defused, control
/// characters escaped), with its line break.
pub fn csv_record(values: &[Value]) -> String {
    let cells: Vec<String> = values.iter().map(|v| cell(v, ',')).collect();
    format!("{}\n", cells.join(","))
}

/// Streams a list, page by page, in the chosen format, holding at most one page.
///
/// - `json`: one array, written incrementally (`[`, items separated by `,`, `]`);
/// - `jsonl`: one object per line, flushed per page so `| head` sees rows early;
/// - `csv`/`tsv`: a header of `columns`, then one row per item;
/// - `table`: comfy-table sized to the terminal, one table per page (so memory stays
///   bounded for `--all` over a million rows).
///
/// It does not borrow the context between pages, so a command can fetch the next page
/// (`conn.call(ctx, ...)`) and then write it (`w.page(ctx, &items)`). Items are JSON
/// objects; `columns` name the keys shown in csv/tsv/table, in order.
pub struct ListWriter {
    format: OutputFormat,
    columns: Vec<&'static str>,
    /// Table columns whose cells are never wrapped (see [`ListWriter::unbroken`]).
    unbroken: Vec<&'static str>,
    count: u64,
    width: Option<u16>,
}

impl ListWriter {
    pub fn new(ctx: &mut Context, columns: &[&'static str]) -> Result<Self> {
        let w = ListWriter {
            format: ctx.output(),
            columns: columns.to_vec(),
            unbroken: Vec::new(),
            count: 0,
            width: ctx.io.stdout_tty.then(|| console::Term::stdout().size().1),
        };
        let out = &mut ctx.io.out;
        match w.format {
            OutputFormat::Json => write!(out, "[")?,
            OutputFormat::Csv | OutputFormat::Tsv => {
                let sep = w.sep();
                let header: Vec<String> = w
                    .columns
                    .iter()
                    .map(|c| cell(&Value::String((*c).into()), sep))
                    .collect();
                writeln!(out, "{}", header.join(&sep.to_string()))?;
            }
            _ => {}
        }
        Ok(w)
    }

    /// In a table, never wrap the cells of `columns`: a path or a name broken mid-word
    /// cannot be copied (the table may then be wider than the terminal).
    pub fn unbroken(mut self, columns: &[&'static str]) -> Self {
        self.unbroken = columns.to_vec();
        self
    }

    fn sep(&self) -> char {
        if self.format == OutputFormat::Csv {
            ','
        } else {
            '\t'
        }
    }

    /// Write one page of items.
    ///
    /// The page is rendered into memory first and written with one `write_all`: serde_json
    /// emits each key and punctuation mark as its own small write, and stdout is
    /// line-buffered, so writing item by item cost a system call per line and a dynamic
    /// call per token (a 100,000-user jsonl export spent more time there than in the
    /// network). Memory stays bounded by one page.
    pub fn page(&mut self, ctx: &mut Context, items: &[Value]) -> Result<()> {
        let mut buf: Vec<u8> = Vec::with_capacity(items.len() * 128);
        let out = &mut buf;
        match self.format {
            OutputFormat::Json => {
                for item in items {
                    if self.count > 0 {
                        write!(out, ",")?;
                    }
                    writeln!(out)?;
                    serde_json::to_writer_pretty(&mut *out, item).map_err(std::io::Error::from)?;
                    self.count += 1;
                }
            }
            OutputFormat::Jsonl => {
                for item in items {
                    serde_json::to_writer(&mut *out, item).map_err(std::io::Error::from)?;
                    writeln!(out)?;
                    self.count += 1;
                }
            }
            OutputFormat::Csv | OutputFormat::Tsv => {
                let sep = self.sep();
                for item in items {
                    let row: Vec<String> = self
                        .columns
                        .iter()
                        .map(|c| cell(item.get(*c).unwrap_or(&Value::Null), sep))
                        .collect();
                    writeln!(out, "{}", row.join(&sep.to_string()))?;
                    self.count += 1;
                }
            }
            OutputFormat::Table => {
                if items.is_empty() {
                    return Ok(());
                }
                let mut table = comfy_table::Table::new();
                table
                    .load_style(comfy_table::presets::NOTHING)
                    .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
                    .set_header(self.columns.iter().map(|c| c.to_uppercase()));
                if let Some(w) = self.width {
                    table.set_width(w);
                }
                for (i, c) in self.columns.iter().enumerate() {
                    if self.unbroken.contains(c)
                        && let Some(col) = table.column_mut(i)
                    {
                        col.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
                    }
                }
                for item in items {
                    table.add_row(self.columns.iter().map(|c| {
                        let v = item.get(*c).unwrap_or(&Value::Null);
                        // Convention: `*_at` fields are unix seconds in machine output;
                        // people read them as RFC 3339.
                        match v.as_i64() {
                            Some(t) if c.ends_with("_at") => rfc3339(t),
                            _ => human(v),
                        }
                    }));
                    self.count += 1;
                }
                writeln!(out, "{table}")?;
            }
        }
        ctx.io.out.write_all(&buf)?;
        ctx.io.out.flush()?;
        Ok(())
    }

    /// Close the list; returns how many items were written.
    pub fn finish(self, ctx: &mut Context) -> Result<u64> {
        let out = &mut ctx.io.out;
        if self.format == OutputFormat::Json {
            if self.count > 0 {
                writeln!(out)?;
            }
            writeln!(out, "]")?;
        }
        out.flush()?;
        Ok(self.count)
    }
}

/// RFC 3339 for a unix time.
pub fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

/// "1 owner", "2 owners", "0 owners": a count with a noun that takes -s.
pub fn plural<N: std::fmt::Display + TryInto<i64> + Copy>(n: N, noun: &str) -> String {
    let s = if n.try_into().ok() == Some(1) {
        ""
    } else {
        "s"
    };
    format!("{n} {noun}{s}")
}

/// "3h ago" for a time that has passed: an event (a creation, a login) never reads "in
/// 2s", even when the server's clock is a little ahead of ours.
pub fn ago(t: i64, now: i64) -> String {
    relative(t.min(now), now)
}

/// "in 14m" / "3h ago" / "now" for a unix time relative to now.
pub fn relative(t: i64, now: i64) -> String {
    let d = t - now;
    if d == 0 {
        return "now".into();
    }
    let a = d.unsigned_abs();
    let s = if a < 90 {
        format!("{a}s")
    } else if a < 90 * 60 {
        format!("{}m", a / 60)
    } else if a < 36 * 3600 {
        format!("{}h", a / 3600)
    } else {
        format!("{}d", a / 86400)
    };
    if d >= 0 {
        format!("in {s}")
    } else {
        format!("{s} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_tsv_cells_flattened() {
        assert_eq!(cell(&Value::String("a,b".into()), ','), "\"a,b\"");
        assert_eq!(
            cell(&Value::String("say \"hi\"".into()), ','),
            "\"say \"\"hi\"\"\""
        );
        assert_eq!(cell(&Value::String("a\tb\nc".into()), '\t'), "a\\tb\\nc");
        assert_eq!(
            cell(&serde_json::json!(["owner", "admin"]), ','),
            "\"owner,admin\""
        );
        assert_eq!(cell(&Value::Null, ','), "");
    }

    /// One string per class of character `visible` must neutralise, with its escape.
    const CONTROLS: &[(&str, &str)] = &[
        ("\u{1b}[2J", "\\u{1b}[2J"),                      // C0: ESC, clear screen
        ("\u{1b}]0;pwned\u{7}", "\\u{1b}]0;pwned\\u{7}"), // OSC window title, BEL
        ("a\u{0}b", "a\\u{0}b"),                          // NUL
        ("a\nb\tc\rd", "a\\nb\\tc\\rd"),                  // line structure
        ("del\u{7f}", "del\\u{7f}"),                      // DEL
        ("\u{9b}31m", "\\u{9b}31m"),                      // C1 CSI
        ("\u{85}", "\\u{85}"),                            // C1 next line
    ];
    const BIDI: &[(&str, &str)] = &[
        ("a\u{202e}cba", "a\\u{202e}cba"), // right-to-left override
        ("\u{2066}x\u{2069}", "\\u{2066}x\\u{2069}"),
        ("\u{200e}\u{200f}\u{61c}", "\\u{200e}\\u{200f}\\u{61c}"),
        (
            "\u{202a}\u{202b}\u{202c}\u{202d}",
            "\\u{202a}\\u{202b}\\u{202c}\\u{202d}",
        ),
        ("\u{2067}\u{2068}", "\\u{2067}\\u{2068}"),
    ];

    #[test]
    fn visible_escapes_every_control_and_bidi_character() {
        for (raw, shown) in CONTROLS.iter().chain(BIDI) {
            assert_eq!(visible(raw), *shown, "{raw:?}");
            assert_eq!(human(&Value::String((*raw).into())), *shown, "{raw:?}");
        }
        // Nothing else changes, and text without controls is not copied.
        let plain = "Zoë 张三 عربي \\u{1b} 100% \u{a0}";
        assert_eq!(visible(plain), plain);
        assert!(matches!(visible(plain), Cow::Borrowed(_)));
        // Idempotent: escaping escaped text changes nothing.
        for (raw, _) in CONTROLS.iter().chain(BIDI) {
            assert_eq!(visible(&visible(raw)), visible(raw));
        }
        // Arrays and objects too.
        assert_eq!(human(&serde_json::json!(["a\u{1b}", "b"])), "a\\u{1b}, b");
        assert_eq!(
            human(&serde_json::json!({"k": "\u{202e}"})),
            "{\"k\":\"\\u{202e}\"}"
        );
    }

    #[test]
    fn visible_lines_keeps_newlines_only() {
        assert_eq!(visible_lines("one\ntwo"), "one\ntwo");
        assert_eq!(
            visible_lines("x\u{1b}[8m\t\u{202e}\r"),
            "x\\u{1b}[8m\\t\\u{202e}\\r"
        );
    }

    #[test]
    fn csv_and_tsv_cells_carry_no_control_characters() {
        for sep in [',', '\t'] {
            for (raw, shown) in CONTROLS {
                let c = cell(&Value::String(format!("x{raw}")), sep);
                assert!(!c.chars().any(char::is_control), "{sep:?} {c:?}");
                assert!(c.contains(shown), "{sep:?} {c:?}");
            }
            // Bidi controls are data in a cell (right-to-left names), not escaped.
            assert_eq!(cell(&Value::String("\u{200f}x".into()), sep), "\u{200f}x");
        }
    }

    #[test]
    fn csv_cells_that_look_like_formulas_become_text() {
        for sep in [',', '\t'] {
            for (raw, shown) in [
                ("=1+2", "'=1+2"),
                ("+1", "'+1"),
                ("-2+3", "'-2+3"),
                ("@SUM(A1)", "'@SUM(A1)"),
                ("\t=1", "'\\t=1"),
                ("\r=1", "'\\r=1"),
                ("a=1", "a=1"),
                ("'quoted", "'quoted"),
            ] {
                assert_eq!(cell(&Value::String(raw.into()), sep), shown, "{sep:?}");
            }
            // Numbers are data: a negative number keeps its sign and gets no prefix.
            assert_eq!(cell(&serde_json::json!(-5), sep), "-5");
            assert_eq!(cell(&serde_json::json!(-0.5), sep), "-0.5");
            assert_eq!(cell(&serde_json::json!([-1, 2]), ','), "\"-1,2\"");
            assert_eq!(cell(&serde_json::json!(["-x", "y"]), '\t'), "'-x,y");
        }
        // The prefix goes inside the CSV quotes when the cell needs quoting.
        assert_eq!(
            cell(&Value::String("=HYPERLINK(\"http://x\",\"y\")".into()), ','),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
    }

    /// Everything a writer wrote, in one format.
    fn written(format: &str, write: impl FnOnce(&mut Context) -> Result<()>) -> String {
        #[derive(Clone, Default)]
        struct Buf(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
        impl Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.borrow_mut().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        use clap::Parser;
        let dir = tempfile::tempdir().unwrap();
        let cli = crate::cli::Cli::try_parse_from([
            "imadm",
            "-o",
            format,
            "--config-dir",
            dir.path().to_str().unwrap(),
            "auth",
            "status",
        ])
        .unwrap();
        let buf = Buf::default();
        let io = crate::context::Io {
            out: Box::new(buf.clone()),
            err: Box::new(std::io::sink()),
            stdin_tty: false,
            stdout_tty: false,
            stderr_tty: false,
        };
        let mut ctx = Context::new(cli.global, io).unwrap();
        write(&mut ctx).unwrap();
        String::from_utf8(buf.0.take()).unwrap()
    }

    /// The attack of issue #13 (clear screen, retitle the window, hide text) plus C1, DEL,
    /// a bidi override and a formula.
    const HOSTILE: &str = "=x\u{1b}[2J\u{1b}]0;pwned\u{7}\u{1b}[8m\u{9b}\u{7f}\u{202e}\n";

    fn hostile_object(ctx: &mut Context) -> Result<()> {
        object(
            ctx,
            vec![
                ("nick_name", "Nick name", Value::String(HOSTILE.into())),
                ("n", "N", serde_json::json!(-5)),
            ],
        )
    }

    fn hostile_list(ctx: &mut Context) -> Result<()> {
        let mut w = ListWriter::new(ctx, &["nick_name", "n"])?;
        w.page(ctx, &[serde_json::json!({"nick_name": HOSTILE, "n": -5})])?;
        w.finish(ctx).map(drop)
    }

    #[test]
    fn every_writer_neutralises_server_text_and_json_keeps_it_exact() {
        for write in [hostile_object, hostile_list] {
            for format in ["table", "csv", "tsv"] {
                let out = written(format, write);
                // Only the writer's own line breaks (and TSV's separators) remain.
                assert!(
                    !out.chars().any(|c| c.is_control()
                        && c != '\n'
                        && !(c == '\t' && format == "tsv")
                        || is_bidi_control(c) && format == "table"),
                    "{format}: {out:?}"
                );
                assert!(
                    out.contains("\\u{1b}[2J\\u{1b}]0;pwned\\u{7}"),
                    "{format}: {out}"
                );
                assert_eq!(out.lines().count(), 2, "{format}: {out:?}");
                if format != "table" {
                    assert!(out.contains("'=x"), "{format}: {out}");
                    assert!(
                        out.lines().nth(1).unwrap().ends_with("-5"),
                        "{format}: {out}"
                    );
                }
            }
            for format in ["json", "jsonl"] {
                let out = written(format, write);
                assert!(
                    !out.contains('\u{1b}'),
                    "serde escapes control characters: {out}"
                );
                let v: Value = serde_json::from_str(&out).unwrap();
                let item = v.as_array().map_or(&v, |a| &a[0]);
                assert_eq!(item["nick_name"], HOSTILE, "{format}: {out}");
                assert_eq!(item["n"], -5, "{format}: {out}");
            }
        }
    }

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative(1000 + 30, 1000), "in 30s");
        assert_eq!(relative(1000 + 900, 1000), "in 15m");
        assert_eq!(relative(1000 - 7200, 1000), "2h ago");
        assert_eq!(relative(1000 + 3 * 86400, 1000), "in 3d");
        assert_eq!(relative(1000, 1000), "now");
        // What happened reads as past, also a second "ahead" of our clock.
        assert_eq!(ago(1000 - 30, 1000), "30s ago");
        assert_eq!(ago(1000 + 1, 1000), "now");
        assert_eq!(ago(1000, 1000), "now");
    }

    #[test]
    fn counts_agree_with_their_nouns() {
        assert_eq!(plural(1, "active owner"), "1 active owner");
        assert_eq!(plural(2u32, "active owner"), "2 active owners");
        assert_eq!(plural(0usize, "event"), "0 events");
        assert_eq!(plural(-1i64, "day"), "-1 days");
    }
}
