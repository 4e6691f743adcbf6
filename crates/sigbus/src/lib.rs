//! Route Unix signals to any thread: subscriptions, actors, graceful shutdown.
//!
//! Most runtimes (Python's `signal` module among them) run signal handlers on the
//! main thread only. sigbus sits on [`sigcore`]'s waiter thread, which turns each
//! signal into a typed [`SignalEvent`], and routes every event to the
//! subscriptions and actors that asked for it, over bounded `crossbeam-channel`
//! mailboxes. Any thread can subscribe to any signal; several can subscribe to
//! the same one and each gets every event; a slow or crashed subscriber never
//! delays the others.
//!
//! # Quick start
//!
//! Worker threads subscribe to SIGUSR1; a server thread reloads on SIGHUP.
//!
//! ```
//! use std::thread;
//! use sigbus::Bus;
//! use sigbus::Signal;
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // First thing in main, before any thread exists: block what the bus serves.
//!     sigbus::block(Signal::USR1 | Signal::HUP)?;
//!     let bus = Bus::new();
//!
//!     let workers: Vec<_> = (0..4)
//!         .map(|i| {
//!             let usr1 = bus.subscribe(Signal::USR1).unwrap();
//!             thread::Builder::new().name(format!("worker-{i}")).spawn(move || {
//!                 let event = usr1.recv().unwrap();
//!                 println!("{} got {} from pid {:?}",
//!                          thread::current().name().unwrap(), event.signal, event.origin.pid());
//!             }).unwrap()
//!         })
//!         .collect();
//!
//!     let hangups = bus.subscribe(Signal::HUP)?;
//!     let server = thread::spawn(move || {
//!         let event = hangups.recv().unwrap();
//!         println!("server: reloading config ({event})");
//!     });
//!
//!     // `kill -USR1 <pid>` and `kill -HUP <pid>` from a shell do the same.
//!     sigbus::raise(Signal::USR1)?;
//!     sigbus::raise(Signal::HUP)?;
//!     for worker in workers {
//!         worker.join().unwrap();
//!     }
//!     server.join().unwrap();
//!     bus.shutdown();
//!     Ok(())
//! }
//! ```
//!
//! # Which API do I want?
//!
//! | you want | use |
//! | --- | --- |
//! | one thread that reads signals, nothing else | [`sigcore::Signals`]: one channel, the thinnest layer |
//! | a quick callback on sigcore's waiter thread | [`sigcore::Registration`]: no channel; must not block, no bus calls |
//! | to wait for a signal in place, on this thread | [`sigcore::wait_timeout`] (`sigtimedwait`) |
//! | several threads, each getting every event of the signals it asked for | [`Bus::subscribe`] → [`Subscription`]: filters, overflow policy, counters, `select!`, async, an fd for event loops |
//! | a long-lived component driven by signals and messages, restarted if it panics | [`Bus::actor`] → [`Actor`]: supervision, targeted events, a shutdown hook |
//! | Ctrl-C / SIGTERM → finish the work → exit the way a parent expects | [`Bus::shutdown_coordinator`]: grace period, a second signal forces, a notice for any thread |
//! | to spawn children and reap them without stealing anyone's exit status | [`Bus::reaper`] |
//! | to run one command as a container's PID 1 (what tini and dumb-init do) | [`Init`], or the `sigbus init` command |
//!
//! Coming from elsewhere: the [`guide`] has what you wrote there and what you
//! write here, from [Python's `signal`](guide::from_python),
//! [signal-hook](guide::from_signal_hook), [`tokio::signal`](guide::from_tokio)
//! and [Go's `os/signal`](guide::from_go).
//!
//! # Blocking calls, `EINTR` and logs
//!
//! The signals a bus serves are blocked in every thread and taken by sigcore's
//! waiter from a `signalfd`, so they never interrupt anything: no `EINTR` from
//! `read`, `accept`, `sleep` or a lock for them, and no `SA_RESTART` to think
//! about. Signals nothing serves keep their usual behaviour.
//!
//! Dropped and refused events, foreign handlers and other surprises are
//! reported through the [`log`](https://docs.rs/log) crate (warnings, sampled
//! under floods) as well as counted in [`Bus::stats`]: nothing is printed
//! unless the program installs a logger, e.g. `env_logger::init()` with
//! `RUST_LOG=sigbus=info,sigcore=info`.
//!
//! # Anatomy of the crate
//!
//! - [`Bus`]: the routing table; [`Bus::subscribe`] and [`Bus::subscription`]
//!   give a [`Subscription`] (`recv`, `try_recv`, `recv_timeout`, an iterator, the
//!   raw receiver for `select!`). Dropping it unsubscribes; dropping the last
//!   interest in a signal releases it (its previous disposition comes back). A
//!   live subscription or actor keeps the bus alive: dropping every `Bus` handle
//!   releases nothing they hold; [`Bus::shutdown`] closes everything now.
//! - Mailboxes are bounded, with an [`Overflow`] policy (drop newest, drop oldest,
//!   coalesce, or backpressure: hold the signal in the kernel while the mailbox is
//!   full, losing nothing) and a [`SenderFilter`] (same user, root, pids, kernel
//!   only; only senders the kernel vouches for count); every dropped or refused
//!   event is counted in [`Bus::stats`].
//! - [`Bus::send_to`] / [`ActorRef::signal`]: targeted delivery to one mailbox,
//!   the `pthread_kill` analogue, without touching process signal state.
//! - [`Actor`], [`Bus::actor`]: named threads with a signal mailbox, a message
//!   queue and a control port (served first), supervised by [`Supervision`].
//! - [`Bus::shutdown_coordinator`] (or [`Bus::coordinator`] for the policy):
//!   first SIGINT/SIGTERM → graceful shutdown with a grace period, a notice to
//!   every actor and to any thread that asked ([`ShutdownCoordinator::notice`]);
//!   a second one (a burst counts as one, see [`SecondSignal`]) or the deadline
//!   → the process ends by that signal, also during the drain after a clean
//!   shutdown (the escape hatch stays armed until exit or
//!   [`ShutdownCoordinator::disarm`]).
//! - [`Bus::routes`] and [`Bus::stats`]: who listens to what; counters.
//! - [`Bus::reaper`]: reaps children nobody waits for, without stealing
//!   statuses from `Child::wait`; [`Init`]: a container init (tini,
//!   dumb-init) as a library, behind the `sigbus init` command.
//!
//! # Delivery
//!
//! Every subscription of a signal gets every event for it, in the order the
//! waiter accepted them, with the same sequence number. Routing goes only
//! through the subscriptions of that signal, takes no lock and allocates nothing
//! (the table is published as an immutable snapshot). Once
//! [`Subscription::unsubscribe`] (or drop) returns, nothing more is routed to it.
//!
//! How an event reaches a reader, fastest first:
//!
//! - **Directly, one wake-up.** A subscription that is the only consumer of
//!   its signals, read with [`Subscription::recv`] or `recv_timeout` (not
//!   through [`Subscription::receiver`], a waker or the fd), takes them on the
//!   receiving thread: the kernel wakes that thread itself, which routes the
//!   event exactly as the waiter would (filters, counters, sequence numbers).
//!   Pinned, that is within about 1.2× of a bare `sigwaitinfo` in the acting
//!   thread. [`MailboxStats::direct`] counts such events. While the reader is
//!   busy between two receives its signals wait in the kernel, for at most
//!   [`sigcore::DIRECT_GAP`] (5 ms) before the waiter takes them over: a
//!   standard signal sent twice in that time coalesces, as it would for any
//!   busy reader. Opt out with `.direct(false)` on the subscription builder.
//! - **Through the waiter, two wake-ups.** Everything else: several
//!   subscribers (the waiter routes once, then one futex wake reaches all the
//!   readers parked on a signal), actors, `select!` on a receiver, async
//!   tasks and readiness fds.
//!
//! # Async and event loops
//!
//! Every event already waits in its subscription's mailbox, filled by sigcore's
//! waiter thread, so neither async code nor an event loop needs a signal
//! handler, a self-pipe or a reactor registration: only a wake-up.
//!
//! - **Async** (cargo feature `async`, no runtime dependency): a
//!   [`Subscription`] is a `futures_core::Stream` of events, and
//!   [`Subscription::recv_async`] awaits one; so is the shutdown notice
//!   ([`NoticeReceiver`]). They work under tokio (current- and multi-thread),
//!   async-io/smol, `futures::executor::block_on`, several at once. Cancel-safe:
//!   an event leaves the mailbox only when it is returned.
//! - **Event loops** (always available): [`Subscription::ready_fd`] (and its
//!   `AsFd`) is a file descriptor readable while the mailbox holds events, for
//!   epoll, mio, calloop or glib. It carries no data; drain with `try_recv` until
//!   `Empty` (the protocol is in `ready_fd`'s docs). Made on first use, so
//!   subscriptions that never ask pay nothing.
//!
//! Coming from `tokio::signal`:
//!
//! | with `tokio::signal` | with sigbus | what you gain |
//! | --- | --- | --- |
//! | `signal(SignalKind::hangup())?` inside a runtime | `bus.subscribe(Signal::HUP)?` anywhere, before or outside any runtime | no "no reactor running" panic; any executor; a set of signals in one stream |
//! | `stream.recv().await` → `Option<()>` | `sub.recv_async().await` → `SignalEvent` | who sent it (pid, uid), `sigqueue` payloads, child status, sequence number |
//! | one stream per signal | `bus.subscribe([Signal::HUP, Signal::USR1])` | one stream for several signals |
//! | the handler stays for the life of the process (the default action never comes back) | dropping the last subscription restores the previous disposition | the default action can come back: a released SIGINT kills again once [`unblock`]ed (the start-up `block` stays until then) |
//! | `ctrl_c().await` | `bus.shutdown_coordinator(grace)?.notice().recv_async().await` | a grace period, actors told, a second Ctrl-C forcing the exit |
//!
//! ```
//! # #[cfg(feature = "async")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use sigbus::Signal;
//!
//! sigbus::block(Signal::HUP)?; // before the runtime starts its threads
//! let bus = sigbus::Bus::new();
//! let hangups = bus.subscribe(Signal::HUP)?;
//! sigbus::raise(Signal::HUP)?;
//! // Any executor; here futures' own.
//! let event = futures_executor::block_on(hangups.recv_async())?;
//! println!("reload requested by pid {:?}", event.origin.pid());
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "async"))]
//! # fn main() {}
//! ```
//!
//! # Children and containers
//!
//! A [`Reaper`] takes SIGCHLD from the bus and reaps, one pid at a time, the
//! children it spawned and those nobody else waits for (after a grace period,
//! so a `Child::wait` elsewhere still gets its status); each reaped child is
//! also published to the bus's other SIGCHLD subscriptions.
//!
//! ```
//! use std::process::Command;
//! use std::time::Duration;
//! use sigbus::{ChildStatus, Signal};
//!
//! sigbus::block(Signal::CHLD)?; // first thing in main
//! let bus = sigbus::Bus::new();
//! let reaper = bus.reaper().subreaper(true).start()?;
//! let child = reaper.spawn(Command::new("sh").args(["-c", "exit 3"]))?;
//! let exit = child.wait_timeout(Duration::from_secs(30)).expect("sh exits");
//! assert_eq!(exit.status, ChildStatus::Exited(3));
//! reaper.stop();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! An [`Init`] runs one command as a container's PID 1 runs it (or, as a
//! child subreaper, anywhere): every signal it receives goes on to the
//! command (rewritten if asked: [`SignalRewrites`]), every zombie is reaped,
//! and it reports the command's exit code, 128 + n for a command killed by
//! signal n ([`exit_code`]). Its policy is in plain functions; see the
//! docs of [`Init`] for PID 1 and the caveats.
//!
//! ```
//! use std::process::Command;
//! use std::time::Duration;
//! use sigbus::Signal;
//!
//! // First thing in main, before any thread exists.
//! let mut sleep = Command::new("sleep");
//! sleep.arg("30");
//! let mut init = sigbus::Init::builder(sleep).subreaper(true).start()?;
//! // A supervisor's `kill -TERM <init>`: the init passes it on to `sleep`.
//! sigbus::raise(Signal::TERM)?;
//! let exit = init.wait_timeout(Duration::from_secs(30))?.expect("sleep ends");
//! assert_eq!(exit.code, 143); // 128 + SIGTERM, as a shell reports it
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Thread-directed signals
//!
//! A `tgkill`, `pthread_kill` or libc `raise` aimed at an actor's thread stays
//! pending on that thread, which blocks every signal, where no waiter can take it.
//! Actors look for such stranded signals after each event they handle and at
//! least once a second when idle: a stranded signal the actor subscribes to is
//! handed to it (origin `tkill`); any other is logged and counted as dropped. To
//! reach one actor, use [`ActorRef::signal`] instead: no kernel round trip.
//!
//! # Caveats
//!
//! - Everything in [`sigcore`]'s caveats applies: standard signals coalesce, real-
//!   time ones queue; block the set in `main` before spawning threads; spawn
//!   children with [`sigcore::CommandExt::reset_signals`] (children that
//!   third-party code spawns inherit the blocked mask: see sigcore's caveats);
//!   another library's handler on a signal is refused unless you opt into
//!   delivering to both (`foreign_handlers`).
//! - Subscribing blocks the signal in the subscribing thread. Releasing it (the
//!   last subscription of any bus, or [`Bus::shutdown`]) undoes that block in the
//!   thread that releases it if that thread is the one that subscribed; other
//!   threads keep their block (no thread can change another's mask), so a
//!   process-directed signal then goes to the waiter thread, which takes its
//!   restored disposition, and children those threads spawn without
//!   `reset_signals` inherit the block.
//! - Routing happens on sigcore's waiter thread (or, for a sole subscriber
//!   waiting in `recv`, on the receiving thread); a full mailbox drops (and
//!   counts) rather than waiting, unless it asked for [`Overflow::Backpressure`].
//! - A subscription read directly takes, like `sigwait`, the standard signals
//!   pending together lowest number first, and a thread-directed signal
//!   (`tgkill`, libc `raise`) sent to the receiving thread itself.
//! - Bus calls from inside a sigcore [`sigcore::Sink`] (on the waiter thread)
//!   cannot wait for the waiter: subscribing there is
//!   `BusError::Signal(sigcore::Error::InSink)`.
//! - A panic in an actor is caught, but Rust's panic hook still prints it to
//!   stderr; install your own hook to change that.
//! - [`Bus::shutdown`] joins actors: one stuck in a handler holds it up. The
//!   coordinator does not wait past its grace period.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod actor;
mod blocks;
mod bus;
mod error;
mod filter;
mod hold;
mod inbox;
mod init;
mod mailbox;
mod notify;
mod reaper;
mod registry;
mod router;
mod shutdown;
mod stats;
mod subscription;

