//! Reading a child's stdout and stderr without ever blocking past a deadline.
//!
//! A pipe reaches end-of-file only when every process holding its write end has
//! closed it, and a child's descendants inherit it: a reader thread blocked in
//! `read_to_end` waits for all of them, forever if one escaped the kill. So the
//! pipes are polled from the waiting thread, with a timeout, and whatever was
//! read is kept when we stop waiting.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{ChildStderr, ChildStdout};
use std::time::{Duration, Instant};

/// The output of one child, as far as it has been read.
pub(crate) struct Capture {
    streams: [Stream; 2],
}

struct Stream {
    /// None once at end-of-file (or never piped).
    pipe: Option<File>,
    bytes: Vec<u8>,
}

impl Stream {
    fn new(pipe: Option<OwnedFd>) -> Stream {
        Stream {
            pipe: pipe.map(File::from),
            bytes: Vec::new(),
        }
    }

    /// Reads once; poll said this will not block.
    fn read_some(&mut self) {
        let Some(pipe) = self.pipe.as_mut() else {
            return;
        };
        let mut chunk = [0u8; 64 * 1024];
        match pipe.read(&mut chunk) {
            Ok(0) => self.pipe = None,
            Ok(n) => self.bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => self.pipe = None,
        }
    }
}

impl Capture {
    pub(crate) fn new(stdout: Option<ChildStdout>, stderr: Option<ChildStderr>) -> Capture {
        Capture {
            streams: [
                Stream::new(stdout.map(OwnedFd::from)),
                Stream::new(stderr.map(OwnedFd::from)),
            ],
        }
    }

    /// Whether both pipes are at end-of-file.
    pub(crate) fn is_closed(&self) -> bool {
        self.streams.iter().all(|s| s.pipe.is_none())
    }

    /// Waits at most `timeout` for output and reads what has come.
    pub(crate) fn pump(&mut self, timeout: Duration) {
        let (index, mut fds): (Vec<usize>, Vec<libc::pollfd>) = self
            .streams
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let fd = s.pipe.as_ref()?.as_raw_fd();
                Some((
                    i,
                    libc::pollfd {
                        fd,
                        events: libc::POLLIN,
                        revents: 0,
                    },
                ))
            })
            .unzip();
        if fds.is_empty() {
            std::thread::sleep(timeout);
            return;
        }
        // Round up, so a short wait does not become a busy loop of zero waits.
        let millis = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32;
        // The descriptors stay open (owned by `self.streams`) during the call.
        let ready = crate::os::poll(&mut fds, millis);
        if ready <= 0 {
            return; // timed out, or EINTR: the caller loops
        }
        for (i, fd) in index.into_iter().zip(&fds) {
            if fd.revents != 0 {
                self.streams[i].read_some();
            }
        }
    }

    /// Reads until both pipes are at end-of-file or `until` passes; returns
    /// whether they reached end-of-file.
    pub(crate) fn drain_until(&mut self, until: Instant) -> bool {
        while !self.is_closed() {
            let now = Instant::now();
            if now >= until {
                return false;
            }
            self.pump(until - now);
        }
        true
    }

    /// What was read: stdout and stderr, lossily decoded.
    pub(crate) fn into_text(self) -> (String, String) {
        let [out, err] = self.streams;
        (
            String::from_utf8_lossy(&out.bytes).into_owned(),
            String::from_utf8_lossy(&err.bytes).into_owned(),
        )
    }
}
