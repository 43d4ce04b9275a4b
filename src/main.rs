//! The `loadbuild` binary: everything lives in the library; this only hands over the arguments.
fn main() -> std::process::ExitCode {
    loadbuild::cli::run(std::env::args_os())
}
