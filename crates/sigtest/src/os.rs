//! The few raw system calls tests need and the libraries deliberately do not
//! offer (signalling another thread by id, changing user ids), and those the
//! harness makes itself: the only `unsafe` in this crate.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

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

/// This user's pending-signal count and this process's limit on it, from the
/// `SigQ:` line of `/proc/self/status` (the count is shared by every process of
/// the user; the limit is `RLIMIT_SIGPENDING`).
///
/// # Panics
///
/// When `/proc/self/status` has no readable `SigQ:` line.
pub fn signal_queue() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("SigQ:"))
        .expect("a SigQ line");
    let (used, limit) = line.trim().split_once('/').expect("SigQ: used/limit");
    (used.parse().unwrap(), limit.parse().unwrap())
}

/// Lowers this process's `RLIMIT_SIGPENDING` so that only `room` more signals
/// can be queued to it, counting what this user has pending now. A full queue
/// then takes a few hundred signals instead of ~100,000, and other processes of
/// the user (with their own, higher limit) are not disturbed.
///
/// # Panics
///
/// When `setrlimit` fails.
pub fn limit_signal_queue(room: u64) {
    let (used, _) = signal_queue();
    let limit = libc::rlimit {
        rlim_cur: (used + room) as libc::rlim_t,
        rlim_max: libc::RLIM_INFINITY,
    };
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: both pointers are valid for the calls.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_SIGPENDING, &mut old), 0);
        let limit = libc::rlimit {
            rlim_max: old.rlim_max,
            ..limit
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_SIGPENDING, &limit), 0);
    }
}

/// Plays the hostile process: `tgkill`s the real-time signal `signo` at thread
/// `tid` of process `pid` until the kernel refuses one (`EAGAIN`, the target's
/// signal queue is full; design fact 14). Returns how many it parked there. A
/// thread that blocks the signal and never takes it (a waiter thread, say) keeps
/// them all.
///
/// # Panics
///
/// When `tgkill` fails with anything but `EAGAIN`, or the queue is not full
/// after a million signals.
pub fn park_until_full(pid: i32, tid: i32, signo: i32) -> u64 {
    for parked in 0..1_000_000u64 {
        // SAFETY: tgkill takes three integers and touches no memory.
        if unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, signo) } != 0 {
            let e = std::io::Error::last_os_error();
            assert_eq!(e.raw_os_error(), Some(libc::EAGAIN), "tgkill: {e}");
            return parked;
        }
    }
    panic!("the signal queue of {pid} never filled");
}

/// Plays the forger of design fact 15: makes the kernel send `signo` to process
/// `pid` with a `POLL_IN` code and no sender, through a pipe whose owner is set to
/// `pid` (`fcntl(F_SETOWN)`, `F_SETSIG`, `O_ASYNC`) and a one-byte write. Any
/// process allowed to signal `pid` can do this.
///
/// # Errors
///
/// The error of the first system call that fails (`EPERM` from `F_SETOWN` is
/// not reported by Linux: a refused delivery is silently dropped).
pub fn provoke_sigio(pid: i32, signo: i32) -> std::io::Result<()> {
    // <fcntl.h>'s F_SETSIG (Linux), which the libc crate does not export.
    const F_SETSIG: libc::c_int = 10;
    let check = |ret: libc::c_int| {
        if ret == -1 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(ret)
        }
    };
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    let [read_end, write_end] = fds;
    // SAFETY: fcntl and write on the pipe just made; the byte is a live local.
    let result = unsafe {
        check(libc::fcntl(read_end, libc::F_SETOWN, pid))
            .and_then(|_| check(libc::fcntl(read_end, F_SETSIG, signo)))
            .and_then(|_| check(libc::fcntl(read_end, libc::F_GETFL)))
            .and_then(|flags| check(libc::fcntl(read_end, libc::F_SETFL, flags | libc::O_ASYNC)))
            .and_then(|_| check(libc::write(write_end, b"x".as_ptr().cast(), 1) as libc::c_int))
    };
    // SAFETY: both descriptors are ours and closed once.
    unsafe {
        libc::close(read_end);
        libc::close(write_end);
    }
    result.map(drop)
}

