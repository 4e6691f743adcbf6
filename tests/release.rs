//! What a release promises and a compiler does not check: the minimum Rust
//! version is true, and a program needs only `sigbus` in its dependencies.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// "1.88" -> (1, 88, 0); a missing version is (0, 0, 0).
fn version(v: &str) -> (u32, u32, u32) {
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

#[test]
fn rust_version_is_the_real_minimum_and_the_readme_says_it() {
    let out = cargo()
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(root())
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let members: Vec<&str> = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    let packages = meta["packages"].as_array().unwrap();
    let rust_version = |p: &serde_json::Value| p["rust_version"].as_str().unwrap_or("").to_owned();

    // Every dependency in the lock file, with what it declares it needs.
    let (needed, by) = packages
        .iter()
        .filter(|p| !members.contains(&p["id"].as_str().unwrap()))
        .map(|p| (rust_version(p), p["name"].as_str().unwrap().to_owned()))
        .max_by_key(|(v, _)| version(v))
        .expect("the workspace has dependencies");

    let ours: Vec<(String, String)> = packages
        .iter()
        .filter(|p| members.contains(&p["id"].as_str().unwrap()))
        .map(|p| (p["name"].as_str().unwrap().to_owned(), rust_version(p)))
        .collect();
    for (name, declared) in &ours {
        assert!(!declared.is_empty(), "{name} declares no rust-version");
        assert!(
            version(declared) >= version(&needed),
            "{name} says rust-version {declared}, but the locked {by} needs {needed}"
        );
    }
    let declared = &ours[0].1;
    assert!(
        ours.iter().all(|(_, v)| v == declared),
        "members disagree on rust-version: {ours:?}"
    );
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let claim = format!("Rust toolchain ({declared} or newer)");
    assert!(
        readme.contains(&claim),
        "README.md must say {claim:?} (the workspace's rust-version)"
    );
}

/// The first ```rust block after `heading` in a Markdown file.
fn rust_block(markdown: &str, heading: &str) -> String {
    let after = &markdown[markdown
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?}"))..];
    let start = after.find("```rust").expect("a rust block");
    let body = &after[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").expect("closing fence")].to_owned()
}

#[test]
fn a_crate_that_depends_only_on_sigbus_builds_the_readme_example() {
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let crate_readme = fs::read_to_string(root().join("crates/sigbus/README.md")).unwrap();
    let example = rust_block(&readme, "## Using the libraries");
    assert_eq!(
        example,
        rust_block(&crate_readme, "# sigbus"),
        "the README and sigbus's own README (crates.io's page) show the same program"
    );

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("only-sigbus");
    fs::create_dir_all(dir.join("src")).unwrap();
    fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"only-sigbus\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
             publish = false\n\n[dependencies]\nsigbus = {{ path = {:?} }}\n\n[workspace]\n",
            root().join("crates/sigbus")
        ),
    )
    .unwrap();
    fs::write(dir.join("src/main.rs"), &example).unwrap();
    // The workspace's lock file, so the check resolves offline to what the
    // workspace built.
    fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let out = cargo()
        .args(["check", "--offline", "--quiet"])
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .current_dir(&dir)
        .output()
        .expect("run cargo check");
    assert!(
        out.status.success(),
        "a crate with only `sigbus` as dependency does not build the README example:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
