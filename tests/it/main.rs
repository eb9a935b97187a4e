//! The workspace's end-to-end suite: one test binary, a module per topic.

mod backends;
mod core;
mod ecosystem;
mod lint;
mod pools;
mod staging;
mod subcommand;
mod support;
mod ui;
mod workflow;
