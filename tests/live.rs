//! Live conformance suite against the real API (or any OpenAI-compatible server).
//!
//! The suite is one `#[ignore]`d test, so a plain `cargo test` reports it as ignored, never as
//! passed. Run it with `--ignored` and FIREWORKS_API_KEY, or FIREWORKS_BASE_URL for a server
//! that needs no key; FIREWORKS_MODEL_ID picks the chat model and FIREWORKS_REASONING_MODEL_ID
//! the reasoning one (default: the chat model off Fireworks, `deepseek-v4-flash` on it), and
//! FIREWORKS_LIVE_ONLY=<check> runs one check:
//!
//!     FIREWORKS_API_KEY=fw_... cargo test --test live -- --ignored --nocapture
//!
//! Only the crate's own behaviour fails the suite. What depends on the model or the server (a
//! small model that does not know the answer, makes no tool call, a server that checks no key)
//! skips that check with its reason; the summary at the end says how many checks passed and how
//! many were skipped, and why.
//!
//! Each check asks for no more output than it needs, and stops reading once its verdict is
//! known (dropping the stream cancels the request), so that the suite runs in well under two
//! minutes on a small local model.

use std::future::Future;
use std::pin::Pin;

use fireworks_provider::{
    ApiChunk, ChatRequest, Error, FinishReason, FireworksProvider, FireworksSettings, LlmProvider,
    Message, ToolSpec, Turn,
};
use futures::StreamExt;
use serde_json::json;

/// What a check found: the crate did its part, or the model or server kept it from telling.
enum Verdict {
    Passed,
    Skipped(String),
}

type Check = fn(FireworksSettings) -> Pin<Box<dyn Future<Output = Verdict>>>;

#[tokio::test]
#[ignore = "needs FIREWORKS_API_KEY or FIREWORKS_BASE_URL; run with --ignored"]
async fn live_suite() {
    let checks: [(&str, Check); 6] = [
        ("plain_answer", |s| Box::pin(plain_answer(s))),
        ("reasoning_split", |s| Box::pin(reasoning_split(s))),
        ("tool_round_trip", |s| Box::pin(tool_round_trip(s))),
        ("bad_key", |s| Box::pin(bad_key(s))),
        ("unknown_model", |s| Box::pin(unknown_model(s))),
        ("oversized_prompt", |s| Box::pin(oversized_prompt(s))),
    ];
    let only = std::env::var("FIREWORKS_LIVE_ONLY").ok();
    let settings = live_settings();
    let mut skipped = Vec::new();
    let mut passed = 0;
    for (name, check) in checks {
        if only.as_deref().is_some_and(|only| only != name) {
            continue;
        }
        match check(settings.clone()).await {
            Verdict::Passed => {
                passed += 1;
                eprintln!("live {name}: passed");
            }
            Verdict::Skipped(reason) => {
                eprintln!("live {name}: SKIPPED: {reason}");
                skipped.push((name, reason));
            }
        }
    }
    eprintln!(
        "\nlive summary against {} ({}): {passed} passed, {} skipped",
        settings.base_url(),
        settings.model_id(),
        skipped.len()
    );
    for (name, reason) in &skipped {
        eprintln!("  skipped {name}: {reason}");
    }
}

/// Settings from the environment; a run without them fails, saying what to set.
fn live_settings() -> FireworksSettings {
    let configured = ["FIREWORKS_API_KEY", "FIREWORKS_BASE_URL"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.is_empty()));
    assert!(
        configured,
        "the live suite needs FIREWORKS_API_KEY or FIREWORKS_BASE_URL"
    );
    FireworksSettings::from_env().expect("live settings")
}

/// `text` cut to a line's worth, for skip messages.
fn short(text: &str) -> String {
    const MAX: usize = 80;
    let text = text.trim();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}… ({} bytes)", &text[..cut], text.len()),
        None => format!("{text:?}"),
    }
}

/// The model a request for `provider`'s model reaches, for skip messages: the id sent, or the
/// one model a server lists when it does not list that id (llama.cpp serves its own model
/// whatever the request names).
async fn served_model(provider: &FireworksProvider) -> String {
    let sent = provider.model().id.clone();
    match provider.list_models().await.as_deref() {
        Ok([only]) if only.id != sent => format!("{} (asked for {sent})", only.id),
        _ => sent,
    }
}

