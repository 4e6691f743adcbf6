//! Project rules that a compiler does not check: `unsafe` lives only in the
//! modules that wrap libc, and every `unsafe` block says why it is sound.

use std::fs;
use std::path::{Path, PathBuf};

/// Code allowed to contain `unsafe`: sigcore's libc layer, the test helpers'
/// libc wrappers (sigtest's `os.rs`: process trees, polling pipes, bounded
/// waits), and the benchmark's counting allocator, raw baseline and epoll
/// loop.
const ALLOWED: &[&str] = &[
    "crates/sigcore/src/sys/",
    "crates/sigtest/src/os.rs",
    "crates/sigbench/src/alloc.rs",
    "crates/sigbench/src/raw.rs",
    "crates/sigbench/src/epoll.rs",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources(under: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for krate in fs::read_dir(root.join("crates")).unwrap().flatten() {
        rust_files(&krate.path().join(under), &mut files);
    }
    files
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, fs::read_to_string(&p).unwrap())
        })
        .collect()
}

fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter(|(_, l)| {
        let t = l.trim_start();
        !t.starts_with("//") && !t.starts_with("///") && !t.starts_with("//!")
    })
}

#[test]
fn unsafe_code_stays_in_the_libc_wrappers() {
    let mut offenders = Vec::new();
    let all = sources("src");
    assert!(
        all.iter()
            .any(|(p, _)| p == "crates/sigcore/src/sys/net.rs"),
        "the scan must see the sources"
    );
    for (path, text) in all {
        if ALLOWED.iter().any(|a| path.starts_with(a)) {
            continue;
        }
        for (n, line) in code_lines(&text) {
            if line.contains("unsafe ")
                && !line.contains("unsafe_code")
                && !line.contains("unsafe_op")
            {
                offenders.push(format!("{path}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "unsafe outside the libc wrappers:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn every_unsafe_block_has_a_safety_comment() {
    let mut missing = Vec::new();
    for (path, text) in sources("src").into_iter().chain(sources("tests")) {
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in code_lines(&text) {
            if !line.contains("unsafe {") && !line.contains("unsafe impl") {
                continue;
            }
            let above = &lines[n.saturating_sub(8)..n];
            if !above.iter().any(|l| l.contains("SAFETY")) {
                missing.push(format!("{path}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "unsafe without a // SAFETY: comment above:\n{}",
        missing.join("\n")
    );
}
