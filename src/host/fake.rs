//! [`FakeProvider`], a test double for hosts: an [`LlmProvider`] that checks each request like
//! a real provider, records it, and replays a [`ScriptedResponse`] (reasoning, text, tool calls
//! whole or as deltas, usage, errors mid-stream, delays and streams that never end), with no
//! HTTP.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use crate::error::Error;
use crate::host::{
    ApiChunk, ApiStream, ChatRequest, FinishReason, LlmProvider, ModelInfo, ToolCall, Usage,
};

/// One scripted completion: the steps its stream plays, in order.
///
/// ```
/// use std::time::Duration;
/// use fireworks_provider::{FinishReason, ScriptedResponse, Usage};
///
/// let script = ScriptedResponse::new()
///     .reasoning("The user wants the file.")
///     .delay(Duration::from_millis(50))
///     .tool_call_in_pieces("call_1", "read_file", [r#"{"path":"#, r#""src/lib.rs"}"#])
///     .usage(Usage::new(120, 30))
///     .finish(FinishReason::ToolCalls);
/// ```
#[derive(Debug, Default)]
pub struct ScriptedResponse {
    steps: Vec<Step>,
}

#[derive(Debug)]
enum Step {
    Chunk(ApiChunk),
    ToolCall {
        id: String,
        name: String,
        pieces: Vec<String>,
    },
    Delay(Duration),
    Fail(Error),
    NeverEnd,
}

impl ScriptedResponse {
    /// An empty script (its stream ends at once, with no finish reason).
    pub fn new() -> Self {
        Self::default()
    }

    fn then(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    /// Yields this chunk as it is.
    pub fn chunk(self, chunk: ApiChunk) -> Self {
        self.then(Step::Chunk(chunk))
    }

    /// Yields reasoning text.
    pub fn reasoning(self, text: impl Into<String>) -> Self {
        self.chunk(ApiChunk::Reasoning(text.into()))
    }

    /// Yields answer text.
    pub fn text(self, text: impl Into<String>) -> Self {
        self.chunk(ApiChunk::Text(text.into()))
    }

    /// Yields a tool call whose arguments arrive in one piece: see
    /// [`ScriptedResponse::tool_call_in_pieces`].
    pub fn tool_call(
        self,
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        self.tool_call_in_pieces(id, name, [arguments])
    }

    /// Yields a tool call whose arguments arrive in these pieces: when the request asked for
    /// `tool_call_deltas`, one `ToolCallDelta` per piece (id and name on the first), numbered
    /// like the real provider's; then the complete `ToolCall`.
    pub fn tool_call_in_pieces<S: Into<String>>(
        self,
        id: impl Into<String>,
        name: impl Into<String>,
        pieces: impl IntoIterator<Item = S>,
    ) -> Self {
        self.then(Step::ToolCall {
            id: id.into(),
            name: name.into(),
            pieces: pieces.into_iter().map(Into::into).collect(),
        })
    }

    /// Yields token counts.
    pub fn usage(self, usage: Usage) -> Self {
        self.chunk(ApiChunk::Usage(usage))
    }

    /// Yields the finish reason.
    pub fn finish(self, reason: FinishReason) -> Self {
        self.chunk(ApiChunk::Finish(reason))
    }

    /// Ends the stream with this error (what came before is delivered first).
    pub fn error(self, error: Error) -> Self {
        self.then(Step::Fail(error))
    }

    /// Waits this long (on tokio's clock, so paused time works) before the next step.
    pub fn delay(self, wait: Duration) -> Self {
        self.then(Step::Delay(wait))
    }

    /// After the steps so far, the stream stays open and never yields again: for testing a
    /// host's own timeouts and cancellation.
    pub fn never_end(self) -> Self {
        self.then(Step::NeverEnd)
    }

    /// The stream of this script, for a request that did or did not ask for tool-call deltas.
    fn into_stream(self, tool_call_deltas: bool) -> ApiStream {
        struct Play {
            steps: VecDeque<Step>,
            ready: VecDeque<ApiChunk>,
            next_call: u32,
            tool_call_deltas: bool,
        }
        let play = Play {
            steps: self.steps.into(),
            ready: VecDeque::new(),
            next_call: 0,
            tool_call_deltas,
        };
        Box::pin(futures::stream::unfold(play, |mut play| async move {
            loop {
                if let Some(chunk) = play.ready.pop_front() {
                    return Some((Ok(chunk), play));
                }
                match play.steps.pop_front()? {
                    Step::Chunk(chunk) => play.ready.push_back(chunk),
                    Step::ToolCall { id, name, pieces } => {
                        let index = play.next_call;
                        play.next_call += 1;
                        if play.tool_call_deltas {
                            for (n, piece) in pieces.iter().enumerate() {
                                play.ready.push_back(ApiChunk::ToolCallDelta {
                                    index,
                                    id: (n == 0).then(|| id.clone()),
                                    name: (n == 0).then(|| name.clone()),
                                    arguments: piece.clone(),
                                });
                            }
                        }
                        let arguments = pieces.concat();
                        play.ready.push_back(ApiChunk::ToolCall(ToolCall {
                            id,
                            name,
                            arguments,
                        }));
                    }
                    Step::Delay(wait) => tokio::time::sleep(wait).await,
                    Step::Fail(error) => {
                        play.steps.clear();
                        return Some((Err(error), play));
                    }
                    Step::NeverEnd => futures::future::pending::<()>().await,
                }
            }
        }))
    }
}

impl From<Vec<Result<ApiChunk, Error>>> for ScriptedResponse {
    /// A script that yields these items in order (an error ends it).
    fn from(items: Vec<Result<ApiChunk, Error>>) -> Self {
        items
            .into_iter()
            .fold(ScriptedResponse::new(), |script, item| match item {
                Ok(chunk) => script.chunk(chunk),
                Err(error) => script.error(error),
            })
    }
}

/// An [`LlmProvider`] for a host's own tests. Each [`LlmProvider::create_message`] call is
/// recorded and checked with [`ChatRequest::validate_for`] its model, as a real provider would;
/// a valid request replays the next scripted response.
///
/// ```
/// use fireworks_provider::{ApiChunk, ChatRequest, FakeProvider, LlmProvider, Message, ModelInfo};
/// use futures::StreamExt;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let fake = FakeProvider::new(ModelInfo::unknown("fake"))
///     .with_response(FakeProvider::answer("Hello!"));
/// let chunks: Vec<_> = fake.create_message(ChatRequest::new("", vec![Message::user("Hi")])).collect().await;
/// assert_eq!(chunks[0].as_ref().unwrap(), &ApiChunk::Text("Hello!".into()));
/// assert_eq!(fake.requests().len(), 1);
/// # });
/// ```
#[derive(Debug)]
pub struct FakeProvider {
    model: ModelInfo,
    responses: Mutex<VecDeque<ScriptedResponse>>,
    requests: Mutex<Vec<ChatRequest>>,
}

impl FakeProvider {
    /// A fake of `model` with nothing scripted yet.
    pub fn new(model: ModelInfo) -> Self {
        FakeProvider {
            model,
            responses: Mutex::new(VecDeque::new()),
            requests: Mutex::new(Vec::new()),
        }
    }

