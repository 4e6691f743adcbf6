//! A subscription's readiness fd in event loops: a raw `epoll` loop (level-
//! and edge-triggered) and mio. The fd is readable exactly while the mailbox
//! holds events (the drain protocol in `Subscription::ready_fd`'s docs), many
//! signals between two polls are all there, and the fd goes with the
//! subscription. Each scenario runs in a process of its own (see `sigtest`).

use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::thread;
use std::time::Duration;

use sigbus::TryRecvError;
use sigbus::{Bus, Overflow, Subscription};
use sigcore::Signal;
use sigtest::scenario;

fn me() -> i32 {
    std::process::id() as i32
}

/// A minimal epoll instance over one fd.
struct Epoll(RawFd);

impl Epoll {
    fn new(fd: RawFd, edge: bool) -> Epoll {
        // SAFETY: plain epoll calls on descriptors this test owns.
        unsafe {
            let ep = libc::epoll_create1(libc::EPOLL_CLOEXEC);
            assert!(ep >= 0);
            let mut flags = libc::EPOLLIN as u32;
            if edge {
                flags |= libc::EPOLLET as u32;
            }
            let mut event = libc::epoll_event {
                events: flags,
                u64: 7,
            };
            assert_eq!(libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut event), 0);
            Epoll(ep)
        }
    }

    /// Whether the fd became readable within `timeout_ms`.
    fn wait(&self, timeout_ms: i32) -> bool {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }];
        // SAFETY: a buffer of one event for one.
        let n = unsafe { libc::epoll_wait(self.0, events.as_mut_ptr(), 1, timeout_ms) };
        assert!(n >= 0, "{}", std::io::Error::last_os_error());
        n == 1
    }
}

/// Whether `fd` is readable now (a zero-timeout poll).
fn readable(fd: RawFd) -> bool {
    let mut poll = [libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }];
    // SAFETY: one valid pollfd; a zero timeout never blocks.
    unsafe { libc::poll(poll.as_mut_ptr(), 1, 0) == 1 }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: our own descriptor, closed once.
        unsafe { libc::close(self.0) };
    }
}

/// The drain protocol: `try_recv` until `Empty`; returns how many.
fn drain(sub: &Subscription) -> usize {
    let mut taken = 0;
    loop {
        match sub.try_recv() {
            Ok(_) => taken += 1,
            Err(TryRecvError::Empty) => return taken,
            Err(TryRecvError::Closed) => panic!("closed"),
        }
    }
}

fn queue(rt: Signal, n: i32) {
    for value in 0..n {
        while let Err(sigcore::Error::QueueFull { .. }) = sigcore::sigqueue(me(), rt, value) {
            thread::yield_now();
        }
    }
}

/// Level-triggered: many signals between two polls are one readiness and all
/// there; drained, the fd is not readable (no stale wake-up).
fn epoll_level_triggered() {
    let rt = Signal::realtime(1).unwrap();
    sigcore::block(rt).unwrap();
    let bus = Bus::new();
    let sub = bus.subscription(rt).capacity(1000).open().unwrap();
    let epoll = Epoll::new(sub.ready_fd().unwrap().as_raw_fd(), false);
    assert!(!epoll.wait(0), "readable with an empty mailbox");
    for round in 0..50 {
        queue(rt, 100);
        let mut got = 0;
        while got < 100 {
            assert!(
                epoll.wait(10_000),
                "round {round}: events queued, fd not readable"
            );
            got += drain(&sub);
        }
        assert_eq!(got, 100);
        // The contract: a wake-up may find the mailbox empty (the router's
        // readiness for an event can come just after a reader took it), never
        // the reverse; such a wake-up is cleared by the drain that finds
        // nothing, and it does not come back.
        if epoll.wait(0) {
            assert_eq!(drain(&sub), 0, "round {round}: an event after the drain");
        }
        assert!(
            !epoll.wait(0),
            "round {round}: readiness stuck after an empty drain"
        );
    }
}

/// Edge-triggered: every batch of events produces an edge, none is left
/// without one, over a thousand rounds with a sender racing the drains.
fn epoll_edge_triggered() {
    let rt = Signal::realtime(2).unwrap();
    sigcore::block(rt).unwrap();
    let bus = Bus::new();
    let sub = bus
        .subscription(rt)
        .capacity(64)
        .overflow(Overflow::Backpressure)
        .open()
        .unwrap();
    let epoll = Epoll::new(sub.ready_fd().unwrap().as_raw_fd(), true);
    let total = 20_000;
    let sender = thread::spawn(move || queue(rt, total));
    let (mut got, mut wakes, mut empty_wakes) = (0, 0, 0);
    while got < total as usize {
        assert!(
            epoll.wait(10_000),
            "{got} of {total} taken: an event without an edge (lost wake-up); fd readable: {}; {:?}",
            readable(sub.as_raw_fd()),
            sub.stats()
        );
        wakes += 1;
        let taken = drain(&sub);
        if taken == 0 {
            empty_wakes += 1;
        }
        got += taken;
    }
    sender.join().unwrap();
    assert_eq!(sub.stats().dropped, 0);
    println!("figure: {total} events, {wakes} edges, {empty_wakes} of them found nothing");
}

