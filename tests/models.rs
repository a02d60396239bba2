//! Model info, the `/models` listing and embeddings, against our loopback server.

mod support;

use fireworks_provider::{
    Error, FireworksProvider, FireworksSettings, LlmProvider, RemoteModel, RetryPolicy,
};
use serde_json::json;
use support::server::{Reply, TestServer};

fn provider(server: &TestServer, model: &str) -> FireworksProvider {
    FireworksProvider::new(
        FireworksSettings::new("fw_models_key", model)
            .with_base_url(server.base_url())
            .with_retry_policy(RetryPolicy::none()),
    )
    .unwrap()
}

#[tokio::test]
async fn known_models_report_catalog_numbers_and_unknown_ones_only_their_settings() {
    let server = TestServer::start(vec![Reply::json(200, "{}")]).await;
    let known = provider(&server, "accounts/fireworks/models/deepseek-v4-flash");
    let info = known.model();
    assert_eq!(info.id, "accounts/fireworks/models/deepseek-v4-flash");
    assert_eq!((info.context_window, info.max_tokens), (1_000_000, 384_000));
    assert_eq!(
        (info.input_price, info.output_price, info.cache_read_price),
        (Some(0.14), Some(0.28), Some(0.028))
    );
    let unknown = FireworksProvider::new(
        FireworksSettings::new("k", "accounts/someone/models/custom-7b")
            .with_context_window(32_000),
    )
    .unwrap();
    let info = unknown.model();
    assert_eq!(info.id, "accounts/someone/models/custom-7b");
    assert_eq!(info.context_window, 32_000);
    assert_eq!(info.max_tokens, 8_192);
    assert_eq!((info.input_price, info.output_price), (None, None));
}

#[tokio::test]
async fn list_models_returns_what_the_server_says() {
    let listing = json!({"object": "list", "data": [
        {"id": "accounts/fireworks/models/kimi-k2p6", "object": "model", "owned_by": "fireworks",
         "context_length": 262000, "supports_chat": true, "supports_image_input": true, "supports_tools": true},
        {"id": "accounts/fireworks/models/nomic-embed", "object": "model"}
    ]});
    let server = TestServer::start(vec![Reply::json(200, listing.to_string())]).await;
    let models = provider(&server, "kimi-k2p6").list_models().await.unwrap();
    assert_eq!(
        models[0],
        RemoteModel {
            id: "accounts/fireworks/models/kimi-k2p6".into(),
            context_length: Some(262000),
            supports_chat: Some(true),
            supports_image_input: Some(true),
            supports_tools: Some(true),
        }
    );
    assert_eq!(models[1].context_length, None);
    let request = &server.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/inference/v1/models")
    );
    assert_eq!(
        request.header("authorization"),
        Some("Bearer fw_models_key")
    );
}

#[tokio::test]
async fn list_models_errors_are_typed() {
    let server =
        TestServer::start(vec![Reply::json(401, r#"{"error":{"message":"bad key"}}"#)]).await;
    let error = provider(&server, "kimi-k2p6")
        .list_models()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Auth(_)), "{error:?}");
}

fn embedding_reply(first_index: usize, count: usize, reversed: bool) -> Reply {
    let mut data: Vec<_> = (0..count)
        .map(|i| json!({"object": "embedding", "index": i, "embedding": [(first_index + i) as f32, 0.5]}))
        .collect();
    if reversed {
        data.reverse();
    }
    Reply::json(
        200,
        json!({"object": "list", "data": data, "usage": {"prompt_tokens": count * 3, "total_tokens": count * 3}})
            .to_string(),
    )
}

#[tokio::test]
async fn embeddings_come_back_in_input_order_over_batches() {
    let server = TestServer::start(vec![
        embedding_reply(0, 2, true),
        embedding_reply(2, 2, false),
        embedding_reply(4, 1, false),
    ])
    .await;
    let embedder = provider(&server, "kimi-k2p6")
        .embedder("nomic-ai/nomic-embed-text-v1.5")
        .with_batch_size(2);
    let inputs: Vec<String> = (0..5).map(|i| format!("text {i}")).collect();
    let embeddings = embedder.embed(&inputs).await.unwrap();
    let firsts: Vec<f32> = embeddings.vectors.iter().map(|v| v[0]).collect();
    assert_eq!(firsts, [0.0, 1.0, 2.0, 3.0, 4.0]);
    assert_eq!(embeddings.input_tokens, 15);
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].path, "/inference/v1/embeddings");
    assert_eq!(
        requests[0].json(),
        json!({"model": "nomic-ai/nomic-embed-text-v1.5", "input": ["text 0", "text 1"]})
    );
    assert_eq!(requests[2].json()["input"], json!(["text 4"]));
}

#[tokio::test]
async fn embedding_errors_and_short_answers_are_reported() {
    let server = TestServer::start(vec![Reply::json(
        404,
        r#"{"error":{"message":"Model not found, inaccessible, and/or not deployed"}}"#,
    )])
    .await;
    let embedder = provider(&server, "kimi-k2p6").embedder("nomic-ai/missing");
    let error = embedder.embed(&["a".to_owned()]).await.unwrap_err();
    assert!(matches!(error, Error::ModelNotFound(_)), "{error:?}");

    let server = TestServer::start(vec![embedding_reply(0, 1, false)]).await;
    let embedder = provider(&server, "kimi-k2p6").embedder("nomic-ai/nomic-embed-text-v1.5");
    let error = embedder
        .embed(&["a".to_owned(), "b".to_owned()])
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Decode { message } if message.contains("1 embeddings for a batch of 2")),
        "{error:?}"
    );
}
