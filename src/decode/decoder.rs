//! The whole decode path, sans-IO: response body bytes in, [`ApiChunk`]s out.
//!
//! [`StreamDecoder`] chains the SSE framer, the chunk parser, the `<think>` splitter and the
//! tool-call assembler, and decides when a completion is complete. It owns the order of the
//! output: text and reasoning as they arrive, then tool calls (in index order, when the finish
//! reason comes), then one [`Usage`], then [`ApiChunk::Finish`] last. The HTTP layer feeds it;
//! hosts with a transport of their own can feed it too.

use std::borrow::Cow;

use crate::decode::chunk::{
    ContentPart, WireChunk, WireContent, WireDelta, parse_event, response_id,
};
use crate::decode::reasoning::{ThinkPart, ThinkSplitter};
use crate::decode::sse::{SseDecoder, SseError, SseEvent};
use crate::decode::tools::{TakenFragment, ToolCallAssembler};
use crate::error::{Error, classify};
use crate::host::{ApiChunk, FinishReason, ModelInfo, PerfMetrics, Prices, ReasoningStyle, Usage};

/// Decodes one completion's response body.
///
/// ```
/// use fireworks_provider::{ApiChunk, FinishReason, ModelInfo, StreamDecoder};
///
/// let model = ModelInfo::unknown("my-model");
/// let mut decoder = StreamDecoder::new(&model);
/// let mut chunks = Vec::new();
/// decoder.push(b"data: {\"choices\":[{\"delta\":{\"content\":\"<think>hm</think>Hi\"}}]}\n\n", &mut chunks)?;
/// decoder.push(b"data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n", &mut chunks)?;
/// decoder.finish(&mut chunks)?;
/// assert_eq!(chunks, [
///     ApiChunk::Reasoning("hm".into()),
///     ApiChunk::Text("Hi".into()),
///     ApiChunk::Finish(FinishReason::Stop),
/// ]);
/// # Ok::<(), fireworks_provider::Error>(())
/// ```
#[derive(Debug)]
pub struct StreamDecoder {
    sse: SseDecoder,
    completion: Completion,
}

/// Everything after SSE framing: what one completion has said so far.
#[derive(Debug)]
struct Completion {
    splitter: ThinkSplitter,
    tools: ToolCallAssembler,
    usage: Option<Usage>,
    /// Fireworks' `perf_metrics`, put on the usage when it is emitted.
    perf_metrics: Option<Box<PerfMetrics>>,
    finish: Option<FinishReason>,
    /// `[DONE]` was seen and the closing chunks emitted.
    done: bool,
    /// Events decoded so far.
    events: u64,
    /// The `id` of the first chunk, when it had one.
    response_id: Option<String>,
    prices: Prices,
    /// Emit `ApiChunk::ToolCallDelta` pieces as tool calls arrive.
    tool_call_deltas: bool,
}

impl StreamDecoder {
    /// A decoder for a completion of `model` (its reasoning style picks the splitter; its prices
    /// give the cost).
    pub fn new(model: &ModelInfo) -> Self {
        Self::with_sse(model, SseDecoder::new())
    }

    /// A decoder whose events may be at most `max_event_bytes` long.
    pub fn with_max_event_bytes(model: &ModelInfo, max_event_bytes: usize) -> Self {
        Self::with_sse(model, SseDecoder::with_max_event_bytes(max_event_bytes))
    }

    fn with_sse(model: &ModelInfo, sse: SseDecoder) -> Self {
        let splitter = match model.reasoning {
            ReasoningStyle::StartsInReasoning => ThinkSplitter::starting_in_reasoning(),
            _ => ThinkSplitter::new(),
        };
        StreamDecoder {
            sse,
            completion: Completion {
                splitter,
                tools: ToolCallAssembler::new(),
                usage: None,
                perf_metrics: None,
                finish: None,
                done: false,
                events: 0,
                response_id: None,
                prices: model.prices(),
                tool_call_deltas: false,
            },
        }
    }

    /// A decoder whose tool calls' arguments may hold at most `bytes` bytes in all (default
    /// [`DEFAULT_MAX_TOOL_ARGUMENT_BYTES`](crate::DEFAULT_MAX_TOOL_ARGUMENT_BYTES)); a response
    /// that sends more ends with [`Error::Decode`] naming the cap.
    pub fn with_max_tool_argument_bytes(mut self, bytes: usize) -> Self {
        self.completion.tools = ToolCallAssembler::with_max_argument_bytes(bytes);
        self
    }

    /// Also emits an [`ApiChunk::ToolCallDelta`] for each piece of a tool call as it arrives
    /// (its id and name with the first), before the complete [`ApiChunk::ToolCall`].
    pub fn with_tool_call_deltas(mut self, enabled: bool) -> Self {
        self.completion.tool_call_deltas = enabled;
        self
    }

