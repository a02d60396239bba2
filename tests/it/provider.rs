//! The real `FireworksProvider`: what it sends on the wire (against our loopback server), and
//! what it makes of recorded streams and how each error response is typed (through the
//! scripted transport).

use std::time::Duration;

use crate::support::server::{Reply, TestServer};
use crate::support::{decode_whole, fixture, texts};
use fireworks_provider::{
    ApiChunk, ChatRequest, Error, FinishReason, FireworksProvider, FireworksSettings, LlmProvider,
    Message, RetryPolicy, ScriptedReply, ScriptedTransport,
};
use futures::StreamExt;
use serde_json::{Value, json};

const KEY: &str = "fw_test_key_3f9a";

fn provider_for(server: &TestServer, model: &str) -> FireworksProvider {
    FireworksProvider::new(
        FireworksSettings::new(KEY, model)
            .with_base_url(server.base_url())
            .with_retry_policy(RetryPolicy::none()),
    )
    .unwrap()
}

/// A provider of `model` that sends through `transport`.
fn scripted_provider(transport: &ScriptedTransport, model: &str) -> FireworksProvider {
    FireworksProvider::new(
        FireworksSettings::new(KEY, model)
            .with_transport(transport.clone())
            .with_retry_policy(RetryPolicy::none()),
    )
    .unwrap()
}

fn hello() -> ChatRequest {
    ChatRequest::new("You are terse.", vec![Message::user("Say hello")])
}

async fn collect(provider: &dyn LlmProvider, request: ChatRequest) -> Vec<Result<ApiChunk, Error>> {
    provider.create_message(request).collect().await
}

#[tokio::test]
async fn sends_one_streamed_request_with_only_the_fields_that_are_set() {
    let server = TestServer::start(vec![Reply::sse(fixture("plain_answer"))]).await;
    let provider = provider_for(&server, "accounts/fireworks/models/llama-v3p3-70b-instruct");
    let items = collect(&provider, hello()).await;
    assert!(matches!(
        items.last(),
        Some(Ok(ApiChunk::Finish(FinishReason::Stop)))
    ));

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/inference/v1/chat/completions");
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body = request.json();
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "max_tokens",
            "messages",
            "model",
            "prompt_cache_key",
            "stream",
            "stream_options"
        ]
    );
    assert_eq!(
        body["model"],
        "accounts/fireworks/models/llama-v3p3-70b-instruct"
    );
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(
        body["max_tokens"],
        fireworks_provider::ModelInfo::DEFAULT_MAX_TOKENS,
        "no longer in the catalog: the documented default"
    );
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello"},
        ])
    );
}

#[tokio::test]
async fn model_ids_are_sent_as_given_and_settings_limits_win() {
    let server = TestServer::start(vec![Reply::sse(fixture("plain_answer"))]).await;
    let id = "accounts/fireworks/models/brand-new#accounts/me/deployments/d1";
    let provider = FireworksProvider::new(
        FireworksSettings::new(KEY, id)
            .with_base_url(server.base_url())
            .with_max_tokens(1000)
            .with_context_window(50_000),
    )
    .unwrap();
    assert_eq!(provider.model().id, id);
    assert_eq!(provider.model().context_window, 50_000);
    assert_eq!(
        provider.model().input_price,
        None,
        "an unknown model has no prices"
    );
    collect(&provider, hello()).await;
    let body = server.requests()[0].json();
    assert_eq!(body["model"], id);
    assert_eq!(body["max_tokens"], 1000);
}

#[tokio::test(start_paused = true)]
async fn recorded_streams_come_through_in_small_pieces() {
    for (name, model, reasons) in [
        (
            "reasoning_chat_demo",
            "accounts/fireworks/models/deepseek-r1-0528",
            true,
        ),
        (
            "reasoning_content",
            "accounts/fireworks/models/glm-5p1",
            true,
        ),
        (
            "starts_in_reasoning",
            "accounts/fireworks/models/qwen3-235b-a22b-thinking-2507",
            true,
        ),
        (
            "crlf_line_endings",
            "accounts/fireworks/models/llama-v3p3-70b-instruct",
            false,
        ),
    ] {
        let body = fixture(name);
        let transport = ScriptedTransport::new().with_reply(
            ScriptedReply::status(200)
                .with_header("content-type", "text/event-stream")
                .with_body_in_pieces(body.clone(), 7),
        );
        let provider = scripted_provider(&transport, model);
        let items = collect(&provider, hello()).await;
        let expected = decode_whole(provider.model(), &body);
        assert_eq!(texts(&items), texts(&expected), "{name}");
        assert_eq!(!texts(&items).0.is_empty(), reasons, "{name}: reasoning");
        assert!(
            matches!(items.last(), Some(Ok(ApiChunk::Finish(_)))),
            "{name}"
        );
        let usage = items
            .iter()
            .filter(|i| matches!(i, Ok(ApiChunk::Usage(_))))
            .count();
        assert_eq!(usage, 1, "{name}: one usage chunk");
    }
}

#[tokio::test(start_paused = true)]
async fn a_truncated_stream_delivers_everything_then_an_error() {
    let transport =
        ScriptedTransport::new().with_reply(ScriptedReply::sse(fixture("truncated_stream")));
    let provider = scripted_provider(
        &transport,
        "accounts/fireworks/models/llama-v3p3-70b-instruct",
    );
    let items = collect(&provider, hello()).await;
    let (_, text) = texts(&items);
    assert!(!text.is_empty());
    assert!(
        matches!(items.last(), Some(Err(Error::StreamInterrupted { .. }))),
        "{items:?}"
    );
    assert!(!items.iter().any(|i| matches!(i, Ok(ApiChunk::Finish(_)))));
}

