//! The tracing span of one completion, named and filled after the OpenTelemetry GenAI semantic
//! conventions (<https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/>), so that a
//! host exporting `tracing` through OpenTelemetry gets standard GenAI spans without glue.
//!
//! The span is `chat`, with `otel.name` = `chat {model}` (the convention's span name, which
//! `tracing-opentelemetry` applies) and `otel.kind` = `client`. Its fields: the request
//! (`gen_ai.operation.name`, `gen_ai.provider.name` (the endpoint profile's name) and the older `gen_ai.system`,
//! `gen_ai.request.model`, `gen_ai.request.max_tokens`, `gen_ai.request.temperature`,
//! `server.address`, `server.port`), then as the response comes (`gen_ai.response.id`,
//! `gen_ai.response.time_to_first_chunk` in seconds, `http.response.status_code`,
//! `fireworks.attempts`, `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`,
//! `gen_ai.response.finish_reasons`, and `error.type` on failure). No field holds content or
//! a key: ids, numbers and names only.

use std::time::Duration;

use tracing::Span;
use tracing::field::Empty;

use crate::error::Error;
use crate::host::{ApiChunk, FinishReason};

/// The longest response id recorded; a longer one is not an id worth a field.
const MAX_RESPONSE_ID_BYTES: usize = 128;

/// What the span says of the request.
pub(crate) struct RequestFields<'a> {
    /// `gen_ai.provider.name`: `fireworks` on Fireworks' endpoint, `openai_compatible`
    /// elsewhere.
    pub provider: &'static str,
    /// The model id sent.
    pub model: &'a str,
    /// The `max_tokens` asked for.
    pub max_tokens: u32,
    /// The temperature sent, if any.
    pub temperature: Option<f32>,
    /// The server's host name or address, and port.
    pub server: Option<(&'a str, u16)>,
}

/// Opens the span of one completion (not entered: the stream enters it on each poll).
pub(crate) fn chat_span(request: &RequestFields<'_>) -> Span {
    let span = tracing::info_span!(
        "chat",
        otel.name = %format_args!("chat {}", request.model),
        otel.kind = "client",
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = request.provider,
        gen_ai.system = request.provider,
        gen_ai.request.model = request.model,
        gen_ai.request.max_tokens = request.max_tokens,
        gen_ai.request.temperature = Empty,
        server.address = Empty,
        server.port = Empty,
        gen_ai.response.id = Empty,
        gen_ai.response.time_to_first_chunk = Empty,
        http.response.status_code = Empty,
        fireworks.attempts = 1u32,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        gen_ai.response.finish_reasons = Empty,
        error.type = Empty,
    );
    if let Some(temperature) = request.temperature {
        span.record("gen_ai.request.temperature", f64::from(temperature));
    }
    if let Some((address, port)) = request.server {
        span.record("server.address", address);
        span.record("server.port", port);
    }
    span
}

/// Notes the first event: the status, the time from sending to it, and the response id.
pub(crate) fn record_first_event(span: &Span, status: u16, waited: Duration, id: Option<&str>) {
    span.record("http.response.status_code", status);
    span.record("gen_ai.response.time_to_first_chunk", waited.as_secs_f64());
    if let Some(id) = id.filter(|id| id.len() <= MAX_RESPONSE_ID_BYTES) {
        span.record("gen_ai.response.id", id);
    }
}

/// Notes what a chunk says of the response (retries also as events).
pub(crate) fn record_chunk(span: &Span, chunk: &ApiChunk) {
    match chunk {
        ApiChunk::Retrying {
            attempt,
            delay,
            reason,
            ..
        } => {
            span.record("fireworks.attempts", attempt + 1);
            tracing::warn!(
                attempt,
                delay_ms = delay.as_millis() as u64,
                reason,
                "retrying"
            );
        }
        ApiChunk::Usage(usage) => {
            span.record("gen_ai.usage.input_tokens", usage.input_tokens);
            span.record("gen_ai.usage.output_tokens", usage.output_tokens);
        }
        ApiChunk::Finish(reason) => {
            span.record("gen_ai.response.finish_reasons", finish_name(reason));
        }
        _ => {}
    }
}

/// Notes the error a completion ended with (`error.type`) and logs it as an event.
pub(crate) fn record_error(span: &Span, error: &Error) {
    span.record("error.type", error_type(error));
    tracing::warn!(error = %error, "completion failed");
}

/// The finish reason as the wire names it; another reason the server gave is `other` (its text
/// is the server's, not a name).
fn finish_name(reason: &FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
        FinishReason::Other(_) => "other",
    }
}

/// `error.type`: the class of the error, low-cardinality.
fn error_type(error: &Error) -> &'static str {
    match error {
        Error::Config(_) => "config",
        Error::InvalidConversation { .. } => "invalid_conversation",
        Error::Auth(_) => "auth",
        Error::ModelNotFound(_) => "model_not_found",
        Error::RateLimited { .. } => "rate_limited",
        Error::ContextWindowExceeded { .. } => "context_window_exceeded",
        Error::InvalidRequest(_) => "invalid_request",
        Error::PaymentRequired(_) => "payment_required",
        Error::NotReady(_) => "not_ready",
        Error::Server(_) => "server_error",
        Error::Redirected { .. } => "redirected",
        Error::Network { .. } => "network",
        Error::Timeout { .. } => "timeout",
        Error::StreamInterrupted { .. } => "stream_interrupted",
        Error::Decode { .. } => "decode",
        Error::Encode { .. } => "encode",
        Error::FakeScriptExhausted { .. } => "fake_script_exhausted",
    }
}
