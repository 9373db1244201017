//! Shared test harness: a throw-away `imadm server --dev` per test, an `imadm` command
//! preset for it, TOTP codes from the real `oathtool`, the Secret Service probe, and
//! assertion helpers for the contract's `error:` / `hint:` / exit-code conventions.
//!
//! Every command runs with `--config-dir` in a temp dir and with the `IMADM_*` variables
//! removed, so a test never reads or writes the developer's own configuration.
//!
//! The store: SQLite in the data dir, or with `IMADM_TEST_STORE=postgres` and
//! `IMADM_TEST_PG` (a cluster URL, `scripts/pg-cluster.sh`) a fresh PostgreSQL database
//! per server ([`PgDatabase`]), created from that URL and dropped with the server.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// Environment variables that would change what `imadm` does; removed for every run.
pub const IMADM_ENV: &[&str] = &[
    "IMADM_TOKEN",
    "IMADM_OTP",
    "IMADM_PROFILE",
    "IMADM_SERVER",
    "IMADM_APP_ID",
    "IMADM_CA_CERT",
    "IMADM_OUTPUT",
    "IMADM_NO_INPUT",
    "IMADM_CONFIG_DIR",
    "IMADM_LOG",
    "IMADM_SERVER_KEY_FILE",
    "IMADM_IDENTITY_PASSPHRASE",
    "IMADM_SIGN_KEY_PASSPHRASE",
    "IMADM_ALERT_LOGIN_FAILURES",
    "IMADM_ALERT_READ_BURST",
    "IMADM_BUSINESS_HOURS",
    "IMADM_BUSINESS_TZ",
    "IMADM_NOTIFY_CONFIG",
    "IMADM_AUDIT_SINK",
    "IMADM_DATABASE_URL",
    "IMADM_PUBLIC_URL",
    "IMADM_TRUSTED_PROXIES",
];

/// How long the dev server may take to print its ready line.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(20);
/// Upper bound for one CLI run, so a stray prompt fails the test instead of hanging it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
const TOTP_STEP: u64 = 30;

/// Path of the `imadm` binary under test.
pub fn bin() -> &'static Path {
    assert_cmd::cargo::cargo_bin!("imadm")
}

/// `imadm --config-dir DIR` with a clean environment.
pub fn imadm_in(config_dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("imadm");
    for var in IMADM_ENV {
        cmd.env_remove(var);
    }
    cmd.timeout(COMMAND_TIMEOUT)
        .arg("--config-dir")
        .arg(config_dir);
    cmd
}

/// Run a prepared command and return its output (panics only if it cannot be started).
pub fn run(cmd: &mut assert_cmd::Command) -> Output {
    cmd.output().expect("run imadm")
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// The TOTP code for `unix_time`, computed by the real `oathtool` (not our own code).
pub fn totp_at(secret: &str, unix_time: u64) -> String {
    let out = std::process::Command::new("oathtool")
        .args(["--totp", "-b", "--now"])
        .arg(format!("@{unix_time}"))
        .arg(secret)
        .output()
        .expect("run oathtool (Debian package `oathtool`)");
    assert!(
        out.status.success(),
        "oathtool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "oathtool printed {code:?}"
    );
    code
}

/// A TOTP code for `secret` that the server accepts now and whose step is later than
/// `*last` (updated): the step before now (when the current step has time left), then
/// now, then the next one; beyond that it waits for the clock. Codes come from `oathtool`.
pub fn fresh_code(secret: &str, last: &mut Option<u64>) -> String {
    loop {
        let now = now_secs();
        let current = now / TOTP_STEP;
        let left = TOTP_STEP - now % TOTP_STEP;
        // T-1 stops being accepted at the next boundary: use it only with time to spare.
        let earliest = if left >= 15 { current - 1 } else { current };
        let step = last.map_or(earliest, |l| earliest.max(l + 1));
        if step <= current + 1 {
            *last = Some(step);
            return totp_at(secret, step * TOTP_STEP);
        }
        std::thread::sleep(Duration::from_secs(left) + Duration::from_millis(200));
    }
}

// ---------------------------------------------------------------------------------------
// Output assertions

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Everything about a run, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "exit status: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    )
}

pub fn assert_success(out: &Output) {
    assert!(out.status.success(), "expected success\n{}", describe(out));
}

pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit code {code}\n{}",
        describe(out)
    );
}

/// Exit `code`, a stderr line starting `error: ` followed (later) by a line starting
/// `hint: `, stderr containing `needle` (case-insensitive), and no error text on stdout.
pub fn assert_error(out: &Output, code: i32, needle: &str) {
    assert_exit(out, code);
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().collect();
    let error_at = lines
        .iter()
        .position(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no line starting `error: ` on stderr\n{}", describe(out)));
    assert!(
        lines[error_at + 1..]
            .iter()
            .any(|l| l.starts_with("hint: ")),
        "no `hint: ` line after the `error: ` line\n{}",
        describe(out)
    );
    assert!(
        err.to_lowercase().contains(&needle.to_lowercase()),
        "stderr does not mention {needle:?}\n{}",
        describe(out)
    );
    assert!(
        !stdout(out).lines().any(|l| l.starts_with("error:")),
        "error text on stdout\n{}",
        describe(out)
    );
}

/// Parse stdout as exactly one JSON value.
pub fn json_stdout(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON value: {e}\n{}", describe(out)))
}

/// Files under `dir` (recursively) whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, needle: &[u8], hits: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                walk(&path, needle, hits);
            } else if ft.is_file()
                && let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle)
            {
                hits.push(path);
            }
        }
    }
    assert!(!needle.is_empty());
    let mut hits = Vec::new();
    walk(dir, needle.as_bytes(), &mut hits);
    hits
}

// ---------------------------------------------------------------------------------------
// Secret Service (OS keyring)

