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
static GLOBAL: MiMalloc = MiMalloc;

/// mimalloc, asked through its plain entry points for the usual layouts and through
/// the aligned ones only for alignments beyond what every mimalloc block has. The
/// `mimalloc` crate's allocator always takes the aligned entry points, which cost
/// about 90 instructions per allocation in the llama3 run instead of about 30.
struct MiMalloc;

/// Whether the plain entry points meet `layout`'s alignment: every mimalloc block is
/// word-aligned (block sizes are whole words), which is also the bound below which
/// mimalloc's own `mi_realloc_aligned` hands over to plain `mi_realloc`.
fn plain(layout: std::alloc::Layout) -> bool {
    layout.align() <= std::mem::size_of::<usize>()
}

// SAFETY: every block comes from mimalloc and goes back to it; `plain` layouts get
// word-aligned blocks, the others go through the aligned entry points.
unsafe impl std::alloc::GlobalAlloc for MiMalloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        use libmimalloc_sys::{mi_malloc, mi_malloc_aligned};
        // SAFETY: mimalloc's allocation functions accept any size and alignment.
        unsafe {
            if plain(layout) {
                mi_malloc(layout.size()).cast()
            } else {
                mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        use libmimalloc_sys::{mi_zalloc, mi_zalloc_aligned};
        // SAFETY: as in `alloc`.
        unsafe {
            if plain(layout) {
                mi_zalloc(layout.size()).cast()
            } else {
                mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: std::alloc::Layout) {
        // SAFETY: `ptr` came from this allocator, so from mimalloc.
        unsafe { libmimalloc_sys::mi_free(ptr.cast()) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        use libmimalloc_sys::{mi_realloc, mi_realloc_aligned};
        // SAFETY: `ptr` came from this allocator with `layout`; the new block keeps its alignment.
        unsafe {
            if plain(layout) {
                mi_realloc(ptr.cast(), new_size).cast()
            } else {
                mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast()
            }
        }
    }
}

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
    use std::alloc::{GlobalAlloc, Layout};

    /// Blocks of every small size and alignment come back aligned as asked, keep their
    /// bytes when grown or shrunk, and zeroed ones are zero.
    #[test]
    fn the_allocator_meets_every_layout() {
        let a = super::MiMalloc;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 2, 3, 7, 8, 12, 16, 24, 33, 100, 4097] {
                let l = Layout::from_size_align(size, align).expect("valid layout");
                // SAFETY: non-zero sizes; every block is freed with its own layout.
                unsafe {
                    let p = a.alloc(l);
                    assert!(
                        !p.is_null() && (p as usize).is_multiple_of(align),
                        "{size} bytes aligned {align}"
                    );
                    std::ptr::write_bytes(p, 0xa5, size);
                    let q = a.realloc(p, l, size * 3);
                    assert!((q as usize).is_multiple_of(align), "grown {size} bytes aligned {align}");
                    assert!((0..size).all(|i| *q.add(i) == 0xa5), "grown {size} bytes kept");
                    let l3 = Layout::from_size_align(size * 3, align).expect("valid layout");
                    let r = a.realloc(q, l3, size.div_ceil(2));
                    assert!(
                        (r as usize).is_multiple_of(align),
                        "shrunk {size} bytes aligned {align}"
                    );
                    assert!((0..size.div_ceil(2)).all(|i| *r.add(i) == 0xa5));
                    a.dealloc(
                        r,
                        Layout::from_size_align(size.div_ceil(2), align).expect("valid layout"),
                    );
                    let z = a.alloc_zeroed(l);
                    assert!((z as usize).is_multiple_of(align) && (0..size).all(|i| *z.add(i) == 0));
                    a.dealloc(z, l);
                }
            }
        }
    }

    /// The option number is that of `purge_delay` in the linked mimalloc: its default
    /// (1000 ms in mimalloc 3) is the tell, as no other option defaults to 1000.
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reads a global option; the test never sets it.
        let delay = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(delay, 1000);
    }
}
