//! The chat-completions request body as it goes on the wire: its JSON shapes and the order of
//! its fields.
//!
//! Only fields that are set are written (Fireworks rejects unknown or `null` placeholder
//! fields), and a field the host's `extra_body` sets is left for `extra_body` to write, so no
//! key appears twice. Everything borrows from the host's request: the body is written in one
//! pass, and an image's base64 data is copied once, straight into the output.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::options::Resolved;
use super::reasoning::ReasoningControl;
use crate::host::ToolSpec;
use crate::host::{ResponseFormat, ToolChoice};

/// The whole body of a streamed chat completion.
pub(crate) struct Body<'a> {
    pub model: &'a str,
    pub messages: &'a [WireMessage<'a>],
    pub tools: &'a [ToolSpec],
    pub max_tokens: u32,
    pub prompt_cache_key: Option<&'a str>,
    pub options: Resolved<'a>,
}

impl Body<'_> {
    /// About the body's length in bytes, from the lengths of what it carries (read, not
    /// scanned), so that the output is allocated once rather than grown by doubling: text gets
    /// an eighth more for its escapes, and each message, part, tool call and tool some room for
    /// its keys. A guess too small only costs one growth of the output.
    pub(super) fn size_hint(&self) -> usize {
        const KEYS: usize = 64;
        let (mut text, mut verbatim) = (0, 1024);
        for message in self.messages {
            let lengths = message.lengths();
            text += lengths.text;
            verbatim += KEYS * (1 + lengths.pieces) + lengths.names + lengths.image_bytes;
        }
        for tool in self.tools {
            verbatim += 4 * KEYS + tool.name.len();
            text += tool.description.len();
        }
        verbatim + text + text / 8
    }
}

/// What one message carries, by length: read from the pieces, never scanned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Lengths {
    /// Bytes of text: contents, reasoning, tool-call arguments and results.
    pub text: usize,
    /// Bytes of ids and tool names.
    pub names: usize,
    /// Parts and tool calls inside the message.
    pub pieces: usize,
    /// Images.
    pub images: usize,
    /// Bytes of the images' data URLs (media type and base64 data).
    pub image_bytes: usize,
}

impl WireMessage<'_> {
    /// The lengths this message carries.
    pub(super) fn lengths(&self) -> Lengths {
        let mut l = Lengths::default();
        match self {
            WireMessage::System { content } => l.text += content.len(),
            WireMessage::User { content } => match content {
                UserContent::Text(text) => l.text += text.len(),
                UserContent::Parts(parts) => {
                    l.pieces += parts.len();
                    for part in parts {
                        match part {
                            Part::Text { text } => l.text += text.len(),
                            Part::ImageUrl { image_url } => {
                                l.images += 1;
                                l.image_bytes += image_url.media_type.len() + image_url.data.len();
                            }
                        }
                    }
                }
            },
            WireMessage::Assistant {
                content,
                reasoning_content,
                tool_calls,
            } => {
                l.text += content.as_ref().map_or(0, |c| c.len());
                l.text += reasoning_content.as_ref().map_or(0, |r| r.len());
                l.pieces += tool_calls.len();
                for call in tool_calls {
                    l.names += call.id.len() + call.function.name.len();
                    l.text += call.function.arguments.len();
                }
            }
            WireMessage::Tool {
                tool_call_id,
                content,
            } => {
                l.names += tool_call_id.len();
                l.text += content.len();
            }
        }
        l
    }
}

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let o = &self.options;
        let offers_tools = !self.tools.is_empty();
        let mut map = serializer.serialize_map(None)?;
        put(&mut map, o, "model", Some(self.model))?;
        put(&mut map, o, "messages", Some(self.messages))?;
        put(&mut map, o, "stream", Some(&true))?;
        let stream_options = StreamOptions {
            include_usage: true,
        };
        put(&mut map, o, "stream_options", Some(&stream_options))?;
        // `max_completion_tokens` is an alias: never send both.
        let max_tokens = Some(&self.max_tokens).filter(|_| !o.overridden("max_completion_tokens"));
        put(&mut map, o, "max_tokens", max_tokens)?;
        put(&mut map, o, "temperature", o.temperature.as_ref())?;
        put(&mut map, o, "top_p", o.top_p.as_ref())?;
        put(&mut map, o, "top_k", o.top_k.as_ref())?;
        put(
            &mut map,
            o,
            "stop",
            Some(o.stop).filter(|stop| !stop.is_empty()),
        )?;
        put(&mut map, o, "seed", o.seed.as_ref())?;
        // `thinking` and `reasoning_effort` are never sent together.
        match o.written_reasoning() {
            Some(ReasoningControl::Effort(effort)) => {
                map.serialize_entry("reasoning_effort", &effort)?
            }
            Some(ReasoningControl::Thinking(thinking)) => {
                map.serialize_entry("thinking", &thinking)?
            }
            None => {}
        }
        put(
            &mut map,
            o,
            "reasoning_history",
            o.reasoning_history.as_ref(),
        )?;
        let tools = offers_tools.then_some(WireTools(self.tools));
        put(&mut map, o, "tools", tools.as_ref())?;
        let choice = o.tool_choice.filter(|_| offers_tools).map(WireToolChoice);
        put(&mut map, o, "tool_choice", choice.as_ref())?;
        let parallel = o.parallel_tool_calls.filter(|_| offers_tools);
        put(&mut map, o, "parallel_tool_calls", parallel.as_ref())?;
        let format = o.response_format.map(WireResponseFormat);
        put(&mut map, o, "response_format", format.as_ref())?;
        put(&mut map, o, "prompt_cache_key", self.prompt_cache_key)?;
        put(&mut map, o, "service_tier", o.service_tier.as_ref())?;
        let perf_metrics = o.perf_metrics.then_some(&true);
        put(&mut map, o, "perf_metrics_in_response", perf_metrics)?;
        for (key, value) in o.extra_fields() {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// Writes one modeled field, when it is set and `extra_body` does not set it instead.
fn put<M: SerializeMap, T: Serialize + ?Sized>(
    map: &mut M,
    options: &Resolved<'_>,
    key: &'static str,
    value: Option<&T>,
) -> Result<(), M::Error> {
    match value {
        Some(value) if !options.overridden(key) => map.serialize_entry(key, value),
        _ => Ok(()),
    }
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// One message of the conversation on the wire.
#[derive(Debug, Serialize, PartialEq)]
#[serde(tag = "role", rename_all = "lowercase")]
pub(crate) enum WireMessage<'a> {
    System {
        content: &'a str,
    },
    User {
        content: UserContent<'a>,
    },
    Assistant {
        /// `null` when the message only calls tools.
        content: Option<Cow<'a, str>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reasoning_content: Option<Cow<'a, str>>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<WireToolCall<'a>>,
    },
    Tool {
        tool_call_id: &'a str,
        content: Cow<'a, str>,
    },
}

/// A user message's content: a plain string when it is only text, else parts.
#[derive(Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub(crate) enum UserContent<'a> {
    Text(Cow<'a, str>),
    Parts(Vec<Part<'a>>),
}

/// One part of a user message.
#[derive(Debug, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Part<'a> {
    Text { text: Cow<'a, str> },
    ImageUrl { image_url: DataUrl<'a> },
}

/// `{"url": "data:<media type>;base64,<data>"}`, written without building the URL first.
#[derive(Debug, PartialEq)]
pub(crate) struct DataUrl<'a> {
    pub media_type: &'a str,
    pub data: &'a str,
}

impl Serialize for DataUrl<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Url<'a>(&'a DataUrl<'a>);
        impl fmt::Display for Url<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "data:{};base64,{}", self.0.media_type, self.0.data)
            }
        }
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("url", &Collected(Url(self)))?;
        map.end()
    }
}

