//! [`FakeProvider`], a test double for hosts: an [`LlmProvider`] that replays scripted chunks
//! and errors, with no HTTP, and records the requests it was given.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::error::Error;
use crate::provider::{ApiChunk, ApiStream, ChatRequest, FinishReason, LlmProvider, ModelInfo};

/// One scripted completion: the items its stream yields, in order.
pub type ScriptedResponse = Vec<Result<ApiChunk, Error>>;

/// An [`LlmProvider`] for a host's own tests: each [`LlmProvider::create_message`] call replays
/// the next scripted response.
///
/// ```
/// use fireworks_provider::{ApiChunk, ChatRequest, FakeProvider, LlmProvider, Message, ModelInfo};
/// use futures::StreamExt;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
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
    pub fn with_response(self, response: ScriptedResponse) -> Self {
        self.push_response(response);
        self
    }

    /// Queues a response for a later call.
    pub fn push_response(&self, response: ScriptedResponse) {
        self.responses
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push_back(response);
    }

    /// A plain answer: the text, then `Finish(Stop)`.
    pub fn answer(text: impl Into<String>) -> ScriptedResponse {
        vec![
            Ok(ApiChunk::Text(text.into())),
            Ok(ApiChunk::Finish(FinishReason::Stop)),
        ]
    }

    /// Every request received so far, oldest first.
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

    /// Replays the next scripted response; with none left, the stream is one
    /// [`Error::Config`] saying so.
    fn create_message(&self, request: ChatRequest) -> ApiStream {
        self.requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(request);
        let next = self
            .responses
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop_front();
        let items = next.unwrap_or_else(|| {
            vec![Err(Error::Config(
                "FakeProvider: no scripted response left for this request".into(),
            ))]
        });
        Box::pin(futures::stream::iter(items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Message;
    use futures::StreamExt;
    use std::sync::Arc;

    #[tokio::test]
    async fn replays_scripts_in_order_then_says_it_ran_out() {
        let fake: Arc<dyn LlmProvider> = Arc::new(
            FakeProvider::new(ModelInfo::unknown("fake"))
                .with_response(FakeProvider::answer("one"))
                .with_response(vec![Err(Error::StreamInterrupted {
                    message: "cut".into(),
                })]),
        );
        let ask = || ChatRequest::new("", vec![Message::user("q")]);
        let first: Vec<_> = fake.create_message(ask()).collect().await;
        assert!(matches!(&first[0], Ok(ApiChunk::Text(t)) if t == "one"));
        let second: Vec<_> = fake.create_message(ask()).collect().await;
        assert!(matches!(
            &second[..],
            [Err(Error::StreamInterrupted { .. })]
        ));
        let third: Vec<_> = fake.create_message(ask()).collect().await;
        assert!(
            matches!(&third[..], [Err(Error::Config(m))] if m.contains("no scripted response"))
        );
    }
}
