//! Signals in a mio event loop (epoll underneath), beside ordinary I/O, with
//! no signal handler and no self-pipe: each subscription has a readiness fd
//! that is readable while its mailbox holds events.
//!
//! The loop watches SIGUSR1, SIGHUP and a TCP listener. A helper thread sends
//! three SIGUSR1, connects once, then sends SIGHUP, which ends the loop.
//! Run: `cargo run --example mio_loop`

use std::io::Write;
use std::os::fd::AsRawFd;
use std::time::Duration;

use mio::net::TcpListener;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use sigbus::Bus;
use sigbus::Signal;

const USR1: Token = Token(0);
const HUP: Token = Token(1);
const LISTENER: Token = Token(2);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    sigbus::block([Signal::USR1, Signal::HUP])?;
    let bus = Bus::new();
    let usr1 = bus.subscribe(Signal::USR1)?;
    let hup = bus.subscribe(Signal::HUP)?;

    let mut poll = Poll::new()?;
    let (usr1_fd, hup_fd) = (usr1.ready_fd()?.as_raw_fd(), hup.ready_fd()?.as_raw_fd());
    poll.registry()
        .register(&mut SourceFd(&usr1_fd), USR1, Interest::READABLE)?;
    poll.registry()
        .register(&mut SourceFd(&hup_fd), HUP, Interest::READABLE)?;
    let mut listener = TcpListener::bind("127.0.0.1:0".parse()?)?;
    let addr = listener.local_addr()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;

    let helper = std::thread::spawn(move || {
        for _ in 0..3 {
            sigbus::raise(Signal::USR1).unwrap();
            std::thread::sleep(Duration::from_millis(20)); // standard signals coalesce
        }
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.write_all(b"hello").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        sigbus::raise(Signal::HUP).unwrap();
    });

    let mut events = Events::with_capacity(16);
    let mut usr1_seen = 0;
    'run: loop {
        poll.poll(&mut events, Some(Duration::from_secs(10)))?;
        if events.is_empty() {
            return Err("nothing happened for 10 s".into());
        }
        for event in &events {
            match event.token() {
                USR1 => {
                    // The drain protocol: try_recv until empty.
                    while let Ok(event) = usr1.try_recv() {
                        usr1_seen += 1;
                        println!("SIGUSR1 #{usr1_seen} from pid {:?}", event.origin.pid());
                    }
                }
                HUP => {
                    if let Ok(event) = hup.try_recv() {
                        println!(
                            "{} from pid {:?}: leaving the loop",
                            event.signal,
                            event.origin.pid()
                        );
                        break 'run;
                    }
                }
                _ => {
                    while let Ok((_, peer)) = listener.accept() {
                        println!("connection from {peer}");
                    }
                }
            }
        }
    }
    helper.join().unwrap();
    println!("done: {usr1_seen} SIGUSR1, one connection, one SIGHUP");
    Ok(())
}
