//! The few raw system calls tests need and the libraries deliberately do not
//! offer: signalling another thread by id, and changing user ids.

/// The `nobody` user, for senders that must not be root.
pub const NOBODY: u32 = 65534;

/// Whether the test runs as root (needed to run a sender as another user).
pub fn running_as_root() -> bool {
    // SAFETY: getuid cannot fail and touches no memory.
    unsafe { libc::getuid() == 0 }
}

/// Sends `signo` to thread `tid` of this process. The libraries only let a thread
/// hand out its own handle; tests also aim at threads they did not create.
///
/// # Panics
///
/// When `tgkill` fails.
pub fn tgkill(tid: i32, signo: i32) {
    // SAFETY: tgkill takes three integers and touches no memory.
    let ret = unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, signo) };
    assert_eq!(ret, 0, "tgkill({tid}, {signo}) failed");
}

/// Keeps root as the real and effective user but makes `nobody` the saved one,
/// so that a process running as `nobody` may signal this one.
///
/// # Panics
///
/// When not running as root.
pub fn let_nobody_signal_me() {
    // SAFETY: u32::MAX (-1) keeps the real and effective ids; no memory involved.
    assert_eq!(unsafe { libc::setresuid(u32::MAX, u32::MAX, NOBODY) }, 0);
}

/// Drops every privilege: the process runs as `nobody` from now on.
///
/// # Panics
///
/// When a call fails (not running as root).
pub fn become_nobody() {
    // SAFETY: plain id changes; setgroups with an empty list reads no memory.
    unsafe {
        assert_eq!(libc::setgroups(0, std::ptr::null()), 0);
        assert_eq!(libc::setgid(NOBODY), 0);
        assert_eq!(libc::setuid(NOBODY), 0);
    }
}

/// Sends `signo` to process `pid` with `rt_sigqueueinfo` and a hand-made
/// `siginfo`: code `SI_QUEUE`, but the sender pid and uid this caller *claims*.
/// The kernel allows it for negative codes, which is why a sender filter must not
/// trust a queued signal's uid. Tests use it to play a forger.
///
/// # Errors
///
/// The system call's error.
pub fn forge_sigqueue(
    pid: i32,
    signo: i32,
    claimed_pid: i32,
    claimed_uid: u32,
    value: i32,
) -> std::io::Result<()> {
    const SI_QUEUE: i32 = -1;
    // The union starts after si_signo, si_errno, si_code, aligned to a pointer.
    let union = if cfg!(target_pointer_width = "64") {
        4
    } else {
        3
    };
    let mut words = [0i32; 32];
    words[0] = signo;
    words[2] = SI_QUEUE;
    words[union] = claimed_pid;
    words[union + 1] = claimed_uid as i32;
    words[union + 2] = value;
    // SAFETY: `words` is a 128-byte buffer laid out as the kernel's siginfo for
    // SI_QUEUE; the kernel copies it and checks the code itself.
    let ret = unsafe { libc::syscall(libc::SYS_rt_sigqueueinfo, pid, signo, words.as_ptr()) };
    if ret == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