pub mod guide;

pub use crate::{
    actor::{Actor, ActorBuilder, ActorExit, ActorRef, Context, Supervision, DEFAULT_MESSAGES},
    bus::{Bus, SubscriptionBuilder, DEFAULT_MAILBOX},
    error::{BusError, DeliverError, SendError, TrySendError},
    filter::SenderFilter,
    init::{
        exec_failure_code, exit_code, forwarded_signals, suspends_init, ExitRemap, ForwardTo, Init,
        InitBuilder, InitError, InitEvent, InitExit, SignalRewrites, Target,
    },
    mailbox::{MailboxKind, Overflow},
    reaper::{ReapedChild, Reaper, ReaperBuilder, Unowned},
    registry::SubscriptionId,
    shutdown::{
        CoordinatorBuilder, NoticeReceiver, SecondSignal, ShutdownCoordinator, ShutdownNotice,
        ShutdownOutcome,
    },
    stats::{BusStats, Listener, MailboxStats, Route, SignalStats},
    subscription::Subscription,
};
// What a sigbus program touches from sigcore, so it needs no other import.
pub use sigcore::{
    block, kill, raise, sigqueue, unblock, ChildStatus, CommandExt, Origin, RecvError,
    RecvTimeoutError, Signal, SignalEvent, SignalSet, ThreadHandle, TryRecvError,
};

/// The layer below, whole: everything else (timers, dispositions, masks,
/// children, `Signals`, `Registration`, its [`Error`](sigcore::Error)).
pub use sigcore;

/// The channel crate of [`Subscription::receiver`] and
/// [`NoticeReceiver::receiver`], for `select!` over signals and your own
/// channels without a dependency of your own (use it to be sure the versions
/// match).
pub use sigcore::crossbeam_channel;

/// The names most programs use: `use sigbus::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Actor, ActorRef, Bus, BusError, ChildStatus, CommandExt, Context, Origin, Overflow,
        SenderFilter, Signal, SignalEvent, SignalSet, Subscription,
    };
}
