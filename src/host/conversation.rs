//! The conversation a host hands over: [`ChatRequest`] (system prompt, messages, tools and
//! this turn's options), [`Message`] and its [`ContentBlock`]s, and [`ToolSpec`].
//!
//! The checks a provider runs on a request before sending ([`ChatRequest::validate`]) live with
//! the mapping they share, in `request`.

use super::RequestOptions;

/// One turn's input: the system prompt, the conversation so far, the tools on offer and this
/// turn's controls. Built with [`ChatRequest::new`] and the `with_*` methods.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// Sent as the first, `system`, message (left out when empty).
    pub system_prompt: String,
    /// The conversation, oldest first.
    pub messages: Vec<Message>,
    /// Tools the model may call; empty means no tools are offered.
    pub tools: Vec<ToolSpec>,
    /// This turn's controls; unset fields fall back to the provider's defaults.
    pub options: RequestOptions,
}

impl ChatRequest {
    /// A request with no tools and no options of its own.
    pub fn new(system_prompt: impl Into<String>, messages: Vec<Message>) -> Self {
        ChatRequest {
            system_prompt: system_prompt.into(),
            messages,
            tools: Vec::new(),
            options: RequestOptions::default(),
        }
    }

    /// Offers these tools to the model.
    pub fn with_tools(mut self, tools: Vec<ToolSpec>) -> Self {
        self.tools = tools;
        self
    }

    /// Sets this turn's controls.
    pub fn with_options(mut self, options: RequestOptions) -> Self {
        self.options = options;
        self
    }
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Who said it.
    pub role: Role,
    /// What was said, in order.
    pub content: Vec<ContentBlock>,
}

impl Message {
    /// A user message holding one text block.
    pub fn user(text: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: vec![ContentBlock::Text { text: text.into() }],
        }
    }

    /// An assistant message holding one text block.
    pub fn assistant(text: impl Into<String>) -> Self {
        Message {
            role: Role::Assistant,
            content: vec![ContentBlock::Text { text: text.into() }],
        }
    }

    /// A user message answering one tool call with text.
    pub fn tool_result(tool_use_id: impl Into<String>, text: impl Into<String>) -> Self {
        Self::tool_answer(tool_use_id.into(), text.into(), false)
    }

    /// A user message saying one tool call failed, with `text` telling why: a tool result
    /// with `is_error` set, for the model to read and recover from.
    ///
    /// ```
    /// use fireworks_provider::{ContentBlock, Message};
    ///
    /// let message = Message::tool_error("call_1", "no such file: src/mian.rs");
    /// assert!(matches!(&message.content[0], ContentBlock::ToolResult { is_error: true, .. }));
    /// ```
    pub fn tool_error(tool_use_id: impl Into<String>, text: impl Into<String>) -> Self {
        Self::tool_answer(tool_use_id.into(), text.into(), true)
    }

    fn tool_answer(tool_use_id: String, text: String, is_error: bool) -> Self {
        Message {
            role: Role::User,
            content: vec![ContentBlock::ToolResult {
                tool_use_id,
                content: vec![ContentBlock::Text { text }],
                is_error,
            }],
        }
    }
}

/// The author of a [`Message`]. Exhaustive: the system prompt is the request's own field and
/// tool results travel in user messages, so a conversation has no third author.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The human (or the host, carrying tool results).
    User,
    /// The model.
    Assistant,
}

/// One block of a message's content.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum ContentBlock {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// Base64 image data and its media type, e.g. "image/png".
    Image {
        /// The image's media type, e.g. "image/png".
        media_type: String,
        /// The image bytes, base64-encoded.
        data: String,
    },
    /// A tool call the model made (assistant messages).
    ToolUse {
        /// The call's id, echoed by the matching [`ContentBlock::ToolResult`].
        id: String,
        /// The tool's name.
        name: String,
        /// The call's parsed arguments. Arguments that were not valid JSON (or were a bare JSON
        /// string) are kept as `Value::String(raw)` and sent back byte for byte.
        input: serde_json::Value,
    },
    /// The result of running a tool (user messages).
    ToolResult {
        /// The id of the [`ContentBlock::ToolUse`] this answers.
        tool_use_id: String,
        /// What the tool returned: text and images.
        content: Vec<ContentBlock>,
        /// Whether the tool failed.
        is_error: bool,
    },
    /// Reasoning the model produced earlier in the conversation.
    Reasoning {
        /// The reasoning text.
        text: String,
    },
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// The tool's name, as the model will call it.
    pub name: String,
    /// What the tool does, for the model.
    pub description: String,
    /// JSON Schema of the tool's arguments object.
    pub input_schema: serde_json::Value,
}

impl ToolSpec {
    /// A tool called `name`, described for the model, taking arguments valid against
    /// `input_schema` (a JSON Schema object).
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        input_schema: serde_json::Value,
    ) -> Self {
        ToolSpec {
            name: name.into(),
            description: description.into(),
            input_schema,
        }
    }
}
