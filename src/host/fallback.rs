//! [`FallbackProvider`]: one [`LlmProvider`] over an ordered list of them (Fireworks paths to
//! the same model, other models, other servers), going on with the next when one fails before
//! any output of the turn reached the host, and [`FallbackPolicy`], which errors do.

use std::fmt;
use std::sync::{Arc, Mutex};

use futures::{StreamExt, stream};

use crate::error::{Error, TimeoutKind};
use crate::host::{ApiChunk, ApiStream, ChatRequest, ContentBlock, LlmProvider, ModelInfo};

/// The longest [`ApiChunk::FallingBack`] reason, in bytes; a longer one is cut (at a character
/// boundary) and ends with `…`.
pub const FALLBACK_REASON_BYTES: usize = 300;

/// Which errors make a [`FallbackProvider`] go on with its next target.
///
/// The default ([`FallbackPolicy::can_help`]) falls through on errors another target can help
/// with, and on nothing that would fail everywhere; [`FallbackPolicy::with_context_window`]
/// adds context-window errors (for a next target with a larger window), and
/// [`FallbackPolicy::when`] puts any rule in its place.
#[derive(Clone)]
pub struct FallbackPolicy {
    rule: Arc<dyn Fn(&Error) -> bool + Send + Sync>,
}

impl FallbackPolicy {
    /// The policy whose rule is `falls_through`: `true` to go on with the next target. It is
    /// only asked about errors before any output of the turn.
    pub fn when(falls_through: impl Fn(&Error) -> bool + Send + Sync + 'static) -> Self {
        FallbackPolicy {
            rule: Arc::new(falls_through),
        }
    }

    /// The default rule: whether another target can help with `error`. Yes for rate limits
    /// and quotas ([`Error::RateLimited`]), server failures (5xx, 408, an error event:
    /// [`Error::Server`]), a first event or connection that did not come in time, connections
    /// that failed or broke ([`Error::Network`], [`Error::StreamInterrupted`]), a model or
    /// deployment that is not there ([`Error::ModelNotFound`]) or not ready
    /// ([`Error::NotReady`]), and an account that cannot pay ([`Error::PaymentRequired`], like a
    /// spent quota: another account or provider can take the turn). No for what would fail
    /// everywhere: a refused key ([`Error::Auth`]), a refused request
    /// ([`Error::InvalidRequest`], [`Error::InvalidConversation`], [`Error::Config`]), a
    /// redirect, a response that could not be decoded, and a prompt too long for the window.
    pub fn can_help(error: &Error) -> bool {
        match error {
            Error::RateLimited { .. }
            | Error::Server(_)
            | Error::Network { .. }
            | Error::StreamInterrupted { .. }
            | Error::ModelNotFound(_)
            | Error::NotReady(_)
            | Error::PaymentRequired(_) => true,
            Error::Timeout { kind, .. } => {
                matches!(kind, TimeoutKind::Connect | TimeoutKind::FirstEvent)
            }
            _ => false,
        }
    }

    /// The same policy, also falling through on [`Error::ContextWindowExceeded`] when
    /// `enabled` (for targets ordered by growing context window).
    pub fn with_context_window(self, enabled: bool) -> Self {
        if !enabled {
            return self;
        }
        let rule = self.rule;
        FallbackPolicy::when(move |error| {
            matches!(error, Error::ContextWindowExceeded { .. }) || rule(error)
        })
    }

    /// Whether the provider goes on with its next target after `error`.
    pub fn falls_through(&self, error: &Error) -> bool {
        (self.rule)(error)
    }
}

impl Default for FallbackPolicy {
    /// [`FallbackPolicy::can_help`].
    fn default() -> Self {
        FallbackPolicy::when(FallbackPolicy::can_help)
    }
}

impl fmt::Debug for FallbackPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FallbackPolicy").finish_non_exhaustive()
    }
}

