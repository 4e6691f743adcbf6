//! Scenarios that pin down semantics an audit found unguarded: each one fails
//! when a small, plausible bug is planted in sigcore (issue 15; the bug each
//! one catches is named in its doc comment, "Catches: ...").

use std::os::unix::process::{CommandExt as _, ExitStatusExt};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::Duration;

use crossbeam_channel::bounded;
use sigcore::{
    ChildStatus, CommandExt, Disposition, Error, Origin, ProcSignals, Signal, SignalSet, Signals,
    ThreadHandle,
};
use sigtest::{ms, scenario, Scenario};

fn me() -> i32 {
    std::process::id() as i32
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn recv(signals: &Signals) -> sigcore::SignalEvent {
    signals
        .recv_timeout(secs(10))
        .expect("no event within 10 s")
}

pub const SCENARIOS: &[Scenario] = &[
    scenario!(wait_survives_handlers_that_run_on_the_waiting_thread),
    scenario!(a_full_queue_is_queue_full_and_back_off_gets_through),
    scenario!(a_full_channel_counts_every_dropped_event),
    scenario!(a_forked_child_releases_to_the_original_disposition),
    scenario!(children_get_back_the_ignores_sigcore_found),
    scenario!(children_get_back_the_ignores_sigcore_found_as_nobody),
    scenario!(children_do_not_inherit_what_the_safety_net_blocked),
    scenario!(children_do_not_inherit_what_the_safety_net_blocked_as_nobody),
    scenario!(posix_timer_events_carry_the_timer_id_and_the_overrun),
    scenario!(traced_stopped_and_continued_children_are_told_apart),
    scenario!(sending_follows_the_senders_uid),
    scenario!(sending_follows_the_senders_uid_as_nobody),
    scenario!(children_spawned_with_reset_die_on_sigterm_as_nobody),
    scenario!(a_forked_child_that_unblocks_an_inherited_signal_gets_its_original_disposition),
    scenario!(a_thread_in_sigtimedwait_is_not_woken_by_other_signals),
];

/// Whether thread `tid` of this process sits in system call `nr` now
/// (`/proc/.../syscall` starts with the call's number while it blocks there).
fn in_syscall(tid: i32, nr: libc::c_long) -> bool {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<libc::c_long>().ok())
        == Some(nr)
}

fn until_waiting(tid: i32) {
    assert!(
        sigtest::eventually(secs(10), || in_syscall(tid, libc::SYS_rt_sigtimedwait)),
        "thread {tid} never entered rt_sigtimedwait"
    );
}

static FOREIGN_CALLS: AtomicU32 = AtomicU32::new(0);

extern "C" fn count_foreign(_: libc::c_int) {
    FOREIGN_CALLS.fetch_add(1, Ordering::SeqCst);
}

/// Design fact 10: `sigtimedwait` fails with EINTR whenever a handler runs on
/// the waiting thread, SA_RESTART or not. `sigcore::wait` retries: neither
/// sigcore's own safety net (a served signal landing on that thread) nor
/// another library's handler may end the wait with an error.
///
/// Catches: `timed_wait` (sys/mask.rs) returning EINTR instead of retrying.
fn wait_survives_handlers_that_run_on_the_waiting_thread() {
    // SAFETY: installs a handler that only touches an atomic; no SA_RESTART,
    // as many C libraries install theirs.
    let installed = unsafe {
        libc::signal(
            libc::SIGWINCH,
            count_foreign as extern "C" fn(libc::c_int) as libc::sighandler_t,
        )
    };
    assert_ne!(installed, libc::SIG_ERR);
    let (ready_tx, ready_rx) = bounded(1);
    let (result_tx, results) = bounded(2);
    // Spawned before anything blocks USR1 or WINCH: both stay unblocked there.
    let waiting = thread::spawn(move || {
        sigcore::block(Signal::USR2).unwrap();
        ready_tx.send(ThreadHandle::current()).unwrap();
        for _ in 0..2 {
            let result = sigcore::wait_timeout(Signal::USR2, secs(30));
            result_tx.send(result).unwrap();
        }
    });
    let target = ready_rx.recv_timeout(secs(10)).unwrap();
    sigcore::block(Signal::USR1).unwrap();
    let signals = Signals::new(Signal::USR1).unwrap();
    let check = |round: &str| {
        let result = results
            .recv_timeout(secs(30))
            .unwrap_or_else(|_| panic!("{round}: wait did not return"));
        let event = result
            .unwrap_or_else(|e| panic!("{round}: wait failed: {e}"))
            .unwrap_or_else(|| panic!("{round}: wait timed out"));
        assert_eq!(event.signal, Signal::USR2, "{round}");
        assert_eq!(event.origin.kind(), "tkill", "{round}");
    };

    // 1. sigcore's safety net runs on the waiting thread.
    until_waiting(target.tid());
    target.send(Signal::USR1).unwrap();
    let caught = recv(&signals);
    assert_eq!(caught.origin.kind(), "tkill", "the net caught it there");
    target.send(Signal::USR2).unwrap();
    check("safety net");
    // 2. A foreign handler runs on it, five times.
    until_waiting(target.tid());
    for n in 1..=5 {
        target.send(Signal::WINCH).unwrap();
        assert!(sigtest::eventually(secs(10), || FOREIGN_CALLS
            .load(Ordering::SeqCst)
            == n));
        until_waiting(target.tid());
    }
    target.send(Signal::USR2).unwrap();
    check("foreign handler");
    sigtest::join_within(waiting, secs(10));
}

