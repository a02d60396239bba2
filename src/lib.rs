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
//! A host steers each turn through [`RequestOptions`] (sampling, reasoning effort, tool choice,
//! structured output, a cache key, live tool-call deltas, extra body fields) and gets the whole
//! turn back with [`Turn::collect`], ready to append to the conversation.
//!
//! # Layout
//!
//! The public items are grouped by role, each group a module re-exported at the root:
//! [`host`] (the provider-neutral types a host uses), [`fireworks`] (the Fireworks provider,
//! its settings, model catalog and embeddings) and [`sans_io`] (the decode path without I/O,
//! for hosts with a transport of their own). Inside, one private module per concern, in the order
//! a request flows:
//!
//! | module | owns |
//! |---|---|
//! | `provider` | the `LlmProvider` trait, requests, messages, chunks, usage, model info |
//! | `request` | request → JSON body: `options`, `conversation`, `budget`, `wire` |
//! | `config` | reading settings and options from a host's configuration, naming bad fields |
//! | `http` | sending one request; status and error bodies → typed [`Error`] |
//! | `retry` | the retry policy and loop, before any output |
//! | `sse` | bytes → server-sent events |
//! | `chunk` | one event's JSON → its delta |
//! | `reasoning` | the streaming `<think>` splitter |
//! | `tools` | tool-call fragments → complete calls |
//! | `decode` | all of the decode path as one sans-IO decoder |
//! | `stream` | the async state machine of one completion |
//! | `turn` | a finished stream → the assistant message of the next request |
//! | `fake` | [`FakeProvider`], a scripted provider for hosts' tests |
//! | `fireworks` | settings, catalog, prompt-cache keys, embeddings, [`FireworksProvider`] |

#![deny(missing_docs)]

mod chunk;
mod config;
mod decode;
mod error;
mod fake;
pub mod fireworks;
mod http;
mod provider;
mod reasoning;
mod redact;
mod request;
mod retry;
mod sse;
mod stream;
mod tools;
mod turn;

/// The provider-neutral types a coding-agent host uses: the [`LlmProvider`] trait, the request
/// and its per-turn options, the chunks of the answer, whole turns, errors and a fake provider
/// for the host's own tests.
pub mod host {
    pub use crate::error::{ApiError, Error, MAX_MESSAGE_BYTES, TimeoutKind};
    pub use crate::fake::{FakeProvider, ScriptedResponse};
    pub use crate::provider::{
        ApiChunk, ApiStream, ChatRequest, ContentBlock, FinishReason, LlmProvider, Message,
        ModelInfo, ReasoningStyle, Role, ToolCall, ToolSpec, Usage,
    };
    pub use crate::redact::REDACTED;
    pub use crate::request::{ReasoningEffort, RequestOptions, ResponseFormat, ToolChoice};
    pub use crate::turn::{Turn, TurnBuilder};
}

/// The sans-IO decode path, for hosts with a transport of their own: response bytes in,
/// [`ApiChunk`]s out ([`StreamDecoder`]), and each of its steps on its own.
pub mod sans_io {
    pub use crate::decode::StreamDecoder;
    pub use crate::reasoning::{ThinkPart, ThinkSplitter};
    pub use crate::sse::{DEFAULT_MAX_EVENT_BYTES, SseDecoder, SseError, SseEvent};
    pub use crate::tools::{
        DEFAULT_MAX_TOOL_ARGUMENT_BYTES, MAX_TOOL_CALLS, TakenFragment, ToolCallAssembler,
        ToolCallFragment,
    };
}

#[doc(no_inline)]
pub use fireworks::*;
#[doc(no_inline)]
pub use host::*;
#[doc(no_inline)]
pub use sans_io::*;

/// The README's code, compiled as a doc test so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
