//! The human table and the `--json` lines, with ratios to the baselines
//! measured in the same run.

use std::io::{self, Write};

use serde_json::{json, Map, Value};

use crate::variants::{Variant, SCALE_FANOUT_FROM};
use crate::{Options, Outcome, Percentiles, VariantResult};

const FLOOR_HOP: &str = "floor-hop";
const PEER: &str = "peer-signal-hook";
const SIGBUS: &str = "sigbus";
const PEER_TOKIO: &str = "peer-tokio";
/// The async path: its row notes its ratio to `peer-tokio`.
const SIGBUS_ASYNC: &str = "sigbus-async";
const FLOOR_HOP_THROUGHPUT: &str = "floor-hop-throughput";

/// Ratios of one row to the baselines of the same run (`None`: not applicable,
/// or the baseline did not run).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Ratios {
    p50_floor_hop: Option<f64>,
    p99_floor_hop: Option<f64>,
    p50_peer: Option<f64>,
    p99_peer: Option<f64>,
    /// Over the synchronous `sigbus` row: what the async and fd paths cost.
    p50_sigbus: Option<f64>,
    p99_sigbus: Option<f64>,
    /// Over `peer-tokio`: the async path against tokio's own signal handling.
    p50_peer_tokio: Option<f64>,
    p99_peer_tokio: Option<f64>,
    /// Fan-out rows: last-p50 over the matching `floor-fanout-K`.
    p50_floor_fanout: Option<f64>,
    /// Throughput rows: events/s over `floor-hop-throughput`.
    throughput_floor_hop: Option<f64>,
}

fn latency_of<'a>(results: &'a [VariantResult], name: &str) -> Option<&'a Percentiles> {
    results
        .iter()
        .find(|r| r.variant == name)
        .and_then(VariantResult::latency)
        .map(|stats| &stats.latency)
}

fn ratio(value: f64, baseline: f64) -> Option<f64> {
    (baseline > 0.0).then(|| value / baseline)
}

fn ratios(result: &VariantResult, results: &[VariantResult]) -> Ratios {
    let mut ratios = Ratios::default();
    if let Some(stats) = result.latency() {
        let mine = &stats.latency;
        if let Some(hop) = latency_of(results, FLOOR_HOP) {
            ratios.p50_floor_hop = ratio(mine.p50_us, hop.p50_us);
            ratios.p99_floor_hop = ratio(mine.p99_us, hop.p99_us);
        }
        if let Some(peer) = latency_of(results, PEER) {
            ratios.p50_peer = ratio(mine.p50_us, peer.p50_us);
            ratios.p99_peer = ratio(mine.p99_us, peer.p99_us);
        }
        if let Some(bus) = latency_of(results, SIGBUS) {
            ratios.p50_sigbus = ratio(mine.p50_us, bus.p50_us);
            ratios.p99_sigbus = ratio(mine.p99_us, bus.p99_us);
        }
        if let Some(tokio) = latency_of(results, PEER_TOKIO) {
            ratios.p50_peer_tokio = ratio(mine.p50_us, tokio.p50_us);
            ratios.p99_peer_tokio = ratio(mine.p99_us, tokio.p99_us);
        }
        let baseline = Variant::find(&result.variant).and_then(Variant::fanout_baseline);
        if let Some(floor) = baseline.and_then(|name| latency_of(results, &name)) {
            ratios.p50_floor_fanout = ratio(mine.p50_us, floor.p50_us);
        }
    }
    if let Some(stats) = result.throughput() {
        let floor = results
            .iter()
            .find(|r| r.variant == FLOOR_HOP_THROUGHPUT)
            .and_then(VariantResult::throughput);
        if let Some(floor) = floor {
            ratios.throughput_floor_hop = ratio(stats.events_per_s, floor.events_per_s);
        }
    }
    ratios
}

