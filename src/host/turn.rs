//! Whole turns: a finished stream folded back into the assistant [`Message`] that the next
//! request carries, with the raw tool calls, the usage and why the turn ended.
//!
//! [`TurnBuilder`] is the sans-IO fold (a host that renders chunks as they come pushes each
//! one); [`Turn::collect`] drives a whole [`ApiStream`] through it.

use futures::{Stream, StreamExt};
use serde_json::Value;

use crate::error::Error;
use crate::host::{
    ApiChunk, ContentBlock, FinishReason, Message, Role, ServerReport, ToolCall, Usage,
};

/// A finished turn, collected from its stream: what a host appends to the conversation.
///
/// ```
/// use fireworks_provider::{ChatRequest, FakeProvider, LlmProvider, Message, ModelInfo, Turn};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let provider = FakeProvider::new(ModelInfo::unknown("fake"))
///     .with_response(FakeProvider::answer("Hello!"));
/// let mut messages = vec![Message::user("Hi")];
/// let turn = Turn::collect(provider.create_message(ChatRequest::new("", messages.clone()))).await?;
/// messages.push(turn.message); // the next request carries the answer
/// assert_eq!(messages[1], Message::assistant("Hello!"));
/// # Ok::<(), fireworks_provider::Error>(())
/// # }).unwrap();
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// The assistant's message: `Reasoning`, `Text` and `ToolUse` blocks in arrival order,
    /// adjacent pieces of one kind merged.
    pub message: Message,
    /// The tool calls as streamed, with their raw argument text.
    pub tool_calls: Vec<ToolCall>,
    /// Token counts and cost, when the server reported them.
    pub usage: Option<Usage>,
    /// Why the turn ended.
    pub finish: FinishReason,
    /// The server's id of the request ([`ApiChunk::RequestId`]), when its response carried one.
    pub request_id: Option<String>,
    /// What the response's headers reported ([`ApiChunk::ServerReport`]), when they reported
    /// anything.
    pub server_report: Option<ServerReport>,
}

impl Turn {
    /// Drives `stream` (an [`ApiStream`](crate::ApiStream), or one a host wrapped to render
    /// each chunk as it passes) to its end, `Retrying` chunks skipped, and returns the turn; the
    /// first error item is returned instead.
    pub async fn collect(
        stream: impl Stream<Item = Result<ApiChunk, Error>>,
    ) -> Result<Turn, Error> {
        let mut stream = std::pin::pin!(stream);
        let mut builder = TurnBuilder::new();
        while let Some(chunk) = stream.next().await {
            builder.push(&chunk?);
        }
        builder.finish()
    }

    /// Whether the turn ended with reasoning and nothing else: no answer text (or only
    /// whitespace) and no tool call. Some models put their whole answer in the reasoning
    /// channel; a host that shows only the answer would show an empty reply, so it can tell
    /// the user instead (and `finish` says whether the output cap cut the turn off). The
    /// reasoning is never moved into the answer on a guess: it stays in the message's
    /// `Reasoning` blocks.
    pub fn answered_only_in_reasoning(&self) -> bool {
        let mut reasoned = false;
        for block in &self.message.content {
            match block {
                ContentBlock::Reasoning { text } => reasoned |= !text.trim().is_empty(),
                ContentBlock::Text { text } if text.trim().is_empty() => {}
                _ => return false,
            }
        }
        reasoned
    }
}

/// Folds chunks into a [`Turn`] as they arrive, for hosts that render each chunk too.
///
/// ```
/// use fireworks_provider::{ApiChunk, ContentBlock, FinishReason, ToolCall, TurnBuilder};
///
/// let mut builder = TurnBuilder::new();
/// for chunk in [
///     ApiChunk::Reasoning("Look at ".into()),
///     ApiChunk::Reasoning("the file.".into()),
///     ApiChunk::ToolCall(ToolCall { id: "c1".into(), name: "read".into(), arguments: r#"{"path":"a"}"#.into() }),
///     ApiChunk::Finish(FinishReason::ToolCalls),
/// ] {
///     builder.push(&chunk);
/// }
/// let turn = builder.finish()?;
/// assert_eq!(turn.message.content[0], ContentBlock::Reasoning { text: "Look at the file.".into() });
/// assert!(matches!(&turn.message.content[1], ContentBlock::ToolUse { input, .. } if input["path"] == "a"));
/// # Ok::<(), fireworks_provider::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct TurnBuilder {
    blocks: Vec<ContentBlock>,
    tool_calls: Vec<ToolCall>,
    usage: Option<Usage>,
    finish: Option<FinishReason>,
    request_id: Option<String>,
    server_report: Option<ServerReport>,
}

impl TurnBuilder {
    /// An empty turn.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next chunk of the stream. `Retrying` and `ToolCallDelta` chunks change nothing
    /// (the complete call still comes as an `ApiChunk::ToolCall`).
    pub fn push(&mut self, chunk: &ApiChunk) {
        match chunk {
            ApiChunk::Text(text) => match self.blocks.last_mut() {
                Some(ContentBlock::Text { text: last }) => last.push_str(text),
                _ => self.blocks.push(ContentBlock::Text { text: text.clone() }),
            },
            ApiChunk::Reasoning(text) => match self.blocks.last_mut() {
                Some(ContentBlock::Reasoning { text: last }) => last.push_str(text),
                _ => self
                    .blocks
                    .push(ContentBlock::Reasoning { text: text.clone() }),
            },
            ApiChunk::ToolCall(call) => {
                self.blocks.push(ContentBlock::ToolUse {
                    id: call.id.clone(),
                    name: call.name.clone(),
                    input: tool_input(call),
                });
                self.tool_calls.push(call.clone());
            }
            ApiChunk::Usage(usage) => self.usage = Some(usage.clone()),
            ApiChunk::Finish(reason) => self.finish = Some(reason.clone()),
            ApiChunk::RequestId(id) => self.request_id = Some(id.clone()),
            ApiChunk::ServerReport(report) => self.server_report = Some(**report),
            ApiChunk::Retrying { .. }
            | ApiChunk::FallingBack { .. }
            | ApiChunk::ToolCallDelta { .. } => {}
        }
    }

