//! Printing results in the format the user asked for.
//!
//! Machine formats (`json`, `jsonl`, `csv`, `tsv`) go to stdout and are stable: single
//! objects carry `"schema_version": 1`; list outputs (later issues) stream one page at a
//! time through [`ListWriter`]. `table` is for people: aligned key/value rows or a
//! comfy-table sized to the terminal.

use std::io::Write;

use serde_json::{Map, Value};

use crate::cli::OutputFormat;
use crate::context::Context;
use crate::error::Result;

pub const SCHEMA_VERSION: u64 = 1;

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

/// A value as people read it.
pub fn human(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "-".into(),
        Value::Array(a) => a.iter().map(human).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// A value as a CSV/TSV cell: scalars plain, arrays joined by commas (inner quotes
/// escaped by CSV rules), tabs and newlines replaced in TSV.
fn cell(v: &Value, sep: char) -> String {
    let raw = match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .map(|x| match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    };
    if sep == '\t' {
        raw.replace(['\t', '\n', '\r'], " ")
    } else if raw.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", raw.replace('"', "\"\""))
    } else {
        raw
    }
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
    count: u64,
    width: Option<u16>,
}

impl ListWriter {
    pub fn new(ctx: &mut Context, columns: &[&'static str]) -> Result<Self> {
        let w = ListWriter {
            format: ctx.output(),
            columns: columns.to_vec(),
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

/// "in 14m" / "3h ago" for a unix time relative to now.
pub fn relative(t: i64, now: i64) -> String {
    let d = t - now;
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
        assert_eq!(cell(&Value::String("a\tb\nc".into()), '\t'), "a b c");
        assert_eq!(
            cell(&serde_json::json!(["owner", "admin"]), ','),
            "\"owner,admin\""
        );
        assert_eq!(cell(&Value::Null, ','), "");
    }

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative(1000 + 30, 1000), "in 30s");
        assert_eq!(relative(1000 + 900, 1000), "in 15m");
        assert_eq!(relative(1000 - 7200, 1000), "2h ago");
        assert_eq!(relative(1000 + 3 * 86400, 1000), "in 3d");
    }
}
