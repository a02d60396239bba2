//! Per-turn controls a host sets on a request: [`RequestOptions`] and its parts
//! ([`ToolChoice`], [`ResponseFormat`], [`ReasoningEffort`], [`Thinking`],
//! [`ReasoningHistory`], [`ServiceTier`]). Plain data with builders: how they are checked, layered over the
//! provider's defaults and written on the wire is `request`'s business.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Usage;
use crate::error::Error;

/// How hard a reasoning model should think (`reasoning_effort`), in the values Fireworks
/// documents. Which ones a model accepts is in its
/// [`ModelInfo::reasoning_options`](crate::ModelInfo::reasoning_options); a value it does not
/// accept is refused before sending.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningEffort {
    /// Reason as little as possible.
    Low,
    /// The usual amount.
    Medium,
    /// Reason at length.
    High,
    /// Turn reasoning off (only where the model lists `none`).
    None,
    /// Barely reason.
    Minimal,
    /// More than `high`.
    #[serde(rename = "xhigh")]
    XHigh,
    /// As much as the model can.
    Max,
}

impl ReasoningEffort {
    /// Every value, weakest first.
    pub(crate) const ALL: [ReasoningEffort; 7] = [
        ReasoningEffort::None,
        ReasoningEffort::Minimal,
        ReasoningEffort::Low,
        ReasoningEffort::Medium,
        ReasoningEffort::High,
        ReasoningEffort::XHigh,
        ReasoningEffort::Max,
    ];

    /// The value's name on the wire.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ReasoningEffort::None => "none",
            ReasoningEffort::Minimal => "minimal",
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
            ReasoningEffort::XHigh => "xhigh",
            ReasoningEffort::Max => "max",
        }
    }
}

impl std::str::FromStr for ReasoningEffort {
    type Err = Error;

    fn from_str(value: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|effort| effort.name() == value)
            .ok_or_else(|| {
                Error::Config(format!(
                    "reasoning effort must be none, minimal, low, medium, high, xhigh or max, \
                     not {value:?}"
                ))
            })
    }
}

/// Which tool, if any, the model must call.
///
/// In a configuration file: `"auto"`, `"none"`, `"required"`, or `{"tool": "<name>"}`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    /// The model decides (the server's default when tools are offered).
    Auto,
    /// The model must not call a tool.
    None,
    /// The model must call at least one tool.
    Required,
    /// The model must call this tool, named as in its [`ToolSpec`](crate::ToolSpec).
    Tool(String),
}

/// The shape the answer must take.
///
/// In a configuration file: `{"type": "text"}`, `{"type": "json_object"}`,
/// `{"type": "json_schema", "name": ..., "schema": {...}, "strict": true}` or
/// `{"type": "grammar", "grammar": "<GBNF>"}`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    /// Free text (the default).
    Text,
    /// Any valid JSON object.
    JsonObject,
    /// JSON valid against `schema` (which must be a JSON object).
    JsonSchema {
        /// The schema's name.
        name: String,
        /// A JSON Schema.
        schema: Value,
        /// Whether the server must follow the schema exactly (sent only when true).
        strict: bool,
    },
    /// Text matching a GBNF grammar (Fireworks' grammar mode).
    Grammar(String),
}

/// The smallest `budget_tokens` Fireworks documents for `thinking` (its provider notes:
/// N >= 1024). A model whose catalog entry gives a higher minimum gets that one.
pub const MIN_THINKING_BUDGET: u32 = 1024;

/// Turns a model's reasoning on, with or without a token budget (`thinking` on the wire).
///
/// In a configuration file: `"enabled"` or `{"budget_tokens": <n>}`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thinking {
    /// `{"type": "enabled"}`: reasoning on, for models that toggle it.
    Enabled,
    /// `{"type": "enabled", "budget_tokens": n}`: reasoning on, within about n tokens.
    Budget(u32),
}

/// How the server keeps the reasoning of earlier assistant turns (`reasoning_history`).
///
/// It also decides whether this crate sends that reasoning back: `Disabled` sends none,
/// `Interleaved` and `Preserved` send it on every assistant message that has some.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningHistory {
    /// Earlier reasoning is dropped.
    Disabled,
    /// Reasoning is kept within a turn, across its tool calls.
    Interleaved,
    /// Reasoning of every earlier turn is kept.
    Preserved,
}

/// Which serving tier a request asks for (`service_tier`). Leave it unset for Fireworks'
/// standard tier, which takes no field.
///
/// In a configuration file: `"priority"`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceTier {
    /// Fireworks' priority tier: served ahead of standard traffic and less likely to be load
    /// shed (a 503), at a higher price; available on select serverless models.
    Priority,
}

