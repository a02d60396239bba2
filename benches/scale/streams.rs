//! Benchmark 2: a thousand concurrent streams from one `FireworksProvider` on one tokio runtime
//! against the loopback server (whose connection tasks run on the same runtime): the heap each
//! live stream holds beyond what plain reqwest holds for the same bytes, the CPU time per chunk
//! next to one stream at a time, and that every connection is pooled and finally closed.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use fireworks_provider::{ChatRequest, FireworksProvider, FireworksSettings, LlmProvider, Message};
use futures::StreamExt;
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;

use crate::measure::{HeapWatch, Targets, process_cpu_time, raise_open_files_limit};
use crate::replies::{MODEL, answer_events, streamed};
use crate::server::{Gate, TestServer};

/// Concurrent streams, when the open-files limit allows.
const STREAMS: usize = 1_000;
/// Events per stream; its chunks: `EVENTS - 2` texts, the usage and the finish.
const EVENTS: usize = 200;
/// Where every reply holds until all the streams have read that far.
const HOLD_AFTER: usize = EVENTS / 2;
/// Streams run one at a time for the comparison.
const ALONE: usize = 50;

/// Who reads the streams.
#[derive(Clone)]
enum Reader {
    /// The crate: `create_message`, every chunk polled to the end.
    Ours(FireworksProvider),
    /// The transport floor: plain reqwest posting the crate's body and reading the bytes,
    /// counting events.
    Floor {
        client: reqwest::Client,
        url: String,
        body: Bytes,
    },
}

impl Reader {
    /// Reads one stream to its end, adding a permit to `halfway` once `HOLD_AFTER` events have
    /// arrived; returns the chunks (ours) or events (the floor) read.
    async fn read_one(self, halfway: Arc<Semaphore>) -> usize {
        let mut read = 0;
        let count = |read: &mut usize, more: usize| {
            if *read < HOLD_AFTER && *read + more >= HOLD_AFTER {
                halfway.add_permits(1);
            }
            *read += more;
        };
        match self {
            Reader::Ours(provider) => {
                let request = ChatRequest::new("You are terse.", vec![Message::user("Go on.")]);
                let mut stream = provider.create_message(request);
                while let Some(chunk) = stream.next().await {
                    chunk.expect("the loopback stream completes");
                    count(&mut read, 1);
                }
            }
            Reader::Floor { client, url, body } => {
                let request = client.post(url).header("content-type", "application/json");
                let mut response = request.body(body).send().await.unwrap();
                let finder = memchr::memmem::Finder::new(b"\n\n");
                let mut ended_in_newline = false;
                while let Some(bytes) = response.chunk().await.unwrap() {
                    let joined = ended_in_newline && bytes.first() == Some(&b'\n');
                    let events = finder.find_iter(&bytes).count() + usize::from(joined);
                    ended_in_newline = bytes.last() == Some(&b'\n');
                    count(&mut read, events);
                }
            }
        }
        read
    }
}

/// One wave of concurrent streams.
struct Wave {
    /// Chunks (or events) read in all.
    read: usize,
    /// The process's CPU time (server included).
    cpu: Duration,
    /// The peak heap above the start, and the heap live while every stream waited halfway.
    peak: usize,
    halfway_live: usize,
}

/// Runs `streams` streams at once on `runtime`, the replies held at `gate` until every stream
/// has read half of its events.
fn wave(runtime: &Runtime, reader: &Reader, gate: &Gate, streams: usize) -> Wave {
    let halfway = Arc::new(Semaphore::new(0));
    let watch = HeapWatch::start();
    let cpu = process_cpu_time();
    let (read, halfway_live) = runtime.block_on(async {
        let tasks: Vec<_> = (0..streams)
            .map(|_| tokio::spawn(reader.clone().read_one(Arc::clone(&halfway))))
            .collect();
        let all = halfway.acquire_many(streams as u32).await.unwrap();
        all.forget();
        let halfway_live = watch.live();
        (0..streams).for_each(|_| gate.open());
        let mut read = 0;
        for task in tasks {
            read += task.await.unwrap();
        }
        (read, halfway_live)
    });
    Wave {
        read,
        cpu: process_cpu_time() - cpu,
        peak: watch.peak(),
        halfway_live,
    }
}

/// A loopback server whose every reply is the benchmark's answer held at a gate.
fn held_server(runtime: &Runtime) -> (TestServer, Gate) {
    let gate = Gate::new();
    let reply = streamed(answer_events(EVENTS), Some((HOLD_AFTER, gate.clone())));
    (runtime.block_on(TestServer::start(vec![reply])), gate)
}

