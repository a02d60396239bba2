//! The names a host's configuration may use: every name a field is accepted under, a field given
//! twice under two of them, an unknown name at any depth, and a bad value deep inside, each error
//! naming the field with its path as the configuration wrote it.

use fireworks_provider::{
    FireworksProvider, FireworksSettings, LlmProvider, RequestOptions, ToolChoice,
};
use serde_json::json;

fn settings_error(config: serde_json::Value) -> String {
    serde_json::from_value::<FireworksSettings>(config)
        .unwrap_err()
        .to_string()
}

fn options_error(config: serde_json::Value) -> String {
    serde_json::from_value::<RequestOptions>(config)
        .unwrap_err()
        .to_string()
}

#[test]
fn clines_names_are_read_like_their_own() {
    let cline: FireworksSettings = serde_json::from_value(json!({
        "fireworksApiKey": "fw_cline",
        "fireworksModelId": "glm-5p1",
        "fireworksModelMaxCompletionTokens": 1000,
        "fireworksModelMaxTokens": 20000,
    }))
    .unwrap();
    let own: FireworksSettings = serde_json::from_value(json!({
        "api_key": "fw_cline",
        "model_id": "glm-5p1",
        "max_tokens": 1000,
        "context_window": 20000,
    }))
    .unwrap();
    assert_eq!(format!("{cline:?}"), format!("{own:?}"));
    let model = FireworksProvider::new(cline).unwrap().model().clone();
    assert_eq!((model.max_tokens, model.context_window), (1000, 20000));
}

#[test]
fn a_field_given_under_two_of_its_names_is_refused_naming_it() {
    for (first, second, field) in [
        ("api_key", "apiKey", "api_key"),
        ("api_key", "fireworksApiKey", "api_key"),
        ("apiKey", "fireworksApiKey", "api_key"),
        ("model_id", "fireworksModelId", "model_id"),
        (
            "max_tokens",
            "fireworksModelMaxCompletionTokens",
            "max_tokens",
        ),
        (
            "context_window",
            "fireworksModelMaxTokens",
            "context_window",
        ),
        (
            "send_reasoning_back",
            "sendReasoningBack",
            "send_reasoning_back",
        ),
    ] {
        let mut config = serde_json::Map::new();
        let value = match field {
            "api_key" | "model_id" => json!("fw_twice"),
            "send_reasoning_back" => json!(true),
            _ => json!(100),
        };
        config.insert(first.to_owned(), value.clone());
        config.insert(second.to_owned(), value);
        let error = settings_error(serde_json::Value::Object(config));
        assert!(
            error.starts_with(&format!("duplicate field `{field}`")),
            "{first} + {second}: {error}"
        );
        assert!(!error.contains("fw_twice"), "a key leaked: {error}");
    }
    let nested = settings_error(json!({"api_key": "k", "options": {"topP": 0.5, "top_p": 0.5}}));
    assert!(
        nested.starts_with("options: duplicate field `top_p`"),
        "{nested}"
    );
    let prices = settings_error(json!({
        "api_key": "k",
        "prices": {"input": 1, "output": 2, "cache_read": 0.1, "cacheRead": 0.1},
    }));
    assert!(
        prices.starts_with("prices: duplicate field `cache_read`"),
        "{prices}"
    );
    let options = options_error(json!({"toolChoice": "auto", "tool_choice": "none"}));
    assert!(
        options.starts_with("duplicate field `tool_choice`"),
        "{options}"
    );
}

#[test]
fn an_unknown_field_is_refused_at_any_depth_naming_where() {
    let top = settings_error(json!({"api_key": "k", "modle_id": "x"}));
    assert!(top.starts_with("unknown field `modle_id`"), "{top}");
    assert!(
        top.contains("`model_id`"),
        "the known names are listed: {top}"
    );
    let nested = settings_error(json!({"api_key": "k", "options": {"temprature": 1}}));
    assert!(
        nested.starts_with("options: unknown field `temprature`"),
        "{nested}"
    );
    let prices = settings_error(json!({"api_key": "k", "prices": {"input": 1, "outptu": 2}}));
    assert!(
        prices.starts_with("prices: unknown field `outptu`"),
        "{prices}"
    );
    let options = options_error(json!({"maxtokens": 5}));
    assert!(
        options.starts_with("unknown field `maxtokens`"),
        "{options}"
    );
    // A field of settings is not one of options, nor the other way round.
    let misplaced = settings_error(json!({"api_key": "k", "options": {"base_url": "x"}}));
    assert!(
        misplaced.starts_with("options: unknown field `base_url`"),
        "{misplaced}"
    );
}

#[test]
fn a_bad_value_in_a_nested_object_is_named_with_its_path() {
    for (config, expected) in [
        (
            json!({"api_key": "k", "options": {"tool_choice": {"tool": 3}}}),
            "options.tool_choice: tool_choice must be",
        ),
        (
            json!({"api_key": "k", "options": {"toolChoice": "sometimes"}}),
            "options.toolChoice: tool_choice must be",
        ),
        (
            json!({"api_key": "k", "prices": {"input": 1, "output": 2, "cache_read": "cheap"}}),
            "prices.cache_read: invalid type: string \"cheap\"",
        ),
        (
            json!({"api_key": "k", "prices": {"input": 1, "output": 2, "cacheRead": -0.5}}),
            "prices.cacheRead must be finite and not negative (USD per million tokens), not -0.5",
        ),
        (
            json!({"api_key": "k", "options": {"topP": "high"}}),
            "options.topP: invalid type: string \"high\"",
        ),
        (
            json!({"api_key": "k", "options": {"stop": ["a", 5]}}),
            "options.stop[1]: invalid type: integer `5`",
        ),
        (
            json!({"api_key": "k", "options": {"maxTokens": 0}}),
            "options.maxTokens must be at least 1",
        ),
        (
            json!({"api_key": "k", "prices": {"input": 1}}),
            "prices: missing field `output`",
        ),
        (
            json!({"api_key": "k", "headers": {"x-team": 1}}),
            "headers.x-team: invalid type: integer `1`",
        ),
    ] {
        let error = settings_error(config.clone());
        assert!(error.starts_with(expected), "{config}: {error}");
    }
    let camel = options_error(json!({"reasoningEffort": "most"}));
    assert!(
        camel.starts_with("reasoningEffort: unknown variant `most`"),
        "{camel}"
    );
}

#[test]
fn null_is_not_set() {
    let options: RequestOptions = serde_json::from_value(json!({
        "temperature": null,
        "toolChoice": null,
        "stop": null,
        "extraBody": null,
    }))
    .unwrap();
    assert_eq!(
        format!("{options:?}"),
        format!("{:?}", RequestOptions::new())
    );
    let chosen: RequestOptions =
        serde_json::from_value(json!({"toolChoice": {"tool": "read_file"}})).unwrap();
    assert_eq!(
        chosen.tool_choice,
        Some(ToolChoice::Tool("read_file".into()))
    );
}
