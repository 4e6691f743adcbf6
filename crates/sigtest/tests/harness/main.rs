//! sigtest's runner, tested from outside.
//!
//! One binary plays two parts. Run by cargo, it is the *outer* checker: it runs
//! itself again with [`support::INNER`] set, so that `main` hands over to
//! `sigtest::run` with a suite of scenarios that pass, fail, hang and leave
//! processes behind ([`inner`]), and then asserts on that run's output, exit
//! status, duration, and on which of its processes are still alive ([`outer`]).
//! The outer part does not use the runner it tests: a broken runner must make
//! it fail, not hang or lie.

mod inner;
mod outer;
mod support;

fn main() {
    if std::env::var_os(support::INNER).is_some() {
        sigtest::run(inner::SUITE);
    }
    outer::main();
}
