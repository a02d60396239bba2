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
    let messages_bytes = serde_json::to_vec(&body.messages).map_err(encode_error)?;
    body.max_tokens = fit_max_tokens(model, messages_bytes.len());
    serde_json::to_vec(&body).map_err(encode_error)
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
        content: joined(texts),
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
    if bytes.is_empty() || bytes.len() % 4 != 0 {
        return false;
    }
    let body = data.trim_end_matches('=');
    bytes.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}