/// Design fact 14 and the documented back-off: a real-time `sigqueue` to a
/// full queue is `Error::QueueFull` (naming the signal), never a generic I/O
/// error; so is a `tgkill` of one; and a sender that backs off on it gets
/// every payload through, in order, once the receiver drains.
///
/// Catches: EAGAIN from `sigqueue`/`tgkill` mapped to `Error::Io`.
fn a_full_queue_is_queue_full_and_back_off_gets_through() {
    sigtest::limit_signal_queue(64);
    let rt = Signal::realtime(8).unwrap();
    sigcore::block(rt).unwrap();
    // Served first (a waiter cannot start on a full queue), then held, so the
    // queue fills in the kernel as it would behind a slow reader.
    let signals = Signals::with_capacity(rt, 100_000).unwrap();
    sigcore::hold(rt);
    let mut queued = 0;
    let full = loop {
        match sigcore::sigqueue(me(), rt, queued) {
            Ok(()) => queued += 1,
            Err(e) => break e,
        }
        assert!(queued < 1_000_000, "the queue never filled");
    };
    assert!(
        matches!(full, Error::QueueFull { signal } if signal == rt),
        "sigqueue to a full queue: {full:?}"
    );
    let thread_directed = ThreadHandle::current().send(rt);
    assert!(
        matches!(thread_directed, Err(Error::QueueFull { signal }) if signal == rt),
        "tgkill to a full queue: {thread_directed:?}"
    );

    // The back-off loop the docs prescribe, against a reader that drains.
    sigcore::resume(rt);
    let total = queued + 500;
    let sender = thread::spawn(move || {
        let mut backoffs = 0u64;
        for value in queued..total {
            loop {
                match sigcore::sigqueue(me(), rt, value) {
                    Ok(()) => break,
                    Err(Error::QueueFull { .. }) => {
                        backoffs += 1;
                        thread::yield_now();
                    }
                    Err(e) => panic!("sigqueue {value}: {e:?}"),
                }
            }
        }
        backoffs
    });
    for value in 0..total {
        assert_eq!(recv(&signals).origin.value(), Some(value));
    }
    let backoffs = sigtest::join_within(sender, secs(30));
    assert_eq!(signals.dropped(), 0);
    println!("{total} payloads in order; {backoffs} back-offs on QueueFull");
}

/// A bounded `Signals` that falls behind drops what does not fit and counts
/// every dropped event: 20 queued real-time signals into a channel of 4.
///
/// Catches: `Signals::dropped()` staying at 0 (or miscounting).
fn a_full_channel_counts_every_dropped_event() {
    let rt = Signal::realtime(9).unwrap();
    sigcore::block(rt).unwrap();
    for value in 0..20 {
        sigcore::sigqueue(me(), rt, value).unwrap();
    }
    // The waiter takes all 20 at once; nobody reads until they are routed.
    let signals = Signals::with_capacity(rt, 4).unwrap();
    assert!(
        sigtest::eventually(secs(10), || signals.dropped() == 16),
        "dropped() = {}, want 16",
        signals.dropped()
    );
    let kept: Vec<i32> = (0..4)
        .map(|_| recv(&signals).origin.value().unwrap())
        .collect();
    assert_eq!(kept, [0, 1, 2, 3], "the first four fit");
    assert!(signals.try_recv().is_err());
    // Room again: the next one is delivered and the count stays.
    sigcore::sigqueue(me(), rt, 99).unwrap();
    assert_eq!(recv(&signals).origin.value(), Some(99));
    assert_eq!(signals.dropped(), 16);
}

