//! What the server reports beside the answer, against our loopback server: the `fireworks-*`
//! and `x-ratelimit-*` headers as an `ApiChunk::ServerReport` at the start of the stream and on
//! a rate-limit error, `perf_metrics` on the usage, and the request bodies of the options that
//! ask for them (`perf_metrics_in_response`, `service_tier`).

use std::time::Duration;

use crate::support::fixture;
use crate::support::server::{Reply, TestServer};
use fireworks_provider::{
    ApiChunk, ChatRequest, Error, FireworksProvider, FireworksSettings, LlmProvider, Message,
    PerfMetrics, RateLimits, RequestOptions, RetryPolicy, ServerReport, ServiceTier, Turn,
};
use futures::StreamExt;
use serde_json::{Map, Value, json};

const KIMI: &str = "accounts/fireworks/models/kimi-k2p6";

fn settings(server: &TestServer) -> FireworksSettings {
    FireworksSettings::new("fw_reports_key", KIMI)
        .with_base_url(server.base_url())
        .with_retry_policy(RetryPolicy::none())
        .with_cache_affinity(false)
}

fn ask(options: RequestOptions) -> ChatRequest {
    ChatRequest::new("", vec![Message::user("2+2?")]).with_options(options.with_max_tokens(1000))
}

/// `tests/fixtures/server_reports/<name>`.
fn report_fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/server_reports/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// `reply` with every header of the fixture `name` (a JSON object of header → value).
fn with_headers(mut reply: Reply, name: &str) -> Reply {
    let headers: Map<String, Value> = serde_json::from_slice(&report_fixture(name)).unwrap();
    for (header, value) in &headers {
        reply = reply.with_header(header, value.as_str().unwrap());
    }
    reply
}

async fn items(server: &TestServer, options: RequestOptions) -> Vec<Result<ApiChunk, Error>> {
    FireworksProvider::new(settings(server))
        .unwrap()
        .create_message(ask(options))
        .collect()
        .await
}

fn limits(pairs: [Option<u64>; 8], over_limit: Option<bool>) -> RateLimits {
    let mut limits = RateLimits::new();
    [
        limits.limit_requests,
        limits.remaining_requests,
        limits.limit_prompt_tokens,
        limits.remaining_prompt_tokens,
        limits.limit_cache_adjusted_prompt_tokens,
        limits.remaining_cache_adjusted_prompt_tokens,
        limits.limit_generated_tokens,
        limits.remaining_generated_tokens,
    ] = pairs;
    limits.over_limit = over_limit;
    limits
}

#[tokio::test]
async fn the_headers_reach_the_host_typed_right_after_the_request_id() {
    let reply = with_headers(Reply::sse(fixture("plain_answer")), "headers.json");
    let server = TestServer::start(vec![reply]).await;
    let items = items(&server, RequestOptions::new()).await;
    let mut expected = ServerReport::new();
    expected.prompt_tokens = Some(1874);
    expected.cached_prompt_tokens = Some(1536);
    expected.server_time_to_first_token = Some(Duration::from_millis(118));
    expected.rate_limits = limits(
        [
            Some(6000),
            Some(5999),
            Some(60000),
            Some(58126),
            Some(15000),
            Some(14662),
            Some(600),
            Some(600),
        ],
        Some(false),
    );
    match &items[..2] {
        [
            Ok(ApiChunk::RequestId(id)),
            Ok(ApiChunk::ServerReport(report)),
        ] => {
            assert_eq!(id, "5f0c8b7e-3c1a-4d0e-9a53-2b8f4a7d6e11");
            assert_eq!(**report, expected);
        }
        other => panic!("{other:?}"),
    }
    let turn = Turn::collect(futures::stream::iter(items)).await.unwrap();
    assert_eq!(turn.server_report, Some(expected));
}

#[tokio::test]
async fn a_response_without_such_headers_reports_nothing() {
    let server = TestServer::start(vec![Reply::sse(fixture("plain_answer"))]).await;
    let items = items(&server, RequestOptions::new()).await;
    assert!(
        !items
            .iter()
            .any(|item| matches!(item, Ok(ApiChunk::ServerReport(_)))),
        "{items:?}"
    );
}

#[tokio::test]
async fn headers_that_are_not_numbers_are_left_out_not_kept_as_text() {
    let reply = Reply::sse(fixture("plain_answer"))
        .with_header("fireworks-prompt-tokens", "lots")
        .with_header("fireworks-server-time-to-first-token", "-1")
        .with_header("x-ratelimit-remaining-requests", &"9".repeat(100_000))
        .with_header("x-ratelimit-limit-requests", "100");
    let server = TestServer::start(vec![reply]).await;
    let items = items(&server, RequestOptions::new()).await;
    let report = items
        .iter()
        .find_map(|item| match item {
            Ok(ApiChunk::ServerReport(report)) => Some(report),
            _ => None,
        })
        .expect("a report");
    let mut expected = ServerReport::new();
    expected.rate_limits.limit_requests = Some(100);
    assert_eq!(**report, expected);
}

#[tokio::test]
async fn a_rate_limited_error_carries_the_limits() {
    let reply = with_headers(
        Reply::json(
            429,
            r#"{"error":"Too Many Requests","message":"You have exceeded your usage limits. Please try again later or contact Fireworks to explore dedicated capacity."}"#,
        ),
        "rate_limited_headers.json",
    );
    let server = TestServer::start(vec![reply]).await;
    let items = items(&server, RequestOptions::new()).await;
    let error = match &items[..] {
        [Err(error @ Error::RateLimited { .. })] => error,
        other => panic!("{other:?}"),
    };
    let expected = limits(
        [
            Some(6000),
            Some(0),
            Some(60000),
            Some(0),
            Some(15000),
            Some(0),
            Some(600),
            Some(412),
        ],
        Some(true),
    );
    assert_eq!(error.rate_limits(), Some(&expected));
    assert_eq!(error.retry_after(), Some(Duration::from_secs(2)));
}

