//! Fallback across serving paths on the loopback server: three Fireworks targets behind one
//! `LlmProvider`, switching before any output on the errors another target can help with, and
//! never after output, on a refused request, or after the host dropped the stream.

use std::sync::Arc;

use crate::support;
use crate::support::server::{Reply, Step, TestServer};
use fireworks_provider::{
    ApiChunk, ChatRequest, Error, FallbackProvider, FinishReason, FireworksProvider,
    FireworksSettings, LlmProvider, Message, RetryPolicy,
};
use futures::StreamExt;

const KEY: &str = "fw_fallback_secret_77";

/// A Fireworks target on `server`, serving `model`, with one attempt per request (so that the
/// test sees the fallback, not the retries) and, for the cost, its own prices.
fn target(server: &TestServer, model: &str, input_price: f64) -> Arc<dyn LlmProvider> {
    let settings = FireworksSettings::new(KEY, model)
        .with_base_url(server.base_url())
        .with_retry_policy(RetryPolicy::default().with_max_attempts(1))
        .with_prices(input_price, 1.0, None);
    Arc::new(FireworksProvider::new(settings).unwrap())
}

const MODEL_A: &str = "accounts/fireworks/models/kimi-k2p6";
const MODEL_B: &str = "accounts/fireworks/routers/kimi-k2p6-fast";
const MODEL_C: &str = "accounts/fireworks/models/deepseek-v4-flash";

async fn three_servers(a: Vec<Reply>, b: Vec<Reply>, c: Vec<Reply>) -> [TestServer; 3] {
    [
        TestServer::start(a).await,
        TestServer::start(b).await,
        TestServer::start(c).await,
    ]
}

fn fallback(servers: &[TestServer; 3]) -> FallbackProvider {
    FallbackProvider::new(vec![
        target(&servers[0], MODEL_A, 1.0),
        target(&servers[1], MODEL_B, 2.0),
        target(&servers[2], MODEL_C, 3.0),
    ])
    .unwrap()
}

fn ask() -> ChatRequest {
    ChatRequest::new("", vec![Message::user("hi")])
}

fn answer() -> Reply {
    Reply::sse(support::fixture("plain_answer"))
}

/// A 200 event stream that sends `steps` after its headers.
fn stream_then(steps: Vec<Step>) -> Reply {
    Reply {
        steps,
        ..Reply::sse("")
    }
}

fn switches(items: &[Result<ApiChunk, Error>]) -> Vec<(String, String, String)> {
    items
        .iter()
        .filter_map(|item| match item {
            Ok(ApiChunk::FallingBack { from, to, reason }) => {
                Some((from.clone(), to.clone(), reason.clone()))
            }
            _ => None,
        })
        .collect()
}

