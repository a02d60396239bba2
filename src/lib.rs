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
//! for hosts with a transport of their own). Inside, the folders follow the order a request
//! flows, each opening with a comment saying what it owns:
//!
//! | module | owns |
//! |---|---|
//! | `host/` | what a host holds: the `LlmProvider` trait (`provider`), the request (`conversation`, `options`), what comes back (`chunk`), what is known of a model (`model`), whole turns (`turn`), the fake, fallback, the cache report; imports nothing below it |
//! | `config` | a host's configuration (JSON, TOML, ...) → settings and options, naming bad fields |
//! | `request/` | request → JSON body: `options` (checks, layering), `conversation` (mapping and validation), `reasoning`, `budget`, `wire` |
//! | `transport/` | the seam ([`Transport`]), reqwest behind it, sending and reading under `timeouts`, `retry`, server reports, record and replay, the scripted transport (feature `test-support`) |
//! | `decode/` | bytes → chunks without I/O: `sse`, `chunk` (and its fast reader), `reasoning`, `tools`, the `decoder` (which ends a completion on `[DONE]`) |
//! | `stream` | the async state machine of one completion |
//! | `telemetry` | its tracing span, after the OpenTelemetry GenAI conventions |
//! | `error/` | the one [`Error`] type, every classification of what a server said (`classify`), and the redaction of secrets from it (`redact`) |
//! | `fireworks/` | only what is Fireworks': the endpoint `profile`, settings, the models.dev catalog and its overlay, prompt-cache keys, embeddings, rerank, [`FireworksProvider`] |

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]

mod config;
mod decode;
mod error;
pub mod fireworks;
pub mod host;
mod request;
mod stream;
mod telemetry;
pub mod transport;

/// The sans-IO decode path, for hosts with a transport of their own: response bytes in,
/// [`ApiChunk`]s out ([`StreamDecoder`]), and each of its steps on its own.
pub mod sans_io {
    pub use crate::decode::StreamDecoder;
    pub use crate::decode::reasoning::{ThinkPart, ThinkSplitter};
    pub use crate::decode::sse::{DEFAULT_MAX_EVENT_BYTES, SseDecoder, SseError, SseEvent};
    pub use crate::decode::tools::{
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
#[doc(no_inline)]
pub use transport::*;

/// The README's code, compiled as a doc test so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
