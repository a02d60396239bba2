//! The cost of a turn at scale, measured in one run: building a coding agent's 200k-token
//! request, a thousand concurrent streams, the latency the crate adds and connection reuse.
//!
//! Run: `cargo bench --bench scale` (a few minutes on two cores, once built). It needs about
//! 2,500 open files and raises its own soft limit when the hard limit allows; otherwise it runs
//! fewer concurrent streams and says so (`ulimit -n 4096` first allows them all).
//!
//! 1. Request building: `create_message` validating a 400-message conversation (text, tool
//!    calls, tool results of up to 20 KB, two 1 MiB base64 images) and building its body, at a
//!    quarter, half and full size, against `serde_json::to_vec` of the same body as plain serde
//!    structs (the bytes are checked equal); the cost of the derived cache key and the output
//!    budget's estimate; the cost of the prompt-cache report; the bytes allocated by one build.
//! 2. Many streams: 1,000 concurrent streams of 200 events on one runtime (2 workers) that
//!    also runs the loopback server: the peak heap per live stream above plain reqwest's for the
//!    same bytes, CPU time per chunk next to one stream at a time, and the connections: opened
//!    once, pooled, closed when the provider is dropped.
//! 3. Added latency: first poll to first `ApiChunk::Text`, against plain reqwest sending the
//!    same prebuilt body to its first event; medians of alternating runs, for a small request
//!    and for the 200k-token one.
//! 4. Connection reuse: 20 sequential turns open one connection, through `with_model` too.
//!
//! Building is timed in the thread's CPU time (best of rounds run in turns), so that other
//! processes on a shared machine do not count; latencies are wall-clock medians; ratios come
//! from one run, so the machine's load hits both sides alike. The targets are printed with
//! PASS/FAIL at the end. A counting global allocator measures heap use; the CPU time of many
//! streams is the whole process's (`getrusage`), server included.

#[allow(dead_code)] // the tests' loopback server: a bench uses a part of it
#[path = "../tests/it/support/server.rs"]
mod server;

#[path = "scale/build.rs"]
mod build;
#[path = "scale/conversation.rs"]
mod conversation;
#[path = "support/counting_alloc.rs"]
mod counting_alloc;
#[path = "scale/latency.rs"]
mod latency;
#[path = "scale/measure.rs"]
mod measure;
#[path = "scale/replies.rs"]
mod replies;
#[path = "scale/reuse.rs"]
mod reuse;
#[path = "scale/streams.rs"]
mod streams;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut targets = measure::Targets::default();
    let built = build::bench(&runtime, &mut targets);
    streams::bench(&runtime, &mut targets);
    latency::bench(&runtime, &built, &mut targets);
    reuse::bench(&runtime, &mut targets);
    targets.report();
}
