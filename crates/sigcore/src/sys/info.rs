use std::ffi::CStr;

use crate::event::RawInfo;

/// `SIGRTMIN` as libc computes it at run time (glibc reserves the first two).
pub(crate) fn rtmin() -> libc::c_int {
    libc::SIGRTMIN()
}

/// `SIGRTMAX`.
pub(crate) fn rtmax() -> libc::c_int {
    libc::SIGRTMAX()
}

/// The `strsignal(3)` text for `number`.
pub(crate) fn strsignal(number: libc::c_int) -> String {
    // glibc keeps the text of unknown numbers in a thread-local buffer, so callers
    // in other threads cannot overwrite it while it is copied here.
    // SAFETY: strsignal takes any int and returns a NUL-terminated string valid
    // until the next strsignal call in this thread; it is copied at once.
    unsafe {
        let text = libc::strsignal(number);
        if text.is_null() {
            return format!("Signal {number}");
        }
        CStr::from_ptr(text).to_string_lossy().into_owned()
    }
}

/// The calling thread's kernel id.
pub(crate) fn gettid() -> i32 {
    // SAFETY: gettid takes no arguments and cannot fail; it is async-signal-safe.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// This process's id.
pub(crate) fn getpid() -> i32 {
    // SAFETY: getpid cannot fail and is async-signal-safe.
    unsafe { libc::getpid() }
}

/// This process's real user id.
pub(crate) fn getuid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

/// Word index of the `siginfo_t` union: after `si_signo`, `si_errno`, `si_code`,
/// padded to the union's pointer alignment.
const UNION_WORD: usize = if cfg!(target_pointer_width = "64") {
    4
} else {
    3
};

/// Reads the fields sigcore needs from a `siginfo_t`, whatever its code. Only
/// plain loads of initialised memory: async-signal-safe, and sound for any bytes.
pub(crate) fn raw_from_siginfo(info: &libc::siginfo_t) -> RawInfo {
    const _: () = assert!(std::mem::size_of::<libc::siginfo_t>() == 128);
    // SAFETY: siginfo_t is 128 bytes of plain data (checked above) with at least
    // 4-byte alignment, so viewing it as 32 i32 words reads initialised memory.
    let words = unsafe { &*(info as *const libc::siginfo_t).cast::<[i32; 32]>() };
    raw_from_words(words)
}

/// The same from the raw bytes of a `siginfo_t` (native byte order).
pub(crate) fn raw_from_siginfo_bytes(bytes: &[u8; 128]) -> RawInfo {
    let mut words = [0i32; 32];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(4)) {
        *word = i32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    raw_from_words(&words)
}

fn raw_from_words(words: &[i32; 32]) -> RawInfo {
    // Which words are meaningful depends on si_code; the others only produce
    // values that `RawInfo::origin` ignores for that code.
    let u = UNION_WORD;
    RawInfo {
        signo: words[0],
        code: words[2],
        // _kill/_rt/_sigchld: si_pid, si_uid; _timer: si_tid, si_overrun.
        pid: words[u],
        uid: words[u + 1] as u32,
        timer_id: words[u],
        overrun: words[u + 1],
        // _rt: sigval (sival_int overlays its first bytes); _sigchld: si_status.
        value: words[u + 2],
        status: words[u + 2],
        // _sigpoll: si_band (a long), then si_fd.
        fd: words[u + std::mem::size_of::<libc::c_long>() / 4],
    }
}

/// The inverse of `raw_from_words` for the fields a code uses: a `siginfo_t`'s
/// 32 words, to hand an event to a foreign handler.
pub(crate) fn words_from_raw(raw: &RawInfo) -> [i32; 32] {
    let u = UNION_WORD;
    let mut words = [0i32; 32];
    words[0] = raw.signo;
    words[2] = raw.code;
    match raw.origin() {
        crate::Origin::Timer { timer_id, overrun } => {
            words[u] = timer_id;
            words[u + 1] = overrun;
        }
        crate::Origin::Io { .. } => {
            words[u + std::mem::size_of::<libc::c_long>() / 4] = raw.fd;
        }
        crate::Origin::Child { .. } => {
            words[u] = raw.pid;
            words[u + 1] = raw.uid as i32;
            words[u + 2] = raw.status;
        }
        _ => {
            words[u] = raw.pid;
            words[u + 1] = raw.uid as i32;
            words[u + 2] = raw.value;
        }
    }
    words
}

/// Reads a `signalfd_siginfo`, which names every field explicitly.
pub(crate) fn raw_from_signalfd(info: &libc::signalfd_siginfo) -> RawInfo {
    RawInfo {
        signo: info.ssi_signo as i32,
        code: info.ssi_code,
        pid: info.ssi_pid as i32,
        uid: info.ssi_uid,
        status: info.ssi_status,
        value: info.ssi_int,
        timer_id: info.ssi_tid as i32,
        overrun: info.ssi_overrun as i32,
        fd: info.ssi_fd,
    }
}
