//! Development mode (`imadm server --dev`): the dev operators and the file that keeps
//! their logins, so a dev server started again on the same data dir prints the same ones.
//!
//! `<data-dir>/dev-credentials.json` (0600, dev mode only) names each dev operator with
//! its role, password and TOTP secret (base32), in clear: the dev banner prints them
//! anyway. An entry is written before its operator is created and never changed after,
//! so an operator of a dev data dir always has one. A later start reuses each operator
//! whose entry still matches the database (checked: password hash and sealed TOTP
//! secret) and creates the missing ones. It never resets a credential: a data dir with
//! operators but no such file (made by `server init`, or by an older imadm whose dev mode
//! reset the owner on every start), an operator without an entry, or one whose password
//! or MFA changed since, is refused before anything is written.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::store;
use crate::{DataDir, ErrorKind, OWNER_ROLE, ServerError, fsutil, now, secrets, totp};

pub const CREDENTIALS_FILE: &str = "dev-credentials.json";

/// A dev operator's login, printed by `imadm server --dev`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevLogin {
    pub username: String,
    pub role: String,
    pub password: String,
    pub totp_secret: String,
}

impl DevLogin {
    /// The TOTP code valid right now, for the dev banner.
    pub fn current_code(&self) -> String {
        let secret = totp_rs::Secret::try_from_base32(&self.totp_secret)
            .map(|s| s.as_bytes().to_vec())
            .unwrap_or_default();
        totp::code_at(
            &secret,
            totp_rs::Algorithm::SHA1,
            totp::DIGITS,
            now() as u64,
        )
    }
}

/// The dev owner and the operators of `--seed-operator`, in the order asked for.
pub struct DevLogins {
    pub owner: DevLogin,
    pub seeded: Vec<DevLogin>,
}

#[derive(Default, Serialize, Deserialize)]
struct CredentialsFile {
    operators: BTreeMap<String, DevLogin>,
}

/// Make sure the dev owner `owner` and each `(name, role)` of `seeds` exist with MFA
/// enrolled, and return their logins: the recorded ones for operators a dev start
/// created before, new ones (recorded first) for the others. Refuses, changing nothing,
/// whatever would need a credential reset (see the module docs).
pub fn dev_bootstrap(
    dir: &DataDir,
    owner: &str,
    seeds: &[(String, String)],
) -> Result<DevLogins, ServerError> {
    let io = |e: store::StoreError| ServerError::new(ErrorKind::Io, e.to_string());
    let path = dir.path.join(CREDENTIALS_FILE);
    let recorded = load(&path)?;
    if recorded.is_none() && dir.store.operator_count().map_err(io)? > 0 {
        return Err(ServerError::new(
            ErrorKind::Usage,
            format!(
                "{} has operators that dev mode did not create (no {CREDENTIALS_FILE}): \
                 a production data dir, or one from an older imadm",
                dir.path.display()
            ),
        )
        .hint(not_dev_hint(&dir.path)));
    }
    let mut file = recorded.unwrap_or_default();
    let wanted: Vec<(&str, &str)> = std::iter::once((owner, OWNER_ROLE))
        .chain(seeds.iter().map(|(n, r)| (n.as_str(), r.as_str())))
        .collect();
    // Decide for every operator before anything is written.
    let mut logins = Vec::new();
    let mut new = Vec::new();
    for (i, &(name, role)) in wanted.iter().enumerate() {
        if wanted[..i].iter().any(|&(n, _)| n == name) {
            return Err(ServerError::new(
                ErrorKind::Usage,
                format!("dev operator {name:?} is asked for twice"),
            )
            .hint("give each --seed-operator a name of its own (the owner is `admin`)"));
        }
        let existing = dir.store.operator_by_username(name).map_err(io)?;
        let login = match (existing, file.operators.get(name)) {
            (Some(op), Some(login)) => {
                check_unchanged(dir, &op, login, role)?;
                login.clone()
            }
            (Some(_), None) => {
                return Err(ServerError::new(
                    ErrorKind::Usage,
                    format!(
                        "operator {name:?} in {} was not created by dev mode, which never \
                         resets credentials",
                        dir.path.display()
                    ),
                )
                .hint(not_dev_hint(&dir.path)));
            }
            (None, _) => {
                let login = DevLogin {
                    username: name.to_owned(),
                    role: role.to_owned(),
                    password: secrets::random_password(),
                    totp_secret: totp::to_base32(&totp::new_secret()),
                };
                new.push(login.clone());
                login
            }
        };
        logins.push(login);
    }
    if !new.is_empty() {
        // Recorded first: a crash before the operator exists leaves an unused entry, which
        // the next start replaces; never an operator whose login is lost.
        for login in &new {
            file.operators.insert(login.username.clone(), login.clone());
        }
        let json = serde_json::to_vec_pretty(&file).expect("dev credentials serialise");
        fsutil::write_atomic(&path, &json, 0o600).map_err(|e| {
            ServerError::new(
                ErrorKind::Io,
                format!("cannot write {}: {e}", path.display()),
            )
        })?;
    }
    for login in &new {
        create(dir, login)?;
    }
    let mut logins = logins.into_iter();
    Ok(DevLogins {
        owner: logins.next().expect("the owner is always wanted"),
        seeded: logins.collect(),
    })
}