/// A child of `fork` (no exec) that serves a signal itself, with a waiter of
/// its own, and then releases it, gets the disposition the *parent* found
/// before sigcore took it (here the default), not the safety-net handler it
/// inherited: a SIGTERM then ends it as it should.
///
/// Catches: the child's release restoring sigcore's own handler (the child
/// could no longer be killed by SIGTERM).
fn a_forked_child_releases_to_the_original_disposition() {
    let found = sigcore::disposition(Signal::TERM).unwrap();
    if found != Disposition::Default {
        println!("skipped: SIGTERM started as {found:?}, not at its default");
        return;
    }
    sigcore::block(Signal::TERM).unwrap();
    let parent = Signals::new(Signal::TERM).unwrap();
    sigcore::raise(Signal::TERM).unwrap();
    assert_eq!(recv(&parent).signal, Signal::TERM);
    // SAFETY: the waiter thread sits idle in its read (its event was taken
    // above), so no sigcore lock is held; the child only uses sigcore and
    // leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let survived = std::panic::catch_unwind(|| {
            let mine = Signals::new(Signal::TERM).unwrap();
            sigcore::raise(Signal::TERM).unwrap();
            let event = mine.recv_timeout(secs(5)).expect("the child's own waiter");
            assert_eq!(event.origin.pid(), Some(me()));
            drop(mine);
            assert_eq!(
                sigcore::disposition(Signal::TERM).unwrap(),
                Disposition::Default,
                "released in the child: the original disposition is back"
            );
            sigcore::unblock(Signal::TERM).unwrap();
            sigcore::raise(Signal::TERM).unwrap();
            thread::sleep(secs(5));
        });
        // SAFETY: leaves the child at once, without running the parent's
        // destructors a second time.
        unsafe { libc::_exit(if survived.is_ok() { 3 } else { 1 }) };
    }
    let status = sigtest::waitpid_within(pid, secs(30));
    assert!(
        libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGTERM,
        "the child must die by SIGTERM; wait status {status:#x} (exit 3: it survived \
         SIGTERM, exit 1: an assertion failed)"
    );
    sigcore::raise(Signal::TERM).unwrap();
    assert_eq!(
        recv(&parent).signal,
        Signal::TERM,
        "the parent still serves"
    );
}

/// What `nohup` (or a shell's background job) does to SIGHUP/SIGINT: ignored
/// before sigcore serves it. A child spawned with `reset_signals` gets it
/// ignored again, not at its default: it survives a SIGHUP and dies on SIGTERM,
/// which was not ignored. Its mask holds neither.
///
/// Catches: `reset_signals` setting every served signal to SIG_DFL.
fn children_get_back_the_ignores_sigcore_found() {
    let term_found = sigcore::disposition(Signal::TERM).unwrap();
    sigcore::ignore(Signal::HUP).unwrap(); // as nohup would have
    let set = SignalSet::from([Signal::HUP, Signal::TERM]);
    sigcore::block(set).unwrap();
    let _signals = Signals::new(set).unwrap();
    let mut child = Command::new("sleep")
        .arg("30")
        .reset_signals()
        .spawn()
        .unwrap();
    let status = ProcSignals::of_process(child.id() as i32).unwrap();
    assert!(
        status.ignored.contains(Signal::HUP),
        "SigIgn: {}",
        status.ignored
    );
    assert!(
        status.blocked.intersection(set).is_empty(),
        "SigBlk: {}",
        status.blocked
    );
    assert_eq!(
        status.ignored.contains(Signal::TERM),
        term_found == Disposition::Ignore,
        "SIGTERM as found"
    );
    // Both pending at once would be taken lowest first: HUP, were it not ignored.
    sigcore::kill(child.id() as i32, Signal::HUP).unwrap();
    if term_found == Disposition::Ignore {
        println!("SIGTERM started ignored: ending the child with SIGKILL");
        child.kill().unwrap();
        sigtest::wait_within(&mut child, secs(10));
        return;
    }
    sigcore::kill(child.id() as i32, Signal::TERM).unwrap();
    let status = sigtest::wait_within(&mut child, secs(10));
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status}");
}