fn env_is_true(var: &str) -> bool {
    std::env::var(var)
        .map(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
        .unwrap_or(false)
}

/// CI (`CI=true`) and `IMADM_TEST_KEYRING=1` promise a Secret Service: without one,
/// keyring tests fail instead of skipping.
pub fn keyring_required() -> bool {
    env_is_true("CI") || env_is_true("IMADM_TEST_KEYRING")
}

/// `secret-tool ARGS` with a timeout (a locked keyring may try to prompt).
fn secret_tool(args: &[&str], stdin: Option<&str>) -> Option<Output> {
    let mut cmd = assert_cmd::Command::new("secret-tool");
    cmd.args(args).timeout(Duration::from_secs(10));
    if let Some(s) = stdin {
        cmd.write_stdin(s.to_owned());
    }
    cmd.output().ok()
}

/// Can we store, read back and delete a secret? Ok, or why not. Probed once per run.
pub fn secret_service() -> Result<(), String> {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            let attrs = ["service", "imadm-e2e-probe", "username", "probe"];
            let mut store = vec!["store", "--label", "imadm e2e probe"];
            store.extend(attrs);
            let out = secret_tool(&store, Some("probe-secret"))
                .ok_or("secret-tool could not be run (package libsecret-tools)")?;
            if !out.status.success() {
                return Err(format!(
                    "secret-tool store failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            let mut lookup = vec!["lookup"];
            lookup.extend(attrs);
            let got = secret_tool(&lookup, None).map(|o| stdout(&o));
            let mut clear = vec!["clear"];
            clear.extend(attrs);
            secret_tool(&clear, None);
            match got.as_deref() {
                Some("probe-secret") => Ok(()),
                other => Err(format!("secret-tool lookup returned {other:?}")),
            }
        })
        .clone()
}

/// For tests that need the keyring: true to go on; false (after saying so) to skip.
/// Panics instead of skipping when a keyring is required (CI).
pub fn require_secret_service(test: &str) -> bool {
    match secret_service() {
        Ok(()) => true,
        Err(why) if keyring_required() => {
            panic!("{test}: a Secret Service is required here (CI / IMADM_TEST_KEYRING) but: {why}")
        }
        Err(why) => {
            eprintln!("skipping: no Secret Service ({test}: {why})");
            false
        }
    }
}

/// The secret `imadm` stored for `account` (service `imadm`), if any.
pub fn keyring_lookup(account: &str) -> Option<String> {
    let out = secret_tool(&["lookup", "service", "imadm", "username", account], None)?;
    let s = stdout(&out);
    (out.status.success() && !s.is_empty()).then_some(s)
}

/// Where a login keeps the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Keyring,
    InsecureFile,
}

impl Storage {
    /// The keyring when a Secret Service works here (so it gets exercised), else the file.
    pub fn preferred() -> Storage {
        if secret_service().is_ok() {
            Storage::Keyring
        } else {
            Storage::InsecureFile
        }
    }

    /// `credential_store` in `auth status -o json`.
    pub fn status_name(self) -> &'static str {
        match self {
            Storage::Keyring => "keyring",
            Storage::InsecureFile => "insecure-file",
        }
    }
}

// ---------------------------------------------------------------------------------------
// The dev server

/// The ready line of `imadm server --dev -o json`.
#[derive(Debug, Clone)]
pub struct DevInfo {
    pub server: String,
    pub app_id: String,
    pub ca_cert: PathBuf,
    pub username: String,
    pub password: String,
    pub totp_secret: String,
    pub data_dir: PathBuf,
    pub raw: Value,
}

/// A database of its own on the test cluster (`IMADM_TEST_PG`), dropped on drop.
pub struct PgDatabase {
    admin: String,
    name: String,
    /// Its URL (with the cluster's password: pass it in `IMADM_DATABASE_URL`, never argv).
    pub url: String,
}

impl PgDatabase {
    /// A new database, if `IMADM_TEST_PG` names a cluster. Without one the caller skips
    /// (saying so on stderr), unless the run must test PostgreSQL: with `IMADM_REQUIRE_PG`
    /// (CI) or `IMADM_TEST_STORE=postgres` a missing URL fails the test instead of letting
    /// it pass untested (or on SQLite).
    pub fn create() -> Option<PgDatabase> {
        let Ok(admin) = std::env::var("IMADM_TEST_PG") else {
            assert!(
                std::env::var_os("IMADM_REQUIRE_PG").is_none() && !on_postgres(),
                "IMADM_REQUIRE_PG or IMADM_TEST_STORE=postgres is set but IMADM_TEST_PG is not: no PostgreSQL cluster to test on"
            );
            eprintln!("IMADM_TEST_PG unset: PostgreSQL e2e test skipped");
            return None;
        };
        let name = format!("e2e_{:016x}", rand::random::<u64>());
        pg_client(&admin)
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&format!("/{name}"));
        Some(PgDatabase {
            admin,
            name,
            url: url.to_string(),
        })
    }

    /// The environment a server needs to run on it.
    pub fn env(&self) -> [(&str, &str); 1] {
        [("IMADM_DATABASE_URL", &self.url)]
    }

    /// A plain connection to it (raw SQL).
    pub fn client(&self) -> postgres::Client {
        pg_client(&self.url)
    }

    /// Run `query`; rows as `a|b|c` lines (see [`Server::sql`]).
    pub fn sql(&self, query: &str) -> String {
        let mut out = String::new();
        let messages = self
            .client()
            .simple_query(query)
            .unwrap_or_else(|e| panic!("{query:?} failed: {e:?}"));
        for m in messages {
            if let postgres::SimpleQueryMessage::Row(r) = m {
                let cols: Vec<&str> = (0..r.len()).map(|i| r.get(i).unwrap_or("")).collect();
                out.push_str(&cols.join("|"));
                out.push('\n');
            }
        }
        out
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = pg_client(&self.admin).batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

fn pg_client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap()
}

/// True when the servers of this run use PostgreSQL (`IMADM_TEST_STORE=postgres`).
pub fn on_postgres() -> bool {
    std::env::var("IMADM_TEST_STORE").as_deref() == Ok("postgres")
}

pub struct Server {
    pub info: DevInfo,
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
    child: Option<Child>,
    stderr_path: PathBuf,
    /// Last TOTP step handed out, so no code is used twice by accident.
    last_step: Mutex<Option<u64>>,
    keyring_used: AtomicBool,
    tmp: tempfile::TempDir,
    /// The server's PostgreSQL database (`IMADM_TEST_STORE=postgres`); dropped after it.
    pub pg: Option<PgDatabase>,
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// Start `imadm server --dev -o json` on a free port with extra (hidden) flags such as
    /// `--access-ttl 2` or `--lockout-base 60`.
    pub fn start_with(extra: &[&str]) -> Server {
        Server::start_with_env(extra, &[])
    }

    /// Like [`Server::start_with`], with extra environment variables for the server
    /// (e.g. the secret an audit sink names).
    pub fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Server {
        let tmp = tempfile::Builder::new()
            .prefix("imadm-e2e-")
            .tempdir()
            .unwrap();
        Server::spawn_in(tmp, extra, env, None)
    }

    /// A dev server on PostgreSQL database `pg`, whatever store the run uses.
    pub fn start_on(pg: PgDatabase, extra: &[&str]) -> Server {
        Server::start_on_with_env(pg, extra, &[])
    }

    /// [`Server::start_on`] with extra environment variables for the server.
    pub fn start_on_with_env(pg: PgDatabase, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let tmp = tempfile::Builder::new()
            .prefix("imadm-e2e-")
            .tempdir()
            .unwrap();
        Server::spawn_in(tmp, extra, env, Some(pg))
    }

