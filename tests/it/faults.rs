//! Fault injection: retries before any output, never after; timeouts; resets; garbage; error
//! bodies. What the crate does above the transport runs on the scripted transport under
//! tokio's paused clock (every wait instant); what only a socket shows (cancellation reaching
//! the server, a delta not held back by the HTTP stack, concurrency, connection reuse, the
//! key in reqwest's own errors) runs against the loopback server.

use std::time::Duration;

use crate::support;
use crate::support::server::{Gate, Reply, Step, TestServer};
use crate::support::{decode_whole, events, fixture, texts};
use fireworks_provider::{
    ApiChunk, ChatRequest, Error, FinishReason, FireworksProvider, FireworksSettings, LlmProvider,
    Message, RetryPolicy, ScriptedReply, ScriptedTransport, TimeoutKind, Timeouts,
};
use futures::StreamExt;

const KEY: &str = "fw_secret_key_do_not_print_81c2";
const MODEL_ID: &str = "accounts/fireworks/models/llama-v3p3-70b-instruct";

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(3)
        .with_base_delay(Duration::from_millis(20))
        .with_max_delay(Duration::from_secs(2))
}

fn settings(server: &TestServer) -> FireworksSettings {
    FireworksSettings::new(KEY, MODEL_ID)
        .with_base_url(server.base_url())
        .with_retry_policy(fast_retries())
}

/// Settings that send through a transport playing `replies`, and that transport.
fn scripted(
    replies: impl IntoIterator<Item = ScriptedReply>,
) -> (FireworksSettings, ScriptedTransport) {
    let transport = support::transport(replies);
    let settings = FireworksSettings::new(KEY, MODEL_ID)
        .with_transport(transport.clone())
        .with_retry_policy(fast_retries());
    (settings, transport)
}

fn hello() -> ChatRequest {
    ChatRequest::new("", vec![Message::user("hello")])
}

async fn run(settings: FireworksSettings) -> Vec<Result<ApiChunk, Error>> {
    FireworksProvider::new(settings)
        .unwrap()
        .create_message(hello())
        .collect()
        .await
}

fn answer_text(items: &[Result<ApiChunk, Error>]) -> String {
    texts(items).1
}

/// The stream gave `answer` as its text and ended normally.
fn assert_answered(items: &[Result<ApiChunk, Error>], answer: &str) {
    assert_eq!(answer_text(items), answer);
    assert!(
        matches!(items.last(), Some(Ok(ApiChunk::Finish(FinishReason::Stop)))),
        "{:?}",
        items.last()
    );
}

fn retries(items: &[Result<ApiChunk, Error>]) -> Vec<(u32, u32, Duration)> {
    items
        .iter()
        .filter_map(|item| match item {
            Ok(ApiChunk::Retrying {
                attempt,
                max_attempts,
                delay,
                reason,
            }) => {
                assert!(!reason.is_empty());
                Some((*attempt, *max_attempts, *delay))
            }
            _ => None,
        })
        .collect()
}

/// The answer of the plain fixture, decoded without any fault.
fn plain_answer() -> String {
    let model = fireworks_provider::ModelInfo::unknown(MODEL_ID);
    answer_text(&decode_whole(&model, &fixture("plain_answer")))
}