fn children_get_back_the_ignores_sigcore_found_as_nobody() {
    sigtest::rerun_as_nobody("children_get_back_the_ignores_sigcore_found", secs(30));
}

/// A thread that never blocked a served signal catches it through the safety
/// net, which then blocks it there (in the thread's saved mask). A child that
/// thread spawns with `reset_signals` must not inherit that block: it is
/// sigcore's doing, not the program's. (The main thread's block here is made
/// with `pthread_sigmask` directly, as a C library would: sigcore does not
/// count it as its own, so only the net's record can unblock the child.)
///
/// Catches: `reset_signals` leaving blocked what the safety net blocked.
fn children_do_not_inherit_what_the_safety_net_blocked() {
    let (ready_tx, ready_rx) = bounded(1);
    let (spawn_tx, spawn_rx) = bounded::<()>(1);
    let (child_tx, child_rx) = bounded(1);
    // Created before anything blocks USR1: it leaves it unblocked.
    let early = thread::spawn(move || {
        ready_tx.send(ThreadHandle::current()).unwrap();
        spawn_rx.recv_timeout(secs(30)).expect("asked to spawn");
        let child = Command::new("sleep")
            .arg("30")
            .reset_signals()
            .spawn()
            .unwrap();
        child_tx.send(child).unwrap();
    });
    let target = ready_rx.recv_timeout(secs(10)).unwrap();
    let mut usr1 = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set, sigaddset adds a valid signal,
    // pthread_sigmask reads it and changes only this thread's mask.
    unsafe {
        libc::sigemptyset(usr1.as_mut_ptr());
        libc::sigaddset(usr1.as_mut_ptr(), libc::SIGUSR1);
        let ret = libc::pthread_sigmask(libc::SIG_BLOCK, usr1.as_ptr(), std::ptr::null_mut());
        assert_eq!(ret, 0);
    }
    let signals = Signals::new(Signal::USR1).unwrap();
    target.send(Signal::USR1).unwrap();
    assert_eq!(recv(&signals).origin.kind(), "tkill");
    let net_blocked = || {
        ProcSignals::of_thread(me(), target.tid()).is_ok_and(|t| t.blocked.contains(Signal::USR1))
    };
    assert!(
        sigtest::eventually(secs(10), net_blocked),
        "the safety net blocks USR1 in the thread that caught it"
    );
    spawn_tx.send(()).unwrap();
    let mut child = child_rx.recv_timeout(secs(10)).unwrap();
    sigtest::join_within(early, secs(10));
    let status = ProcSignals::of_process(child.id() as i32).unwrap();
    let blocked = status.blocked.contains(Signal::USR1);
    if blocked {
        let _ = child.kill();
        sigtest::wait_within(&mut child, secs(10));
    }
    assert!(
        !blocked,
        "the child inherited the net's block: {}",
        status.blocked
    );
    sigcore::kill(child.id() as i32, Signal::USR1).unwrap();
    let status = sigtest::wait_within(&mut child, secs(10));
    assert_eq!(status.signal(), Some(libc::SIGUSR1), "{status}");
}

fn children_do_not_inherit_what_the_safety_net_blocked_as_nobody() {
    sigtest::rerun_as_nobody(
        "children_do_not_inherit_what_the_safety_net_blocked",
        secs(30),
    );
}

/// `timer_create` through the raw system call: returns the kernel's timer id
/// (what `si_tid` carries).
fn create_timer(signo: i32, value: i32) -> i32 {
    // SAFETY: a zeroed sigevent is valid; the call reads it and writes the id.
    let mut event: libc::sigevent = unsafe { std::mem::zeroed() };
    event.sigev_notify = libc::SIGEV_SIGNAL;
    event.sigev_signo = signo;
    event.sigev_value = libc::sigval {
        sival_ptr: value as usize as *mut libc::c_void,
    };
    let mut id: libc::c_int = -1;
    // SAFETY: both pointers are valid for the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_timer_create,
            libc::CLOCK_MONOTONIC,
            &mut event as *mut libc::sigevent,
            &mut id as *mut libc::c_int,
        )
    };
    assert_eq!(ret, 0, "timer_create: {}", std::io::Error::last_os_error());
    id
}

