//! The `loadbuild` binary: everything lives in the library; this only hands over the arguments.
// Planning allocates many small values; mimalloc halves what the system allocator costs there.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    loadbuild::cli::run(std::env::args_os())
}