#[tokio::test(start_paused = true)]
async fn an_error_event_inside_a_200_stream_is_an_error_item() {
    let transport =
        ScriptedTransport::new().with_reply(ScriptedReply::sse(fixture("error_event_midstream")));
    let provider = scripted_provider(&transport, "accounts/fireworks/models/deepseek-v4-pro");
    let items = collect(&provider, hello()).await;
    match items.last() {
        Some(Err(Error::Server(api))) => {
            assert_eq!(api.status, None);
            assert!(api.message.contains("Internal server error"), "{api:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn every_error_body_becomes_its_typed_error() {
    let cases: Vec<Value> = serde_json::from_slice(
        &std::fs::read(format!(
            "{}/tests/fixtures/errors/cases.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    assert!(cases.len() >= 20);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let status = case["status"].as_u64().unwrap() as u16;
        let mut reply =
            ScriptedReply::status(status).with_body(case["body"].as_str().unwrap().to_owned());
        for (header, value) in case["headers"].as_object().unwrap() {
            reply = reply.with_header(header, value.as_str().unwrap());
        }
        let transport = ScriptedTransport::new()
            .with_reply(reply)
            .with_reply(ScriptedReply::sse(fixture("plain_answer")));
        let provider = scripted_provider(&transport, "accounts/fireworks/models/kimi-k2p6");
        let items = collect(&provider, hello()).await;
        assert_eq!(items.len(), 1, "{name}: the error alone");
        assert_eq!(
            transport.requests().len(),
            1,
            "{name}: no retry with retries off"
        );
        let error = items.into_iter().next().unwrap().unwrap_err();
        let expected = &case["expected"];
        let kind = match &error {
            Error::Auth(_) => "auth",
            Error::ModelNotFound(_) => "model_not_found",
            Error::RateLimited { .. } => "rate_limited",
            Error::ContextWindowExceeded { .. } => "context_window_exceeded",
            Error::InvalidRequest(_) => "invalid_request",
            Error::PaymentRequired(_) => "payment_required",
            Error::NotReady(_) => "not_ready",
            Error::Server(_) => "server",
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(kind, expected["kind"], "{name}");
        assert_eq!(error.status(), Some(status), "{name}");
        let api = error.api_error().unwrap();
        assert_eq!(api.message, expected["message"].as_str().unwrap(), "{name}");
        assert_eq!(
            api.request_id.as_deref(),
            expected["request_id"].as_str(),
            "{name}"
        );
        assert_eq!(error.is_retryable(), expected["retryable"], "{name}");
        assert_eq!(
            error.retry_after().map(|d| d.as_secs_f64()),
            expected["retry_after_secs"].as_f64(),
            "{name}"
        );
        assert!(
            error.to_string().contains(api.message.as_str()),
            "{name}: Display shows the message"
        );
        if let Error::ModelNotFound(api) = &error {
            // The model as sent (the bare name expanded on Fireworks' endpoint) is named.
            let sent = "accounts/fireworks/models/kimi-k2p6";
            assert_eq!(api.model(), Some(sent), "{name}");
            assert!(error.to_string().contains(sent), "{name}: {error}");
        }
        if let Some(expected_prompt) = expected.get("prompt_tokens") {
            let Error::ContextWindowExceeded {
                prompt_tokens,
                context_window,
                ..
            } = &error
            else {
                panic!("{name}: {error:?}");
            };
            assert_eq!(
                prompt_tokens.map(Value::from),
                Some(expected_prompt.clone()).filter(|v| !v.is_null()),
                "{name}"
            );
            assert_eq!(
                context_window.map(Value::from),
                Some(expected["context_window"].clone()).filter(|v| !v.is_null()),
                "{name}"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn context_window_errors_carry_the_token_numbers() {
    let body = r#"{"error":{"object":"error","type":"invalid_request_error","code":"invalid_request_error","message":"The prompt is too long: 40177, model maximum context length: 32767"}}"#;
    let transport = ScriptedTransport::new().with_reply(ScriptedReply::json(400, body));
    let provider = scripted_provider(&transport, "accounts/fireworks/models/kimi-k2p6");
    let items = collect(&provider, hello()).await;
    match &items[0] {
        Err(Error::ContextWindowExceeded {
            prompt_tokens,
            context_window,
            ..
        }) => {
            assert_eq!(
                (*prompt_tokens, *context_window),
                (Some(40177), Some(32767))
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn bad_settings_are_config_errors_naming_the_setting() {
    for (settings, setting) in [
        (FireworksSettings::new("", "kimi-k2p6"), "api_key"),
        (FireworksSettings::new(KEY, ""), "model_id"),
        (
            FireworksSettings::new(KEY, "accounts/fireworks/models/kimi-k2p6")
                .with_base_url("ftp://x"),
            "base_url",
        ),
    ] {
        match FireworksProvider::new(settings) {
            Err(Error::Config(message)) => assert!(message.contains(setting), "{message}"),
            other => panic!("{setting}: {other:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn nothing_is_sent_before_the_first_poll() {
    let transport =
        ScriptedTransport::new().with_reply(ScriptedReply::sse(fixture("plain_answer")));
    let provider = scripted_provider(
        &transport,
        "accounts/fireworks/models/llama-v3p3-70b-instruct",
    );
    let stream = provider.create_message(hello());
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(transport.requests().len(), 0);
    drop(stream);
}
