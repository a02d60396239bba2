//! The host's request → the chat-completions JSON body (pure, no I/O), one concern a file:
//!
//! - `options`: the per-turn controls ([`RequestOptions`]), their checks and their layering over
//!   the provider's defaults and the model's;
//! - `conversation`: the messages and tools → wire messages, with every rule checked on the way;
//! - `reasoning`: the reasoning controls, checked against what the model accepts;
//! - `budget`: the `max_tokens` to ask for;
//! - `wire`: the body's JSON shapes;
//! - `fingerprint`: the per-entry hashes the prompt-cache report compares.
//!
//! [`build_body`] runs them in that order, in one pass over the conversation, and
//! [`validate`] runs exactly the same checks without writing anything.

mod budget;
mod conversation;
mod fingerprint;
mod options;
mod reasoning;
mod wire;

use crate::error::Error;
use crate::host::cache_report::Fingerprint;
use crate::host::{ChatRequest, ModelInfo, ReasoningHistory, RequestOptions, ToolChoice};
pub(crate) use budget::Budget;
#[cfg(test)]
use budget::MIN_MAX_TOKENS;
use conversation::{Refusal, Rules};
use options::Resolved;
use reasoning::ReasoningControl;
use wire::Body;

/// Everything besides the request that shapes the body.
#[derive(Clone, Copy)]
pub(crate) struct BodyOptions<'a> {
    /// The model (id, limits, capabilities, catalog defaults).
    pub model: &'a ModelInfo,
    /// The provider's defaults for every request's options.
    pub defaults: &'a RequestOptions,
    /// Send earlier reasoning back as `reasoning_content` on assistant messages, unless the
    /// turn's `reasoning_history` decides.
    pub send_reasoning_back: bool,
    /// Derives a `prompt_cache_key` when neither the request nor the defaults give one; `None`:
    /// send none then.
    pub derive_cache_key: Option<fn(&ChatRequest) -> String>,
    /// Who keeps the output within the context window.
    pub budget: Budget,
    /// Fingerprint the request for the prompt-cache report (when it has a cache key), filed
    /// under its cache key; under this function's key when the cache key is derived (one that
    /// stays the same when what the derived key hashes changes, so that the report can say
    /// what changed). `None`: no fingerprint.
    pub fingerprint: Option<fn(&ChatRequest) -> String>,
}

/// A request's body, with what telemetry and the cache report need to know of it.
#[derive(Debug)]
pub(crate) struct Built {
    /// The JSON body.
    pub body: Vec<u8>,
    /// The `max_tokens` asked for.
    pub max_tokens: u32,
    /// The sampling temperature sent, if any.
    pub temperature: Option<f32>,
    /// The key the cache report files the request under and its fingerprint, when asked for
    /// and there is a cache key.
    pub fingerprint: Option<(String, Fingerprint)>,
}

impl ChatRequest {
    /// The checks every provider runs before sending, public so that hosts and
    /// [`FakeProvider`](crate::FakeProvider) run the same ones: a non-empty conversation whose
    /// messages are not empty, every tool use answered once by a later tool result and no result
    /// without its tool use, blocks in the right role, base64 images of an image type, tools with
    /// distinct names and object schemas, and options with finite sampling values, no empty stop
    /// sequence, a `tool_choice` naming an offered tool, a JSON schema that is an object and no
    /// `extra_body` key replacing `model`, `messages` or `stream`.
    ///
    /// A refused request is [`Error::InvalidConversation`] naming the message (when one is to
    /// blame) and the rule.
    pub fn validate(&self) -> Result<(), Error> {
        validate(self, None)
    }

    /// [`ChatRequest::validate`], and that `model` takes what the conversation holds (images)
    /// and the request's own reasoning controls (see [`ModelInfo::reasoning_options`]): exactly
    /// what a provider of `model` checks before sending.
    pub fn validate_for(&self, model: &ModelInfo) -> Result<(), Error> {
        validate(self, Some(model))
    }
}

