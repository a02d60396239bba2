//! The [`LlmProvider`] trait a coding-agent host calls and the [`ApiStream`] it gets back.
//!
//! Nothing here knows about Fireworks or HTTP; a host can hold any provider as
//! `Arc<dyn LlmProvider>`.

use std::pin::Pin;

use futures::Stream;

use super::{ApiChunk, ChatRequest, ModelInfo};
use crate::error::Error;

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
