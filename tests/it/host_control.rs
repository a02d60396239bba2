//! A host steering single turns through `Arc<dyn LlmProvider>` against our loopback server:
//! per-turn options over the provider's defaults, whole turns sent on as the next request,
//! headers, a host's own HTTP client, another model on the same pool, and settings read from a
//! host's configuration file.

use std::sync::Arc;

use crate::support::fixture;
use crate::support::server::{Reply, TestServer};
use fireworks_provider::{
    ApiChunk, ContentBlock, Error, FinishReason, FireworksProvider, FireworksSettings, LlmProvider,
    Message, ReasoningEffort, RequestOptions, ResponseFormat, RetryPolicy, ToolChoice, ToolSpec,
    Turn,
};
use futures::StreamExt;
use serde_json::{Value, json};

fn settings(server: &TestServer) -> FireworksSettings {
    settings_for(server, "accounts/fireworks/models/glm-5p1")
}

fn settings_for(server: &TestServer, model: &str) -> FireworksSettings {
    FireworksSettings::new("fw_host_key_77", model)
        .with_base_url(server.base_url())
        .with_retry_policy(RetryPolicy::none())
}

fn provider(settings: FireworksSettings) -> Arc<dyn LlmProvider> {
    Arc::new(FireworksProvider::new(settings).unwrap())
}

fn read_file() -> ToolSpec {
    ToolSpec::new(
        "read_file",
        "Reads a file of the project.",
        json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}),
    )
}

fn ask(text: &str) -> Vec<Message> {
    vec![Message::user(text)]
}

#[tokio::test]
async fn one_turn_is_steered_collected_whole_and_sent_on() {
    let server = TestServer::start(vec![
        Reply::sse(fixture("tool_single_call")),
        Reply::sse(fixture("plain_answer")),
    ])
    .await;
    let defaults = RequestOptions::new()
        .with_temperature(0.6)
        .with_top_p(0.95)
        .with_reasoning_effort(ReasoningEffort::Medium);
    // MiniMax M2.7 takes reasoning_effort low, medium or high (GLM 5.1 only toggles).
    let minimax = settings_for(&server, "accounts/fireworks/models/minimax-m2p7");
    let provider = provider(minimax.with_options(defaults));
    let schema = json!({"type": "object", "properties": {"answer": {"type": "string"}}});
    let this_turn = RequestOptions::new()
        .with_temperature(0.1)
        .with_reasoning_effort(ReasoningEffort::Low)
        .with_tool_choice(ToolChoice::Tool("read_file".into()))
        .with_response_format(ResponseFormat::JsonSchema {
            name: "answer".into(),
            schema: schema.clone(),
            strict: true,
        })
        .with_cache_key("conversation-7");
    let mut messages = ask("What does src/lib.rs export?");
    let request = fireworks_provider::ChatRequest::new("Be brief.", messages.clone())
        .with_tools(vec![read_file()])
        .with_options(this_turn);
    let turn = Turn::collect(provider.create_message(request))
        .await
        .unwrap();

    let first = server.requests()[0].json();
    assert_eq!(first["temperature"], json!(0.1), "the turn's value wins");
    assert_eq!(
        first["top_p"],
        json!(0.95),
        "the settings' default fills in"
    );
    assert_eq!(first["reasoning_effort"], "low");
    assert_eq!(
        first["tool_choice"],
        json!({"type": "function", "function": {"name": "read_file"}})
    );
    assert_eq!(
        first["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": true}})
    );
    assert_eq!(first["prompt_cache_key"], "conversation-7");

    assert_eq!(turn.finish, FinishReason::ToolCalls);
    assert_eq!(turn.tool_calls.len(), 1);
    let call = &turn.tool_calls[0];
    assert!(matches!(
        &turn.message.content[..],
        [ContentBlock::ToolUse { id, input, .. }] if *id == call.id && input.is_object()
    ));
    messages.push(turn.message.clone());
    messages.push(Message::tool_result(&call.id, "pub mod host;"));
    let next =
        fireworks_provider::ChatRequest::new("Be brief.", messages).with_tools(vec![read_file()]);
    let answer = Turn::collect(provider.create_message(next)).await.unwrap();
    assert_eq!(answer.finish, FinishReason::Stop);

    let second = server.requests()[1].json();
    let sent = second["messages"].as_array().unwrap();
    assert_eq!(sent[2]["role"], "assistant");
    assert_eq!(sent[2]["tool_calls"][0]["id"], json!(call.id));
    assert_eq!(
        serde_json::from_str::<Value>(
            sent[2]["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .unwrap()
        )
        .unwrap(),
        serde_json::from_str::<Value>(&call.arguments).unwrap()
    );
    assert_eq!(
        sent[3],
        json!({"role": "tool", "tool_call_id": call.id, "content": "pub mod host;"})
    );
    assert_eq!(
        second["temperature"],
        json!(0.6),
        "the next turn is back on the defaults"
    );
    assert!(second.get("tool_choice").is_none());
    assert!(second.get("response_format").is_none());
}