/// Names the calling thread with raw bytes (`prctl(PR_SET_NAME)`; the kernel
/// keeps the first 15), which need not be UTF-8: what a hostile or careless
/// library can do to a process's `/proc` entries.
///
/// # Panics
///
/// When `name` holds a NUL byte or `prctl` fails.
pub fn set_thread_name(name: &[u8]) {
    let name = std::ffi::CString::new(name).expect("no NUL in a thread name");
    // SAFETY: PR_SET_NAME reads a NUL-terminated string that outlives the call.
    let ret = unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr() as libc::c_ulong, 0, 0, 0) };
    assert_eq!(ret, 0, "prctl(PR_SET_NAME)");
}

// Raw calls the harness itself makes (process trees, pipes). Crate-private.

/// Makes this process the reaper of its orphaned descendants: a process whose
/// parent dies is re-parented here instead of to init, so the harness can still
/// find it (as its own child) and kill it.
pub(crate) fn become_subreaper() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only; no memory is passed.
    let ret = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) };
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Asks the kernel to SIGKILL the process `command` starts when this thread
/// ends, so a scenario does not outlive a harness killed by Ctrl-C. Only for
/// children started by a thread that lives as long as the process.
pub(crate) fn die_with_parent(command: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe calls are allowed: prctl, getppid and _exit are, and
    // `last_os_error` only reads errno.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            // The parent died before the prctl: nobody would ever reap us.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// Whether child `pid` has ended, without reaping it: a zombie still holds its
/// pid, so its process group id cannot be reused by the time we signal it.
pub(crate) fn has_exited(pid: i32) -> io::Result<bool> {
    // SAFETY: siginfo_t is plain integers and unions of them; zero is valid.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    loop {
        // SAFETY: `info` is valid for writes; WNOWAIT leaves the child
        // waitable, so std's `Child` still reaps it.
        let ret = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) };
        if ret == 0 {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    // SAFETY: waitid filled `info` for a child that changed state, and left it
    // zeroed (si_pid 0) otherwise.
    Ok(unsafe { info.si_pid() } != 0)
}

/// Sends `signo` to `pid` (a negative pid is a process group); errors (the
/// process is gone already) are of no interest here.
pub(crate) fn signal(pid: i32, signo: i32) {
    // SAFETY: kill takes two integers and touches no memory.
    unsafe { libc::kill(pid, signo) };
}

/// This process's process group.
pub(crate) fn my_group() -> i32 {
    // SAFETY: getpgrp cannot fail and touches no memory.
    unsafe { libc::getpgrp() }
}

/// The process group of `pid` (-1 if it is gone).
pub(crate) fn group_of(pid: i32) -> i32 {
    // SAFETY: getpgid takes an integer and touches no memory.
    unsafe { libc::getpgid(pid) }
}

/// Reaps child `pid` if it has ended, without blocking. Only for a child no
/// std `Child` owns, which would otherwise reap a recycled pid later.
pub(crate) fn reap_if_exited(pid: i32) {
    let mut status = 0;
    // SAFETY: `status` is valid for writes; WNOHANG never blocks.
    unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
}

/// poll(2) on `fds` for at most `millis`; the number ready, 0 on timeout or
/// EINTR (callers loop).
pub(crate) fn poll(fds: &mut [libc::pollfd], millis: i32) -> i32 {
    // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs; the caller
    // keeps the descriptors open during the call.
    unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, millis) }
}

/// `waitpid(pid, WNOHANG)`: the raw status once child `pid` has ended.
pub(crate) fn waitpid_nohang(pid: i32) -> io::Result<Option<i32>> {
    let mut status = 0;
    // SAFETY: `status` is valid for writes; WNOHANG never blocks.
    let ret = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    match ret {
        r if r == pid => Ok(Some(status)),
        r if r < 0 => Err(io::Error::last_os_error()),
        _ => Ok(None),
    }
}

/// SIGKILLs child `pid` and reaps it. Only for an unreaped child of ours, whose
/// pid cannot have been reused.
pub(crate) fn kill_and_reap(pid: i32) {
    let mut status = 0;
    // SAFETY: kill takes integers; `status` is valid for writes.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, &mut status, 0);
    }
}
