use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match jobset_sim::cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    jobset_sim::cli::main_with(cli)
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
