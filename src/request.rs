//! The host's conversation and the settings → the chat-completions JSON body (pure, no I/O).
//!
//! The conversation is checked before anything is sent: every rule that would otherwise come
//! back as a server 400 (or, worse, be silently dropped) is an [`Error::Config`] naming the
//! message. Only fields that are set are written: Fireworks rejects unknown or `null`
//! placeholder fields. Serialisation is deterministic, so the messages of turn N are a byte
//! prefix of turn N+1's (prompt caches depend on it).

use std::borrow::Cow;
use std::collections::HashSet;

use serde::Serialize;

use crate::error::Error;
use crate::provider::{ChatRequest, ContentBlock, Message, ModelInfo, Role, ToolSpec};

/// The fewest output tokens a request asks for, however full the context is.
pub const MIN_MAX_TOKENS: u32 = 512;

/// How many bytes of prompt count as one token when estimating a prompt's size. Tokenizers
/// give about 4 bytes per token for English and fewer for code and JSON; 3 over-estimates
/// slightly, which errs on the side of leaving the prompt room.
pub const BYTES_PER_TOKEN_ESTIMATE: usize = 3;

/// The tokens one image is assumed to cost when estimating a prompt's size (vision models spend
/// roughly one to three thousand on a screenshot, whatever its base64 length).
pub const IMAGE_TOKEN_ESTIMATE: usize = 2_000;

/// How hard a reasoning model should think.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningEffort {
    /// Reason as little as possible.
    Low,
    /// The usual amount.
    Medium,
    /// Reason at length.
    High,
    /// Turn reasoning off (not every model accepts this).
    None,
}

impl std::str::FromStr for ReasoningEffort {
    type Err = Error;

    fn from_str(value: &str) -> Result<Self, Error> {
        match value {
            "low" => Ok(ReasoningEffort::Low),
            "medium" => Ok(ReasoningEffort::Medium),
            "high" => Ok(ReasoningEffort::High),
            "none" => Ok(ReasoningEffort::None),
            other => Err(Error::Config(format!(
                "reasoning effort must be low, medium, high or none, not {other:?}"
            ))),
        }
    }
}

/// Sampling and reasoning knobs; each is sent only when set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SamplingOptions {
    /// Sampling temperature; the model's recommended one is used when this is `None`.
    pub temperature: Option<f32>,
    /// Nucleus sampling.
    pub top_p: Option<f32>,
    /// Stop sequences.
    pub stop: Vec<String>,
    /// `reasoning_effort` for reasoning models.
    pub reasoning_effort: Option<ReasoningEffort>,
}

/// Everything besides the conversation that shapes the body.
#[derive(Debug, Clone, Copy)]
pub struct BodyOptions<'a> {
    /// The model (id, limits, capabilities).
    pub model: &'a ModelInfo,
    /// Sampling knobs.
    pub sampling: &'a SamplingOptions,
    /// Send earlier reasoning back as `reasoning_content` on assistant messages.
    pub send_reasoning_back: bool,
    /// `prompt_cache_key`, when prompt-cache affinity is wanted.
    pub prompt_cache_key: Option<&'a str>,
}

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    stream: bool,
    stream_options: StreamOptions,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f32>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stop: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_effort: Option<ReasoningEffort>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_cache_key: Option<&'a str>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(tag = "role", rename_all = "lowercase")]
enum WireMessage<'a> {
    System {
        content: &'a str,
    },
    User {
        content: UserContent<'a>,
    },
    Assistant {
        /// `null` when the message only calls tools.
        content: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reasoning_content: Option<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<WireToolCall<'a>>,
    },
    Tool {
        tool_call_id: &'a str,
        content: String,
    },
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(untagged)]
enum UserContent<'a> {
    Text(String),
    Parts(Vec<Part<'a>>),
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Part<'a> {
    Text { text: Cow<'a, str> },
    ImageUrl { image_url: ImageUrl },
}

#[derive(Debug, Serialize, PartialEq)]
struct ImageUrl {
    url: String,
}

#[derive(Debug, Serialize, PartialEq)]
struct WireToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunctionCall<'a>,
}

#[derive(Debug, Serialize, PartialEq)]
struct WireFunctionCall<'a> {
    name: &'a str,
    arguments: String,
}

#[derive(Serialize)]
struct WireTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireToolFunction<'a>,
}

#[derive(Serialize)]
struct WireToolFunction<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a serde_json::Value,
}

/// Builds the JSON body of a streamed chat completion.
pub fn build_body(request: &ChatRequest, options: BodyOptions<'_>) -> Result<Vec<u8>, Error> {
    let model = options.model;
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if !request.system_prompt.is_empty() {
        messages.push(WireMessage::System {
            content: &request.system_prompt,
        });
    }
    map_conversation(&request.messages, options, &mut messages)?;
    let tools: Vec<WireTool<'_>> = request.tools.iter().map(wire_tool).collect();
    let mut body = Body {
        model: &model.id,
        messages,
        stream: true,
        stream_options: StreamOptions {
            include_usage: true,
        },
        max_tokens: model.max_tokens,
        temperature: options.sampling.temperature.or(model.default_temperature),
        top_p: options.sampling.top_p,
        stop: &options.sampling.stop,
        reasoning_effort: options.sampling.reasoning_effort,
        tool_choice: (!tools.is_empty()).then_some("auto"),
        tools,
        prompt_cache_key: options.prompt_cache_key,
    };
    body.max_tokens = fit_max_tokens(model, prompt_bytes_estimate(request, &body)?);
    serde_json::to_vec(&body).map_err(encode_error)
}

