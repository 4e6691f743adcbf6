//! What one variant measured, and its JSON form (the child→parent protocol, and
//! the base of `--json` output).

use serde_json::{json, Map, Value};

/// The outcome of one variant, as the parent collected it from its child.
#[derive(Clone, Debug, PartialEq)]
pub struct VariantResult {
    /// The variant's name (one of [`crate::variant_names`]).
    pub variant: String,
    /// What it measured, or why it failed.
    pub outcome: Outcome,
}

/// What a variant measured.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// A ping-pong latency variant.
    Latency(LatencyStats),
    /// A real-time signal stream.
    Throughput(ThroughputStats),
    /// Allocations per routed event and memory per idle subscription.
    Alloc(AllocStats),
    /// The child process failed (crashed, timed out, or reported an error).
    Failed(String),
}

/// Latency percentiles in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Percentiles {
    /// Smallest.
    pub min_us: f64,
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Largest.
    pub max_us: f64,
}

/// A latency variant's result.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencyStats {
    /// Measured rounds.
    pub rounds: u64,
    /// Warm-up rounds before them.
    pub warmup: u64,
    /// Whether the rounds were scaled down from the requested count (fan-out
    /// with K ≥ 64).
    pub scaled: bool,
    /// Send → event in hand; for fan-out, in the hand of the *last* receiver.
    pub latency: Percentiles,
    /// Fan-out only: send → event in the hand of the *first* receiver.
    pub first: Option<Percentiles>,
    /// The percentile curve of `latency` for plots: `(x, µs)` with
    /// `x = log10(1 / (1 - p))` (0 is the minimum, 2 is p99, 4 is p99.99).
    pub curve: Vec<(f64, f64)>,
}

/// A throughput variant's result.
#[derive(Clone, Debug, PartialEq)]
pub struct ThroughputStats {
    /// Subscribers (receiving threads) each event went to.
    pub subscribers: u64,
    /// Events streamed.
    pub events: u64,
    /// Events per second, from the first send to the last receiver's last event.
    pub events_per_s: f64,
    /// Payloads missing, summed over subscribers.
    pub lost: u64,
    /// Payloads that came twice or out of order, summed over subscribers.
    pub violations: u64,
    /// Capacity of each receiver's mailbox or channel.
    pub capacity: u64,
    /// `sigqueue` calls refused with `EAGAIN` (the kernel queue was full) and
    /// retried.
    pub queue_full: u64,
}

/// The `alloc` variant's result.
#[derive(Clone, Debug, PartialEq)]
pub struct AllocStats {
    /// Events routed while counting.
    pub events: u64,
    /// Allocations in the whole process meanwhile.
    pub allocations: u64,
    /// `allocations / events`; the goal is 0.
    pub allocs_per_event: f64,
    /// Growth of the resident set (`/proc/self/statm`) while 1,000 idle
    /// subscriptions were opened on one bus, in KiB.
    pub rss_kib_per_1000_subs: f64,
    /// Growth of live heap bytes over the same, in KiB.
    pub heap_kib_per_1000_subs: f64,
}

