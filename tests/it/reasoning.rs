//! Reasoning as each model takes it, against our loopback server: the request bodies for every
//! reasoning form per model family (toggle only, effort lists, a budget) taken whole, refusals
//! before sending that name the model and what it accepts, reasoning sent back where the model
//! takes it, a catalog loaded at run time, dedicated deployments, and a turn whose answer came
//! only as reasoning.

use crate::support::fixture;
use crate::support::server::{Reply, TestServer};
use fireworks_provider::{
    ApiChunk, Catalog, ChatRequest, ContentBlock, Error, FireworksProvider, FireworksSettings,
    LlmProvider, Message, ModelStatus, ReasoningEffort, ReasoningHistory, RequestOptions,
    RetryPolicy, Role, Thinking, Turn,
};
use futures::StreamExt;
use serde_json::{Value, json};

const KEY: &str = "fw_reasoning_key";

fn settings(server: &TestServer, model: &str) -> FireworksSettings {
    FireworksSettings::new(KEY, model)
        .with_base_url(server.base_url())
        .with_retry_policy(RetryPolicy::none())
        .with_cache_affinity(false)
}

fn provider(server: &TestServer, model: &str) -> FireworksProvider {
    FireworksProvider::new(settings(server, model)).unwrap()
}

/// A one-message request with a pinned output cap (so bodies do not depend on estimates).
fn ask(options: RequestOptions) -> ChatRequest {
    ChatRequest::new("", vec![Message::user("2+2?")]).with_options(options.with_max_tokens(1000))
}

/// The body the server received for `options` on `model`.
async fn body_for(model: &str, options: RequestOptions) -> Value {
    let server = TestServer::start(vec![Reply::sse(fixture("plain_answer"))]).await;
    let items: Vec<_> = provider(&server, model)
        .create_message(ask(options))
        .collect()
        .await;
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    server.requests()[0].json()
}

/// The body of a request asking `2+2?` of `model`, with what reasoning adds.
fn golden(model: &str, temperature: Option<f64>, reasoning: Value) -> Value {
    let mut body = json!({
        "model": model,
        "messages": [{"role": "user", "content": "2+2?"}],
        "stream": true,
        "stream_options": {"include_usage": true},
        "max_tokens": 1000,
    });
    let fields = body.as_object_mut().unwrap();
    if let Some(temperature) = temperature {
        fields.insert("temperature".into(), json!(temperature));
    }
    fields.extend(reasoning.as_object().unwrap().clone());
    body
}

/// The refusal a request gets before anything is sent.
async fn refusal(model: &str, options: RequestOptions) -> String {
    let server = TestServer::start(vec![Reply::sse(fixture("plain_answer"))]).await;
    let items: Vec<_> = provider(&server, model)
        .create_message(ask(options))
        .collect()
        .await;
    assert!(server.requests().is_empty(), "nothing is sent");
    match &items[..] {
        [
            Err(Error::InvalidConversation {
                message_index: None,
                rule,
            }),
        ] => rule.clone(),
        other => panic!("expected one refusal, got {other:?}"),
    }
}

const KIMI: &str = "accounts/fireworks/models/kimi-k2p6";
const GPT_OSS: &str = "accounts/fireworks/models/gpt-oss-120b";
const DEEPSEEK: &str = "accounts/fireworks/models/deepseek-v4-pro";
const QWEN: &str = "accounts/fireworks/models/qwen3p7-plus";

#[tokio::test]
async fn toggle_only_models_are_turned_on_with_thinking_enabled() {
    let body = body_for(KIMI, RequestOptions::new().with_thinking(Thinking::Enabled)).await;
    assert_eq!(
        body,
        golden(KIMI, Some(1.0), json!({"thinking": {"type": "enabled"}}))
    );
    let router = "accounts/fireworks/routers/kimi-k2p6-turbo";
    let body = body_for(
        router,
        RequestOptions::new().with_thinking(Thinking::Enabled),
    )
    .await;
    assert_eq!(
        body,
        golden(router, Some(1.0), json!({"thinking": {"type": "enabled"}}))
    );
}

