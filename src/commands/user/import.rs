//! `imadm user import FILE.csv`: register IM users in batches
//! (`POST /user/register/batch`), streaming the file and printing one result per row.
//!
//! Nothing is skipped silently: every data line of the file (numbered as in the file,
//! the header being line 1) gets a result, `ok` with the new user id or `error` with
//! why. Rows the CLI can already tell are wrong (wrong number of fields, empty username
//! or password, a username repeated in the file) never reach the server; the rest go in
//! batches of [`CHUNK`], and the server judges the username rules and existing users.
//!
//! Exit code when any row failed: 2 if a row was malformed (or had an invalid
//! username), else 7 if rows conflicted with existing users or earlier rows. A header
//! naming an unknown column refuses the whole file (exit 2) before anything is created,
//! since a misspelt `emial` column would otherwise be dropped without a word.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::PathBuf;

use clap::Args;
use imadm_api::codes;
use imadm_api::im::{BatchRegisterUserDto, ListRequest, UserRegisterRequest};
use serde_json::{Value, json};

use crate::client::Auth;
use crate::context::Context;
use crate::error::{CliError, Kind, Result};
use crate::output::ListWriter;
use crate::session::{Conn, connect};

/// Rows per batch request (the server takes at most 1000; argon2 per row makes big
/// batches slow to answer).
pub const CHUNK: usize = 100;
const COLUMNS: &[&str] = &["row", "username", "result", "user_id", "error"];
const KNOWN: &[&str] = &["username", "password", "nick_name", "email", "mobile"];

#[derive(Debug, Args)]
#[command(after_help = "\
The file is CSV with a header line: username,password[,nick_name,email,mobile] (any
order; RFC 4180 quoting on one line). Keep it private: it holds passwords.

One result per data line (json/jsonl objects, csv/tsv columns), stable:
  row       line number in the file (the header is line 1)
  username  as written in the file
  result    ok | error
  user_id   the new user's id (ok rows)
  error     why the row failed (error rows)

Exit codes: 0 all rows created; 2 some row malformed or with an invalid username (or a bad
header: nothing is created); 7 no malformed row but some username already existed or was
repeated in the file. Rows marked ok were created in any case.

Examples:
  $ imadm user import users.csv
  $ imadm user import users.csv -o jsonl > results.jsonl")]
pub struct ImportArgs {
    /// CSV file with a header line
    pub file: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Malformed,
    Conflict,
}

/// Where each known column is in a row.
#[derive(Debug, PartialEq)]
pub struct Header {
    width: usize,
    idx: HashMap<&'static str, usize>,
}

pub use crate::cmdutil::split_csv_line;

pub fn parse_header(line: &str) -> std::result::Result<Header, String> {
    let names = split_csv_line(line.trim_start_matches('\u{feff}'))?;
    let mut idx = HashMap::new();
    for (i, raw) in names.iter().enumerate() {
        let name = raw.trim().to_ascii_lowercase();
        let Some(known) = KNOWN.iter().find(|k| **k == name) else {
            return Err(format!(
                "unknown column {raw:?} in the header (known: {})",
                KNOWN.join(", ")
            ));
        };
        if idx.insert(*known, i).is_some() {
            return Err(format!("column {known:?} appears twice in the header"));
        }
    }
    for required in ["username", "password"] {
        if !idx.contains_key(required) {
            return Err(format!("the header has no {required:?} column"));
        }
    }
    Ok(Header {
        width: names.len(),
        idx,
    })
}

