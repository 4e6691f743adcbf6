//! `cargo bench [--bench dispatch] [-- --rounds N --variants a,b --json --plot FILE.svg]`
//!
//! Signal dispatch latency of sigcore and sigbus against raw `sigwaitinfo`
//! baselines and signal-hook. The code, and what is measured, are in the
//! `sigbench` crate; read the numbers pinned: `taskset -c 1 cargo bench`.

// Counts allocations for the `alloc` variant.
#[global_allocator]
static ALLOC: sigbench::CountingAlloc = sigbench::CountingAlloc;

fn main() -> std::process::ExitCode {
    sigbench::bench_main()
}