/// Per-turn controls, carried through `dyn LlmProvider`. An unset field falls back to the
/// provider's settings, then to the model's defaults; nothing unset is sent.
///
/// ```
/// use fireworks_provider::{ReasoningEffort, RequestOptions, ToolChoice};
///
/// let options = RequestOptions::new()
///     .with_temperature(0.2)
///     .with_reasoning_effort(ReasoningEffort::Low)
///     .with_tool_choice(ToolChoice::Tool("read_file".into()))
///     .with_cache_key("conversation-7");
/// assert_eq!(options.temperature, Some(0.2));
/// ```
///
/// It also deserializes from a host's configuration (JSON, TOML, ...) with these field names,
/// each also in camelCase (`topP`, `toolChoice`, `conversationTokens`, ...); an unknown field or
/// a bad value is an error naming the field as the configuration spells it.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestOptions {
    /// The output cap (`max_tokens`).
    pub max_tokens: Option<u32>,
    /// Sampling temperature (finite, at least 0).
    pub temperature: Option<f32>,
    /// Nucleus sampling (finite, 0 to 1).
    pub top_p: Option<f32>,
    /// Top-k sampling.
    pub top_k: Option<u32>,
    /// Stop sequences (none empty); empty means unset.
    pub stop: Vec<String>,
    /// A seed for reproducible sampling.
    pub seed: Option<u64>,
    /// How hard a reasoning model thinks; never set together with `thinking` (within one layer:
    /// the request's own options, or the provider's defaults).
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Turns reasoning on, with or without a token budget; never set together with
    /// `reasoning_effort`. The request's pair of the two, when it sets either, replaces the
    /// defaults' pair.
    pub thinking: Option<Thinking>,
    /// How the server keeps earlier reasoning; also whether it is sent back (see
    /// [`ReasoningHistory`]).
    pub reasoning_history: Option<ReasoningHistory>,
    /// Which tool the model must call; sent only when tools are offered.
    pub tool_choice: Option<ToolChoice>,
    /// Whether the model may call several tools at once; sent only when tools are offered.
    pub parallel_tool_calls: Option<bool>,
    /// The shape the answer must take.
    pub response_format: Option<ResponseFormat>,
    /// This conversation's `prompt_cache_key`; `None`: derived from the conversation (when the
    /// provider's cache affinity is on).
    pub cache_key: Option<String>,
    /// Also stream `ApiChunk::ToolCallDelta` items as tool calls arrive (default off; on when
    /// either the request or the provider's defaults turn it on).
    pub tool_call_deltas: bool,
    /// The serving tier to ask for (`service_tier`); unset: the server's standard tier.
    pub service_tier: Option<ServiceTier>,
    /// Ask Fireworks for its performance metrics on the final chunk
    /// (`perf_metrics_in_response`), read into [`Usage::perf_metrics`]. Default off; on when
    /// either the request or the provider's defaults turn it on.
    pub perf_metrics: bool,
    /// Fields merged into the body last (server features this crate does not model); may
    /// override any field but `model`, `messages` and `stream`.
    pub extra_body: Map<String, Value>,
    /// The conversation's size in tokens up to its last assistant message, as the server counted
    /// it (see [`RequestOptions::with_last_usage`]). On servers that do not trim `max_tokens`
    /// themselves, the output budget then estimates only the messages after it.
    pub conversation_tokens: Option<u64>,
}

impl RequestOptions {
    /// No options set: everything falls back to the provider's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`RequestOptions::max_tokens`].
    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Sets [`RequestOptions::temperature`].
    pub fn with_temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Sets [`RequestOptions::top_p`].
    pub fn with_top_p(mut self, top_p: f32) -> Self {
        self.top_p = Some(top_p);
        self
    }

    /// Sets [`RequestOptions::top_k`].
    pub fn with_top_k(mut self, top_k: u32) -> Self {
        self.top_k = Some(top_k);
        self
    }

    /// Sets [`RequestOptions::stop`].
    pub fn with_stop<S: Into<String>>(mut self, stop: impl IntoIterator<Item = S>) -> Self {
        self.stop = stop.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`RequestOptions::seed`].
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Sets [`RequestOptions::reasoning_effort`].
    pub fn with_reasoning_effort(mut self, effort: ReasoningEffort) -> Self {
        self.reasoning_effort = Some(effort);
        self
    }

    /// Sets [`RequestOptions::thinking`].
    pub fn with_thinking(mut self, thinking: Thinking) -> Self {
        self.thinking = Some(thinking);
        self
    }

    /// Sets [`RequestOptions::reasoning_history`].
    pub fn with_reasoning_history(mut self, history: ReasoningHistory) -> Self {
        self.reasoning_history = Some(history);
        self
    }

    /// Sets [`RequestOptions::tool_choice`].
    pub fn with_tool_choice(mut self, choice: ToolChoice) -> Self {
        self.tool_choice = Some(choice);
        self
    }

    /// Sets [`RequestOptions::parallel_tool_calls`].
    pub fn with_parallel_tool_calls(mut self, parallel: bool) -> Self {
        self.parallel_tool_calls = Some(parallel);
        self
    }

    /// Sets [`RequestOptions::response_format`].
    pub fn with_response_format(mut self, format: ResponseFormat) -> Self {
        self.response_format = Some(format);
        self
    }

    /// Sets [`RequestOptions::cache_key`].
    pub fn with_cache_key(mut self, key: impl Into<String>) -> Self {
        self.cache_key = Some(key.into());
        self
    }

    /// Sets [`RequestOptions::tool_call_deltas`].
    pub fn with_tool_call_deltas(mut self, enabled: bool) -> Self {
        self.tool_call_deltas = enabled;
        self
    }

    /// Sets [`RequestOptions::service_tier`].
    pub fn with_service_tier(mut self, tier: ServiceTier) -> Self {
        self.service_tier = Some(tier);
        self
    }

    /// Sets [`RequestOptions::perf_metrics`].
    pub fn with_perf_metrics(mut self, enabled: bool) -> Self {
        self.perf_metrics = enabled;
        self
    }

    /// Adds one field to [`RequestOptions::extra_body`].
    pub fn with_extra_body(mut self, key: impl Into<String>, value: Value) -> Self {
        self.extra_body.insert(key.into(), value);
        self
    }

    /// Sets [`RequestOptions::conversation_tokens`] from the last turn's usage: its prompt plus
    /// its output is the conversation up to the assistant message that turn produced.
    pub fn with_last_usage(mut self, usage: &Usage) -> Self {
        self.conversation_tokens = Some(usage.input_tokens.saturating_add(usage.output_tokens));
        self
    }
}
