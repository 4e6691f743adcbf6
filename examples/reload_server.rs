//! A multi-threaded TCP server whose config reloads on SIGHUP and which drains
//! in-flight requests on SIGTERM.
//!
//! - A small pool of worker threads answers each request (a line) with the
//!   greeting from the config file.
//! - A "reloader" actor re-reads the file on SIGHUP and swaps the config in one
//!   step, while requests keep being served.
//! - SIGTERM stops accepting, lets the workers finish what they hold, and exits.
//!
//! It drives itself: a client thread asks, edits the file, sends SIGHUP, checks
//! the answer changed, then sends SIGTERM.
//! Run: `cargo run --example reload_server`

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use sigbus::crossbeam_channel::{self, bounded, select};
use sigbus::Bus;
use sigbus::Signal;

/// The live config: readers clone the `Arc`, the reloader replaces it whole.
type Config = Arc<RwLock<Arc<String>>>;

fn load(path: &Path) -> std::io::Result<String> {
    Ok(std::fs::read_to_string(path)?.trim().to_owned())
}

fn serve(stream: TcpStream, config: &Config) -> std::io::Result<()> {
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    let greeting = Arc::clone(&config.read().unwrap_or_else(|p| p.into_inner()));
    writeln!(&stream, "{greeting} (you said {:?})", line.trim())
}

fn ask(addr: std::net::SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    writeln!(stream, "hi")?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer)?;
    Ok(answer.trim().to_owned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    sigbus::block([Signal::HUP, Signal::TERM])?;
    let path: PathBuf =
        std::env::temp_dir().join(format!("reload-server-{}.conf", std::process::id()));
    std::fs::write(&path, "hello from config v1")?;
    let config: Config = Arc::new(RwLock::new(Arc::new(load(&path)?)));

    let bus = Bus::new();
    // SIGHUP: reload on the reloader actor's thread.
    let (reload_path, reload_config) = (path.clone(), Arc::clone(&config));
    bus.actor("reloader")
        .signals(Signal::HUP)
        .spawn_fn(move |ctx, event| match load(&reload_path) {
            Ok(fresh) => {
                println!(
                    "{}: {} from pid {:?}: config is now {fresh:?}",
                    ctx.name(),
                    event.signal,
                    event.origin.pid()
                );
                *reload_config.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fresh);
            }
            Err(e) => println!("{}: reload failed, keeping the old config: {e}", ctx.name()),
        })?;
    let terms = bus.subscribe(Signal::TERM)?;

    // The server: an acceptor feeding a pool of three workers.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let (jobs_tx, jobs) = bounded::<TcpStream>(16);
    let workers: Vec<thread::JoinHandle<()>> = (1..=3)
        .map(|i| {
            let (jobs, config) = (jobs.clone(), Arc::clone(&config));
            thread::Builder::new()
                .name(format!("http-{i}"))
                .spawn(move || {
                    for stream in jobs {
                        if let Err(e) = serve(stream, &config) {
                            eprintln!("request failed: {e}");
                        }
                    }
                })
        })
        .collect::<Result<_, _>>()?;
    listener.set_nonblocking(true)?;
    println!("main: serving on {addr}, pid {}", std::process::id());

    // The client drives the whole scenario.
    let client_path = path.clone();
    let client =
        thread::Builder::new()
            .name("client".into())
            .spawn(move || -> std::io::Result<()> {
                let before = ask(addr)?;
                println!("client: {before}");
                std::fs::write(&client_path, "hello from config v2")?;
                sigbus::kill(std::process::id() as i32, Signal::HUP)
                    .map_err(std::io::Error::other)?;
                let deadline = Instant::now() + Duration::from_secs(5);
                let after = loop {
                    let answer = ask(addr)?;
                    if answer != before || Instant::now() > deadline {
                        break answer;
                    }
                    thread::sleep(Duration::from_millis(10));
                };
                println!("client: {after}");
                assert!(after.contains("v2"), "the answer must change after SIGHUP");
                sigbus::kill(std::process::id() as i32, Signal::TERM).map_err(std::io::Error::other)
            })?;

    // Accept until SIGTERM.
    let poll = crossbeam_channel::tick(Duration::from_millis(5));
    loop {
        select! {
            recv(terms.receiver()) -> event => {
                println!("main: {} received: draining", event?.signal);
                break;
            }
            recv(poll) -> _ => while let Ok((stream, _)) = listener.accept() {
                stream.set_nonblocking(false)?;
                jobs_tx.send(stream)?;
            },
        }
    }
    drop(jobs_tx); // workers finish the queued requests, then their loop ends
    for worker in workers {
        worker.join().expect("worker panicked");
    }
    client.join().expect("client panicked")?;
    bus.shutdown();
    std::fs::remove_file(&path)?;
    println!("main: all requests served; bye");
    Ok(())
}
