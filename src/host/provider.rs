//! The host-facing, provider-neutral types: the [`LlmProvider`] trait a coding-agent host calls,
//! the conversation it hands over ([`ChatRequest`]) and the chunks it gets back ([`ApiChunk`]).
//!
//! Nothing here knows about Fireworks or HTTP; a host can hold any provider as
//! `Arc<dyn LlmProvider>`.

use std::pin::Pin;
use std::time::Duration;

use futures::Stream;

use crate::error::Error;
use crate::host::cache_report::CacheReport;
use crate::request::{self, ReasoningEffort, RequestOptions};

/// A streamed completion: chunks in order; an `Err` item ends the stream.
pub type ApiStream = Pin<Box<dyn Stream<Item = Result<ApiChunk, Error>> + Send + 'static>>;

/// What a coding-agent host calls. Object safe: hosts hold `Arc<dyn LlmProvider>`.
pub trait LlmProvider: Send + Sync {
    /// The model this provider sends to, with its limits and prices.
    fn model(&self) -> &ModelInfo;
    /// Starts one streamed completion. Lazy: nothing is sent before the first poll.
    /// Dropping the stream cancels the request (the connection is released).
    fn create_message(&self, request: ChatRequest) -> ApiStream;
}

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
        request::validate(self, None)
    }

    /// [`ChatRequest::validate`], and that `model` takes what the conversation holds (images)
    /// and the request's own reasoning controls (see [`ModelInfo::reasoning_options`]): exactly
    /// what a provider of `model` checks before sending.
    pub fn validate_for(&self, model: &ModelInfo) -> Result<(), Error> {
        request::validate(self, Some(model))
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

/// One item of a streamed completion.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum ApiChunk {
    /// Answer text, in order, with no reasoning markup in it.
    Text(String),
    /// Reasoning text ("thinking"), in order, with no `<think>` tags in it.
    Reasoning(String),
    /// One complete tool call, emitted once its arguments are complete.
    ToolCall(ToolCall),
    /// A piece of a tool call as it streams (only when
    /// [`RequestOptions::tool_call_deltas`] is on): id and name on the first piece of each
    /// call, then argument text as it arrives. The complete [`ApiChunk::ToolCall`] still comes.
    ToolCallDelta {
        /// Which call of the turn this piece belongs to: its number in the order the calls
        /// began, from 0.
        index: u32,
        /// The call's id, on its first piece.
        id: Option<String>,
        /// The tool's name, on its first piece.
        name: Option<String>,
        /// The next piece of the arguments' JSON text (may be empty).
        arguments: String,
    },
    /// Token counts (and cost, where the price is known), once per completion.
    Usage(Usage),
    /// The server's id of this request, from the response's `x-request-id` header: the first
    /// chunk of a stream whose response carried one (a retried request's id is that of the
    /// attempt that answered), for logs and support tickets. Bounded like every server text.
    /// A failed request's id is on its error instead ([`ApiError::request_id`]).
    ///
    /// [`ApiError::request_id`]: crate::ApiError::request_id
    RequestId(String),
    /// The request failed before any output and will be sent again after `delay`.
    Retrying {
        /// The attempt that failed, counting from 1.
        attempt: u32,
        /// How many attempts will be made in all.
        max_attempts: u32,
        /// How long the provider waits before the next attempt.
        delay: Duration,
        /// Why the attempt failed, for display.
        reason: String,
    },
    /// A [`FallbackProvider`](crate::FallbackProvider) target failed before any output of the
    /// turn and the next target takes the turn over. Like [`ApiChunk::Retrying`], not output:
    /// nothing of the failed attempt reached the host.
    FallingBack {
        /// The model id of the target that failed.
        from: String,
        /// The model id of the target that is tried next.
        to: String,
        /// Why the target failed, for display: the error, cut to at most
        /// [`FALLBACK_REASON_BYTES`](crate::FALLBACK_REASON_BYTES).
        reason: String,
    },
    /// Why generation ended. The last item of every stream that completes.
    Finish(FinishReason),
}

/// A complete tool call made by the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// The call's id; send it back as [`ContentBlock::ToolResult::tool_use_id`].
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments as the raw JSON text the model wrote (it may be malformed).
    pub arguments: String,
}