fn provider_for(server: &TestServer) -> FireworksProvider {
    let settings = FireworksSettings::new("bench", MODEL).with_base_url(server.base_url());
    FireworksProvider::new(settings).unwrap()
}

fn per_chunk_us(cpu: Duration, chunks: usize) -> f64 {
    cpu.as_secs_f64() * 1e6 / chunks as f64
}

/// Runs benchmark 2, prints its figures and records its targets.
pub fn bench(runtime: &Runtime, targets: &mut Targets) {
    let limit = raise_open_files_limit(2 * STREAMS as u64 + 512);
    let streams = STREAMS.min((limit as usize).saturating_sub(512) / 2);
    println!("\n2. {streams} concurrent streams of {EVENTS} events (one HTTP chunk each) from one");
    println!("   provider, on the runtime that also runs the loopback server; every reply holds");
    println!("   after {HOLD_AFTER} events until all streams have read them:");
    if streams < STREAMS {
        println!(
            "   (open-files limit {limit}: {streams} streams; `ulimit -n 4096` allows {STREAMS})"
        );
    }

    // One stream at a time, on one pooled connection.
    let (server, gate) = held_server(runtime);
    let ours = Reader::Ours(provider_for(&server));
    let (mut alone_read, mut alone_cpu) = (0, Duration::ZERO);
    for _ in 0..ALONE {
        let one = wave(runtime, &ours, &gate, 1);
        alone_read += one.read;
        alone_cpu += one.cpu;
    }
    assert_eq!(alone_read, ALONE * EVENTS, "every chunk arrives");
    let alone = per_chunk_us(alone_cpu, alone_read);

    // All at once, twice on one provider: the second wave must find the first's connections
    // in the pool.
    let (server, gate) = held_server(runtime);
    let ours = Reader::Ours(provider_for(&server));
    let first = wave(runtime, &ours, &gate, streams);
    let accepted_first = server.connections_accepted();
    let second = wave(runtime, &ours, &gate, streams);
    let accepted_second = server.connections_accepted();
    assert_eq!(first.read, streams * EVENTS, "every chunk arrives");
    assert_eq!(second.read, streams * EVENTS, "every chunk arrives");
    let body = server.take_requests().pop().unwrap().body;

    let (floor_server, floor_gate) = held_server(runtime);
    let floor = Reader::Floor {
        client: reqwest::Client::builder()
            .tcp_nodelay(true)
            .build()
            .unwrap(),
        url: format!("{}/chat/completions", floor_server.base_url()),
        body: Bytes::from(body),
    };
    let floor_wave = wave(runtime, &floor, &floor_gate, streams);
    assert_eq!(floor_wave.read, streams * EVENTS, "every event arrives");

    // Dropping the provider closes its pooled connections.
    drop(ours);
    let closed = runtime.block_on(async {
        for _ in 0..500 {
            if server.connections_closed() == accepted_second {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        server.connections_closed()
    });

    let kib = |bytes: usize| bytes as f64 / 1024.0 / streams as f64;
    println!(
        "  heap per live stream: peak {:.1} KiB ours, {:.1} KiB the transport floor (plain reqwest); halfway {:.1} and {:.1} KiB",
        kib(first.peak),
        kib(floor_wave.peak),
        kib(first.halfway_live),
        kib(floor_wave.halfway_live),
    );
    let own = kib(first.peak.saturating_sub(floor_wave.peak));
    println!("  the crate's own peak heap per live stream (ours - floor): {own:.1} KiB");
    println!(
        "  CPU per chunk (process: client, server, runtime): {:.2} us with {streams} at once ({:.2} s), {:.2} us alone ({ALONE} one after another), second wave {:.2} us; the floor {:.2} us per event",
        per_chunk_us(first.cpu, first.read),
        first.cpu.as_secs_f64(),
        alone,
        per_chunk_us(second.cpu, second.read),
        per_chunk_us(floor_wave.cpu, floor_wave.read),
    );
    println!(
        "  connections accepted: {accepted_first} by the first wave, {} more by the second; {closed} of {accepted_second} closed after the provider was dropped",
        accepted_second - accepted_first
    );
    targets.at_most(
        "2. the crate's own peak heap per live stream, KiB",
        own,
        32.0,
    );
    targets.at_most(
        "2. CPU per chunk, concurrent / alone",
        per_chunk_us(first.cpu, first.read) / alone,
        1.2,
    );
    targets.exactly(
        "2. connections opened by the concurrent streams",
        accepted_first,
        streams,
    );
    targets.exactly(
        "2. connections opened by a second wave (the pool reuses)",
        accepted_second - accepted_first,
        0,
    );
    targets.exactly(
        "2. connections left open after dropping the provider",
        accepted_second - closed,
        0,
    );
}