fn set_timer(id: i32, every: Duration) {
    let spec = |d: Duration| libc::timespec {
        tv_sec: d.as_secs() as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    };
    let value = libc::itimerspec {
        it_interval: spec(every),
        it_value: spec(every),
    };
    // SAFETY: the raw call reads `value`, which outlives it.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_timer_settime,
            id,
            0,
            &value as *const libc::itimerspec,
            std::ptr::null_mut::<libc::itimerspec>(),
        )
    };
    assert_eq!(ret, 0, "timer_settime: {}", std::io::Error::last_os_error());
}

fn delete_timer(id: i32) {
    // SAFETY: a raw call on an integer id.
    unsafe { libc::syscall(libc::SYS_timer_delete, id) };
}

/// A POSIX timer's expiry arrives as `Origin::Timer` with the kernel's timer
/// id and its overrun: the expirations that happened while the signal was
/// pending. Held in the kernel for 200 ms at a 1 ms period, the overrun is
/// large and the id small (a few timers exist), so the two cannot be confused.
///
/// Catches: `timer_id` and `overrun` swapped (signalfd or siginfo decoding).
fn posix_timer_events_carry_the_timer_id_and_the_overrun() {
    let rt = Signal::realtime(10).unwrap();
    sigcore::block(rt).unwrap();
    let signals = Signals::new(rt).unwrap();
    // Other timers first (the waiter has one too), so our id is not 0 or 1.
    let others: Vec<i32> = (0..3).map(|_| create_timer(rt.number(), 0)).collect();
    let id = create_timer(rt.number(), 77);
    sigcore::hold(rt);
    set_timer(id, ms(1));
    thread::sleep(ms(200)); // expiries pile up as overrun while held
    sigcore::resume(rt);
    let event = recv(&signals);
    delete_timer(id);
    for other in others {
        delete_timer(other);
    }
    let Origin::Timer { timer_id, overrun } = event.origin else {
        panic!("not a timer origin: {event}");
    };
    assert_eq!(timer_id, id, "{event}");
    assert!(
        overrun >= 10 && overrun != id,
        "200 ms of a 1 ms timer held in the kernel: overrun {overrun} (timer id {id})"
    );
    assert_eq!(event.origin.pid(), None, "a timer has no sender");
}

fn waitpid_stopped(pid: i32) -> i32 {
    let deadline = std::time::Instant::now() + secs(10);
    let mut status = 0;
    loop {
        // SAFETY: `status` is valid for writes; WNOHANG never blocks.
        let ret = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG | libc::WUNTRACED) };
        if ret == pid {
            return status;
        }
        assert!(ret == 0, "waitpid: {}", std::io::Error::last_os_error());
        assert!(
            std::time::Instant::now() < deadline,
            "child {pid} never stopped"
        );
        thread::sleep(ms(1));
    }
}

fn kill_and_reap(pid: i32) {
    // SAFETY: `pid` is our unreaped child.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let status = sigtest::waitpid_within(pid, secs(10));
    assert!(libc::WIFSIGNALED(status), "{status:#x}");
}

