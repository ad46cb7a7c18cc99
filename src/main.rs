use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    keep_freed_memory();
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

/// mimalloc's `purge_delay` option (the `mi_option_t` value; a test checks its default).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Tells mimalloc never to give freed memory back to the OS during the run. By default it
/// purges pages left free for a second, and a long simulation (Jobs and pods freed and
/// allocated by the thousand on every restart) then faults the same memory in again and
/// again: 1,200-1,600 page faults in the llama3 run instead of about 250, each one
/// zeroed by the kernel. The process is short-lived; its peak memory stays about the
/// same (reports/performance.md).
fn keep_freed_memory() {
    // SAFETY: a plain setter of a global option, called first thing in `main` while no
    // other thread exists (mimalloc's option functions are not thread-safe).
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

#[cfg(test)]
mod tests {
    /// The option number is that of `purge_delay` in the linked mimalloc: its default
    /// (1000 ms in mimalloc 3) is the tell, as no other option defaults to 1000.
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reads a global option; the test never sets it.
        let delay = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(delay, 1000);
    }
}
