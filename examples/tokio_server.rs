//! A tokio TCP server that reloads its config on SIGHUP (logging who sent it)
//! and drains on SIGTERM through the shutdown coordinator.
//!
//! - Connections are answered with the current greeting.
//! - A task awaits SIGHUP as a `Stream` (sigbus's `async` feature) and swaps
//!   the config, naming the sender's pid, which `tokio::signal` cannot give.
//! - SIGTERM: the coordinator's notice stops the accept loop; connections in
//!   flight finish; a second SIGTERM during that drain would end the process
//!   at once (the coordinator's escape hatch).
//!
//! It drives itself: a client asks, the config file changes, SIGHUP, the
//! client asks again, then SIGTERM.
//! Run: `cargo run --example tokio_server`

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sigbus::Bus;
use sigbus::Signal;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

type Config = Arc<RwLock<Arc<String>>>;

fn load(path: &Path) -> std::io::Result<String> {
    Ok(std::fs::read_to_string(path)?.trim().to_owned())
}

async fn serve(mut stream: TcpStream, config: Config) -> std::io::Result<()> {
    let (read, mut write) = stream.split();
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    let greeting = Arc::clone(&config.read().unwrap_or_else(|p| p.into_inner()));
    // A slow request, so the drain has something to wait for.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let answer = format!("{greeting} (you said {:?})\n", line.trim());
    write.write_all(answer.as_bytes()).await
}

async fn ask(addr: std::net::SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(b"hi\n").await?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).await?;
    Ok(answer.trim().to_owned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // First, before the runtime starts its threads: block what the bus serves.
    sigbus::block([Signal::HUP, Signal::TERM, Signal::INT])?;
    let path: PathBuf =
        std::env::temp_dir().join(format!("tokio-server-{}.conf", std::process::id()));
    std::fs::write(&path, "hello from config v1")?;
    let config: Config = Arc::new(RwLock::new(Arc::new(load(&path)?)));

    let bus = Bus::new();
    let hangups = bus.subscribe(Signal::HUP)?;
    let coordinator = bus.shutdown_coordinator(Duration::from_secs(5))?;
    let notice = coordinator.notice();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // SIGHUP: reload, naming the sender.
        let reload_config = Arc::clone(&config);
        let reload_path = path.clone();
        tokio::spawn(async move {
            while let Ok(event) = hangups.recv_async().await {
                match load(&reload_path) {
                    Ok(fresh) => {
                        println!(
                            "reload: {} from pid {:?}: config is now {fresh:?}",
                            event.signal,
                            event.origin.pid()
                        );
                        *reload_config.write().unwrap_or_else(|p| p.into_inner()) =
                            Arc::new(fresh);
                    }
                    Err(e) => eprintln!("reload failed, keeping the old config: {e}"),
                }
            }
        });

        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        println!("listening on {addr}");

        // The client: ask, edit, SIGHUP, ask again, SIGTERM.
        let client_path = path.clone();
        let client = tokio::spawn(async move {
            let first = ask(addr).await.expect("first request");
            println!("client: {first}");
            std::fs::write(&client_path, "hello from config v2").unwrap();
            sigbus::raise(Signal::HUP).unwrap();
            for _ in 0..200 {
                let answer = ask(addr).await.expect("request");
                if answer.contains("v2") {
                    println!("client: {answer}");
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            // A request in flight when SIGTERM comes is finished, not cut.
            let in_flight = tokio::spawn(ask(addr));
            tokio::time::sleep(Duration::from_millis(10)).await;
            sigbus::raise(Signal::TERM).unwrap();
            println!("client: in flight: {}", in_flight.await.unwrap().unwrap());
        });

        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, _) = accepted?;
                    connections.spawn(serve(stream, Arc::clone(&config)));
                }
                notice = notice.recv_async() => {
                    let signal = notice.ok().and_then(|n| n.signal).map_or("a request", Signal::name);
                    println!("draining: {signal}; no new connections");
                    break;
                }
            }
        }
        while let Some(done) = connections.join_next().await {
            done??;
        }
        client.await?;
        Ok::<(), Box<dyn std::error::Error>>(())
    })?;
    let outcome = coordinator.wait();
    let signal = outcome.and_then(|o| o.signal).map_or("none", Signal::name);
    println!("bye (shut down by {signal})");
    let _ = std::fs::remove_file(&path);
    Ok(())
}
