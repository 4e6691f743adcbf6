//! The ping-pong driver every latency variant shares.
//!
//! The sender (the child's main thread) notes the time, sends one signal and
//! parks; each receiver notes the time the moment the event is in its hand
//! ([`Arrivals::arrived`]), and the last one unparks the sender. Only
//! send → arrival is timed; the unpark and the sender's own wake-up are not.
//! Parking (a bare futex wait) rather than a channel keeps the waiting sender
//! from spinning on a core the receivers need.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crate::histogram::Recorder;
use crate::variants::Params;
use crate::LatencyStats;

/// How long a round may take before the variant gives up.
const ROUND_TIMEOUT: Duration = Duration::from_secs(10);

/// Where receivers stamp their arrival times.
pub(crate) struct Arrivals {
    base: Instant,
    /// Per receiver: nanoseconds since `base` when it last had the event.
    at: Box<[AtomicU64]>,
    /// Receivers still waiting for this round's event.
    remaining: AtomicUsize,
    sender: Thread,
    failure: Mutex<Option<String>>,
}

impl Arrivals {
    /// Arrivals for `receivers` threads; the calling thread is the sender.
    pub(crate) fn new(receivers: usize) -> Arc<Arrivals> {
        Arc::new(Arrivals {
            base: Instant::now(),
            at: (0..receivers).map(|_| AtomicU64::new(0)).collect(),
            remaining: AtomicUsize::new(0),
            sender: thread::current(),
            failure: Mutex::new(None),
        })
    }

    /// Nanoseconds since the shared base (monotonic clock).
    pub(crate) fn now(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// Receiver `k` has this round's event in hand.
    pub(crate) fn arrived(&self, k: usize) {
        self.at[k].store(self.now(), Ordering::Relaxed);
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.sender.unpark();
        }
    }

    /// A receiver cannot go on: the sender stops with `message`.
    pub(crate) fn fail(&self, message: String) {
        let mut failure = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        failure.get_or_insert(message);
        self.sender.unpark();
    }
}

/// The sender's side: sends rounds and records their latencies.
pub(crate) struct PingPong {
    arrivals: Arc<Arrivals>,
    last: Recorder,
    first: Option<Recorder>,
}

impl PingPong {
    /// Histograms are allocated here, before any round runs.
    pub(crate) fn new(arrivals: Arc<Arrivals>) -> PingPong {
        let fanout = arrivals.at.len() > 1;
        PingPong {
            arrivals,
            last: Recorder::new(),
            first: fanout.then(Recorder::new),
        }
    }

    /// Warm-up, then measured rounds; `send` sends one signal.
    pub(crate) fn run(
        mut self,
        params: Params,
        mut send: impl FnMut() -> Result<(), String>,
    ) -> Result<LatencyStats, String> {
        self.rounds(params.warmup, false, &mut send)?;
        self.rounds(params.rounds, true, &mut send)?;
        Ok(self.stats(params))
    }

    /// `count` rounds, recorded if `measure`.
    pub(crate) fn rounds(
        &mut self,
        count: usize,
        measure: bool,
        mut send: impl FnMut() -> Result<(), String>,
    ) -> Result<(), String> {
        let receivers = self.arrivals.at.len();
        for round in 0..count {
            self.arrivals.remaining.store(receivers, Ordering::Release);
            let sent = self.arrivals.now();
            send()?;
            self.wait(round)?;
            if measure {
                self.record(sent);
            }
        }
        Ok(())
    }

    fn wait(&self, round: usize) -> Result<(), String> {
        let deadline = Instant::now() + ROUND_TIMEOUT;
        loop {
            let left = self.arrivals.remaining.load(Ordering::Acquire);
            if left == 0 {
                return Ok(());
            }
            if let Some(failure) = self
                .arrivals
                .failure
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
            {
                return Err(failure);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!(
                    "round {round}: {left} of {} receiver(s) still without the event after {:?}",
                    self.arrivals.at.len(),
                    ROUND_TIMEOUT
                ));
            }
            thread::park_timeout(deadline - now);
        }
    }

    fn record(&mut self, sent: u64) {
        let (mut first, mut last) = (u64::MAX, 0);
        for at in self.arrivals.at.iter() {
            let at = at.load(Ordering::Relaxed);
            first = first.min(at);
            last = last.max(at);
        }
        self.last.record(last.saturating_sub(sent));
        if let Some(recorder) = &mut self.first {
            recorder.record(first.saturating_sub(sent));
        }
    }

    pub(crate) fn stats(&self, params: Params) -> LatencyStats {
        LatencyStats {
            rounds: self.last.len(),
            warmup: params.warmup as u64,
            scaled: false,
            latency: self.last.percentiles(),
            first: self.first.as_ref().map(Recorder::percentiles),
            curve: self.last.curve(),
        }
    }
}
