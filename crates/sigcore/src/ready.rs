//! A readiness flag as a file descriptor, for event loops.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::sys::EventFd;

/// A file descriptor that is readable while a flag is up, and carries nothing
/// else (an `eventfd` underneath): the building block for handing signal events
/// to `epoll`, mio, calloop or glib without putting signal data in a pipe.
///
/// [`ReadyFd::raise`] makes the descriptor readable and costs a system call
/// only when the flag was down; [`ReadyFd::lower`] makes it unreadable again.
/// A consumer that lowers the flag, then looks for work once more, and raises
/// it again if it finds some, can never miss work (sigbus's subscriptions do
/// exactly that; see `sigbus::Subscription`'s `AsFd`).
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
///
/// let ready = sigcore::ReadyFd::new()?;
/// let mut poll = [libc::pollfd { fd: ready.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
/// // SAFETY (of the example): one valid pollfd.
/// assert_eq!(unsafe { libc::poll(poll.as_mut_ptr(), 1, 0) }, 0);
/// ready.raise();
/// assert_eq!(unsafe { libc::poll(poll.as_mut_ptr(), 1, 0) }, 1);
/// ready.lower();
/// assert_eq!(unsafe { libc::poll(poll.as_mut_ptr(), 1, 0) }, 0);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ReadyFd {
    fd: EventFd,
    /// Mirrors the descriptor's state, so that a raise of a raised flag (the
    /// router's common case) is a load and no system call.
    up: AtomicBool,
    /// Held across "change the flag and the descriptor", so that outside it
    /// the flag says what the descriptor is, and inside it the flag already
    /// says what it will be. Without it a raise's write could land after a
    /// racing lower's read (or a lower could skip its read while a raise was
    /// between its write and its flag) and leave the descriptor readable
    /// under a lowered flag: a readiness no drain clears, and, for an
    /// edge-triggered loop, every later raise a no-op, so no edge ever again.
    change: Mutex<()>,
}

impl ReadyFd {
    /// A new descriptor, not readable (close-on-exec, non-blocking).
    ///
    /// # Errors
    ///
    /// The error of `eventfd(2)` (out of descriptors, say).
    pub fn new() -> io::Result<ReadyFd> {
        Ok(ReadyFd {
            fd: EventFd::new()?,
            up: AtomicBool::new(false),
            change: Mutex::new(()),
        })
    }

    /// Raises the flag: the descriptor becomes readable. A system call only
    /// when it was down.
    pub fn raise(&self) {
        if self.up.load(Ordering::SeqCst) {
            return;
        }
        let _change = self.lock();
        if !self.up.load(Ordering::SeqCst) {
            // The flag first: a lower that sees it down must find the
            // descriptor unreadable, so it may not be down while we write.
            self.up.store(true, Ordering::SeqCst);
            self.fd.raise();
        }
    }

    /// Lowers the flag: the descriptor stops being readable. A system call
    /// only when it was up.
    pub fn lower(&self) {
        if !self.up.load(Ordering::SeqCst) {
            return;
        }
        let _change = self.lock();
        if self.up.load(Ordering::SeqCst) {
            self.up.store(false, Ordering::SeqCst);
            self.fd.lower();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        // Nothing under the lock can panic; a poisoned lock guards nothing.
        self.change.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the flag is up.
    pub fn is_raised(&self) -> bool {
        self.up.load(Ordering::SeqCst)
    }
}

impl AsFd for ReadyFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.fd().as_fd()
    }
}

impl AsRawFd for ReadyFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.fd().as_raw_fd()
    }
}