#[tokio::test]
async fn toggle_only_models_refuse_efforts_budgets_and_an_undocumented_off() {
    let accepts = r#"it accepts thinking {"type": "enabled"}"#;
    let low = refusal(
        KIMI,
        RequestOptions::new().with_reasoning_effort(ReasoningEffort::Low),
    )
    .await;
    assert_eq!(
        low,
        format!("model {KIMI} does not accept reasoning_effort \"low\"; {accepts}")
    );
    let off = refusal(
        KIMI,
        RequestOptions::new().with_reasoning_effort(ReasoningEffort::None),
    )
    .await;
    assert!(off.contains("reasoning_effort \"none\""), "{off}");
    let budget = refusal(
        "accounts/fireworks/models/glm-5p1",
        RequestOptions::new().with_thinking(Thinking::Budget(4096)),
    )
    .await;
    assert!(
        budget.contains("a thinking budget of 4096 tokens") && budget.contains(accepts),
        "{budget}"
    );
}

#[tokio::test]
async fn effort_models_get_reasoning_effort_from_their_list() {
    let body = body_for(
        GPT_OSS,
        RequestOptions::new().with_reasoning_effort(ReasoningEffort::Medium),
    )
    .await;
    assert_eq!(
        body,
        golden(GPT_OSS, Some(1.0), json!({"reasoning_effort": "medium"}))
    );
    let body = body_for(
        DEEPSEEK,
        RequestOptions::new().with_reasoning_effort(ReasoningEffort::Max),
    )
    .await;
    assert_eq!(
        body,
        golden(DEEPSEEK, None, json!({"reasoning_effort": "max"}))
    );
    let body = body_for(
        DEEPSEEK,
        RequestOptions::new().with_thinking(Thinking::Enabled),
    )
    .await;
    assert_eq!(
        body,
        golden(DEEPSEEK, None, json!({"thinking": {"type": "enabled"}})),
        "DeepSeek V4 also toggles"
    );
}