/// Serializes a `Display` value as a string, streamed into the output.
struct Collected<T>(T);

impl<T: fmt::Display> Serialize for Collected<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// A tool call of an earlier assistant turn.
#[derive(Debug, Serialize, PartialEq)]
pub(crate) struct WireToolCall<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: WireFunctionCall<'a>,
}

/// Its name and its arguments' JSON text.
#[derive(Debug, Serialize, PartialEq)]
pub(crate) struct WireFunctionCall<'a> {
    pub name: &'a str,
    pub arguments: Cow<'a, str>,
}

/// The tools on offer, as functions.
pub(crate) struct WireTools<'a>(pub &'a [ToolSpec]);

impl Serialize for WireTools<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Tool<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            function: Function<'a>,
        }
        #[derive(Serialize)]
        struct Function<'a> {
            name: &'a str,
            description: &'a str,
            parameters: &'a serde_json::Value,
        }
        serializer.collect_seq(self.0.iter().map(|tool| Tool {
            kind: "function",
            function: Function {
                name: &tool.name,
                description: &tool.description,
                parameters: &tool.input_schema,
            },
        }))
    }
}

/// `"auto"`, `"none"`, `"required"` or `{"type":"function","function":{"name":...}}`.
struct WireToolChoice<'a>(&'a ToolChoice);

impl Serialize for WireToolChoice<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Forced<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            function: Name<'a>,
        }
        #[derive(Serialize)]
        struct Name<'a> {
            name: &'a str,
        }
        match self.0 {
            ToolChoice::Auto => serializer.serialize_str("auto"),
            ToolChoice::None => serializer.serialize_str("none"),
            ToolChoice::Required => serializer.serialize_str("required"),
            ToolChoice::Tool(name) => Forced {
                kind: "function",
                function: Name { name },
            }
            .serialize(serializer),
        }
    }
}

/// `response_format` in the shapes Fireworks documents.
struct WireResponseFormat<'a>(&'a ResponseFormat);

impl Serialize for WireResponseFormat<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Schema<'a> {
            name: &'a str,
            schema: &'a serde_json::Value,
            #[serde(skip_serializing_if = "std::ops::Not::not")]
            strict: bool,
        }
        let mut map = serializer.serialize_map(Some(2))?;
        match self.0 {
            ResponseFormat::Text => map.serialize_entry("type", "text")?,
            ResponseFormat::JsonObject => map.serialize_entry("type", "json_object")?,
            ResponseFormat::JsonSchema {
                name,
                schema,
                strict,
            } => {
                map.serialize_entry("type", "json_schema")?;
                let schema = Schema {
                    name,
                    schema,
                    strict: *strict,
                };
                map.serialize_entry("json_schema", &schema)?;
            }
            ResponseFormat::Grammar(grammar) => {
                map.serialize_entry("type", "grammar")?;
                map.serialize_entry("grammar", grammar)?;
            }
        }
        map.end()
    }
}