/// The stream's first item that is not a retry notice, the rest left unread (the request is
/// cancelled when the stream drops).
async fn first_item(
    provider: &FireworksProvider,
    request: ChatRequest,
) -> Option<Result<ApiChunk, Error>> {
    let mut stream = provider.create_message(request);
    while let Some(item) = stream.next().await {
        if !matches!(item, Ok(ApiChunk::Retrying { .. })) {
            return Some(item);
        }
    }
    None
}

/// The whole turn; the stream's own checks (one `Finish`, last) are the crate's, and no
/// reasoning markup may reach the answer.
async fn turn(provider: &FireworksProvider, request: ChatRequest) -> Turn {
    let turn = Turn::collect(provider.create_message(request))
        .await
        .unwrap_or_else(|err| panic!("live request failed: {err}"));
    for block in &turn.message.content {
        let text = format!("{block:?}");
        assert!(
            !text.contains("<think>") && !text.contains("</think>"),
            "{text}"
        );
    }
    turn
}

fn answer_of(turn: &Turn) -> String {
    turn.message
        .content
        .iter()
        .filter_map(|block| match block {
            fireworks_provider::ContentBlock::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn reasoning_of(turn: &Turn) -> String {
    turn.message
        .content
        .iter()
        .filter_map(|block| match block {
            fireworks_provider::ContentBlock::Reasoning { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

async fn plain_answer(settings: FireworksSettings) -> Verdict {
    // A word, and room for a small model's preamble.
    let provider = FireworksProvider::new(settings.with_max_tokens(32)).expect("provider");
    let request = ChatRequest::new(
        "Answer in one word.",
        vec![Message::user("What is the capital of France?")],
    );
    let turn = turn(&provider, request).await;
    let text = answer_of(&turn);
    let reasoning = reasoning_of(&turn);
    assert!(
        !text.trim().is_empty() || !reasoning.is_empty() || turn.finish == FinishReason::Length,
        "no output at all: {turn:?}"
    );
    let Some(usage) = &turn.usage else {
        return Verdict::Skipped("the server sent no usage".into());
    };
    assert!(usage.input_tokens > 0, "{usage:?}");
    if !text.to_lowercase().contains("paris") {
        let model = served_model(&provider).await;
        return Verdict::Skipped(format!(
            "{model} did not answer \"Paris\" in 32 tokens but {}",
            short(&text)
        ));
    }
    Verdict::Passed
}

async fn reasoning_split(settings: FireworksSettings) -> Verdict {
    let on_fireworks = settings.base_url() == fireworks_provider::DEFAULT_BASE_URL;
    let model = std::env::var("FIREWORKS_REASONING_MODEL_ID")
        .ok()
        .filter(|id| !id.trim().is_empty())
        .or_else(|| on_fireworks.then(|| "accounts/fireworks/models/deepseek-v4-flash".into()));
    let base = FireworksProvider::new(settings.with_max_tokens(512)).expect("provider");
    let provider = match &model {
        Some(model) => base.with_model(model).expect("reasoning model"),
        None => base,
    };
    let request = ChatRequest::new("", vec![Message::user("Is 91 prime? Answer yes or no.")]);
    let mut stream = provider.create_message(request);
    let mut turn = fireworks_provider::TurnBuilder::new();
    let (mut reasoning, mut answer) = (false, false);
    while let Some(item) = stream.next().await {
        match item {
            Err(Error::ModelNotFound(api)) => {
                let named = api.model().unwrap_or(&provider.model().id).to_owned();
                return Verdict::Skipped(format!("this server has no {named}"));
            }
            Err(err) => panic!("live request failed: {err}"),
            Ok(chunk) => {
                reasoning |= matches!(chunk, ApiChunk::Reasoning(_));
                answer |= matches!(&chunk, ApiChunk::Text(t) if !t.trim().is_empty());
                turn.push(&chunk);
            }
        }
        if reasoning && answer {
            // Both seen, in their own chunks: the verdict is in; the rest is not read.
            return Verdict::Passed;
        }
    }
    let turn = turn.finish().expect("a finished turn");
    let model = served_model(&provider).await;
    if !reasoning {
        return Verdict::Skipped(format!(
            "{model} showed no reasoning on this server; it answered {}",
            short(&answer_of(&turn))
        ));
    }
    Verdict::Skipped(format!(
        "{model} spent its 512 tokens on reasoning: {}",
        short(&reasoning_of(&turn))
    ))
}

async fn tool_round_trip(settings: FireworksSettings) -> Verdict {
    let provider = FireworksProvider::new(settings.with_max_tokens(256)).expect("provider");
    let tool = ToolSpec::new(
        "get_weather",
        "Current weather for a city",
        json!({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}),
    );
    let question = Message::user("What is the weather in Paris? Use the tool.");
    let request = ChatRequest::new("", vec![question.clone()]).with_tools(vec![tool.clone()]);
    let first = turn(&provider, request).await;
    let Some(call) = first.tool_calls.first() else {
        let model = served_model(&provider).await;
        return Verdict::Skipped(format!(
            "{model} answered without calling the tool: {}",
            short(&answer_of(&first))
        ));
    };
    assert_eq!(first.finish, FinishReason::ToolCalls);
    let arguments = match call.parse_arguments() {
        Ok(arguments) => arguments,
        Err(_) => {
            let model = served_model(&provider).await;
            return Verdict::Skipped(format!(
                "{model} wrote arguments that are not JSON: {}",
                short(&call.arguments)
            ));
        }
    };
    let follow_up = ChatRequest::new(
        "",
        vec![
            question,
            first.message.clone(),
            Message::tool_result(call.id.clone(), "18°C and sunny"),
        ],
    )
    .with_tools(vec![tool]);
    let second = turn(&provider, follow_up).await;
    let text = answer_of(&second);
    if !text.contains("18") {
        let model = served_model(&provider).await;
        return Verdict::Skipped(format!(
            "{model} did not use the tool's result (called with {}): {}",
            short(&arguments.to_string()),
            short(&text)
        ));
    }
    Verdict::Passed
}

async fn bad_key(settings: FireworksSettings) -> Verdict {
    let bad = FireworksSettings::new("fw_not_a_real_key", settings.model_id())
        .with_base_url(settings.base_url())
        .with_max_tokens(1);
    let provider = FireworksProvider::new(bad).expect("provider");
    let request = ChatRequest::new("", vec![Message::user("hi")]);
    match first_item(&provider, request).await {
        Some(Err(Error::Auth(api))) => {
            assert!(!api.message.is_empty());
            Verdict::Passed
        }
        Some(Ok(_)) => Verdict::Skipped(format!("{} does not check keys", settings.base_url())),
        other => panic!("{other:?}"),
    }
}

async fn unknown_model(settings: FireworksSettings) -> Verdict {
    let missing = "accounts/fireworks/models/no-such-model-9f3";
    let provider = FireworksProvider::new(settings.with_max_tokens(1))
        .and_then(|provider| provider.with_model(missing))
        .expect("provider");
    let request = ChatRequest::new("", vec![Message::user("hi")]);
    match first_item(&provider, request).await {
        Some(Err(error @ Error::ModelNotFound(_))) => {
            assert!(
                error.to_string().contains(missing),
                "names the model sent: {error}"
            );
            Verdict::Passed
        }
        Some(Ok(_)) => {
            let model = served_model(&provider).await;
            Verdict::Skipped(format!(
                "this server ignores the model id: it answered {missing} with {model}"
            ))
        }
        other => panic!("{other:?}"),
    }
}

async fn oversized_prompt(settings: FireworksSettings) -> Verdict {
    let mut provider = FireworksProvider::new(settings.with_max_tokens(1)).expect("provider");
    // The window the server reports (or the catalog's), twice over: each word is a token at
    // least.
    // A server without a listing keeps the configured or default window.
    let _ = provider.refresh_model_info().await;
    let window = provider.model().context_window;
    let huge = "lorem ".repeat(2 * window as usize);
    let request = ChatRequest::new("", vec![Message::user(huge)]);
    match first_item(&provider, request).await {
        Some(Err(Error::ContextWindowExceeded { error, .. })) => {
            assert!(!error.message.is_empty());
            Verdict::Passed
        }
        // Some servers truncate the prompt instead of refusing it.
        Some(Ok(_)) => Verdict::Skipped(format!(
            "{} accepted (truncated) a prompt of twice its {window}-token window",
            served_model(&provider).await
        )),
        other => panic!("expected ContextWindowExceeded, got {other:?}"),
    }
}
