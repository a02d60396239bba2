//! Peer comparison (issue 12): one generated ~5 MB Fireworks-shaped chat-completions stream,
//! served on 127.0.0.1 by the crate's scripted test server, read end to end by
//!
//! 1. the transport floor: plain reqwest reading the bytes, memchr framing of `data:` lines,
//!    serde_json parsing each event into a borrowing struct (nothing else);
//! 2. async-openai's streaming chat completion (`OpenAIConfig::with_api_base`);
//! 3. genai's streaming chat, through its Fireworks adapter with the endpoint set by a
//!    `ServiceTargetResolver`;
//! 4. this crate's `FireworksProvider` (base URL = the loopback server);
//!
//! and, as a reference below the floor, reqwest reading the body's bytes and nothing else, which
//! shows how much of every time is the loopback transport itself.
//!
//! Every client consumes every delta and counts the answer bytes (and the reasoning bytes,
//! where it exposes them), so that all do the same work; the counts are checked against the
//! generator's after every run. All four share one `reqwest::Client` (no proxy, TCP_NODELAY),
//! so the transport is the same and the difference is what each does with the bytes.
//! The clients run in turns, the starting client rotating from round to round, after one
//! warm-up each; each one's time is the median of 7 runs.
//!
//! Run: `cargo run --release --manifest-path bench-peers/Cargo.toml`

#[path = "../../tests/support/server.rs"]
mod server;

use std::borrow::Cow;
use std::fmt;
use std::io::Write;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Deserialize;
use serde::de::{self, IgnoredAny, SeqAccess, Visitor};
use server::{Reply, TestServer};

/// The catalog model whose reasoning arrives as `reasoning_content` (Fireworks' kimi).
const MODEL: &str = "kimi-k2p6";
/// How large the generated body is, at least.
const BODY_BYTES: usize = 5_000_000;
/// The share of the body's events that carry reasoning; the rest carry the answer.
const REASONING_SHARE: f64 = 0.4;
/// The server writes the body in HTTP chunks of this size.
const PIECE: usize = 16 * 1024;
/// Timed runs per client.
const RUNS: usize = 7;

// ---- The stream -------------------------------------------------------------------------------

/// What a client read: bytes of answer text and of reasoning text, after JSON unescaping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tally {
    answer: usize,
    reasoning: usize,
}

/// The generated body and what a client should find in it.
struct Body {
    bytes: Vec<u8>,
    events: usize,
    expected: Tally,
}

/// Deterministic words for the deltas; a few need JSON escapes or are not ASCII, as real
/// answers do.
const VOCABULARY: [&str; 24] = [
    "the",
    "config",
    "loader",
    "reads",
    "from",
    "disk",
    "so",
    "we",
    "check",
    "that",
    "path",
    "first,",
    "then",
    "call",
    "`load()`",
    "and",
    "\"quote\"",
    "it",
    "for",
    "each",
    "case",
    "naïve",
    "→",
    "test",
];

/// A small xorshift generator, so that every run of the bench serves the same stream.
struct Words(u64);

impl Words {
    fn next(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }

    /// One delta's text: one to four words, now and then ending a paragraph.
    fn delta(&mut self) -> String {
        let mut text = String::new();
        for _ in 0..1 + self.next(4) {
            text.push(' ');
            text.push_str(VOCABULARY[self.next(VOCABULARY.len())]);
        }
        if self.next(20) == 0 {
            text.push_str("\n\n");
        }
        text
    }
}

