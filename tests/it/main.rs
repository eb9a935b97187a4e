//! The workspace's end-to-end suite: one test binary, a module per topic.

mod backends;
mod core;
mod lint;
mod staging;
mod subcommand;
mod support;
mod ui;
mod workflow;