/// Writes the table, or one JSON object per line with `options.json`.
pub(crate) fn write(
    out: &mut dyn Write,
    options: &Options,
    results: &[VariantResult],
) -> io::Result<()> {
    if options.json {
        for result in results {
            writeln!(out, "{}", json_line(result, &ratios(result, results)))?;
        }
        return Ok(());
    }
    table(out, options, results)
}

fn us(value: f64) -> Value {
    json!((value * 100.0).round() / 100.0)
}

fn factor(value: Option<f64>) -> Value {
    value.map_or(Value::Null, |v| json!((v * 1000.0).round() / 1000.0))
}

/// The public JSON form: a fixed set of keys on every line, null where a key
/// does not apply, percentiles in µs with 2 decimals.
fn json_line(result: &VariantResult, ratios: &Ratios) -> Value {
    let mut map = Map::new();
    map.insert("variant".into(), json!(result.variant));
    let latency = result.latency();
    let throughput = result.throughput();
    let alloc = result.alloc();
    let kind = match &result.outcome {
        Outcome::Latency(_) => "latency",
        Outcome::Throughput(_) => "throughput",
        Outcome::Alloc(_) => "alloc",
        Outcome::Failed(_) => "failed",
    };
    map.insert("kind".into(), json!(kind));
    let rounds = latency
        .map(|s| s.rounds)
        .or(throughput.map(|s| s.events))
        .or(alloc.map(|s| s.events));
    map.insert("rounds".into(), json!(rounds));
    map.insert(
        "rounds_scaled".into(),
        json!(latency.map(|s| s.scaled).unwrap_or(false)),
    );
    let p = latency.map(|s| s.latency);
    let field = |f: fn(&Percentiles) -> f64| p.as_ref().map_or(Value::Null, |p| us(f(p)));
    map.insert("min_us".into(), field(|p| p.min_us));
    map.insert("p50_us".into(), field(|p| p.p50_us));
    map.insert("p90_us".into(), field(|p| p.p90_us));
    map.insert("p99_us".into(), field(|p| p.p99_us));
    map.insert("p999_us".into(), field(|p| p.p999_us));
    map.insert("max_us".into(), field(|p| p.max_us));
    let first = latency.and_then(|s| s.first);
    map.insert(
        "first_p50_us".into(),
        first.map_or(Value::Null, |p| us(p.p50_us)),
    );
    map.insert(
        "first_p99_us".into(),
        first.map_or(Value::Null, |p| us(p.p99_us)),
    );
    map.insert("ratio_p50_floor_hop".into(), factor(ratios.p50_floor_hop));
    map.insert("ratio_p99_floor_hop".into(), factor(ratios.p99_floor_hop));
    map.insert("ratio_p50_peer".into(), factor(ratios.p50_peer));
    map.insert("ratio_p99_peer".into(), factor(ratios.p99_peer));
    map.insert("ratio_p50_sigbus".into(), factor(ratios.p50_sigbus));
    map.insert("ratio_p99_sigbus".into(), factor(ratios.p99_sigbus));
    map.insert("ratio_p50_peer_tokio".into(), factor(ratios.p50_peer_tokio));
    map.insert("ratio_p99_peer_tokio".into(), factor(ratios.p99_peer_tokio));
    map.insert(
        "ratio_p50_floor_fanout".into(),
        factor(ratios.p50_floor_fanout),
    );
    map.insert(
        "events_per_s".into(),
        json!(throughput.map(|s| s.events_per_s.round())),
    );
    map.insert("lost".into(), json!(throughput.map(|s| s.lost)));
    map.insert("violations".into(), json!(throughput.map(|s| s.violations)));
    map.insert(
        "ratio_throughput_floor_hop".into(),
        factor(ratios.throughput_floor_hop),
    );
    map.insert(
        "allocs_per_event".into(),
        json!(alloc.map(|s| s.allocs_per_event)),
    );
    map.insert(
        "rss_kib_per_1000_subs".into(),
        json!(alloc.map(|s| s.rss_kib_per_1000_subs.round())),
    );
    map.insert(
        "heap_kib_per_1000_subs".into(),
        json!(alloc.map(|s| s.heap_kib_per_1000_subs.round())),
    );
    let error = match &result.outcome {
        Outcome::Failed(error) => json!(error),
        _ => Value::Null,
    };
    map.insert("error".into(), error);
    Value::Object(map)
}

