//! Benchmark 3: the latency the crate adds to a turn: from the first poll of the stream to the
//! first `ApiChunk::Text`, against plain reqwest sending the same prebuilt body and reading the
//! same first event, on loopback; medians over runs that alternate between the two.

use std::time::{Duration, Instant};

use bytes::Bytes;
use fireworks_provider::{
    ApiChunk, ChatRequest, FireworksProvider, FireworksSettings, LlmProvider, Message,
};
use futures::StreamExt;
use tokio::runtime::Runtime;

use crate::build::Built;
use crate::measure::{Targets, median, micros};
use crate::replies::{MODEL, answer_events, streamed};
use crate::server::TestServer;

const RUNS: usize = 200;

/// From sending `body` with plain reqwest to having its first event; the rest is read after
/// the clock stops, so the connection goes back to the pool.
async fn raw_first_event(client: &reqwest::Client, url: &str, body: Bytes) -> Duration {
    let started = Instant::now();
    let request = client.post(url).header("content-type", "application/json");
    let mut response = request.body(body).send().await.unwrap();
    let mut read = Vec::new();
    while let Some(bytes) = response.chunk().await.unwrap() {
        read.extend_from_slice(&bytes);
        if memchr::memmem::find(&read, b"\n\n").is_some() {
            break;
        }
    }
    let elapsed = started.elapsed();
    while response.chunk().await.unwrap().is_some() {}
    elapsed
}

/// The crate's times for one request: building it (`create_message`), and from the first poll
/// to the first `Text`; the rest is read after the clock stops.
async fn ours_first_text(
    provider: &FireworksProvider,
    request: ChatRequest,
) -> (Duration, Duration) {
    let started = Instant::now();
    let mut stream = provider.create_message(request);
    let polled = Instant::now();
    loop {
        match stream.next().await {
            Some(Ok(ApiChunk::Text(_))) => break,
            Some(Ok(_)) => {}
            other => panic!("expected the answer's text, got {other:?}"),
        }
    }
    let first_text = polled.elapsed();
    while let Some(chunk) = stream.next().await {
        chunk.unwrap();
    }
    (polled - started, first_text)
}

/// Medians over `RUNS` alternating runs.
struct Latencies {
    /// Plain reqwest, to the first event.
    raw: Duration,
    /// The crate: `create_message`; from the first poll to the first text; both.
    build: Duration,
    from_poll: Duration,
    total: Duration,
}

fn medians(runtime: &Runtime, request: &ChatRequest) -> Latencies {
    let server = runtime.block_on(TestServer::start(vec![streamed(answer_events(8), None)]));
    let settings = FireworksSettings::new("bench", MODEL).with_base_url(server.base_url());
    let provider = FireworksProvider::new(settings).unwrap();
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let url = format!("{}/chat/completions", server.base_url());
    // A warm-up of each (one pooled connection apiece), and the crate's body for reqwest.
    runtime.block_on(ours_first_text(&provider, request.clone()));
    let body = Bytes::from(server.take_requests().pop().unwrap().body);
    runtime.block_on(raw_first_event(&client, &url, body.clone()));
    let (mut raw, mut build, mut from_poll, mut total) = (vec![], vec![], vec![], vec![]);
    for run in 0..RUNS {
        // Before its timed region each side does the same: copies the request and builds its
        // body, so both start from the same state of caches and scheduler.
        let raw_run = || {
            drop(provider.create_message(request.clone()));
            runtime.block_on(raw_first_event(&client, &url, body.clone()))
        };
        if run % 2 == 0 {
            raw.push(raw_run());
        }
        let clone = request.clone();
        let (built, first_text) = runtime.block_on(ours_first_text(&provider, clone));
        build.push(built);
        from_poll.push(first_text);
        total.push(built + first_text);
        if run % 2 == 1 {
            raw.push(raw_run());
        }
        server.take_requests(); // keeps the large bodies from piling up
    }
    Latencies {
        raw: median(raw),
        build: median(build),
        from_poll: median(from_poll),
        total: median(total),
    }
}

/// Runs benchmark 3, prints its figures and records its targets.
pub fn bench(runtime: &Runtime, built: &Built, targets: &mut Targets) {
    println!("\n3. added latency on loopback, medians of {RUNS} alternating runs: plain reqwest");
    println!("   from sending the crate's prebuilt body to its first complete event, and the");
    println!(
        "   crate from the first poll to the first ApiChunk::Text (in us); both sides first copy"
    );
    println!("   the request and build its body, untimed:");
    let small = ChatRequest::new("You are terse.", vec![Message::user("Say hello.")]);
    let small = medians(runtime, &small);
    let added = micros(small.from_poll) - micros(small.raw);
    println!(
        "  small request: reqwest {:.1}, ours {:.1}: added {added:.1}",
        micros(small.raw),
        micros(small.from_poll)
    );
    targets.at_most("3. added latency, small request, us", added, 100.0);

    let large = medians(runtime, &built.request);
    let added = micros(large.from_poll) - micros(large.raw);
    let added_in_all = micros(large.total) - micros(large.raw);
    println!(
        "  200k-token request: reqwest {:.1}, ours {:.1}: added {added:.1}; from calling create_message {:.1}: added {added_in_all:.1}, of which building {:.1} (benchmark 1: {:.1} of CPU)",
        micros(large.raw),
        micros(large.from_poll),
        micros(large.total),
        micros(large.build),
        micros(built.time.median),
    );
    targets.at_most(
        "3. added latency, 200k-token request, beyond its build, us",
        added,
        100.0,
    );
}
