//! What the server reports about a request beside the answer: [`ServerReport`] (from the
//! response headers, at the start of a stream) and [`PerfMetrics`] (Fireworks' `perf_metrics`,
//! on the final chunk, kept on the [`Usage`](crate::Usage)). Plain numbers and durations only.

use std::time::Duration;

use crate::error::RateLimits;

/// What a response's headers report before the stream begins: Fireworks' `fireworks-*`
/// metrics headers and the `x-ratelimit-*` headers. Sent as
/// [`ApiChunk::ServerReport`](crate::ApiChunk::ServerReport) right after the request id, when
/// the response carried any of them. Each field is `None` when its header was absent or not a
/// number.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerReport {
    /// `fireworks-prompt-tokens`: the prompt's size in tokens, cached ones included.
    pub prompt_tokens: Option<u64>,
    /// `fireworks-cached-prompt-tokens`: the part of the prompt served from the prompt cache.
    pub cached_prompt_tokens: Option<u64>,
    /// `fireworks-server-time-to-first-token`: how long the server took to its first token.
    pub server_time_to_first_token: Option<Duration>,
    /// `fireworks-server-processing-time`: the server's time on the request (a whole
    /// response; a stream's headers are sent before it is known).
    pub server_processing_time: Option<Duration>,
    /// The account's limits and what remains of them.
    pub rate_limits: RateLimits,
}

impl ServerReport {
    /// Nothing reported.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no header gave anything.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Fireworks' `perf_metrics` object, sent on the final chunk when the request asked for it
/// ([`RequestOptions::with_perf_metrics`](crate::RequestOptions::with_perf_metrics)). The
/// metrics Fireworks documents are kept, each `None` when absent or not a number; durations
/// come in seconds on the wire. Other keys are dropped.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PerfMetrics {
    /// `prompt-tokens`: the prompt's size in tokens, cached ones included.
    pub prompt_tokens: Option<u64>,
    /// `cached-prompt-tokens`: the part of the prompt served from the prompt cache.
    pub cached_prompt_tokens: Option<u64>,
    /// `server-time-to-first-token`.
    pub server_time_to_first_token: Option<Duration>,
    /// `server-processing-time`: the server's whole time on the request.
    pub server_processing_time: Option<Duration>,
    /// `prefill-queue-duration`: waiting to start on the prompt.
    pub prefill_queue_duration: Option<Duration>,
    /// `prefill-duration`: reading the prompt.
    pub prefill_duration: Option<Duration>,
    /// `generation-queue-duration`: waiting to start generating.
    pub generation_queue_duration: Option<Duration>,
    /// `generation-duration`: generating the output.
    pub generation_duration: Option<Duration>,
    /// `num-concurrent-requests`: requests the replica was serving at the time.
    pub concurrent_requests: Option<u64>,
}

impl PerfMetrics {
    /// No metric known.
    pub fn new() -> Self {
        Self::default()
    }
}

/// A count from a number a server sent: a decimal one (a limit in tokens per second may be
/// one) cut to its whole part. Negative, not finite, or past 2^53 (where an `f64` no longer
/// holds every whole number): `None`.
pub(crate) fn count(number: f64) -> Option<u64> {
    (number.is_finite() && (0.0..9_007_199_254_740_992.0).contains(&number))
        .then_some(number as u64)
}

/// A duration from a number of seconds a server sent (Fireworks writes `0.042`); negative or
/// not finite: `None`.
pub(crate) fn seconds(number: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(number).ok()
}
