//! The context every command runs in: its I/O streams and terminal flags, the prompter,
//! the clock, the resolved profile and global options.
//!
//! Commands never touch `std::io::stdout()` or `dialoguer` directly: they ask the
//! context. That is what lets the same code run in a terminal, in cron, and in tests
//! (which drive the real binary with `--no-input` and pipes). Environment variables reach
//! commands through clap (`env = ...`), except three read where they are used, because
//! they hold secrets clap would show in `--help`: `IMADM_TOKEN` (`session.rs`),
//! `IMADM_IDENTITY_PASSPHRASE` and `IMADM_SIGN_KEY_PASSPHRASE`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use crate::cli::GlobalArgs;
use crate::config::{self, Config, Profile};
use crate::error::{CliError, Result};
use crate::output::OutputFormat;
use crate::output::visible_lines;

pub struct Io {
    pub out: Box<dyn Write>,
    pub err: Box<dyn Write>,
    pub stdin_tty: bool,
    pub stdout_tty: bool,
    /// Progress bars are drawn only on a terminal stderr.
    pub stderr_tty: bool,
}

impl Io {
    pub fn system() -> Self {
        Io {
            out: Box::new(std::io::stdout().lock()),
            err: Box::new(std::io::stderr()),
            stdin_tty: std::io::stdin().is_terminal(),
            stdout_tty: std::io::stdout().is_terminal(),
            stderr_tty: std::io::stderr().is_terminal(),
        }
    }
}

/// Asks the operator things. The dialoguer implementation draws on stderr.
pub trait Prompter {
    fn input(&self, prompt: &str) -> Result<String>;
    fn password(&self, prompt: &str) -> Result<String>;
    fn confirm(&self, prompt: &str) -> Result<bool>;
}

pub struct TermPrompter;

fn prompt_failed(e: dialoguer::Error) -> CliError {
    CliError::new(crate::error::Kind::Cancelled, format!("prompt failed: {e}"))
}

impl Prompter for TermPrompter {
    fn input(&self, prompt: &str) -> Result<String> {
        dialoguer::Input::<String>::new()
            .with_prompt(prompt)
            .interact_text()
            .map_err(prompt_failed)
    }
    fn password(&self, prompt: &str) -> Result<String> {
        dialoguer::Password::new()
            .with_prompt(prompt)
            .interact()
            .map_err(prompt_failed)
    }
    fn confirm(&self, prompt: &str) -> Result<bool> {
        dialoguer::Confirm::new()
            .with_prompt(prompt)
            .default(false)
            .interact()
            .map_err(prompt_failed)
    }
}

pub struct Context {
    pub io: Io,
    pub global: GlobalArgs,
    pub prompter: Box<dyn Prompter>,
    pub config_dir: PathBuf,
    pub profile_name: String,
    pub config: Config,
    /// Seconds since the epoch; a function so tests of time logic can fix it.
    pub clock: fn() -> i64,
}

