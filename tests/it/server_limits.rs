//! Limits that hold whatever the server sends: the argument bytes of a response's tool calls,
//! error events whose JSON `serde_json::Value` refuses, and deadlines against bodies that a
//! decompressing client inflates far faster than any network delivers.

use std::time::Duration;

use crate::support::gzip;
use crate::support::server::{Reply, Step, TestServer};
use fireworks_provider::{
    ApiChunk, ChatRequest, DEFAULT_MAX_TOOL_ARGUMENT_BYTES, Error, FireworksProvider,
    FireworksSettings, LlmProvider, Message, RequestOptions, RetryPolicy, TimeoutKind, Timeouts,
};
use futures::StreamExt;

const KEY: &str = "fw_limits_key";
const MODEL: &str = "accounts/fireworks/models/llama-v3p3-70b-instruct";

fn settings(server: &TestServer) -> FireworksSettings {
    FireworksSettings::new(KEY, MODEL)
        .with_base_url(server.base_url())
        .with_retry_policy(RetryPolicy::none())
}

async fn run(settings: FireworksSettings, deltas: bool) -> Vec<Result<ApiChunk, Error>> {
    let request = ChatRequest::new("", vec![Message::user("hi")])
        .with_options(RequestOptions::default().with_tool_call_deltas(deltas));
    FireworksProvider::new(settings)
        .unwrap()
        .create_message(request)
        .collect()
        .await
}

fn content(text: &str) -> String {
    format!("data: {{\"choices\":[{{\"delta\":{{\"content\":\"{text}\"}}}}]}}\n\n")
}

const FINISH: &str =
    "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n";

/// One `write_file` call whose arguments arrive as `pieces` fragments of `piece` bytes each,
/// then the finish reason.
fn one_call_in_pieces(piece: usize, pieces: usize) -> Reply {
    let opening = "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\
                   \"function\":{\"name\":\"write_file\",\"arguments\":\"\"}}]}}]}\n\n";
    let fragment = format!(
        "data: {{\"choices\":[{{\"delta\":{{\"tool_calls\":[{{\"index\":0,\"function\":\
         {{\"arguments\":\"{}\"}}}}]}}}}]}}\n\n",
        "x".repeat(piece)
    );
    Reply {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream".into())],
        steps: vec![
            Step::Send(opening.into()),
            Step::SendRepeated(fragment.into_bytes(), pieces),
            Step::Send(FINISH.into()),
        ],
    }
}

/// What the host saw of the call: the argument bytes of its deltas, and of the complete call.
fn argument_bytes(items: &[Result<ApiChunk, Error>]) -> (usize, Option<usize>) {
    let mut deltas = 0;
    let mut whole = None;
    for item in items {
        match item {
            Ok(ApiChunk::ToolCallDelta { arguments, .. }) => deltas += arguments.len(),
            Ok(ApiChunk::ToolCall(call)) => whole = Some(call.arguments.len()),
            _ => {}
        }
    }
    (deltas, whole)
}

#[tokio::test]
async fn tool_call_arguments_past_the_cap_end_the_stream_with_deltas_on_and_off() {
    const PIECE: usize = 8 * 1024;
    let pieces = DEFAULT_MAX_TOOL_ARGUMENT_BYTES / PIECE + 1;
    for deltas in [false, true] {
        let server = TestServer::start(vec![one_call_in_pieces(PIECE, pieces)]).await;
        let items = run(settings(&server), deltas).await;
        match items.last() {
            Some(Err(Error::Decode { message, .. })) => assert!(
                message.contains(&DEFAULT_MAX_TOOL_ARGUMENT_BYTES.to_string())
                    && message.contains("max_tool_argument_bytes"),
                "{message}"
            ),
            other => panic!("deltas {deltas}: {other:?}"),
        }
        let (delta_bytes, whole) = argument_bytes(&items);
        assert_eq!(whole, None, "no call is delivered past the cap");
        if deltas {
            assert_eq!(
                delta_bytes,
                (pieces - 1) * PIECE,
                "every piece within the cap"
            );
        }
    }
}

#[tokio::test]
async fn a_few_mib_of_arguments_pass_and_the_cap_can_be_raised() {
    const PIECE: usize = 8 * 1024;
    // 4 MiB of source code in one call: well within the default.
    let server = TestServer::start(vec![one_call_in_pieces(PIECE, 512)]).await;
    let items = run(settings(&server), true).await;
    assert_eq!(argument_bytes(&items), (512 * PIECE, Some(512 * PIECE)));
    // Past the default, with the cap raised.
    let pieces = DEFAULT_MAX_TOOL_ARGUMENT_BYTES / PIECE + 1;
    let server = TestServer::start(vec![one_call_in_pieces(PIECE, pieces)]).await;
    let raised =
        settings(&server).with_max_tool_argument_bytes(2 * DEFAULT_MAX_TOOL_ARGUMENT_BYTES);
    let items = run(raised, false).await;
    assert_eq!(argument_bytes(&items), (0, Some(pieces * PIECE)));
    // And lowered.
    let server = TestServer::start(vec![one_call_in_pieces(PIECE, 2)]).await;
    let lowered = settings(&server).with_max_tool_argument_bytes(PIECE);
    let items = run(lowered, false).await;
    assert!(
        matches!(items.last(), Some(Err(Error::Decode { message, .. })) if message.contains(&PIECE.to_string())),
        "{items:?}"
    );
}