/// SIGCHLD says *how* a child changed state: a traced child that traps
/// (`PTRACE_TRACEME`, then `exec`: the kernel stops it with SIGTRAP) is
/// `Trapped(SIGTRAP)`; one stopped by SIGSTOP is `Stopped(SIGSTOP)`, then
/// `Continued`; then `Killed`. Each child is reaped here (a stopped tracee is
/// killed), so none is left behind.
///
/// Catches: `CLD_TRAPPED` decoded as `Stopped` (or the reverse).
fn traced_stopped_and_continued_children_are_told_apart() {
    sigcore::block(Signal::CHLD).unwrap();
    let signals = Signals::new(Signal::CHLD).unwrap();
    let uid = sigcore::current_uid();
    let child_event = |pid: i32| {
        let event = recv(&signals);
        match event.origin {
            Origin::Child {
                pid: p,
                uid: u,
                status,
            } if p == pid && u == uid => status,
            _ => panic!("want an event about child {pid} (uid {uid}), got {event}"),
        }
    };

    let mut traced = Command::new("true");
    // SAFETY: ptrace(PTRACE_TRACEME) is a plain system call, allowed between
    // fork and exec.
    unsafe {
        traced.pre_exec(|| {
            if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let traced = traced.spawn().unwrap();
    let pid = traced.id() as i32;
    std::mem::forget(traced); // reaped below with waitpid
    let status = child_event(pid);
    let stop = waitpid_stopped(pid);
    assert!(
        libc::WIFSTOPPED(stop) && libc::WSTOPSIG(stop) == libc::SIGTRAP,
        "{stop:#x}"
    );
    kill_and_reap(pid);
    assert_eq!(status, ChildStatus::Trapped(libc::SIGTRAP));
    assert_eq!(child_event(pid), ChildStatus::Killed(libc::SIGKILL));

    let sleeper = Command::new("sleep")
        .arg("30")
        .reset_signals()
        .spawn()
        .unwrap();
    let pid = sleeper.id() as i32;
    std::mem::forget(sleeper);
    sigcore::kill(pid, Signal::STOP).unwrap();
    let stopped = child_event(pid);
    sigcore::kill(pid, Signal::CONT).unwrap();
    let continued = child_event(pid);
    kill_and_reap(pid);
    assert_eq!(stopped, ChildStatus::Stopped(libc::SIGSTOP));
    assert_eq!(continued, ChildStatus::Continued);
    assert_eq!(child_event(pid), ChildStatus::Killed(libc::SIGKILL));
}

/// Permission to signal follows the sender's real uid: a process may signal
/// its own user's processes; root may signal anyone; anyone else gets
/// `Error::PermissionDenied` (EPERM) from `kill`, `sigqueue` and a pidfd, yet
/// `process_exists` still says yes. Run as root and, in the twin, as nobody.
fn sending_follows_the_senders_uid() {
    let root = sigtest::running_as_root();
    // Our own user's process: always allowed.
    // SIGKILL: whatever dispositions this process started with.
    let mut own = Command::new("sleep").arg("30").spawn().unwrap();
    sigcore::kill(own.id() as i32, Signal::KILL).unwrap();
    let status = sigtest::wait_within(&mut own, secs(10));
    assert_eq!(status.signal(), Some(libc::SIGKILL));

    if root {
        // Another user's process: root may.
        let mut other = Command::new("sleep")
            .arg("30")
            .uid(sigtest::NOBODY)
            .spawn()
            .unwrap();
        let pid = other.id() as i32;
        assert_eq!(ProcSignals::of_process(pid).unwrap().uid, sigtest::NOBODY);
        sigcore::Pidfd::open(pid)
            .unwrap()
            .send(Signal::KILL)
            .unwrap();
        let status = sigtest::wait_within(&mut other, secs(10));
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        return;
    }
    // Another user's process: root's, the process that started this one. The
    // signal is harmless (WINCH is ignored by default) should it get through.
    // SAFETY: getppid cannot fail.
    let parent = unsafe { libc::getppid() };
    assert_eq!(ProcSignals::of_process(parent).unwrap().uid, 0);
    let denied = |r: sigcore::Result<()>| {
        assert!(
            matches!(r, Err(Error::PermissionDenied { pid }) if pid == parent),
            "{r:?}"
        )
    };
    denied(sigcore::kill(parent, Signal::WINCH));
    denied(sigcore::sigqueue(parent, Signal::WINCH, 1));
    denied(sigcore::Pidfd::open(parent).unwrap().send(Signal::WINCH));
    assert!(
        sigcore::process_exists(parent).unwrap(),
        "EPERM means it exists"
    );
}

fn sending_follows_the_senders_uid_as_nobody() {
    sigtest::rerun_as_nobody("sending_follows_the_senders_uid", secs(30));
}

fn children_spawned_with_reset_die_on_sigterm_as_nobody() {
    sigtest::rerun_as_nobody("children_spawned_with_reset_die_on_sigterm", secs(30));
}

/// A child of `fork` (no exec) inherits sigcore's safety-net handler and its
/// "served" bits, but no waiter. When it unblocks SIGTERM and gets one, the
/// handler must pass it on to the disposition sigcore replaced (here the
/// default), so the child dies by SIGTERM, and `sigcore::disposition` must say
/// that disposition, not `Served` (before the fix the handler recorded it in a
/// ring nobody drains, and the child survived).
fn a_forked_child_that_unblocks_an_inherited_signal_gets_its_original_disposition() {
    if sigcore::disposition(Signal::TERM).unwrap() != Disposition::Default {
        println!("skipped: SIGTERM did not start at its default");
        return;
    }
    sigcore::block(Signal::TERM).unwrap();
    let parent = Signals::new(Signal::TERM).unwrap();
    sigcore::raise(Signal::TERM).unwrap();
    assert_eq!(recv(&parent).signal, Signal::TERM);
    // SAFETY: the waiter sits idle in its read (its event was taken above), so
    // no sigcore lock is held; the child leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let served = sigcore::disposition(Signal::TERM).unwrap() == Disposition::Served;
        let _ = sigcore::unblock(Signal::TERM);
        let _ = sigcore::raise(Signal::TERM);
        thread::sleep(secs(3));
        // SAFETY: leaves the child without running the parent's destructors.
        unsafe { libc::_exit(if served { 4 } else { 3 }) };
    }
    let status = sigtest::waitpid_within(pid, secs(30));
    assert!(
        libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGTERM,
        "the child survived SIGTERM: wait status {status:#x} (exit 4: it also saw \
         disposition Served with no waiter)"
    );
}

/// Kernel fact behind direct delivery (not in the design card's list): a
/// thread in `sigtimedwait` is woken only for the signals it waits for, so a
/// subscriber taking its signals directly sleeps through everyone else's. A
/// thread blocked in `read` on a signalfd may be woken by any signal to the
/// process (the kernel wakes every signalfd reader; each looks and sleeps
/// again): printed for the record, not asserted, as on this kernel it varies
/// from none to half of them with scheduling. It is why the waiter waits with
/// `sigtimedwait`, not on its signalfd, while a lease is held.
fn a_thread_in_sigtimedwait_is_not_woken_by_other_signals() {
    let own = Signal::USR1;
    let other = Signal::realtime(5).unwrap();
    sigcore::block(own | other).unwrap();
    let sleeper = |use_signalfd: bool| {
        let (tid_tx, tid_rx) = bounded(1);
        let thread = thread::spawn(move || {
            tid_tx.send(ThreadHandle::current().tid()).unwrap();
            if use_signalfd {
                // SAFETY: a zeroed sigset is valid for sigaddset; signalfd
                // reads it; read fills one siginfo of the size it asks for.
                unsafe {
                    let mut set: libc::sigset_t = std::mem::zeroed();
                    libc::sigemptyset(&mut set);
                    libc::sigaddset(&mut set, own.number());
                    let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC);
                    assert!(fd >= 0, "signalfd: {}", std::io::Error::last_os_error());
                    let mut info: libc::signalfd_siginfo = std::mem::zeroed();
                    let size = std::mem::size_of::<libc::signalfd_siginfo>();
                    let n = libc::read(fd, (&mut info as *mut libc::signalfd_siginfo).cast(), size);
                    assert_eq!(n as usize, size);
                    assert_eq!(info.ssi_signo as i32, own.number());
                    libc::close(fd);
                }
            } else {
                let event = sigcore::wait_timeout(own, secs(30)).unwrap();
                assert_eq!(event.map(|e| e.signal), Some(own));
            }
        });
        let tid = tid_rx.recv().unwrap();
        let syscall = if use_signalfd {
            libc::SYS_read
        } else {
            libc::SYS_rt_sigtimedwait
        };
        assert!(
            sigtest::eventually(secs(10), || in_syscall(tid, syscall)),
            "the sleeper never blocked"
        );
        thread::sleep(ms(20));
        let before = sigtest::wake_ups(tid);
        for _ in 0..200 {
            sigcore::raise(other).unwrap();
            // Taken here (blocked everywhere, so no other thread wants it).
            let taken = sigcore::wait_timeout(other, secs(10)).unwrap();
            assert!(taken.is_some(), "the other signal was not taken back");
            // Time for a woken sleeper to run and sleep again.
            thread::sleep(Duration::from_micros(300));
        }
        let woken = sigtest::wake_ups(tid) - before;
        sigcore::raise(own).unwrap();
        sigtest::join_within(thread, secs(30));
        woken
    };
    let signalfd = sleeper(true);
    let sigtimedwait = sleeper(false);
    println!(
        "figure: 200 signals it does not wait for woke a signalfd reader {signalfd} times, \
         a thread in sigtimedwait {sigtimedwait} times"
    );
    assert!(
        sigtimedwait <= 10,
        "a thread in sigtimedwait woken {sigtimedwait} times by 200 signals it does not wait for"
    );
}