fn not_dev_hint(dir: &Path) -> String {
    format!(
        "serve it without --dev (--tls-cert/--tls-key) and log in with its own credentials, \
         or give --dev another --data-dir (none: a temporary one); {} is left as it was",
        dir.display()
    )
}

fn load(path: &Path) -> Result<Option<CredentialsFile>, ServerError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ServerError::new(
                ErrorKind::Io,
                format!("cannot read {}: {e}", path.display()),
            ));
        }
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        ServerError::new(
            ErrorKind::Usage,
            format!("{} is not valid: {e}", path.display()),
        )
        .hint("dev mode wrote it; give --dev another --data-dir (none: a temporary one)")
    })
}

/// The recorded login must still be the operator's: same role asked for, the password
/// verifies, the TOTP secret is the enrolled one.
fn check_unchanged(
    dir: &DataDir,
    op: &store::Operator,
    login: &DevLogin,
    role: &str,
) -> Result<(), ServerError> {
    let name = &op.username;
    if login.role != role {
        return Err(ServerError::new(
            ErrorKind::Usage,
            format!(
                "dev operator {name:?} was created with role {:?}, not {role:?}",
                login.role
            ),
        )
        .hint("seed it with the role it has, or give --dev another --data-dir"));
    }
    let totp_matches = op
        .totp_secret
        .as_ref()
        .and_then(|sealed| dir.key.open(sealed, &store::totp_aad(op.id)))
        .is_some_and(|secret| totp::to_base32(&secret) == login.totp_secret);
    if !totp_matches || !secrets::verify_password(&login.password, &op.password_hash) {
        return Err(ServerError::new(
            ErrorKind::Usage,
            format!(
                "the password or MFA of dev operator {name:?} changed since dev mode created it, \
                 and dev mode never resets credentials"
            ),
        )
        .hint(not_dev_hint(&dir.path)));
    }
    Ok(())
}

fn create(dir: &DataDir, login: &DevLogin) -> Result<(), ServerError> {
    let io = |e: store::StoreError| ServerError::new(ErrorKind::Io, e.to_string());
    let name = &login.username;
    let id = dir
        .store
        .create_operator(
            name,
            &secrets::hash_password(&login.password),
            false,
            &[login.role.as_str()],
            now(),
        )
        .map_err(|e| {
            ServerError::new(
                ErrorKind::Usage,
                format!(
                    "cannot create dev operator {name:?} with role {:?}: {e}",
                    login.role
                ),
            )
        })?;
    let secret = totp_rs::Secret::try_from_base32(&login.totp_secret)
        .map(|s| zeroize::Zeroizing::new(s.as_bytes().to_vec()))
        .expect("a secret this module encoded");
    dir.store
        .set_totp_secret(id, &dir.key.seal(&secret, &store::totp_aad(id)))
        .map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeds(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, r)| (n.to_string(), r.to_string()))
            .collect()
    }

    #[test]
    fn a_second_bootstrap_returns_the_recorded_logins_and_refuses_what_would_reset() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = crate::open_data_dir(tmp.path(), true, None).unwrap();
        let first = dev_bootstrap(&dir, "admin", &seeds(&[("aud", "auditor")])).unwrap();
        assert_eq!(first.owner.role, "owner");
        let again = dev_bootstrap(&dir, "admin", &seeds(&[("aud", "auditor")])).unwrap();
        assert_eq!(again.owner, first.owner);
        assert_eq!(again.seeded, first.seeded);
        // A seed added later is created beside the recorded ones.
        let more = dev_bootstrap(&dir, "admin", &seeds(&[("sup", "support")])).unwrap();
        assert_eq!(more.owner, first.owner);
        assert_eq!(more.seeded[0].role, "support");

        let refused = |list: &[(&str, &str)], needle: &str| {
            let e = dev_bootstrap(&dir, "admin", &seeds(list))
                .err()
                .expect("refused");
            assert_eq!(e.kind, ErrorKind::Usage);
            assert!(e.message.contains(needle), "{}", e.message);
        };
        refused(&[("aud", "admin")], "was created with role \"auditor\"");
        refused(&[("x", "support"), ("x", "auditor")], "asked for twice");
        refused(&[("admin", "auditor")], "asked for twice");
        // Nothing of the refused runs was recorded or created.
        let recorded = load(&tmp.path().join(CREDENTIALS_FILE)).unwrap().unwrap();
        let names: Vec<&str> = recorded.operators.keys().map(String::as_str).collect();
        assert_eq!(names, ["admin", "aud", "sup"]);
        assert!(dir.store.operator_by_username("x").unwrap().is_none());
    }
}