/// Appends one chunk event shaped like Fireworks' (`id`, `object`, `created`, `model`,
/// `choices` with `raw_output`, `usage`), with `delta` as the delta object's fields and, on the
/// last chunk, a finish reason and the usage.
fn push_event(out: &mut Vec<u8>, delta: &str, finish: Option<&str>) {
    let (finish, usage) = match finish {
        Some(reason) => (
            format!("\"{reason}\""),
            r#"{"prompt_tokens":41,"total_tokens":1200041,"completion_tokens":1200000,"completion_tokens_details":{"reasoning_tokens":480000}}"#,
        ),
        None => ("null".to_owned(), "null"),
    };
    write!(
        out,
        "data: {{\"id\":\"chatcmpl-8143776a6b29948ff2b79138ee18c906\",\"object\":\"chat.completion.chunk\",\"created\":1780500000,\"model\":\"accounts/fireworks/models/{MODEL}\",\"choices\":[{{\"index\":0,\"delta\":{{{delta}}},\"finish_reason\":{finish},\"raw_output\":null}}],\"usage\":{usage}}}\n\n"
    )
    .expect("writing to a Vec");
}

/// The role chunk, reasoning deltas (`"content":null`), answer deltas
/// (`"reasoning_content":null`), the finish chunk with usage, then `[DONE]`: at least
/// `BODY_BYTES` in all.
fn generate() -> Body {
    let mut words = Words(0x2545_F491_4F6C_DD1D);
    let mut bytes = Vec::with_capacity(BODY_BYTES + 4096);
    let mut expected = Tally::default();
    push_event(&mut bytes, r#""role":"assistant""#, None);
    let mut events = 1;
    let reasoning_until = (BODY_BYTES as f64 * REASONING_SHARE) as usize;
    while bytes.len() < BODY_BYTES {
        let text = words.delta();
        let json = serde_json::to_string(&text).expect("a string serializes");
        if bytes.len() < reasoning_until {
            expected.reasoning += text.len();
            push_event(
                &mut bytes,
                &format!(r#""content":null,"reasoning_content":{json}"#),
                None,
            );
        } else {
            expected.answer += text.len();
            push_event(
                &mut bytes,
                &format!(r#""content":{json},"reasoning_content":null"#),
                None,
            );
        }
        events += 1;
    }
    push_event(&mut bytes, "", Some("stop"));
    bytes.extend_from_slice(b"data: [DONE]\n\n");
    Body {
        bytes,
        events: events + 1,
        expected,
    }
}

// ---- 1. The transport floor -------------------------------------------------------------------

/// A string borrowed from the event when it holds no escapes (`#[serde(borrow)]` does not reach
/// a `Cow` inside an `Option`, so the `Option` wraps this instead).
#[derive(Deserialize)]
struct Str<'a>(#[serde(borrow)] Cow<'a, str>);

#[derive(Deserialize)]
struct FloorEvent<'a> {
    #[serde(borrow)]
    choices: FirstChoice<'a>,
    #[allow(dead_code)] // parsed, not read
    usage: Option<FloorUsage>,
}

#[derive(Deserialize)]
struct FloorChoice<'a> {
    #[serde(borrow)]
    delta: FloorDelta<'a>,
    #[allow(dead_code)]
    #[serde(borrow)]
    finish_reason: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct FloorDelta<'a> {
    #[serde(borrow)]
    content: Option<Str<'a>>,
    #[serde(borrow)]
    reasoning_content: Option<Str<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct FloorUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

/// The first element of `choices`, read without collecting a `Vec`; any others are skipped.
struct FirstChoice<'a>(Option<FloorChoice<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for FirstChoice<'a> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct First<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for First<'a> {
            type Value = FirstChoice<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of choices")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let first = seq.next_element()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FirstChoice(first))
            }
        }
        deserializer.deserialize_seq(First(PhantomData))
    }
}

fn len(text: &Option<Str<'_>>) -> usize {
    text.as_ref().map_or(0, |text| text.0.len())
}

/// Sends the chat request the floor and the bytes-only reference make; the 200 response.
async fn post(http: &reqwest::Client, url: &str) -> reqwest::Response {
    let request = http
        .post(url)
        .bearer_auth("bench")
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"model":"accounts/fireworks/models/{MODEL}","messages":[{{"role":"user","content":"x"}}],"stream":true}}"#
        ));
    request.send().await.unwrap().error_for_status().unwrap()
}