    /// Takes the next bytes of the body and appends the chunks they complete to `out`. On an
    /// error, `out` holds every chunk decoded before it, text the splitter was holding back
    /// included; the decoder must not be fed again.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<ApiChunk>) -> Result<(), Error> {
        let completion = &mut self.completion;
        let mut failure = None;
        let framed = self.sse.push(bytes, |event| {
            if failure.is_none()
                && let Err(err) = completion.on_event(event, out)
            {
                failure = Some(err);
            }
        });
        let failure = failure.or_else(|| framed.err().map(sse_error));
        match failure {
            Some(err) => {
                completion.flush_text(out);
                Err(err)
            }
            None => Ok(()),
        }
    }

    /// Ends the body. A body that ended without `[DONE]` and without a finish reason was cut
    /// off: after flushing any held-back text, that is [`Error::StreamInterrupted`].
    pub fn finish(&mut self, out: &mut Vec<ApiChunk>) -> Result<(), Error> {
        let completion = &mut self.completion;
        if completion.done {
            return Ok(());
        }
        if completion.finish.is_some() {
            completion.complete(out);
            return Ok(());
        }
        completion.flush_text(out);
        let mut message = format!(
            "the body ended after {} events without a finish reason or [DONE]",
            completion.events
        );
        if self.sse.has_partial_event() {
            message.push_str(", in the middle of an event");
        }
        let open_calls = completion.tools.finish().count();
        if open_calls > 0 {
            message.push_str(&format!(
                "; {open_calls} incomplete tool call(s) were dropped"
            ));
        }
        Err(Error::StreamInterrupted { message })
    }

    /// Whether the completion is complete (`[DONE]` seen): later bytes are ignored.
    pub fn is_done(&self) -> bool {
        self.completion.done
    }

    /// How many events have been decoded so far.
    pub fn events(&self) -> u64 {
        self.completion.events
    }

    /// The completion's id (the `id` of its first chunk, e.g. for `gen_ai.response.id`), once
    /// that chunk is decoded and when it has one.
    pub fn response_id(&self) -> Option<&str> {
        self.completion.response_id.as_deref()
    }
}

fn sse_error(err: SseError) -> Error {
    Error::Decode {
        message: err.to_string(),
        source: None,
    }
}