    /// Queues a response (builder style).
    pub fn with_response(self, response: impl Into<ScriptedResponse>) -> Self {
        self.push_response(response);
        self
    }

    /// Queues a response for a later call.
    pub fn push_response(&self, response: impl Into<ScriptedResponse>) {
        self.responses
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push_back(response.into());
    }

    /// A plain answer: the text, then `Finish(Stop)`.
    pub fn answer(text: impl Into<String>) -> ScriptedResponse {
        ScriptedResponse::new()
            .text(text)
            .finish(FinishReason::Stop)
    }

    /// Every request received so far, oldest first (refused ones included).
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

impl LlmProvider for FakeProvider {
    fn model(&self) -> &ModelInfo {
        &self.model
    }

    /// Refuses what a real provider refuses (the stream is that one error, and no script is
    /// used up); else replays the next scripted response. With none left, the stream is one
    /// [`Error::FakeScriptExhausted`].
    fn create_message(&self, request: ChatRequest) -> ApiStream {
        let checked = request.validate_for(&self.model);
        let deltas = request.options.tool_call_deltas;
        self.requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(request);
        if let Err(error) = checked {
            return Box::pin(futures::stream::iter([Err(error)]));
        }
        let next = self
            .responses
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop_front();
        match next {
            Some(script) => script.into_stream(deltas),
            None => Box::pin(futures::stream::iter([Err(Error::FakeScriptExhausted {
                request: self.requests().len(),
            })])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::RequestOptions;
    use crate::host::{Message, ToolSpec};
    use futures::StreamExt;
    use std::sync::Arc;

    fn ask() -> ChatRequest {
        ChatRequest::new("", vec![Message::user("q")])
    }

    async fn items(fake: &dyn LlmProvider, request: ChatRequest) -> Vec<Result<ApiChunk, Error>> {
        fake.create_message(request).collect().await
    }

    #[tokio::test]
    async fn replays_scripts_in_order_then_says_it_ran_out() {
        let fake: Arc<dyn LlmProvider> = Arc::new(
            FakeProvider::new(ModelInfo::unknown("fake"))
                .with_response(FakeProvider::answer("one"))
                .with_response(vec![Err(Error::StreamInterrupted {
                    message: "cut".into(),
                })]),
        );
        let first = items(fake.as_ref(), ask()).await;
        assert!(matches!(&first[0], Ok(ApiChunk::Text(t)) if t == "one"));
        let second = items(fake.as_ref(), ask()).await;
        assert!(matches!(
            &second[..],
            [Err(Error::StreamInterrupted { .. })]
        ));
        let third = items(fake.as_ref(), ask()).await;
        assert!(matches!(
            &third[..],
            [Err(Error::FakeScriptExhausted { request: 3 })]
        ));
    }

    #[tokio::test]
    async fn refuses_what_validate_refuses_without_using_a_script() {
        let fake = FakeProvider::new(ModelInfo::unknown("fake").with_images(false))
            .with_response(FakeProvider::answer("kept"));
        let refused = [
            ChatRequest::new("", vec![]),
            ask().with_options(RequestOptions::new().with_temperature(f32::NAN)),
            ask()
                .with_tools(vec![ToolSpec::new("a", "", serde_json::json!({}))])
                .with_options(
                    RequestOptions::new()
                        .with_tool_choice(crate::host::ToolChoice::Tool("b".into())),
                ),
        ];
        for request in refused {
            let expected = format!("{:?}", request.validate_for(fake.model()));
            let got = items(&fake, request).await;
            assert_eq!(got.len(), 1);
            assert!(matches!(&got[0], Err(Error::InvalidConversation { .. })));
            assert_eq!(format!("{:?}", got[0].as_ref().map(drop)), expected);
        }
        assert_eq!(
            fake.requests().len(),
            3,
            "refused requests are recorded too"
        );
        let answered = items(&fake, ask()).await;
        assert!(matches!(&answered[0], Ok(ApiChunk::Text(t)) if t == "kept"));
    }

    #[tokio::test]
    async fn tool_calls_stream_as_deltas_only_when_asked() {
        let script = || {
            ScriptedResponse::new()
                .tool_call_in_pieces("c1", "write", ["{\"a\":", "1}"])
                .tool_call("c2", "read", "{}")
                .finish(FinishReason::ToolCalls)
        };
        let fake = FakeProvider::new(ModelInfo::unknown("fake"))
            .with_response(script())
            .with_response(script());
        let plain = items(&fake, ask()).await;
        assert_eq!(plain.len(), 3, "{plain:?}");
        let deltas = ask().with_options(RequestOptions::new().with_tool_call_deltas(true));
        let streamed: Vec<ApiChunk> = items(&fake, deltas)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            streamed[..3],
            [
                ApiChunk::ToolCallDelta {
                    index: 0,
                    id: Some("c1".into()),
                    name: Some("write".into()),
                    arguments: "{\"a\":".into()
                },
                ApiChunk::ToolCallDelta {
                    index: 0,
                    id: None,
                    name: None,
                    arguments: "1}".into()
                },
                ApiChunk::ToolCall(ToolCall {
                    id: "c1".into(),
                    name: "write".into(),
                    arguments: "{\"a\":1}".into()
                }),
            ]
        );
        assert!(matches!(
            &streamed[3],
            ApiChunk::ToolCallDelta { index: 1, .. }
        ));
    }

    #[tokio::test]
    async fn an_error_mid_stream_ends_it_after_what_came_before() {
        let fake = FakeProvider::new(ModelInfo::unknown("fake")).with_response(
            ScriptedResponse::new()
                .text("partial")
                .error(Error::StreamInterrupted {
                    message: "reset".into(),
                })
                .text("never seen"),
        );
        let got = items(&fake, ask()).await;
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(matches!(&got[1], Err(Error::StreamInterrupted { .. })));
    }

    #[tokio::test(start_paused = true)]
    async fn delays_follow_tokios_clock_and_a_never_ending_stream_never_ends() {
        let fake = FakeProvider::new(ModelInfo::unknown("fake"))
            .with_response(
                ScriptedResponse::new()
                    .text("a")
                    .delay(Duration::from_secs(30))
                    .text("b")
                    .finish(FinishReason::Stop),
            )
            .with_response(ScriptedResponse::new().text("hello").never_end());
        let start = tokio::time::Instant::now();
        let mut stream = fake.create_message(ask());
        assert!(matches!(stream.next().await, Some(Ok(ApiChunk::Text(t))) if t == "a"));
        assert!(matches!(stream.next().await, Some(Ok(ApiChunk::Text(t))) if t == "b"));
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(30),
            "paused time advanced exactly"
        );

        let mut endless = fake.create_message(ask());
        assert!(endless.next().await.is_some());
        let waited = tokio::time::timeout(Duration::from_secs(3600), endless.next()).await;
        assert!(waited.is_err(), "the host's own timeout fires: {waited:?}");
    }
}
