//! Printing: one line per record, JSON or text, flushed at once so that a pipe
//! reader (or a test) sees each line as it happens. A closed pipe ends output
//! quietly, as in ripgrep.

use std::io::{self, Write};

use sigcore::{Signal, SignalSet};

/// Writes one line to stdout and flushes. Returns false once stdout is closed.
pub fn line(text: &str) -> bool {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}").and_then(|()| out.flush()).is_ok()
}

/// Writes one JSON object as a line.
pub fn json(value: &serde_json::Value) -> bool {
    line(&value.to_string())
}

/// Signal names of a set, lowest number first, for JSON.
pub fn names(set: SignalSet) -> serde_json::Value {
    set.iter().map(Signal::name).collect::<Vec<_>>().into()
}
