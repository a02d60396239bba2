//! Model info, the `/models` listing and embeddings, against our loopback server.

use std::time::Duration;

use crate::support;
use crate::support::server::{Reply, Step, TestServer};
use fireworks_provider::{
    ChatRequest, Error, FireworksProvider, FireworksSettings, LlmProvider, MAX_RESPONSE_BYTES,
    Message, ModelInfo, RetryPolicy, ScriptedReply, TimeoutKind, Timeouts,
};
use futures::StreamExt;
use serde_json::json;

/// A call that has not ended after this long is hung; every configured timeout here is a
/// fraction of it.
const HANG: Duration = Duration::from_secs(20);

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
    let first = &models[0];
    assert_eq!(
        (
            first.id.as_str(),
            first.context_length,
            first.supports_chat,
            first.supports_image_input,
            first.supports_tools
        ),
        (
            "accounts/fireworks/models/kimi-k2p6",
            Some(262000),
            Some(true),
            Some(true),
            Some(true)
        )
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
        matches!(&error, Error::Decode { message, .. } if message.contains("1 embeddings for a batch of 2")),
        "{error:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_trickling_listing_or_embedding_ends_at_the_non_streaming_deadline() {
    let timeouts = Timeouts::default().with_non_streaming(Duration::from_millis(400));
    let body = json!({"object": "list", "data": [{"id": "m".repeat(500)}]}).to_string();
    // One byte every 20 ms: the whole body would take about 10 s.
    let trickle = support::trickle(
        ScriptedReply::status(200).with_header("content-type", "application/json"),
        body.as_bytes(),
        Duration::from_millis(20),
    );
    let transport = support::transport([trickle.clone(), trickle]);
    let provider = FireworksProvider::new(
        FireworksSettings::new("fw_models_key", "my-model")
            .with_transport(transport)
            .with_retry_policy(RetryPolicy::none())
            .with_timeouts(timeouts),
    )
    .unwrap();
    let listing = tokio::time::timeout(HANG, provider.list_models()).await;
    let embedding =
        tokio::time::timeout(HANG, provider.embedder("e").embed(&["a".to_owned()])).await;
    for result in [listing.map(|r| r.map(drop)), embedding.map(|r| r.map(drop))] {
        match result.expect("the call hung") {
            Err(Error::Timeout {
                kind: TimeoutKind::NonStreaming,
                after,
            }) => assert_eq!(after, Duration::from_millis(400)),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn a_listing_larger_than_the_limit_is_refused() {
    let piece = vec![b' '; 1 << 20];
    let pieces = MAX_RESPONSE_BYTES / piece.len() + 1;
    let server = TestServer::start(vec![Reply {
        steps: vec![
            Step::Send(b"{\"data\":[".to_vec()),
            Step::SendRepeated(piece, pieces),
        ],
        ..Reply::json(200, "")
    }])
    .await;
    let error = provider(&server, "my-model")
        .list_models()
        .await
        .unwrap_err();
    match &error {
        Error::Decode { message, .. } => {
            assert!(
                message.contains(&MAX_RESPONSE_BYTES.to_string()),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
}

fn listing(models: serde_json::Value) -> Reply {
    Reply::json(200, json!({"object": "list", "data": models}).to_string())
}

#[tokio::test]
async fn refresh_model_info_fills_an_unknown_model_from_the_listing() {
    let server = TestServer::start(vec![listing(json!([
        {"id": "other", "context_length": 1000},
        {"id": "qwen3:0.6b", "context_length": 40960, "supports_image_input": false, "supports_tools": false},
    ]))])
    .await;
    let mut provider = provider(&server, "qwen3:0.6b");
    assert_eq!(
        provider.model().context_window,
        ModelInfo::DEFAULT_CONTEXT_WINDOW
    );
    let info = provider.refresh_model_info().await.unwrap();
    assert_eq!(info.id, "qwen3:0.6b");
    assert_eq!(info.context_window, 40_960);
    assert_eq!(info.max_tokens, ModelInfo::DEFAULT_MAX_TOKENS);
    assert!(!info.supports_images && !info.supports_tools);
    assert_eq!(info.input_price, None);
    assert_eq!(provider.model().context_window, 40_960);
    assert_eq!(server.requests()[0].path, "/inference/v1/models");

    // The settings still win over the listing.
    let mut provider = FireworksProvider::new(
        FireworksSettings::new("k", "qwen3:0.6b")
            .with_base_url(server.base_url())
            .with_context_window(8192)
            .with_images(true),
    )
    .unwrap();
    let info = provider.refresh_model_info().await.unwrap();
    assert_eq!(info.context_window, 8192);
    assert!(info.supports_images && !info.supports_tools);
}

/// The recorded listing `tests/fixtures/servers/<name>.json`, served as a `/models` answer.
fn recorded_listing(name: &str) -> Reply {
    let path = format!(
        "{}/tests/fixtures/servers/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    Reply::json(200, std::fs::read_to_string(&path).unwrap())
}

/// A keyless provider for `model` at the loopback server, as a host of a local server sets
/// it up.
fn local_provider(server: &TestServer, model: &str) -> FireworksProvider {
    let config = json!({"baseUrl": server.base_url(), "modelId": model});
    let settings: FireworksSettings = serde_json::from_value(config).unwrap();
    FireworksProvider::new(settings.with_retry_policy(RetryPolicy::none())).unwrap()
}

#[tokio::test]
async fn refresh_model_info_reads_each_servers_listing() {
    for (fixture, model, context_window) in [
        // llama.cpp: the context the server runs with, not the one the model was trained for.
        ("llamacpp_models", "qwen3-0.6b", 8192),
        // ... by an alias too, and by any name (it serves one model whatever the name).
        ("llamacpp_models", "qwen3", 8192),
        ("llamacpp_models", "whatever-the-host-calls-it", 8192),
        // An older llama.cpp lists only the trained context.
        (
            "llamacpp_models_n_ctx_train",
            "gemma-3-1b-it-Q4_K_M.gguf",
            32_768,
        ),
        ("vllm_models", "Qwen/Qwen3-8B", 32_768),
        ("vllm_models", "my-lora", 32_768),
    ] {
        let server = TestServer::start(vec![recorded_listing(fixture)]).await;
        let mut provider = local_provider(&server, model);
        let info = provider.refresh_model_info().await.unwrap();
        assert_eq!(info.context_window, context_window, "{fixture}: {model}");
        assert_eq!(info.id, model, "the id sent stays the host's");
    }
    // vLLM serves only the names it lists.
    let server = TestServer::start(vec![recorded_listing("vllm_models")]).await;
    let mut provider = local_provider(&server, "Qwen/Qwen3-4B");
    let info = provider.refresh_model_info().await.unwrap();
    assert_eq!(info.context_window, ModelInfo::DEFAULT_CONTEXT_WINDOW);
}

#[tokio::test]
async fn list_models_lists_llamacpps_model_once_with_its_context() {
    let server = TestServer::start(vec![recorded_listing("llamacpp_models")]).await;
    let models = local_provider(&server, "qwen3-0.6b")
        .list_models()
        .await
        .unwrap();
    assert_eq!(models.len(), 1, "{models:?}");
    assert_eq!(models[0].id, "qwen3-0.6b");
    assert_eq!(models[0].context_length, Some(8192));
    assert_eq!(models[0].aliases, ["qwen3"]);
    assert_eq!(models[0].owned_by.as_deref(), Some("llamacpp"));
    // Only the Ollama-style list: still read.
    let server = TestServer::start(vec![Reply::json(
        200,
        json!({"models": [{"name": "a", "model": "a"}]}).to_string(),
    )])
    .await;
    let models = local_provider(&server, "a").list_models().await.unwrap();
    assert_eq!(models[0].id, "a");
    // Neither list: an error saying so.
    let server = TestServer::start(vec![Reply::json(200, "{}")]).await;
    let err = local_provider(&server, "a")
        .list_models()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("neither `data` nor `models`"),
        "{err}"
    );
}

#[tokio::test]
async fn refresh_model_info_leaves_known_and_unlisted_models_alone() {
    let server = TestServer::start(vec![listing(json!([
        {"id": "accounts/fireworks/models/kimi-k2p6", "context_length": 1000},
    ]))])
    .await;
    let mut known = provider(&server, "accounts/fireworks/models/kimi-k2p6");
    assert_eq!(
        known.refresh_model_info().await.unwrap().context_window,
        262_000
    );
    assert!(
        server.requests().is_empty(),
        "the catalog knows it: nothing asked"
    );
    let mut unlisted = provider(&server, "not-listed");
    let info = unlisted.refresh_model_info().await.unwrap();
    assert_eq!(info.context_window, ModelInfo::DEFAULT_CONTEXT_WINDOW);
}

#[tokio::test]
async fn host_prices_give_any_model_a_cost() {
    let server = TestServer::start(vec![Reply::sse(support::fixture("plain_answer"))]).await;
    let id = "accounts/fireworks/models/glm-5p1#accounts/me/deployments/abc";
    let provider = FireworksProvider::new(
        FireworksSettings::new("k", id)
            .with_base_url(server.base_url())
            .with_prices(2.0, 8.0, None),
    )
    .unwrap();
    let info = provider.model();
    assert_eq!(info.max_tokens, 131_072, "the catalog's limits stay");
    assert_eq!(
        (info.input_price, info.output_price, info.cache_read_price),
        (Some(2.0), Some(8.0), None)
    );
    let items: Vec<_> = provider
        .create_message(ChatRequest::new("", vec![Message::user("hi")]))
        .collect()
        .await;
    let usage = support::usage(&items).expect("usage");
    let expected = (usage.input_tokens as f64 * 2.0 + usage.output_tokens as f64 * 8.0) / 1e6;
    assert_eq!(usage.total_cost, Some(expected));

    let refused = FireworksSettings::new("k", id).with_prices(-1.0, 8.0, None);
    assert!(
        matches!(FireworksProvider::new(refused), Err(Error::Config(m)) if m.contains("prices"))
    );
}
