//! Sending signals: to a process, to this process, with a payload, to one thread,
//! and through a pidfd.

use std::os::fd::{AsFd, OwnedFd};

use crate::{sys, Error, Result, Signal};

fn positive(pid: i32) -> Result<()> {
    if pid <= 0 {
        return Err(Error::InvalidPid { pid });
    }
    Ok(())
}

/// Sends `signal` to process `pid` (`kill(2)`).
///
/// # Errors
///
/// [`Error::InvalidPid`] for 0 and negative pids (use [`kill_process_group`] to
/// reach a group on purpose), [`Error::NoSuchProcess`], [`Error::PermissionDenied`].
///
/// # Examples
///
/// ```
/// use sigcore::{Error, Signal};
///
/// assert!(matches!(sigcore::kill(0, Signal::TERM), Err(Error::InvalidPid { pid: 0 })));
/// assert!(matches!(sigcore::kill(i32::MAX, Signal::TERM), Err(Error::NoSuchProcess { .. })));
/// ```
pub fn kill(pid: i32, signal: Signal) -> Result<()> {
    positive(pid)?;
    sys::kill(pid, signal.number()).map_err(|e| Error::from_send("kill", pid, signal, e))
}

/// Sends `signal` to every process of group `pgid` (`kill(-pgid, sig)`).
///
/// # Errors
///
/// [`Error::InvalidPid`] for `pgid <= 0`; otherwise as for [`kill`].
///
/// # Examples
///
/// ```no_run
/// // Tell a whole pipeline started as its own group to hang up.
/// sigcore::kill_process_group(4242, sigcore::Signal::HUP)?;
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn kill_process_group(pgid: i32, signal: Signal) -> Result<()> {
    positive(pgid)?;
    sys::kill(-pgid, signal.number()).map_err(|e| Error::from_send("kill", -pgid, signal, e))
}

/// Sends `signal` to this process so the waiter sees it.
///
/// Unlike libc's `raise(3)` (and Python's `raise_signal`), which in a threaded
/// program targets only the calling thread, this is `kill(getpid(), sig)`:
/// process-directed, so any thread that waits for it can take it.
///
/// # Errors
///
/// [`Error::Io`] in the unlikely case `kill` fails.
///
/// # Examples
///
/// ```
/// use sigcore::Signal;
///
/// sigcore::block(Signal::USR1)?;
/// sigcore::raise(Signal::USR1)?;
/// assert!(sigcore::pending()?.contains(Signal::USR1));
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn raise(signal: Signal) -> Result<()> {
    let pid = sys::getpid();
    sys::kill(pid, signal.number()).map_err(|e| Error::from_send("kill", pid, signal, e))
}

/// Sends `signal` with an integer payload (`sigqueue(3)`); the receiver sees
/// [`crate::Origin::Queue`] with `value`. Real-time signals queue; a standard
/// signal already pending is merged and its payload lost.
///
/// # Errors
///
/// As for [`kill`], plus [`Error::QueueFull`] when the receiver's queue of pending
/// signals is full (`EAGAIN`): back off and retry.
///
/// # Examples
///
/// ```
/// use sigcore::{Signal, Signals};
///
/// sigcore::block(Signal::USR1)?;
/// let signals = Signals::new(Signal::USR1)?;
/// sigcore::sigqueue(std::process::id() as i32, Signal::USR1, 42)?;
/// assert_eq!(signals.recv().unwrap().origin.value(), Some(42));
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn sigqueue(pid: i32, signal: Signal, value: i32) -> Result<()> {
    positive(pid)?;
    sys::sigqueue(pid, signal.number(), value)
        .map_err(|e| Error::from_send("sigqueue", pid, signal, e))
}

/// Whether process `pid` exists (`kill(pid, 0)`); a process of another user counts.
///
/// # Errors
///
/// [`Error::InvalidPid`] for 0 and negative pids.
///
/// # Examples
///
/// ```
/// assert!(sigcore::process_exists(std::process::id() as i32)?);
/// assert!(!sigcore::process_exists(i32::MAX)?);
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn process_exists(pid: i32) -> Result<bool> {
    positive(pid)?;
    match sys::kill(pid, 0) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(false),
        Err(e) => Err(Error::io("kill", e)),
    }
}

/// This process's real user id, the uid that [`crate::Origin`] reports for
/// signals this process sends itself.
///
/// # Examples
///
/// ```
/// let uid = sigcore::current_uid();
/// println!("running as uid {uid}");
/// ```
pub fn current_uid() -> u32 {
    sys::getuid()
}

