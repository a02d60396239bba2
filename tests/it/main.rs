//! The integration tests, one binary: each module drives the public API on one concern, and
//! `support` (the loopback server, gzip bodies, fixtures) is compiled once for all of them.
//! The live suite (`tests/live.rs`) and the heap measurement (`tests/body_memory.rs`, which
//! installs a counting global allocator for its whole binary) are binaries of their own.

mod cache;
mod catalog_refresh;
mod config_hardening;
mod config_names;
mod conversations;
mod fallback;
mod faults;
mod host_control;
mod hostile_bytes;
mod hostile_server;
mod local_servers;
mod models;
mod provider;
mod reasoning;
mod record_replay;
mod replay;
mod rerank;
mod secrets;
mod server_limits;
mod server_reports;
mod support;
mod tracing;
