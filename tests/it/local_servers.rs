//! A host pointing the crate at a local OpenAI-compatible server (llama.cpp, vLLM) that takes no
//! key, configured Cline-style: what is sent, the request id of a successful turn, and the
//! errors a first hour runs into.

use std::error::Error as _;

use crate::support::fixture;
use crate::support::server::{Reply, TestServer};
use fireworks_provider::{
    ApiChunk, ChatRequest, Error, FireworksProvider, FireworksSettings, LlmProvider,
    MAX_MESSAGE_BYTES, Message, RetryPolicy, Turn,
};
use futures::StreamExt;
use serde_json::json;

/// Settings from a Cline-style JSON configuration with no key.
fn keyless(base_url: &str, model: &str) -> FireworksSettings {
    let config = json!({"baseUrl": base_url, "fireworksModelId": model});
    serde_json::from_value::<FireworksSettings>(config)
        .unwrap()
        .with_retry_policy(RetryPolicy::none())
}

fn hello() -> ChatRequest {
    ChatRequest::new("", vec![Message::user("Say hello")])
}

#[tokio::test]
async fn a_keyless_config_reaches_a_local_server_without_an_authorization_header() {
    let server = TestServer::start(vec![Reply::sse(fixture("plain_answer"))]).await;
    let provider = FireworksProvider::new(keyless(&server.base_url(), "qwen3-8b")).unwrap();
    let turn = Turn::collect(provider.create_message(hello()))
        .await
        .unwrap();
    assert!(!turn.message.content.is_empty());
    let requests = server.requests();
    assert_eq!(requests[0].header("authorization"), None);
    assert_eq!(requests[0].json()["model"], "qwen3-8b");
}

#[test]
fn fireworks_own_endpoint_needs_a_key_before_sending() {
    for config in [
        json!({"fireworksModelId": "kimi-k2p6"}),
        json!({"fireworksApiKey": "", "fireworksModelId": "kimi-k2p6"}),
        json!({"apiKey": "", "baseUrl": "https://api.fireworks.ai/inference/v1/"}),
    ] {
        let err = serde_json::from_value::<FireworksSettings>(config.clone()).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("api.fireworks.ai needs an API key"),
            "{message}"
        );
        // Named as the configuration spelled it.
        let written = config
            .as_object()
            .unwrap()
            .keys()
            .find(|key| key.to_lowercase().contains("apikey"))
            .map_or("api_key", String::as_str);
        assert!(message.starts_with(written), "{config}: {message}");
    }
    match FireworksProvider::new(FireworksSettings::new("", "kimi-k2p6")) {
        Err(Error::Config(message)) => {
            assert!(
                message.contains("api.fireworks.ai needs an API key"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
    // Elsewhere the key may be left out, in the code as in the configuration.
    let local = FireworksSettings::new("", "m").with_base_url("http://127.0.0.1:8080/v1");
    assert!(FireworksProvider::new(local).is_ok());
}

#[tokio::test]
async fn a_successful_turn_carries_the_request_id_of_the_response_header() {
    let reply = Reply::sse(fixture("plain_answer")).with_header("x-request-id", "req-4c1d");
    let server = TestServer::start(vec![reply]).await;
    let provider = FireworksProvider::new(keyless(&server.base_url(), "m")).unwrap();
    let items: Vec<_> = provider.create_message(hello()).collect().await;
    assert_eq!(
        items[0].as_ref().unwrap(),
        &ApiChunk::RequestId("req-4c1d".into()),
        "first, before any text"
    );
    let turn = Turn::collect(futures::stream::iter(items)).await.unwrap();
    assert_eq!(turn.request_id.as_deref(), Some("req-4c1d"));

    // None without the header; a huge one is cut like every server text.
    let server = TestServer::start(vec![
        Reply::sse(fixture("plain_answer")),
        Reply::sse(fixture("plain_answer")).with_header("x-request-id", &"r".repeat(20_000)),
    ])
    .await;
    let provider = FireworksProvider::new(keyless(&server.base_url(), "m")).unwrap();
    let turn = Turn::collect(provider.create_message(hello()))
        .await
        .unwrap();
    assert_eq!(turn.request_id, None);
    let turn = Turn::collect(provider.create_message(hello()))
        .await
        .unwrap();
    let id = turn.request_id.unwrap();
    assert!(id.len() < MAX_MESSAGE_BYTES + 64, "{}", id.len());
    assert!(
        id.ends_with("(cut from 20000 bytes)"),
        "{}",
        &id[id.len() - 40..]
    );
}

#[tokio::test]
async fn a_model_the_server_does_not_serve_is_named_as_sent() {
    let body = json!({"object": "error", "message": "The model `qwen3-8b` does not exist.", "type": "NotFoundError", "code": 404});
    let server = TestServer::start(vec![
        Reply::json(404, body.to_string()).with_header("x-request-id", "vllm-req-1"),
    ])
    .await;
    let provider = FireworksProvider::new(keyless(&server.base_url(), " qwen3-8b ")).unwrap();
    let error = Turn::collect(provider.create_message(hello()))
        .await
        .unwrap_err();
    let Error::ModelNotFound(api) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(api.model(), Some("qwen3-8b"), "trimmed, as sent");
    assert_eq!(api.request_id.as_deref(), Some("vllm-req-1"));
    assert!(
        error
            .to_string()
            .starts_with("model \"qwen3-8b\" not found: HTTP 404"),
        "{error}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_one_sentence_with_its_cause_behind_it() {
    // A port nothing listens on: bound, then closed.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let base_url = format!("http://127.0.0.1:{port}/v1");
    let provider = FireworksProvider::new(keyless(&base_url, "m")).unwrap();
    let error = Turn::collect(provider.create_message(hello()))
        .await
        .unwrap_err();
    let Error::Network { message, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(
        message.starts_with(&format!("could not connect to 127.0.0.1:{port}: ")),
        "{message}"
    );
    assert!(!message.contains("error sending request"), "{message}");
    assert_eq!(
        message.matches(": ").count(),
        1,
        "one cause, not the chain: {message}"
    );
    // The whole chain is still there for a host that wants it.
    let mut causes = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    // First the transport's own error, then reqwest's whole chain behind it.
    assert!(causes.len() >= 3, "{causes:?}");
    assert!(
        causes
            .iter()
            .any(|cause| cause.contains("error sending request")),
        "{causes:?}"
    );
}