/// The drain protocol's race, aimed at: a second signal is timed to land
/// while the first is being taken (the take starts 0–6 µs after the send,
/// sweeping the window between "mailbox empty" and "fd lowered"). An event
/// left in the mailbox with the fd not readable is stranded: the loop would
/// sleep on it for good.
fn the_drain_race_never_strands_an_event() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    sigcore::block(Signal::USR1).unwrap();
    let bus = Bus::new();
    let sub = bus.subscribe(Signal::USR1).unwrap();
    let epoll = Epoll::new(sub.ready_fd().unwrap().as_raw_fd(), false);
    let go = Arc::new(AtomicBool::new(false));
    let rounds = 10_000;
    let sender = {
        let go = Arc::clone(&go);
        thread::spawn(move || {
            for _ in 0..2 * rounds {
                while !go.swap(false, Ordering::SeqCst) {
                    std::hint::spin_loop();
                }
                sigcore::raise(Signal::USR1).unwrap();
            }
        })
    };
    for round in 0..rounds {
        // The first signal, taken whole (a wake-up may be stale, so wait for
        // the event itself, not just readiness: the second must not merge
        // with a first still pending in the kernel).
        go.store(true, Ordering::SeqCst);
        let mut first = 0;
        while first == 0 {
            assert!(
                epoll.wait(10_000),
                "round {round}: first signal not readable"
            );
            first += drain(&sub);
        }
        assert_eq!(first, 1, "round {round}");
        // The second, racing the take of whatever the fd says.
        go.store(true, Ordering::SeqCst);
        for _ in 0..(round % 64) * 8 {
            std::hint::spin_loop();
        }
        let mut second = drain(&sub);
        while second == 0 {
            assert!(
                epoll.wait(2_000),
                "round {round}: {} event(s) queued, fd not readable: stranded",
                sub.receiver().len()
            );
            second += drain(&sub);
        }
        assert_eq!(second, 1, "round {round}");
    }
    sender.join().unwrap();
}

/// mio: a `SourceFd` registration/// mio: a `SourceFd` registration, readable, drain, and the subscription's
/// stream of events arrives whole.
fn mio_event_loop() {
    use mio::unix::SourceFd;
    use mio::{Events, Interest, Poll, Token};
    sigcore::block([Signal::USR1, Signal::HUP]).unwrap();
    let bus = Bus::new();
    let usr1 = bus.subscribe(Signal::USR1).unwrap();
    let hup = bus.subscribe(Signal::HUP).unwrap();
    let mut poll = Poll::new().unwrap();
    let (a, b) = (usr1.as_raw_fd(), hup.as_raw_fd());
    poll.registry()
        .register(&mut SourceFd(&a), Token(1), Interest::READABLE)
        .unwrap();
    poll.registry()
        .register(&mut SourceFd(&b), Token(2), Interest::READABLE)
        .unwrap();
    let mut events = Events::with_capacity(8);
    for round in 0..20 {
        let signal = if round % 2 == 0 {
            Signal::USR1
        } else {
            Signal::HUP
        };
        sigcore::raise(signal).unwrap();
        let mut seen = None;
        while seen.is_none() {
            poll.poll(&mut events, Some(Duration::from_secs(10)))
                .unwrap();
            assert!(!events.is_empty(), "round {round}: no readiness");
            for event in &events {
                let sub = if event.token() == Token(1) {
                    &usr1
                } else {
                    &hup
                };
                while let Ok(got) = sub.try_recv() {
                    seen = Some(got.signal);
                }
            }
        }
        assert_eq!(seen, Some(signal), "round {round}");
    }
}

/// The fd is the subscription's: closed when it drops; at shutdown it turns
/// readable and `try_recv` says the mailbox is closed.
fn the_fd_goes_with_the_subscription() {
    sigcore::block(Signal::USR2).unwrap();
    let bus = Bus::new();
    let sub = bus.subscribe(Signal::USR2).unwrap();
    let fd = sub.as_fd().as_raw_fd();
    assert_eq!(sub.as_raw_fd(), fd, "made once");
    drop(sub);
    // SAFETY: F_GETFD only asks about the descriptor number.
    assert_eq!(unsafe { libc::fcntl(fd, libc::F_GETFD) }, -1, "still open");

    let sub = bus.subscribe(Signal::USR2).unwrap();
    let epoll = Epoll::new(sub.ready_fd().unwrap().as_raw_fd(), false);
    bus.shutdown();
    assert!(epoll.wait(10_000), "shutdown must wake the loop");
    assert!(matches!(sub.try_recv(), Err(TryRecvError::Closed)));
}

fn main() {
    sigtest::run(&[
        scenario!(epoll_level_triggered),
        scenario!(epoll_edge_triggered),
        scenario!(the_drain_race_never_strands_an_event),
        scenario!(mio_event_loop),
        scenario!(the_fd_goes_with_the_subscription),
    ]);
}
