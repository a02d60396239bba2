//! Benchmark 1: validating and building the body of a coding agent's 200k-token request, through
//! the public API (`create_message` builds the body before it returns; the stream is dropped
//! unpolled), against the floor of `serde_json::to_vec` of the same body as plain serde structs.

use std::hint::black_box;
use std::time::Duration;

use fireworks_provider::{ChatRequest, FireworksProvider, FireworksSettings, LlmProvider};
use futures::StreamExt;
use tokio::runtime::Runtime;

use crate::conversation::{agent_conversation, content_bytes, floor_body};
use crate::measure::{HeapWatch, Targets, Timing, in_turns, mib, thread_cpu_time};
use crate::replies::{MODEL, answer_events, streamed};
use crate::server::TestServer;

/// What the other benchmarks need from this one.
pub struct Built {
    /// The full-size request.
    pub request: ChatRequest,
    /// Its build time.
    pub time: Timing,
}

/// The body `provider` sends for `request`, as the loopback server received it.
fn sent_body(
    runtime: &Runtime,
    server: &TestServer,
    provider: &FireworksProvider,
    request: ChatRequest,
) -> Vec<u8> {
    runtime.block_on(async {
        let mut stream = provider.create_message(request);
        while let Some(chunk) = stream.next().await {
            chunk.expect("the loopback answer streams");
        }
    });
    server.take_requests().pop().expect("one request").body
}

/// The CPU time of `create_message` on a clone of `request` made beforehand, the stream dropped
/// unpolled.
fn build_time(provider: &FireworksProvider, request: &ChatRequest) -> Duration {
    let request = request.clone();
    let started = thread_cpu_time();
    drop(black_box(provider.create_message(request)));
    thread_cpu_time() - started
}

/// One size of the conversation: its body, the floor's and ours' times.
struct Size {
    messages: usize,
    body_bytes: usize,
    /// The values the crate chose, which the floor's body copies.
    max_tokens: u64,
    cache_key: String,
    floor: Timing,
    ours: Timing,
}

impl Size {
    fn print(&self, label: &str) {
        let ms = |t: Duration| t.as_secs_f64() * 1e3;
        let ours = self.ours.best.as_secs_f64();
        println!(
            "  {label:<6} {:>5} {:>9.2} {:>9.2} {:>9.2} {:>7.2} {:>10.3} {:>9.2} {:>9.3}",
            self.messages,
            mib(self.body_bytes),
            ms(self.floor.best),
            ms(self.ours.best),
            ms(self.ours.median),
            ours / self.floor.best.as_secs_f64(),
            ours * 1e6 / self.messages as f64,
            ours * 1e9 / self.body_bytes as f64,
        );
    }
}

/// Builds the body of the conversation at `scale`, checks it against the floor's bytes and
/// times both, in turns, `rounds` times.
fn measure_size(
    runtime: &Runtime,
    server: &TestServer,
    provider: &FireworksProvider,
    scale: f64,
    rounds: usize,
) -> (ChatRequest, Size) {
    let request = agent_conversation(scale);
    let body = sent_body(runtime, server, provider, request.clone());
    let sent: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let max_tokens = sent["max_tokens"].as_u64().unwrap();
    let cache_key = sent["prompt_cache_key"].as_str().unwrap().to_owned();
    let model_id = &provider.model().id;
    let floor = floor_body(&request, model_id, max_tokens, cache_key.clone());
    assert!(
        serde_json::to_vec(&floor).unwrap() == body,
        "the floor writes exactly the crate's body"
    );
    // Each case reads a fresh copy of the request, as the crate's build does.
    let mut floor_case = || {
        let request = request.clone();
        let floor = floor_body(&request, model_id, max_tokens, cache_key.clone());
        let started = thread_cpu_time();
        drop(black_box(serde_json::to_vec(&floor).unwrap()));
        thread_cpu_time() - started
    };
    let mut ours_case = || build_time(provider, &request);
    let times = in_turns(&mut [&mut floor_case, &mut ours_case], rounds);
    let size = Size {
        messages: request.messages.len(),
        body_bytes: body.len(),
        max_tokens,
        cache_key,
        floor: times[0],
        ours: times[1],
    };
    (request, size)
}

