//! Signal state of any process or thread, read from `/proc/PID/status`: the
//! counterpart of Python's `getsignal` for processes other than this one.
//!
//! Everything is read as bytes: a process chooses its own name (`prctl`,
//! `pthread_setname_np`), and one that is not UTF-8, or that holds terminal
//! escape codes, must neither hide its state from a reader nor reach a terminal
//! raw ([`TaskName`]).

use std::borrow::Cow;
use std::fmt;
use std::fs;
use std::io;
use std::path::Path;

use crate::SignalSet;

/// A process or thread name as the kernel keeps it: at most 15 bytes, any byte
/// but NUL, not necessarily UTF-8.
///
/// `Display` escapes what could drive a terminal or is not text (control
/// characters, backslash, bytes that are not UTF-8: `\x1b`, `\n`, `\\`, `\xff`),
/// so a name printed in a log line or a table shows as what it is.
/// [`TaskName::to_string_lossy`] gives the characters themselves (for JSON).
///
/// # Examples
///
/// ```
/// use sigcore::TaskName;
///
/// let hostile = TaskName::new(b"\x1b]0;owned\x07\xff");
/// assert_eq!(hostile.to_string(), "\\x1b]0;owned\\x07\\xff");
/// assert_eq!(TaskName::new(b"worker-1"), "worker-1");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct TaskName(Vec<u8>);

impl TaskName {
    /// A name from its bytes.
    pub fn new(bytes: &[u8]) -> TaskName {
        TaskName(bytes.to_vec())
    }

    /// The bytes, as the kernel has them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The name as text, with U+FFFD for bytes that are not UTF-8; control
    /// characters are kept (escape them before printing to a terminal).
    pub fn to_string_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// Undoes the escaping of the `Name:` line of a status file, where the kernel
    /// writes a newline as `\n` and a backslash as `\\`.
    fn from_status(escaped: &[u8]) -> TaskName {
        let mut name = Vec::with_capacity(escaped.len());
        let mut bytes = escaped.iter().copied();
        while let Some(b) = bytes.next() {
            if b != b'\\' {
                name.push(b);
                continue;
            }
            match bytes.next() {
                Some(b'n') => name.push(b'\n'),
                Some(other) => name.push(other),
                None => name.push(b),
            }
        }
        TaskName(name)
    }
}

impl fmt::Display for TaskName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                if c.is_control() || c == '\\' {
                    match c {
                        '\n' => f.write_str("\\n")?,
                        '\t' => f.write_str("\\t")?,
                        '\\' => f.write_str("\\\\")?,
                        c => write!(f, "\\x{:02x}", c as u32)?,
                    }
                } else {
                    write!(f, "{c}")?;
                }
            }
            for byte in chunk.invalid() {
                write!(f, "\\x{byte:02x}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for TaskName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

impl PartialEq<str> for TaskName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for TaskName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

/// The lines of `/proc/PID/status` (or `/proc/PID/task/TID/status`) that say how
/// a process or thread stands with signals.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcSignals {
    /// The `Name:` line (the thread's name for a task), unescaped.
    pub name: TaskName,
    /// The `Pid:` line (the thread id for a task).
    pub pid: i32,
    /// The `PPid:` line: the parent process (0 for the first process of a pid
    /// namespace seen from inside, and for the kernel's own).
    pub ppid: i32,
    /// The `State:` line's letter: `R` running, `S` sleeping, `D` disk sleep,
    /// `T` stopped, `t` traced, `Z` zombie, `X` dead, `I` idle (kernel thread).
    pub state: char,
    /// The real user id (`Uid:`).
    pub uid: u32,
    /// `NSpid`: the pid in each pid namespace it is in, outermost first (a
    /// namespace's init has 1 last).
    pub ns_pids: Vec<i32>,
    /// A kernel thread (`Kthread: 1`, or no user memory on older kernels):
    /// signal state means nothing for it.
    pub kernel_thread: bool,
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

/// Whether an error reading `/proc` means the process or thread is gone: its
/// directory vanished (`ENOENT`), or it died between open and read (`ESRCH`).
pub(crate) fn vanished(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ESRCH)
}

impl ProcSignals {
    /// Reads `/proc/PID/status`.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::NotFound`] when no such process exists (also when it
    /// exits during the read), and any other read error.
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
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) if vanished(&e) => continue,
                Err(e) => return Err(e),
            };
            match ProcSignals::read(&entry.path().join("status")) {
                Ok(t) => threads.push(t),
                Err(e) if vanished(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        threads.sort_by_key(|t| t.pid);
        Ok(threads)
    }

    fn read(path: &Path) -> io::Result<ProcSignals> {
        let bytes = fs::read(path).map_err(|e| {
            if vanished(&e) {
                io::Error::new(io::ErrorKind::NotFound, e)
            } else {
                e
            }
        })?;
        ProcSignals::parse(&bytes).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} lacks the signal lines", path.display()),
            )
        })
    }

    /// Parses the bytes of a status file; `None` if a signal line is missing.
    ///
    /// # Examples
    ///
    /// ```
    /// let status = b"Name:\tweird\\nname\xff\nState:\tS (sleeping)\nPid:\t42\nPPid:\t1\n\
    ///                Uid:\t0\t0\t0\t0\nSigPnd:\t0\nShdPnd:\t0\nSigBlk:\t4000\n\
    ///                SigIgn:\t0\nSigCgt:\t0\n";
    /// let parsed = sigcore::ProcSignals::parse(status).unwrap();
    /// assert_eq!(parsed.name.as_bytes(), b"weird\nname\xff");
    /// assert_eq!(parsed.state, 'S');
    /// assert!(parsed.blocked.contains(sigcore::Signal::TERM));
    /// ```
    pub fn parse(status: &[u8]) -> Option<ProcSignals> {
        let field = |key: &[u8]| {
            status.split(|&b| b == b'\n').find_map(|line| {
                let rest = line.strip_prefix(key)?.strip_prefix(b":")?;
                Some(rest.strip_prefix(b"\t").unwrap_or(rest))
            })
        };
        let text = |key: &[u8]| field(key).and_then(|v| std::str::from_utf8(v).ok());
        let mask = |key: &[u8]| {
            text(key)
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
                .map(SignalSet::from_bits)
        };
        fn first<T: std::str::FromStr>(value: Option<&str>) -> Option<T> {
            value?.split_whitespace().next()?.parse().ok()
        }
        Some(ProcSignals {
            name: TaskName::from_status(field(b"Name")?),
            pid: first(text(b"Pid"))?,
            ppid: first(text(b"PPid")).unwrap_or(0),
            state: text(b"State")
                .and_then(|v| v.trim().chars().next())
                .unwrap_or('?'),
            uid: first(text(b"Uid")).unwrap_or(u32::MAX),
            ns_pids: text(b"NSpid")
                .map(|v| {
                    v.split_whitespace()
                        .filter_map(|p| p.parse().ok())
                        .collect()
                })
                .unwrap_or_default(),
            kernel_thread: match text(b"Kthread") {
                Some(v) => v.trim() == "1",
                // Older kernels: kernel threads have no user memory lines.
                None => field(b"VmSize").is_none() && field(b"Tgid").is_some(),
            },
            thread_pending: mask(b"SigPnd")?,
            shared_pending: mask(b"ShdPnd")?,
            blocked: mask(b"SigBlk")?,
            ignored: mask(b"SigIgn")?,
            caught: mask(b"SigCgt")?,
        })
    }

    /// Whether it is the first process of its innermost pid namespace (a
    /// container's init, or the machine's pid 1): the kernel gives it signals
    /// only for which it has a handler (design fact 16).
    pub fn is_namespace_init(&self) -> bool {
        // Kernels without NSpid (before 4.1) show only the pid.
        self.ns_pids.last() == Some(&1) || (self.ns_pids.is_empty() && self.pid == 1)
    }
}