/// The prompt's size for the token estimate: the messages and tool definitions as JSON, with
/// each image counted as [`IMAGE_TOKEN_ESTIMATE`] tokens instead of its base64 bytes.
fn prompt_bytes_estimate(request: &ChatRequest, body: &Body<'_>) -> Result<usize, Error> {
    let mut counter = ByteCounter(0);
    serde_json::to_writer(&mut counter, &(&body.messages, &body.tools)).map_err(encode_error)?;
    let (mut images, mut image_bytes) = (0, 0);
    let mut blocks: Vec<&ContentBlock> = request.messages.iter().flat_map(|m| &m.content).collect();
    while let Some(block) = blocks.pop() {
        match block {
            ContentBlock::Image { data, .. } => {
                images += 1;
                image_bytes += data.len();
            }
            ContentBlock::ToolResult { content, .. } => blocks.extend(content),
            _ => {}
        }
    }
    Ok(counter.0.saturating_sub(image_bytes)
        + images * IMAGE_TOKEN_ESTIMATE * BYTES_PER_TOKEN_ESTIMATE)
}

/// Counts the bytes written to it, storing none.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn encode_error(err: serde_json::Error) -> Error {
    Error::Config(format!("the request could not be encoded as JSON: {err}"))
}

/// The model's output cap, lowered so that the estimated prompt plus the output fit the context
/// window, but never below [`MIN_MAX_TOKENS`].
pub fn fit_max_tokens(model: &ModelInfo, prompt_bytes: usize) -> u32 {
    let estimate = prompt_bytes.div_ceil(BYTES_PER_TOKEN_ESTIMATE);
    let room = (model.context_window as usize).saturating_sub(estimate);
    let room = u32::try_from(room).unwrap_or(u32::MAX);
    model
        .max_tokens
        .min(room)
        .max(MIN_MAX_TOKENS.min(model.max_tokens))
}

fn wire_tool(tool: &ToolSpec) -> WireTool<'_> {
    WireTool {
        kind: "function",
        function: WireToolFunction {
            name: &tool.name,
            description: &tool.description,
            parameters: &tool.input_schema,
        },
    }
}

/// Maps and checks the conversation, message by message.
fn map_conversation<'a>(
    conversation: &'a [Message],
    options: BodyOptions<'_>,
    out: &mut Vec<WireMessage<'a>>,
) -> Result<(), Error> {
    // Ids of tool uses not answered yet, and of every tool use seen.
    let mut open_calls: Vec<&str> = Vec::new();
    let mut known_calls: HashSet<&str> = HashSet::new();
    for (index, message) in conversation.iter().enumerate() {
        let fail = |what: String| Error::Config(format!("message {index}: {what}"));
        if is_empty(message) {
            return Err(fail("the message is empty".into()));
        }
        match message.role {
            Role::Assistant => {
                if let Some(id) = open_calls.first() {
                    return Err(fail(format!(
                        "tool use {id} was never answered with a tool result"
                    )));
                }
                let wire = assistant_message(message, options.send_reasoning_back, &fail)?;
                if let WireMessage::Assistant { tool_calls, .. } = &wire {
                    for call in tool_calls {
                        if !known_calls.insert(call.id) {
                            return Err(fail(format!("tool use id {} is used twice", call.id)));
                        }
                        open_calls.push(call.id);
                    }
                }
                out.push(wire);
            }
            Role::User => user_turn(message, options.model, &mut open_calls, &known_calls, out)
                .map_err(fail)?,
        }
    }
    match open_calls.first() {
        Some(id) => Err(Error::Config(format!(
            "message {}: tool use {id} was never answered with a tool result",
            conversation.len() - 1
        ))),
        None => Ok(()),
    }
}

fn is_empty(message: &Message) -> bool {
    message.content.iter().all(|block| match block {
        ContentBlock::Text { text } | ContentBlock::Reasoning { text } => text.is_empty(),
        _ => false,
    })
}

