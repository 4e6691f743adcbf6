//! Children: seeing how one ended without taking its status from whoever waits
//! for it, reaping, the child-subreaper flag and the parent-death signal.
//!
//! `waitpid(-1)` in one place steals exit statuses from every other waiter of
//! the process (`std::process::Child::wait` then fails with `ECHILD`, design
//! fact 17). These work one pid at a time instead; [`peek_child`] looks without
//! reaping. The `sigbus` crate builds its reaper on them.

use crate::event::{ChildStatus, CLD_DUMPED, CLD_EXITED, CLD_KILLED};
use crate::{sys, Error, Result, Signal};

/// A child that has exited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChildExit {
    /// Its process id.
    pub pid: i32,
    /// Its real user id.
    pub uid: u32,
    /// How it ended: `Exited`, `Killed` or `Dumped`.
    pub status: ChildStatus,
}

impl ChildExit {
    fn from_sys(exit: sys::Exit) -> ChildExit {
        let status = match exit.code {
            CLD_EXITED => ChildStatus::Exited(exit.status),
            CLD_DUMPED => ChildStatus::Dumped(exit.status),
            CLD_KILLED => ChildStatus::Killed(exit.status),
            // waitid(WEXITED) reports nothing else.
            _ => ChildStatus::Killed(exit.status),
        };
        ChildExit {
            pid: exit.pid,
            uid: exit.uid,
            status,
        }
    }

    /// The status a shell would show: the code, or 128 + the signal number.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigcore::{ChildExit, ChildStatus};
    ///
    /// let killed = ChildExit { pid: 7, uid: 0, status: ChildStatus::Killed(15) };
    /// assert_eq!(killed.shell_status(), 143);
    /// ```
    pub fn shell_status(&self) -> i32 {
        match self.status {
            ChildStatus::Exited(code) => code,
            ChildStatus::Killed(n) | ChildStatus::Dumped(n) => 128 + n,
            ChildStatus::Trapped(n) | ChildStatus::Stopped(n) => 128 + n,
            ChildStatus::Continued => 0,
        }
    }
}

fn io(call: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::io(call, e)
}

/// How child `pid` ended if it has exited, **without reaping it**
/// (`waitid(WNOWAIT)`): whoever waits for it still gets its status.
/// `Ok(None)` while it runs.
///
/// # Errors
///
/// [`Error::NoSuchProcess`] when `pid` is not a child of this process (or was
/// reaped already).
///
/// # Examples
///
/// ```
/// let mut child = std::process::Command::new("true").spawn().unwrap();
/// let pid = child.id() as i32;
/// while sigcore::peek_child(pid)?.is_none() {
///     std::thread::sleep(std::time::Duration::from_millis(1));
/// }
/// assert!(child.wait().unwrap().success()); // still there for its owner
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn peek_child(pid: i32) -> Result<Option<ChildExit>> {
    sys::peek(pid)
        .map(|exit| exit.map(ChildExit::from_sys))
        .map_err(|e| not_a_child(pid, e, "waitid"))
}

/// Reaps child `pid` if it has exited; `Ok(None)` while it runs.
///
/// # Errors
///
/// As for [`peek_child`].
pub fn reap_child(pid: i32) -> Result<Option<ChildExit>> {
    sys::reap(pid)
        .map(|exit| exit.map(ChildExit::from_sys))
        .map_err(|e| not_a_child(pid, e, "waitid"))
}

/// Reaps any child that has exited, the way an init does. **Steals** the status
/// of children that other code waits for (their `wait` then fails with
/// `ECHILD`): only for a process that runs nothing else that waits.
/// `Ok(None)` when no child has exited (or there is none).
///
/// # Errors
///
/// [`Error::Io`] if `waitid` fails otherwise.
pub fn reap_any_child() -> Result<Option<ChildExit>> {
    match sys::reap_any() {
        Ok(exit) => Ok(exit.map(ChildExit::from_sys)),
        Err(e) if e.raw_os_error() == Some(libc::ECHILD) => Ok(None),
        Err(e) => Err(Error::io("waitid", e)),
    }
}

fn not_a_child(pid: i32, e: std::io::Error, call: &'static str) -> Error {
    match e.raw_os_error() {
        Some(libc::ECHILD) => Error::NoSuchProcess { pid },
        _ => Error::io(call, e),
    }
}

/// This process's children, live and zombie, of every thread, from
/// `/proc/self/task/*/children` (which needs a kernel with
/// `CONFIG_PROC_CHILDREN`, as distributions' kernels have).
///
/// # Errors
///
/// [`Error::Io`] if `/proc` cannot be read.
pub fn children() -> Result<Vec<i32>> {
    sys::children().map_err(io("reading /proc/self/task/*/children"))
}

/// Makes this process a child subreaper (`PR_SET_CHILD_SUBREAPER`), or stops
/// it being one: orphaned descendants are re-parented to it (instead of to
/// PID 1), so it can reap them.
///
/// # Errors
///
/// [`Error::Io`] if `prctl` fails.
///
/// # Examples
///
/// ```
/// sigcore::set_child_subreaper(true)?;
/// assert!(sigcore::is_child_subreaper()?);
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn set_child_subreaper(on: bool) -> Result<()> {
    sys::set_child_subreaper(on).map_err(io("prctl(PR_SET_CHILD_SUBREAPER)"))
}

/// Whether this process is a child subreaper.
///
/// # Errors
///
/// [`Error::Io`] if `prctl` fails.
pub fn is_child_subreaper() -> Result<bool> {
    sys::is_child_subreaper().map_err(io("prctl(PR_GET_CHILD_SUBREAPER)"))
}

/// Asks the kernel to send `signal` to this process when its parent dies
/// (`PR_SET_PDEATHSIG`), without the classic race: if the parent already died
/// before the call (this process was re-parented), it says so instead of
/// waiting for a signal that will never come. `parent` is the parent's pid as
/// read at start (`std::os::unix::process::parent_id()` first thing in `main`).
///
/// The signal comes when the **thread** that forked this process exits, not
/// only when the whole parent process does (see `prctl(2)`).
///
/// # Errors
///
/// [`Error::ParentExited`] when the parent is not `parent` any more (it died
/// first); [`Error::Io`] if `prctl` fails.
///
/// # Examples
///
/// ```
/// let parent = std::os::unix::process::parent_id() as i32;
/// sigcore::set_parent_death_signal(sigcore::Signal::TERM, parent)?;
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn set_parent_death_signal(signal: Signal, parent: i32) -> Result<()> {
    match sys::set_parent_death_signal(signal.number(), parent) {
        Ok(true) => Ok(()),
        Ok(false) => Err(Error::ParentExited { parent }),
        Err(e) => Err(Error::io("prctl(PR_SET_PDEATHSIG)", e)),
    }
}

/// The parent's pid now (`getppid`).
pub fn parent_pid() -> i32 {
    sys::getppid()
}
