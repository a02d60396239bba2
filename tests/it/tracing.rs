//! What the crate logs through `tracing`: one span per completion, named and filled after the
//! OpenTelemetry GenAI conventions, with its outcome; retries as events, raw bytes only at trace
//! level, and never the key.

use std::time::Duration;

use crate::support;
use crate::support::log::capture;
use crate::support::server::{Reply, TestServer};
use fireworks_provider::{
    ChatRequest, FireworksProvider, FireworksSettings, LlmProvider, Message, RequestOptions,
    RetryPolicy,
};
use futures::StreamExt;
use tracing_subscriber::fmt::format::FmtSpan;

const KEY: &str = "fw_tracing_secret_55aa";

#[tokio::test]
async fn a_completion_is_one_genai_span_with_its_outcome_and_no_key() {
    let (captured, _guard) = capture(tracing::Level::TRACE, FmtSpan::CLOSE);

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
        .create_message(
            ChatRequest::new("", vec![Message::user("hi")]).with_options(
                RequestOptions::new()
                    .with_max_tokens(700)
                    .with_temperature(0.25),
            ),
        )
        .collect()
        .await;
    assert!(items.iter().all(Result::is_ok));

    let log = captured.text();
    let port = server.addr().port();
    for expected in [
        "chat{",
        "otel.name=chat accounts/fireworks/models/llama-v3p3-70b-instruct",
        "otel.kind=\"client\"",
        "gen_ai.operation.name=\"chat\"",
        // A loopback server is not Fireworks' endpoint: the generic profile names it.
        "gen_ai.provider.name=\"openai_compatible\"",
        "gen_ai.request.model=\"accounts/fireworks/models/llama-v3p3-70b-instruct\"",
        "gen_ai.request.max_tokens=700",
        "gen_ai.request.temperature=0.25",
        "server.address=\"127.0.0.1\"",
        &format!("server.port={port}"),
        "retrying",
        "Service Overloaded",
        "fireworks.attempts=2",
        "http.response.status_code=200",
        "gen_ai.response.id=\"47f7dffe-520b-4bfb-b2eb-1b45f5d8482f\"",
        "gen_ai.response.time_to_first_chunk=",
        "gen_ai.usage.input_tokens=",
        "gen_ai.usage.output_tokens=",
        "gen_ai.response.finish_reasons=\"stop\"",
        "body read",
    ] {
        assert!(log.contains(expected), "missing {expected:?} in:\n{log}");
    }
    assert!(
        !log.contains(KEY) && !log.to_lowercase().contains("bearer"),
        "{log}"
    );
}

#[tokio::test]
async fn a_failed_completion_records_its_error_type_and_no_content() {
    let (captured, _guard) = capture(tracing::Level::INFO, FmtSpan::CLOSE);
    let answer = support::fixture("plain_answer");
    let server = TestServer::start(vec![
        Reply::sse(answer),
        Reply::json(401, r#"{"error":{"message":"invalid api key"}}"#),
    ])
    .await;
    let provider = FireworksProvider::new(
        FireworksSettings::new(KEY, "accounts/fireworks/models/llama-v3p3-70b-instruct")
            .with_base_url(server.base_url()),
    )
    .unwrap();
    let prompt = "the secret plan is purple elephants";
    for _ in 0..2 {
        let _: Vec<_> = provider
            .create_message(ChatRequest::new(
                "system words",
                vec![Message::user(prompt)],
            ))
            .collect()
            .await;
    }
    let log = captured.text();
    assert!(log.contains("error.type=\"auth\""), "{log}");
    assert!(log.contains("gen_ai.usage.output_tokens="), "{log}");
    let (_, answer_text) = support::texts(&support::decode_whole(
        &fireworks_provider::ModelInfo::unknown("m"),
        &support::fixture("plain_answer"),
    ));
    for content in [prompt, "system words", answer_text.trim(), KEY] {
        assert!(
            !content.is_empty() && !log.contains(content),
            "{content:?} in:\n{log}"
        );
    }
}
