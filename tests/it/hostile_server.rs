//! A hostile or merely different server on our loopback port: nothing hangs (every read of the
//! network ends by a deadline and a size limit), nothing leaks (no conversation leaves its
//! origin, no password is shown, error text stays small) and nothing is lost (a failure before
//! any output is retried, a server's long wait is handed to the host). The crate's own
//! deadlines and limits run on the scripted transport under tokio's paused clock; redirects and
//! what goes on the wire run against the loopback server.

use std::time::Duration;

use crate::support;
use crate::support::server::{Reply, TestServer};
use crate::support::{events, fixture, texts};
use fireworks_provider::{
    ApiChunk, ChatRequest, Error, FinishReason, FireworksProvider, FireworksSettings, LlmProvider,
    Message, RetryPolicy, ScriptedReply, ScriptedTransport, TimeoutKind, Timeouts,
};
use futures::StreamExt;

const KEY: &str = "fw_hostile_key_5d1e";
const MODEL: &str = "accounts/fireworks/models/llama-v3p3-70b-instruct";

/// A stream that has not ended after this long is hung: every configured timeout in these
/// tests is a fraction of it. It only keeps a broken build from waiting for days.
const HANG: Duration = Duration::from_secs(20);

fn settings(server: &TestServer) -> FireworksSettings {
    FireworksSettings::new(KEY, MODEL)
        .with_base_url(server.base_url())
        .with_retry_policy(RetryPolicy::none())
}

/// Settings that send through a transport playing `replies`, and that transport.
fn scripted(
    replies: impl IntoIterator<Item = ScriptedReply>,
) -> (FireworksSettings, ScriptedTransport) {
    let transport = support::transport(replies);
    let settings = FireworksSettings::new(KEY, MODEL)
        .with_transport(transport.clone())
        .with_retry_policy(RetryPolicy::none());
    (settings, transport)
}

/// An event-stream head with no body yet.
fn sse_head() -> ScriptedReply {
    ScriptedReply::status(200).with_header("content-type", "text/event-stream")
}

/// Rounds of a repeated piece that outlast [`HANG`]: a server that keeps sending forever.
const FOREVER: usize = 1000;

fn short_timeouts() -> Timeouts {
    Timeouts::default()
        .with_first_event(Duration::from_millis(400))
        .with_idle(Duration::from_millis(400))
}

fn hello() -> ChatRequest {
    ChatRequest::new("", vec![Message::user("hello")])
}

/// Every item of one completion, or a panic if the stream hangs.
async fn run(settings: FireworksSettings) -> Vec<Result<ApiChunk, Error>> {
    let provider = FireworksProvider::new(settings).unwrap();
    let items = provider.create_message(hello()).collect();
    tokio::time::timeout(HANG, items)
        .await
        .expect("the stream hung")
}

fn last_error(items: &[Result<ApiChunk, Error>]) -> &Error {
    match items.last() {
        Some(Err(error)) => error,
        other => panic!("expected an error last, got {other:?} in {items:?}"),
    }
}

/// The first three events of the plain answer: role, then two pieces of text.
fn first_events() -> Vec<u8> {
    events(&fixture("plain_answer"))[..3].concat()
}

// Hangs and unbounded reads.

