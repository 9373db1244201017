//! `imadm __generate-assets [--out DIR]` (hidden): write `completions/` and `man/`.
//!
//! The committed copies are regenerated with `cargo run -- __generate-assets`; a test
//! generates them into a temp dir and fails when the committed ones differ.

use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;
use crate::context::Context;
use crate::error::Result;

#[derive(Debug, Args)]
pub struct AssetsArgs {
    /// Repository root to write completions/ and man/ under
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}

pub fn run(ctx: &mut Context, args: AssetsArgs) -> Result<()> {
    generate(&args.out)?;
    ctx.info(format!(
        "wrote completions/ and man/ under {}",
        args.out.display()
    ))
}

pub fn generate(root: &Path) -> Result<()> {
    let comp = root.join("completions");
    let man = root.join("man");
    std::fs::create_dir_all(&comp)?;
    std::fs::create_dir_all(&man)?;
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::PowerShell,
        Shell::Elvish,
    ] {
        clap_complete::generate_to(shell, &mut Cli::command(), "imadm", &comp)?;
    }
    let mut cmd = Cli::command();
    cmd.build();
    write_man(&cmd, "imadm", &man, true)?;
    Ok(())
}

/// One page per command, `imadm-auth-login.1` style; the root page lists exit codes.
fn write_man(cmd: &clap::Command, name: &str, dir: &Path, root: bool) -> Result<()> {
    if cmd.is_hide_set() {
        return Ok(());
    }
    let page = cmd.clone().name(name.to_owned());
    let man = clap_mangen::Man::new(page);
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    man.render_description_section(&mut buf)?;
    man.render_options_section(&mut buf)?;
    man.render_subcommands_section(&mut buf)?;
    man.render_extra_section(&mut buf)?;
    if root {
        buf.extend_from_slice(b".SH \"EXIT STATUS\"\n");
        for (code, name, meaning) in crate::error::EXIT_CODES {
            buf.extend_from_slice(format!(".TP\n\\fB{code}\\fR ({name})\n{meaning}\n").as_bytes());
        }
    }
    man.render_version_section(&mut buf)?;
    let path = dir.join(format!("{name}.1"));
    imadm_server::fsutil::write_atomic(&path, &buf, 0o644)
        .map_err(|e| crate::error::CliError::write_failed(&path, e))?;
    for sub in cmd.get_subcommands() {
        write_man(sub, &format!("{name}-{}", sub.get_name()), dir, false)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every option with an environment variable names it in its command's man page, as
    /// `--help` does.
    #[test]
    fn man_pages_name_each_options_environment_variable() {
        fn check(cmd: &clap::Command, name: &str, dir: &Path, checked: &mut usize) {
            if cmd.is_hide_set() {
                return;
            }
            let page = std::fs::read_to_string(dir.join(format!("{name}.1"))).unwrap();
            for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
                if let Some(env) = arg.get_env().filter(|_| !arg.is_hide_env_set()) {
                    let env = env.to_string_lossy();
                    assert!(
                        page.contains(&format!("\\fB{env}\\fR")),
                        "{name}.1 does not name {env} (--{})",
                        arg.get_id()
                    );
                    *checked += 1;
                }
            }
            for sub in cmd.get_subcommands() {
                check(sub, &format!("{name}-{}", sub.get_name()), dir, checked);
            }
        }
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path()).unwrap();
        let mut cmd = Cli::command();
        cmd.build();
        let mut checked = 0;
        check(&cmd, "imadm", &dir.path().join("man"), &mut checked);
        assert!(checked > 100, "only {checked} options with a variable");
    }
}