fn model_ids(server: &TestServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| r.json()["model"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_429_then_success_is_announced_and_the_usage_names_the_model_that_answered() {
    let rate_limited = Reply::json(429, r#"{"error":{"message":"Too many requests"}}"#);
    let servers = three_servers(vec![rate_limited], vec![answer()], vec![answer()]).await;
    let items: Vec<_> = fallback(&servers).create_message(ask()).collect().await;

    let switches = switches(&items);
    assert_eq!(switches.len(), 1, "{items:?}");
    let (from, to, reason) = &switches[0];
    assert_eq!((from.as_str(), to.as_str()), (MODEL_A, MODEL_B));
    assert!(reason.contains("rate limited"), "{reason}");
    assert!(!reason.contains(KEY));
    assert_eq!(support::texts(&items).1, {
        let model = fireworks_provider::ModelInfo::unknown("m");
        support::texts(&support::decode_whole(
            &model,
            &support::fixture("plain_answer"),
        ))
        .1
    });
    let usage = support::usage(&items).expect("a usage");
    assert_eq!(usage.model.as_deref(), Some(MODEL_B));
    // Priced at B's prices ($2 input, $1 output per million), not A's or C's.
    let expected = (usage.input_tokens as f64 * 2.0 + usage.output_tokens as f64) / 1e6;
    assert!((usage.total_cost.unwrap() - expected).abs() < 1e-12);
    assert!(matches!(
        items.last(),
        Some(Ok(ApiChunk::Finish(FinishReason::Stop)))
    ));
    assert_eq!(model_ids(&servers[1]), [MODEL_B]);
    assert!(
        servers[2].requests().is_empty(),
        "the third target is not asked"
    );
}

#[tokio::test]
async fn a_503_or_a_connection_lost_after_the_headers_before_any_event_falls_through() {
    let overloaded = Reply {
        status: 503,
        headers: vec![("content-type".into(), "text/event-stream".into())],
        steps: vec![Step::Send(
            br#"{"error":{"message":"Service Overloaded"}}"#.to_vec(),
        )],
    };
    let lost = stream_then(vec![Step::Send(b": keep-alive\n\n".to_vec()), Step::Reset]);
    let servers = three_servers(vec![overloaded], vec![lost], vec![answer()]).await;
    let items: Vec<_> = fallback(&servers).create_message(ask()).collect().await;

    let switches = switches(&items);
    let hops: Vec<_> = switches
        .iter()
        .map(|(from, to, _)| (from.as_str(), to.as_str()))
        .collect();
    assert_eq!(hops, [(MODEL_A, MODEL_B), (MODEL_B, MODEL_C)], "{items:?}");
    assert!(switches[0].2.contains("503"), "{}", switches[0].2);
    assert_eq!(
        support::usage(&items).unwrap().model.as_deref(),
        Some(MODEL_C)
    );
    assert!(matches!(items.last(), Some(Ok(ApiChunk::Finish(_)))));
}

#[tokio::test]
async fn output_then_failure_reaches_the_host_without_fallback() {
    let body = support::fixture("plain_answer");
    let first_event = support::events(&body)[1].clone();
    let broken = stream_then(vec![Step::Send(first_event), Step::Reset]);
    let servers = three_servers(vec![broken], vec![answer()], vec![answer()]).await;
    let items: Vec<_> = fallback(&servers).create_message(ask()).collect().await;

    assert!(switches(&items).is_empty(), "{items:?}");
    assert!(
        matches!(items.first(), Some(Ok(ApiChunk::Text(_)))),
        "{items:?}"
    );
    assert!(
        matches!(
            items.last(),
            Some(Err(Error::StreamInterrupted { .. } | Error::Network { .. }))
        ),
        "{items:?}"
    );
    assert!(servers[1].requests().is_empty() && servers[2].requests().is_empty());
}

#[tokio::test]
async fn a_refused_request_or_key_is_not_sent_elsewhere() {
    for (status, body) in [
        (
            400,
            r#"{"error":{"message":"temperature must be at most 2"}}"#,
        ),
        (401, r#"{"error":{"message":"invalid api key"}}"#),
    ] {
        let servers = three_servers(
            vec![Reply::json(status, body)],
            vec![answer()],
            vec![answer()],
        )
        .await;
        let items: Vec<_> = fallback(&servers).create_message(ask()).collect().await;
        assert!(
            matches!(items[..], [Err(Error::InvalidRequest(_) | Error::Auth(_))]),
            "{status}: {items:?}"
        );
        assert!(servers[1].requests().is_empty(), "{status}");
    }
    // Refused before sending: nothing reaches any server.
    let servers = three_servers(vec![answer()], vec![answer()], vec![answer()]).await;
    let empty = ChatRequest::new("", vec![]);
    let items: Vec<_> = fallback(&servers).create_message(empty).collect().await;
    assert!(
        matches!(items[..], [Err(Error::InvalidConversation { .. })]),
        "{items:?}"
    );
    assert!(servers.iter().all(|server| server.requests().is_empty()));
}

#[tokio::test]
async fn dropping_the_stream_during_the_second_target_closes_it_and_tries_no_third() {
    let overloaded = Reply::json(503, r#"{"error":{"message":"Service Overloaded"}}"#);
    let body = support::fixture("plain_answer");
    let first_event = support::events(&body)[1].clone();
    let stalls = stream_then(vec![Step::Send(first_event), Step::Stall]);
    let servers = three_servers(vec![overloaded], vec![stalls], vec![answer()]).await;
    let provider = fallback(&servers);
    let mut stream = provider.create_message(ask());
    assert!(matches!(
        stream.next().await,
        Some(Ok(ApiChunk::FallingBack { .. }))
    ));
    // The second target's first output: it is running.
    assert!(matches!(stream.next().await, Some(Ok(ApiChunk::Text(_)))));
    drop(stream);
    servers[1].client_disconnected_midstream().await;
    assert_eq!(servers[1].requests().len(), 1);
    assert!(servers[2].requests().is_empty(), "no target after the drop");
}

#[tokio::test]
async fn an_error_event_before_any_output_falls_through_and_after_output_does_not() {
    let overloaded_event = br#"event: error
data: {"error":{"message":"Service Overloaded","code":503}}

"#;
    let first = stream_then(vec![Step::Send(overloaded_event.to_vec())]);
    let servers = three_servers(vec![first], vec![answer()], vec![answer()]).await;
    let items: Vec<_> = fallback(&servers).create_message(ask()).collect().await;
    let switches = switches(&items);
    assert_eq!(switches.len(), 1, "{items:?}");
    assert!(switches[0].2.contains("Service Overloaded"), "{switches:?}");
    assert!(matches!(items.last(), Some(Ok(ApiChunk::Finish(_)))));

    let body = support::fixture("plain_answer");
    let mut late = support::events(&body)[1].clone();
    late.extend_from_slice(overloaded_event);
    let servers = three_servers(
        vec![stream_then(vec![Step::Send(late)])],
        vec![answer()],
        vec![answer()],
    )
    .await;
    let items: Vec<_> = fallback(&servers).create_message(ask()).collect().await;
    assert!(
        matches!(items.last(), Some(Err(Error::Server(_)))),
        "{items:?}"
    );
    assert!(servers[1].requests().is_empty());
}