/// An [`LlmProvider`] over an ordered list of targets, going on with the next when one fails
/// before any output. Its [`LlmProvider::model`] is the first target's; each turn's
/// [`Usage::model`](crate::Usage::model) says which model answered.
///
/// A turn goes to the first target. When its stream fails before any output (text, reasoning,
/// a tool call or its delta, usage, a finish reason; [`ApiChunk::Retrying`] and
/// [`ApiChunk::FallingBack`] are not output) and the [`FallbackPolicy`] says another target can
/// help, an [`ApiChunk::FallingBack`] announces the switch and the next target takes the turn.
/// Once output has reached the host, a failure ends the stream with its error, as it would from
/// the target alone. Each target keeps its own retries: the switch comes after them.
///
/// Reasoning is not carried across model families: the provider notes which targets answered
/// its turns, and a target of another family (or, when a family is unknown, another model id)
/// gets the conversation without its [`ContentBlock::Reasoning`] blocks. Before any turn has
/// been answered, the conversation's reasoning is taken to come from the first target.
///
/// The stream is lazy and owns the running target's stream: dropping it drops (and so cancels)
/// that stream, and no other target is tried.
///
/// ```no_run
/// use std::sync::Arc;
/// use fireworks_provider::{FallbackProvider, FireworksProvider, FireworksSettings, LlmProvider};
///
/// # fn build() -> Result<(), fireworks_provider::Error> {
/// let primary = FireworksProvider::new(FireworksSettings::from_env()?)?;
/// let fast = primary.with_model("accounts/fireworks/routers/kimi-k2p5-turbo")?;
/// let other = primary.with_model("accounts/fireworks/models/deepseek-v3p2")?;
/// let provider: Arc<dyn LlmProvider> =
///     Arc::new(FallbackProvider::new(vec![Arc::new(primary), Arc::new(fast), Arc::new(other)])?);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct FallbackProvider {
    targets: Arc<[Arc<dyn LlmProvider>]>,
    policy: FallbackPolicy,
    /// The targets (by index) that answered a turn so far: whose reasoning the conversation
    /// may hold. Empty: none yet, the first target's is assumed.
    answered: Arc<Mutex<Vec<usize>>>,
}

impl FallbackProvider {
    /// Tries `targets` in order, under the default [`FallbackPolicy`]. No target is an
    /// [`Error::Config`].
    pub fn new(targets: Vec<Arc<dyn LlmProvider>>) -> Result<Self, Error> {
        if targets.is_empty() {
            return Err(Error::Config(
                "a FallbackProvider needs at least one target".into(),
            ));
        }
        Ok(FallbackProvider {
            targets: targets.into(),
            policy: FallbackPolicy::default(),
            answered: Arc::default(),
        })
    }

    /// Sets which errors fall through to the next target.
    pub fn with_policy(mut self, policy: FallbackPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The targets, in the order they are tried.
    pub fn targets(&self) -> &[Arc<dyn LlmProvider>] {
        &self.targets
    }

    /// `request` as target `index` gets it: without reasoning when a target that answered
    /// before (the first, if none has) is not of the target's family.
    fn request_for(&self, index: usize, request: &ChatRequest) -> ChatRequest {
        let target = self.targets[index].model();
        let answered = self.answered.lock().unwrap_or_else(|p| p.into_inner());
        let authors: &[usize] = if answered.is_empty() { &[0] } else { &answered };
        let keeps_reasoning = authors
            .iter()
            .all(|author| same_family(self.targets[*author].model(), target));
        drop(answered);
        let mut request = request.clone();
        if !keeps_reasoning {
            for message in &mut request.messages {
                message
                    .content
                    .retain(|block| !matches!(block, ContentBlock::Reasoning { .. }));
            }
            // A message that held only reasoning would now be empty, which no server takes.
            request
                .messages
                .retain(|message| !message.content.is_empty());
        }
        request
    }

    /// Notes that target `index` answered a turn.
    fn note_answer(&self, index: usize) {
        let mut answered = self.answered.lock().unwrap_or_else(|p| p.into_inner());
        if !answered.contains(&index) {
            answered.push(index);
        }
    }
}

/// Whether reasoning `author` wrote may be sent to `target`: the same family when both are
/// known, else the same model id.
fn same_family(author: &ModelInfo, target: &ModelInfo) -> bool {
    match (&author.family, &target.family) {
        (Some(a), Some(b)) => a == b,
        _ => author.id == target.id,
    }
}

impl fmt::Debug for FallbackProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.targets.iter().map(|t| t.model().id.as_str()).collect();
        f.debug_struct("FallbackProvider")
            .field("targets", &ids)
            .field("policy", &self.policy)
            .finish()
    }
}

impl LlmProvider for FallbackProvider {
    fn model(&self) -> &ModelInfo {
        self.targets[0].model()
    }

    fn create_message(&self, request: ChatRequest) -> ApiStream {
        let turn = FallbackTurn {
            provider: self.clone(),
            request,
            target: 0,
            running: None,
            output_started: false,
            over: false,
        };
        Box::pin(stream::unfold(turn, |mut turn| async move {
            let item = turn.next().await?;
            Some((item, turn))
        }))
    }
}

/// One turn across the targets.
struct FallbackTurn {
    provider: FallbackProvider,
    request: ChatRequest,
    /// The target running (or to start).
    target: usize,
    /// Its stream, once started.
    running: Option<ApiStream>,
    /// Output of the turn has reached the host: no switching now.
    output_started: bool,
    /// The stream has ended.
    over: bool,
}