/// The checks a request must pass before it is sent: its options, its tools and its
/// conversation, and, given a model, that the model takes what the conversation holds and the
/// reasoning controls the request sets.
pub(crate) fn validate(request: &ChatRequest, model: Option<&ModelInfo>) -> Result<(), Error> {
    let options = &request.options;
    checked_messages(request, options.tool_choice.as_ref(), model, false)?;
    match model {
        Some(model) => {
            let control = ReasoningControl::of(options.reasoning_effort, options.thinking);
            check_reasoning(control.ok().flatten(), options.reasoning_history, model)
        }
        None => Ok(()),
    }
}

/// Refuses defaults (`FireworksSettings::with_options`) whose reasoning control or history
/// `model` does not accept, so that a provider is not built to refuse every turn.
pub(crate) fn check_defaults(defaults: &RequestOptions, model: &ModelInfo) -> Result<(), Error> {
    let none = RequestOptions::default();
    let resolved = Resolved::new(&none, defaults, model);
    reasoning::check(
        resolved.written_reasoning(),
        resolved.reasoning_history,
        model,
    )
    .map_err(|rule| Error::Config(format!("options: {rule}")))
}

/// Refuses a reasoning control or history the model does not accept.
fn check_reasoning(
    control: Option<ReasoningControl>,
    history: Option<ReasoningHistory>,
    model: &ModelInfo,
) -> Result<(), Error> {
    reasoning::check(control, history, model).map_err(|rule| {
        refused(Refusal {
            message_index: None,
            rule,
        })
    })
}

/// Whether earlier reasoning rides back on assistant messages: the turn's `reasoning_history`
/// decides when set (`disabled`: no; `interleaved`, `preserved`: yes), else the provider's
/// choice (the model's `interleaved` field, or the settings' override).
fn sends_reasoning_back(history: Option<ReasoningHistory>, provider_choice: bool) -> bool {
    match history {
        Some(ReasoningHistory::Disabled) => false,
        Some(ReasoningHistory::Interleaved | ReasoningHistory::Preserved) => true,
        None => provider_choice,
    }
}

/// Checks the request's own option values and the tool choice in force (the request's, or the
/// provider's default when it sends), then maps and checks the conversation.
fn checked_messages<'a>(
    request: &'a ChatRequest,
    tool_choice: Option<&ToolChoice>,
    model: Option<&ModelInfo>,
    send_reasoning_back: bool,
) -> Result<Vec<wire::WireMessage<'a>>, Error> {
    let options = request
        .options
        .check_values()
        .and_then(|()| tool_choice.map_or(Ok(()), |choice| choice.check_offered(&request.tools)));
    options.map_err(|rule| {
        refused(Refusal {
            message_index: None,
            rule,
        })
    })?;
    conversation::map(
        request,
        Rules {
            model,
            send_reasoning_back,
        },
    )
    .map_err(refused)
}

fn refused(refusal: Refusal) -> Error {
    Error::InvalidConversation {
        message_index: refusal.message_index,
        rule: refusal.rule,
    }
}