fn cell(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.2}"))
}

fn table(out: &mut dyn Write, options: &Options, results: &[VariantResult]) -> io::Result<()> {
    let latency: Vec<_> = results.iter().filter(|r| r.latency().is_some()).collect();
    let failed: Vec<_> = results.iter().filter(|r| r.is_failed()).collect();
    if !latency.is_empty() {
        // The CPUs the children may use (affinity, e.g. `taskset`): on small
        // machines whether a wake-up crosses to an idle CPU dominates.
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        writeln!(
            out,
            "latency, kill() to the event in the receiving thread's hand, µs \
             ({} rounds after {} warm-up, {cpus} CPU(s); ratios to the same run's baselines)",
            options.rounds, options.warmup
        )?;
        writeln!(
            out,
            "{:<20} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}  {:>7} {:>7} {:>8} {:>8} {:>7}  notes",
            "variant",
            "rounds",
            "min",
            "p50",
            "p90",
            "p99",
            "p99.9",
            "max",
            "p50/hop",
            "p99/hop",
            "p50/peer",
            "p99/peer",
            "p50/bus",
        )?;
        for result in &latency {
            let stats = result.latency().expect("filtered above");
            let p = &stats.latency;
            let r = ratios(result, results);
            let mut notes = String::new();
            if let Some(first) = &stats.first {
                notes = format!("first p50 {:.2}", first.p50_us);
            }
            if let Some(vs) = r.p50_floor_fanout {
                notes.push_str(&format!(", p50/floor {vs:.2}"));
            }
            if let Some(vs) = r.p50_peer_tokio.filter(|_| result.variant == SIGBUS_ASYNC) {
                notes = format!("p50/peer-tokio {vs:.2}");
            }
            let rounds = format!("{}{}", stats.rounds, if stats.scaled { "*" } else { "" });
            writeln!(
                out,
                "{:<20} {:>7} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9.2}  {:>7} {:>7} {:>8} {:>8} {:>7}  {}",
                result.variant,
                rounds,
                p.min_us,
                p.p50_us,
                p.p90_us,
                p.p99_us,
                p.p999_us,
                p.max_us,
                cell(r.p50_floor_hop),
                cell(r.p99_floor_hop),
                cell(r.p50_peer),
                cell(r.p99_peer),
                cell(r.p50_sigbus),
                notes.trim_end(),
            )?;
        }
        writeln!(
            out,
            "p50/hop, p99/hop: over floor-hop; p50/peer, p99/peer: over peer-signal-hook; \
             p50/bus: over sigbus"
        )?;
        if latency
            .iter()
            .any(|r| r.latency().is_some_and(|s| s.scaled))
        {
            writeln!(
                out,
                "* fan-out with K >= {SCALE_FANOUT_FROM}: rounds and warm-up scaled to a tenth"
            )?;
        }
        if latency
            .iter()
            .any(|r| r.latency().is_some_and(|s| s.first.is_some()))
        {
            writeln!(
                out,
                "fan-out rows: percentiles until the last receiver has the event; \
                 \"first p50\" until the first; p50/floor is last-p50 over floor-fanout-K"
            )?;
        }
        if latency_of(results, PEER).is_some() {
            writeln!(
                out,
                "peer-signal-hook: SIGUSR1 unblocked only in signal-hook's iterator thread \
                 (its best case)"
            )?;
        }
        if latency_of(results, PEER_TOKIO).is_some() {
            writeln!(
                out,
                "peer-tokio: SIGUSR1 unblocked only in the runtime's thread (its best case); \
                 it and sigbus-async run on a current-thread runtime with its IO driver"
            )?;
        }
        summary(out, results)?;
    }
    let throughput: Vec<_> = results
        .iter()
        .filter(|r| r.throughput().is_some())
        .collect();
    if !throughput.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "throughput, sigqueue(SIGRTMIN+1, n) streamed to each subscriber, payloads checked"
        )?;
        writeln!(
            out,
            "{:<20} {:>7} {:>11} {:>6} {:>10} {:>8} {:>8}  vs floor-hop",
            "variant", "events", "events/s", "lost", "misordered", "capacity", "EAGAIN",
        )?;
        for result in throughput {
            let s = result.throughput().expect("filtered above");
            let r = ratios(result, results);
            writeln!(
                out,
                "{:<20} {:>7} {:>11.0} {:>6} {:>10} {:>8} {:>8}  {}",
                result.variant,
                s.events,
                s.events_per_s,
                s.lost,
                s.violations,
                s.capacity,
                s.queue_full,
                cell(r.throughput_floor_hop),
            )?;
        }
    }
    for result in results {
        if let Some(s) = result.alloc() {
            writeln!(out)?;
            writeln!(
                out,
                "{}: {:.3} allocations per routed event ({} allocations over {} events); \
                 {:.0} KiB resident ({:.0} KiB heap) per 1,000 idle subscriptions",
                result.variant,
                s.allocs_per_event,
                s.allocations,
                s.events,
                s.rss_kib_per_1000_subs,
                s.heap_kib_per_1000_subs,
            )?;
        }
    }
    if !failed.is_empty() {
        writeln!(out)?;
        for result in failed {
            if let Outcome::Failed(error) = &result.outcome {
                writeln!(out, "{:<20} FAILED: {error}", result.variant)?;
            }
        }
    }
    Ok(())
}