    /// Like [`Server::start_with`], on a new data dir that already holds `files` (name,
    /// contents; 0600), e.g. another server's `server.key` for a disaster recovery.
    pub fn start_with_files(files: &[(&str, &[u8])], extra: &[&str]) -> Server {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::Builder::new()
            .prefix("imadm-e2e-")
            .tempdir()
            .unwrap();
        let data = tmp.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
        for (name, contents) in files {
            let p = data.join(name);
            std::fs::write(&p, contents).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        Server::spawn_in(tmp, extra, &[], None)
    }

    /// Stop this server and start another `imadm server --dev` on the same data and
    /// config dirs (e.g. with `--lanying-only`). The dev owner keeps its password and TOTP
    /// secret (`dev-credentials.json`); the port, hence the `dev` profile's URL and
    /// keyring account, is a new one.
    pub fn restart_with(self, extra: &[&str]) -> Server {
        self.restart_with_env(extra, &[])
    }

    /// [`Server::restart_with`] with extra environment variables for the server.
    pub fn restart_with_env(mut self, extra: &[&str], env: &[(&str, &str)]) -> Server {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child);
        }
        let tmp = tempfile::Builder::new()
            .prefix("imadm-e2e-")
            .tempdir()
            .unwrap();
        let old = std::mem::replace(&mut self.tmp, tmp);
        let last_step = *self.last_step.lock().unwrap();
        let server = Server::spawn_in(old, extra, env, self.pg.take());
        // Same secret, same used steps: the server still refuses codes handed out before.
        if server.info.totp_secret == self.info.totp_secret {
            *server.last_step.lock().unwrap() = last_step;
        }
        server
    }

    /// `imadm server init` a data dir (first owner `owner`), then serve it the production
    /// way: no `--dev`, a certificate of our own (made like the dev one), and a `dev`
    /// profile written with `imadm config set`. `info` has the owner and its one-time
    /// password; it has no TOTP secret (the owner enrols at first login) and `raw` is
    /// what `server init -o json` printed.
    pub fn start_initialised(owner: &str) -> Server {
        // On PostgreSQL `server init` and the server share one fresh database.
        Server::init_and_serve(
            owner,
            on_postgres().then(PgDatabase::create).flatten(),
            None,
        )
    }

    /// [`Server::start_initialised`] on `pg` (None: SQLite), its data dir first given
    /// copies of the keys (`server.key`, `audit.key` and their `.d` dirs) in `keys_from`,
    /// as docs/migrate-to-postgresql.md step 2 says.
    pub fn init_and_serve(owner: &str, pg: Option<PgDatabase>, keys_from: Option<&Path>) -> Server {
        let tmp = tempfile::Builder::new()
            .prefix("imadm-e2e-")
            .tempdir()
            .unwrap();
        let config_dir = tmp.path().join("config");
        let data_dir = tmp.path().join("data");
        if let Some(from) = keys_from {
            use std::os::unix::fs::PermissionsExt;
            std::fs::create_dir(&data_dir).unwrap();
            std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
            for name in ["server.key", "server.key.d", "audit.key", "audit.key.d"] {
                if from.join(name).exists() {
                    let copied = std::process::Command::new("cp")
                        .arg("-a")
                        .arg(from.join(name))
                        .arg(&data_dir)
                        .status()
                        .unwrap();
                    assert!(copied.success(), "cp -a {name}");
                }
            }
        }
        let out = run(imadm_in(&tmp.path().join("init-config"))
            .envs(pg.iter().flat_map(PgDatabase::env))
            .args([
                "server",
                "init",
                "--username",
                owner,
                "-o",
                "json",
                "--data-dir",
            ])
            .arg(&data_dir));
        assert_success(&out);
        let init = json_stdout(&out);
        let tls = tmp.path().join("tls");
        std::fs::create_dir_all(&tls).unwrap();
        let certs = imadm_server::tls::ensure_dev_certs(&tls).unwrap();
        let stderr_path = tmp.path().join("server.stderr");
        let mut cmd = std::process::Command::new(bin());
        for var in IMADM_ENV {
            cmd.env_remove(var);
        }
        cmd.args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data_dir)
            .arg("--tls-cert")
            .arg(&certs.cert)
            .arg("--tls-key")
            .arg(&certs.key)
            .arg("--config-dir")
            .arg(&config_dir)
            .envs(pg.iter().flat_map(PgDatabase::env))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&stderr_path).unwrap()));
        let mut child = cmd.spawn().expect("spawn imadm server");
        // The production server says where it listens on stderr.
        let deadline = Instant::now() + SERVER_START_TIMEOUT;
        let url = loop {
            let text = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            if let Some(url) = text
                .lines()
                .find_map(|l| l.strip_prefix("imadm server listening on "))
            {
                break url.trim().to_owned();
            }
            if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                let _ = child.kill();
                panic!("imadm server did not say where it listens; stderr:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let app_id = init["app_id"].as_str().unwrap().to_owned();
        let ca_cert = certs.ca_cert.to_string_lossy().into_owned();
        for (key, value) in [("server", &url), ("app_id", &app_id), ("ca_cert", &ca_cert)] {
            assert_success(&run(imadm_in(&config_dir).args([
                "--profile",
                "dev",
                "config",
                "set",
                key,
                value,
            ])));
        }
        let info = DevInfo {
            server: url,
            app_id,
            ca_cert: certs.ca_cert,
            username: owner.to_owned(),
            password: init["one_time_password"].as_str().unwrap().to_owned(),
            totp_secret: String::new(),
            data_dir: data_dir.clone(),
            raw: init,
        };
        Server {
            info,
            config_dir,
            data_dir,
            child: Some(child),
            stderr_path,
            last_step: Mutex::new(None),
            keyring_used: AtomicBool::new(false),
            tmp,
            pg,
        }
    }

    /// Start a dev server in `tmp`, on `pg` (else on a new database when the run uses
    /// PostgreSQL, else on SQLite).
    fn spawn_in(
        tmp: tempfile::TempDir,
        extra: &[&str],
        env: &[(&str, &str)],
        pg: Option<PgDatabase>,
    ) -> Server {
        let pg = pg.or_else(|| on_postgres().then(PgDatabase::create).flatten());
        let config_dir = tmp.path().join("config");
        let data_dir = tmp.path().join("data");
        let stderr_path = tmp.path().join("server.stderr");
        let stderr_file = std::fs::File::create(&stderr_path).unwrap();
        let mut cmd = std::process::Command::new(bin());
        for var in IMADM_ENV {
            cmd.env_remove(var);
        }
        cmd.args(["server", "--dev", "-o", "json", "--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--config-dir")
            .arg(&config_dir)
            .args(extra)
            .envs(pg.iter().flat_map(PgDatabase::env))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr_file));
        let mut child = cmd.spawn().expect("spawn imadm server --dev");

        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(out);
            let mut line = String::new();
            let res = reader.read_line(&mut line).map(|_| line);
            let _ = tx.send(res);
            // Keep the pipe open (and drained) for as long as the server runs.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = match rx.recv_timeout(SERVER_START_TIMEOUT) {
            Ok(Ok(line)) if !line.trim().is_empty() => line,
            other => {
                let _ = child.kill();
                let status = child.wait();
                panic!(
                    "imadm server --dev did not print its ready line within {:?} ({other:?}); \
                     exit: {status:?}\n--- server stderr\n{}",
                    SERVER_START_TIMEOUT,
                    std::fs::read_to_string(&stderr_path).unwrap_or_default()
                );
            }
        };
        let raw: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            let _ = child.kill();
            panic!("server ready line is not JSON ({e}): {line:?}")
        });
        let s = |k: &str| -> String {
            raw[k]
                .as_str()
                .unwrap_or_else(|| panic!("ready line lacks string {k:?}: {line}"))
                .to_owned()
        };
        let info = DevInfo {
            server: s("server"),
            app_id: s("app_id"),
            ca_cert: PathBuf::from(s("ca_cert")),
            username: s("username"),
            password: s("password"),
            totp_secret: s("totp_secret"),
            data_dir: PathBuf::from(s("data_dir")),
            raw: raw.clone(),
        };
        Server {
            info,
            config_dir,
            data_dir,
            child: Some(child),
            stderr_path,
            last_step: Mutex::new(None),
            keyring_used: AtomicBool::new(false),
            tmp,
            pg,
        }
    }

    /// A blocking HTTPS client that trusts this server's dev CA, for tests that talk to
    /// the API directly (the Lanying routes, the RBAC matrix).
    pub fn https_client(&self) -> reqwest::blocking::Client {
        let ca = std::fs::read(&self.info.ca_cert).unwrap();
        reqwest::blocking::Client::builder()
            .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&ca).unwrap())
            .build()
            .unwrap()
    }

    /// `host:port` of the server URL.
    pub fn host_port(&self) -> &str {
        self.info
            .server
            .strip_prefix("https://")
            .unwrap_or_else(|| panic!("server URL is not https: {}", self.info.server))
            .trim_end_matches('/')
    }

    /// The keyring account of the `dev` profile: `dev@127.0.0.1:PORT`.
    pub fn account(&self) -> String {
        format!("dev@{}", self.host_port())
    }

    pub fn tmp(&self) -> &Path {
        self.tmp.path()
    }

    /// The server's process id (the `imadm server` process itself, no shell between).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server running").id()
    }

    /// What the server wrote on stderr so far.
    pub fn server_stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// `imadm --config-dir <this server's config> --profile dev`, clean environment.
    pub fn imadm(&self) -> assert_cmd::Command {
        let mut cmd = imadm_in(&self.config_dir);
        cmd.args(["--profile", "dev"]);
        cmd
    }

    /// A TOTP code the server accepts now and that no earlier call returned: the step
    /// before now (when the current step has time left), then now, then the next one;
    /// beyond that it waits for the clock. Codes come from `oathtool`.
    pub fn next_code(&self) -> String {
        fresh_code(&self.info.totp_secret, &mut self.last_step.lock().unwrap())
    }

    /// A well-formed 6-digit code that is wrong for every step near now.
    pub fn wrong_code(&self) -> String {
        let now = now_secs();
        let near: Vec<String> = (0..5)
            .map(|i| totp_at(&self.info.totp_secret, now + i * TOTP_STEP - 2 * TOTP_STEP))
            .collect();
        let base: u32 = near[2].parse().unwrap();
        (1..)
            .map(|d| format!("{:06}", (base + d * 111_111) % 1_000_000))
            .find(|c| !near.contains(c))
            .unwrap()
    }

    /// `auth login --username admin --password-stdin --otp CODE` (password piped in with a
    /// trailing newline), storing the session in `storage`.
    pub fn login_cmd(&self, password: &str, code: &str, storage: Storage) -> assert_cmd::Command {
        let mut cmd = self.imadm();
        cmd.args(["auth", "login", "--username", &self.info.username])
            .args(["--password-stdin", "--otp", code])
            .write_stdin(format!("{password}\n"));
        self.use_storage(&mut cmd, storage);
        cmd
    }

    /// Add `--insecure-storage` when needed, and remember to clean the keyring.
    pub fn use_storage(&self, cmd: &mut assert_cmd::Command, storage: Storage) {
        match storage {
            Storage::InsecureFile => {
                cmd.arg("--insecure-storage");
            }
            Storage::Keyring => self.keyring_used.store(true, Ordering::SeqCst),
        }
    }

    /// Log in with the right password and a fresh code; assert it worked.
    pub fn login_with(&self, storage: Storage) -> Output {
        let code = self.next_code();
        let out = run(&mut self.login_cmd(&self.info.password, &code, storage));
        assert_success(&out);
        assert!(
            stderr(&out).lines().any(|l| l.starts_with("Logged in")),
            "no `Logged in` line on stderr\n{}",
            describe(&out)
        );
        out
    }

    /// Log in with the keyring when one works here, else `--insecure-storage`.
    pub fn login(&self) -> Storage {
        let storage = Storage::preferred();
        self.login_with(storage);
        storage
    }

    /// Log in to this server as `other`'s owner (restored here from `other`'s backup),
    /// with `other`'s password and a fresh code of its secret; assert it worked.
    pub fn login_as_owner_of(&self, other: &Server) {
        let mut cmd = self.imadm();
        cmd.args(["auth", "login", "--username", &other.info.username])
            .args(["--password-stdin", "--otp", &other.next_code()])
            .write_stdin(format!("{}\n", other.info.password));
        self.use_storage(&mut cmd, Storage::preferred());
        assert_success(&run(&mut cmd));
    }

    /// `auth token`: asserts exit 0 and exactly one non-empty line; returns it.
    pub fn token(&self) -> String {
        let out = run(self.imadm().args(["auth", "token"]));
        assert_success(&out);
        let s = stdout(&out);
        let lines: Vec<&str> = s.lines().collect();
        assert!(
            lines.len() == 1 && !lines[0].trim().is_empty(),
            "`auth token` must print one line\n{}",
            describe(&out)
        );
        lines[0].trim().to_owned()
    }

    /// `auth status -o json` with extra env (e.g. IMADM_TOKEN).
    pub fn status(&self, env: &[(&str, &str)]) -> Output {
        let mut cmd = self.imadm();
        cmd.args(["auth", "status", "-o", "json"]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run(&mut cmd)
    }

    /// Run SQL on the server's database (the `sqlite3` CLI, or on PostgreSQL the text
    /// protocol); rows as `a|b|c` lines, NULL as nothing, as `sqlite3` prints them.
    pub fn sql(&self, query: &str) -> String {
        match &self.pg {
            Some(pg) => pg.sql(query),
            None => sql_at(&self.data_dir, query),
        }
    }

    /// Outcomes recorded in `auth_events`, oldest first.
    pub fn auth_outcomes(&self) -> Vec<String> {
        self.sql("SELECT outcome FROM auth_events ORDER BY id")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// SIGKILL the server (a crash); `restart_with` starts it again on the same data.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM the server and wait for it, keeping its data and config dirs (to run
    /// another `imadm server` on them).
    pub fn stop_in_place(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("server running");
        terminate(&mut child)
    }

    /// SIGTERM the server and wait for it; returns its exit status.
    pub fn stop(mut self) -> ExitStatus {
        let mut child = self.child.take().expect("server running");
        terminate(&mut child)
    }
}

/// Run SQL on the database of `data_dir` with the `sqlite3` CLI; rows as `a|b|c` lines.
pub fn sql_at(data_dir: &Path, query: &str) -> String {
    let out = std::process::Command::new("sqlite3")
        .arg(data_dir.join("imadm.db"))
        .arg(query)
        .output()
        .expect("run sqlite3 (Debian package `sqlite3`)");
    assert!(
        out.status.success(),
        "sqlite3 {query:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out)
}

/// `imadm server --dev -o json --listen 127.0.0.1:0 --data-dir DATA` with `config_dir`,
/// for runs expected to exit before serving (a refused start); 20 s at most.
pub fn dev_server_cmd(config_dir: &Path, data_dir: &Path) -> assert_cmd::Command {
    let mut cmd = imadm_in(config_dir);
    cmd.args([
        "server",
        "--dev",
        "-o",
        "json",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
    ])
    .arg(data_dir)
    .timeout(Duration::from_secs(20));
    cmd
}

/// Run `imadm --config-dir CONFIG ARGS` on a pseudo-terminal (`script(1)`), as someone at
/// a terminal: whenever the terminal waits at `prompt` (what it shows ends with it), the
/// next of `answers` is typed. Returns the exit code and everything the terminal showed
/// (stdout and stderr, in order).
pub fn on_terminal(
    config_dir: &Path,
    args: &[&str],
    prompt: &str,
    answers: &[&str],
) -> (Option<i32>, String) {
    use std::io::{Read, Write};
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut line = vec![quote(&bin().display().to_string()), "--config-dir".into()];
    line.push(quote(&config_dir.display().to_string()));
    line.extend(args.iter().map(|a| quote(a)));
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qefc", &line.join(" "), "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for var in IMADM_ENV {
        cmd.env_remove(var);
    }
    let mut child = cmd
        .spawn()
        .expect("run script(1) (Debian package bsdutils)");
    let shown = std::sync::Arc::new(Mutex::new(String::new()));
    let mut out = child.stdout.take().unwrap();
    let sink = shown.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = out.read(&mut buf) {
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let waiting = || shown.lock().unwrap().trim_end().ends_with(prompt);
    let wait_for = |done: &dyn Fn() -> bool, child: &mut Child| {
        while !done() && Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    for answer in answers {
        wait_for(&waiting, &mut child);
        // The prompt is drawn just before the terminal stops echoing, which discards what
        // was typed ahead (TCSAFLUSH): give it a moment.
        std::thread::sleep(Duration::from_millis(500));
        let before = shown.lock().unwrap().len();
        let _ = writeln!(stdin, "{answer}");
        // Until the answer is taken (the program draws something), it still waits there.
        wait_for(&|| shown.lock().unwrap().len() > before, &mut child);
    }
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    let _ = reader.join();
    let text = shown.lock().unwrap().clone();
    (status.code(), text)
}

/// `kill -TERM`, then wait up to 15 s (SIGKILL after that).
fn terminate(child: &mut Child) -> ExitStatus {
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return child.wait().expect("wait for killed server");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child);
        }
        // Do not leave entries behind in a keyring that may be the developer's own.
        if self.keyring_used.load(Ordering::SeqCst) {
            let account = self.account();
            secret_tool(&["clear", "service", "imadm", "username", &account], None);
        }
    }
}

/// A fresh ed25519 key made by OpenSSH's `ssh-keygen` in `dir` (file `signkey`, no
/// passphrase), and an `allowed_signers` file naming its public key as [`SIGNER`].
pub fn ssh_keygen_pair(dir: &Path) -> (PathBuf, PathBuf) {
    let key = dir.join("signkey");
    let st = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "ops", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(st.success());
    let pubkey = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let allowed = dir.join("allowed_signers");
    std::fs::write(
        &allowed,
        format!("{SIGNER} namespaces=\"imadm-audit\" {pubkey}"),
    )
    .unwrap();
    (key, allowed)
}

/// The principal of [`ssh_keygen_pair`]'s `allowed_signers`.
pub const SIGNER: &str = "ops@example";

/// `ssh-keygen -Y verify` of `file` against the SSHSIG `sig` (namespace `imadm-audit`),
/// with the `allowed_signers` of [`ssh_keygen_pair`].
pub fn ssh_keygen_verify(allowed: &Path, file: &Path, sig: &Path) -> Output {
    std::process::Command::new("ssh-keygen")
        .args(["-Y", "verify", "-I", SIGNER, "-n", "imadm-audit", "-f"])
        .arg(allowed)
        .arg("-s")
        .arg(sig)
        .stdin(Stdio::from(std::fs::File::open(file).unwrap()))
        .output()
        .unwrap()
}

/// A real S3 protocol server (`s3s-fs`, installed by `.ci/run` into `target/tools`) on
/// 127.0.0.1 on a free port, serving a temp dir, with one bucket [`S3Server::BUCKET`].
/// Objects are plain files under `root/BUCKET/KEY`, so a test can damage one directly.
pub struct S3Server {
    child: Option<Child>,
    pub port: u16,
    pub root: PathBuf,
    _dir: tempfile::TempDir,
}

impl S3Server {
    pub const BUCKET: &'static str = "imadm-backups";
    const ACCESS_KEY: &'static str = "imadm-test";
    const SECRET_KEY: &'static str = "imadm-test-secret-key";

    /// `s3s-fs` from `target/tools/bin` (where `.ci/run` puts it), else from PATH.
    fn binary() -> PathBuf {
        let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/bin/s3s-fs");
        if local.exists() {
            local
        } else {
            PathBuf::from("s3s-fs")
        }
    }

    pub fn start() -> S3Server {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join(Self::BUCKET)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(Self::binary())
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--access-key",
                Self::ACCESS_KEY,
                "--secret-key",
                Self::SECRET_KEY,
            ])
            .arg(&root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("s3s-fs is needed (`.ci/run` installs it into target/tools)");
        let deadline = Instant::now() + SERVER_START_TIMEOUT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "s3s-fs did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        S3Server {
            child: Some(child),
            port,
            root,
            _dir: dir,
        }
    }

    /// The AWS settings that reach this server (replacing any of the developer's own).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", Self::ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", Self::SECRET_KEY.into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
            (
                "AWS_ENDPOINT_URL",
                format!("http://127.0.0.1:{}", self.port),
            ),
        ]
    }

    /// Give `cmd` this server's AWS settings.
    pub fn apply(&self, cmd: &mut assert_cmd::Command) {
        apply_aws(cmd, &self.env());
    }

    /// `s3://BUCKET/PREFIX`.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}", Self::BUCKET)
    }

    /// Where the object `key` is on disk.
    pub fn object_file(&self, key: &str) -> PathBuf {
        self.root.join(Self::BUCKET).join(key)
    }

    /// Keys directly under `prefix` (objects, not sub-prefixes), as the server stores them.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let dir = self.object_file(prefix);
        let mut v: Vec<String> = match std::fs::read_dir(&dir) {
            Ok(rd) => rd
                .map(|e| e.unwrap())
                .filter(|e| !e.file_type().unwrap().is_dir())
                .map(|e| format!("{prefix}/{}", e.file_name().to_string_lossy()))
                .collect(),
            Err(_) => Vec::new(),
        };
        v.sort();
        v
    }

    /// Files of the server's root whose name holds `id` (an upload's parts and state).
    pub fn files_naming(&self, id: &str) -> Vec<PathBuf> {
        std::fs::read_dir(&self.root)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().contains(id))
            .collect()
    }

    /// The independent client: `aws` (awscli) against this server.
    pub fn aws(&self, args: &[&str]) -> Output {
        aws_cli(&self.env(), args)
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Give `cmd` the AWS settings `env` (keys, region, endpoint), replacing the developer's.
fn apply_aws(cmd: &mut assert_cmd::Command, env: &[(&'static str, String)]) {
    for var in ["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE"] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
}

/// `backup verify -o json --identity IDENTITY URL` with the S3 settings `env`: checks
/// that the archive in the bucket decrypted, and returns the JSON for more checks.
pub fn verify_in_bucket(
    server: &Server,
    env: &[(&'static str, String)],
    identity: &Path,
    url: &str,
) -> serde_json::Value {
    let mut cmd = server.imadm();
    apply_aws(&mut cmd, env);
    let out = run(cmd
        .args(["backup", "verify", "-o", "json", "--identity"])
        .arg(identity)
        .arg(url));
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(v["decrypted"], true, "{v}");
    v
}

/// `aws` (awscli, from target/venv or PATH) with `env` (its keys and endpoint) only.
fn aws_cli(env: &[(&'static str, String)], args: &[&str]) -> Output {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venv/bin/aws");
    let aws = if venv.exists() {
        venv
    } else {
        PathBuf::from("aws")
    };
    let mut cmd = std::process::Command::new(aws);
    cmd.env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_CONFIG_FILE");
    if let Some((_, e)) = env.iter().find(|(k, _)| *k == "AWS_ENDPOINT_URL") {
        cmd.args(["--endpoint-url", e]);
    }
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output()
        .expect("the aws CLI is needed (`.ci/run` installs awscli)")
}

/// A bucket of its own, with Object Lock enabled, on the Ceph Object Gateway that
/// `IMADM_TEST_RGW` names (`http://KEY:SECRET@127.0.0.1:PORT`, `scripts/ceph-rgw.sh`):
/// the S3 service the Object Lock tests need, since s3s-fs has none.
pub struct Rgw {
    pub endpoint: String,
    key: String,
    secret: String,
    pub bucket: String,
}

impl Rgw {
    /// A new locked bucket, if `IMADM_TEST_RGW` names a gateway. Without one the caller
    /// skips (saying so on stderr), unless `IMADM_REQUIRE_RGW` (CI) says it must not.
    pub fn bucket() -> Option<Rgw> {
        let Ok(url) = std::env::var("IMADM_TEST_RGW") else {
            assert!(
                std::env::var_os("IMADM_REQUIRE_RGW").is_none(),
                "IMADM_REQUIRE_RGW is set but IMADM_TEST_RGW is not: no Ceph RGW to test on"
            );
            eprintln!("IMADM_TEST_RGW unset: Ceph RGW e2e test skipped");
            return None;
        };
        let u = url::Url::parse(&url).expect("IMADM_TEST_RGW: http://KEY:SECRET@HOST:PORT");
        let rgw = Rgw {
            endpoint: format!("http://{}:{}", u.host_str().unwrap(), u.port().unwrap()),
            key: u.username().to_owned(),
            secret: u.password().unwrap().to_owned(),
            bucket: format!("imadm-e2e-{:016x}", rand::random::<u64>()),
        };
        let out = rgw.aws(&[
            "s3api",
            "create-bucket",
            "--bucket",
            &rgw.bucket,
            "--object-lock-enabled-for-bucket",
        ]);
        assert!(out.status.success(), "create-bucket: {out:?}");
        Some(rgw)
    }

    /// The AWS settings that reach this gateway (replacing any of the developer's own).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", self.key.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
        ]
    }

    /// Give `cmd` this gateway's AWS settings.
    pub fn apply(&self, cmd: &mut assert_cmd::Command) {
        apply_aws(cmd, &self.env());
    }

    /// `s3://BUCKET/PREFIX`.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}", self.bucket)
    }

    /// The independent client (awscli) against this gateway.
    pub fn aws(&self, args: &[&str]) -> Output {
        aws_cli(&self.env(), args)
    }

    /// `aws s3api ARGS --bucket BUCKET`, which must succeed, as JSON.
    pub fn s3api(&self, args: &[&str]) -> Value {
        let mut all = vec!["s3api"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--bucket", &self.bucket]);
        let out = self.aws(&all);
        assert!(out.status.success(), "aws {all:?}: {out:?}");
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }
}

/// A TCP proxy on 127.0.0.1 in front of `port` that keeps what clients send (the
/// request lines and headers of plain-http S3 requests), to check headers a test server
/// does not act on.
pub struct RecordingProxy {
    pub port: u16,
    sent: std::sync::Arc<Mutex<Vec<u8>>>,
}

impl RecordingProxy {
    pub fn start(target: u16) -> RecordingProxy {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sent = std::sync::Arc::new(Mutex::new(Vec::new()));
        let log = sent.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { return };
                let Ok(mut server) = std::net::TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let log = log.clone();
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 64 << 10];
                    while let Ok(n) = client.read(&mut buf) {
                        if n == 0 || server.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        // Headers are what matters: keep the start of each read only.
                        log.lock().unwrap().extend_from_slice(&buf[..n.min(4096)]);
                    }
                    let _ = server.shutdown(std::net::Shutdown::Write);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s2, &mut c2);
                    let _ = c2.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        RecordingProxy { port, sent }
    }

    /// What clients sent so far, lossily as text.
    pub fn sent(&self) -> String {
        String::from_utf8_lossy(&self.sent.lock().unwrap()).into_owned()
    }
}

/// The request (line and headers) in `sent` (what a [`RecordingProxy`] kept) that starts
/// with `start`.
pub fn request<'a>(sent: &'a str, start: &str) -> &'a str {
    let at = sent
        .find(start)
        .unwrap_or_else(|| panic!("no request {start:?} in:\n{sent}"));
    let rest = &sent[at..];
    &rest[..rest.find("\r\n\r\n").unwrap_or(rest.len())]
}

/// A TCP proxy on 127.0.0.1 in front of `port` that passes `budget` bytes of answers in
/// all, then cuts the connection it is on and closes every later one at once: a network
/// that drops mid-transfer and stays down.
pub struct CuttingProxy {
    pub port: u16,
}

impl CuttingProxy {
    pub fn start(target: u16, budget: u64) -> CuttingProxy {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicU64, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let left = std::sync::Arc::new(AtomicU64::new(budget));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { return };
                if left.load(Ordering::SeqCst) == 0 {
                    continue;
                }
                let Ok(mut server) = std::net::TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c2, &mut s2);
                    let _ = s2.shutdown(std::net::Shutdown::Write);
                });
                let left = left.clone();
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 64 << 10];
                    while let Ok(n) = server.read(&mut buf) {
                        let allowed = left
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| {
                                Some(l.saturating_sub(n as u64))
                            })
                            .unwrap()
                            .min(n as u64) as usize;
                        if n == 0 || client.write_all(&buf[..allowed]).is_err() || allowed < n {
                            break;
                        }
                    }
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    let _ = server.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        CuttingProxy { port }
    }
}