impl ToolCall {
    /// Parses the arguments. Malformed JSON gives an [`Error::Decode`] naming the tool and call,
    /// so the host can report it to the model instead of failing the turn. Empty arguments
    /// parse as an empty object.
    pub fn parse_arguments(&self) -> Result<serde_json::Value, Error> {
        if self.arguments.trim().is_empty() {
            return Ok(serde_json::Value::Object(Default::default()));
        }
        serde_json::from_str(&self.arguments).map_err(|err| Error::Decode {
            message: format!(
                "arguments of tool call {} ({}) are not valid JSON: {err}",
                self.id, self.name
            ),
        })
    }
}

/// Token counts of one completion, and its cost when the model's prices are known.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    /// All prompt tokens, cached ones included.
    pub input_tokens: u64,
    /// Generated tokens, reasoning included.
    pub output_tokens: u64,
    /// The cached part of `input_tokens`.
    pub cache_read_tokens: u64,
    /// Tokens written to a prompt cache (Fireworks charges none and reports 0).
    pub cache_write_tokens: u64,
    /// The reasoning part of `output_tokens`, when the server reports it.
    pub reasoning_tokens: Option<u64>,
    /// USD, when the model's prices are known.
    pub total_cost: Option<f64>,
    /// The id of the model that answered, as sent to the server (set by [`FireworksProvider`]
    /// and by [`FallbackProvider`], which fills it in with the answering target's model when
    /// the target left it empty).
    ///
    /// [`FireworksProvider`]: crate::FireworksProvider
    /// [`FallbackProvider`]: crate::FallbackProvider
    pub model: Option<String>,
    /// How much of the prompt could come from the prompt cache, judged against the previous
    /// request under the same cache key; only with
    /// [`FireworksSettings::with_cache_report`](crate::FireworksSettings::with_cache_report).
    /// Boxed: it comes once per turn, and keeps every chunk small.
    pub cache_report: Option<Box<CacheReport>>,
}

impl Usage {
    /// Usage of `input_tokens` prompt tokens and `output_tokens` generated ones, nothing cached.
    pub fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Usage {
            input_tokens,
            output_tokens,
            ..Usage::default()
        }
    }

    /// Sets [`Usage::cache_read_tokens`].
    pub fn with_cache_read_tokens(mut self, tokens: u64) -> Self {
        self.cache_read_tokens = tokens;
        self
    }

    /// Sets [`Usage::reasoning_tokens`].
    pub fn with_reasoning_tokens(mut self, tokens: u64) -> Self {
        self.reasoning_tokens = Some(tokens);
        self
    }

    /// Sets [`Usage::total_cost`].
    pub fn with_total_cost(mut self, usd: f64) -> Self {
        self.total_cost = Some(usd);
        self
    }

    /// Sets [`Usage::model`].
    pub fn with_model(mut self, model_id: impl Into<String>) -> Self {
        self.model = Some(model_id.into());
        self
    }
}

/// Why generation ended.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum FinishReason {
    /// The model finished its answer (or hit a stop sequence).
    Stop,
    /// The output reached `max_tokens`: the output cap, not the context window.
    Length,
    /// The model called tools and waits for their results.
    ToolCalls,
    /// The output was withheld by a content filter.
    ContentFilter,
    /// Any other reason the server gave, verbatim.
    Other(String),
}

impl FinishReason {
    /// Maps the wire's `finish_reason` string.
    pub fn from_wire(reason: &str) -> Self {
        match reason {
            "stop" => FinishReason::Stop,
            "length" => FinishReason::Length,
            "tool_calls" => FinishReason::ToolCalls,
            "content_filter" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_owned()),
        }
    }
}

/// How a model shows its reasoning in the stream. In a configuration file: `"none"`,
/// `"reasoning_content"`, `"think_tags"` or `"starts_in_reasoning"`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningStyle {
    /// No reasoning (a `<think>` block at the very start is still recognised).
    #[default]
    None,
    /// Separate `reasoning_content` fields.
    ReasoningContent,
    /// Inline `<think>` ... `</think>` at the start of the content.
    ThinkTags,
    /// The content starts inside reasoning and only `</think>` appears.
    StartsInReasoning,
}

