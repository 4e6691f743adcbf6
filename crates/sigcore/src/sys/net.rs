//! The safety net: a `SA_SIGINFO` handler for every served signal.
//!
//! It runs only when a served signal lands on a thread that does not block it (a
//! thread that existed before the set was blocked, or one that unblocked it). It
//! must not let the default action run, and must not lose the signal, so it:
//!
//! 1. records the `siginfo` in a fixed ring of lock-free slots (no allocation, no
//!    lock). When the ring is full (threads that keep served signals unblocked,
//!    e.g. in `sigsuspend` or `ppoll` with an empty mask, under a storm), a
//!    signal whose `siginfo` its sender wrote (`sigqueue`: the payload) is
//!    queued to the waiter thread as it is, so it is not lost; for the others
//!    (`kill`, `tgkill`, the kernel) the kernel refuses that, so they are counted
//!    per signal and reach the waiter without their sender ([`NetStats`]);
//! 2. adds the signal to the interrupted thread's saved mask (`uc_sigmask`), so
//!    that thread blocks it from now on and later instances take the fast path;
//! 3. wakes the waiter ([`super::wake::ring`]).
//!
//! A delivery can also reach the handler for a signal sigcore does not serve
//! *here*: the kernel chose the handler just before a release restored the
//! previous disposition, or the process is a child forked without exec, which
//! inherited the handler but not the waiter. The signal is then passed on to
//! the disposition sigcore replaced (put back first in a forked child) by
//! queueing it again to the same thread with its `siginfo`, so it is handled
//! as if it had come a moment later. A handler installed over sigcore's that
//! calls it as its predecessor is left alone.
//!
//! Every call made here is async-signal-safe: atomics on static memory, plain loads
//! from the kernel-provided `siginfo_t`/`ucontext_t`, `sigaddset` (listed by POSIX),
//! the ring's `getpid`, `tgkill` and `timer_settime` system calls (see its
//! docs), and for a signal passed on `sigaction`, `sigemptyset`, `sigaddset`,
//! `gettid` and `rt_tgsigqueueinfo`. `errno` is saved and restored around it.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use super::wake;

use crate::event::{RawInfo, CODE_UNKNOWN};

/// `SI_TKILL`: the kernel refuses it from `rt_tgsigqueueinfo` (not forwardable).
const SI_TKILL: i32 = -6;

/// Records the ring holds: a static in `.bss`, so pages never used are never
/// resident (4,096 × 40 bytes).
const SLOTS: usize = 4096;

/// One record. `stamp` says whose turn it is: `2 * lap` free for the producer of
/// that lap, `2 * lap + 1` full for the consumer (a Vyukov bounded queue whose
/// initial all-zero state is valid, so it can live in a `static`).
struct Slot {
    stamp: AtomicU64,
    signo: AtomicI32,
    code: AtomicI32,
    pid: AtomicI32,
    uid: AtomicU32,
    status: AtomicI32,
    value: AtomicI32,
    timer_id: AtomicI32,
    overrun: AtomicI32,
    fd: AtomicI32,
}

#[allow(clippy::declare_interior_mutable_const)] // only used to initialise RING
const EMPTY: Slot = Slot {
    stamp: AtomicU64::new(0),
    signo: AtomicI32::new(0),
    code: AtomicI32::new(0),
    pid: AtomicI32::new(0),
    uid: AtomicU32::new(0),
    status: AtomicI32::new(0),
    value: AtomicI32::new(0),
    timer_id: AtomicI32::new(0),
    overrun: AtomicI32::new(0),
    fd: AtomicI32::new(0),
};

static RING: [Slot; SLOTS] = [EMPTY; SLOTS];
static HEAD: AtomicU64 = AtomicU64::new(0); // next position producers claim
static TAIL: AtomicU64 = AtomicU64::new(0); // next position the waiter reads

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU32 = AtomicU32::new(0);
/// Per signal: deliveries the ring had no room for.
static OVERFLOW: [AtomicU32; 65] = [ZERO; 65];
/// Set when some OVERFLOW counter is non-zero, so the waiter checks one flag.
static OVERFLOWED: AtomicBool = AtomicBool::new(false);
/// Totals since the process started, for [`stats`].
static CAUGHT: AtomicU64 = AtomicU64::new(0);
static FORWARDED: AtomicU64 = AtomicU64::new(0);
static SENDERS_LOST: AtomicU64 = AtomicU64::new(0);

/// What the safety net has done since the process started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct NetStats {
    pub caught: u64,
    pub forwarded: u64,
    pub senders_lost: u64,
}