/// A real HAProxy (Debian's `haproxy`) on 127.0.0.1: one `listen` proxy per
/// [`HaproxyListen`], each on a free port of its own, in the foreground; killed on drop.
pub struct Haproxy {
    child: Child,
    pub ports: Vec<u16>,
    dir: tempfile::TempDir,
}

/// One `listen` proxy of [`Haproxy`]: what follows `bind 127.0.0.1:PORT` on its bind line
/// (e.g. `ssl crt FILE`), and its other lines (`mode`, `server`, options).
pub struct HaproxyListen {
    pub bind_options: String,
    pub lines: Vec<String>,
}

impl Haproxy {
    pub fn start(listens: &[HaproxyListen]) -> Haproxy {
        let dir = tempfile::tempdir().unwrap();
        let ports: Vec<u16> = listens
            .iter()
            .map(|_| {
                std::net::TcpListener::bind("127.0.0.1:0")
                    .unwrap()
                    .local_addr()
                    .unwrap()
                    .port()
            })
            .collect();
        let mut conf = String::from(
            "global\n  maxconn 200\n\ndefaults\n  timeout connect 5s\n  timeout client 60s\n  \
             timeout server 60s\n",
        );
        for (i, (l, port)) in listens.iter().zip(&ports).enumerate() {
            conf.push_str(&format!(
                "\nlisten p{i}\n  bind 127.0.0.1:{port} {}\n",
                l.bind_options
            ));
            for line in &l.lines {
                conf.push_str(&format!("  {line}\n"));
            }
        }
        let conf_path = dir.path().join("haproxy.cfg");
        std::fs::write(&conf_path, &conf).unwrap();
        let log = std::fs::File::create(dir.path().join("haproxy.stderr")).unwrap();
        // -db: foreground, no daemon; its only process is the child killed on drop.
        let child = std::process::Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("run haproxy (Debian package haproxy)");
        let h = Haproxy { child, ports, dir };
        let deadline = Instant::now() + SERVER_START_TIMEOUT;
        for port in &h.ports {
            while std::net::TcpStream::connect(("127.0.0.1", *port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "haproxy does not listen on {port}: {}\n{conf}",
                    h.stderr()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        h
    }

    /// `https://127.0.0.1:PORT` of the `i`th `listen` proxy.
    pub fn url(&self, i: usize) -> String {
        format!("https://127.0.0.1:{}", self.ports[i])
    }

    /// A PEM file with `server`'s dev certificate and its key (in the server's temp dir),
    /// for HAProxy's `bind ... ssl crt FILE`.
    pub fn dev_cert_file(server: &Server) -> PathBuf {
        let path = server.tmp().join("dev-cert-and-key.pem");
        let mut pem = std::fs::read(server.info.data_dir.join("tls-cert.pem")).unwrap();
        pem.extend(std::fs::read(server.info.data_dir.join("tls-key.pem")).unwrap());
        std::fs::write(&path, pem).unwrap();
        path
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("haproxy.stderr")).unwrap_or_default()
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- Store-neutral helpers: files and start-up (pgaudit) ----

impl Server {
    /// `imadm __seed-audit N`: append `n` chained events straight into the server's audit
    /// log (its SQLite file, or its PostgreSQL database); the last seq.
    pub fn seed_audit(&self, n: u64) -> u64 {
        let out = run(self
            .imadm()
            .envs(self.pg.iter().flat_map(PgDatabase::env))
            .args(["__seed-audit", &n.to_string(), "--data-dir"])
            .arg(&self.data_dir));
        assert_success(&out);
        stdout(&out).trim().parse().unwrap()
    }

    /// Run `sql` on the server's database as someone with direct access to it would, past
    /// the append-only triggers of `table` (tampering, or a test moving time back): on
    /// SQLite the triggers are dropped (for good); on PostgreSQL the superuser's session
    /// fires no triggers (`session_replication_role = replica`) for `sql` only.
    pub fn sql_past_append_only(&self, table: &str, sql: &str) -> String {
        match &self.pg {
            Some(pg) => pg.sql(&format!(
                "SET session_replication_role = replica; {sql}; RESET session_replication_role"
            )),
            None => self.sql(&format!(
                "DROP TRIGGER IF EXISTS {table}_append_only_update; \
                 DROP TRIGGER IF EXISTS {table}_append_only_delete; {sql}"
            )),
        }
    }

    /// Make every insert into `table` for which the SQL condition `when` (over `NEW`) holds
    /// fail inside the server's own transaction, with the error `injected`: a trigger
    /// raising an error (SQLite `RAISE(ABORT)`, a PL/pgSQL `RAISE EXCEPTION`).
    /// [`Server::stop_failing_inserts`] removes it.
    pub fn fail_inserts(&self, table: &str, when: &str) {
        match &self.pg {
            Some(pg) => pg.sql(&format!(
                "CREATE OR REPLACE FUNCTION imadm_test_inject() RETURNS trigger \
                 LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected'; END $$; \
                 CREATE TRIGGER inject BEFORE INSERT ON {table} FOR EACH ROW \
                 WHEN ({when}) EXECUTE FUNCTION imadm_test_inject()"
            )),
            None => self.sql(&format!(
                "CREATE TRIGGER inject BEFORE INSERT ON {table} WHEN {when} \
                 BEGIN SELECT RAISE(ABORT, 'injected'); END"
            )),
        };
    }

    /// Undo [`Server::fail_inserts`] on `table`.
    pub fn stop_failing_inserts(&self, table: &str) {
        match &self.pg {
            Some(pg) => pg.sql(&format!("DROP TRIGGER inject ON {table}")),
            None => self.sql("DROP TRIGGER inject"),
        };
    }

    /// The files holding the server's data that contain `needle`: in its data dir, and on
    /// PostgreSQL the files of its database in the cluster's data directory (after a
    /// `CHECKPOINT`, so every committed page is on disk; the test cluster's user is a
    /// superuser). The cluster's WAL is not searched: old row versions may remain there
    /// until it is recycled.
    pub fn stored_files_containing(&self, needle: &str) -> Vec<PathBuf> {
        let mut hits = files_containing(&self.data_dir, needle);
        if let Some(pg) = &self.pg {
            let row = pg.sql(
                "CHECKPOINT; SELECT current_setting('data_directory') || '/base/' || oid \
                 FROM pg_database WHERE datname = current_database()",
            );
            let dir = PathBuf::from(row.trim());
            assert!(dir.is_dir(), "{dir:?} is not the database's directory");
            hits.extend(files_containing(&dir, needle));
        }
        hits
    }
}

// ---- Store-neutral helpers (pgpend2) ----

/// A copy of a server's whole database, taken while it was stopped
/// ([`Server::copy_database`]); [`Server::put_back`] makes it the server's database again.
pub enum DatabaseCopy {
    /// The SQLite files (`imadm.db` and any `-wal`/`-shm`), in a directory of their own.
    Files(PathBuf),
    /// A database of its own on the cluster, created with the server's as its template.
    Postgres(PgDatabase),
}

/// The files of the SQLite database in `dir` (`imadm.db` and any `-wal`/`-shm`).
fn sqlite_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("imadm.db")
        })
        .collect()
}

impl PgDatabase {
    /// End every other session on this database (a template and a renamed database must
    /// have none; a client just dropped may still be closing).
    fn disconnect_all(&self) {
        pg_client(&self.admin)
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&self.name],
            )
            .unwrap();
    }
}

