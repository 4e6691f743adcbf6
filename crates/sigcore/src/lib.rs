//! Unix signals as typed events, served by one dedicated thread.
//!
//! A signal handler may only do async-signal-safe work, and most runtimes (Python's
//! `signal` module among them) therefore run "handlers" later, on the main thread
//! only. sigcore takes the other road: the signals you care about are **blocked**
//! in every thread, and one thread, `sigcore-waiter`, takes them from the kernel
//! with a blocking read of a `signalfd` (one system call per wake-up, like
//! `sigwaitinfo`, but batched under load and keeping `si_code` intact) and turns
//! each into a [`SignalEvent`]: the signal, a sequence
//! number, a timestamp, and its [`Origin`] (who sent it with `kill` or `sigqueue`,
//! the payload, which child exited and how, a timer…). Events are ordinary values:
//! send them to any thread and do anything with them.
//!
//! # Quick start
//!
//! ```
//! use sigcore::{Signal, Signals};
//!
//! fn main() -> Result<(), sigcore::Error> {
//!     // 1. First thing in main, before any thread exists: block the set.
//!     let set = Signal::USR1 | Signal::HUP;
//!     sigcore::block(set)?;
//!
//!     // 2. Serve it; any thread can receive.
//!     let signals = Signals::new(set)?;
//!     let worker = std::thread::spawn(move || {
//!         let event = signals.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
//!         println!("{} from pid {:?}", event.signal, event.origin.pid());
//!         event
//!     });
//!
//!     // 3. `kill -USR1 <pid>` from a shell does the same as this.
//!     sigcore::kill(std::process::id() as i32, Signal::USR1)?;
//!     assert_eq!(worker.join().unwrap().signal, Signal::USR1);
//!     Ok(())
//! }
//! ```
//!
//! # Anatomy of the crate
//!
//! - [`Signal`], [`SignalSet`], [`DefaultAction`]: signals as values: names,
//!   descriptions (`strsignal`), parsing (`"USR1"`, `"SIGRTMIN+3"`, `"10"`), and
//!   [`Signal::all`] (Python's `valid_signals`).
//! - [`Signals`] (a channel) and [`Registration`] with a [`Sink`] (a callback on the
//!   waiter thread, for routers such as the `sigbus` crate).
//! - [`SignalEvent`], [`Origin`], [`ChildStatus`], [`IoEvent`]: what arrived and
//!   from whom. A `si_code` means something only together with its signal
//!   (`F_SETOWN`/`F_SETSIG` let any process that may signal us have the kernel
//!   deliver any signal with a `POLL_*` code), so origins are decoded per
//!   signal: only what the kernel alone can cause reads as [`Origin::Kernel`] or
//!   [`Origin::Child`].
//! - Sending: [`kill`], [`raise`], [`sigqueue`], [`ThreadHandle::send`] (`tgkill`),
//!   [`Pidfd`], [`process_exists`].
//! - Timers: [`alarm`], [`set_timer`], [`get_timer`].
//! - Process state: [`block`], [`unblock`], [`thread_mask`], [`pending`],
//!   [`disposition`], [`served`], [`ignore`], [`set_default`], [`wait`]
//!   (`sigtimedwait` for thread-directed signals), [`thread_pending`] and
//!   [`take_thread_directed`] (a thread's own pending signals), [`exit_by_signal`],
//!   [`ProcSignals`] and [`TaskName`] (any process's `/proc` view, read as bytes).
//! - Flow control: [`hold`] and [`resume`] leave a signal's instances in the
//!   kernel (real-time senders get [`Error::QueueFull`] at the queue limit).
//! - One wake-up instead of two: [`Registration::direct`] gives a [`Direct`],
//!   with which the thread that acts on a registration's signals takes them
//!   itself (the waiter leaves them alone while that thread waits, and takes
//!   them back [`DIRECT_GAP`] after it stops); [`Doorbell`] parks many readers
//!   and wakes them all with one futex call; [`ReadyFd`] is readiness as a
//!   file descriptor for event loops.
//! - Diagnostics: [`safety_net_stats`], [`stranded`], [`on_waiter_thread`].
//! - Children: [`CommandExt::reset_signals`].
//!
//! # Signal masks
//!
//! The kernel hands a process-directed signal to *any* thread that does not block
//! it, and runs its disposition there: for SIGUSR1, SIGTERM or SIGHUP the default
//! ends the process. Masks are per thread and inherited by new threads, and there
//! is no call that blocks a signal in threads that already exist. So:
//!
//! 1. call [`block`] with your set at the top of `main`, before any thread is
//!    spawned (registrations block their set in the calling thread too, but that
//!    is too late for threads created earlier);
//! 2. every thread sigcore starts blocks everything;
//! 3. for threads you do not control (created by a C library, or before `main`
//!    could block), a **safety net** catches the signal: a `SA_SIGINFO` handler
//!    records it in a lock-free ring, wakes the waiter, and blocks the signal in
//!    that thread from then on, so the signal is neither lost nor fatal. sigcore
//!    logs a warning naming such threads when it starts serving a signal. A
//!    thread that keeps the signal unblocked for good (`sigsuspend` or `ppoll`
//!    with an empty mask) can fill the ring under a storm: `sigqueue` payloads
//!    still arrive whole, a `kill`'s sender may be lost (counted in
//!    [`safety_net_stats`], logged).
//!
//! # Other signal libraries in the process
//!
//! A handler that someone else installed (signal-hook, and so tokio's signal
//! driver; a C library; your own `sigaction`) cannot run while sigcore serves
//! the signal: sigcore blocks it and takes it from a signalfd. So sigcore never
//! takes a signal from another library silently:
//!
//! - a signal that already has a foreign handler is refused
//!   ([`Error::ForeignHandler`] names it), unless the registration opts into
//!   [`ForeignHandlers::Chain`]: then sigcore serves it *and* calls that handler
//!   for each event, on the waiter thread, as the kernel would have;
//! - a handler installed over sigcore's while it serves the signal is noticed at
//!   the next event: a warning by default, chained under `Chain`;
//! - on release, sigcore restores the disposition it found only if its own
//!   handler is still installed; a handler installed meanwhile stays.
//!
//! # Releasing a signal
//!
//! Dropping the last [`Registration`] (or [`Signals`]) that holds a signal puts its
//! previous disposition back (Go's `signal.Reset`). What happens to the mask
//! depends on who blocked the signal:
//!
//! - blocked by a registration (nothing had blocked it): that was sigcore's change,
//!   so the default action comes back at once: the waiter unblocks the signal in
//!   its own thread, and a program that stops listening to SIGINT dies on Ctrl-C
//!   again. When nothing is registered the waiter exits, unless every other thread
//!   still blocks such a signal; then it stays, idle, to take its default action,
//!   until some thread [`unblock`]s it;
//! - blocked by you with [`block`] (the start-up call): your choice stands. The
//!   signal stays blocked, so instances that arrive wait, pending, for the next
//!   registration (a bus can stop and start again without losing or dying of
//!   them). [`unblock`] it to get the default action back.
//!
//! # Caveats
//!
//! - **Standard signals coalesce**: several SIGUSR1 sent while one is pending arrive
//!   as one event. Real-time signals ([`Signal::rtmin`]..[`Signal::rtmax`]) queue,
//!   up to `RLIMIT_SIGPENDING`; [`sigqueue`] fails with [`Error::QueueFull`] past
//!   that, while `kill` silently loses them. SIGCHLD coalesces too: reap in a loop.
//! - **Order needs blocking**: events come out in the order the waiter took them.
//!   A signal caught by the safety net (on a thread that did not block it) can be
//!   overtaken by one the waiter took directly; real-time order holds when every
//!   thread blocks the set, which is what the start-up call is for.
//! - **Thread-directed signals** (`tgkill`, `pthread_kill`, libc's `raise(3)`) reach
//!   only their target thread: the waiter never sees them. Take them in that thread
//!   with [`wait`]. [`raise`] here is `kill(getpid())`, so the waiter sees it.
//! - **Forbidden signals**: SIGKILL and SIGSTOP cannot be caught; SIGSEGV, SIGBUS,
//!   SIGILL, SIGFPE and SIGTRAP report faults to the faulting thread. Asking to serve
//!   them is [`Error::Forbidden`].
//! - **SIGRTMAX is reserved**: sigcore sends it to its own waiter thread (only) to
//!   wake it for commands, so the waiter can block in a single `read` of its
//!   signalfd, as cheap as `sigwaitinfo`. It cannot be served. From the first use
//!   on, it has a do-nothing handler, so a SIGRTMAX sent from outside is harmless.
//!   Where something else holds SIGRTMAX when sigcore starts (another library's
//!   handler; valgrind keeps it for itself), the highest free real-time signal
//!   below it is reserved instead: [`Signal::check_waitable`] names it. Wake-ups
//!   never depend on a free signal-queue slot: when this user's
//!   `RLIMIT_SIGPENDING` count is full, they go through a POSIX timer whose
//!   queue entry was set aside when the waiter started (and a waiter that has to
//!   start while the queue is full looks for work every 100 ms until it can make
//!   that timer).
//! - **Process-wide effects**: dispositions are per process. While sigcore serves a
//!   signal, [`ignore`] and [`set_default`] refuse to touch it.
//! - **Children** inherit the blocked mask across `exec`, and a blocked signal
//!   that nothing waits for is never delivered: such a child ignores `kill PID`
//!   and Ctrl-C. Spawn children with [`CommandExt::reset_signals`] (from any
//!   thread, actors included). **Children that third-party code spawns**
//!   (a crate's own `Command`, `libc::system`, `popen`, a C library that forks)
//!   cannot get it: they inherit the mask of the thread that spawns them. Spawn
//!   such work from a thread that unblocks the set first, or exec through a
//!   wrapper that resets it (`sigbus init`); `sigbus inspect PID` flags the
//!   symptom (signals blocked but neither caught nor waited for).
//!   A child of `fork` without `exec` has no waiter:
//!   its signals stay blocked until it creates a registration of its own (sigcore
//!   notices the new pid and starts a fresh waiter). What the child inherited
//!   from the parent serves nothing: [`disposition`] reports what sigcore
//!   replaced, and a served signal the child unblocks goes to that disposition
//!   (sigcore's inherited handler puts it back and passes the signal on). As with any library that uses locks, `fork` while
//!   another thread is inside a sigcore call (registering, releasing) can leave
//!   the child with a lock nobody will release: fork from a quiet moment, or exec.
//! - A [`Sink`] runs on the waiter thread (or, for signals taken through a
//!   [`Direct`], on the thread waiting in [`Direct::wait`]): it must not block.
//! - While a [`Direct`] holds a lease, the waiter waits with `sigtimedwait`
//!   instead of reading its signalfd (every blocked signalfd reader is woken by
//!   every signal to the process, which would cost the direct reader its
//!   single wake-up). Leased signals that arrive while their reader is busy
//!   wait in the kernel up to [`DIRECT_GAP`]; standard ones coalesce meanwhile,
//!   and several pending together are taken lowest number first.
//! - Linux only for now (signalfd, eventfd, pidfd); the platform code is confined to
//!   one private module.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(rust_2018_idioms)]

