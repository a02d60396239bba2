//! How fast the decode path turns a Fireworks response body into `ApiChunk`s, measured in one
//! run against the floor of parsing the same events' JSON and nothing else.
//!
//! Run: `cargo bench --bench decode` (about 15 s once built). Three streams are generated in
//! memory at start-up: (a) ~20,000 deepseek-r1 events with `<think>` inline, (b) ~20,000 kimi
//! events of `reasoning_content` then `content`, (c) 50 tool calls of 100 argument fragments
//! each, five calls at a time interleaved by index. Over each it times
//! 1. the floor: serde_json of every event's data (split from the body beforehand) into a
//!    borrowing struct shaped like the crate's private wire type;
//! 2. `StreamDecoder` fed the body whole and in 16 KiB, 1.4 KiB and 64-byte pieces (and, for the
//!    breakdown, its SSE framing alone);
//! 3. the naive baseline: eventsource-stream 0.2.3 + serde_json + `ThinkSplitter` (+ the
//!    crate's `ToolCallAssembler`, so that it does the same work on stream (c));
//! 4. for stream (a), end to end: `FireworksProvider` against the loopback test server, and the
//!    transport floor (plain reqwest reading the same bytes, then parsing as in 1).
//!
//! Then allocations per emitted chunk (a counting global allocator) and the peak heap while
//! streaming a 50 MB body next to a 10 KB one. Every time is the best of N repetitions, N chosen
//! so a case runs for about half a second (the two end-to-end cases: one second, in turns);
//! the issue's targets are printed with PASS/FAIL.

#[allow(dead_code)] // the tests' loopback server: a bench uses a part of it
#[path = "../tests/it/support/server.rs"]
mod server;

use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt;
use std::hint::black_box;
use std::io::Write;
use std::marker::PhantomData;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use bytes::Bytes;
use eventsource_stream::EventStream;
use fireworks_provider::{
    ApiChunk, ChatRequest, FireworksProvider, FireworksSettings, LlmProvider, Message, ModelInfo,
    ReasoningStyle, SseDecoder, StreamDecoder, ThinkPart, ThinkSplitter, ToolCallAssembler,
    ToolCallFragment, lookup_model,
};
use futures::StreamExt;
use serde::Deserialize;
use serde::de::{self, IgnoredAny, SeqAccess, Visitor};
use server::{Reply, TestServer};

// ---- Counting allocator: allocations, live and peak heap bytes ------------------------------

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{ALLOCATIONS as ALLOCS, Counting, LIVE, PEAK};

#[global_allocator]
static GLOBAL: Counting = Counting;

// ---- Stream generator ------------------------------------------------------------------------

const WORDS: [&str; 32] = [
    "the", "user", "wants", "to", "find", "where", "config", "is", "loaded", "so", "I", "should",
    "check", "file", "first", "then", "look", "at", "function", "that", "reads", "it", "and",
    "maybe", "a", "test", "for", "this", "case", "we", "can", "use",
];

const USAGE: &str = r#"{"prompt_tokens":317,"total_tokens":611,"completion_tokens":294}"#;

/// Writes Fireworks-shaped events with small deterministic deltas: 1-4 words, about one delta
/// in 24 ending a paragraph (`\n\n`, escaped in the JSON as real streams have it).
struct Gen {
    model: &'static str,
    seed: u64,
    text: String,
}

impl Gen {
    fn new(model: &'static str) -> Self {
        let text = String::with_capacity(256);
        Gen {
            model,
            seed: 0x9E37_79B9_7F4A_7C15,
            text,
        }
    }

