//! The heap a whole-body read costs: a body whose `Content-Length` is within the cap is read
//! into one buffer of that size, not into a buffer that doubles past it.
//!
//! A binary of its own: the counting allocator is global, so any other test running beside this
//! one would add its allocations to the peak measured here.

#[path = "../benches/support/counting_alloc.rs"]
mod counting_alloc;

use std::sync::atomic::Ordering::Relaxed;

use counting_alloc::{Counting, LIVE, PEAK};
use fireworks_provider::{FireworksProvider, FireworksSettings, ScriptedReply, ScriptedTransport};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[tokio::test]
async fn a_listing_with_a_content_length_is_read_into_one_buffer_of_its_size() {
    const MIB: usize = 1024 * 1024;
    // 40 MiB: past 32 MiB, where a doubling buffer grows to 64 MiB while still holding 32.
    let padding = " ".repeat(40 * MIB);
    let body = format!(r#"{{"data":[{padding}{{"id":"m"}}]}}"#);
    // Read as a socket delivers it, in 64 KiB pieces, all cut from the one script body.
    let reply = ScriptedReply::status(200)
        .with_header("content-type", "application/json")
        .with_header("content-length", &body.len().to_string())
        .with_body_in_pieces(body, 64 * 1024);
    let transport = ScriptedTransport::new().with_reply(reply);
    let provider = FireworksProvider::new(
        FireworksSettings::new("fw_memory_key", "m").with_transport(transport),
    )
    .unwrap();
    drop(padding);
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    let models = provider.list_models().await.unwrap();
    let peak = PEAK.load(Relaxed) - before;
    assert_eq!(models.len(), 1);
    assert!(
        peak < 44 * MIB,
        "reading a 40 MiB body took {} MiB of heap at its peak",
        peak / MIB
    );
}
