//! Dispatch-latency benchmarks (work in progress).
