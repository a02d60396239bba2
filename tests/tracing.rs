//! What the crate logs through `tracing`: one span per completion with its outcome, retries as
//! events, raw bytes only at trace level, and never the key.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fireworks_provider::{
    ChatRequest, FireworksProvider, FireworksSettings, LlmProvider, Message, RetryPolicy,
};
use futures::StreamExt;
use support::server::{Reply, TestServer};

const KEY: &str = "fw_tracing_secret_55aa";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_completion_is_one_span_with_its_outcome_and_no_key() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let body = support::fixture("plain_answer");
    let server = TestServer::start(vec![
        Reply::json(503, r#"{"error":{"message":"Service Overloaded"}}"#),
        Reply::sse(body),
    ])
    .await;
    let provider = FireworksProvider::new(
        FireworksSettings::new(KEY, "accounts/fireworks/models/llama-v3p3-70b-instruct")
            .with_base_url(server.base_url())
            .with_retry_policy(
                RetryPolicy::default()
                    .with_max_attempts(2)
                    .with_base_delay(Duration::from_millis(10))
                    .with_max_delay(Duration::from_millis(10)),
            ),
    )
    .unwrap();
    let items: Vec<_> = provider
        .create_message(ChatRequest::new("", vec![Message::user("hi")]))
        .collect()
        .await;
    assert!(items.iter().all(Result::is_ok));

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for expected in [
        "fireworks.completion",
        "model=\"accounts/fireworks/models/llama-v3p3-70b-instruct\"",
        "retrying",
        "Service Overloaded",
        "attempts=2",
        "status=200",
        "first_event_ms=",
        "input_tokens=",
        "finish=Stop",
        "body read",
    ] {
        assert!(log.contains(expected), "missing {expected:?} in:\n{log}");
    }
    assert!(
        !log.contains(KEY) && !log.to_lowercase().contains("bearer"),
        "{log}"
    );
}