#[tokio::test(start_paused = true)]
async fn a_trickling_error_body_ends_at_the_first_event_deadline() {
    let body = format!(r#"{{"error":{{"message":"{}"}}}}"#, "slow ".repeat(400));
    let pause = Duration::from_millis(20); // the whole body would take 40 s
    let reply = ScriptedReply::status(500).with_header("content-type", "application/json");
    let (settings, _transport) = scripted([support::trickle(reply, body.as_bytes(), pause)]);
    let items = run(settings.with_timeouts(short_timeouts())).await;
    match &items[..] {
        [Err(Error::Server(api))] => {
            assert_eq!(api.status, Some(500));
            assert!(
                body.starts_with(&api.message) && api.message.len() < body.len(),
                "what arrived by the deadline is the message: {api:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_trickling_json_answer_in_place_of_the_stream_ends_at_the_first_event_deadline() {
    let body = format!(r#"{{"error":{{"message":"{}"}}}}"#, "slow ".repeat(400));
    let reply = ScriptedReply::status(200).with_header("content-type", "application/json");
    let pause = Duration::from_millis(20);
    let (settings, _transport) = scripted([support::trickle(reply, body.as_bytes(), pause)]);
    let items = run(settings.with_timeouts(short_timeouts())).await;
    assert!(
        matches!(&items[..], [Err(Error::Server(api))] if api.message.contains("expected an event stream")),
        "{items:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn keep_alive_comments_forever_after_the_first_delta_hit_the_idle_timeout() {
    let reply = sse_head().with_body(first_events());
    let pings = support::every(reply, Duration::from_millis(50), b": ping\n\n", FOREVER);
    let (settings, _transport) = scripted([pings]);
    let items = run(settings.with_timeouts(short_timeouts())).await;
    assert!(!texts(&items).1.is_empty(), "the first deltas arrived");
    assert!(
        matches!(
            last_error(&items),
            Error::Timeout {
                kind: TimeoutKind::Idle,
                ..
            }
        ),
        "{items:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_event_trickling_one_byte_at_a_time_hits_the_idle_timeout() {
    let reply = sse_head()
        .with_body(first_events())
        .with_body(&b"data: {\"choices\""[..]);
    let trickle = support::every(reply, Duration::from_millis(50), b" ", FOREVER);
    let (settings, _transport) = scripted([trickle]);
    let items = run(settings.with_timeouts(short_timeouts())).await;
    assert!(
        matches!(
            last_error(&items),
            Error::Timeout {
                kind: TimeoutKind::Idle,
                ..
            }
        ),
        "{items:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn comments_before_the_first_event_do_not_hold_off_the_first_event_deadline() {
    let comments = support::every(
        sse_head(),
        Duration::from_millis(50),
        b": OPENROUTER PROCESSING\n\n",
        FOREVER,
    );
    let (settings, _transport) = scripted([comments]);
    let items = run(settings.with_timeouts(short_timeouts())).await;
    assert!(
        matches!(
            &items[..],
            [Err(Error::Timeout {
                kind: TimeoutKind::FirstEvent,
                ..
            })]
        ),
        "{items:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn done_then_an_open_connection_ends_the_stream_at_once() {
    // `[DONE]`, then the connection stays open and the body never ends.
    let (settings, transport) = scripted([ScriptedReply::sse(fixture("plain_answer")).stall()]);
    let provider = FireworksProvider::new(settings).unwrap();
    let mut stream = provider.create_message(hello());
    loop {
        match stream.next().await {
            Some(Ok(ApiChunk::Finish(reason))) => {
                assert_eq!(reason, FinishReason::Stop);
                break;
            }
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    // The clock only moves when nothing else can: any wait for the server (which sends nothing
    // more) would show as time passing.
    let finished = tokio::time::Instant::now();
    assert!(stream.next().await.is_none(), "nothing after Finish");
    assert_eq!(
        finished.elapsed(),
        Duration::ZERO,
        "the stream waited for the server after Finish"
    );
    drop(stream);
    // The body never ends: its release in the background gives up within seconds.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(transport.open_bodies(), 0, "the unended body was let go");
}

// Error text.

#[tokio::test(start_paused = true)]
async fn a_huge_error_event_gives_a_small_error() {
    let message = "e".repeat(2 << 20);
    let event = format!("data: {{\"error\":{{\"message\":\"{message}\"}}}}\n\n");
    let (settings, _transport) = scripted([ScriptedReply::sse(event)]);
    let items = run(settings).await;
    let error = last_error(&items);
    let shown = error.to_string();
    assert!(shown.len() < 8 * 1024, "{} bytes", shown.len());
    assert!(shown.contains(&message.len().to_string()), "{shown:.200}");
}

#[tokio::test(start_paused = true)]
async fn a_huge_bad_value_gives_a_small_decode_error() {
    let value = "v".repeat(2 << 20);
    let event = format!("data: {{\"choices\":[{{\"index\":\"{value}\"}}]}}\n\n");
    let (settings, _transport) = scripted([ScriptedReply::sse(event)]);
    let items = run(settings).await;
    let error = last_error(&items);
    assert!(matches!(error, Error::Decode { .. }), "{error:.300}");
    assert!(error.to_string().len() < 8 * 1024);
}

#[tokio::test(start_paused = true)]
async fn retry_notices_quote_a_small_reason() {
    let body = format!(r#"{{"error":{{"message":"{}"}}}}"#, "busy ".repeat(12_000));
    let (settings, _transport) = scripted([
        ScriptedReply::json(503, body),
        ScriptedReply::sse(fixture("plain_answer")),
    ]);
    let retries = RetryPolicy::default()
        .with_max_attempts(2)
        .with_base_delay(Duration::from_millis(10))
        .with_max_delay(Duration::from_millis(10));
    let items = run(settings.with_retry_policy(retries)).await;
    match &items[0] {
        Ok(ApiChunk::Retrying { reason, .. }) => assert!(reason.len() < 8 * 1024, "{reason:.200}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(items.last(), Some(Ok(ApiChunk::Finish(_)))));
}

// Policies.

#[tokio::test]
async fn redirects_are_not_followed() {
    let elsewhere = TestServer::start(vec![Reply::sse(fixture("plain_answer"))]).await;
    let target = format!("{}/chat/completions", elsewhere.base_url());
    for status in [302, 307, 308] {
        let server = TestServer::start(vec![Reply::redirect(status, &target)]).await;
        let items = run(settings(&server).with_cache_isolation_key("tenant-7")).await;
        let error = last_error(&items);
        assert_eq!(error.status(), Some(status), "{error}");
        assert!(error.to_string().contains(&target), "{error}");
        assert!(!error.is_retryable());
        assert_eq!(items.len(), 1, "{items:?}");
    }
    assert!(
        elsewhere.requests().is_empty(),
        "the conversation left its origin"
    );
}

#[tokio::test(start_paused = true)]
async fn a_first_event_timeout_after_the_headers_is_retried() {
    let (settings, transport) = scripted([
        sse_head().stall(),
        ScriptedReply::sse(fixture("plain_answer")),
    ]);
    let retries = RetryPolicy::default()
        .with_max_attempts(2)
        .with_base_delay(Duration::from_millis(10))
        .with_max_delay(Duration::from_millis(10));
    let items = run(settings
        .with_timeouts(short_timeouts())
        .with_retry_policy(retries))
    .await;
    match &items[0] {
        Ok(ApiChunk::Retrying { reason, .. }) => {
            assert!(reason.contains("first event"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(items.last(), Some(Ok(ApiChunk::Finish(_)))));
    assert_eq!(transport.requests().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_server_wait_longer_than_the_retry_cap_goes_to_the_host() {
    let (settings, transport) = scripted([
        ScriptedReply::json(429, r#"{"error":"Too Many Requests"}"#)
            .with_header("retry-after", "120"),
        ScriptedReply::sse(fixture("plain_answer")),
    ]);
    let items = run(settings.with_retry_policy(RetryPolicy::default())).await;
    match &items[..] {
        [Err(error @ Error::RateLimited { .. })] => {
            assert_eq!(error.retry_after(), Some(Duration::from_secs(120)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(transport.requests().len(), 1, "no early retry");
}

#[tokio::test]
async fn a_base_url_with_credentials_a_query_or_a_fragment_is_refused() {
    for (url, part) in [
        ("http://user:hunter2@127.0.0.1:9/v1", "user"),
        ("http://127.0.0.1:9/v1?x=1", "query"),
        ("http://127.0.0.1:9/v1#top", "fragment"),
    ] {
        let settings = FireworksSettings::new(KEY, MODEL).with_base_url(url);
        let settings_shown = format!("{settings:?}");
        match FireworksProvider::new(settings) {
            Err(error @ Error::Config(_)) => {
                let shown = format!("{error} {error:?} {settings_shown}");
                assert!(shown.contains(part), "{shown}");
                assert!(!shown.contains("hunter2"), "the password leaked: {shown}");
            }
            other => panic!("{url}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_header_value_that_cannot_be_sent_is_a_config_error() {
    let settings = FireworksSettings::new(KEY, MODEL).with_cache_isolation_key("tenant\n7");
    match FireworksProvider::new(settings) {
        Err(Error::Config(message)) => {
            assert!(message.contains("cache_isolation_key"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

// Model ids and prices on other servers.

#[tokio::test]
async fn a_bare_model_name_is_sent_as_given_to_another_server() {
    let server = TestServer::start(vec![Reply::sse(fixture("plain_answer"))]).await;
    let provider = FireworksProvider::new(
        FireworksSettings::new(KEY, "gemma-3-270m-it").with_base_url(server.base_url()),
    )
    .unwrap();
    let model = provider.model();
    assert_eq!(model.id, "gemma-3-270m-it");
    assert_eq!(model.input_price, None);
    let items: Vec<_> = provider.create_message(hello()).collect().await;
    assert!(matches!(items.last(), Some(Ok(ApiChunk::Finish(_)))));
    assert_eq!(server.requests()[0].json()["model"], "gemma-3-270m-it");

    // A catalog name that is bare is not a Fireworks id there either: no catalog numbers.
    let vllm = FireworksProvider::new(
        FireworksSettings::new(KEY, "glm-5p1").with_base_url(server.base_url()),
    )
    .unwrap();
    assert_eq!(vllm.model().id, "glm-5p1");
    assert_eq!(vllm.model().input_price, None);
    assert_eq!(
        vllm.model().context_window,
        fireworks_provider::ModelInfo::DEFAULT_CONTEXT_WINDOW
    );
}

#[tokio::test]
async fn a_dedicated_deployment_has_no_token_cost() {
    let server = TestServer::start(vec![Reply::sse(fixture("plain_answer"))]).await;
    let id = "accounts/fireworks/models/kimi-k2p6#accounts/me/deployments/abc";
    let provider =
        FireworksProvider::new(FireworksSettings::new(KEY, id).with_base_url(server.base_url()))
            .unwrap();
    assert_eq!(provider.model().max_tokens, 262_000, "the catalog's limits");
    assert_eq!(provider.model().input_price, None);
    let items: Vec<_> = provider.create_message(hello()).collect().await;
    let usage = support::usage(&items).expect("usage");
    assert!(usage.input_tokens > 0);
    assert_eq!(usage.total_cost, None, "priced per token: {usage:?}");
}