#[tokio::test]
async fn effort_models_refuse_values_off_their_list_naming_it() {
    let xhigh = refusal(
        DEEPSEEK,
        RequestOptions::new().with_reasoning_effort(ReasoningEffort::XHigh),
    )
    .await;
    assert_eq!(
        xhigh,
        format!(
            "model {DEEPSEEK} does not accept reasoning_effort \"xhigh\"; it accepts \
             reasoning_effort \"high\" | \"max\", thinking {{\"type\": \"enabled\"}}"
        )
    );
    let toggle = refusal(
        GPT_OSS,
        RequestOptions::new().with_thinking(Thinking::Enabled),
    )
    .await;
    assert!(
        toggle.ends_with(r#"it accepts reasoning_effort "low" | "medium" | "high""#),
        "{toggle}"
    );
}

#[tokio::test]
async fn budget_models_get_a_thinking_budget_from_the_documented_minimum() {
    let body = body_for(
        QWEN,
        RequestOptions::new().with_thinking(Thinking::Budget(2048)),
    )
    .await;
    assert_eq!(
        body,
        golden(
            QWEN,
            Some(0.6),
            json!({"thinking": {"type": "enabled", "budget_tokens": 2048}})
        )
    );
    let small = refusal(
        QWEN,
        RequestOptions::new().with_thinking(Thinking::Budget(512)),
    )
    .await;
    assert!(
        small.contains("a thinking budget of 512 tokens")
            && small.contains("a thinking budget_tokens of at least 1024"),
        "{small}"
    );
    let effort = body_for(
        QWEN,
        RequestOptions::new().with_reasoning_effort(ReasoningEffort::High),
    )
    .await;
    assert_eq!(effort["reasoning_effort"], "high");
}

#[tokio::test]
async fn an_unknown_model_is_sent_what_the_host_asked() {
    let model = "accounts/me/models/my-reasoner";
    let body = body_for(
        model,
        RequestOptions::new().with_thinking(Thinking::Budget(64)),
    )
    .await;
    assert_eq!(
        body,
        golden(
            model,
            None,
            json!({"thinking": {"type": "enabled", "budget_tokens": 64}})
        )
    );
    let body = body_for(
        model,
        RequestOptions::new()
            .with_reasoning_effort(ReasoningEffort::Minimal)
            .with_reasoning_history(ReasoningHistory::Interleaved),
    )
    .await;
    assert_eq!(
        body,
        golden(
            model,
            None,
            json!({"reasoning_effort": "minimal", "reasoning_history": "interleaved"})
        )
    );
}

#[tokio::test]
async fn effort_and_thinking_are_never_sent_together() {
    let server = TestServer::start(vec![Reply::sse(fixture("plain_answer"))]).await;
    let defaults = RequestOptions::new().with_reasoning_effort(ReasoningEffort::High);
    let provider = FireworksProvider::new(settings(&server, QWEN).with_options(defaults)).unwrap();
    let turn = RequestOptions::new().with_thinking(Thinking::Budget(1024));
    let items: Vec<_> = provider.create_message(ask(turn)).collect().await;
    assert!(items.iter().all(Result::is_ok));
    let body = server.requests()[0].json();
    assert_eq!(
        body["thinking"],
        json!({"type": "enabled", "budget_tokens": 1024}),
        "the turn's control replaces the defaults' one"
    );
    assert!(body.get("reasoning_effort").is_none(), "{body}");
    let both = RequestOptions::new()
        .with_thinking(Thinking::Enabled)
        .with_reasoning_effort(ReasoningEffort::High);
    let rule = refusal(QWEN, both).await;
    assert!(rule.contains("cannot both be set"), "{rule}");
}

/// A tool loop: the user asks, the model reasoned and called a tool, the tool answered.
fn tool_loop(options: RequestOptions) -> ChatRequest {
    let call = Message {
        role: Role::Assistant,
        content: vec![
            ContentBlock::Reasoning {
                text: "I should read the file.".into(),
            },
            ContentBlock::ToolUse {
                id: "call_1".into(),
                name: "read_file".into(),
                input: json!({"path": "a.rs"}),
            },
        ],
    };
    let messages = vec![
        Message::user("What is in a.rs?"),
        call,
        Message::tool_result("call_1", "fn main() {}"),
    ];
    ChatRequest::new("", messages)
        .with_tools(vec![fireworks_provider::ToolSpec::new(
            "read_file",
            "Reads a file.",
            json!({"type": "object"}),
        )])
        .with_options(options.with_max_tokens(1000))
}

/// The `reasoning_content` the server received on the assistant message of [`tool_loop`].
async fn reasoning_sent_back(settings: FireworksSettings, options: RequestOptions) -> Value {
    let server = TestServer::start(vec![Reply::sse(fixture("plain_answer"))]).await;
    let provider = FireworksProvider::new(settings.with_base_url(server.base_url())).unwrap();
    let items: Vec<_> = provider.create_message(tool_loop(options)).collect().await;
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    let body = server.requests()[0].json();
    body["messages"][1]["reasoning_content"].clone()
}

#[tokio::test]
async fn reasoning_rides_back_where_the_model_takes_it() {
    let fresh = |model: &str| {
        FireworksSettings::new(KEY, model)
            .with_retry_policy(RetryPolicy::none())
            .with_cache_affinity(false)
    };
    let none = RequestOptions::new;
    let sent = json!("I should read the file.");
    assert_eq!(
        reasoning_sent_back(fresh(KIMI), none()).await,
        sent,
        "Kimi is interleaved in reasoning_content"
    );
    assert_eq!(
        reasoning_sent_back(fresh(GPT_OSS), none()).await,
        Value::Null,
        "gpt-oss lists no interleaved field"
    );
    assert_eq!(
        reasoning_sent_back(fresh(KIMI).with_send_reasoning_back(false), none()).await,
        Value::Null,
        "the settings' override"
    );
    assert_eq!(
        reasoning_sent_back(fresh(GPT_OSS).with_send_reasoning_back(true), none()).await,
        sent
    );
    let preserved = none().with_reasoning_history(ReasoningHistory::Preserved);
    let server = TestServer::start(vec![Reply::sse(fixture("plain_answer"))]).await;
    let provider = FireworksProvider::new(
        fresh("accounts/fireworks/models/minimax-m2p7").with_base_url(server.base_url()),
    )
    .unwrap();
    let items: Vec<_> = provider
        .create_message(tool_loop(preserved))
        .collect()
        .await;
    assert!(items.iter().all(Result::is_ok));
    let body = server.requests()[0].json();
    assert_eq!(body["reasoning_history"], "preserved");
    assert_eq!(body["messages"][1]["reasoning_content"], sent);
    let disabled = none().with_reasoning_history(ReasoningHistory::Disabled);
    assert_eq!(
        reasoning_sent_back(fresh(KIMI), disabled).await,
        Value::Null,
        "reasoning_history disabled: not sent"
    );
}

#[tokio::test]
async fn a_catalog_loaded_at_run_time_describes_the_model() {
    let newer = r#"{"fireworks-ai": {"models": {
        "accounts/fireworks/models/kimi-k2p6": {"status": "deprecated",
            "reasoning_options": [{"type": "toggle"}, {"type": "effort", "values": ["none", "low", "high"]}]},
        "accounts/fireworks/models/kimi-k3": {"name": "Kimi K3",
            "limit": {"context": 1048576, "output": 131072},
            "cost": {"input": 1.2, "output": 5.0, "cache_read": 0.2},
            "reasoning": true, "reasoning_options": [{"type": "toggle"}],
            "interleaved": {"field": "reasoning_content"}}
    }}}"#;
    let catalog = Catalog::from_models_dev_json(newer).unwrap();
    let server = TestServer::start(vec![Reply::sse(fixture("plain_answer"))]).await;
    let kimi =
        FireworksProvider::new(settings(&server, KIMI).with_catalog(catalog.clone())).unwrap();
    assert_eq!(kimi.model().status, Some(ModelStatus::Deprecated));
    assert_eq!(
        kimi.model().context_window,
        262_000,
        "the bundled limits stay"
    );
    let off = RequestOptions::new().with_reasoning_effort(ReasoningEffort::None);
    let items: Vec<_> = kimi.create_message(ask(off)).collect().await;
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    assert_eq!(server.requests()[0].json()["reasoning_effort"], "none");
    let k3 = kimi
        .with_model("accounts/fireworks/models/kimi-k3")
        .unwrap();
    assert_eq!(k3.model().name.as_deref(), Some("Kimi K3"));
    assert_eq!(
        (k3.model().context_window, k3.model().input_price),
        (1_048_576, Some(1.2))
    );
    assert!(k3.model().sends_reasoning_back);
}