#[tokio::test(start_paused = true)]
async fn rate_limit_with_retry_after_then_success() {
    let (settings, transport) = scripted([
        ScriptedReply::json(
            429,
            r#"{"error":"Too Many Requests","message":"Slow down"}"#,
        )
        .with_header("retry-after", "1"),
        ScriptedReply::sse(fixture("plain_answer")),
    ]);
    let started = tokio::time::Instant::now();
    let items = run(settings).await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the retry waited as told"
    );
    assert_eq!(retries(&items), [(1, 3, Duration::from_secs(1))]);
    assert!(
        matches!(items[0], Ok(ApiChunk::Retrying { .. })),
        "the notice comes first"
    );
    assert_answered(&items, &plain_answer());
    assert_eq!(transport.requests().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn overloaded_twice_then_success() {
    let overloaded = ScriptedReply::json(503, r#"{"error":{"message":"Service Overloaded"}}"#);
    let (settings, transport) = scripted([
        overloaded.clone(),
        overloaded,
        ScriptedReply::sse(fixture("plain_answer")),
    ]);
    let items = run(settings).await;
    let attempts: Vec<u32> = retries(&items).iter().map(|r| r.0).collect();
    assert_eq!(attempts, [1, 2]);
    assert_answered(&items, &plain_answer());
    assert_eq!(transport.requests().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn server_errors_on_every_attempt_give_up_after_the_last() {
    let boom = ScriptedReply::json(500, r#"{"error":{"message":"boom"}}"#);
    let (settings, transport) = scripted([boom.clone(), boom.clone(), boom.clone(), boom]);
    let items = run(settings).await;
    assert_eq!(retries(&items).len(), 2);
    match items.last() {
        Some(Err(Error::Server(api))) => {
            assert_eq!((api.status, api.message.as_str()), (Some(500), "boom"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        transport.requests().len(),
        3,
        "exactly max_attempts requests"
    );
}

#[tokio::test(start_paused = true)]
async fn client_errors_are_never_retried() {
    for (status, body) in [
        (
            401,
            r#"{"error":{"message":"The API key you provided is invalid.","code":401}}"#,
        ),
        (
            404,
            r#"{"error":{"message":"Model not found, inaccessible, and/or not deployed","code":"NOT_FOUND"}}"#,
        ),
        (
            400,
            r#"{"error":{"message":"Extra inputs are not permitted, field: 'foo'"}}"#,
        ),
    ] {
        let (settings, transport) = scripted([
            ScriptedReply::json(status, body),
            ScriptedReply::sse(fixture("plain_answer")),
        ]);
        let items = run(settings).await;
        assert_eq!(transport.requests().len(), 1, "{status}");
        assert_eq!(items.len(), 1, "{status}");
        let error = items[0].as_ref().unwrap_err();
        assert_eq!(error.status(), Some(status));
        assert!(!error.is_retryable());
        assert!(body.contains(&error.api_error().unwrap().message));
    }
}

#[tokio::test(start_paused = true)]
async fn a_reset_after_some_events_keeps_them_and_is_never_replayed() {
    let body = fixture("plain_answer");
    let head: Vec<u8> = events(&body)[..3].concat();
    let (settings, transport) =
        scripted([ScriptedReply::sse(head).reset(), ScriptedReply::sse(body)]);
    let items = run(settings).await;
    assert!(
        matches!(items.last(), Some(Err(Error::StreamInterrupted { .. }))),
        "{items:?}"
    );
    let text = answer_text(&items);
    assert!(
        !text.is_empty() && plain_answer().starts_with(&text),
        "{text:?}"
    );
    assert!(retries(&items).is_empty());
    assert_eq!(
        transport.requests().len(),
        1,
        "a started stream is never sent again"
    );
    assert_eq!(transport.open_bodies(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_stalled_stream_hits_the_idle_timeout() {
    let body = fixture("plain_answer");
    let head: Vec<u8> = events(&body)[..3].concat();
    let (settings, transport) = scripted([ScriptedReply::sse(head).stall()]);
    let timeouts = Timeouts::default().with_idle(Duration::from_millis(300));
    let items = run(settings.with_timeouts(timeouts)).await;
    assert_eq!(transport.open_bodies(), 0, "the stalled body is dropped");
    assert!(!answer_text(&items).is_empty());
    match items.last() {
        Some(Err(
            error @ Error::Timeout {
                kind: TimeoutKind::Idle,
                after,
            },
        )) => {
            assert_eq!(*after, Duration::from_millis(300));
            assert!(error.to_string().contains("next event"), "{error}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_silent_server_hits_the_first_event_timeout() {
    // Every attempt meets the same silent server.
    let silent = ScriptedReply::status(200)
        .with_header("content-type", "text/event-stream")
        .stall();
    let (settings, transport) = scripted([silent.clone(), silent.clone(), silent]);
    let timeouts = Timeouts::default().with_first_event(Duration::from_millis(300));
    let items = run(settings.with_timeouts(timeouts)).await;
    assert!(
        matches!(
            items.last(),
            Some(Err(Error::Timeout {
                kind: TimeoutKind::FirstEvent,
                ..
            }))
        ),
        "{items:?}"
    );
    assert!(
        !items.iter().any(|i| matches!(i, Ok(ApiChunk::Finish(_)))),
        "a timeout is no success"
    );
    assert_eq!(transport.requests().len(), 3, "retried up to max_attempts");
    assert_eq!(transport.open_bodies(), 0);
}

#[tokio::test(start_paused = true)]
async fn garbage_invalid_utf8_and_oversized_events_are_decode_errors() {
    let oversized = format!(
        "data: {{\"choices\":[{{\"delta\":{{\"content\":\"{}\"}}}}]}}\n\n",
        "x".repeat(5000)
    );
    for (name, body) in [
        ("garbage", b"data: this is not json\n\n".to_vec()),
        ("invalid utf-8", fixture("invalid_utf8")),
        ("oversized", oversized.into_bytes()),
    ] {
        let (settings, transport) = scripted([
            ScriptedReply::sse(body),
            ScriptedReply::sse(fixture("plain_answer")),
        ]);
        let items = run(settings.with_max_event_bytes(4096)).await;
        assert!(
            matches!(items.last(), Some(Err(Error::Decode { .. }))),
            "{name}: {items:?}"
        );
        assert_eq!(transport.requests().len(), 1, "{name}");
    }
}

#[tokio::test(start_paused = true)]
async fn an_html_error_page_is_a_server_error_with_its_text() {
    let page = "<html><body><h1>502 Bad Gateway</h1></body></html>";
    let (settings, _transport) = scripted([
        ScriptedReply::status(502)
            .with_header("content-type", "text/html")
            .with_body(page),
        ScriptedReply::sse(fixture("plain_answer")),
    ]);
    let items = run(settings.with_retry_policy(RetryPolicy::none())).await;
    match &items[..] {
        [Err(error @ Error::Server(api))] => {
            assert_eq!(api.message, page);
            assert!(error.is_retryable());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn an_error_body_that_stalls_still_gives_its_error() {
    let (settings, _transport) = scripted([ScriptedReply::json(503, r#"{"error":"#).stall()]);
    // An error body is due by the first-event deadline, like the first event.
    let timeouts = Timeouts::default().with_first_event(Duration::from_millis(200));
    let settings = settings
        .with_timeouts(timeouts)
        .with_retry_policy(RetryPolicy::none());
    let items = tokio::time::timeout(Duration::from_secs(5), run(settings))
        .await
        .expect("the stream ends");
    match &items[..] {
        [Err(error @ Error::Server(api))] => {
            assert_eq!(error.status(), Some(503));
            assert_eq!(api.message, r#"{"error":"#);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_json_error_in_place_of_the_event_stream_keeps_its_message() {
    let (settings, _transport) = scripted([ScriptedReply::json(
        200,
        r#"{"error":{"message":"model overloaded, try later"}}"#,
    )]);
    let items = run(settings.with_retry_policy(RetryPolicy::none())).await;
    match &items[..] {
        [Err(Error::Server(api))] => assert!(api.message.contains("model overloaded"), "{api:?}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn dropping_the_stream_closes_the_connection() {
    let body = fixture("plain_answer");
    let head: Vec<u8> = events(&body)[..3].concat();
    let server = TestServer::start(vec![Reply {
        steps: vec![Step::Send(head), Step::Stall],
        ..Reply::sse("")
    }])
    .await;
    let provider = FireworksProvider::new(settings(&server)).unwrap();
    let mut stream = provider.create_message(hello());
    let first = stream.next().await.unwrap().unwrap();
    assert!(matches!(first, ApiChunk::Text(_)), "{first:?}");
    drop(stream);
    tokio::time::timeout(
        Duration::from_secs(1),
        server.client_disconnected_midstream(),
    )
    .await
    .expect("the server sees the connection closed within a second");
}

#[tokio::test]
async fn a_delta_reaches_the_host_before_the_next_event_is_sent() {
    // After each content event the server waits until the test has seen that event's text.
    // Any hold-back in the pipeline would deadlock here and fail by timeout.
    let body = fixture("plain_answer");
    let mut steps = Vec::new();
    let mut gates = Vec::new();
    for event in events(&body) {
        let carries_text = String::from_utf8_lossy(&event).contains(r#""content":""#);
        steps.push(Step::Send(event));
        if carries_text {
            let gate = Gate::new();
            steps.push(Step::WaitFor(gate.clone()));
            gates.push(gate);
        }
    }
    assert!(gates.len() >= 5);
    let server = TestServer::start(vec![Reply {
        steps,
        ..Reply::sse("")
    }])
    .await;
    let provider = FireworksProvider::new(settings(&server)).unwrap();
    let mut stream = provider.create_message(hello());
    let mut gates = gates.into_iter();
    let mut texts = 0;
    let finished = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(item) = stream.next().await {
            match item.unwrap() {
                ApiChunk::Text(_) => {
                    texts += 1;
                    gates.next().expect("one text per content event").open();
                }
                ApiChunk::Finish(_) => return true,
                _ => {}
            }
        }
        false
    })
    .await;
    assert_eq!(
        finished,
        Ok(true),
        "a delta was held back until more bytes came"
    );
    assert_eq!(texts, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_streams_all_complete() {
    let body = fixture("reasoning_chat_demo");
    let server = TestServer::start(vec![Reply::sse_in_pieces(body.clone(), 1400)]).await;
    let provider = FireworksProvider::new(
        FireworksSettings::new(KEY, "accounts/fireworks/models/deepseek-r1-0528")
            .with_base_url(server.base_url()),
    )
    .unwrap();
    let expected = answer_text(&decode_whole(provider.model(), &body));
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let provider = provider.clone();
            tokio::spawn(async move { provider.create_message(hello()).collect::<Vec<_>>().await })
        })
        .collect();
    for task in tasks {
        assert_answered(&task.await.unwrap(), &expected);
    }
    assert_eq!(server.requests().len(), 200);
}

#[tokio::test]
async fn sequential_requests_reuse_one_connection() {
    let server = TestServer::start(vec![Reply::sse(fixture("plain_answer"))]).await;
    let provider = FireworksProvider::new(settings(&server)).unwrap();
    for _ in 0..20 {
        let items: Vec<_> = provider.create_message(hello()).collect().await;
        assert!(matches!(items.last(), Some(Ok(ApiChunk::Finish(_)))));
    }
    assert_eq!(server.requests().len(), 20);
    // Each stream reads the end of its body (here with `[DONE]`) as it ends, so the next
    // request, sent at once, finds the connection back in the pool.
    assert_eq!(server.connections_accepted(), 1, "20 turns, one connection");
}

#[tokio::test]
async fn the_key_is_never_printed() {
    let settings = FireworksSettings::new(KEY, "kimi-k2p6");
    let provider = FireworksProvider::new(settings.clone()).unwrap();
    let mut printed = vec![format!("{settings:?}"), format!("{provider:?}")];
    // Every error a request can end with, from a server that answers each way.
    let server = TestServer::start(vec![
        Reply::json(
            401,
            r#"{"error":{"message":"The API key you provided is invalid."}}"#,
        ),
        Reply::json(404, r#"{"error":"not found"}"#),
        Reply::json(429, r#"{"error":"Too Many Requests"}"#),
        Reply::json(400, r#"{"error":{"message":"prompt is too long"}}"#),
        Reply::json(413, "too large"),
        Reply::json(500, "oops"),
        Reply::sse(fixture("truncated_stream")),
        Reply::sse(fixture("invalid_json_event")),
        Reply {
            steps: vec![Step::Stall],
            ..Reply::sse("")
        },
    ])
    .await;
    let settings = FireworksSettings::new(KEY, "kimi-k2p6")
        .with_base_url(server.base_url())
        .with_retry_policy(RetryPolicy::none())
        .with_timeouts(Timeouts::default().with_first_event(Duration::from_millis(200)));
    let provider = FireworksProvider::new(settings).unwrap();
    let mut kinds = std::collections::HashSet::new();
    for _ in 0..9 {
        let items: Vec<_> = provider.create_message(hello()).collect().await;
        let error = items
            .into_iter()
            .find_map(Result::err)
            .expect("each request fails");
        kinds.insert(std::mem::discriminant(&error));
        printed.push(format!("{error}"));
        printed.push(format!("{error:?}"));
    }
    // Refused connections, bad settings.
    let refused = FireworksSettings::new(KEY, "kimi-k2p6").with_base_url("http://127.0.0.1:9");
    let items: Vec<_> = FireworksProvider::new(refused.with_retry_policy(RetryPolicy::none()))
        .unwrap()
        .create_message(hello())
        .collect()
        .await;
    let error = items.into_iter().find_map(Result::err).unwrap();
    assert!(matches!(error, Error::Network { .. }), "{error:?}");
    printed.push(format!("{error} {error:?}"));
    let bad = FireworksProvider::new(FireworksSettings::new(format!("{KEY}\n"), "m")).unwrap_err();
    printed.push(format!("{bad} {bad:?}"));
    assert!(kinds.len() >= 8, "every error variant was formatted");
    for text in printed {
        assert!(
            !text.contains(KEY) && !text.contains("fw_secret"),
            "the key leaked: {text}"
        );
    }
}