impl Server {
    /// Whether several instances may share this server's database (PostgreSQL), which is
    /// where the key rotations are refused: each instance keeps its own copy of the keys.
    /// Only for tests of those rotations to decide which outcome to expect.
    pub fn shares_its_database(&self) -> bool {
        self.pg.is_some()
    }

    /// The environment an offline `imadm server …` command needs to reach this server's
    /// database (its URL on PostgreSQL; nothing on SQLite, the file is in the data dir).
    pub fn database_env(&self) -> Vec<(String, String)> {
        self.pg
            .iter()
            .flat_map(PgDatabase::env)
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    /// The columns of `table`, in order.
    pub fn columns(&self, table: &str) -> Vec<String> {
        let query = match &self.pg {
            Some(_) => format!(
                "SELECT column_name FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = '{table}' \
                 ORDER BY ordinal_position"
            ),
            None => format!("SELECT name FROM pragma_table_info('{table}')"),
        };
        self.sql(&query).lines().map(str::to_owned).collect()
    }

    /// An SQL expression for the upper-case hex digits of the blob expression `blob`.
    pub fn sql_hex(&self, blob: &str) -> String {
        match &self.pg {
            Some(_) => format!("upper(encode({blob}, 'hex'))"),
            None => format!("hex({blob})"),
        }
    }

    /// A copy of the whole database (stop the server first): the SQLite files, or on
    /// PostgreSQL a database created from the server's as a template.
    pub fn copy_database(&self) -> DatabaseCopy {
        assert!(
            self.child.is_none(),
            "stop the server before copying its database"
        );
        match &self.pg {
            Some(pg) => {
                pg.disconnect_all();
                let name = format!("{}_copy{:08x}", pg.name, rand::random::<u32>());
                pg_client(&pg.admin)
                    .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {}", pg.name))
                    .unwrap();
                let mut url = url::Url::parse(&pg.admin).unwrap();
                url.set_path(&format!("/{name}"));
                DatabaseCopy::Postgres(PgDatabase {
                    admin: pg.admin.clone(),
                    name,
                    url: url.to_string(),
                })
            }
            None => {
                let dir = self
                    .tmp()
                    .join(format!("db-copy-{:08x}", rand::random::<u32>()));
                std::fs::create_dir_all(&dir).unwrap();
                for f in sqlite_files(&self.data_dir) {
                    std::fs::copy(&f, dir.join(f.file_name().unwrap())).unwrap();
                }
                DatabaseCopy::Files(dir)
            }
        }
    }

    /// Replace the server's database by `copy` (the server stopped), as someone restoring
    /// an earlier copy behind its back would: its files, or on PostgreSQL the database
    /// dropped and the copy renamed to its name.
    pub fn put_back(&self, copy: DatabaseCopy) {
        assert!(
            self.child.is_none(),
            "stop the server before replacing its database"
        );
        match (copy, &self.pg) {
            (DatabaseCopy::Postgres(copy), Some(pg)) => {
                copy.disconnect_all();
                let mut admin = pg_client(&pg.admin);
                // One statement each: neither runs inside a transaction block.
                admin
                    .batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", pg.name))
                    .unwrap();
                admin
                    .batch_execute(&format!(
                        "ALTER DATABASE {} RENAME TO {}",
                        copy.name, pg.name
                    ))
                    .unwrap();
            }
            (DatabaseCopy::Files(dir), None) => {
                for f in sqlite_files(&self.data_dir) {
                    std::fs::remove_file(f).unwrap();
                }
                for f in sqlite_files(&dir) {
                    std::fs::copy(&f, self.data_dir.join(f.file_name().unwrap())).unwrap();
                }
            }
            _ => panic!("a copy of another store's database"),
        }
    }
}

// ---- Store-neutral helpers (pgpend1) ----

impl Server {
    /// Run `sql`, which the database must refuse (e.g. an edit of an append-only table, as
    /// someone with direct access to the database would try it); the database's message.
    pub fn sql_refused(&self, sql: &str) -> String {
        match &self.pg {
            Some(pg) => match pg.client().simple_query(sql) {
                Ok(_) => panic!("{sql:?} was not refused"),
                Err(e) => e
                    .as_db_error()
                    .unwrap_or_else(|| panic!("{sql:?} failed, not refused: {e:?}"))
                    .message()
                    .to_owned(),
            },
            None => {
                let out = std::process::Command::new("sqlite3")
                    .arg(self.data_dir.join("imadm.db"))
                    .arg(sql)
                    .output()
                    .expect("run sqlite3 (Debian package `sqlite3`)");
                assert!(!out.status.success(), "{sql:?} was not refused");
                stderr(&out)
            }
        }
    }