/// USD per million tokens, as in [`ModelInfo`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Prices {
    input: Option<f64>,
    output: Option<f64>,
    cache_read: Option<f64>,
}

impl Prices {
    /// See [`ModelInfo::cost`].
    pub(crate) fn cost(&self, usage: &Usage) -> Option<f64> {
        let input = self.input?;
        let output = self.output?;
        let cached = usage.cache_read_tokens.min(usage.input_tokens);
        let uncached = usage.input_tokens - cached;
        let cached_price = self.cache_read.unwrap_or(input);
        Some(
            (uncached as f64 * input
                + cached as f64 * cached_price
                + usage.output_tokens as f64 * output)
                / 1e6,
        )
    }
}

/// A model's limits, capabilities and prices. Built with [`ModelInfo::unknown`] and the
/// `with_*` methods (or by setting its public fields).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// The model id sent to the server.
    pub id: String,
    /// The model's name for people ("Kimi K2.6"), when the catalog gives one.
    pub name: Option<String>,
    /// Prompt plus output tokens the model accepts.
    pub context_window: u32,
    /// The most output tokens one completion may ask for.
    pub max_tokens: u32,
    /// Whether image inputs are accepted.
    pub supports_images: bool,
    /// Whether tool calling is supported.
    pub supports_tools: bool,
    /// USD per million uncached input tokens.
    pub input_price: Option<f64>,
    /// USD per million output tokens.
    pub output_price: Option<f64>,
    /// USD per million cached input tokens.
    pub cache_read_price: Option<f64>,
    /// How the model shows its reasoning.
    pub reasoning: ReasoningStyle,
    /// Whether earlier reasoning goes back as `reasoning_content` on assistant messages, tool
    /// loops included (the catalog's models.dev `interleaved` field).
    pub sends_reasoning_back: bool,
    /// The vendor's recommended sampling temperature, used when the settings give none.
    pub default_temperature: Option<f32>,
    /// The model family (`"kimi"`, `"deepseek"`, `"qwen"`, ...), when known: reasoning a model
    /// of one family wrote is not sent to another (see
    /// [`FallbackProvider`](crate::FallbackProvider)).
    pub family: Option<String>,
    /// Where the model is in its life, when the catalog says (`Deprecated`: still served, going
    /// away).
    pub status: Option<ModelStatus>,
    /// The reasoning controls the model accepts, from the catalog: a control it does not accept
    /// is refused before sending. `None` when nobody described the model: the host's controls
    /// are then sent unchecked.
    pub reasoning_options: Option<ReasoningOptions>,
}

/// Where a model is in its life, as the catalog lists it. In a models.dev file: `"alpha"`,
/// `"beta"` or `"deprecated"`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelStatus {
    /// An early preview.
    Alpha,
    /// A preview.
    Beta,
    /// Still served, but going away: move to another model.
    Deprecated,
}

/// The reasoning controls a model accepts (models.dev's `reasoning_options`). Empty: the model
/// takes none (it does not reason, or reasons without a control).
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReasoningOptions {
    /// Reasoning can be turned on with `thinking: {"type": "enabled"}` (models.dev's `toggle`).
    pub toggle: bool,
    /// The `reasoning_effort` values it accepts.
    pub efforts: Vec<ReasoningEffort>,
    /// The token budgets `thinking: {"type": "enabled", "budget_tokens": n}` accepts, when it
    /// takes one.
    pub budget_tokens: Option<BudgetLimits>,
}

impl ReasoningOptions {
    /// Whether the model takes no reasoning control at all.
    pub fn is_empty(&self) -> bool {
        !self.toggle && self.efforts.is_empty() && self.budget_tokens.is_none()
    }
}

/// The thinking budgets a model accepts, in tokens.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetLimits {
    /// The smallest budget: the model's own minimum when the catalog gives one above
    /// Fireworks' documented minimum ([`MIN_THINKING_BUDGET`](crate::MIN_THINKING_BUDGET)),
    /// else that.
    pub min: u32,
    /// The largest budget, when the catalog gives one.
    pub max: Option<u32>,
}

