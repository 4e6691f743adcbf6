use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::{check, check_long};

/// `kill(pid, signo)`; `signo` 0 only checks that the process exists.
pub(crate) fn kill(pid: i32, signo: i32) -> io::Result<()> {
    // SAFETY: no pointers; the kernel validates both numbers.
    check(unsafe { libc::kill(pid, signo) }).map(drop)
}

/// `sigqueue(pid, signo, value)` with the payload in `sival_int`.
pub(crate) fn sigqueue(pid: i32, signo: i32, value: i32) -> io::Result<()> {
    // libc's sigval exposes only `sival_ptr`; place the int where `sival_int`
    // overlays it and keep the other bytes zero, so the receiver reads `value`.
    let bits = value as u32 as usize;
    let bits = if cfg!(target_endian = "big") && usize::BITS == 64 {
        bits << 32
    } else {
        bits
    };
    let sigval = libc::sigval {
        sival_ptr: bits as *mut libc::c_void,
    };
    // SAFETY: no pointers besides the by-value union.
    check(unsafe { libc::sigqueue(pid, signo, sigval) }).map(drop)
}

/// `tgkill(tgid, tid, signo)`: to one thread of a process.
pub(crate) fn tgkill(tgid: i32, tid: i32, signo: i32) -> io::Result<()> {
    // SAFETY: raw syscall with three integer arguments.
    check_long(unsafe { libc::syscall(libc::SYS_tgkill, tgid, tid, signo) }).map(drop)
}

/// `pidfd_open(pid, 0)` (Linux 5.3+).
pub(crate) fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: raw syscall with integer arguments; returns a new descriptor or -1.
    let fd = check_long(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `pidfd_send_signal(fd, signo, NULL, 0)` (Linux 5.1+): like `kill`, but the
/// target cannot have been replaced by a recycled pid.
pub(crate) fn pidfd_send_signal(fd: BorrowedFd<'_>, signo: i32) -> io::Result<()> {
    // SAFETY: raw syscall; a null siginfo asks the kernel to fill one as `kill` does.
    check_long(unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            signo,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    })
    .map(drop)
}
