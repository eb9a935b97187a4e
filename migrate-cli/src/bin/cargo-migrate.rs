//! `cargo migrate`: finds the project's migrations package, builds and runs it.
fn main() {}