/// Builds the JSON body of a streamed chat completion, refusing what [`validate`] refuses.
pub(crate) fn build_body(request: &ChatRequest, options: BodyOptions<'_>) -> Result<Built, Error> {
    let model = options.model;
    let resolved = Resolved::new(&request.options, options.defaults, model);
    let messages = checked_messages(
        request,
        resolved.tool_choice,
        Some(model),
        sends_reasoning_back(resolved.reasoning_history, options.send_reasoning_back),
    )?;
    check_reasoning(
        resolved.written_reasoning(),
        resolved.reasoning_history,
        model,
    )?;
    let derived = match (resolved.cache_key, options.derive_cache_key) {
        (None, Some(derive)) => Some(derive(request)),
        _ => None,
    };
    let max_tokens = budget::max_tokens(
        resolved.max_tokens,
        model.context_window,
        options.budget,
        || budget::prompt_tokens(&messages, &request.tools, resolved.conversation_tokens),
    );
    let cache_key = resolved.cache_key.or(derived.as_deref());
    let body = Body {
        model: &model.id,
        messages: &messages,
        tools: &request.tools,
        max_tokens,
        prompt_cache_key: cache_key,
        options: resolved,
    };
    let mut out = Vec::with_capacity(body.size_hint());
    serde_json::to_writer(&mut out, &body).map_err(|source| Error::Encode {
        message: "the request body".into(),
        source,
    })?;
    let fingerprint = options.fingerprint.zip(cache_key).map(|(report_key, key)| {
        let print = fingerprint::fingerprint(&request.system_prompt, &messages, &request.tools);
        let filed_under = match derived {
            Some(_) => report_key(request),
            None => key.to_owned(),
        };
        (filed_under, print)
    });
    Ok(Built {
        body: out,
        max_tokens,
        temperature: resolved.temperature,
        fingerprint,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::host::{
        ContentBlock, Message, ReasoningEffort, ResponseFormat, Role, ToolSpec, Usage,
    };

    const MODEL_ID: &str = "accounts/fireworks/models/test";

    fn model() -> ModelInfo {
        ModelInfo::unknown(MODEL_ID)
    }

    fn options<'a>(model: &'a ModelInfo, defaults: &'a RequestOptions) -> BodyOptions<'a> {
        BodyOptions {
            model,
            defaults,
            send_reasoning_back: false,
            derive_cache_key: None,
            budget: Budget::Estimate,
            fingerprint: None,
        }
    }

    fn body_with(request: &ChatRequest, options: BodyOptions<'_>) -> Value {
        let bytes = build_body(request, options).expect("a valid request").body;
        serde_json::from_slice(&bytes).expect("the body is valid JSON")
    }

    fn body(request: &ChatRequest) -> Value {
        body_with(request, options(&model(), &RequestOptions::new()))
    }

    fn hi() -> ChatRequest {
        ChatRequest::new("", vec![Message::user("Hi")])
    }

    fn keys(value: &Value) -> Vec<&str> {
        let mut keys: Vec<&str> = value
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        keys
    }

    fn read_file() -> ToolSpec {
        ToolSpec::new(
            "read_file",
            "Reads a file.",
            json!({"type": "object", "properties": {"path": {"type": "string"}}}),
        )
    }

    fn refusal(result: Result<Built, Error>) -> (Option<usize>, String) {
        match result {
            Err(Error::InvalidConversation {
                message_index,
                rule,
            }) => (message_index, rule),
            other => panic!("expected InvalidConversation, got {other:?}"),
        }
    }

    #[test]
    fn plain_conversation_is_only_the_fields_that_are_set() {
        let request = ChatRequest::new(
            "You are terse.",
            vec![
                Message::user("Hi"),
                Message::assistant("Hello."),
                Message::user("Bye"),
            ],
        );
        assert_eq!(
            body(&request),
            json!({
                "model": MODEL_ID,
                "messages": [
                    {"role": "system", "content": "You are terse."},
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello."},
                    {"role": "user", "content": "Bye"},
                ],
                "stream": true,
                "stream_options": {"include_usage": true},
                "max_tokens": ModelInfo::DEFAULT_MAX_TOKENS,
            })
        );
    }

    #[test]
    fn every_option_reaches_the_body_in_its_wire_shape() {
        let request = hi().with_tools(vec![read_file()]).with_options(
            RequestOptions::new()
                .with_max_tokens(1_000)
                .with_temperature(0.25)
                .with_top_p(0.5)
                .with_top_k(40)
                .with_stop(["END"])
                .with_seed(7)
                .with_reasoning_effort(ReasoningEffort::High)
                .with_tool_choice(ToolChoice::Tool("read_file".into()))
                .with_parallel_tool_calls(false)
                .with_response_format(ResponseFormat::JsonSchema {
                    name: "answer".into(),
                    schema: json!({"type": "object"}),
                    strict: true,
                })
                .with_cache_key("conv-1")
                .with_extra_body("user", json!("u-42")),
        );
        let body = body(&request);
        let mut expected = json!({
            "model": MODEL_ID,
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": 1_000,
            "temperature": 0.25,
            "top_p": 0.5,
            "top_k": 40,
            "stop": ["END"],
            "seed": 7,
            "reasoning_effort": "high",
            "tools": [{"type": "function", "function": {
                "name": "read_file",
                "description": "Reads a file.",
                "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
            }}],
            "tool_choice": {"type": "function", "function": {"name": "read_file"}},
            "parallel_tool_calls": false,
            "response_format": {"type": "json_schema", "json_schema": {
                "name": "answer", "schema": {"type": "object"}, "strict": true,
            }},
            "prompt_cache_key": "conv-1",
            "user": "u-42",
        });
        expected["messages"] = body["messages"].clone();
        assert_eq!(body, expected);
    }

    #[test]
    fn tool_choice_and_response_format_in_each_form() {
        let choice = |choice: ToolChoice| {
            let request = hi()
                .with_tools(vec![read_file()])
                .with_options(RequestOptions::new().with_tool_choice(choice));
            body(&request)["tool_choice"].clone()
        };
        assert_eq!(choice(ToolChoice::Auto), json!("auto"));
        assert_eq!(choice(ToolChoice::None), json!("none"));
        assert_eq!(choice(ToolChoice::Required), json!("required"));
        let format = |format: ResponseFormat| {
            let request = hi().with_options(RequestOptions::new().with_response_format(format));
            body(&request)["response_format"].clone()
        };
        assert_eq!(format(ResponseFormat::Text), json!({"type": "text"}));
        assert_eq!(
            format(ResponseFormat::JsonObject),
            json!({"type": "json_object"})
        );
        assert_eq!(
            format(ResponseFormat::Grammar("root ::= \"yes\" | \"no\"".into())),
            json!({"type": "grammar", "grammar": "root ::= \"yes\" | \"no\""})
        );
        assert_eq!(
            format(ResponseFormat::JsonSchema {
                name: "a".into(),
                schema: json!({"type": "object"}),
                strict: false,
            }),
            json!({"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object"}}}),
            "strict is sent only when true"
        );
    }

    #[test]
    fn tool_fields_are_left_out_when_no_tools_are_offered() {
        let request = hi().with_options(
            RequestOptions::new()
                .with_tool_choice(ToolChoice::Auto)
                .with_parallel_tool_calls(true),
        );
        let body = body(&request);
        assert_eq!(
            keys(&body),
            [
                "max_tokens",
                "messages",
                "model",
                "stream",
                "stream_options"
            ]
        );
    }

    #[test]
    fn layering_is_request_then_settings_then_catalog() {
        let mut model = model();
        model.default_temperature = Some(1.0);
        let defaults = RequestOptions::new()
            .with_temperature(0.6)
            .with_top_p(0.9)
            .with_reasoning_effort(ReasoningEffort::Low);
        let request =
            hi().with_options(RequestOptions::new().with_reasoning_effort(ReasoningEffort::High));
        let from_all = body_with(&request, options(&model, &defaults));
        assert_eq!(from_all["reasoning_effort"], "high", "the request wins");
        assert_eq!(from_all["temperature"], json!(0.6), "then the settings");
        assert_eq!(from_all["top_p"], json!(0.9));
        let from_catalog = body_with(&hi(), options(&model, &RequestOptions::new()));
        assert_eq!(from_catalog["temperature"], json!(1.0), "then the catalog");
        assert!(from_catalog.get("top_p").is_none(), "else nothing");
    }

    #[test]
    fn extra_body_overrides_any_field_and_keys_appear_once() {
        let request = hi().with_options(
            RequestOptions::new()
                .with_temperature(0.2)
                .with_reasoning_effort(ReasoningEffort::High)
                .with_extra_body("temperature", json!(0.9))
                .with_extra_body("max_completion_tokens", json!(300))
                .with_extra_body("thinking", json!({"type": "enabled", "budget_tokens": 100})),
        );
        let bytes = build_body(&request, options(&model(), &RequestOptions::new()))
            .unwrap()
            .body;
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text.matches("\"temperature\"").count(), 1, "{text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["temperature"], json!(0.9));
        assert!(
            body.get("max_tokens").is_none(),
            "never both max_tokens names"
        );
        assert!(
            body.get("reasoning_effort").is_none(),
            "never beside thinking"
        );
        let defaults = RequestOptions::new().with_extra_body("user", json!("from settings"));
        let body = body_with(&hi(), options(&model(), &defaults));
        assert_eq!(body["user"], "from settings");
    }

    #[test]
    fn cache_key_is_the_requests_else_the_settings_else_derived() {
        let model = model();
        let derive: fn(&ChatRequest) -> String = |_| "derived".into();
        let with = |request: &ChatRequest, defaults: &RequestOptions, derive| {
            let options = BodyOptions {
                derive_cache_key: derive,
                ..options(&model, defaults)
            };
            body_with(request, options)["prompt_cache_key"].clone()
        };
        let none = RequestOptions::new();
        let settings = RequestOptions::new().with_cache_key("settings");
        let own = hi().with_options(RequestOptions::new().with_cache_key("own"));
        assert_eq!(with(&own, &settings, Some(derive)), "own");
        assert_eq!(with(&hi(), &settings, Some(derive)), "settings");
        assert_eq!(with(&hi(), &none, Some(derive)), "derived");
        assert_eq!(with(&hi(), &none, None), Value::Null, "not sent");
    }

    #[test]
    fn refusals_name_the_rule_and_the_message() {
        let defaults = RequestOptions::new();
        let model = model();
        let build = |request: &ChatRequest| build_body(request, options(&model, &defaults));
        let (index, rule) = refusal(build(&ChatRequest::new("sys", vec![])));
        assert_eq!(
            (index, rule.as_str()),
            (None, "the conversation has no messages")
        );
        let nan = hi().with_options(RequestOptions::new().with_temperature(f32::NAN));
        assert!(refusal(build(&nan)).1.contains("temperature"));
        let unknown_tool = hi()
            .with_tools(vec![read_file()])
            .with_options(RequestOptions::new().with_tool_choice(ToolChoice::Tool("rm".into())));
        assert!(refusal(build(&unknown_tool)).1.contains("\"rm\""));
        let empty = ChatRequest::new("", vec![Message::user("Hi"), Message::assistant("")]);
        assert_eq!(
            refusal(build(&empty)),
            (Some(1), "the message is empty".into())
        );
        // A settings default naming a tool this request does not offer.
        let settings = RequestOptions::new().with_tool_choice(ToolChoice::Tool("rm".into()));
        let result = build_body(&hi(), options(&model, &settings));
        assert!(refusal(result).1.contains("\"rm\""));
    }

    #[test]
    fn validate_refuses_exactly_what_sending_refuses() {
        let model = ModelInfo {
            supports_images: false,
            ..model()
        };
        let image = Message {
            role: Role::User,
            content: vec![ContentBlock::Image {
                media_type: "image/png".into(),
                data: "iVBORw0KGgo=".into(),
            }],
        };
        let cases = [
            hi(),
            ChatRequest::new("", vec![]),
            ChatRequest::new("", vec![image]),
            hi().with_options(RequestOptions::new().with_stop([""])),
            hi().with_tools(vec![read_file(), read_file()]),
        ];
        let defaults = RequestOptions::new();
        for request in &cases {
            let sent = build_body(request, options(&model, &defaults)).map(drop);
            let checked = validate(request, Some(&model));
            assert_eq!(format!("{sent:?}"), format!("{checked:?}"));
        }
        // Without a model, images are the server's business.
        assert!(validate(&cases[2], None).is_ok());
    }

    #[test]
    fn the_size_hint_covers_a_body_of_source_code_and_an_image_closely() {
        // Source code: a newline or a quote to escape every 15 bytes.
        let source = "    let x = config.get(\"key\").unwrap_or(0);\n".repeat(500);
        let image = ContentBlock::Image {
            media_type: "image/png".into(),
            data: "QUFB".repeat(10_000),
        };
        let own_text = ContentBlock::Text {
            text: source.clone(),
        };
        let request = ChatRequest::new(
            "Be brief.",
            vec![
                Message {
                    role: Role::User,
                    content: vec![own_text, image],
                },
                Message::assistant(source),
                Message::user("Go on."),
            ],
        )
        .with_tools(vec![read_file()]);
        let (model, defaults) = (model(), RequestOptions::new());
        let messages = checked_messages(&request, None, Some(&model), false).unwrap();
        let body = Body {
            model: &model.id,
            messages: &messages,
            tools: &request.tools,
            max_tokens: 1_000,
            prompt_cache_key: None,
            options: Resolved::new(&request.options, &defaults, &model),
        };
        let written = serde_json::to_vec(&body).unwrap().len();
        let hint = body.size_hint();
        assert!(
            (written..written + written / 8).contains(&hint),
            "{hint} for {written}"
        );
    }

    /// 200 turns of about 1,300 tokens each (text at 4 bytes a token): some 260k tokens.
    fn long_conversation() -> ChatRequest {
        let mut messages = Vec::new();
        for turn in 0..200 {
            messages.push(Message::user(format!("{turn}: {}", "x".repeat(2_600))));
            messages.push(Message::assistant("y".repeat(2_600)));
        }
        messages.push(Message::user("and now?"));
        ChatRequest::new("", messages)
    }

    #[test]
    fn on_fireworks_the_cap_goes_as_it_is_and_the_server_trims() {
        let mut model = model();
        model.context_window = 131_072;
        model.max_tokens = 32_768;
        let defaults = RequestOptions::new();
        let trims = BodyOptions {
            budget: Budget::ServerTrims,
            ..options(&model, &defaults)
        };
        assert_eq!(body_with(&long_conversation(), trims)["max_tokens"], 32_768);
        assert_eq!(body_with(&hi(), trims)["max_tokens"], 32_768);
        let own = hi().with_options(RequestOptions::new().with_max_tokens(2_000));
        assert_eq!(
            body_with(&own, trims)["max_tokens"],
            2_000,
            "the turn's cap"
        );
    }

    #[test]
    fn elsewhere_the_cap_is_lowered_only_when_the_estimate_cannot_fit() {
        let mut model = model();
        model.context_window = 131_072;
        model.max_tokens = 32_768;
        let defaults = RequestOptions::new();
        let estimate = options(&model, &defaults);
        // 30k tokens of prompt on a 131k window: the whole cap fits.
        let mid = ChatRequest::new("", vec![Message::user("z".repeat(120_000))]);
        assert_eq!(body_with(&mid, estimate)["max_tokens"], 32_768);
        // 110k tokens of prompt leave about 21k.
        let big = ChatRequest::new("", vec![Message::user("z".repeat(440_000))]);
        let max = body_with(&big, estimate)["max_tokens"].as_u64().unwrap();
        assert!((21_000..21_100).contains(&max), "{max}");
        // The server's own count of the conversation so far replaces the estimate of it.
        let mut long = long_conversation();
        let overfull = body_with(&long, estimate)["max_tokens"].as_u64().unwrap();
        assert_eq!(overfull, u64::from(MIN_MAX_TOKENS));
        long.options = RequestOptions::new().with_last_usage(&Usage {
            input_tokens: 40_000,
            output_tokens: 1_000,
            ..Usage::default()
        });
        assert_eq!(body_with(&long, estimate)["max_tokens"], 32_768);
    }
}
