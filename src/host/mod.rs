//! The provider-neutral types a coding-agent host uses: the [`LlmProvider`] trait, the
//! conversation and its per-turn options, the chunks of the answer, what is known of a model,
//! whole turns, what the server reports beside the answer, the prompt-cache report, fallback across providers and a fake provider for the
//! host's own tests.
//!
//! This is the top of the crate's layers: nothing here imports from the request, transport,
//! decode or stream modules below it (they import from here); only the shared [`Error`] type
//! comes from below.

pub(crate) mod cache_report;
mod chunk;
mod conversation;
pub(crate) mod fake;
pub(crate) mod fallback;
mod model;
mod options;
mod provider;
pub(crate) mod server_report;
pub(crate) mod turn;

pub use crate::error::{
    ApiError, BoxError, Error, MAX_MESSAGE_BYTES, REDACTED, RateLimits, TimeoutKind,
};
pub use cache_report::{CacheBreak, CacheReport, MAX_REPORTED_KEYS, MAX_REPORTED_MESSAGES};
pub use chunk::{ApiChunk, FinishReason, ToolCall, Usage};
pub use conversation::{ChatRequest, ContentBlock, Message, Role, ToolSpec};
pub use fake::{FakeProvider, ScriptedResponse};
pub use fallback::{FALLBACK_REASON_BYTES, FallbackPolicy, FallbackProvider};
pub(crate) use model::Prices;
pub use model::{BudgetLimits, ModelInfo, ModelStatus, ReasoningOptions, ReasoningStyle};
pub use options::{
    MIN_THINKING_BUDGET, ReasoningEffort, ReasoningHistory, RequestOptions, ResponseFormat,
    ServiceTier, Thinking, ToolChoice,
};
pub use provider::{ApiStream, LlmProvider};
pub use server_report::{PerfMetrics, ServerReport};
pub use turn::{Turn, TurnBuilder};