/// A thread of this process holding thread-directed signals that sigcore serves
/// but no waiter can take (see [`stranded`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stranded {
    /// The thread's kernel id.
    pub tid: i32,
    /// The thread's name.
    pub name: TaskName,
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
    let found: Vec<Stranded> = ProcSignals::of_threads(crate::sys::getpid())?
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
        let text = b"Name:\tworker\nState:\tT (stopped)\nPid:\t42\nPPid:\t7\nUid:\t1000\t0\t0\t0\n\
                    NSpid:\t4242\t1\nSigQ:\t0/1\nSigPnd:\t0000000000000200\n\
                    ShdPnd:\t0000000000000001\nSigBlk:\t0000000000004000\n\
                    SigIgn:\t0000000000001000\nSigCgt:\t0000000000000002\nKthread:\t0\n";
        let parsed = ProcSignals::parse(text).unwrap();
        assert_eq!(parsed.name, "worker");
        assert_eq!((parsed.pid, parsed.ppid, parsed.uid), (42, 7, 1000));
        assert_eq!(parsed.state, 'T');
        assert_eq!(parsed.ns_pids, [4242, 1]);
        assert!(parsed.is_namespace_init());
        assert!(!parsed.kernel_thread);
        assert_eq!(parsed.thread_pending, SignalSet::from(Signal::USR1));
        assert_eq!(parsed.shared_pending, SignalSet::from(Signal::HUP));
        assert_eq!(parsed.blocked, SignalSet::from(Signal::TERM));
        assert_eq!(parsed.ignored, SignalSet::from(Signal::PIPE));
        assert_eq!(parsed.caught, SignalSet::from(Signal::INT));
    }

    #[test]
    fn missing_lines_give_none() {
        assert!(ProcSignals::parse(b"Name:\tx\nPid:\t1\n").is_none());
    }

    /// Names are bytes: escaped newlines and backslashes come back, invalid
    /// UTF-8 and control characters neither fail the parse nor print raw.
    #[test]
    fn hostile_names_parse_and_print_escaped() {
        let text = b"Name:\t\x1b[2J\\n\xe2\x82\\\\x\nPid:\t9\nSigPnd:\t0\nShdPnd:\t0\n\
                     SigBlk:\t0\nSigIgn:\t0\nSigCgt:\t0\n";
        let parsed = ProcSignals::parse(text).unwrap();
        assert_eq!(parsed.name.as_bytes(), b"\x1b[2J\n\xe2\x82\\x");
        let shown = parsed.name.to_string();
        assert_eq!(shown, "\\x1b[2J\\n\\xe2\\x82\\\\x");
        assert!(!shown.chars().any(char::is_control));
        assert_eq!(parsed.name.to_string_lossy(), "\x1b[2J\n\u{fffd}\\x");
    }

    #[test]
    fn reads_this_process() {
        let me = ProcSignals::of_process(std::process::id() as i32).unwrap();
        assert_eq!(me.pid, std::process::id() as i32);
        assert!(!me.kernel_thread);
        assert_eq!(me.uid, crate::current_uid());
        assert!(!ProcSignals::of_threads(std::process::id() as i32)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn kernel_threads_are_marked() {
        // kthreadd is pid 2 wherever /proc shows the host's processes.
        if let Ok(kthreadd) = ProcSignals::of_process(2) {
            if kthreadd.name == "kthreadd" {
                assert!(kthreadd.kernel_thread);
            }
        }
    }
}