/// One data line into a registration, or why not.
pub fn parse_row(h: &Header, line: &str) -> std::result::Result<UserRegisterRequest, String> {
    if line.trim().is_empty() {
        return Err("empty line".into());
    }
    let fields = split_csv_line(line)?;
    if fields.len() != h.width {
        return Err(format!(
            "{} fields, but the header has {}",
            fields.len(),
            h.width
        ));
    }
    let get = |k: &str| h.idx.get(k).map(|i| fields[*i].clone());
    let opt = |k: &str| {
        get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let username = get("username").unwrap_or_default().trim().to_owned();
    if username.is_empty() {
        return Err("empty username".into());
    }
    let password = get("password").unwrap_or_default();
    if password.is_empty() {
        return Err("empty password".into());
    }
    Ok(UserRegisterRequest {
        username,
        password,
        nick_name: opt("nick_name"),
        email: opt("email"),
        mobile: opt("mobile"),
    })
}

/// A username as written on a line we could not parse, for the result row.
fn username_guess(h: &Header, line: &str) -> Value {
    split_csv_line(line)
        .ok()
        .and_then(|f| h.idx.get("username").and_then(|i| f.get(*i).cloned()))
        .map_or(Value::Null, Value::String)
}

#[derive(Default)]
struct Tally {
    total: usize,
    malformed: usize,
    conflicts: usize,
}

/// Send the valid rows of `pending` as one batch and write every row's result, in file
/// order.
fn flush(
    ctx: &mut Context,
    conn: &Conn,
    w: &mut ListWriter,
    pending: &mut Vec<Pending>,
    t: &mut Tally,
) -> Result<()> {
    let batch: Vec<UserRegisterRequest> = pending
        .iter()
        .filter_map(|p| p.outcome.as_ref().ok().cloned())
        .collect();
    let results: Vec<BatchRegisterUserDto> = if batch.is_empty() {
        Vec::new()
    } else {
        let body = ListRequest { list: batch };
        conn.call(ctx, |c, tok| {
            c.post("/user/register/batch", &body, &Auth::token(tok), false)
        })?
    };
    let mut results = results.into_iter();
    let mut rows = Vec::with_capacity(pending.len());
    for p in pending.drain(..) {
        t.total += 1;
        let (result, user_id, error) = match p.outcome {
            Err((kind, why)) => {
                match kind {
                    Failure::Malformed => t.malformed += 1,
                    Failure::Conflict => t.conflicts += 1,
                }
                ("error", Value::Null, Value::String(why))
            }
            Ok(_) => match results.next() {
                Some(r) if r.success => ("ok", json!(r.user_id), Value::Null),
                Some(r) => {
                    if r.code == Some(codes::USER_EXISTS) {
                        t.conflicts += 1;
                    } else {
                        t.malformed += 1;
                    }
                    ("error", Value::Null, json!(r.reason.unwrap_or_default()))
                }
                None => {
                    t.malformed += 1;
                    (
                        "error",
                        Value::Null,
                        json!("the server returned no result for this row"),
                    )
                }
            },
        };
        rows.push(json!({
            "row": p.row, "username": p.username, "result": result,
            "user_id": user_id, "error": error,
        }));
    }
    w.page(ctx, &rows)
}

struct Pending {
    row: usize,
    username: Value,
    outcome: std::result::Result<UserRegisterRequest, (Failure, String)>,
}

pub fn run(ctx: &mut Context, args: ImportArgs) -> Result<()> {
    let open_err = |e: std::io::Error| {
        CliError::usage(format!("cannot read {}: {e}", args.file.display()))
            .hint("pass the path of a CSV file with a username,password header")
    };
    let file = std::fs::File::open(&args.file).map_err(open_err)?;
    let mut lines = std::io::BufReader::new(file).lines();
    let header_line = lines.next().transpose().map_err(open_err)?.ok_or_else(|| {
        CliError::usage(format!("{} is empty", args.file.display()))
            .hint("the first line must be a header: username,password[,nick_name,email,mobile]")
    })?;
    let header = parse_header(&header_line).map_err(|m| {
        CliError::usage(format!("{}: {m}", args.file.display())).hint(
            "the header must name only username, password, nick_name, email, mobile; nothing was imported",
        )
    })?;

    let conn = connect(ctx)?;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut pending: Vec<Pending> = Vec::new();
    let mut tally = Tally::default();
    let mut w = ListWriter::new(ctx, COLUMNS)?;
    let mut valid_in_chunk = 0;
    for (i, line) in lines.enumerate() {
        let row = i + 2;
        let line = line.map_err(open_err)?;
        let outcome = match parse_row(&header, &line) {
            Err(why) => Err((Failure::Malformed, why)),
            Ok(req) => match seen.get(&req.username) {
                Some(first) => Err((
                    Failure::Conflict,
                    format!("username {:?} already appears on row {first}", req.username),
                )),
                None => {
                    seen.insert(req.username.clone(), row);
                    valid_in_chunk += 1;
                    Ok(req)
                }
            },
        };
        let username = match &outcome {
            Ok(r) => json!(r.username),
            Err(_) => username_guess(&header, &line),
        };
        pending.push(Pending {
            row,
            username,
            outcome,
        });
        if valid_in_chunk >= CHUNK || pending.len() >= 4 * CHUNK {
            flush(ctx, &conn, &mut w, &mut pending, &mut tally)?;
            valid_in_chunk = 0;
        }
    }
    flush(ctx, &conn, &mut w, &mut pending, &mut tally)?;
    w.finish(ctx)?;
    let Tally {
        total,
        malformed,
        conflicts,
    } = tally;
    let failed = malformed + conflicts;
    if failed == 0 {
        return ctx.info(format!(
            "Imported {}.",
            crate::output::plural(total, "user")
        ));
    }
    let kind = if malformed > 0 {
        Kind::Usage
    } else {
        Kind::Conflict
    };
    Err(CliError::new(
        kind,
        format!(
            "{failed} of {total} rows failed ({malformed} malformed or invalid, {conflicts} already existing or repeated); {} imported",
            crate::output::plural(total - failed, "other row")
        ),
    )
    .hint("fix the rows marked error (see the row numbers above) and import just those again"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_split_with_quotes() {
        assert_eq!(split_csv_line("a,b,,c").unwrap(), vec!["a", "b", "", "c"]);
        assert_eq!(
            split_csv_line(r#""a,b","say ""hi""",c"#).unwrap(),
            vec!["a,b", "say \"hi\"", "c"]
        );
        assert!(split_csv_line(r#""open,b"#).is_err());
        assert!(split_csv_line(r#""a"x,b"#).is_err());
    }

    #[test]
    fn header_names_known_columns_only() {
        let h = parse_header("\u{feff}Username, password ,email").unwrap();
        assert_eq!(h.width, 3);
        assert_eq!(h.idx["email"], 2);
        assert!(
            parse_header("username,password,emial")
                .unwrap_err()
                .contains("emial")
        );
        assert!(parse_header("username").unwrap_err().contains("password"));
        assert!(
            parse_header("username,password,username")
                .unwrap_err()
                .contains("twice")
        );
    }

    #[test]
    fn rows_are_checked_against_the_header() {
        let h = parse_header("username,password,nick_name").unwrap();
        let r = parse_row(&h, "alice,pw 1,Alice A").unwrap();
        assert_eq!(
            (r.username.as_str(), r.password.as_str()),
            ("alice", "pw 1")
        );
        assert_eq!(r.nick_name.as_deref(), Some("Alice A"));
        assert_eq!(parse_row(&h, "bob,pw,").unwrap().nick_name, None);
        assert!(parse_row(&h, "bob,pw").unwrap_err().contains("2 fields"));
        assert!(parse_row(&h, ",pw,x").unwrap_err().contains("username"));
        assert!(parse_row(&h, "bob,,x").unwrap_err().contains("password"));
        assert!(parse_row(&h, "   ").unwrap_err().contains("empty line"));
    }
}