mod children;
mod command;
mod control;
mod direct;
mod doorbell;
mod error;
mod event;
mod neighbours;
mod procfs;
mod ready;
mod recv;
mod registration;
mod send;
mod set;
mod signal;
mod signals;
mod sys;
mod timer;
mod waiter;

pub use crate::{
    children::{
        children, is_child_subreaper, parent_pid, peek_child, reap_any_child, reap_child,
        set_child_subreaper, set_parent_death_signal, ChildExit,
    },
    command::CommandExt,
    control::{
        block, block_while_served, disposition, disposition_at_start, exit_by_signal, held, hold,
        ignore, mask_at_start, pending, reset, resume, safety_net_stats, served, set_default,
        spawn_blocked, take_thread_directed, thread_mask, thread_pending, unblock,
        unblock_after_serving, wait, wait_timeout, Disposition, SafetyNetStats,
    },
    direct::{delivering_directly, Direct, Waited, DIRECT_GAP},
    doorbell::Doorbell,
    error::{Error, Result},
    event::{ChildStatus, IoEvent, Origin, SignalEvent},
    neighbours::ForeignHandlers,
    procfs::{stranded, ProcSignals, Stranded, TaskName},
    ready::ReadyFd,
    recv::{RecvError, RecvTimeoutError, TryRecvError},
    registration::{Registration, RegistrationBuilder},
    send::{
        current_uid, kill, kill_process_group, process_exists, raise, sigqueue, Pidfd, ThreadHandle,
    },
    set::{Iter, SignalSet},
    signal::{DefaultAction, Signal},
    signals::{Handle, Signals, DEFAULT_CAPACITY},
    timer::{alarm, get_timer, set_timer, Timer, TimerValue},
    waiter::{on_waiter_thread, Sink},
};

/// The channel crate of [`Signals::receiver`], for `select!` without a
/// dependency of your own.
pub use crossbeam_channel;