/// Runs benchmark 1, prints its figures and records its targets.
pub fn bench(runtime: &Runtime, targets: &mut Targets) -> Built {
    let _runtime = runtime.enter();
    let server = runtime.block_on(TestServer::start(vec![streamed(answer_events(3), None)]));
    // Off Fireworks' endpoint, so that the output budget estimates the prompt.
    let settings = FireworksSettings::new("bench", MODEL).with_base_url(server.base_url());
    let provider = FireworksProvider::new(settings).unwrap();
    println!("1. request building: validate + body through create_message (stream dropped");
    println!("   unpolled), against serde_json::to_vec of the same body as plain serde structs");
    println!(
        "   (bytes checked equal), each case on a fresh copy of the request; the thread's CPU"
    );
    println!("   time, best of N rounds in turns (median too); time per byte in ns, per message");
    println!("   in us:");
    println!(
        "  {:<6} {:>5} {:>9} {:>9} {:>9} {:>7} {:>10} {:>9} {:>9}",
        "size",
        "msgs",
        "body MiB",
        "floor ms",
        "ours ms",
        "med ms",
        "ours/floor",
        "us/msg",
        "ns/byte"
    );
    let mut sizes = Vec::new();
    let mut full = None;
    for (scale, label, rounds) in [(0.25, "1/4", 300), (0.5, "1/2", 200), (1.0, "full", 150)] {
        let (request, size) = measure_size(runtime, &server, &provider, scale, rounds);
        size.print(label);
        sizes.push(size);
        full = Some(request);
    }
    let request = full.unwrap();
    let (text, images) = content_bytes(&request);
    println!(
        "  full size: {} messages, {:.2} MiB of text (~{}k tokens at 4 bytes a token), two images of {:.2} MiB base64",
        request.messages.len(),
        mib(text),
        text / 4 / 1000,
        mib(images / 2),
    );
    let (quarter, full_size) = (&sizes[0], &sizes[2]);
    let per_byte = |s: &Size| s.ours.best.as_secs_f64() / s.body_bytes as f64;
    let per_message = |s: &Size| s.ours.best.as_secs_f64() / s.messages as f64;
    let floor_per_byte = |s: &Size| s.floor.best.as_secs_f64() / s.body_bytes as f64;
    println!(
        "  linearity, full over 1/4: time per byte {:.3}, per message {:.3} (the floor's per byte: {:.3})",
        per_byte(full_size) / per_byte(quarter),
        per_message(full_size) / per_message(quarter),
        floor_per_byte(full_size) / floor_per_byte(quarter),
    );
    let ratio = full_size.ours.best.as_secs_f64() / full_size.floor.best.as_secs_f64();
    targets.at_most("1. build / floor, full size (best of rounds)", ratio, 1.3);
    targets.at_most(
        "1. time per byte, full / 1/4 size (linear)",
        per_byte(full_size) / per_byte(quarter),
        1.2,
    );

    // The derived cache key and the estimate are not a second pass: the same build without them
    // (cache affinity off, Fireworks' endpoint where the server trims), and dropping the
    // moved-in request, which the build pays for too.
    let bare = FireworksSettings::new("bench", MODEL).with_cache_affinity(false);
    let bare = FireworksProvider::new(bare).unwrap();
    let mut with_both = || build_time(&provider, &request);
    let mut without = || build_time(&bare, &request);
    let mut dropping = || {
        let request = request.clone();
        let started = thread_cpu_time();
        drop(black_box(request));
        thread_cpu_time() - started
    };
    let times = in_turns(&mut [&mut with_both, &mut without, &mut dropping], 150);
    let overhead = times[0].best.as_secs_f64() / times[1].best.as_secs_f64();
    println!(
        "  full size with the derived cache key and the estimate {:.2} ms, without {:.2} ms: {overhead:.3}; of either, dropping the request takes {:.2} ms",
        times[0].best.as_secs_f64() * 1e3,
        times[1].best.as_secs_f64() * 1e3,
        times[2].best.as_secs_f64() * 1e3,
    );
    targets.at_most(
        "1. build with cache key + estimate / without (no second pass)",
        overhead,
        1.05,
    );

    // The prompt-cache report's cost: the same build with it on (one more serialization pass,
    // into a hasher, and the comparison with the previous request under the key).
    let reporting = FireworksSettings::new("bench", MODEL)
        .with_base_url(server.base_url())
        .with_cache_report(true);
    let reporting = FireworksProvider::new(reporting).unwrap();
    let mut with_report = || build_time(&reporting, &request);
    let mut without_report = || build_time(&provider, &request);
    let times = in_turns(&mut [&mut with_report, &mut without_report], 150);
    println!(
        "  full size with the cache report {:.2} ms, without {:.2} ms: {:+.2} ms per turn",
        times[0].best.as_secs_f64() * 1e3,
        times[1].best.as_secs_f64() * 1e3,
        (times[0].best.as_secs_f64() - times[1].best.as_secs_f64()) * 1e3,
    );

    // Bytes allocated by one build, on this thread while nothing else runs.
    let body_bytes = full_size.body_bytes;
    let clone = request.clone();
    let watch = HeapWatch::start();
    let stream = provider.create_message(clone);
    let (allocated, peak) = (watch.allocated(), watch.peak());
    drop(stream);
    let (max_tokens, key) = (full_size.max_tokens, full_size.cache_key.clone());
    let floor = floor_body(&request, &provider.model().id, max_tokens, key);
    let watch = HeapWatch::start();
    let floor_bytes = serde_json::to_vec(&floor).unwrap();
    let floor_allocated = watch.allocated();
    drop(floor_bytes);
    println!(
        "  bytes allocated in one build: {:.2} MiB = {:.3} x the body's {:.2} MiB (a copy of the images would add {:.3}); peak heap above the request {:.2} MiB; the floor's to_vec allocates {:.2} MiB ({:.3} x, its Vec doubling)",
        mib(allocated),
        allocated as f64 / body_bytes as f64,
        mib(body_bytes),
        images as f64 / body_bytes as f64,
        mib(peak),
        mib(floor_allocated),
        floor_allocated as f64 / body_bytes as f64,
    );
    // Below 1 + images / body: the images are copied once, into the body.
    targets.at_most(
        "1. bytes allocated in one build / body bytes (images copied once)",
        allocated as f64 / body_bytes as f64,
        1.5,
    );
    Built {
        request,
        time: full_size.ours,
    }
}
