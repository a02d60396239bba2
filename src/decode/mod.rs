//! The decode path, sans-IO: response body bytes in, [`ApiChunk`](crate::ApiChunk)s out, one
//! step a file in the order the bytes flow:
//!
//! - `sse`: bytes → server-sent events (framing, UTF-8, the event size cap);
//! - `chunk` (and its fast reader `chunk/fast`): one event's JSON → the delta it carries;
//! - `perf_metrics`: Fireworks' `perf_metrics` object, read leniently (by `chunk`);
//! - `reasoning`: the streaming `<think>` splitter;
//! - `tools`: tool-call fragments → complete calls;
//! - `decoder`: all of the above as one [`StreamDecoder`], which also decides when a completion
//!   is complete (`[DONE]`, a finish reason, an error event).
//!
//! Nothing here does I/O or knows about futures; `stream` drives it.

pub(crate) mod chunk;
mod decoder;
mod perf_metrics;
pub(crate) mod reasoning;
pub(crate) mod sse;
pub(crate) mod tools;

pub use decoder::StreamDecoder;