/// One thread of this process, as a target for thread-directed signals
/// (`pthread_kill`/`tgkill`). Capture it in the thread itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ThreadHandle {
    pid: i32,
    tid: i32,
}

impl ThreadHandle {
    /// The calling thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let me = sigcore::ThreadHandle::current();
    /// assert_eq!(me.pid(), std::process::id() as i32);
    /// ```
    pub fn current() -> ThreadHandle {
        ThreadHandle {
            pid: sys::getpid(),
            tid: sys::gettid(),
        }
    }

    /// The thread of this process whose kernel id is `tid` (as
    /// `gettid(2)`, `/proc/self/task` or `sigbus::ActorRef::tid` give it).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPid`] when `tid` is not positive;
    /// [`Error::NoSuchProcess`] when no thread of this process has that id
    /// (it has exited, or belongs to another process). A thread that exits
    /// later makes [`ThreadHandle::send`] fail the same way; its id may be
    /// reused only by a new thread, never of another process, since `tgkill`
    /// checks both ids.
    ///
    /// # Examples
    ///
    /// ```
    /// let me = sigcore::ThreadHandle::current();
    /// assert_eq!(sigcore::ThreadHandle::of_thread(me.tid())?, me);
    /// assert!(sigcore::ThreadHandle::of_thread(1).is_err()); // init's, not ours
    /// # Ok::<(), sigcore::Error>(())
    /// ```
    pub fn of_thread(tid: i32) -> Result<ThreadHandle> {
        positive(tid)?;
        let pid = sys::getpid();
        // /proc/self/task lists exactly the threads of this process.
        if tid == pid || std::path::Path::new(&format!("/proc/self/task/{tid}")).exists() {
            Ok(ThreadHandle { pid, tid })
        } else {
            Err(Error::NoSuchProcess { pid: tid })
        }
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The kernel thread id.
    pub fn tid(&self) -> i32 {
        self.tid
    }

    /// Sends `signal` to this thread only (`tgkill`). The thread takes it with
    /// [`crate::wait`] if it blocks it; no waiter thread can.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchProcess`] when the thread has exited.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sigcore::{Signal, ThreadHandle};
    ///
    /// sigcore::block(Signal::USR1)?;
    /// ThreadHandle::current().send(Signal::USR1)?;
    /// let event = sigcore::wait_timeout(Signal::USR1, Duration::from_secs(5))?;
    /// assert_eq!(event.unwrap().origin.kind(), "tkill");
    /// # Ok::<(), sigcore::Error>(())
    /// ```
    pub fn send(&self, signal: Signal) -> Result<()> {
        sys::tgkill(self.pid, self.tid, signal.number())
            .map_err(|e| Error::from_send("tgkill", self.tid, signal, e))
    }
}

/// A process referenced by a pidfd: signals sent through it can never reach a
/// different process that reused the pid (Linux 5.3+).
#[derive(Debug)]
pub struct Pidfd {
    fd: OwnedFd,
    pid: i32,
}

impl Pidfd {
    /// Opens a pidfd for `pid`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPid`], [`Error::NoSuchProcess`], [`Error::Unsupported`] on
    /// kernels without pidfds.
    ///
    /// # Examples
    ///
    /// ```
    /// let me = sigcore::Pidfd::open(std::process::id() as i32)?;
    /// assert_eq!(me.pid(), std::process::id() as i32);
    /// # Ok::<(), sigcore::Error>(())
    /// ```
    pub fn open(pid: i32) -> Result<Pidfd> {
        positive(pid)?;
        let fd = sys::pidfd_open(pid).map_err(|e| match e.raw_os_error() {
            Some(libc::ESRCH) => Error::NoSuchProcess { pid },
            Some(libc::ENOSYS) => Error::Unsupported("pidfd_open"),
            _ => Error::io("pidfd_open", e),
        })?;
        Ok(Pidfd { fd, pid })
    }

    /// The pid it was opened for.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Sends `signal` (`pidfd_send_signal`).
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchProcess`] once the process has exited,
    /// [`Error::PermissionDenied`], [`Error::Unsupported`].
    ///
    /// # Examples
    ///
    /// ```
    /// use sigcore::Signal;
    ///
    /// sigcore::block(Signal::USR2)?;
    /// sigcore::Pidfd::open(std::process::id() as i32)?.send(Signal::USR2)?;
    /// assert!(sigcore::pending()?.contains(Signal::USR2));
    /// # Ok::<(), sigcore::Error>(())
    /// ```
    pub fn send(&self, signal: Signal) -> Result<()> {
        sys::pidfd_send_signal(self.fd.as_fd(), signal.number())
            .map_err(|e| Error::from_send("pidfd_send_signal", self.pid, signal, e))
    }
}