impl Completion {
    fn on_event(&mut self, event: SseEvent<'_>, out: &mut Vec<ApiChunk>) -> Result<(), Error> {
        if self.done {
            return Ok(());
        }
        let data = event.data;
        if event.event == "error" {
            self.events += 1;
            return Err(classify::named_error_event(data));
        }
        let data = data.trim_ascii();
        if data.is_empty() {
            // `data:` with nothing after it: no chunk in it to read (a keep-alive, in effect).
            return Ok(());
        }
        self.events += 1;
        if data == b"[DONE]" {
            self.complete(out);
            return Ok(());
        }
        if self.events == 1 {
            // Read once per stream, by a pass of its own: the hot path never reads `id`.
            self.response_id = response_id(data);
        }
        let WireChunk {
            choice,
            usage,
            perf_metrics,
            ..
        } = parse_event(data).map_err(|err| *err)?;
        if let Some(choice) = choice {
            if let Some(delta) = choice.delta {
                let WireDelta {
                    content,
                    reasoning_content,
                    reasoning,
                    tool_calls,
                } = delta;
                // Both reasoning fields are read, in this order, should a server send both;
                // the same text in both is read once (vLLM 0.11 to 0.14 mirror `reasoning`
                // into `reasoning_content`).
                let mirrored = reasoning.is_some() && reasoning == reasoning_content;
                if let Some(text) = reasoning_content {
                    self.reasoning_field(text, out);
                }
                if let Some(text) = reasoning.filter(|_| !mirrored) {
                    self.reasoning_field(text, out);
                }
                match content {
                    Some(WireContent::Text(text)) => self.content_text(text, out),
                    // Mistral's parts, in order: thinking is reasoning sent on its own.
                    Some(WireContent::Parts(parts)) => {
                        for part in parts {
                            match part {
                                ContentPart::Answer(text) => self.content_text(text, out),
                                ContentPart::Reasoning(text) => self.reasoning_field(text, out),
                            }
                        }
                    }
                    None => {}
                }
                for call in tool_calls.iter().flatten() {
                    let fragment = call.fragment();
                    let taken = self.tools.push(fragment)?;
                    if self.tool_call_deltas {
                        out.extend(tool_call_delta(taken, fragment.arguments));
                    }
                }
            }
            if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
                self.finish = Some(FinishReason::from_wire(&reason));
                self.flush_text(out);
                out.extend(self.tools.finish().map(ApiChunk::ToolCall));
            }
        }
        if let Some(usage) = usage {
            // Reported once: a usage repeated in a later chunk replaces, never adds.
            self.usage = Some(usage.to_usage());
        }
        if perf_metrics.is_some() {
            self.perf_metrics = perf_metrics;
        }
        Ok(())
    }

    /// Emits answer text from `content`, split where it holds `<think>` reasoning.
    fn content_text(&mut self, content: Cow<'_, str>, out: &mut Vec<ApiChunk>) {
        if content.is_empty() {
            return;
        }
        // Text that needs no splitting is moved on, not copied: text that had escapes is
        // already an owned string, unescaped by the chunk parser.
        match self.splitter.pass_through(&content) {
            Some(ThinkPart::Answer(_)) => out.push(ApiChunk::Text(content.into_owned())),
            Some(ThinkPart::Reasoning(_)) => out.push(ApiChunk::Reasoning(content.into_owned())),
            None => self
                .splitter
                .push(&content, |part| out.push(part_chunk(part))),
        }
    }

    /// Emits reasoning the server sent in a field of its own: from then on its content is
    /// answer text.
    fn reasoning_field(&mut self, text: Cow<'_, str>, out: &mut Vec<ApiChunk>) {
        if text.is_empty() {
            return;
        }
        self.splitter
            .reasoning_arrives_separately(|part| out.push(part_chunk(part)));
        out.push(ApiChunk::Reasoning(text.into_owned()));
    }

    /// Emits what the splitter still holds.
    fn flush_text(&mut self, out: &mut Vec<ApiChunk>) {
        self.splitter.finish(|part| out.push(part_chunk(part)));
    }

    /// Emits the closing chunks: open tool calls, usage with cost, the finish reason.
    fn complete(&mut self, out: &mut Vec<ApiChunk>) {
        self.done = true;
        self.flush_text(out);
        let before_calls = out.len();
        out.extend(self.tools.finish().map(ApiChunk::ToolCall));
        let made_calls = out.len() > before_calls;
        if let Some(mut usage) = self.usage.take() {
            usage.total_cost = self.prices.cost(&usage);
            usage.perf_metrics = self.perf_metrics.take();
            out.push(ApiChunk::Usage(usage));
        }
        // A server that sends `[DONE]` without any finish reason finished normally.
        let finish = self.finish.take().unwrap_or(if made_calls {
            FinishReason::ToolCalls
        } else {
            FinishReason::Stop
        });
        out.push(ApiChunk::Finish(finish));
    }
}

/// The live piece of a call: its id and name when the fragment opened it, then its argument
/// text; nothing for a fragment that adds neither.
fn tool_call_delta(taken: TakenFragment<'_>, arguments: Option<&str>) -> Option<ApiChunk> {
    let arguments = arguments.filter(|piece| !piece.is_empty());
    (taken.opened || arguments.is_some()).then(|| ApiChunk::ToolCallDelta {
        index: taken.index,
        id: taken.opened.then(|| taken.id.to_owned()),
        name: (taken.opened && !taken.name.is_empty()).then(|| taken.name.to_owned()),
        arguments: arguments.map_or_else(String::new, str::to_owned),
    })
}

fn part_chunk(part: ThinkPart<'_>) -> ApiChunk {
    match part {
        ThinkPart::Reasoning(text) => ApiChunk::Reasoning(text.to_owned()),
        ThinkPart::Answer(text) => ApiChunk::Text(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response_id_of(events: &[&str]) -> Option<String> {
        let mut decoder = StreamDecoder::new(&ModelInfo::unknown("m"));
        let mut out = Vec::new();
        for event in events {
            decoder
                .push(format!("data: {event}\n\n").as_bytes(), &mut out)
                .unwrap();
        }
        decoder.response_id().map(str::to_owned)
    }

    #[test]
    fn the_response_id_is_the_first_events_string_id() {
        let delta = r#""choices":[{"index":0,"delta":{"content":"x"}}]"#;
        assert_eq!(
            response_id_of(&[&format!(r#"{{"id":"cmpl-1",{delta}}}"#)]).as_deref(),
            Some("cmpl-1")
        );
        assert_eq!(
            response_id_of(&[&format!("{{{delta}}}")]),
            None,
            "none sent"
        );
        assert_eq!(
            response_id_of(&[&format!(r#"{{"id":7,{delta}}}"#)]),
            None,
            "not a string, and the event still decodes"
        );
        assert_eq!(
            response_id_of(&[
                &format!("{{{delta}}}"),
                &format!(r#"{{"id":"later",{delta}}}"#)
            ]),
            None,
            "read from the first event only"
        );
    }
}
