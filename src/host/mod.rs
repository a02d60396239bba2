//! The provider-neutral types a coding-agent host uses: the [`LlmProvider`] trait, the request
//! and its per-turn options, the chunks of the answer, whole turns, errors, the prompt-cache
//! report, fallback across providers and a fake provider for the host's own tests.
//!
//! This is the top of the crate's layers: nothing here imports from the request, transport,
//! decode or stream modules below it (those import from here).

pub(crate) mod cache_report;
pub(crate) mod fake;
pub(crate) mod fallback;
pub(crate) mod provider;
pub(crate) mod turn;

pub use crate::error::{ApiError, Error, MAX_MESSAGE_BYTES, TimeoutKind};
pub use crate::redact::REDACTED;
pub use crate::request::{
    MIN_THINKING_BUDGET, ReasoningEffort, ReasoningHistory, RequestOptions, ResponseFormat,
    Thinking, ToolChoice,
};
pub use cache_report::{CacheBreak, CacheReport, MAX_REPORTED_KEYS, MAX_REPORTED_MESSAGES};
pub use fake::{FakeProvider, ScriptedResponse};
pub use fallback::{FALLBACK_REASON_BYTES, FallbackPolicy, FallbackProvider};
pub use provider::{
    ApiChunk, ApiStream, BudgetLimits, ChatRequest, ContentBlock, FinishReason, LlmProvider,
    Message, ModelInfo, ModelStatus, ReasoningOptions, ReasoningStyle, Role, ToolCall, ToolSpec,
    Usage,
};
pub use turn::{Turn, TurnBuilder};