/// The reference below the floor: the body's bytes read and counted, nothing else (no framing,
/// no parsing), to show how much of every client's time is the loopback transport itself.
async fn read_bytes(http: &reqwest::Client, url: &str) -> usize {
    let (mut response, mut bytes) = (post(http, url).await, 0);
    while let Some(chunk) = response.chunk().await.unwrap() {
        bytes += chunk.len();
    }
    bytes
}

/// Reads the body as it arrives into one buffer, consumed from a moving offset and compacted
/// when emptied or past 64 KiB; frames events at `\n\n` with memchr's memmem, checks each as
/// UTF-8 and parses its `data:` JSON.
async fn read_floor(http: &reqwest::Client, url: &str) -> Tally {
    let mut response = post(http, url).await;
    let finder = memchr::memmem::Finder::new(b"\n\n");
    let (mut buf, mut start, mut tally) = (Vec::new(), 0, Tally::default());
    while let Some(bytes) = response.chunk().await.unwrap() {
        buf.extend_from_slice(&bytes);
        while let Some(end) = finder.find(&buf[start..]) {
            let event = std::str::from_utf8(&buf[start..start + end]).expect("UTF-8 event");
            let data = event.strip_prefix("data: ").expect("a data line");
            start += end + 2;
            if data == "[DONE]" {
                continue;
            }
            let event: FloorEvent<'_> = serde_json::from_str(data).expect("the event parses");
            if let Some(choice) = &event.choices.0 {
                tally.answer += len(&choice.delta.content);
                tally.reasoning += len(&choice.delta.reasoning_content);
            }
        }
        if start == buf.len() || start > 64 * 1024 {
            buf.drain(..start);
            start = 0;
        }
    }
    tally
}

// ---- 2. async-openai --------------------------------------------------------------------------

fn async_openai_client(
    http: &reqwest::Client,
    base_url: &str,
) -> async_openai::Client<async_openai::config::OpenAIConfig> {
    let config = async_openai::config::OpenAIConfig::new()
        .with_api_base(base_url)
        .with_api_key("bench");
    async_openai::Client::with_config(config).with_http_client(http.clone())
}

async fn read_async_openai(
    client: &async_openai::Client<async_openai::config::OpenAIConfig>,
) -> Tally {
    use async_openai::types::chat::{
        ChatCompletionRequestUserMessageArgs, CreateChatCompletionRequestArgs,
    };
    let message = ChatCompletionRequestUserMessageArgs::default()
        .content("x")
        .build()
        .unwrap();
    let request = CreateChatCompletionRequestArgs::default()
        .model(format!("accounts/fireworks/models/{MODEL}"))
        .messages([message.into()])
        .build()
        .unwrap();
    let mut stream = client.chat().create_stream(request).await.unwrap();
    let mut tally = Tally::default();
    while let Some(chunk) = stream.next().await {
        // Its delta type has no `reasoning_content`: the reasoning is dropped in parsing.
        for choice in chunk.expect("async-openai reads the event").choices {
            tally.answer += choice.delta.content.map_or(0, |text| text.len());
        }
    }
    tally
}

// ---- 3. genai ---------------------------------------------------------------------------------

fn genai_client(http: &reqwest::Client, base_url: &str) -> genai::Client {
    use genai::resolver::{AuthData, Endpoint, ServiceTargetResolver};
    use genai::{ModelIden, ServiceTarget, adapter::AdapterKind};
    // genai joins "chat/completions" to the endpoint, which therefore ends with a slash.
    let endpoint = format!("{base_url}/");
    let resolver = ServiceTargetResolver::from_resolver_fn(
        move |target: ServiceTarget| -> Result<ServiceTarget, genai::resolver::Error> {
            Ok(ServiceTarget {
                endpoint: Endpoint::from_owned(endpoint.clone()),
                auth: AuthData::from_single("bench"),
                model: ModelIden::new(AdapterKind::Fireworks, target.model.model_name),
            })
        },
    );
    genai::Client::builder()
        .with_reqwest(http.clone())
        .with_service_target_resolver(resolver)
        .build()
        .unwrap()
}