    fn rand(&mut self, bound: u64) -> u64 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.seed % bound
    }

    fn fill(&mut self) {
        self.text.clear();
        for _ in 0..=self.rand(4) {
            self.text.push(' ');
            let word = WORDS[self.rand(WORDS.len() as u64) as usize];
            self.text.push_str(word);
        }
        if self.rand(24) == 0 {
            self.text.push_str("\n\n");
        }
    }

    /// Appends one `data: {json}\n\n` chunk event; `delta` writes the delta's fields.
    fn event(&self, out: &mut Vec<u8>, finish: Option<&str>, delta: impl FnOnce(&mut Vec<u8>)) {
        out.extend_from_slice(br#"data: {"id":"chatcmpl-3f4c87f71886a0175bad0f90d6074da3","object":"chat.completion.chunk","created":1780500000,"model":"accounts/fireworks/models/"#);
        out.extend_from_slice(self.model.as_bytes());
        out.extend_from_slice(br#"","choices":[{"index":0,"delta":{"#);
        delta(out);
        match finish {
            None => out
                .extend_from_slice(br#"},"finish_reason":null,"raw_output":null}],"usage":null}"#),
            Some(reason) => write!(
                out,
                r#"}},"finish_reason":"{reason}","raw_output":null}}],"usage":{USAGE}}}"#
            )
            .unwrap(),
        }
        out.extend_from_slice(b"\n\n");
    }
}

fn field(out: &mut Vec<u8>, key: &str, value: &str) {
    write!(out, "\"{key}\":").unwrap();
    serde_json::to_writer(&mut *out, value).unwrap();
}

/// Streams (a) and (b): role, `reasoning` deltas (inside `<think>` or as `reasoning_content`),
/// `answer` deltas, the finish chunk with usage, `[DONE]`. `after` runs after every event.
fn text_stream(
    g: &mut Gen,
    think: bool,
    (reasoning, answer): (usize, usize),
    out: &mut Vec<u8>,
    after: &mut dyn FnMut(&mut Vec<u8>),
) {
    let key = if think {
        "content"
    } else {
        "reasoning_content"
    };
    let mut emit = |g: &Gen, out: &mut Vec<u8>, key: &str, text: &str| {
        g.event(out, None, |o| field(o, key, text));
        after(out);
    };
    emit(g, out, "role", "assistant");
    if think {
        emit(g, out, "content", "<think>\n");
    }
    for i in 0..reasoning + answer {
        g.fill();
        if think && i == reasoning {
            emit(g, out, "content", "</think>\n\n");
        }
        emit(g, out, if i < reasoning { key } else { "content" }, &g.text);
    }
    g.event(out, Some("stop"), |_| {});
    out.extend_from_slice(b"data: [DONE]\n\n");
    after(out);
}

fn text_body(model: &'static str, think: bool, split: (usize, usize)) -> Vec<u8> {
    let mut body = Vec::new();
    text_stream(&mut Gen::new(model), think, split, &mut body, &mut |_| {});
    body
}

/// Stream (c): `calls` tool calls, `parallel` at a time interleaved by index, each a first
/// fragment with id, type and name, then `fragments` argument pieces with `"id":null`.
fn tool_body(calls: usize, fragments: usize, parallel: usize) -> Vec<u8> {
    let (mut g, mut out) = (Gen::new("kimi-k2p6"), Vec::new());
    g.event(&mut out, None, |o| field(o, "role", "assistant"));
    for first in (0..calls).step_by(parallel) {
        let group: Vec<usize> = (first..calls.min(first + parallel)).collect();
        let mut args = Vec::new();
        for &i in &group {
            let mut text = format!(r#"{{"path": "src/module_{i}.rs", "content": ""#);
            while text.len() < fragments * 6 {
                g.fill();
                text.push_str(g.text.trim_end());
            }
            args.push(text + "\"}");
            g.event(&mut out, None, |o| {
                let id = 7919 * i + 1;
                write!(o, r#""tool_calls":[{{"index":{i},"id":"call_{id:024x}","type":"function","function":{{"name":"write_file"}}}}]"#).unwrap();
            });
        }
        for f in 0..fragments {
            for (&i, text) in group.iter().zip(&args) {
                let piece = &text[text.len() * f / fragments..text.len() * (f + 1) / fragments];
                g.event(&mut out, None, |o| {
                    write!(o, r#""tool_calls":[{{"index":{i},"id":null,"function":{{"#).unwrap();
                    field(o, "arguments", piece);
                    o.extend_from_slice(b"}}]");
                });
            }
        }
    }
    g.event(&mut out, Some("tool_calls"), |_| {});
    out.extend_from_slice(b"data: [DONE]\n\n");
    out
}

// ---- The floor's wire type ------------------------------------------------------------------
// The fields of src/chunk.rs, strings borrowed from the event where they hold no escapes (the
// `Text` newtype makes `#[serde(borrow)]` work under `Option`), the first choice kept without
// a `Vec` as the crate does. The floor is exactly `serde_json::from_str` into this, per event.

#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

#[derive(Deserialize)]
#[allow(dead_code)] // parsed, not read
struct FloorChunk<'a> {
    #[serde(borrow)]
    choices: First<FloorChoice<'a>>,
    usage: Option<FloorUsage>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct FloorChoice<'a> {
    index: u32,
    #[serde(borrow)]
    delta: Option<FloorDelta<'a>>,
    #[serde(borrow)]
    finish_reason: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct FloorDelta<'a> {
    #[serde(borrow)]
    content: Option<Text<'a>>,
    #[serde(borrow)]
    reasoning_content: Option<Text<'a>>,
    #[serde(borrow)]
    tool_calls: Option<Vec<FloorToolCall<'a>>>,
}

#[derive(Deserialize)]
struct FloorToolCall<'a> {
    index: Option<u32>,
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    function: Option<FloorFunction<'a>>,
}

#[derive(Deserialize)]
struct FloorFunction<'a> {
    #[serde(borrow)]
    name: Option<Text<'a>>,
    #[serde(borrow)]
    arguments: Option<Text<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct FloorUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

/// The first element of a JSON array; the others are skipped.
struct First<T>(Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for First<T> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Seq<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Seq<T> {
            type Value = First<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<First<T>, A::Error> {
                let first = seq.next_element()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(First(first))
            }
        }
        deserializer.deserialize_seq(Seq(PhantomData))
    }
}

/// A field's text, borrowed or unescaped.
fn text<'a>(field: &'a Option<Text<'_>>) -> Option<&'a str> {
    field.as_ref().map(|text| &*text.0)
}

/// Parses one event's data as the floor does; 1 per JSON event, 0 for `[DONE]`.
fn parse_floor(data: &str) -> usize {
    if data == "[DONE]" {
        return 0;
    }
    let chunk: FloorChunk<'_> = serde_json::from_str(data).expect("generated events parse");
    black_box(&chunk);
    1
}

/// The events' data, split from the body before timing (the floor pays no framing).
fn split_events(body: &[u8]) -> Vec<&str> {
    let text = std::str::from_utf8(body).unwrap();
    let events = text.split_terminator("\n\n");
    events.map(|e| e.strip_prefix("data: ").unwrap()).collect()
}

// ---- Ours and the naive baseline ------------------------------------------------------------

/// `StreamDecoder` over `body` cut into `piece`-byte pieces; returns the chunks emitted.
fn decode(model: &ModelInfo, body: &[u8], piece: usize) -> usize {
    let mut decoder = StreamDecoder::new(model);
    let (mut out, mut chunks) = (Vec::with_capacity(64), 0);
    for bytes in body.chunks(piece) {
        decoder
            .push(bytes, &mut out)
            .expect("generated streams decode");
        chunks += out.len();
        out.clear();
    }
    decoder.finish(&mut out).unwrap();
    chunks + out.len()
}

/// Our SSE framing alone (`SseDecoder`), for the breakdown; returns the events.
fn frame_only(body: &[u8], piece: usize) -> usize {
    let (mut decoder, mut events) = (SseDecoder::new(), 0);
    for bytes in body.chunks(piece) {
        decoder
            .push(bytes, |e| events += black_box(e.data.len()).min(1))
            .unwrap();
    }
    events
}

/// eventsource-stream 0.2.3 + serde_json + `ThinkSplitter` + `ToolCallAssembler`, emitting
/// owned chunks like ours; `None` once it has run past `budget`.
fn naive(model: &ModelInfo, body: &Bytes, piece: usize, budget: Duration) -> Option<usize> {
    let started = Instant::now();
    let pieces = (0..body.len()).step_by(piece);
    let pieces = pieces.map(|at| Ok::<_, Infallible>(body.slice(at..body.len().min(at + piece))));
    let mut events = EventStream::new(futures::stream::iter(pieces));
    let mut splitter = match model.reasoning {
        ReasoningStyle::StartsInReasoning => ThinkSplitter::starting_in_reasoning(),
        _ => ThinkSplitter::new(),
    };
    let mut tools = ToolCallAssembler::new();
    let (mut out, mut chunks) = (Vec::new(), 0);
    let to_chunk = |part: ThinkPart<'_>| match part {
        ThinkPart::Reasoning(text) => ApiChunk::Reasoning(text.to_owned()),
        ThinkPart::Answer(text) => ApiChunk::Text(text.to_owned()),
    };
    futures::executor::block_on(async {
        while let Some(event) = events.next().await {
            let event = event.expect("generated streams frame");
            if started.elapsed() > budget {
                return None;
            }
            if event.data == "[DONE]" {
                return Some(chunks + 2); // usage and finish, as ours emits them here
            }
            let chunk: FloorChunk<'_> = serde_json::from_str(&event.data).unwrap();
            let Some(choice) = chunk.choices.0 else {
                continue;
            };
            if let Some(delta) = &choice.delta {
                if let Some(reasoning) = text(&delta.reasoning_content).filter(|t| !t.is_empty()) {
                    out.push(ApiChunk::Reasoning(reasoning.to_owned()));
                }
                if let Some(content) = text(&delta.content).filter(|t| !t.is_empty()) {
                    splitter.push(content, |part| out.push(to_chunk(part)));
                }
                for call in delta.tool_calls.iter().flatten() {
                    let function = call.function.as_ref();
                    tools
                        .push(ToolCallFragment {
                            index: call.index,
                            id: text(&call.id),
                            name: function.and_then(|f| text(&f.name)),
                            arguments: function.and_then(|f| text(&f.arguments)),
                        })
                        .expect("generated streams open few calls");
                }
            }
            if choice.finish_reason.is_some() {
                splitter.finish(|part| out.push(to_chunk(part)));
                out.extend(tools.finish().map(ApiChunk::ToolCall));
            }
            chunks += out.len();
            out.clear();
        }
        Some(chunks)
    })
}

// ---- End to end -----------------------------------------------------------------------------

async fn through_provider(provider: &FireworksProvider) -> usize {
    let mut stream = provider.create_message(ChatRequest::new("", vec![Message::user("x")]));
    let mut chunks = 0;
    while let Some(chunk) = stream.next().await {
        chunks += chunk.map(|_| 1).expect("the loopback stream completes");
    }
    chunks
}

/// The transport floor: the body read with plain reqwest, framed minimally (memmem for "\n\n"
/// over an accumulated buffer, consumed from a moving offset, compacted only when emptied or
/// past 64 KiB), each event's data checked as UTF-8 and parsed as in the floor.
async fn transport_floor(client: &reqwest::Client, url: &str) -> usize {
    let body = r#"{"model":"accounts/fireworks/models/deepseek-r1-0528","messages":[{"role":"user","content":"x"}],"stream":true}"#;
    let request = client
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    let mut response = request.send().await.unwrap().error_for_status().unwrap();
    let (mut buf, mut start, mut events) = (Vec::new(), 0, 0);
    let finder = memchr::memmem::Finder::new(b"\n\n");
    while let Some(bytes) = response.chunk().await.unwrap() {
        buf.extend_from_slice(&bytes);
        while let Some(end) = finder.find(&buf[start..]) {
            let data = std::str::from_utf8(&buf[start..start + end]).unwrap();
            events += parse_floor(data.strip_prefix("data: ").unwrap());
            start += end + 2;
        }
        if start == buf.len() || start > 64 * 1024 {
            buf.drain(..start);
            start = 0;
        }
    }
    events
}

// ---- Measuring and reporting ----------------------------------------------------------------

/// The best (minimum) time of each of `runs`, run in turns (so that a slow spell of the
/// machine hits them alike) after one warm-up each, as often as fits in about `secs` seconds
/// (3 to 1000 times).
fn best_in_turns(runs: &mut [&mut dyn FnMut() -> usize], secs: f64) -> Vec<Duration> {
    let started = Instant::now();
    runs.iter_mut().for_each(|run| _ = black_box(run()));
    let once = started.elapsed().as_secs_f64().max(1e-6);
    let mut best = vec![Duration::MAX; runs.len()];
    for _ in 0..(secs / once).ceil().clamp(3.0, 1000.0) as usize {
        for (run, best) in runs.iter_mut().zip(&mut best) {
            let started = Instant::now();
            black_box(run());
            *best = (*best).min(started.elapsed());
        }
    }
    best
}

/// The best time of `run`, over about half a second.
fn best(mut run: impl FnMut() -> usize) -> Duration {
    best_in_turns(&mut [&mut run], 0.5)[0]
}

/// One table: its stream's event count and the floor's time.
struct Table {
    events: usize,
    floor: Duration,
}

impl Table {
    /// Prints one row: events/s, and that rate over the floor's, which it returns.
    fn row(&self, case: &str, time: Duration) -> f64 {
        let (secs, ratio) = (
            time.as_secs_f64(),
            self.floor.as_secs_f64() / time.as_secs_f64(),
        );
        let rate = self.events as f64 / secs / 1e6;
        println!(
            "  {case:<46} {rate:>7.2} M/s {ratio:>8.2}   ({:.2} ms)",
            secs * 1e3
        );
        ratio
    }
}

/// The targets, printed at the end.
#[derive(Default)]
struct Targets(Vec<(String, f64, bool)>);

impl Targets {
    fn at_least(&mut self, what: String, value: f64, bound: f64) {
        self.0
            .push((format!("{what} >= {bound}"), value, value >= bound));
    }
    fn at_most(&mut self, what: String, value: f64, bound: f64) {
        self.0
            .push((format!("{what} <= {bound}"), value, value <= bound));
    }
}

/// Peak heap above what was live before, while decoding a stream (a)-shaped body of about
/// `bytes` bytes generated lazily into a reused 16 KiB buffer; returns (peak, body bytes).
fn peak_while_streaming(model: &ModelInfo, bytes: usize, event_bytes: usize) -> (usize, usize) {
    const PIECE: usize = 16 * 1024;
    let (mut g, mut buf) = (
        Gen::new("deepseek-r1-0528"),
        Vec::with_capacity(PIECE + 4096),
    );
    let events = bytes / event_bytes;
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let mut decoder = StreamDecoder::new(model);
    let (mut out, mut total) = (Vec::new(), 0);
    let mut feed = |buf: &mut Vec<u8>, last: bool| {
        if buf.len() >= PIECE || last {
            decoder.push(buf, &mut out).unwrap();
            total += buf.len();
            out.clear();
            buf.clear();
        }
    };
    let split = (events * 6 / 10, events * 4 / 10);
    text_stream(&mut g, true, split, &mut buf, &mut |buf| feed(buf, false));
    feed(&mut buf, true);
    decoder.finish(&mut out).unwrap();
    assert!(decoder.is_done(), "the lazy stream ends with [DONE]");
    drop(out);
    (PEAK.load(Relaxed) - base, total)
}

const KIB_1_4: usize = 1434; // 1.4 KiB, about one TCP segment's payload

/// Times one stream's cases, prints its table and records its targets.
fn bench_stream(name: &str, model: &ModelInfo, body: &[u8], targets: &mut Targets) {
    let events = split_events(body);
    println!(
        "\nstream {name}: {} events, {:.2} MB",
        events.len(),
        body.len() as f64 / 1e6
    );
    println!("  {:<46} {:>11} {:>8}", "case", "events/s", "vs floor");
    let floor = best(|| events.iter().map(|data| parse_floor(data)).sum::<usize>());
    let table = Table {
        events: events.len(),
        floor,
    };
    table.row("floor: serde_json per event only", floor);
    let chunks = decode(model, body, body.len());
    let mut ours = Vec::new();
    for (piece, label) in [(body.len(), "whole body"), (16 * 1024, "16 KiB pieces")]
        .into_iter()
        .chain([(KIB_1_4, "1.4 KiB pieces"), (64, "64 B pieces")])
    {
        assert_eq!(
            decode(model, body, piece),
            chunks,
            "the output depends on the cut"
        );
        let time = best(|| decode(model, body, piece));
        ours.push(table.row(&format!("ours: StreamDecoder, {label}"), time));
    }
    let framing = best(|| frame_only(body, KIB_1_4));
    table.row("  of which SSE framing alone, 1.4 KiB", framing);
    let bytes = Bytes::from(body.to_vec());
    assert_eq!(naive(model, &bytes, KIB_1_4, Duration::MAX), Some(chunks));
    let time = best(|| naive(model, &bytes, KIB_1_4, Duration::MAX).unwrap());
    let naive_rate = table.row("naive: eventsource-stream, 1.4 KiB pieces", time);
    if name.starts_with("(a)") {
        let (started, label) = (Instant::now(), "naive: eventsource-stream, whole body");
        match naive(model, &bytes, bytes.len(), Duration::from_secs(10)) {
            Some(_) => _ = table.row(&format!("{label} (1 run)"), started.elapsed()),
            None => println!("  {label:<46} > 10 s, skipped"),
        }
    }
    let (whole, at_1_4, at_64) = (ours[0], ours[2], ours[3]);
    let what = |what: &str| format!("{} {what}", &name[..3]);
    targets.at_least(what("decode @1.4 KiB / floor"), at_1_4, 0.8);
    targets.at_least(
        what("decode @1.4 KiB / naive @1.4 KiB"),
        at_1_4 / naive_rate,
        2.0,
    );
    targets.at_most(what("time whole body / time @1.4 KiB"), at_1_4 / whole, 1.5);
    targets.at_most(what("time @64 B / time @1.4 KiB"), at_1_4 / at_64, 2.0);
}

fn main() {
    // No longer in the catalog; its `<think>` tags are found whatever the style says.
    let r1 = ModelInfo::unknown("accounts/fireworks/models/deepseek-r1-0528")
        .with_reasoning_style(ReasoningStyle::ThinkTags);
    let kimi = lookup_model("kimi-k2p6").unwrap();
    let body_a = text_body("deepseek-r1-0528", true, (12_000, 7_995));
    let body_b = text_body("kimi-k2p6", false, (12_000, 7_997));
    let body_c = tool_body(50, 100, 5);
    let streams = [
        ("(a) <think> inline, deepseek-r1-0528", &r1, &body_a),
        ("(b) reasoning_content, kimi-k2p6", &kimi, &body_b),
        ("(c) 50 tool calls x 100 fragments, kimi", &kimi, &body_c),
    ];
    let mut targets = Targets::default();
    for (name, model, body) in &streams {
        bench_stream(name, model, body, &mut targets);
    }

    // Allocations, while no other thread runs: one fresh decoder after a warm-up run. A
    // decoder's buffers are allocated once per stream, whatever its length; that fixed cost is
    // measured on a one-delta stream and reported apart from the per-chunk count (its first
    // event has an id, as every stream's does: the response id is kept once per stream).
    println!("\nallocations in one full decode, 1.4 KiB pieces (fresh decoder, after a warm-up):");
    let one_delta: &[u8] =
        b"data: {\"id\":\"r\",\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n\
        data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}\n\n\
        data: [DONE]\n\n";
    for (name, model, body) in &streams {
        decode(model, body, KIB_1_4);
        let before = ALLOCS.load(Relaxed);
        decode(model, one_delta, KIB_1_4);
        let per_stream = ALLOCS.load(Relaxed) - before - 1; // less the one Text chunk's string
        let before = ALLOCS.load(Relaxed);
        let chunks = decode(model, body, KIB_1_4);
        let allocs = ALLOCS.load(Relaxed) - before;
        let events = split_events(body);
        let escaped = events.iter().filter(|data| data.contains('\\')).count();
        let per_chunk = (allocs - per_stream) as f64 / chunks as f64;
        println!(
            "  {}: {allocs} allocations for {chunks} chunks from {} events ({escaped} with escapes in a string): {per_stream} per stream, then {per_chunk:.3} per chunk",
            &name[..3],
            events.len()
        );
        if name.starts_with("(a)") {
            targets.at_most("(a) allocations per emitted chunk".into(), per_chunk, 1.0);
        }
    }

    println!("\npeak heap while streaming stream (a)-shaped bodies in 16 KiB pieces:");
    let event_bytes = body_a.len() / split_events(&body_a).len();
    let mut peaks = Vec::new();
    for size in [10_000, 50_000_000] {
        let (peak, bytes) = peak_while_streaming(&r1, size, event_bytes);
        println!(
            "  {bytes:>10} byte body: peak {:>6.1} KiB",
            peak as f64 / 1024.0
        );
        peaks.push(peak as f64 / 1024.0);
    }
    let growth = peaks[1] - peaks[0];
    targets.at_most(
        "peak KiB, 50 MB body - 10 KB body (\"a few hundred\")".into(),
        growth,
        300.0,
    );

    println!("\nend to end, stream (a) from the loopback server in 16 KiB HTTP chunks (tokio");
    println!("multi-thread runtime, 2 workers running the server and the connection tasks;");
    println!("the response is consumed on the bench thread):");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let reply = Reply::sse_in_pieces(body_a.clone(), 16 * 1024);
    let server = runtime.block_on(TestServer::start(vec![reply]));
    let settings = FireworksSettings::new("bench", "accounts/fireworks/models/deepseek-r1-0528");
    let provider = FireworksProvider::new(settings.with_base_url(server.base_url())).unwrap();
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let url = format!("{}/chat/completions", server.base_url());
    let mut floor = || runtime.block_on(transport_floor(&client, &url));
    let mut ours = || runtime.block_on(through_provider(&provider));
    let times = best_in_turns(&mut [&mut floor, &mut ours], 1.0);
    let (floor, ours) = (times[0], times[1]);
    let table = Table {
        events: split_events(&body_a).len(),
        floor,
    };
    table.row("transport floor: reqwest + framing + serde", floor);
    let ratio = table.row("ours: FireworksProvider::create_message", ours);
    targets.at_least("end to end / transport floor".into(), ratio, 0.8);

    println!("\ntargets (ratios from this run):");
    for (what, value, pass) in &targets.0 {
        println!(
            "  {}  {what}: {value:.2}",
            if *pass { "PASS" } else { "FAIL" }
        );
    }
    let failed = targets.0.iter().filter(|(_, _, pass)| !pass).count();
    println!("\n{failed} of {} targets failed", targets.0.len());
}