pub fn system_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Context {
    pub fn new(global: GlobalArgs, io: Io) -> Result<Self> {
        let config_dir = match &global.config_dir {
            Some(d) => d.clone(),
            None => config::default_dir().ok_or_else(|| {
                CliError::usage("cannot determine a config directory (no home directory)")
                    .hint("pass --config-dir DIR or set IMADM_CONFIG_DIR")
            })?,
        };
        let config = Config::load(&config_dir)?;
        let profile_name = global
            .profile
            .clone()
            .or_else(|| config.active_profile.clone())
            .unwrap_or_else(|| config::DEFAULT_PROFILE.to_owned());
        Ok(Context {
            io,
            global,
            prompter: Box::new(TermPrompter),
            config_dir,
            profile_name,
            config,
            clock: system_clock,
        })
    }

    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// The active profile's saved settings (empty if it does not exist yet).
    pub fn profile(&self) -> Profile {
        self.config
            .profiles
            .get(&self.profile_name)
            .cloned()
            .unwrap_or_default()
    }

    /// May we prompt? Not under --no-input, and not when stdin is not a terminal.
    pub fn interactive(&self) -> bool {
        !self.global.no_input && self.io.stdin_tty
    }

    /// The output format: flag/env, then the profile's setting, then by TTY.
    pub fn output(&self) -> OutputFormat {
        if let Some(o) = self.global.output {
            return o;
        }
        if let Some(o) = self
            .profile()
            .output
            .and_then(|s| <OutputFormat as clap::ValueEnum>::from_str(&s, true).ok())
        {
            return o;
        }
        if self.io.stdout_tty {
            OutputFormat::Table
        } else {
            OutputFormat::Tsv
        }
    }

    /// A message for the operator on stderr (suppressed by -q). Messages often quote
    /// server text (names, paths), so control characters are made visible.
    pub fn info(&mut self, msg: impl AsRef<str>) -> Result<()> {
        if !self.global.quiet {
            writeln!(self.io.err, "{}", visible_lines(msg.as_ref()))?;
        }
        Ok(())
    }

    pub fn warn(&mut self, msg: impl AsRef<str>) -> Result<()> {
        writeln!(self.io.err, "warning: {}", visible_lines(msg.as_ref()))?;
        Ok(())
    }

    /// A byte-progress bar (bytes, rate, ETA when `total` is known) on stderr, drawn only
    /// when stderr is a terminal and not under `-q`: cron and pipes get nothing.
    pub fn progress(&self, total: Option<u64>, what: &str) -> indicatif::ProgressBar {
        if self.global.quiet || !self.io.stderr_tty {
            return indicatif::ProgressBar::hidden();
        }
        let (bar, template) = match total {
            Some(t) => (
                indicatif::ProgressBar::new(t),
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            ),
            None => (
                indicatif::ProgressBar::no_length(),
                "{msg} {spinner} {bytes} {bytes_per_sec} {elapsed}",
            ),
        };
        let style = indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
        bar.set_message(what.to_owned());
        bar
    }

    /// Ask for a value, or fail with a usage error naming the flag that avoids the prompt.
    pub fn ask(&self, prompt: &str, flag_hint: &str) -> Result<String> {
        if !self.interactive() {
            return Err(needs_input(prompt, flag_hint));
        }
        self.prompter.input(prompt)
    }

    pub fn ask_secret(&self, prompt: &str, flag_hint: &str) -> Result<String> {
        if !self.interactive() {
            return Err(needs_input(prompt, flag_hint));
        }
        self.prompter.password(prompt)
    }

    /// Confirm a destructive action: `--yes` skips, `--no-input` without `--yes` refuses,
    /// "no" at the prompt cancels (exit 10).
    pub fn confirm(&self, prompt: &str) -> Result<()> {
        if self.global.yes {
            return Ok(());
        }
        if !self.interactive() {
            return Err(CliError::usage(format!("{prompt} needs confirmation"))
                .hint("pass --yes to confirm without a prompt"));
        }
        // The prompt often names what the server returned (users, operators).
        if self.prompter.confirm(&visible_lines(prompt))? {
            Ok(())
        } else {
            Err(CliError::new(crate::error::Kind::Cancelled, "cancelled"))
        }
    }
}

fn needs_input(prompt: &str, flag_hint: &str) -> CliError {
    CliError::usage(format!(
        "{} is needed, but prompting is off (--no-input, or stdin is not a terminal)",
        prompt.trim_end_matches(':').to_lowercase()
    ))
    .hint(flag_hint.to_owned())
}

/// Read one secret line from stdin (for `--password-stdin`, `--with-token`), without the
/// trailing newline.
pub fn read_stdin_line(what: &str) -> Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let trimmed = line.trim_end_matches(['\n', '\r']).to_owned();
    if trimmed.is_empty() {
        return Err(
            CliError::usage(format!("no {what} on standard input")).hint(format!(
                "pipe the {what} in, e.g. `printf '%s' \"$SECRET\" | imadm ...`"
            )),
        );
    }
    Ok(trimmed)
}