async fn read_genai(client: &genai::Client) -> Tally {
    use genai::chat::{ChatMessage, ChatRequest, ChatStreamEvent};
    let request = ChatRequest::new(vec![ChatMessage::user("x")]);
    let model = format!("accounts/fireworks/models/{MODEL}");
    let response = client
        .exec_chat_stream(&model, request, None)
        .await
        .unwrap();
    let (mut stream, mut tally) = (response.stream, Tally::default());
    while let Some(event) = stream.next().await {
        match event.expect("genai reads the event") {
            ChatStreamEvent::Chunk(chunk) => tally.answer += chunk.content.len(),
            ChatStreamEvent::ReasoningChunk(chunk) => tally.reasoning += chunk.content.len(),
            _ => {}
        }
    }
    tally
}

// ---- 4. fireworks-provider --------------------------------------------------------------------

fn ours_provider(http: &reqwest::Client, base_url: &str) -> fireworks_provider::FireworksProvider {
    use fireworks_provider::{FireworksProvider, FireworksSettings};
    let settings = FireworksSettings::new("bench", format!("accounts/fireworks/models/{MODEL}"))
        .with_base_url(base_url)
        .with_http_client(http.clone());
    FireworksProvider::new(settings).unwrap()
}

async fn read_ours(provider: &fireworks_provider::FireworksProvider) -> Tally {
    use fireworks_provider::{ApiChunk, ChatRequest, LlmProvider, Message};
    let mut stream = provider.create_message(ChatRequest::new("", vec![Message::user("x")]));
    let mut tally = Tally::default();
    while let Some(chunk) = stream.next().await {
        match chunk.expect("fireworks-provider reads the stream") {
            ApiChunk::Text(text) => tally.answer += text.len(),
            ApiChunk::Reasoning(text) => tally.reasoning += text.len(),
            _ => {}
        }
    }
    tally
}

// ---- Measuring and reporting ------------------------------------------------------------------

/// The version of `name` that Cargo.lock pins (the bench measures exactly those).
fn locked_version(name: &str) -> &'static str {
    let lock = include_str!("../Cargo.lock");
    let entry = format!("name = \"{name}\"\nversion = \"");
    let at = lock.find(&entry).map(|at| at + entry.len());
    at.and_then(|at| lock[at..].split('"').next())
        .unwrap_or("?")
}

struct Client {
    name: &'static str,
    version: String,
    run: Box<dyn FnMut() -> Tally>,
    times: Vec<Duration>,
    /// What the last run read.
    tally: Tally,
    /// The bytes-only reference: it reads no text, so it is not checked and is reported apart.
    reference: bool,
}

