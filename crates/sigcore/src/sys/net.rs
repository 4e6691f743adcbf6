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
//! Every call made here is async-signal-safe: atomics on static memory, plain loads
//! from the kernel-provided `siginfo_t`/`ucontext_t`, `sigaddset` (listed by POSIX),
//! and the ring's `getpid`, `tgkill` and `timer_settime` system calls (see its
//! docs). `errno` is saved and restored around it.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};

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

/// The handler itself. See the module docs for why each step is allowed here.
pub(super) extern "C" fn on_stray_signal(
    signo: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    let served =
        (1..=64).contains(&signo) && SERVED.load(Ordering::SeqCst) & (1 << (signo - 1)) != 0;
    let chained = CHAINING_TID.load(Ordering::SeqCst);
    if !served || (chained != 0 && chained == super::gettid()) {
        return;
    }
    // SAFETY: __errno_location returns this thread's errno slot; reading and
    // writing it is how handlers preserve errno for the code they interrupted.
    let saved_errno = unsafe { *libc::__errno_location() };
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