#[tokio::test]
async fn dedicated_deployments_get_their_base_models_limits_and_no_price() {
    let server = TestServer::start(vec![Reply::sse(fixture("plain_answer"))]).await;
    let deployment = "accounts/me/deployments/k26";
    let described =
        FireworksProvider::new(settings(&server, deployment).with_base_model("kimi-k2p6")).unwrap();
    let model = described.model();
    assert_eq!(model.id, deployment);
    assert_eq!((model.context_window, model.max_tokens), (262_000, 262_000));
    assert_eq!((model.input_price, model.output_price), (None, None));
    assert!(model.sends_reasoning_back);
    let items: Vec<_> = described
        .create_message(ask(RequestOptions::new().with_thinking(Thinking::Enabled)))
        .collect()
        .await;
    assert!(items.iter().all(Result::is_ok));
    let body = server.requests()[0].json();
    assert_eq!(body["model"], deployment);
    assert_eq!(body["thinking"], json!({"type": "enabled"}));
    let unnamed = provider(&server, deployment);
    assert_eq!(
        unnamed.model().context_window,
        fireworks_provider::ModelInfo::DEFAULT_CONTEXT_WINDOW,
        "without its base model, a deployment is an unknown model"
    );
    assert_eq!(unnamed.model().reasoning_options, None);
}

#[tokio::test]
async fn a_turn_whose_answer_came_only_as_reasoning_says_so() {
    let server = TestServer::start(vec![Reply::sse(fixture("answer_only_in_reasoning"))]).await;
    let turn = Turn::collect(provider(&server, KIMI).create_message(ask(RequestOptions::new())))
        .await
        .unwrap();
    assert!(turn.answered_only_in_reasoning());
    assert_eq!(
        turn.message.content,
        [ContentBlock::Reasoning {
            text: "The user wants the capital of Australia.\n\nIt is Canberra, not Sydney.\n\n\
                   The capital of Australia is Canberra."
                .into()
        }],
        "no answer text is made up from the reasoning"
    );
    let server = TestServer::start(vec![Reply::sse(fixture("reasoning_content"))]).await;
    let stream = provider(&server, "accounts/fireworks/models/glm-5p1")
        .create_message(ask(RequestOptions::new()));
    let chunks: Vec<ApiChunk> = stream.map(Result::unwrap).collect().await;
    let mut builder = fireworks_provider::TurnBuilder::new();
    chunks.iter().for_each(|chunk| builder.push(chunk));
    assert!(!builder.finish().unwrap().answered_only_in_reasoning());
}
