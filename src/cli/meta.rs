//! `loadbuild completions SHELL` and `loadbuild man`: shell completions and man pages generated
//! from the clap definitions, so they never drift from the real options.

use std::path::PathBuf;

use clap::{Args, CommandFactory};

use super::{Cli, CmdResult, EXIT_BAD_INPUT, EXIT_OK, Failure};

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for, e.g. `loadbuild completions bash > /etc/bash_completion.d/loadbuild`
    shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write `loadbuild.1` and one `loadbuild-<command>.1` per subcommand into this directory
    /// (e.g. `/usr/local/share/man/man1`) instead of printing `loadbuild.1`
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub fn completions(a: CompletionsArgs) -> CmdResult {
    let mut cmd = Cli::command();
    clap_complete::generate(a.shell, &mut cmd, "loadbuild", &mut std::io::stdout());
    Ok(EXIT_OK)
}

pub fn man(a: ManArgs) -> CmdResult {
    let cmd = Cli::command();
    let write_err = |what: String, e: std::io::Error| Failure::with_code(EXIT_BAD_INPUT, format!("cannot write {what}: {e}"));
    match a.out {
        None => clap_mangen::Man::new(cmd).render(&mut std::io::stdout()).map_err(|e| write_err("to stdout".into(), e))?,
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|e| write_err(format!("`{}`", dir.display()), e))?;
            clap_mangen::generate_to(cmd, &dir).map_err(|e| write_err(format!("man pages into `{}`", dir.display()), e))?;
        }
    }
    Ok(EXIT_OK)
}