#[tokio::test]
async fn required_tool_choice_reaches_the_server_in_the_openai_form() {
    let server = TestServer::start(vec![Reply::sse(fixture("tool_single_call"))]).await;
    let provider = provider(settings(&server));
    let request = fireworks_provider::ChatRequest::new("", ask("Look around."))
        .with_tools(vec![read_file()])
        .with_options(RequestOptions::new().with_tool_choice(ToolChoice::Required));
    Turn::collect(provider.create_message(request))
        .await
        .unwrap();
    assert_eq!(server.requests()[0].json()["tool_choice"], "required");
}

#[tokio::test]
async fn tool_call_deltas_stream_only_for_the_turn_that_asks() {
    let server = TestServer::start(vec![Reply::sse_in_pieces(
        fixture("tool_parallel_interleaved"),
        7,
    )])
    .await;
    let provider = provider(settings(&server));
    let ask_for = |deltas: bool| {
        fireworks_provider::ChatRequest::new("", ask("Read both"))
            .with_tools(vec![read_file()])
            .with_options(RequestOptions::new().with_tool_call_deltas(deltas))
    };
    for deltas in [false, true] {
        let items: Vec<ApiChunk> = provider
            .create_message(ask_for(deltas))
            .map(Result::unwrap)
            .collect()
            .await;
        let pieces: Vec<&ApiChunk> = items
            .iter()
            .filter(|c| matches!(c, ApiChunk::ToolCallDelta { .. }))
            .collect();
        let calls = items
            .iter()
            .filter(|c| matches!(c, ApiChunk::ToolCall(_)))
            .count();
        assert!(calls >= 2);
        if deltas {
            let firsts = pieces
                .iter()
                .filter(|c| matches!(c, ApiChunk::ToolCallDelta { id: Some(_), .. }))
                .count();
            assert_eq!(firsts, calls, "one first piece per call");
            assert!(pieces.len() > calls, "arguments stream in pieces");
        } else {
            assert!(pieces.is_empty(), "off by default");
        }
    }
}