impl VariantResult {
    /// Whether the variant failed.
    pub fn is_failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed(_))
    }

    /// The latency stats, if this is a successful latency variant.
    pub fn latency(&self) -> Option<&LatencyStats> {
        match &self.outcome {
            Outcome::Latency(stats) => Some(stats),
            _ => None,
        }
    }

    /// The throughput stats, if this is a successful throughput variant.
    pub fn throughput(&self) -> Option<&ThroughputStats> {
        match &self.outcome {
            Outcome::Throughput(stats) => Some(stats),
            _ => None,
        }
    }

    /// The allocation stats, if this is a successful `alloc` variant.
    pub fn alloc(&self) -> Option<&AllocStats> {
        match &self.outcome {
            Outcome::Alloc(stats) => Some(stats),
            _ => None,
        }
    }

    /// Full-precision JSON, curve included: what a child prints.
    pub(crate) fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("variant".into(), json!(self.variant));
        match &self.outcome {
            Outcome::Latency(s) => {
                map.insert("kind".into(), json!("latency"));
                map.insert("rounds".into(), json!(s.rounds));
                map.insert("warmup".into(), json!(s.warmup));
                map.insert("rounds_scaled".into(), json!(s.scaled));
                percentiles_into(&mut map, "", &s.latency);
                if let Some(first) = &s.first {
                    percentiles_into(&mut map, "first_", first);
                }
                map.insert("curve".into(), json!(s.curve));
            }
            Outcome::Throughput(s) => {
                map.insert("kind".into(), json!("throughput"));
                map.insert("subscribers".into(), json!(s.subscribers));
                map.insert("rounds".into(), json!(s.events));
                map.insert("events_per_s".into(), json!(s.events_per_s));
                map.insert("lost".into(), json!(s.lost));
                map.insert("violations".into(), json!(s.violations));
                map.insert("capacity".into(), json!(s.capacity));
                map.insert("queue_full".into(), json!(s.queue_full));
            }
            Outcome::Alloc(s) => {
                map.insert("kind".into(), json!("alloc"));
                map.insert("rounds".into(), json!(s.events));
                map.insert("allocations".into(), json!(s.allocations));
                map.insert("allocs_per_event".into(), json!(s.allocs_per_event));
                map.insert(
                    "rss_kib_per_1000_subs".into(),
                    json!(s.rss_kib_per_1000_subs),
                );
                map.insert(
                    "heap_kib_per_1000_subs".into(),
                    json!(s.heap_kib_per_1000_subs),
                );
            }
            Outcome::Failed(error) => {
                map.insert("kind".into(), json!("failed"));
                map.insert("error".into(), json!(error));
            }
        }
        Value::Object(map)
    }

    /// Parses what [`VariantResult::to_json`] wrote.
    pub(crate) fn from_json(value: &Value) -> Result<VariantResult, String> {
        let variant = str_field(value, "variant")?.to_owned();
        let outcome = match str_field(value, "kind")? {
            "latency" => Outcome::Latency(LatencyStats {
                rounds: u64_field(value, "rounds")?,
                warmup: u64_field(value, "warmup")?,
                scaled: value["rounds_scaled"].as_bool().unwrap_or(false),
                latency: percentiles_from(value, "")?,
                first: if value.get("first_p50_us").is_some() {
                    Some(percentiles_from(value, "first_")?)
                } else {
                    None
                },
                curve: value["curve"]
                    .as_array()
                    .map(|points| {
                        points
                            .iter()
                            .filter_map(|p| Some((p[0].as_f64()?, p[1].as_f64()?)))
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
            "throughput" => Outcome::Throughput(ThroughputStats {
                subscribers: u64_field(value, "subscribers")?,
                events: u64_field(value, "rounds")?,
                events_per_s: f64_field(value, "events_per_s")?,
                lost: u64_field(value, "lost")?,
                violations: u64_field(value, "violations")?,
                capacity: u64_field(value, "capacity")?,
                queue_full: u64_field(value, "queue_full")?,
            }),
            "alloc" => Outcome::Alloc(AllocStats {
                events: u64_field(value, "rounds")?,
                allocations: u64_field(value, "allocations")?,
                allocs_per_event: f64_field(value, "allocs_per_event")?,
                rss_kib_per_1000_subs: f64_field(value, "rss_kib_per_1000_subs")?,
                heap_kib_per_1000_subs: f64_field(value, "heap_kib_per_1000_subs")?,
            }),
            "failed" => Outcome::Failed(str_field(value, "error")?.to_owned()),
            other => return Err(format!("unknown result kind {other:?}")),
        };
        Ok(VariantResult { variant, outcome })
    }
}

fn percentiles_into(map: &mut Map<String, Value>, prefix: &str, p: &Percentiles) {
    for (key, value) in [
        ("min_us", p.min_us),
        ("p50_us", p.p50_us),
        ("p90_us", p.p90_us),
        ("p99_us", p.p99_us),
        ("p999_us", p.p999_us),
        ("max_us", p.max_us),
    ] {
        map.insert(format!("{prefix}{key}"), json!(value));
    }
}

fn percentiles_from(value: &Value, prefix: &str) -> Result<Percentiles, String> {
    let get = |key: &str| f64_field(value, &format!("{prefix}{key}"));
    Ok(Percentiles {
        min_us: get("min_us")?,
        p50_us: get("p50_us")?,
        p90_us: get("p90_us")?,
        p99_us: get("p99_us")?,
        p999_us: get("p999_us")?,
        max_us: get("max_us")?,
    })
}

fn str_field<'a>(value: &'a Value, key: &str) -> Result<&'a str, String> {
    value[key]
        .as_str()
        .ok_or_else(|| format!("missing text field {key:?}"))
}

fn u64_field(value: &Value, key: &str) -> Result<u64, String> {
    value[key]
        .as_u64()
        .ok_or_else(|| format!("missing integer field {key:?}"))
}

fn f64_field(value: &Value, key: &str) -> Result<f64, String> {
    value[key]
        .as_f64()
        .ok_or_else(|| format!("missing number field {key:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Percentiles {
        Percentiles {
            min_us: 1.0,
            p50_us: 2.5,
            p90_us: 3.0,
            p99_us: 4.0,
            p999_us: 5.0,
            max_us: 6.125,
        }
    }

    #[test]
    fn every_outcome_survives_the_child_protocol() {
        let results = [
            Outcome::Latency(LatencyStats {
                rounds: 10,
                warmup: 2,
                scaled: true,
                latency: sample(),
                first: Some(sample()),
                curve: vec![(0.0, 1.0), (2.0, 4.0)],
            }),
            Outcome::Throughput(ThroughputStats {
                subscribers: 4,
                events: 100,
                events_per_s: 1234.5,
                lost: 1,
                violations: 0,
                capacity: 256,
                queue_full: 3,
            }),
            Outcome::Alloc(AllocStats {
                events: 100,
                allocations: 0,
                allocs_per_event: 0.0,
                rss_kib_per_1000_subs: 16000.0,
                heap_kib_per_1000_subs: 15000.5,
            }),
            Outcome::Failed("killed by signal 9".into()),
        ];
        for outcome in results {
            let result = VariantResult {
                variant: "x".into(),
                outcome,
            };
            let line = result.to_json().to_string();
            let back = VariantResult::from_json(&serde_json::from_str(&line).unwrap()).unwrap();
            assert_eq!(back, result);
        }
    }
}
