//! Stream chat completions from [Fireworks AI](https://fireworks.ai) into a Rust coding-agent
//! host.
//!
//! A host talks to every model provider through one object-safe trait, [`LlmProvider`]; this
//! crate supplies it and its Fireworks implementation, [`FireworksProvider`]. A completion comes
//! back as an [`ApiStream`] of [`ApiChunk`]s the host can render at once: answer text,
//! reasoning split cleanly out of the answer (`reasoning_content` fields and `<think>` blocks,
//! however the network cuts them), complete tool calls, token usage with cost, and why
//! generation stopped.
//!
//! ```no_run
//! use std::sync::Arc;
//! use futures::StreamExt;
//! use fireworks_provider::{ApiChunk, ChatRequest, FireworksProvider, FireworksSettings, LlmProvider, Message};
//!
//! # async fn run() -> Result<(), fireworks_provider::Error> {
//! let settings = FireworksSettings::from_env()?; // FIREWORKS_API_KEY, FIREWORKS_MODEL_ID, ...
//! let provider: Arc<dyn LlmProvider> = Arc::new(FireworksProvider::new(settings)?);
//! let request = ChatRequest::new("You are a concise assistant.", vec![Message::user("Hi!")]);
//! let mut stream = provider.create_message(request);
//! while let Some(chunk) = stream.next().await {
//!     match chunk? {
//!         ApiChunk::Reasoning(text) => eprint!("{text}"),
//!         ApiChunk::Text(text) => print!("{text}"),
//!         ApiChunk::Usage(usage) => println!("\n{} tokens in, {} out", usage.input_tokens, usage.output_tokens),
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The pipeline, one module per step: `request` (conversation → JSON body), `http` (send, status
//! → typed [`Error`]), `retry`, `sse` (bytes → events), `chunk` (event JSON → delta),
//! `reasoning` (the `<think>` splitter), `tools` (tool-call assembly), `decode` (all of those
//! as one sans-IO decoder) and `stream` (the async state machine around them).

#![deny(missing_docs)]

mod chunk;
mod decode;
mod error;
mod fake;
mod fireworks;
mod http;
mod provider;
mod reasoning;
mod request;
mod retry;
mod sse;
mod stream;
mod tools;

pub use decode::StreamDecoder;
pub use error::{ApiError, Error, MAX_MESSAGE_BYTES, TimeoutKind};
pub use fake::{FakeProvider, ScriptedResponse};
pub use fireworks::catalog::{
    FIREWORKS_MODELS_PREFIX, full_model_id, known_model_ids, lookup as lookup_model,
};
pub use fireworks::embeddings::{DEFAULT_EMBEDDING_BATCH, Embeddings, FireworksEmbedder};
pub use fireworks::settings::{DEFAULT_BASE_URL, DEFAULT_MODEL_ID, FireworksSettings};
pub use fireworks::{FireworksProvider, RemoteModel};
pub use http::{MAX_RESPONSE_BYTES, Timeouts};
pub use provider::{
    ApiChunk, ApiStream, ChatRequest, ContentBlock, FinishReason, LlmProvider, Message, ModelInfo,
    ReasoningStyle, Role, ToolCall, ToolSpec, Usage,
};
pub use reasoning::{ThinkPart, ThinkSplitter};
pub use request::{ReasoningEffort, SamplingOptions};
pub use retry::RetryPolicy;
pub use sse::{DEFAULT_MAX_EVENT_BYTES, SseDecoder, SseError, SseEvent};
pub use tools::{ToolCallAssembler, ToolCallFragment};

/// The README's code, compiled as a doc test so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
