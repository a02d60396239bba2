//! What a completion streams back: [`ApiChunk`]s (text, reasoning, tool calls, usage, the
//! server's report, retries, the finish reason), with [`ToolCall`], [`Usage`] and [`FinishReason`].

use std::time::Duration;

use super::cache_report::CacheReport;
use super::server_report::{PerfMetrics, ServerReport};
use crate::error::{Error, bounded};

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
    /// [`RequestOptions::tool_call_deltas`](crate::RequestOptions::tool_call_deltas) is on): id and name on the first piece of each
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
    /// What the response's headers reported: Fireworks' metrics headers and the account's rate
    /// limits. Right after [`ApiChunk::RequestId`] (or first, without one), when the response
    /// carried any such header. Boxed: it comes once per stream.
    ServerReport(Box<ServerReport>),
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
    /// The call's id; send it back as [`ContentBlock::ToolResult::tool_use_id`](crate::ContentBlock::ToolResult::tool_use_id).
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
            message: bounded(format!(
                "arguments of tool call {} ({}) are not valid JSON: {err}",
                self.id, self.name
            )),
            source: Some(Box::new(err)),
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
    /// Fireworks' `perf_metrics` from the final chunk, when the request asked for them
    /// ([`RequestOptions::with_perf_metrics`](crate::RequestOptions::with_perf_metrics)) and
    /// the server sent them. Boxed, like `cache_report`.
    pub perf_metrics: Option<Box<PerfMetrics>>,
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

    /// Sets [`Usage::perf_metrics`].
    pub fn with_perf_metrics(mut self, metrics: PerfMetrics) -> Self {
        self.perf_metrics = Some(Box::new(metrics));
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
            Err(Error::Decode { message, .. }) => {
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