#[tokio::test]
async fn malformed_tool_arguments_go_back_byte_for_byte() {
    let server = TestServer::start(vec![
        Reply::sse(fixture("tool_malformed_arguments")),
        Reply::sse(fixture("plain_answer")),
    ])
    .await;
    let provider = provider(settings(&server));
    let mut messages = ask("Open main.rs at line 42");
    let tools = vec![ToolSpec::new(
        "open_file",
        "Opens a file.",
        json!({"type": "object"}),
    )];
    let request =
        fireworks_provider::ChatRequest::new("", messages.clone()).with_tools(tools.clone());
    let turn = Turn::collect(provider.create_message(request))
        .await
        .unwrap();
    let raw = turn.tool_calls[0].arguments.clone();
    assert_eq!(raw, r#"{"path": "src/main.rs", "line": 42"#);
    assert!(matches!(
        &turn.message.content[..],
        [ContentBlock::ToolUse { input: Value::String(kept), .. }] if *kept == raw
    ));
    let id = turn.tool_calls[0].id.clone();
    messages.push(turn.message);
    messages.push(Message::tool_result(
        id,
        "error: the arguments are not valid JSON",
    ));
    let next = fireworks_provider::ChatRequest::new("", messages).with_tools(tools);
    Turn::collect(provider.create_message(next)).await.unwrap();
    let body = server.requests()[1].json();
    assert_eq!(
        body["messages"][1]["tool_calls"][0]["function"]["arguments"],
        raw
    );
}

#[tokio::test]
async fn a_host_header_goes_with_every_request_and_is_never_shown() {
    let server = TestServer::start(vec![
        Reply::sse(fixture("plain_answer")),
        Reply::json(200, r#"{"data":[]}"#),
    ])
    .await;
    let settings = settings(&server).with_header("x-gateway-token", "gw-secret-91");
    let shown = format!("{settings:?}");
    let provider = FireworksProvider::new(settings).unwrap();
    let request = fireworks_provider::ChatRequest::new("", ask("Hi"));
    Turn::collect(provider.create_message(request))
        .await
        .unwrap();
    provider.list_models().await.unwrap();
    for request in server.requests() {
        assert_eq!(
            request.header("x-gateway-token"),
            Some("gw-secret-91"),
            "{}",
            request.path
        );
    }
    let provider_shown = format!("{provider:?}");
    for shown in [shown, provider_shown] {
        assert!(!shown.contains("gw-secret-91"), "{shown}");
        assert!(!shown.contains("fw_host_key_77"), "{shown}");
    }
}

#[tokio::test]
async fn headers_that_cannot_be_sent_or_replace_the_providers_are_config_errors() {
    let base = FireworksSettings::new("k", "m");
    for (name, value) in [
        ("x-trace", "two\nlines"),
        ("bad header", "value-7"),
        ("Authorization", "Bearer other"),
    ] {
        match FireworksProvider::new(base.clone().with_header(name, value)) {
            Err(Error::Config(message)) => {
                assert!(message.contains(name), "{message}");
                assert!(
                    !message.contains(value),
                    "the value is never echoed: {message}"
                );
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_hosts_own_client_is_used() {
    let server = TestServer::start(vec![Reply::sse(fixture("plain_answer"))]).await;
    let mut defaults = reqwest::header::HeaderMap::new();
    defaults.insert("x-from-host-client", "yes".parse().unwrap());
    let client = reqwest::Client::builder()
        .default_headers(defaults)
        .build()
        .unwrap();
    let provider = provider(settings(&server).with_http_client(client));
    let request = fireworks_provider::ChatRequest::new("", ask("Hi"));
    Turn::collect(provider.create_message(request))
        .await
        .unwrap();
    assert_eq!(
        server.requests()[0].header("x-from-host-client"),
        Some("yes")
    );
}

#[tokio::test]
async fn another_model_shares_the_settings_and_the_connection() {
    let server = TestServer::start(vec![Reply::sse(fixture("plain_answer"))]).await;
    let glm = FireworksProvider::new(settings(&server).with_header("x-team", "core")).unwrap();
    let kimi = glm
        .with_model("accounts/fireworks/models/kimi-k2p6")
        .unwrap();
    assert_eq!(kimi.model().id, "accounts/fireworks/models/kimi-k2p6");
    assert_eq!(
        kimi.model().context_window,
        262_000,
        "the other model's own limits"
    );
    for provider in [&glm, &kimi, &glm] {
        let request = fireworks_provider::ChatRequest::new("", ask("Hi"));
        Turn::collect(provider.create_message(request))
            .await
            .unwrap();
    }
    let models: Vec<Value> = server
        .requests()
        .iter()
        .map(|r| r.json()["model"].clone())
        .collect();
    assert_eq!(
        models,
        [
            "accounts/fireworks/models/glm-5p1",
            "accounts/fireworks/models/kimi-k2p6",
            "accounts/fireworks/models/glm-5p1"
        ]
    );
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.header("x-team") == Some("core"))
    );
    assert_eq!(server.connections_accepted(), 1, "one pool, one connection");
}

#[tokio::test]
async fn off_fireworks_the_cap_is_lowered_only_when_the_prompt_cannot_fit() {
    let server = TestServer::start(vec![Reply::sse(fixture("plain_answer"))]).await;
    let provider = provider(
        settings(&server)
            .with_context_window(8_192)
            .with_max_tokens(4_096),
    );
    // About 100 tokens of prompt: the whole cap fits.
    let small = fireworks_provider::ChatRequest::new("", ask(&"word ".repeat(80)));
    Turn::collect(provider.create_message(small)).await.unwrap();
    // About 6,000 tokens (24,000 bytes at 4 a token): 2,192 or a little less are left.
    let large = fireworks_provider::ChatRequest::new("", ask(&"word ".repeat(4_800)));
    Turn::collect(provider.create_message(large)).await.unwrap();
    let caps: Vec<u64> = server
        .requests()
        .iter()
        .map(|r| r.json()["max_tokens"].as_u64().unwrap())
        .collect();
    assert_eq!(caps[0], 4_096);
    assert!((2_150..2_192).contains(&caps[1]), "{caps:?}");
}

#[test]
fn settings_come_from_a_cline_style_json_object() {
    let json = r#"{
        "fireworksApiKey": "fw_from_config",
        "fireworksModelId": "glm-5p1",
        "fireworksModelMaxCompletionTokens": 16384,
        "fireworksModelMaxTokens": 202800,
        "headers": {"x-team": "core"},
        "options": {"temperature": 0.4, "thinking": "enabled"}
    }"#;
    let settings: FireworksSettings = serde_json::from_str(json).unwrap();
    assert_eq!(settings.model_id(), "glm-5p1");
    let provider = FireworksProvider::new(settings.clone()).unwrap();
    assert_eq!(provider.model().max_tokens, 16_384);
    assert_eq!(provider.model().context_window, 202_800);
    assert!(!format!("{settings:?}").contains("fw_from_config"));
    // GLM 5.1 only toggles: a default effort would refuse every turn, so it refuses to build.
    let effort = json.replace(r#""thinking": "enabled""#, r#""reasoning_effort": "high""#);
    let settings: FireworksSettings = serde_json::from_str(&effort).unwrap();
    match FireworksProvider::new(settings) {
        Err(Error::Config(message)) => assert!(
            message.starts_with(
                "options: model accounts/fireworks/models/glm-5p1 does not accept \
                 reasoning_effort \"high\""
            ),
            "{message}"
        ),
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn settings_come_from_toml_with_errors_naming_the_field() {
    let toml_text = r#"
        api_key = "fw_from_toml"
        model_id = "accounts/fireworks/models/kimi-k2p6"
        base_url = "http://127.0.0.1:8000/v1"
        max_tokens = 8000

        [options]
        top_p = 0.9
        stop = ["</answer>"]

        [prices]
        input = 0.5
        output = 2.0
    "#;
    let settings: FireworksSettings = toml::from_str(toml_text).unwrap();
    assert_eq!(settings.base_url(), "http://127.0.0.1:8000/v1");
    let provider = FireworksProvider::new(settings).unwrap();
    let model = provider.model();
    assert_eq!(
        (model.input_price, model.output_price, model.max_tokens),
        (Some(0.5), Some(2.0), 8000)
    );

    let error = |text: &str| {
        toml::from_str::<FireworksSettings>(text)
            .unwrap_err()
            .to_string()
    };
    let unknown = error("api_key = \"k\"\nmodel = \"m\"\n");
    assert!(unknown.contains("unknown field `model`"), "{unknown}");
    let bad = error("api_key = \"k\"\nmax_tokens = \"lots\"\n");
    assert!(bad.contains("max_tokens: "), "{bad}");
    let negative = error("api_key = \"k\"\n[options]\ntemperature = -1.0\n");
    assert!(negative.contains("temperature"), "{negative}");
    let missing_key = error("model_id = \"m\"\n");
    assert!(missing_key.contains("api_key is missing"), "{missing_key}");
    let twice =
        serde_json::from_str::<FireworksSettings>(r#"{"api_key": "k", "fireworksApiKey": "k2"}"#)
            .unwrap_err()
            .to_string();
    assert!(twice.contains("duplicate field `api_key`"), "{twice}");
    assert!(!twice.contains("k2"), "{twice}");
}

/// Every setting, by its snake_case name, with a value that is not its default.
fn every_setting() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("api_key", json!("fw_every")),
        ("model_id", json!("qwen3-8b")),
        ("base_url", json!("http://127.0.0.1:8000/v1")),
        ("max_tokens", json!(1000)),
        ("context_window", json!(32768)),
        ("supports_images", json!(false)),
        ("reasoning_style", json!("think_tags")),
        ("send_reasoning_back", json!(true)),
        ("cache_affinity", json!(false)),
        ("cache_report", json!(true)),
        ("cache_isolation_key", json!("tenant-7")),
        ("base_model", json!("kimi-k2p6")),
        ("max_event_bytes", json!(65536)),
        ("max_tool_argument_bytes", json!(4096)),
        ("headers", json!({"x-team": "core"})),
        (
            "options",
            json!({
                "max_tokens": 900,
                "temperature": 0.25,
                "top_p": 0.9,
                "top_k": 40,
                "stop": ["</answer>"],
                "seed": 7,
                "reasoning_effort": "low",
                "reasoning_history": "preserved",
                "tool_choice": {"tool": "read_file"},
                "parallel_tool_calls": false,
                "response_format": {"type": "json_object"},
                "cache_key": "conversation-1",
                "tool_call_deltas": true,
                "extra_body": {"user": "u1"},
                "conversation_tokens": 12,
            }),
        ),
        (
            "prices",
            json!({"input": 0.5, "output": 2.0, "cache_read": 0.1}),
        ),
    ]
}

/// `snake_case` → `camelCase`, written out here so the test does not share the crate's code.
fn camel(name: &str) -> String {
    let mut parts = name.split('_');
    let mut out = parts.next().unwrap().to_owned();
    for part in parts {
        out.push_str(&part[..1].to_uppercase());
        out.push_str(&part[1..]);
    }
    out
}

/// The settings as a configuration object, every name (nested ones too) in camelCase or not.
fn config(camel_case: bool) -> serde_json::Value {
    fn rename(value: &serde_json::Value, camel_case: bool, nested: bool) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) if nested => serde_json::Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let key = if camel_case { camel(k) } else { k.clone() };
                        (key, v.clone())
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    let map = every_setting()
        .into_iter()
        .map(|(name, value)| {
            let key = if camel_case {
                camel(name)
            } else {
                name.to_owned()
            };
            // Header names are the host's own: never renamed.
            let nested = name == "options" || name == "prices";
            (key, rename(&value, camel_case, nested))
        })
        .collect();
    serde_json::Value::Object(map)
}

#[test]
fn every_setting_is_read_in_snake_and_camel_case_from_json_and_toml() {
    let snake: FireworksSettings = serde_json::from_value(config(false)).unwrap();
    let shown = format!("{snake:?}");
    assert_ne!(
        shown,
        format!("{:?}", FireworksSettings::new("k", "qwen3-8b")),
        "the values were read"
    );
    for value in [
        "top_p: Some(0.9)",
        "seed: Some(7)",
        "reasoning_history: Some(Preserved)",
        "cache_report: true",
        "max_tool_argument_bytes: 4096",
        "base_model: Some(\"kimi-k2p6\")",
        "\"user\": String(\"u1\")",
    ] {
        assert!(shown.contains(value), "{value}: {shown}");
    }
    let camel_config = config(true);
    assert!(camel_config.get("maxEventBytes").is_some());
    let from_json: FireworksSettings = serde_json::from_value(camel_config.clone()).unwrap();
    assert_eq!(format!("{from_json:?}"), shown);
    for config in [config(false), camel_config] {
        let text = toml::to_string(&config).unwrap();
        let from_toml: FireworksSettings = toml::from_str(&text).unwrap();
        assert_eq!(format!("{from_toml:?}"), shown, "{text}");
    }
}

#[test]
fn a_bad_value_is_named_as_the_configuration_spells_it() {
    let error = |text: &str| {
        toml::from_str::<FireworksSettings>(text)
            .unwrap_err()
            .to_string()
    };
    for (text, expected) in [
        (
            "apiKey = \"k\"\nmaxTokens = 0\n",
            "maxTokens must be at least 1",
        ),
        (
            "apiKey = \"k\"\nmax_tokens = 0\n",
            "max_tokens must be at least 1",
        ),
        (
            "apiKey = \"k\"\nfireworksModelMaxCompletionTokens = 9\nfireworksModelMaxTokens = 5\n",
            "fireworksModelMaxCompletionTokens (9) is larger than fireworksModelMaxTokens (5)",
        ),
        (
            "apiKey = \"k\"\nbaseUrl = \"ftp://x\"\n",
            "baseUrl must be an http(s) URL",
        ),
        (
            "apiKey = \"k\"\nmodelId = \" \"\n",
            "modelId must not be empty",
        ),
        (
            "apiKey = \"k\"\n[options]\ntopP = 2.0\n",
            "topP must be a finite number",
        ),
        (
            "apiKey = \"k\"\n[options]\ncacheKey = \"\"\n",
            "cacheKey is empty",
        ),
        (
            "apiKey = \"k\"\n[prices]\ninput = -1.0\noutput = 1.0\n",
            "prices.input must be finite and not negative",
        ),
        ("apiKey = \"k\"\nmaxTokens = \"lots\"\n", "maxTokens: "),
        (
            "fireworksApiKey = \"\"\n",
            "fireworksApiKey is missing or empty",
        ),
    ] {
        let message = error(text);
        assert!(message.contains(expected), "{text}: {message}");
    }
    let both = error("max_tokens = 1\nmaxTokens = 2\n");
    assert!(both.contains("duplicate field `max_tokens`"), "{both}");
}
