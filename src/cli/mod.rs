//! The command line: parses arguments and dispatches to one function per subcommand.
use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

/// Load-test Apache Spark through a content-addressed build graph.
#[derive(Parser, Debug)]
#[command(name = "loadbuild", version)]
struct Cli {}

pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    match Cli::try_parse_from(args) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = e.print();
            ExitCode::from(if e.use_stderr() { 2 } else { 0 })
        }
    }
}