pub(crate) fn stats() -> NetStats {
    NetStats {
        caught: CAUGHT.load(Ordering::Relaxed),
        forwarded: FORWARDED.load(Ordering::Relaxed),
        senders_lost: SENDERS_LOST.load(Ordering::Relaxed),
    }
}
/// Signals the handler has added to some thread's mask.
static BLOCKED: AtomicU64 = AtomicU64::new(0);
/// Signals the safety net has blocked in some thread.
pub(crate) fn net_blocked() -> u64 {
    BLOCKED.load(Ordering::Relaxed)
}

/// Takes the counts of deliveries that found the ring full, per signal number.
pub(crate) fn take_overflows(mut f: impl FnMut(i32, u32)) {
    if !OVERFLOWED.swap(false, Ordering::AcqRel) {
        return;
    }
    for (signo, counter) in OVERFLOW.iter().enumerate() {
        let lost = counter.swap(0, Ordering::Relaxed);
        if lost > 0 {
            f(signo as i32, lost);
        }
    }
}

/// Async-signal-safe: only atomics. Returns false when the ring is full.
fn push(raw: &RawInfo) -> bool {
    let mut pos = HEAD.load(Ordering::Relaxed);
    loop {
        let slot = &RING[pos as usize % SLOTS];
        let lap = pos / SLOTS as u64;
        let stamp = slot.stamp.load(Ordering::Acquire);
        if stamp == 2 * lap {
            match HEAD.compare_exchange_weak(pos, pos + 1, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => {
                    slot.signo.store(raw.signo, Ordering::Relaxed);
                    slot.code.store(raw.code, Ordering::Relaxed);
                    slot.pid.store(raw.pid, Ordering::Relaxed);
                    slot.uid.store(raw.uid, Ordering::Relaxed);
                    slot.status.store(raw.status, Ordering::Relaxed);
                    slot.value.store(raw.value, Ordering::Relaxed);
                    slot.timer_id.store(raw.timer_id, Ordering::Relaxed);
                    slot.overrun.store(raw.overrun, Ordering::Relaxed);
                    slot.fd.store(raw.fd, Ordering::Relaxed);
                    slot.stamp.store(2 * lap + 1, Ordering::Release);
                    return true;
                }
                Err(now) => pos = now,
            }
        } else if stamp < 2 * lap {
            return false; // the waiter has not freed this slot since the last lap
        } else {
            pos = HEAD.load(Ordering::Relaxed); // another producer took it
        }
    }
}

/// Hands every complete record to `f`, oldest first. Waiter thread only. A record
/// still being written (its producer interrupted) ends the pass; the producer wakes
/// the waiter again when it finishes.
pub(crate) fn drain_net(mut f: impl FnMut(RawInfo)) {
    let mut pos = TAIL.load(Ordering::Relaxed);
    loop {
        let slot = &RING[pos as usize % SLOTS];
        let lap = pos / SLOTS as u64;
        if slot.stamp.load(Ordering::Acquire) != 2 * lap + 1 {
            break;
        }
        let raw = RawInfo {
            signo: slot.signo.load(Ordering::Relaxed),
            code: slot.code.load(Ordering::Relaxed),
            pid: slot.pid.load(Ordering::Relaxed),
            uid: slot.uid.load(Ordering::Relaxed),
            status: slot.status.load(Ordering::Relaxed),
            value: slot.value.load(Ordering::Relaxed),
            timer_id: slot.timer_id.load(Ordering::Relaxed),
            overrun: slot.overrun.load(Ordering::Relaxed),
            fd: slot.fd.load(Ordering::Relaxed),
        };
        slot.stamp.store(2 * lap + 2, Ordering::Release);
        pos += 1;
        TAIL.store(pos, Ordering::Relaxed);
        f(raw);
    }
}

/// The thread (kernel id) calling a foreign handler for an event the waiter
/// took, and the signal; a foreign handler that chains to its predecessor,
/// sigcore's own, must not record the event a second time.
static CHAINING_TID: AtomicI32 = AtomicI32::new(0);

/// Runs `call` (a foreign handler) with the handler below told to stand aside
/// on this thread.
pub(super) fn chaining(signo: i32, call: impl FnOnce()) {
    let _ = signo;
    CHAINING_TID.store(super::gettid(), Ordering::SeqCst);
    call();
    CHAINING_TID.store(0, Ordering::SeqCst);
}

/// Which signals sigcore serves, as seen by the handler: a signal it no longer
/// serves (a foreign handler installed over it chains here after the release)
/// is none of its business.
static SERVED: AtomicU64 = AtomicU64::new(0);

