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