impl FallbackTurn {
    async fn next(&mut self) -> Option<Result<ApiChunk, Error>> {
        if self.over {
            return None;
        }
        let provider = &self.provider;
        let running = self.running.get_or_insert_with(|| {
            let request = provider.request_for(self.target, &self.request);
            provider.targets[self.target].create_message(request)
        });
        let item = running.next().await;
        match item {
            Some(Ok(mut chunk)) => {
                if !matches!(
                    chunk,
                    ApiChunk::Retrying { .. } | ApiChunk::FallingBack { .. }
                ) {
                    if !self.output_started {
                        self.output_started = true;
                        provider.note_answer(self.target);
                    }
                    if let ApiChunk::Usage(usage) = &mut chunk
                        && usage.model.is_none()
                    {
                        usage.model = Some(provider.targets[self.target].model().id.clone());
                    }
                }
                Some(Ok(chunk))
            }
            Some(Err(error)) => {
                let next = self.target + 1;
                if self.output_started
                    || next >= provider.targets.len()
                    || !provider.policy.falls_through(&error)
                {
                    self.over = true;
                    self.running = None;
                    return Some(Err(error));
                }
                let notice = ApiChunk::FallingBack {
                    from: provider.targets[self.target].model().id.clone(),
                    to: provider.targets[next].model().id.clone(),
                    reason: cut(error.to_string()),
                };
                tracing::warn!(?notice, "falling back");
                self.running = None;
                self.target = next;
                Some(Ok(notice))
            }
            None => {
                self.over = true;
                self.running = None;
                None
            }
        }
    }
}