    /// The turn. A stream that ended without a finish reason was cut off:
    /// [`Error::StreamInterrupted`].
    pub fn finish(self) -> Result<Turn, Error> {
        let finish = self.finish.ok_or_else(|| Error::StreamInterrupted {
            message: "the stream ended without a finish reason".into(),
        })?;
        Ok(Turn {
            message: Message {
                role: Role::Assistant,
                content: self.blocks,
            },
            tool_calls: self.tool_calls,
            usage: self.usage,
            finish,
            request_id: self.request_id,
            server_report: self.server_report,
        })
    }
}

/// A call's arguments as its `ToolUse` input: what [`ToolCall::parse_arguments`] reads (an
/// empty text is `{}`), or `Value::String(raw)` when the text is not JSON or is a bare JSON
/// string, so that the request that sends the turn back carries the model's text byte for byte.
fn tool_input(call: &ToolCall) -> Value {
    match call.parse_arguments() {
        Ok(Value::String(_)) | Err(_) => Value::String(call.arguments.clone()),
        Ok(parsed) => parsed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn call(id: &str, arguments: &str) -> ApiChunk {
        ApiChunk::ToolCall(ToolCall {
            id: id.into(),
            name: "edit".into(),
            arguments: arguments.into(),
        })
    }

    fn built(chunks: &[ApiChunk]) -> Result<Turn, Error> {
        let mut builder = TurnBuilder::new();
        for chunk in chunks {
            builder.push(chunk);
        }
        builder.finish()
    }

    #[test]
    fn blocks_keep_arrival_order_and_merge_adjacent_pieces() {
        let turn = built(&[
            ApiChunk::Retrying {
                attempt: 1,
                max_attempts: 3,
                delay: Duration::ZERO,
                reason: "503".into(),
            },
            ApiChunk::RequestId("req-7".into()),
            ApiChunk::Reasoning("a".into()),
            ApiChunk::Reasoning("b".into()),
            ApiChunk::Text("c".into()),
            ApiChunk::Text("d".into()),
            ApiChunk::Reasoning("e".into()),
            call("1", r#"{"x":1}"#),
            ApiChunk::Usage(Usage::new(10, 5)),
            ApiChunk::Finish(FinishReason::ToolCalls),
        ])
        .unwrap();
        assert_eq!(
            turn.message.content,
            [
                ContentBlock::Reasoning { text: "ab".into() },
                ContentBlock::Text { text: "cd".into() },
                ContentBlock::Reasoning { text: "e".into() },
                ContentBlock::ToolUse {
                    id: "1".into(),
                    name: "edit".into(),
                    input: json!({"x": 1})
                },
            ]
        );
        assert_eq!(turn.message.role, Role::Assistant);
        assert_eq!(turn.tool_calls.len(), 1);
        assert_eq!(turn.usage, Some(Usage::new(10, 5)));
        assert_eq!(turn.finish, FinishReason::ToolCalls);
        assert_eq!(turn.request_id.as_deref(), Some("req-7"));
    }

    #[test]
    fn arguments_that_are_not_json_objects_are_kept_raw() {
        let turn = built(&[
            call("1", r#"{"path": "a", "#),
            call("2", r#""just a string""#),
            call("3", "  "),
            ApiChunk::Finish(FinishReason::ToolCalls),
        ])
        .unwrap();
        let inputs: Vec<&Value> = turn
            .message
            .content
            .iter()
            .filter_map(|block| match block {
                ContentBlock::ToolUse { input, .. } => Some(input),
                _ => None,
            })
            .collect();
        assert_eq!(
            inputs,
            [
                &json!(r#"{"path": "a", "#),
                &json!(r#""just a string""#),
                &json!({})
            ]
        );
    }

    #[test]
    fn a_turn_that_only_reasoned_says_so_and_keeps_its_reasoning_apart() {
        let only_reasoning = built(&[
            ApiChunk::Reasoning("The answer is 42.".into()),
            ApiChunk::Text("\n\n".into()),
            ApiChunk::Finish(FinishReason::Stop),
        ])
        .unwrap();
        assert!(only_reasoning.answered_only_in_reasoning());
        assert_eq!(
            only_reasoning.message.content[0],
            ContentBlock::Reasoning {
                text: "The answer is 42.".into()
            },
            "the reasoning is not moved into the answer"
        );
        let answered = built(&[
            ApiChunk::Reasoning("Think.".into()),
            ApiChunk::Text("42".into()),
            ApiChunk::Finish(FinishReason::Stop),
        ])
        .unwrap();
        assert!(!answered.answered_only_in_reasoning());
        let called = built(&[
            ApiChunk::Reasoning("Read it.".into()),
            call("1", "{}"),
            ApiChunk::Finish(FinishReason::ToolCalls),
        ])
        .unwrap();
        assert!(!called.answered_only_in_reasoning());
        let empty = built(&[ApiChunk::Finish(FinishReason::Stop)]).unwrap();
        assert!(!empty.answered_only_in_reasoning(), "no reasoning either");
    }

    #[test]
    fn a_stream_without_a_finish_reason_is_interrupted() {
        assert!(matches!(
            built(&[ApiChunk::Text("partial".into())]),
            Err(Error::StreamInterrupted { .. })
        ));
    }
}