/// Tells the handler which signals are served (bit `n - 1` for signal `n`).
pub(crate) fn set_served(bits: u64) {
    SERVED.store(bits, Ordering::SeqCst);
}

/// The disposition sigcore replaced for one signal (and restores on release),
/// readable from the handler: handler address, flags, and the first 64
/// signals of its mask.
struct Original {
    known: AtomicBool,
    handler: AtomicUsize,
    flags: AtomicI32,
    mask: AtomicU64,
}

#[allow(clippy::declare_interior_mutable_const)] // only used to initialise ORIGINALS
const UNKNOWN: Original = Original {
    known: AtomicBool::new(false),
    handler: AtomicUsize::new(0),
    flags: AtomicI32::new(0),
    mask: AtomicU64::new(0),
};
static ORIGINALS: [Original; 65] = [UNKNOWN; 65];

/// Records the disposition sigcore replaced for `signo`, for the handler.
pub(crate) fn remember_original(signo: i32, action: &libc::sigaction) {
    let Some(slot) = ORIGINALS.get(signo as usize) else {
        return;
    };
    let mask = (1..=64).fold(0u64, |bits, n| {
        // SAFETY: sigismember reads the valid mask of `action` for 1..=64.
        if unsafe { libc::sigismember(&action.sa_mask, n) } == 1 {
            bits | 1 << (n - 1)
        } else {
            bits
        }
    });
    slot.known.store(false, Ordering::SeqCst);
    slot.handler.store(action.sa_sigaction, Ordering::SeqCst);
    slot.flags.store(action.sa_flags, Ordering::SeqCst);
    slot.mask.store(mask, Ordering::SeqCst);
    slot.known.store(true, Ordering::SeqCst);
}

/// The disposition of `signo` now, from inside the handler.
fn disposition_now(signo: i32) -> Option<libc::sigaction> {
    let mut old = std::mem::MaybeUninit::<libc::sigaction>::uninit();
    // SAFETY: sigaction is async-signal-safe; a null new action only reads.
    if unsafe { libc::sigaction(signo, std::ptr::null(), old.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: filled by the successful call.
    Some(unsafe { old.assume_init() })
}

/// In a forked child: puts back the disposition sigcore replaced (the default
/// if it never knew it). Async-signal-safe: sigemptyset, sigaddset, sigaction.
fn put_back_original(signo: i32) {
    let slot = &ORIGINALS[signo as usize];
    // SAFETY: a zeroed sigaction is valid (empty mask, no flags, SIG_DFL).
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    if slot.known.load(Ordering::SeqCst) {
        action.sa_sigaction = slot.handler.load(Ordering::SeqCst);
        action.sa_flags = slot.flags.load(Ordering::SeqCst);
        let mask = slot.mask.load(Ordering::SeqCst);
        // SAFETY: `action.sa_mask` is a valid sigset_t; both calls only write it.
        unsafe {
            libc::sigemptyset(&mut action.sa_mask);
            for n in (1..=64).filter(|n| mask & (1 << (n - 1)) != 0) {
                libc::sigaddset(&mut action.sa_mask, n);
            }
        }
    }
    // SAFETY: a valid action (glibc's wrapper sets its own restorer).
    unsafe { libc::sigaction(signo, &action, std::ptr::null_mut()) };
}

/// Queues the signal again to this thread, `siginfo` and all, for the
/// disposition now in place to take when the handler returns (the thread
/// does not block it: that is how the handler came to run here).
fn raise_again(signo: i32, info: *const libc::siginfo_t) {
    let (pid, tid) = (super::getpid(), super::gettid());
    // SAFETY: `info` is the kernel's siginfo for this delivery (non-null); to
    // its own process a thread may queue any code. Plain integers otherwise.
    let queued = !info.is_null()
        // SAFETY: `info` is non-null here: the kernel's siginfo for this delivery.
        && unsafe { libc::syscall(libc::SYS_rt_tgsigqueueinfo, pid, tid, signo, info) } == 0;
    // SAFETY: tgkill takes three integers. For a standard signal it cannot
    // fail; a real-time one with a full queue is counted as lost.
    if !queued && unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, signo) } != 0 {
        SENDERS_LOST.fetch_add(1, Ordering::Relaxed);
    }
}