impl Client {
    fn new(name: &'static str, package: &str, run: impl FnMut() -> Tally + 'static) -> Self {
        Client {
            name,
            version: format!("{package} {}", locked_version(package)),
            run: Box::new(run),
            times: Vec::with_capacity(RUNS),
            tally: Tally::default(),
            reference: false,
        }
    }
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn main() {
    let body = generate();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let reply = Reply::sse_in_pieces(body.bytes.clone(), PIECE);
    let server = runtime.block_on(TestServer::start(vec![reply]));
    let base_url = server.base_url();
    let http = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .build()
        .unwrap();

    let runtime = std::rc::Rc::new(runtime);
    let url = format!("{base_url}/chat/completions");
    let (rt, client, to) = (runtime.clone(), http.clone(), url.clone());
    let body_len = body.bytes.len();
    let mut bytes_only = Client::new(
        "(reference) reqwest reading the bytes, nothing else",
        "reqwest",
        move || {
            let bytes = rt.block_on(read_bytes(&client, &to));
            assert_eq!(bytes, body_len, "the whole body arrives");
            Tally::default()
        },
    );
    bytes_only.reference = true;
    let openai = async_openai_client(&http, &base_url);
    let gen_ai = genai_client(&http, &base_url);
    let provider = ours_provider(&http, &base_url);
    let rt = runtime.clone();
    let floor = Client::new(
        "transport floor (reqwest + memchr + serde_json)",
        "reqwest",
        move || rt.block_on(read_floor(&http, &url)),
    );
    let rt = runtime.clone();
    let openai = Client::new(
        "async-openai (chat().create_stream)",
        "async-openai",
        move || rt.block_on(read_async_openai(&openai)),
    );
    let rt = runtime.clone();
    let gen_ai = Client::new(
        "genai (exec_chat_stream, Fireworks adapter)",
        "genai",
        move || rt.block_on(read_genai(&gen_ai)),
    );
    let rt = runtime.clone();
    let ours = Client::new(
        "fireworks-provider (create_message)",
        "fireworks-provider",
        move || rt.block_on(read_ours(&provider)),
    );
    let mut clients = [floor, openai, gen_ai, ours, bytes_only];

    println!(
        "stream: {} bytes, {} events ({} answer bytes, {} reasoning bytes after unescaping), \
         served from 127.0.0.1 in {} KiB HTTP chunks",
        body.bytes.len(),
        body.events,
        body.expected.answer,
        body.expected.reasoning,
        PIECE / 1024
    );
    println!(
        "tokio multi-thread runtime, 2 workers (server, connection tasks); each client's stream \
         is consumed on the main thread; one shared reqwest::Client"
    );
    println!("one warm-up each, then {RUNS} rounds in turns (the first client rotating)...");

    let check = |client: &mut Client, tally: Tally| {
        if client.reference {
            return;
        }
        assert_eq!(
            tally.answer, body.expected.answer,
            "{} read a different answer length",
            client.name
        );
        assert!(
            tally.reasoning == body.expected.reasoning || tally.reasoning == 0,
            "{} read {} reasoning bytes of {}",
            client.name,
            tally.reasoning,
            body.expected.reasoning
        );
        client.tally = tally;
    };
    for client in &mut clients {
        let tally = (client.run)();
        check(client, tally);
    }
    for round in 0..RUNS {
        for turn in 0..clients.len() {
            let index = (round + turn) % clients.len();
            let client = &mut clients[index];
            let started = Instant::now();
            let tally = (client.run)();
            client.times.push(started.elapsed());
            check(client, tally);
        }
    }

    let floor = median(&clients[0].times);
    let mb = body.bytes.len() as f64 / 1e6;
    println!();
    println!(
        "| client | version | median of {RUNS} | MB/s | time / floor | speed vs floor | reasoning read |"
    );
    println!("|---|---|---|---|---|---|---|");
    for client in &clients {
        let time = median(&client.times);
        println!(
            "| {} | {} | {:.1} ms | {:.0} | {:.2} | {:.2} | {} |",
            client.name,
            client.version,
            time.as_secs_f64() * 1e3,
            mb / time.as_secs_f64(),
            time.as_secs_f64() / floor.as_secs_f64(),
            floor.as_secs_f64() / time.as_secs_f64(),
            match (client.reference, client.tally.reasoning) {
                (true, _) => "-",
                (false, 0) => "no",
                (false, _) => "yes",
            },
        );
    }
    println!();
    println!(
        "all four read the same {} answer bytes in every run",
        body.expected.answer
    );
    for client in &clients {
        if !client.reference && client.tally.reasoning == 0 {
            println!(
                "warning: {} drops the reasoning ({} bytes of reasoning_content never reach the caller)",
                client.name, body.expected.reasoning
            );
        }
    }
    for client in &clients {
        let times: Vec<String> = client
            .times
            .iter()
            .map(|t| format!("{:.1}", t.as_secs_f64() * 1e3))
            .collect();
        println!("  {} runs (ms): {}", client.name, times.join(" "));
    }
}