impl ModelInfo {
    /// The context window assumed for a model nobody described.
    pub const DEFAULT_CONTEXT_WINDOW: u32 = 131_072;
    /// The output cap assumed for a model nobody described.
    pub const DEFAULT_MAX_TOKENS: u32 = 8_192;

    /// Info for a model no catalog knows: the default limits, no prices, no reasoning style,
    /// and images and tools allowed (the server is the judge).
    pub fn unknown(id: impl Into<String>) -> Self {
        ModelInfo {
            id: id.into(),
            name: None,
            context_window: Self::DEFAULT_CONTEXT_WINDOW,
            max_tokens: Self::DEFAULT_MAX_TOKENS,
            supports_images: true,
            supports_tools: true,
            input_price: None,
            output_price: None,
            cache_read_price: None,
            reasoning: ReasoningStyle::None,
            sends_reasoning_back: false,
            default_temperature: None,
            status: None,
            reasoning_options: None,
            family: None,
        }
    }

    /// Sets the context window.
    pub fn with_context_window(mut self, tokens: u32) -> Self {
        self.context_window = tokens;
        self
    }

    /// Sets the output cap.
    pub fn with_max_tokens(mut self, tokens: u32) -> Self {
        self.max_tokens = tokens;
        self
    }

    /// Sets whether image inputs are accepted.
    pub fn with_images(mut self, supported: bool) -> Self {
        self.supports_images = supported;
        self
    }

    /// Sets the model family (see [`ModelInfo::family`]).
    pub fn with_family(mut self, family: impl Into<String>) -> Self {
        self.family = Some(family.into());
        self
    }

    /// Sets how the model shows its reasoning.
    pub fn with_reasoning(mut self, style: ReasoningStyle) -> Self {
        self.reasoning = style;
        self
    }

    /// Sets the prices, in USD per million tokens.
    pub fn with_prices(mut self, input: f64, output: f64, cache_read: Option<f64>) -> Self {
        self.input_price = Some(input);
        self.output_price = Some(output);
        self.cache_read_price = cache_read;
        self
    }

    /// The cost in USD of `usage` at this model's prices; `None` unless the input and output
    /// prices are known. Cached tokens are charged at the cached price (the input price when
    /// none is listed); there is no cache-write charge.
    pub fn cost(&self, usage: &Usage) -> Option<f64> {
        self.prices().cost(usage)
    }

    /// The prices alone, for pricing usage without holding the whole info.
    pub(crate) fn prices(&self) -> Prices {
        Prices {
            input: self.input_price,
            output: self.output_price,
            cache_read: self.cache_read_price,
        }
    }

    /// What the prompt cache saved on `usage`, in USD: the cached tokens at the input price less
    /// what they cost at the cached price. `None` unless both prices are known.
    pub fn cache_savings(&self, usage: &Usage) -> Option<f64> {
        let saved_per_token = self.input_price? - self.cache_read_price?;
        let cached = usage.cache_read_tokens.min(usage.input_tokens);
        Some(cached as f64 * saved_per_token / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(arguments: &str) -> ToolCall {
        ToolCall {
            id: "call_1".into(),
            name: "read_file".into(),
            arguments: arguments.into(),
        }
    }

    #[test]
    fn tool_arguments_parse_or_say_what_is_wrong() {
        assert_eq!(
            call(r#"{"path":"src/lib.rs"}"#).parse_arguments().unwrap()["path"],
            "src/lib.rs"
        );
        assert_eq!(call("  ").parse_arguments().unwrap(), serde_json::json!({}));
        match call(r#"{"path":"src/lib.rs""#).parse_arguments() {
            Err(Error::Decode { message }) => {
                assert!(
                    message.contains("call_1") && message.contains("read_file"),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn finish_reasons_map_from_the_wire() {
        assert_eq!(FinishReason::from_wire("length"), FinishReason::Length);
        assert_eq!(
            FinishReason::from_wire("tool_calls"),
            FinishReason::ToolCalls
        );
        assert_eq!(
            FinishReason::from_wire("eos"),
            FinishReason::Other("eos".into())
        );
    }
}