/// A delivery for a signal sigcore does not serve here (see the module docs).
/// Returns `false` when sigcore's handler is in place and the signal is to be
/// served after all.
fn pass_on(signo: i32, info: *const libc::siginfo_t, forked: bool) -> bool {
    let Some(now) = disposition_now(signo) else {
        return true;
    };
    if now.sa_sigaction == super::action::net_handler() {
        if !forked {
            // Still sigcore's, in the process that serves: serve it.
            return false;
        }
        // A forked child: nobody here reads the ring. Back to the original.
        put_back_original(signo);
        SERVED.fetch_and(!(1 << (signo - 1)), Ordering::SeqCst);
        raise_again(signo, info);
        return true;
    }
    let slot = &ORIGINALS[signo as usize];
    if slot.known.load(Ordering::SeqCst) && now.sa_sigaction == slot.handler.load(Ordering::SeqCst)
    {
        // Released a moment ago: the kernel had already picked this handler.
        raise_again(signo, info);
    }
    // Otherwise a handler installed over sigcore's is calling it as its
    // predecessor: that one has the signal already.
    true
}

/// The handler itself. See the module docs for why each step is allowed here.
pub(super) extern "C" fn on_stray_signal(
    signo: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    if !(1..=64).contains(&signo) {
        return;
    }
    let chained = CHAINING_TID.load(Ordering::SeqCst);
    if chained != 0 && chained == super::gettid() {
        return;
    }
    // SAFETY: __errno_location returns this thread's errno slot; reading and
    // writing it is how handlers preserve errno for the code they interrupted.
    let saved_errno = unsafe { *libc::__errno_location() };
    let served = SERVED.load(Ordering::SeqCst) & (1 << (signo - 1)) != 0;
    let forked = wake::serving_pid() != super::getpid();
    if (!served || forked) && pass_on(signo, info, forked) {
        // SAFETY: as above, restores the interrupted code's errno.
        unsafe { *libc::__errno_location() = saved_errno };
        return;
    }
    let raw = if info.is_null() {
        RawInfo {
            signo,
            code: CODE_UNKNOWN,
            ..RawInfo::default()
        }
    } else {
        // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo_t.
        super::raw_from_siginfo(unsafe { &*info })
    };
    CAUGHT.fetch_add(1, Ordering::Relaxed);
    if !push(&raw) {
        let senders_code = raw.code < 0 && raw.code != SI_TKILL && raw.code != CODE_UNKNOWN;
        if senders_code && wake::forward(signo, info) {
            FORWARDED.fetch_add(1, Ordering::Relaxed);
        } else if let Some(counter) = OVERFLOW.get(signo as usize) {
            SENDERS_LOST.fetch_add(1, Ordering::Relaxed);
            counter.fetch_add(1, Ordering::Relaxed);
            OVERFLOWED.store(true, Ordering::Release);
        }
    }
    if !context.is_null() && (1..=64).contains(&signo) {
        // The kernel restores uc_sigmask from the context on return, so adding the
        // signal here blocks it in that thread from now on. Only a raw pointer to
        // uc_sigmask is formed: the kernel's frame is smaller than glibc's
        // ucontext_t, so no reference to the whole struct may exist.
        // SAFETY: with SA_SIGINFO the third argument points to the interrupted
        // thread's ucontext_t; sigaddset (async-signal-safe) writes only the word
        // of `signo` (1..=64), inside the kernel's 8-byte mask.
        unsafe {
            let mask = std::ptr::addr_of_mut!((*context.cast::<libc::ucontext_t>()).uc_sigmask);
            libc::sigaddset(mask, signo);
        }
        BLOCKED.fetch_or(1 << (signo - 1), Ordering::Relaxed);
    }
    wake::ring();
    // SAFETY: as above, restores the interrupted code's errno.
    unsafe { *libc::__errno_location() = saved_errno };
}

#[cfg(test)]
mod tests {
    use super::*;

    // The ring is a process-wide static; this is the only unit test that uses it.
    #[test]
    fn ring_keeps_order_and_reports_full() {
        let mut raw = RawInfo::default();
        for i in 0..SLOTS as i32 {
            raw.value = i;
            assert!(push(&raw), "slot {i} should fit");
        }
        raw.value = -1;
        assert!(!push(&raw), "ring of {SLOTS} must report full");
        let mut seen = Vec::new();
        drain_net(|r| seen.push(r.value));
        assert_eq!(seen, (0..SLOTS as i32).collect::<Vec<_>>());
        // After a drain the next lap works again.
        raw.value = 99;
        assert!(push(&raw));
        let mut again = Vec::new();
        drain_net(|r| again.push(r.value));
        assert_eq!(again, vec![99]);
    }
}