    /// A SQL literal of the blob whose bytes are the hex digits `hex`.
    pub fn sql_blob(&self, hex: &str) -> String {
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()), "{hex:?}");
        match &self.pg {
            Some(_) => format!("'\\x{hex}'::bytea"),
            None => format!("X'{hex}'"),
        }
    }

    /// Delete every audit event after `seq`, as someone with direct access to the
    /// database could, past the append-only triggers; they are in force again for the
    /// server afterwards (its next event forks the log). SQLite: the delete trigger is
    /// dropped and created again from its stored definition; PostgreSQL: the superuser's
    /// session fires no triggers for the delete ([`Server::sql_past_append_only`]).
    pub fn cut_audit_log(&self, seq: usize) {
        let delete = format!("DELETE FROM audit_log WHERE seq > {seq}");
        if self.pg.is_some() {
            self.sql_past_append_only("audit_log", &delete);
            return;
        }
        let trigger = "audit_log_append_only_delete";
        let create = self.sql(&format!(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = '{trigger}'"
        ));
        assert!(!create.trim().is_empty(), "no trigger {trigger}");
        self.sql(&format!("DROP TRIGGER {trigger}; {delete}; {create};"));
    }

    /// [`dev_server_cmd`] on this server's config and data dirs and its database (a
    /// stopped server's, for a start expected to be refused).
    pub fn dev_server_cmd(&self) -> assert_cmd::Command {
        let mut cmd = dev_server_cmd(&self.config_dir, &self.data_dir);
        cmd.envs(self.pg.iter().flat_map(PgDatabase::env));
        cmd
    }

    /// The names of the files in the data dir that hold the database, after a write:
    /// SQLite's file, its shared-memory index and its WAL; none on PostgreSQL (the data
    /// is in the cluster).
    pub fn database_file_names(&self) -> &'static [&'static str] {
        match &self.pg {
            Some(_) => &[],
            None => &["imadm.db", "imadm.db-shm", "imadm.db-wal"],
        }
    }

    /// The files of the server's database that contain `needle`: SQLite's file and its
    /// WAL, or the files of its PostgreSQL database ([`Server::stored_files_containing`]
    /// without the data dir's keys and credentials).
    pub fn database_files_containing(&self, needle: &str) -> Vec<PathBuf> {
        self.stored_files_containing(needle)
            .into_iter()
            .filter(|p| {
                !p.starts_with(&self.data_dir)
                    || p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("imadm.db"))
            })
            .collect()
    }

    /// Assert the database's own consistency check passes: SQLite's `PRAGMA
    /// integrity_check`; on PostgreSQL `amcheck` over every table and B-tree index
    /// (heap pages, index structure, and every heap row present in its indexes).
    pub fn assert_database_intact(&self) {
        let Some(pg) = &self.pg else {
            assert_eq!(self.sql("PRAGMA integrity_check").trim(), "ok");
            return;
        };
        let corrupt = pg.sql(
            "CREATE EXTENSION IF NOT EXISTS amcheck;
             SELECT c.relname, v.blkno, v.msg FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace, verify_heapam(c.oid) v
              WHERE n.nspname = 'public' AND c.relkind = 'r'",
        );
        assert_eq!(corrupt, "", "verify_heapam found damage");
        let indexes = pg.sql(
            "SELECT count(bt_index_parent_check(c.oid, true)) FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_am a ON a.oid = c.relam
              WHERE n.nspname = 'public' AND c.relkind = 'i' AND a.amname = 'btree'",
        );
        assert_ne!(indexes.trim(), "0", "no index was checked");
    }

    /// What a restore that never finished left on disk: SQLite's staging files in the data
    /// dir; on PostgreSQL the scratch directories (`imadm-pg-restore-PID-…` in the temp
    /// dir) of the server process `pid`.
    pub fn restore_leftovers(&self, pid: u32) -> Vec<PathBuf> {
        let (dir, prefix) = match &self.pg {
            Some(_) => (std::env::temp_dir(), format!("imadm-pg-restore-{pid}-")),
            None => (self.data_dir.clone(), ".restore-staging-".to_owned()),
        };
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
            })
            .collect()
    }
}
