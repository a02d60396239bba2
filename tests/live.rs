//! Live conformance suite against the real API (or any OpenAI-compatible server).
//!
//! Skipped unless FIREWORKS_API_KEY or FIREWORKS_BASE_URL is set; FIREWORKS_MODEL_ID picks the
//! chat model and FIREWORKS_REASONING_MODEL_ID the reasoning one. Against a server that cannot
//! do something (no auth, no reasoning model), that check says so and passes:
//!
//!     FIREWORKS_API_KEY=fw_... cargo test --test live -- --nocapture --test-threads 1

use fireworks_provider::{
    ApiChunk, ChatRequest, ContentBlock, Error, FinishReason, FireworksProvider, FireworksSettings,
    LlmProvider, Message, Role, ToolSpec,
};
use futures::StreamExt;
use serde_json::json;

/// Settings from the environment, or `None` (and a note) when the suite is not configured.
fn live_settings() -> Option<FireworksSettings> {
    let configured = ["FIREWORKS_API_KEY", "FIREWORKS_BASE_URL"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.is_empty()));
    if !configured {
        eprintln!("skipped: set FIREWORKS_API_KEY (or FIREWORKS_BASE_URL) to run the live suite");
        return None;
    }
    Some(
        FireworksSettings::from_lookup(|name| match (name, std::env::var(name)) {
            ("FIREWORKS_API_KEY", Err(_)) => Some("none".into()),
            (_, value) => value.ok(),
        })
        .expect("live settings")
        .with_max_tokens(2048),
    )
}

async fn complete(
    settings: FireworksSettings,
    request: ChatRequest,
) -> Vec<Result<ApiChunk, Error>> {
    let provider = FireworksProvider::new(settings).expect("provider");
    provider.create_message(request).collect().await
}

fn texts(items: &[Result<ApiChunk, Error>]) -> (String, String) {
    let (mut reasoning, mut text) = (String::new(), String::new());
    for item in items {
        match item {
            Ok(ApiChunk::Reasoning(r)) => reasoning.push_str(r),
            Ok(ApiChunk::Text(t)) => text.push_str(t),
            Err(err) => panic!("live request failed: {err}"),
            _ => {}
        }
    }
    (reasoning, text)
}

#[tokio::test]
async fn live_plain_answer() {
    let Some(settings) = live_settings() else {
        return;
    };
    let items = complete(
        settings,
        ChatRequest::new(
            "Answer in one word.",
            vec![Message::user("What is the capital of France?")],
        ),
    )
    .await;
    let (_, text) = texts(&items);
    assert!(text.to_lowercase().contains("paris"), "{text}");
    assert!(
        !text.contains("<think>") && !text.contains("</think>"),
        "{text}"
    );
    assert!(
        items
            .iter()
            .any(|i| matches!(i, Ok(ApiChunk::Usage(u)) if u.input_tokens > 0))
    );
    assert!(matches!(items.last(), Some(Ok(ApiChunk::Finish(_)))));
}

#[tokio::test]
async fn live_reasoning_model_splits_reasoning_from_the_answer() {
    if live_settings().is_none() {
        return;
    }
    let model = std::env::var("FIREWORKS_REASONING_MODEL_ID")
        .unwrap_or_else(|_| "accounts/fireworks/models/deepseek-v4-flash".into());
    let settings = FireworksSettings::from_lookup(|name| match name {
        "FIREWORKS_MODEL_ID" => Some(model.clone()),
        "FIREWORKS_API_KEY" => std::env::var(name).ok().or(Some("none".into())),
        _ => std::env::var(name).ok(),
    })
    .unwrap()
    .with_max_tokens(4096);
    let items = complete(
        settings,
        ChatRequest::new("", vec![Message::user("Is 391 prime? Answer yes or no.")]),
    )
    .await;
    if let Some(Err(Error::ModelNotFound(_))) = items.first() {
        eprintln!("skipped: this server has no {model}");
        return;
    }
    let (reasoning, text) = texts(&items);
    assert!(!text.trim().is_empty());
    assert!(!text.contains("<think>") && !reasoning.contains("<think>"));
    if reasoning.is_empty() {
        eprintln!("note: {model} showed no reasoning on this server");
    }
}

#[tokio::test]
async fn live_tool_round_trip() {
    let Some(settings) = live_settings() else {
        return;
    };
    let tool = ToolSpec {
        name: "get_weather".into(),
        description: "Current weather for a city".into(),
        input_schema: json!({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}),
    };
    let question = Message::user("What is the weather in Paris? Use the tool.");
    let request = ChatRequest::new("", vec![question.clone()]).with_tools(vec![tool.clone()]);
    let items = complete(settings.clone(), request).await;
    let calls: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            Ok(ApiChunk::ToolCall(call)) => Some(call.clone()),
            _ => None,
        })
        .collect();
    assert!(!calls.is_empty(), "no tool call: {items:?}");
    assert!(matches!(
        items.last(),
        Some(Ok(ApiChunk::Finish(FinishReason::ToolCalls)))
    ));
    let call = &calls[0];
    assert!(call.parse_arguments().unwrap()["city"].is_string());
    let follow_up = ChatRequest::new(
        "",
        vec![
            question,
            Message {
                role: Role::Assistant,
                content: vec![ContentBlock::ToolUse {
                    id: call.id.clone(),
                    name: call.name.clone(),
                    input: call.parse_arguments().unwrap(),
                }],
            },
            Message {
                role: Role::User,
                content: vec![ContentBlock::ToolResult {
                    tool_use_id: call.id.clone(),
                    content: vec![ContentBlock::Text {
                        text: "18°C and sunny".into(),
                    }],
                    is_error: false,
                }],
            },
        ],
    )
    .with_tools(vec![tool]);
    let (_, text) = texts(&complete(settings, follow_up).await);
    assert!(text.contains("18"), "{text}");
}

#[tokio::test]
async fn live_bad_key_is_an_auth_error() {
    let Some(settings) = live_settings() else {
        return;
    };
    let bad = FireworksSettings::new("fw_not_a_real_key", settings.model_id())
        .with_base_url(settings.base_url());
    let items = complete(bad, ChatRequest::new("", vec![Message::user("hi")])).await;
    match items.first() {
        Some(Err(Error::Auth(api))) => assert!(!api.message.is_empty()),
        Some(Ok(_)) => eprintln!("skipped: this server does not check keys"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn live_unknown_model_is_model_not_found() {
    let Some(settings) = live_settings() else {
        return;
    };
    let key = std::env::var("FIREWORKS_API_KEY").unwrap_or_else(|_| "none".into());
    let unknown = FireworksSettings::new(key, "accounts/fireworks/models/no-such-model-9f3")
        .with_base_url(settings.base_url());
    let items = complete(unknown, ChatRequest::new("", vec![Message::user("hi")])).await;
    match items.first() {
        Some(Err(Error::ModelNotFound(_))) => {}
        Some(Ok(_)) => eprintln!("skipped: this server ignores the model id"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn live_oversized_prompt_is_context_window_exceeded() {
    let Some(settings) = live_settings() else {
        return;
    };
    // Far past any context window: about 2.5 million tokens.
    let huge = "lorem ipsum dolor sit amet ".repeat(500_000);
    let items = complete(settings, ChatRequest::new("", vec![Message::user(huge)])).await;
    match items.first() {
        Some(Err(Error::ContextWindowExceeded { error, .. })) => assert!(!error.message.is_empty()),
        other => panic!("expected ContextWindowExceeded, got {other:?}"),
    }
}
