//! Signal state of any process or thread, read from `/proc/PID/status`: the
//! counterpart of Python's `getsignal` for processes other than this one.

use std::fs;
use std::io;
use std::path::Path;

use crate::SignalSet;

/// The signal lines of `/proc/PID/status` (or `/proc/PID/task/TID/status`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcSignals {
    /// The `Name:` line (the thread's name for a task).
    pub name: String,
    /// The `Pid:` line (the thread id for a task).
    pub pid: i32,
    /// `SigPnd`: pending for this thread only.
    pub thread_pending: SignalSet,
    /// `ShdPnd`: pending for the whole process.
    pub shared_pending: SignalSet,
    /// `SigBlk`: blocked (the mask of this thread, or of the main thread).
    pub blocked: SignalSet,
    /// `SigIgn`: disposition SIG_IGN.
    pub ignored: SignalSet,
    /// `SigCgt`: a handler is installed.
    pub caught: SignalSet,
}

impl ProcSignals {
    /// Reads `/proc/PID/status`.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::NotFound`] when no such process exists, and any read error.
    ///
    /// # Examples
    ///
    /// ```
    /// let me = sigcore::ProcSignals::of_process(std::process::id() as i32)?;
    /// assert_eq!(me.pid, std::process::id() as i32);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn of_process(pid: i32) -> io::Result<ProcSignals> {
        ProcSignals::read(&Path::new("/proc").join(pid.to_string()).join("status"))
    }

    /// Reads `/proc/PID/task/TID/status`: one thread, with its own mask and
    /// thread-directed pending signals.
    ///
    /// # Errors
    ///
    /// As for [`ProcSignals::of_process`].
    pub fn of_thread(pid: i32, tid: i32) -> io::Result<ProcSignals> {
        let path = Path::new("/proc")
            .join(pid.to_string())
            .join("task")
            .join(tid.to_string())
            .join("status");
        ProcSignals::read(&path)
    }

    /// Reads `/proc/PID/task/*/status` for every thread of `pid`, sorted by thread id.
    ///
    /// # Errors
    ///
    /// As for [`ProcSignals::of_process`]; threads that exit during the scan are skipped.
    pub fn of_threads(pid: i32) -> io::Result<Vec<ProcSignals>> {
        let dir = Path::new("/proc").join(pid.to_string()).join("task");
        let mut threads = Vec::new();
        for entry in fs::read_dir(dir)? {
            match ProcSignals::read(&entry?.path().join("status")) {
                Ok(t) => threads.push(t),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
        }
        threads.sort_by_key(|t| t.pid);
        Ok(threads)
    }

    fn read(path: &Path) -> io::Result<ProcSignals> {
        ProcSignals::parse(&fs::read_to_string(path)?).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} lacks the signal lines", path.display()),
            )
        })
    }

    /// Parses the text of a status file; `None` if a signal line is missing.
    pub fn parse(text: &str) -> Option<ProcSignals> {
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(str::trim))
        };
        let mask = |key: &str| {
            field(key)
                .and_then(|v| u64::from_str_radix(v, 16).ok())
                .map(SignalSet::from_bits)
        };
        Some(ProcSignals {
            name: field("Name")?.to_owned(),
            pid: field("Pid")?.parse().ok()?,
            thread_pending: mask("SigPnd")?,
            shared_pending: mask("ShdPnd")?,
            blocked: mask("SigBlk")?,
            ignored: mask("SigIgn")?,
            caught: mask("SigCgt")?,
        })
    }
}

/// A thread of this process holding thread-directed signals that sigcore serves
/// but no waiter can take (see [`stranded`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stranded {
    /// The thread's kernel id.
    pub tid: i32,
    /// The thread's name.
    pub name: String,
    /// The served signals pending for that thread only.
    pub signals: SignalSet,
}

/// Finds thread-directed signals stranded in this process: served signals sent
/// with `tgkill`/`pthread_kill`/libc `raise` to a thread that blocks them, where
/// only that thread can take them ([`crate::wait`]). Each one found is logged as
/// a warning. Reads `/proc/self/task/*/status`, so call it from a health check,
/// not a hot loop.
///
/// # Errors
///
/// Any error reading `/proc`.
///
/// # Examples
///
/// ```
/// assert!(sigcore::stranded()?.is_empty());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn stranded() -> io::Result<Vec<Stranded>> {
    let served = crate::waiter::armed();
    let found: Vec<Stranded> = ProcSignals::of_threads(std::process::id() as i32)?
        .into_iter()
        .filter(|t| !t.thread_pending.intersection(served).is_empty())
        .map(|t| Stranded {
            tid: t.pid,
            signals: t.thread_pending.intersection(served),
            name: t.name,
        })
        .collect();
    for s in &found {
        log::warn!(
            "sigcore: {} pending for thread {} ({}) only, which blocks it; only that thread \
             can take it (sigcore::wait)",
            s.signals,
            s.tid,
            s.name
        );
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Signal;

    #[test]
    fn parses_the_signal_lines() {
        let text = "Name:\tworker\nPid:\t42\nSigQ:\t0/1\nSigPnd:\t0000000000000200\n\
                    ShdPnd:\t0000000000000001\nSigBlk:\t0000000000004000\n\
                    SigIgn:\t0000000000001000\nSigCgt:\t0000000000000002\n";
        let parsed = ProcSignals::parse(text).unwrap();
        assert_eq!(parsed.name, "worker");
        assert_eq!(parsed.pid, 42);
        assert_eq!(parsed.thread_pending, SignalSet::from(Signal::USR1));
        assert_eq!(parsed.shared_pending, SignalSet::from(Signal::HUP));
        assert_eq!(parsed.blocked, SignalSet::from(Signal::TERM));
        assert_eq!(parsed.ignored, SignalSet::from(Signal::PIPE));
        assert_eq!(parsed.caught, SignalSet::from(Signal::INT));
    }

    #[test]
    fn missing_lines_give_none() {
        assert!(ProcSignals::parse("Name:\tx\nPid:\t1\n").is_none());
    }

    #[test]
    fn reads_this_process() {
        let me = ProcSignals::of_process(std::process::id() as i32).unwrap();
        assert_eq!(me.pid, std::process::id() as i32);
        // The Rust runtime ignores SIGPIPE at start-up.
        assert!(me.ignored.contains(Signal::PIPE));
        assert!(!ProcSignals::of_threads(std::process::id() as i32)
            .unwrap()
            .is_empty());
    }
}