#[tokio::test]
async fn an_error_event_holding_a_value_serde_json_refuses_still_ends_the_stream() {
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let quota = r#""error":{"message":"quota exceeded","code":"429"}"#;
    let cases = [
        format!(r#"{{{quota},"t":1e400}}"#),
        format!(r#"{{"t":-1e400,{quota}}}"#),
        format!(r#"{{{quota},"s":"\ud800"}}"#),
        format!(r#"{{{quota},"deep":{deep}}}"#),
        format!(r#"{{"error":{{"message":"quota exceeded","n":1e400,"d":{deep}}}}}"#),
        // The chunk's own fields are wrong too: still the server's error.
        format!(r#"{{{quota},"choices":5,"t":1e400}}"#),
        // `{"error":"..."}` beside a refused value.
        r#"{"error":"quota exceeded","t":1e999}"#.to_owned(),
    ];
    for event in cases {
        let body = format!("{}data: {event}\n\n{}", content("a"), content("b"));
        let server = TestServer::start(vec![Reply::sse(body)]).await;
        let items = run(settings(&server), false).await;
        assert!(
            matches!(&items[0], Ok(ApiChunk::Text(text)) if text == "a"),
            "{event}: {items:?}"
        );
        match &items[1..] {
            [Err(Error::Server(error))] => {
                assert_eq!(error.message, "quota exceeded", "{event}");
                assert_eq!(error.status, None);
            }
            other => panic!("{event}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_error_event_whose_message_cannot_be_read_gives_a_bounded_excerpt() {
    let long = "y".repeat(100_000);
    for event in [
        r#"{"error":{"message":"\ud800 over quota"},"t":1}"#.to_owned(),
        format!(r#"{{"error":{{"message":"\udfff","detail":"{long}"}},"t":1e400}}"#),
        r#"{"error":1e400}"#.to_owned(),
    ] {
        let body = format!("{}data: {event}\n\n{}", content("a"), content("b"));
        let server = TestServer::start(vec![Reply::sse(body)]).await;
        let items = run(settings(&server), false).await;
        match &items[1..] {
            [Err(Error::Server(error))] => {
                assert!(
                    error.message.starts_with(r#"{"error":"#),
                    "{}",
                    error.message
                );
                assert!(error.message.len() < 5 * 1024, "{}", error.message.len());
            }
            other => panic!("{event}: {other:?}"),
        }
    }
}

/// 1 GiB of inflated bytes: far more than can be inflated before the deadlines below.
const GIB: u64 = 1 << 30;

fn decompressing_host_client() -> reqwest::Client {
    reqwest::Client::builder().gzip(true).build().unwrap()
}

#[tokio::test]
async fn the_hand_written_gzip_inflates_to_what_it_says() {
    let body = gzip::repeated(b"data: x\n", b":\n", 100_000);
    let server = TestServer::start(vec![Reply::gzip_sse(body)]).await;
    let text = decompressing_host_client()
        .get(server.base_url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, format!("data: x\n{}", ":\n".repeat(100_000)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compressed_flood_of_blank_lines_ends_at_the_first_event_deadline() {
    let server = TestServer::start(vec![Reply::gzip_sse(gzip::repeated(b"", b"\n", GIB))]).await;
    let timeouts = Timeouts::default().with_first_event(Duration::from_millis(500));
    let settings = settings(&server)
        .with_http_client(decompressing_host_client())
        .with_timeouts(timeouts);
    let items = run(settings, false).await;
    assert!(
        matches!(
            items[..],
            [Err(Error::Timeout {
                kind: TimeoutKind::FirstEvent,
                ..
            })]
        ),
        "{items:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compressed_flood_of_comments_ends_at_the_idle_deadline() {
    let first = content("hello");
    let server = TestServer::start(vec![Reply::gzip_sse(gzip::repeated(
        first.as_bytes(),
        b":\n",
        GIB / 2,
    ))])
    .await;
    let timeouts = Timeouts::default().with_idle(Duration::from_millis(500));
    let settings = settings(&server)
        .with_http_client(decompressing_host_client())
        .with_timeouts(timeouts);
    let items = run(settings, false).await;
    match &items[..] {
        [
            Ok(ApiChunk::Text(text)),
            Err(Error::Timeout {
                kind: TimeoutKind::Idle,
                ..
            }),
        ] => assert_eq!(text, "hello"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_providers_own_client_neither_asks_for_nor_inflates_compression() {
    // This test build has reqwest's `gzip` feature on, as another crate of a host's build may
    // turn it on.
    let server = TestServer::start(vec![Reply::gzip_sse(gzip::repeated(b"", b"\n", GIB))]).await;
    let items = run(settings(&server), false).await;
    assert_eq!(
        server.requests()[0].header("accept-encoding"),
        Some("identity")
    );
    // The compressed bytes are read as they are (a few MB, not an event stream), never
    // inflated into a GiB that would run into the first-event deadline.
    assert!(
        matches!(
            items.last(),
            Some(Err(Error::StreamInterrupted { .. } | Error::Decode { .. }))
        ),
        "{items:?}"
    );
}

#[tokio::test]
async fn a_host_client_that_compresses_is_asked_for_an_uncompressed_answer() {
    let server = TestServer::start(vec![Reply::sse(content("hi"))]).await;
    let settings = settings(&server).with_http_client(decompressing_host_client());
    run(settings, false).await;
    assert_eq!(
        server.requests()[0].header("accept-encoding"),
        Some("identity")
    );
}
