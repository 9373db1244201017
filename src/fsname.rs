//! Names that become part of file names: one rule for every file the CLI names after
//! something it did not choose (a server id, a profile, an account).

/// Longest name kept in a file name (server ids are 22 characters).
const MAX_ID_IN_NAME: usize = 64;

/// A name made safe as part of a file name: a server-supplied id
/// (`imadm-<server_id>-<time>.age`, evidence files), a profile or account (lock and pin
/// files). The server may be hostile or broken, and must not be able to put `/`, `..` as a
/// path component, a NUL or a control character into the name. `A-Z a-z 0-9 . _ -` pass,
/// anything else becomes `_`, a leading dot too; at most 64 characters; never empty.
pub fn file_part(id: &str) -> String {
    let mut out: String = id
        .chars()
        .take(MAX_ID_IN_NAME)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with('.') {
        out.replace_range(..1, "_");
    }
    if out.is_empty() {
        out.push_str("unknown");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::file_part;
    use std::path::{Component, Path};

    #[test]
    fn a_hostile_server_id_cannot_leave_the_backup_directory() {
        let long = "a".repeat(10_000);
        for (id, want) in [
            ("Ab3-x_y.z", "Ab3-x_y.z"),
            ("../../etc/x", "_._.._etc_x"),
            ("a/b", "a_b"),
            ("/abs", "_abs"),
            ("a\0b", "a_b"),
            ("..", "_."),
            (".hidden", "_hidden"),
            ("", "unknown"),
            ("\u{1b}[2J", "__2J"),
            ("ü\u{202e}", "__"),
            (long.as_str(), &long[..64]),
        ] {
            let part = file_part(id);
            assert_eq!(part, want, "{id:?}");
            let dir = Path::new("/backups");
            let path = dir.join(format!("imadm-{part}-20260101T000000Z.age"));
            assert_eq!(path.parent(), Some(dir), "{id:?}");
            assert!(
                path.components()
                    .all(|c| !matches!(c, Component::ParentDir)),
                "{id:?}"
            );
        }
    }
}
