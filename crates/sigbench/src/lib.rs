//! Dispatch-latency benchmarks for `sigcore` and `sigbus`, shared by
//! `cargo bench --bench dispatch` (the workspace root's `benches/`) and the
//! `sigbus bench` subcommand.
//!
//! # What is measured
//!
//! Latency runs from just before the sending system call (`kill`) on the sender
//! thread to the moment the receiving *worker* thread has the event in hand, on
//! the monotonic clock. Rounds are ping-pong: send one signal, wait until every
//! receiver has it (that acknowledgement is not timed), repeat, so standard
//! signals never coalesce. Each variant gets warm-up rounds and one
//! `hdrhistogram` of measured rounds. The variants (see [`variant_names`]):
//!
//! - `floor`: a raw `sigwaitinfo` loop; one kernel wake-up, the physical floor.
//! - `floor-hop`: the same plus one `crossbeam-channel` hop to a worker: the
//!   budget the bus is held to (see the design notes, "Latency budget").
//! - `sigcore`: sigcore's waiter thread, a [`sigcore::Sink`] records.
//! - `sigbus`, `sigbus-actor`: one subscription read on a worker thread; the
//!   same through an actor's mailbox.
//! - `sigbus-channel`: one subscription read through its channel
//!   (`Subscription::receiver`, as `select!` does): the two-hop path with a
//!   crossbeam channel between router and reader, kept to compare with.
//! - `sigbus-async`: one subscription awaited with `recv_async` by a task on a
//!   tokio current-thread runtime on a thread of its own (the time is taken in
//!   the task); compared with `sigbus` and with `peer-tokio`.
//! - `sigbus-fd`: one subscription woken through its readiness fd
//!   ([`sigbus::Subscription::ready_fd`]) in a plain level-triggered
//!   `epoll_wait` loop, drained with `try_recv` until `Empty`; compared with
//!   `sigbus`.
//! - `sigbus-fanout-K` and `floor-fanout-K` (K = 4, 16, 64, 256): K receiving
//!   threads; time until the last and until the first has the event.
//! - `peer-signal-hook`: `signal_hook::iterator::Signals` forwarding to a worker.
//! - `peer-tokio`: `tokio::signal::unix::signal(SignalKind::user_defined1())`
//!   awaited by a task on the same kind of runtime as `sigbus-async`: tokio's
//!   own signal handling.
//! - `floor-hop-throughput`, `rt-throughput-1`, `rt-throughput-4`: a stream of
//!   queued real-time signals with sequence-number payloads; events/s, losses and
//!   ordering.
//! - `alloc`, `alloc-async`: allocations per routed event (through
//!   [`CountingAlloc`]), read by a thread in `recv` or by the `sigbus-async`
//!   task, and resident memory per 1,000 idle subscriptions.
//!
//! The table's ratio columns divide by the same run's `floor-hop`,
//! `peer-signal-hook` and `sigbus` rows (`p50/hop`, `p50/peer`, `p50/bus`); a
//! `p50 ratios` line sums up `sigbus-async` and `sigbus-fd` over `sigbus`, and
//! `sigbus-async` over `peer-tokio`, when those rows ran.
//!
//! # Anatomy of the crate
//!
//! Every variant runs in a child process of its own, so no signal mask,
//! disposition or waiter thread leaks from one variant into the next: [`run`]
//! re-executes [`std::env::current_exe`] once per variant with the variant named
//! in the environment, and the binary's `main` hands control to
//! [`child_main_if_requested`], which measures and prints one JSON line. The
//! parent gathers the lines into [`VariantResult`]s and prints a table (or JSON
//! lines), and optionally an SVG percentile plot.
//!
//! # Using it from a binary
//!
//! ```no_run
//! #[global_allocator]
//! static ALLOC: sigbench::CountingAlloc = sigbench::CountingAlloc;
//!
//! fn main() -> std::process::ExitCode {
//!     // First thing, before any thread exists: a benchmark child never returns.
//!     sigbench::child_main_if_requested();
//!     let options = sigbench::Options { rounds: 5_000, ..Default::default() };
//!     match sigbench::run(&options, &mut std::io::stdout()) {
//!         Ok(results) if results.iter().all(|r| !r.is_failed()) => std::process::ExitCode::SUCCESS,
//!         Ok(_) => std::process::ExitCode::FAILURE,
//!         Err(e) => {
//!             eprintln!("bench: {e}");
//!             std::process::ExitCode::from(2)
//!         }
//!     }
//! }
//! ```
//!
//! # Caveats
//!
//! - The numbers depend on the machine: core count, CPU frequency scaling and
//!   idle states all show up in wake-up latency. Compare ratios measured in the
//!   same run, not absolute numbers across machines.
//! - Threads go where the scheduler puts them. On a small virtual machine a
//!   wake-up that crosses to an idle (halted) virtual CPU can cost several
//!   times the whole software path, and whether it does depends on where the
//!   threads happened to start, so two runs can differ by a factor. To measure
//!   the software path alone, pin the run to one CPU: children inherit the
//!   affinity, e.g. `taskset -c 1 cargo bench --bench dispatch`.
//!   The table's header says how many CPUs the run could use.
//! - Fan-out with K ≥ 64 runs a tenth of the rounds (and warm-up) to keep a
//!   default run short; the table and the JSON say so.
//! - `peer-signal-hook` gets its best case: SIGUSR1 is blocked in every thread
//!   except signal-hook's iterator thread, so its handler runs on the thread that
//!   reads its pipe (one wake-up instead of two).
//! - `peer-tokio` gets the same best case. tokio's handler must run somewhere,
//!   so SIGUSR1 cannot stay blocked everywhere as sigbus wants it: it stays
//!   blocked in the sending main thread (blocked before any thread exists) and is
//!   unblocked only in the runtime's thread, right after `signal()` installed the
//!   handler and before the first round. The kernel then delivers every ping to
//!   that thread, interrupting its `epoll_wait`; the handler writes tokio's pipe
//!   on the thread whose next `epoll_wait` reads it, and no other thread is
//!   woken. This is fair, and if anything flatters tokio: in an application
//!   where the signal is unblocked in other threads too, the kernel may run the
//!   handler on any of them, and its pipe write must then wake the runtime's
//!   thread, a second wake-up. The sigbus rows keep the signal blocked
//!   everywhere, as sigbus requires.
//! - `sigbus-async` and `peer-tokio` use the same runtime: current-thread, IO
//!   driver enabled (`tokio::signal` needs it, and an application's runtime has
//!   it), so an idle runtime parks in `epoll_wait` and a wake from another
//!   thread writes its eventfd. Both await in a spawned task, not in `block_on`.
//! - `alloc` needs [`CountingAlloc`] as the binary's global allocator; without
//!   it that variant fails with a message saying so.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(rust_2018_idioms)]

mod alloc;
mod bench_main;
mod child;
mod epoll;
mod error;
mod histogram;
mod options;
mod parent;
mod plot;
mod raw;
mod report;
mod result;
mod variants;

pub use crate::{
    alloc::{allocations, CountingAlloc},
    bench_main::bench_main,
    child::child_main_if_requested,
    error::BenchError,
    options::Options,
    parent::run,
    result::{AllocStats, LatencyStats, Outcome, Percentiles, ThroughputStats, VariantResult},
    variants::{check_variants, variant_names},
};