fn assistant_message<'a>(
    message: &'a Message,
    send_reasoning_back: bool,
    fail: &impl Fn(String) -> Error,
) -> Result<WireMessage<'a>, Error> {
    let mut texts = Vec::new();
    let mut reasoning = Vec::new();
    let mut tool_calls = Vec::new();
    for block in &message.content {
        match block {
            ContentBlock::Text { text } => texts.push(text.as_str()),
            ContentBlock::Reasoning { text } => reasoning.push(text.as_str()),
            ContentBlock::ToolUse { id, name, input } => tool_calls.push(WireToolCall {
                id,
                kind: "function",
                function: WireFunctionCall {
                    name,
                    arguments: input.to_string(),
                },
            }),
            ContentBlock::Image { .. } => {
                return Err(fail("an assistant message cannot hold an image".into()));
            }
            ContentBlock::ToolResult { .. } => {
                return Err(fail(
                    "a tool result belongs in a user message, not an assistant one".into(),
                ));
            }
        }
    }
    let joined = |parts: Vec<&str>| {
        let parts: Vec<&str> = parts.into_iter().filter(|p| !p.is_empty()).collect();
        (!parts.is_empty()).then(|| parts.join("\n\n"))
    };
    Ok(WireMessage::Assistant {
        // `null` only beside tool calls; a turn whose only block was reasoning that is not sent
        // back stays a (blank) assistant turn.
        content: joined(texts).or_else(|| tool_calls.is_empty().then(String::new)),
        reasoning_content: if send_reasoning_back {
            joined(reasoning)
        } else {
            None
        },
        tool_calls,
    })
}

/// Maps one user message: tool results first (one `tool` message each), then one user message
/// with the images the tools returned and the user's own text and images.
fn user_turn<'a>(
    message: &'a Message,
    model: &ModelInfo,
    open_calls: &mut Vec<&'a str>,
    known_calls: &HashSet<&str>,
    out: &mut Vec<WireMessage<'a>>,
) -> Result<(), String> {
    // Images returned by tools, each group labelled with its call; then the user's own parts.
    let mut tool_images: Vec<Part<'a>> = Vec::new();
    let mut parts: Vec<Part<'a>> = Vec::new();
    for block in &message.content {
        match block {
            ContentBlock::Text { text } => {
                if !text.is_empty() {
                    parts.push(Part::Text {
                        text: Cow::Borrowed(text),
                    });
                }
            }
            ContentBlock::Image { media_type, data } => {
                parts.push(image_part(model, media_type, data)?);
            }
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => {
                if !known_calls.contains(tool_use_id.as_str()) {
                    return Err(format!(
                        "tool result {tool_use_id} answers no earlier tool use"
                    ));
                }
                let Some(position) = open_calls.iter().position(|id| id == tool_use_id) else {
                    return Err(format!("tool use {tool_use_id} is answered twice"));
                };
                open_calls.remove(position);
                let mut texts = Vec::new();
                let mut images = Vec::new();
                for inner in content {
                    match inner {
                        ContentBlock::Text { text } => texts.push(text.as_str()),
                        ContentBlock::Image { media_type, data } => {
                            images.push(image_part(model, media_type, data)?)
                        }
                        _ => {
                            return Err(format!(
                                "tool result {tool_use_id} may hold only text and images"
                            ));
                        }
                    }
                }
                let mut text = texts.join("\n");
                if text.is_empty() {
                    text = if images.is_empty() {
                        "(no output)".into()
                    } else {
                        "(see the image(s) in the next message)".into()
                    };
                }
                if *is_error {
                    text.insert_str(0, "Error: ");
                }
                out.push(WireMessage::Tool {
                    tool_call_id: tool_use_id,
                    content: text,
                });
                if !images.is_empty() {
                    tool_images.push(Part::Text {
                        text: Cow::Owned(format!("Image(s) returned by tool call {tool_use_id}:")),
                    });
                    tool_images.extend(images);
                }
            }
            ContentBlock::ToolUse { id, .. } => {
                return Err(format!(
                    "tool use {id} belongs in an assistant message, not a user one"
                ));
            }
            ContentBlock::Reasoning { .. } => {
                return Err("reasoning belongs in an assistant message, not a user one".into());
            }
        }
    }
    tool_images.append(&mut parts);
    let parts = tool_images;
    if parts.is_empty() {
        return Ok(());
    }
    let texts: Option<Vec<&str>> = parts
        .iter()
        .map(|part| match part {
            Part::Text { text } => Some(text.as_ref()),
            Part::ImageUrl { .. } => None,
        })
        .collect();
    let content = match texts {
        Some(texts) => UserContent::Text(texts.join("\n\n")),
        None => UserContent::Parts(parts),
    };
    out.push(WireMessage::User { content });
    Ok(())
}

fn image_part<'a>(model: &ModelInfo, media_type: &str, data: &str) -> Result<Part<'a>, String> {
    if !model.supports_images {
        return Err(format!(
            "holds an image, but model {} does not take images",
            model.id
        ));
    }
    if !media_type.starts_with("image/") || media_type.len() == "image/".len() {
        return Err(format!("media type {media_type:?} is not an image type"));
    }
    if !is_base64(data) {
        return Err("image data is not valid base64".into());
    }
    Ok(Part::ImageUrl {
        image_url: ImageUrl {
            url: format!("data:{media_type};base64,{data}"),
        },
    })
}