impl std::fmt::Debug for ReadyFd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadyFd")
            .field("fd", &self.as_raw_fd())
            .field("raised", &self.is_raised())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::*;

    fn readable(ready: &ReadyFd) -> bool {
        crate::sys::readable_now(ready.as_raw_fd())
    }

    /// A thread that raises the flag once per round, when told to, so that
    /// the test can race a lower against the raise.
    struct Raiser {
        /// Round n starts when `go` is n + 1; `u32::MAX` stops the thread.
        go: Arc<AtomicU32>,
        /// Rounds done.
        done: Arc<AtomicU32>,
        thread: std::thread::JoinHandle<()>,
    }

    impl Raiser {
        fn spawn(ready: &Arc<ReadyFd>) -> Raiser {
            let go = Arc::new(AtomicU32::new(0));
            let done = Arc::new(AtomicU32::new(0));
            let (ready, go2, done2) = (Arc::clone(ready), Arc::clone(&go), Arc::clone(&done));
            let thread = std::thread::spawn(move || {
                for round in 0.. {
                    while go2.load(Ordering::SeqCst) <= round {
                        std::hint::spin_loop();
                    }
                    if go2.load(Ordering::SeqCst) == u32::MAX {
                        return;
                    }
                    ready.raise();
                    done2.store(round + 1, Ordering::SeqCst);
                }
            });
            Raiser { go, done, thread }
        }

        fn start(&self, round: u32) {
            self.go.store(round + 1, Ordering::SeqCst);
        }

        fn is_done(&self, round: u32) -> bool {
            self.done.load(Ordering::SeqCst) > round
        }

        fn wait(&self, round: u32) {
            while !self.is_done(round) {
                std::hint::spin_loop();
            }
        }

        fn stop(self) {
            self.go.store(u32::MAX, Ordering::SeqCst);
            self.thread.join().unwrap();
        }
    }

    /// Runs `round` for two seconds (at most 200,000 times); returns how many.
    fn rounds(mut round: impl FnMut(u32)) -> u32 {
        let end = Instant::now() + Duration::from_secs(2);
        let mut n = 0;
        while Instant::now() < end && n < 200_000 {
            round(n);
            n += 1;
        }
        n
    }

    /// A raise racing a lower, round after round: once both are done, a
    /// raised flag must mean a readable descriptor (a raise whose write the
    /// lower's read ate left it raised and unreadable for good).
    #[test]
    fn a_raise_racing_a_lower_never_leaves_it_raised_and_unreadable() {
        let ready = Arc::new(ReadyFd::new().unwrap());
        let raiser = Raiser::spawn(&ready);
        let mut stranded = 0;
        let total = rounds(|round| {
            ready.raise(); // the flag is up before the lower races the raise
            raiser.start(round);
            ready.lower();
            raiser.wait(round);
            if ready.is_raised() && !readable(&ready) {
                stranded += 1;
            }
            crate::sys::drain_now(ready.as_raw_fd());
            ready.raise();
            ready.lower();
        });
        raiser.stop();
        assert_eq!(
            stranded, 0,
            "{stranded} of {total} rounds left it raised and unreadable"
        );
    }

    /// The other way round: a raise racing a lower of a flag that is down
    /// must not leave the descriptor readable under a lowered flag (a raise
    /// whose write landed after the lower's read, or a lower that skipped its
    /// read while a raise was between its write and its flag): the reader's
    /// lower acts only on a raised flag, so nothing would clear it, and an
    /// edge-triggered loop would never get another edge.
    #[test]
    fn a_raise_racing_a_lower_never_leaves_it_lowered_and_readable() {
        let ready = Arc::new(ReadyFd::new().unwrap());
        let raiser = Raiser::spawn(&ready);
        let mut stale = 0;
        let total = rounds(|round| {
            raiser.start(round);
            // Spin until the raise has begun, then lower against it.
            while !ready.is_raised() && !raiser.is_done(round) {
                std::hint::spin_loop();
            }
            ready.lower();
            raiser.wait(round);
            if !ready.is_raised() && readable(&ready) {
                stale += 1;
            }
            // Back to a known state: down and unreadable.
            ready.raise();
            ready.lower();
            crate::sys::drain_now(ready.as_raw_fd());
        });
        raiser.stop();
        assert_eq!(
            stale, 0,
            "{stale} of {total} rounds left it lowered and readable"
        );
    }
}
