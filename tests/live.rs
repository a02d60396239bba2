//! Live conformance suite against the real API (or any OpenAI-compatible server).
//!
//! Every test here is `#[ignore]`d, so a plain `cargo test` reports them as ignored, never as
//! passed. Run them with `--ignored` and FIREWORKS_API_KEY (or FIREWORKS_BASE_URL for a server
//! that needs no key) set; FIREWORKS_MODEL_ID picks the chat model and
//! FIREWORKS_REASONING_MODEL_ID the reasoning one:
//!
//!     FIREWORKS_API_KEY=fw_... cargo test --test live -- --ignored --nocapture --test-threads 1
//!
//! Only the crate's own behaviour fails a test. What depends on the model or the server (a
//! small model that does not know the answer, makes no tool call, a server that checks no key)
//! is skipped with a printed reason.

use fireworks_provider::{
    ApiChunk, ChatRequest, ContentBlock, Error, FinishReason, FireworksProvider, FireworksSettings,
    LlmProvider, Message, Role, ToolSpec,
};
use futures::StreamExt;
use serde_json::json;

/// Why every test here is ignored unless asked for.
const NEEDS: &str = "needs FIREWORKS_API_KEY or FIREWORKS_BASE_URL; run with --ignored";

/// Settings from the environment; a test run without them fails, saying what to set.
fn live_settings() -> FireworksSettings {
    let configured = ["FIREWORKS_API_KEY", "FIREWORKS_BASE_URL"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.is_empty()));
    assert!(configured, "the live suite {NEEDS}");
    FireworksSettings::from_lookup(|name| match (name, std::env::var(name)) {
        ("FIREWORKS_API_KEY", Err(_)) => Some("none".into()),
        (_, value) => value.ok(),
    })
    .expect("live settings")
    .with_max_tokens(2048)
}

/// Says why a check that depends on the model or the server was not made.
fn skip(reason: &str) {
    eprintln!("skipped: {reason}");
}

/// The stream ended the way every stream must: its items in order, `Finish` last, no reasoning
/// markup in the answer.
fn assert_well_formed(items: &[Result<ApiChunk, Error>]) {
    assert!(
        matches!(items.last(), Some(Ok(ApiChunk::Finish(_)))),
        "{:?}",
        items.last()
    );
    let finishes = items
        .iter()
        .filter(|i| matches!(i, Ok(ApiChunk::Finish(_))))
        .count();
    assert_eq!(finishes, 1, "one Finish");
    let (reasoning, text) = texts(items);
    for part in [&reasoning, &text] {
        assert!(
            !part.contains("<think>") && !part.contains("</think>"),
            "{part}"
        );
    }
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
#[ignore = "needs FIREWORKS_API_KEY or FIREWORKS_BASE_URL; run with --ignored"]
async fn live_plain_answer() {
    let items = complete(
        live_settings(),
        ChatRequest::new(
            "Answer in one word.",
            vec![Message::user("What is the capital of France?")],
        ),
    )
    .await;
    assert_well_formed(&items);
    let (_, text) = texts(&items);
    assert!(!text.trim().is_empty(), "an answer");
    if !text.to_lowercase().contains("paris") {
        skip(&format!("the model did not answer \"Paris\" but {text:?}"));
    }
    let usage = items.iter().find_map(|i| match i {
        Ok(ApiChunk::Usage(u)) => Some(u),
        _ => None,
    });
    match usage {
        Some(usage) => assert!(usage.input_tokens > 0, "{usage:?}"),
        None => skip("the server sent no usage"),
    }
}

#[tokio::test]
#[ignore = "needs FIREWORKS_API_KEY or FIREWORKS_BASE_URL; run with --ignored"]
async fn live_reasoning_model_splits_reasoning_from_the_answer() {
    live_settings();
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
        skip(&format!("this server has no {model}"));
        return;
    }
    assert_well_formed(&items);
    let (reasoning, text) = texts(&items);
    if text.trim().is_empty() {
        skip(&format!("{model} spent its output on reasoning"));
    }
    if reasoning.is_empty() {
        skip(&format!("{model} showed no reasoning on this server"));
    }
}

#[tokio::test]
#[ignore = "needs FIREWORKS_API_KEY or FIREWORKS_BASE_URL; run with --ignored"]
async fn live_tool_round_trip() {
    let settings = live_settings();
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
    assert_well_formed(&items);
    let Some(call) = calls.first() else {
        skip("the model answered without calling the tool");
        return;
    };
    assert!(matches!(
        items.last(),
        Some(Ok(ApiChunk::Finish(FinishReason::ToolCalls)))
    ));
    let Ok(arguments) = call.parse_arguments() else {
        skip(&format!(
            "the model wrote arguments that are not JSON: {}",
            call.arguments
        ));
        return;
    };
    if !arguments["city"].is_string() {
        skip(&format!("the model left out the city: {arguments}"));
    }
    let follow_up = ChatRequest::new(
        "",
        vec![
            question,
            Message {
                role: Role::Assistant,
                content: vec![ContentBlock::ToolUse {
                    id: call.id.clone(),
                    name: call.name.clone(),
                    input: arguments,
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
    let items = complete(settings, follow_up).await;
    assert_well_formed(&items);
    let (_, text) = texts(&items);
    if !text.contains("18") {
        skip(&format!(
            "the model did not use the tool's result: {text:?}"
        ));
    }
}

#[tokio::test]
#[ignore = "needs FIREWORKS_API_KEY or FIREWORKS_BASE_URL; run with --ignored"]
async fn live_bad_key_is_an_auth_error() {
    let settings = live_settings();
    let bad = FireworksSettings::new("fw_not_a_real_key", settings.model_id())
        .with_base_url(settings.base_url());
    let items = complete(bad, ChatRequest::new("", vec![Message::user("hi")])).await;
    match items.first() {
        Some(Err(Error::Auth(api))) => assert!(!api.message.is_empty()),
        Some(Ok(_)) => skip("this server does not check keys"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
#[ignore = "needs FIREWORKS_API_KEY or FIREWORKS_BASE_URL; run with --ignored"]
async fn live_unknown_model_is_model_not_found() {
    let settings = live_settings();
    let key = std::env::var("FIREWORKS_API_KEY").unwrap_or_else(|_| "none".into());
    let unknown = FireworksSettings::new(key, "accounts/fireworks/models/no-such-model-9f3")
        .with_base_url(settings.base_url());
    let items = complete(unknown, ChatRequest::new("", vec![Message::user("hi")])).await;
    match items.first() {
        Some(Err(Error::ModelNotFound(_))) => {}
        Some(Ok(_)) => skip("this server ignores the model id"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
#[ignore = "needs FIREWORKS_API_KEY or FIREWORKS_BASE_URL; run with --ignored"]
async fn live_oversized_prompt_is_context_window_exceeded() {
    let settings = live_settings();
    // Far past any context window: about 2.5 million tokens.
    let huge = "lorem ipsum dolor sit amet ".repeat(500_000);
    let items = complete(settings, ChatRequest::new("", vec![Message::user(huge)])).await;
    match items.first() {
        Some(Err(Error::ContextWindowExceeded { error, .. })) => assert!(!error.message.is_empty()),
        // Some servers truncate the prompt instead of refusing it.
        Some(Ok(_)) => skip("this server accepted (truncated) the prompt"),
        other => panic!("expected ContextWindowExceeded, got {other:?}"),
    }
}