/// The comparisons the async and readiness paths are held to, on one line,
/// when their rows and baselines ran: p50 over the synchronous `sigbus` and
/// over tokio's own signal handling.
fn summary(out: &mut dyn Write, results: &[VariantResult]) -> io::Result<()> {
    let p50 = |name: &str| latency_of(results, name).map(|p| p.p50_us);
    let pairs = [
        ("sigbus-async", SIGBUS),
        ("sigbus-fd", SIGBUS),
        ("sigbus-async", PEER_TOKIO),
        (SIGBUS, FLOOR_HOP),
    ];
    let shown: Vec<String> = pairs
        .iter()
        .filter_map(|&(row, baseline)| {
            let vs = ratio(p50(row)?, p50(baseline)?)?;
            Some(format!("{row}/{baseline} {vs:.2}"))
        })
        .collect();
    let polled = ["sigbus-async", "sigbus-fd", PEER_TOKIO];
    if shown.is_empty() || !polled.iter().any(|name| p50(name).is_some()) {
        return Ok(());
    }
    writeln!(out, "p50 ratios: {}", shown.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LatencyStats, ThroughputStats};

    fn latency(name: &str, p50: f64, first: bool) -> VariantResult {
        let p = Percentiles {
            min_us: p50 / 2.0,
            p50_us: p50,
            p90_us: p50 * 1.5,
            p99_us: p50 * 2.0,
            p999_us: p50 * 3.0,
            max_us: p50 * 10.0,
        };
        VariantResult {
            variant: name.into(),
            outcome: Outcome::Latency(LatencyStats {
                rounds: 100,
                warmup: 10,
                scaled: false,
                latency: p,
                first: first.then_some(p),
                curve: vec![],
            }),
        }
    }

    fn throughput(name: &str, rate: f64) -> VariantResult {
        VariantResult {
            variant: name.into(),
            outcome: Outcome::Throughput(ThroughputStats {
                subscribers: 1,
                events: 100,
                events_per_s: rate,
                lost: 0,
                violations: 0,
                capacity: 256,
                queue_full: 0,
            }),
        }
    }

    #[test]
    fn ratios_use_the_baselines_of_the_same_run() {
        let results = vec![
            latency("floor-hop", 10.0, false),
            latency("sigbus", 11.0, false),
            latency("floor-fanout-4", 20.0, true),
            latency("sigbus-fanout-4", 25.0, true),
            throughput("floor-hop-throughput", 100_000.0),
            throughput("rt-throughput-1", 50_000.0),
        ];
        let sigbus = ratios(&results[1], &results);
        assert!((sigbus.p50_floor_hop.unwrap() - 1.1).abs() < 1e-9);
        assert_eq!(sigbus.p50_peer, None, "no peer in this run");
        assert_eq!(sigbus.p50_floor_fanout, None);
        let fanout = ratios(&results[3], &results);
        assert!((fanout.p50_floor_fanout.unwrap() - 1.25).abs() < 1e-9);
        let stream = ratios(&results[5], &results);
        assert!((stream.throughput_floor_hop.unwrap() - 0.5).abs() < 1e-9);
    }

    #[test]
    fn async_and_fd_rows_are_compared_with_sigbus_and_tokio() {
        let results = vec![
            latency("floor-hop", 10.0, false),
            latency("sigbus", 10.0, false),
            latency("sigbus-async", 10.5, false),
            latency("sigbus-fd", 11.0, false),
            latency("peer-tokio", 14.0, false),
        ];
        let r = ratios(&results[2], &results);
        assert!((r.p50_sigbus.unwrap() - 1.05).abs() < 1e-9);
        assert!((r.p50_peer_tokio.unwrap() - 0.75).abs() < 1e-9);
        let fd = json_line(&results[3], &ratios(&results[3], &results));
        assert_eq!(fd["ratio_p50_sigbus"], json!(1.1));
        assert_eq!(fd["ratio_p99_sigbus"], json!(1.1));
        assert_eq!(fd["ratio_p50_peer_tokio"], json!(0.786));
        let mut out = Vec::new();
        table(&mut out, &Options::default(), &results).unwrap();
        let text = String::from_utf8(out).unwrap();
        let row = text
            .lines()
            .find(|l| l.starts_with("sigbus-async "))
            .unwrap();
        assert!(row.ends_with(" 1.05  p50/peer-tokio 0.75"), "{row}");
        assert!(
            text.contains(
                "p50 ratios: sigbus-async/sigbus 1.05, sigbus-fd/sigbus 1.10, \
                 sigbus-async/peer-tokio 0.75, sigbus/floor-hop 1.00"
            ),
            "{text}"
        );
        // Without the polled rows, no summary line.
        let mut out = Vec::new();
        table(&mut out, &Options::default(), &results[..2]).unwrap();
        assert!(!String::from_utf8(out).unwrap().contains("p50 ratios"));
    }

    #[test]
    fn json_lines_have_every_key_with_nulls_where_not_applicable() {
        let results = vec![
            latency("floor-hop", 10.0, false),
            throughput("rt-throughput-1", 50_000.0),
        ];
        let latency_line = json_line(&results[0], &ratios(&results[0], &results));
        let stream_line = json_line(&results[1], &ratios(&results[1], &results));
        for key in [
            "variant",
            "rounds",
            "p50_us",
            "p999_us",
            "ratio_p50_peer",
            "ratio_p50_sigbus",
            "ratio_p99_peer_tokio",
            "lost",
        ] {
            assert!(latency_line.get(key).is_some(), "{key}");
            assert!(stream_line.get(key).is_some(), "{key}");
        }
        assert_eq!(latency_line["ratio_p50_floor_hop"], json!(1.0));
        assert_eq!(latency_line["ratio_p50_peer"], Value::Null);
        assert_eq!(stream_line["p50_us"], Value::Null);
        assert_eq!(stream_line["events_per_s"], json!(50_000.0));
    }

    #[test]
    fn the_table_lists_failures_last() {
        let results = vec![
            latency("floor-hop", 10.0, false),
            VariantResult {
                variant: "sigbus".into(),
                outcome: Outcome::Failed("killed by SIGUSR1".into()),
            },
        ];
        let mut out = Vec::new();
        table(&mut out, &Options::default(), &results).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("floor-hop"));
        assert!(text
            .lines()
            .last()
            .unwrap()
            .contains("FAILED: killed by SIGUSR1"));
    }
}