/// Standard base64 with padding (the form data URLs carry).
fn is_base64(data: &str) -> bool {
    let bytes = data.as_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(4) {
        return false;
    }
    let body = data.trim_end_matches('=');
    bytes.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const MODEL_ID: &str = "accounts/fireworks/models/test";
    /// A valid (tiny) base64 payload.
    const PNG_DATA: &str = "iVBORw0KGgo=";

    fn model() -> ModelInfo {
        ModelInfo::unknown(MODEL_ID)
    }

    fn text_only_model() -> ModelInfo {
        ModelInfo {
            supports_images: false,
            ..ModelInfo::unknown(MODEL_ID)
        }
    }

    fn body_with(
        request: &ChatRequest,
        model: &ModelInfo,
        sampling: &SamplingOptions,
        send_reasoning_back: bool,
    ) -> Result<Value, Error> {
        let bytes = build_body(
            request,
            BodyOptions {
                model,
                sampling,
                send_reasoning_back,
                prompt_cache_key: None,
            },
        )?;
        Ok(serde_json::from_slice(&bytes).expect("the body is valid JSON"))
    }

    fn body(request: &ChatRequest) -> Value {
        body_with(request, &model(), &SamplingOptions::default(), false).expect("a valid request")
    }

    fn messages(request: &ChatRequest) -> Value {
        body(request)["messages"].clone()
    }

    /// The message of the `Error::Config` a request is refused with.
    fn config_error(request: &ChatRequest, model: &ModelInfo) -> String {
        match body_with(request, model, &SamplingOptions::default(), false) {
            Err(Error::Config(message)) => message,
            Err(other) => panic!("expected a Config error, got {other:?}"),
            Ok(body) => panic!("expected a Config error, got the body {body}"),
        }
    }

    fn user(content: Vec<ContentBlock>) -> Message {
        Message {
            role: Role::User,
            content,
        }
    }

    fn assistant(content: Vec<ContentBlock>) -> Message {
        Message {
            role: Role::Assistant,
            content,
        }
    }

    fn text(text: &str) -> ContentBlock {
        ContentBlock::Text { text: text.into() }
    }

    fn image(media_type: &str, data: &str) -> ContentBlock {
        ContentBlock::Image {
            media_type: media_type.into(),
            data: data.into(),
        }
    }

    fn tool_use(id: &str, name: &str, input: Value) -> ContentBlock {
        ContentBlock::ToolUse {
            id: id.into(),
            name: name.into(),
            input,
        }
    }

    fn tool_result(id: &str, content: Vec<ContentBlock>, is_error: bool) -> ContentBlock {
        ContentBlock::ToolResult {
            tool_use_id: id.into(),
            content,
            is_error,
        }
    }

    fn reasoning(text: &str) -> ContentBlock {
        ContentBlock::Reasoning { text: text.into() }
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

    // 1. A plain text conversation.

    #[test]
    fn plain_conversation_has_system_first_then_turns_and_only_set_fields() {
        let request = ChatRequest::new(
            "You are terse.",
            vec![
                Message::user("Hi"),
                Message::assistant("Hello."),
                Message::user("Bye"),
            ],
        );
        let body = body(&request);
        assert_eq!(
            body,
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
    fn empty_system_prompt_sends_no_system_message() {
        let request = ChatRequest::new("", vec![Message::user("Hi")]);
        assert_eq!(
            messages(&request),
            json!([{"role": "user", "content": "Hi"}])
        );
    }

    #[test]
    fn prompt_cache_key_is_sent_when_given() {
        let request = ChatRequest::new("", vec![Message::user("Hi")]);
        let model = model();
        let sampling = SamplingOptions::default();
        let bytes = build_body(
            &request,
            BodyOptions {
                model: &model,
                sampling: &sampling,
                send_reasoning_back: false,
                prompt_cache_key: Some("session-42"),
            },
        )
        .unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["prompt_cache_key"], json!("session-42"));
    }

    // 2. Sampling options.

    #[test]
    fn sampling_options_are_sent_when_set() {
        let request = ChatRequest::new("", vec![Message::user("Hi")]);
        let sampling = SamplingOptions {
            temperature: Some(0.5),
            top_p: Some(0.25),
            stop: vec!["END".into(), "\n\n".into()],
            reasoning_effort: Some(ReasoningEffort::High),
        };
        let body = body_with(&request, &model(), &sampling, false).unwrap();
        assert_eq!(body["temperature"], json!(0.5));
        assert_eq!(body["top_p"], json!(0.25));
        assert_eq!(body["stop"], json!(["END", "\n\n"]));
        assert_eq!(body["reasoning_effort"], json!("high"));
    }

    #[test]
    fn model_default_temperature_is_used_when_sampling_has_none() {
        let request = ChatRequest::new("", vec![Message::user("Hi")]);
        let model = ModelInfo {
            default_temperature: Some(0.75),
            ..model()
        };
        let body = body_with(&request, &model, &SamplingOptions::default(), false).unwrap();
        assert_eq!(body["temperature"], json!(0.75));

        let explicit = SamplingOptions {
            temperature: Some(0.25),
            ..SamplingOptions::default()
        };
        let body = body_with(&request, &model, &explicit, false).unwrap();
        assert_eq!(body["temperature"], json!(0.25), "the setting wins");
    }

    #[test]
    fn no_sampling_fields_without_settings_or_model_default() {
        let request = ChatRequest::new("", vec![Message::user("Hi")]);
        let body = body(&request);
        for key in ["temperature", "top_p", "stop", "reasoning_effort"] {
            assert!(body.get(key).is_none(), "{key} must not be sent: {body}");
        }
    }

    #[test]
    fn reasoning_effort_parses_from_its_wire_names() {
        assert_eq!(
            "low".parse::<ReasoningEffort>().unwrap(),
            ReasoningEffort::Low
        );
        assert_eq!(
            "none".parse::<ReasoningEffort>().unwrap(),
            ReasoningEffort::None
        );
        assert!(matches!(
            "max".parse::<ReasoningEffort>(),
            Err(Error::Config(_))
        ));
    }

    // 3. Images.

    #[test]
    fn image_block_becomes_user_content_parts_with_data_url() {
        let request = ChatRequest::new(
            "",
            vec![user(vec![
                text("What is this?"),
                image("image/png", PNG_DATA),
            ])],
        );
        assert_eq!(
            messages(&request),
            json!([{
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PNG_DATA}")}},
                ],
            }])
        );
    }

    #[test]
    fn image_for_a_model_without_image_input_is_a_config_error_naming_the_message() {
        let request = ChatRequest::new(
            "",
            vec![user(vec![text("Look"), image("image/png", PNG_DATA)])],
        );
        let message = config_error(&request, &text_only_model());
        assert!(message.contains("message 0"), "{message}");
        assert!(message.contains("image"), "{message}");
    }

    #[test]
    fn non_image_media_type_is_a_config_error() {
        let request = ChatRequest::new("", vec![user(vec![image("text/plain", PNG_DATA)])]);
        let message = config_error(&request, &model());
        assert!(message.contains("message 0"), "{message}");
        assert!(message.contains("text/plain"), "{message}");
    }

    #[test]
    fn invalid_base64_image_data_is_a_config_error() {
        let request = ChatRequest::new("", vec![user(vec![image("image/png", "not base64!")])]);
        let message = config_error(&request, &model());
        assert!(message.contains("message 0"), "{message}");
        assert!(message.contains("base64"), "{message}");
    }

    // 4. Tool uses.

    #[test]
    fn tool_use_without_text_has_null_content_and_tool_calls() {
        let request = ChatRequest::new(
            "",
            vec![
                Message::user("List files"),
                assistant(vec![tool_use(
                    "call_1",
                    "ls",
                    json!({"path": "src", "all": true}),
                )]),
                user(vec![tool_result("call_1", vec![text("lib.rs")], false)]),
            ],
        );
        let messages = messages(&request);
        let call = &messages[1];
        assert_eq!(
            *call,
            json!({
                "role": "assistant",
                "content": null,
                "tool_calls": [{
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "ls", "arguments": "{\"all\":true,\"path\":\"src\"}"},
                }],
            })
        );
        assert!(
            call.as_object().unwrap().contains_key("content"),
            "content must be present as null, not left out"
        );
        let arguments = call["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(arguments).unwrap(),
            json!({"path": "src", "all": true})
        );
    }

    #[test]
    fn tool_use_with_text_sends_the_text_as_content() {
        let request = ChatRequest::new(
            "",
            vec![
                Message::user("List files"),
                assistant(vec![
                    text("Let me look."),
                    tool_use("call_1", "ls", json!({})),
                ]),
                user(vec![tool_result("call_1", vec![text("lib.rs")], false)]),
            ],
        );
        assert_eq!(
            messages(&request)[1],
            json!({
                "role": "assistant",
                "content": "Let me look.",
                "tool_calls": [{
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "ls", "arguments": "{}"},
                }],
            })
        );
    }

    // 5. Tool results.

    /// A conversation whose assistant turn calls `ls` as `call_1` and `cat` as `call_2`,
    /// followed by `answer`.
    fn two_calls_then(answer: Message) -> ChatRequest {
        ChatRequest::new(
            "",
            vec![
                Message::user("Look around"),
                assistant(vec![
                    tool_use("call_1", "ls", json!({})),
                    tool_use("call_2", "cat", json!({"file": "a"})),
                ]),
                answer,
            ],
        )
    }

    #[test]
    fn tool_results_become_tool_messages_before_the_turns_text() {
        let request = two_calls_then(user(vec![
            text("Also, hurry."),
            tool_result("call_1", vec![text("a"), text("b")], false),
            tool_result("call_2", vec![text("contents")], false),
        ]));
        let messages = messages(&request);
        assert_eq!(
            messages.as_array().unwrap()[2..],
            [
                json!({"role": "tool", "tool_call_id": "call_1", "content": "a\nb"}),
                json!({"role": "tool", "tool_call_id": "call_2", "content": "contents"}),
                json!({"role": "user", "content": "Also, hurry."}),
            ]
        );
    }

    #[test]
    fn tool_result_text_parts_are_all_kept() {
        let request = two_calls_then(user(vec![
            tool_result(
                "call_1",
                vec![text("first"), text("second"), text("third")],
                false,
            ),
            tool_result("call_2", vec![], false),
        ]));
        let messages = messages(&request);
        let content = messages[2]["content"].as_str().unwrap();
        for part in ["first", "second", "third"] {
            assert!(content.contains(part), "{content:?} lacks {part:?}");
        }
        assert!(
            content.find("first") < content.find("second")
                && content.find("second") < content.find("third"),
            "{content:?}"
        );
        // An empty result still answers the call with some content.
        assert_eq!(messages[3]["role"], json!("tool"));
        assert!(!messages[3]["content"].as_str().unwrap().is_empty());
    }

    #[test]
    fn failed_tool_result_says_error_in_its_content() {
        let request = two_calls_then(user(vec![
            tool_result("call_1", vec![text("permission denied")], true),
            tool_result("call_2", vec![text("ok")], false),
        ]));
        let messages = messages(&request);
        assert_eq!(
            messages[2],
            json!({"role": "tool", "tool_call_id": "call_1", "content": "Error: permission denied"})
        );
        assert_eq!(messages[3]["content"], json!("ok"));
    }

    #[test]
    fn tool_result_image_goes_into_a_user_message_right_after_the_tool_messages() {
        let request = two_calls_then(user(vec![
            tool_result(
                "call_1",
                vec![text("screenshot taken"), image("image/png", PNG_DATA)],
                false,
            ),
            tool_result("call_2", vec![text("ok")], false),
            text("What do you see?"),
        ]));
        let messages = messages(&request);
        let messages = messages.as_array().unwrap();
        assert_eq!(messages.len(), 5, "{messages:?}");
        assert_eq!(
            messages[2],
            json!({"role": "tool", "tool_call_id": "call_1", "content": "screenshot taken"})
        );
        assert_eq!(messages[3]["role"], json!("tool"));
        assert_eq!(messages[4]["role"], json!("user"));
        let parts = messages[4]["content"].as_array().expect("content parts");
        let url = format!("data:image/png;base64,{PNG_DATA}");
        let image_at = parts
            .iter()
            .position(|part| *part == json!({"type": "image_url", "image_url": {"url": url}}))
            .expect("the tool's image is sent");
        // The image is labelled with its call, before it.
        assert!(
            parts[..image_at]
                .iter()
                .any(|part| part["type"] == "text"
                    && part["text"].as_str().unwrap().contains("call_1")),
            "{parts:?}"
        );
        // The user's own text comes too.
        assert!(
            parts.contains(&json!({"type": "text", "text": "What do you see?"})),
            "{parts:?}"
        );
    }

    #[test]
    fn tool_result_with_only_an_image_is_not_dropped() {
        let request = ChatRequest::new(
            "",
            vec![
                Message::user("Screenshot please"),
                assistant(vec![tool_use("call_1", "screenshot", json!({}))]),
                user(vec![tool_result(
                    "call_1",
                    vec![image("image/jpeg", PNG_DATA)],
                    false,
                )]),
            ],
        );
        let messages = messages(&request);
        assert_eq!(messages[2]["role"], json!("tool"));
        assert_eq!(messages[2]["tool_call_id"], json!("call_1"));
        assert!(!messages[2]["content"].as_str().unwrap().is_empty());
        let parts = messages[3]["content"].as_array().expect("content parts");
        assert!(parts.contains(&json!({
            "type": "image_url",
            "image_url": {"url": format!("data:image/jpeg;base64,{PNG_DATA}")},
        })));
    }

    // 6. Reasoning.

    fn with_reasoning() -> ChatRequest {
        ChatRequest::new(
            "",
            vec![
                Message::user("2+2?"),
                assistant(vec![reasoning("Add them."), text("4")]),
                Message::user("Thanks"),
            ],
        )
    }

    #[test]
    fn reasoning_is_sent_back_as_reasoning_content_when_asked() {
        let body = body_with(
            &with_reasoning(),
            &model(),
            &SamplingOptions::default(),
            true,
        )
        .unwrap();
        assert_eq!(
            body["messages"][1],
            json!({"role": "assistant", "content": "4", "reasoning_content": "Add them."})
        );
    }

    #[test]
    fn reasoning_is_left_out_when_not_sent_back() {
        let body = body_with(
            &with_reasoning(),
            &model(),
            &SamplingOptions::default(),
            false,
        )
        .unwrap();
        assert_eq!(
            body["messages"][1],
            json!({"role": "assistant", "content": "4"})
        );
    }

    #[test]
    fn reasoning_never_appears_as_think_text_in_content() {
        for send_back in [false, true] {
            let bytes = build_body(
                &with_reasoning(),
                BodyOptions {
                    model: &model(),
                    sampling: &SamplingOptions::default(),
                    send_reasoning_back: send_back,
                    prompt_cache_key: None,
                },
            )
            .unwrap();
            let body: Value = serde_json::from_slice(&bytes).unwrap();
            for message in body["messages"].as_array().unwrap() {
                let content = message["content"].as_str().unwrap_or_default();
                assert!(!content.contains("<think>"), "{message}");
                assert!(!content.contains("Add them."), "{message}");
            }
        }
    }

    // 7. Tools on offer.

    #[test]
    fn tools_are_offered_as_functions_with_auto_choice() {
        let schema = json!({
            "type": "object",
            "properties": {"path": {"type": "string"}},
            "required": ["path"],
        });
        let request = ChatRequest::new("", vec![Message::user("Hi")]).with_tools(vec![ToolSpec {
            name: "read_file".into(),
            description: "Reads a file.".into(),
            input_schema: schema.clone(),
        }]);
        let body = body(&request);
        assert_eq!(
            body["tools"],
            json!([{
                "type": "function",
                "function": {"name": "read_file", "description": "Reads a file.", "parameters": schema},
            }])
        );
        assert_eq!(body["tool_choice"], json!("auto"));
    }

    #[test]
    fn no_tools_means_no_tools_or_tool_choice_key() {
        let body = body(&ChatRequest::new("", vec![Message::user("Hi")]));
        assert!(body.get("tools").is_none(), "{body}");
        assert!(body.get("tool_choice").is_none(), "{body}");
    }

    // 8. Validation.

    #[test]
    fn tool_result_matching_no_earlier_tool_use_is_refused() {
        let request = ChatRequest::new(
            "",
            vec![
                Message::user("Hi"),
                Message::assistant("Hello"),
                user(vec![tool_result("call_9", vec![text("x")], false)]),
            ],
        );
        let message = config_error(&request, &model());
        assert!(message.contains("message 2"), "{message}");
        assert!(message.contains("call_9"), "{message}");
    }

    #[test]
    fn tool_use_unanswered_before_the_next_assistant_turn_is_refused() {
        let request = ChatRequest::new(
            "",
            vec![
                Message::user("Hi"),
                assistant(vec![tool_use("call_1", "ls", json!({}))]),
                Message::user("never mind"),
                Message::assistant("OK"),
                Message::user("bye"),
            ],
        );
        let message = config_error(&request, &model());
        assert!(message.contains("message 3"), "{message}");
        assert!(message.contains("call_1"), "{message}");
    }

    #[test]
    fn tool_use_unanswered_at_the_end_is_refused() {
        let request = ChatRequest::new(
            "",
            vec![
                Message::user("Hi"),
                assistant(vec![tool_use("call_1", "ls", json!({}))]),
                Message::user("never mind"),
            ],
        );
        let message = config_error(&request, &model());
        assert!(message.contains("message 2"), "{message}");
        assert!(message.contains("call_1"), "{message}");
    }

    #[test]
    fn empty_messages_are_refused() {
        let no_blocks = ChatRequest::new("", vec![Message::user("Hi"), assistant(vec![])]);
        let message = config_error(&no_blocks, &model());
        assert!(message.contains("message 1"), "{message}");

        let empty_text = ChatRequest::new("", vec![user(vec![text(""), text("")])]);
        let message = config_error(&empty_text, &model());
        assert!(message.contains("message 0"), "{message}");
    }

    #[test]
    fn tool_use_answered_twice_is_refused() {
        let request = ChatRequest::new(
            "",
            vec![
                Message::user("Hi"),
                assistant(vec![tool_use("call_1", "ls", json!({}))]),
                user(vec![
                    tool_result("call_1", vec![text("a")], false),
                    tool_result("call_1", vec![text("a")], false),
                ]),
            ],
        );
        let message = config_error(&request, &model());
        assert!(message.contains("message 2"), "{message}");
        assert!(message.contains("call_1"), "{message}");
    }

    #[test]
    fn tool_use_answered_again_in_a_later_turn_is_refused() {
        let request = ChatRequest::new(
            "",
            vec![
                Message::user("Hi"),
                assistant(vec![tool_use("call_1", "ls", json!({}))]),
                user(vec![tool_result("call_1", vec![text("a")], false)]),
                Message::assistant("Done"),
                user(vec![tool_result("call_1", vec![text("a")], false)]),
            ],
        );
        let message = config_error(&request, &model());
        assert!(message.contains("message 4"), "{message}");
    }

    // 9. fit_max_tokens.

    #[test]
    fn small_prompt_gets_the_models_max_tokens() {
        let model = model();
        assert_eq!(fit_max_tokens(&model, 1_000), model.max_tokens);
        let body = body(&ChatRequest::new("", vec![Message::user("Hi")]));
        assert_eq!(body["max_tokens"], json!(model.max_tokens));
    }

    #[test]
    fn prompt_near_the_context_window_lowers_max_tokens_by_the_byte_estimate() {
        let model = model();
        let window = model.context_window as usize;
        // Leaves exactly 1000 tokens of room.
        let bytes = (window - 1_000) * BYTES_PER_TOKEN_ESTIMATE;
        assert_eq!(fit_max_tokens(&model, bytes), 1_000);
        // A partial token counts as a whole one.
        assert_eq!(fit_max_tokens(&model, bytes + 1), 999);
    }

    #[test]
    fn max_tokens_never_drops_below_the_minimum() {
        let model = model();
        let window = model.context_window as usize;
        let nearly_full = (window - 10) * BYTES_PER_TOKEN_ESTIMATE;
        assert_eq!(fit_max_tokens(&model, nearly_full), MIN_MAX_TOKENS);
        let overfull = window * 2 * BYTES_PER_TOKEN_ESTIMATE;
        assert_eq!(fit_max_tokens(&model, overfull), MIN_MAX_TOKENS);
        // A model whose cap is below the minimum keeps its cap.
        let tiny = ModelInfo {
            max_tokens: 100,
            ..model.clone()
        };
        assert_eq!(fit_max_tokens(&tiny, overfull), 100);
    }

    #[test]
    fn huge_prompt_lowers_max_tokens_in_the_body() {
        let model = model();
        let window = model.context_window as usize;
        // About 2000 tokens of room left once the JSON framing is counted.
        let huge = "a".repeat((window - 2_000) * BYTES_PER_TOKEN_ESTIMATE);
        let body = body(&ChatRequest::new("", vec![Message::user(huge)]));
        let max_tokens = body["max_tokens"].as_u64().unwrap();
        assert!(
            (u64::from(MIN_MAX_TOKENS)..2_000).contains(&max_tokens),
            "{max_tokens}"
        );
        assert!(max_tokens > 1_900, "{max_tokens}");
    }

    #[test]
    fn images_count_as_a_fixed_estimate_not_their_base64_size() {
        // A 600 KB screenshot would be 200K "tokens" by its bytes; it counts as a few thousand.
        let screenshot = "A".repeat(600_000);
        let request = ChatRequest::new(
            "",
            vec![user(vec![
                text("what is wrong here?"),
                image("image/png", &screenshot),
            ])],
        );
        let model = model();
        assert_eq!(
            body(&request)["max_tokens"].as_u64().unwrap(),
            u64::from(model.max_tokens)
        );
    }

    // 10. Prefix stability.

    /// The raw bytes of the body's `messages` array, exactly as serialised.
    fn raw_messages(body: &[u8]) -> Vec<u8> {
        let key = b"\"messages\":";
        let start = body
            .windows(key.len())
            .position(|window| window == key)
            .expect("a messages key")
            + key.len();
        let mut values = serde_json::Deserializer::from_slice(&body[start..]).into_iter::<Value>();
        values.next().expect("a value").expect("valid JSON");
        body[start..start + values.byte_offset()].to_vec()
    }

    #[test]
    fn each_turns_messages_are_a_byte_prefix_of_the_next_turns() {
        let tools = vec![ToolSpec {
            name: "ls".into(),
            description: "Lists a directory.".into(),
            input_schema: json!({"type": "object", "properties": {"path": {"type": "string"}}}),
        }];
        let turn1 = vec![user(vec![
            text("Describe src/ and this picture"),
            image("image/png", PNG_DATA),
        ])];
        let mut turn2 = turn1.clone();
        turn2.push(assistant(vec![
            reasoning("I should list it."),
            text("Looking."),
            tool_use(
                "call_1",
                "ls",
                json!({"path": "src", "deep": false, "n": 1.5}),
            ),
        ]));
        turn2.push(user(vec![tool_result(
            "call_1",
            vec![text("lib.rs\nmain.rs"), image("image/png", PNG_DATA)],
            false,
        )]));
        let mut turn3 = turn2.clone();
        turn3.push(assistant(vec![text("Two files: \"lib.rs\" and main.rs ✓")]));
        turn3.push(Message::user("Thanks"));

        let model = model();
        let sampling = SamplingOptions::default();
        let raw: Vec<Vec<u8>> = [turn1, turn2, turn3]
            .into_iter()
            .map(|messages| {
                let request = ChatRequest::new("Be brief.", messages).with_tools(tools.clone());
                let body = build_body(
                    &request,
                    BodyOptions {
                        model: &model,
                        sampling: &sampling,
                        send_reasoning_back: true,
                        prompt_cache_key: Some("key"),
                    },
                )
                .unwrap();
                let raw = raw_messages(&body);
                let parsed: Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(
                    serde_json::from_slice::<Value>(&raw).unwrap(),
                    parsed["messages"]
                );
                raw
            })
            .collect();
        for pair in raw.windows(2) {
            let (shorter, longer) = (&pair[0], &pair[1]);
            assert_eq!(shorter.last(), Some(&b']'));
            let open = &shorter[..shorter.len() - 1];
            assert!(
                longer.starts_with(open),
                "not a prefix:\n{}\n{}",
                String::from_utf8_lossy(shorter),
                String::from_utf8_lossy(longer)
            );
            assert_eq!(longer[open.len()], b',', "the next turn appends messages");
        }
    }
}