/// `text` cut to [`FALLBACK_REASON_BYTES`] at a character boundary, marked with `…` when cut.
fn cut(mut text: String) -> String {
    if text.len() <= FALLBACK_REASON_BYTES {
        return text;
    }
    let mut end = FALLBACK_REASON_BYTES - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;
    use crate::host::fake::{FakeProvider, ScriptedResponse};
    use crate::host::{FinishReason, Message, Usage};
    use std::time::Duration;

    fn fake(id: &str, family: Option<&str>) -> Arc<FakeProvider> {
        let mut model = ModelInfo::unknown(id);
        model.family = family.map(str::to_owned);
        Arc::new(FakeProvider::new(model))
    }

    fn fallback(targets: &[&Arc<FakeProvider>]) -> FallbackProvider {
        let targets = targets
            .iter()
            .map(|t| Arc::clone(*t) as Arc<dyn LlmProvider>)
            .collect();
        FallbackProvider::new(targets).unwrap()
    }

    fn failing(error: Error) -> ScriptedResponse {
        ScriptedResponse::new().error(error)
    }

    fn overloaded() -> Error {
        Error::Server(ApiError::new(Some(503), "Service Overloaded"))
    }

    async fn run(
        provider: &FallbackProvider,
        request: ChatRequest,
    ) -> Vec<Result<ApiChunk, Error>> {
        provider.create_message(request).collect().await
    }

    fn ask() -> ChatRequest {
        ChatRequest::new("", vec![Message::user("q")])
    }

    #[tokio::test]
    async fn each_error_kind_falls_through_or_not_as_the_policy_says() {
        let cases: Vec<(Error, bool)> = vec![
            (overloaded(), true),
            (
                Error::RateLimited {
                    error: ApiError::new(Some(429), "slow down"),
                    retry_after: None,
                },
                true,
            ),
            (
                Error::ModelNotFound(ApiError::new(Some(404), "no model")),
                true,
            ),
            (
                Error::NotReady(ApiError::new(Some(412), "LoRA failed to load")),
                true,
            ),
            (
                Error::PaymentRequired(ApiError::new(Some(402), "add credits")),
                true,
            ),
            (
                Error::Timeout {
                    kind: TimeoutKind::FirstEvent,
                    after: Duration::from_secs(1),
                },
                true,
            ),
            (
                Error::Network {
                    message: "refused".into(),
                    source: None,
                },
                true,
            ),
            (Error::Auth(ApiError::new(Some(401), "bad key")), false),
            (Error::InvalidRequest(ApiError::new(Some(400), "no")), false),
            (Error::Config("bad".into()), false),
            (
                Error::ContextWindowExceeded {
                    error: ApiError::new(Some(400), "too long"),
                    prompt_tokens: None,
                    context_window: None,
                },
                false,
            ),
        ];
        for (error, falls) in cases {
            let label = error.to_string();
            let (a, b) = (fake("a", None), fake("b", None));
            a.push_response(failing(error));
            b.push_response(FakeProvider::answer("from b"));
            let items = run(&fallback(&[&a, &b]), ask()).await;
            assert_eq!(b.requests().len(), usize::from(falls), "{label}");
            if falls {
                assert!(
                    matches!(&items[0], Ok(ApiChunk::FallingBack { from, to, .. }) if from == "a" && to == "b"),
                    "{items:?}"
                );
            } else {
                assert!(matches!(items[..], [Err(_)]), "{label}: {items:?}");
            }
        }
    }

    #[tokio::test]
    async fn the_host_widens_the_policy_to_context_window_errors() {
        let (small, large) = (fake("small", None), fake("large", None));
        small.push_response(failing(Error::ContextWindowExceeded {
            error: ApiError::new(Some(400), "too long"),
            prompt_tokens: Some(200_000),
            context_window: Some(131_072),
        }));
        large.push_response(FakeProvider::answer("fits"));
        let provider = fallback(&[&small, &large])
            .with_policy(FallbackPolicy::default().with_context_window(true));
        let items = run(&provider, ask()).await;
        assert!(matches!(
            items.last(),
            Some(Ok(ApiChunk::Finish(FinishReason::Stop)))
        ));
        let never = fallback(&[&small, &large]).with_policy(FallbackPolicy::when(|_| false));
        small.push_response(failing(overloaded()));
        assert!(matches!(run(&never, ask()).await[..], [Err(_)]));
    }

    #[tokio::test]
    async fn output_then_failure_reaches_the_host_and_the_next_target_is_not_asked() {
        let (a, b) = (fake("a", None), fake("b", None));
        a.push_response(
            ScriptedResponse::new()
                .text("half an ans")
                .error(overloaded()),
        );
        b.push_response(FakeProvider::answer("never"));
        let items = run(&fallback(&[&a, &b]), ask()).await;
        assert!(
            matches!(&items[..], [Ok(ApiChunk::Text(_)), Err(Error::Server(_))]),
            "{items:?}"
        );
        assert!(b.requests().is_empty());
    }

    #[tokio::test]
    async fn usage_names_the_model_that_answered_and_the_last_error_ends_the_turn() {
        let (a, b, c) = (fake("a", None), fake("b", None), fake("c", None));
        a.push_response(failing(overloaded()));
        b.push_response(
            ScriptedResponse::new()
                .usage(Usage::new(5, 1))
                .finish(FinishReason::Stop),
        );
        let items = run(&fallback(&[&a, &b, &c]), ask()).await;
        let usage = items.iter().find_map(|i| match i {
            Ok(ApiChunk::Usage(u)) => Some(u.clone()),
            _ => None,
        });
        assert_eq!(usage.unwrap().model.as_deref(), Some("b"));
        assert!(c.requests().is_empty());
        // Every target failing: one announcement per switch, then the last error.
        for target in [&a, &b, &c] {
            target.push_response(failing(overloaded()));
        }
        let items = run(&fallback(&[&a, &b, &c]), ask()).await;
        assert_eq!(items.len(), 3, "{items:?}");
        assert!(matches!(items[2], Err(Error::Server(_))));
    }

    fn with_reasoning() -> ChatRequest {
        ChatRequest::new(
            "",
            vec![
                Message::user("q"),
                Message {
                    role: crate::host::Role::Assistant,
                    content: vec![
                        ContentBlock::Reasoning { text: "hm".into() },
                        ContentBlock::Text { text: "a".into() },
                    ],
                },
                Message::user("q2"),
            ],
        )
    }

    fn has_reasoning(request: &ChatRequest) -> bool {
        request
            .messages
            .iter()
            .flat_map(|m| &m.content)
            .any(|b| matches!(b, ContentBlock::Reasoning { .. }))
    }

    #[tokio::test]
    async fn reasoning_crosses_to_the_same_family_only() {
        let kimi = fake("kimi-a", Some("kimi"));
        let kimi_fast = fake("kimi-b", Some("kimi"));
        let deepseek = fake("deepseek", Some("deepseek"));
        let unknown = fake("unknown", None);
        for target in [&kimi, &kimi_fast, &deepseek] {
            target.push_response(failing(overloaded()));
        }
        unknown.push_response(FakeProvider::answer("ok"));
        let provider = fallback(&[&kimi, &kimi_fast, &deepseek, &unknown]);
        run(&provider, with_reasoning()).await;
        assert!(has_reasoning(&kimi.requests()[0]));
        assert!(has_reasoning(&kimi_fast.requests()[0]), "same family");
        assert!(!has_reasoning(&deepseek.requests()[0]), "another family");
        assert!(
            !has_reasoning(&unknown.requests()[0]),
            "family unknown, another id"
        );
        // The unknown target answered: its reasoning is not sent to the kimi ones now.
        kimi.push_response(FakeProvider::answer("ok"));
        run(&provider, with_reasoning()).await;
        assert!(!has_reasoning(&kimi.requests()[1]));
    }
}