#[tokio::test]
async fn an_error_without_rate_limit_headers_has_none() {
    let server =
        TestServer::start(vec![Reply::json(429, r#"{"error":"Too Many Requests"}"#)]).await;
    let items = items(&server, RequestOptions::new()).await;
    match &items[..] {
        [Err(error @ Error::RateLimited { .. })] => assert_eq!(error.rate_limits(), None),
        other => panic!("{other:?}"),
    }
}

fn usage_of(items: &[Result<ApiChunk, Error>]) -> &fireworks_provider::Usage {
    items
        .iter()
        .find_map(|item| match item {
            Ok(ApiChunk::Usage(usage)) => Some(usage),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no usage in {items:?}"))
}

#[tokio::test]
async fn perf_metrics_are_asked_for_and_read_onto_the_usage() {
    let server = TestServer::start(vec![Reply::sse(report_fixture(
        "perf_metrics_final_chunk.sse",
    ))])
    .await;
    let items = items(&server, RequestOptions::new().with_perf_metrics(true)).await;
    assert_eq!(
        server.requests()[0].json()["perf_metrics_in_response"],
        json!(true)
    );
    let usage = usage_of(&items);
    let mut expected = PerfMetrics::new();
    expected.prompt_tokens = Some(1874);
    expected.cached_prompt_tokens = Some(1536);
    expected.server_time_to_first_token = Some(Duration::from_millis(118));
    expected.server_processing_time = Some(Duration::from_millis(944));
    expected.prefill_queue_duration = Some(Duration::from_millis(2));
    expected.prefill_duration = Some(Duration::from_millis(61));
    expected.generation_queue_duration = Some(Duration::from_millis(4));
    expected.generation_duration = Some(Duration::from_millis(820));
    expected.concurrent_requests = Some(7);
    assert_eq!(usage.perf_metrics.as_deref(), Some(&expected));
    assert_eq!((usage.input_tokens, usage.cache_read_tokens), (1874, 1536));
    assert!(matches!(items.last(), Some(Ok(ApiChunk::Finish(_)))));
}

#[tokio::test]
async fn perf_metrics_before_a_separate_usage_chunk_still_reach_it_and_odd_values_are_left_out() {
    let server = TestServer::start(vec![Reply::sse(report_fixture(
        "perf_metrics_before_usage_chunk.sse",
    ))])
    .await;
    let items = items(&server, RequestOptions::new().with_perf_metrics(true)).await;
    let mut expected = PerfMetrics::new();
    expected.prompt_tokens = Some(12);
    expected.generation_duration = Some(Duration::from_millis(50));
    assert_eq!(usage_of(&items).perf_metrics.as_deref(), Some(&expected));
}

#[tokio::test]
async fn without_perf_metrics_the_usage_has_none() {
    let server = TestServer::start(vec![Reply::sse(fixture("plain_answer"))]).await;
    let items = items(&server, RequestOptions::new()).await;
    assert_eq!(usage_of(&items).perf_metrics, None);
}

/// The body the server received for `options` over the provider `defaults`.
async fn body_for(defaults: RequestOptions, options: RequestOptions) -> Value {
    let server = TestServer::start(vec![Reply::sse(fixture("plain_answer"))]).await;
    let provider = FireworksProvider::new(settings(&server).with_options(defaults)).unwrap();
    let items: Vec<_> = provider.create_message(ask(options)).collect().await;
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    server.requests()[0].json()
}

fn golden(extra: Value) -> Value {
    let mut body = json!({
        "model": KIMI,
        "messages": [{"role": "user", "content": "2+2?"}],
        "stream": true,
        "stream_options": {"include_usage": true},
        "max_tokens": 1000,
        "temperature": 1.0,
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

#[tokio::test]
async fn the_serving_and_metrics_options_reach_the_wire_only_when_set() {
    let none = body_for(RequestOptions::new(), RequestOptions::new()).await;
    assert_eq!(none, golden(json!({})));
    let both = body_for(
        RequestOptions::new(),
        RequestOptions::new()
            .with_service_tier(ServiceTier::Priority)
            .with_perf_metrics(true),
    )
    .await;
    assert_eq!(
        both,
        golden(json!({"service_tier": "priority", "perf_metrics_in_response": true}))
    );
    // Set false, nothing is written (Fireworks' default is off).
    let off = body_for(
        RequestOptions::new(),
        RequestOptions::new().with_perf_metrics(false),
    )
    .await;
    assert_eq!(off, golden(json!({})));
}

#[tokio::test]
async fn the_provider_defaults_give_the_options_a_request_leaves_unset() {
    let defaults = RequestOptions::new()
        .with_service_tier(ServiceTier::Priority)
        .with_perf_metrics(true);
    let body = body_for(defaults, RequestOptions::new()).await;
    assert_eq!(
        body,
        golden(json!({"service_tier": "priority", "perf_metrics_in_response": true}))
    );
}

#[test]
fn the_options_read_from_a_configuration() {
    let options: RequestOptions =
        serde_json::from_value(json!({"serviceTier": "priority", "perfMetrics": true})).unwrap();
    assert_eq!(
        options,
        RequestOptions::new()
            .with_service_tier(ServiceTier::Priority)
            .with_perf_metrics(true)
    );
    let error = serde_json::from_value::<RequestOptions>(json!({"service_tier": "fast"}))
        .unwrap_err()
        .to_string();
    assert!(error.contains("service_tier"), "{error}");
}
