//! The crate's one error type, [`Error`], and [`ApiError`], what the server said when it refused.
//!
//! Errors answer the questions a host asks of them: which HTTP status ([`Error::status`]),
//! whether sending again may help ([`Error::is_retryable`]) and after how long
//! ([`Error::retry_after`]). No variant ever carries the API key or a request header, and no
//! message kept in an error is longer than [`MAX_MESSAGE_BYTES`] (each goes through `bounded`):
//! a server can send megabytes of error text, a host's log line stays small.

use std::fmt;
use std::time::Duration;

pub(crate) mod classify;
mod rate_limits;
pub(crate) mod redact;

pub use rate_limits::RateLimits;
pub use redact::REDACTED;

/// The longest message (server text, quoted data, a transport failure) an error keeps; a longer
/// one is cut there and ends with `… (cut from N bytes)`, N its original length.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024;

/// What a cut message ends with, before its original length.
pub(crate) const CUT_MARK: &str = "… (cut from ";

/// `text` as an error keeps it: at most [`MAX_MESSAGE_BYTES`] (cut at a character boundary),
/// and when cut, marked with an ellipsis and the original length, e.g.
/// `"xxxx… (cut from 10485760 bytes)"`. Every message an error carries goes through here.
pub(crate) fn bounded(text: impl Into<String>) -> String {
    let mut text = text.into();
    if text.len() <= MAX_MESSAGE_BYTES {
        return text;
    }
    let original = text.len();
    let mut cut = MAX_MESSAGE_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.push_str(&format!("{CUT_MARK}{original} bytes)"));
    text
}

/// What the server said when it refused a request or failed a stream. Hosts that script errors
/// (for [`FakeProvider`](crate::FakeProvider)) build one with [`ApiError::new`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status; `None` for an error event inside a `200` stream.
    pub status: Option<u16>,
    /// The server's message (or the raw body when it had none).
    pub message: String,
    /// The server's error code (`"NOT_FOUND"`, `"invalid_request_error"`, `"401"`, ...).
    pub code: Option<String>,
    /// The server's request id, for support tickets: from the error body, else from the
    /// response's `x-request-id` header.
    pub request_id: Option<String>,
    /// What an error rarely carries: the model id sent ([`ApiError::model`]) and the rate
    /// limits ([`ApiError::rate_limits`]). Behind one thin pointer, so that every
    /// `Result<_, Error>` stays as small as before them.
    pub(crate) details: Option<Box<Details>>,
}

/// The rarely set parts of an [`ApiError`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Details {
    model: Option<String>,
    rate_limits: Option<RateLimits>,
}

impl ApiError {
    /// An error with this status (`None` for an error event inside a stream) and message, no
    /// code and no request id.
    pub fn new(status: Option<u16>, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: bounded(message.into()),
            code: None,
            request_id: None,
            details: None,
        }
    }

    /// Sets [`ApiError::code`].
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(bounded(code.into()));
        self
    }

    /// Sets [`ApiError::request_id`].
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(bounded(id.into()));
        self
    }

    /// Sets [`ApiError::model`].
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.details.get_or_insert_default().model = Some(bounded(model.into()));
        self
    }

    /// Sets [`ApiError::rate_limits`].
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Self {
        self.details.get_or_insert_default().rate_limits = Some(limits);
        self
    }

    /// What the failed response's `x-ratelimit-*` headers said of the account's limits, when
    /// it carried any (every HTTP error the provider reads, [`Error::RateLimited`] above all).
    pub fn rate_limits(&self) -> Option<&RateLimits> {
        self.details.as_ref()?.rate_limits.as_ref()
    }

    /// The model id the request sent, on errors about the model ([`Error::ModelNotFound`]
    /// from the provider).
    pub fn model(&self) -> Option<&str> {
        self.details.as_ref()?.model.as_deref()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(status) = self.status {
            write!(f, "HTTP {status}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

/// Which of the provider's timeouts fired (see [`Timeouts`](crate::Timeouts)).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutKind {
    /// Opening the connection took too long.
    Connect,
    /// The server accepted the request but sent no complete event in time (an error body
    /// that did not arrive in time counts too).
    FirstEvent,
    /// No complete event arrived for the idle timeout after the last one. Keep-alive comments
    /// and pieces of an unfinished event do not count as events.
    Idle,
    /// A whole non-streaming call (`list_models`, embeddings) took too long.
    NonStreaming,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Connect => "connecting to the server",
            TimeoutKind::FirstEvent => "waiting for the first event",
            TimeoutKind::Idle => "waiting for the next event",
            TimeoutKind::NonStreaming => "waiting for the whole response",
        })
    }
}

/// An underlying error kept as an [`Error`]'s source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong, from settings to the last byte of a stream.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is wrong; nothing was sent.
    #[error("configuration error: {0}")]
    Config(String),
    /// The request was refused before sending (see [`ChatRequest::validate`]).
    ///
    /// [`ChatRequest::validate`]: crate::ChatRequest::validate
    #[error("{}", refusal(*message_index, rule))]
    InvalidConversation {
        /// The message to blame, counting from 0 (the system prompt is not a message); `None`
        /// when the rule is about the request as a whole (its options, its tools).
        message_index: Option<usize>,
        /// The rule the request breaks.
        rule: String,
    },
    /// The key was refused (401, or 403 for a reason other than an unknown model).
    #[error("authentication failed: {0}")]
    Auth(ApiError),
    /// The model id is unknown, inaccessible or not deployed (404, or 403 saying so). The
    /// message names the model id as sent ([`ApiError::model`]).
    #[error("{}", model_not_found(.0))]
    ModelNotFound(ApiError),
    /// Too many requests, or the account is over its quota (429).
    #[error("rate limited: {error}")]
    RateLimited {
        /// What the server said.
        error: ApiError,
        /// How long the server asked us to wait.
        retry_after: Option<Duration>,
    },
    /// The prompt does not fit the model's context window: truncate the history and resend.
    #[error("context window exceeded: {error}")]
    ContextWindowExceeded {
        /// What the server said.
        error: ApiError,
        /// The prompt's size in tokens, when the message gives it.
        prompt_tokens: Option<u64>,
        /// The model's context window in tokens, when the message gives it.
        context_window: Option<u64>,
    },
    /// The server refused the request as it stands (other 4xx: 400, 413, 422...).
    #[error("request rejected: {0}")]
    InvalidRequest(ApiError),
    /// The account cannot pay for the request (402): its credits or billing need attention.
    /// Sending again does not help until they are fixed; another account or provider may.
    #[error("payment required: {0}")]
    PaymentRequired(ApiError),
    /// The server cannot serve the request yet or now (412): the deployment or LoRA adapter
    /// is not ready (still loading, or it failed to load), or the account is suspended. Not
    /// retried: a deployment may take minutes to become ready, and a suspended account does
    /// not recover by waiting. A [`FallbackProvider`](crate::FallbackProvider) goes on with its
    /// next target.
    #[error("not ready to serve: {0}")]
    NotReady(ApiError),
    /// The server failed (408, 5xx, 520) or sent an error event inside the stream.
    #[error("server error: {0}")]
    Server(ApiError),
    /// The server answered with a redirect (3xx). Redirects are never followed: the
    /// conversation (and its headers) goes only to the configured origin. Fix the base URL.
    #[error("the server redirected (HTTP {status}) to {location:?}; redirects are not followed")]
    Redirected {
        /// The HTTP status (301, 302, 303, 307, 308...).
        status: u16,
        /// The `Location` it pointed to, as sent (empty when there was none).
        location: String,
    },
    /// The connection could not be made or broke before the response began.
    #[error("network error: {message}")]
    Network {
        /// What failed, in one sentence ending with the deepest cause ("could not connect to
        /// 127.0.0.1:8080: Connection refused (os error 111)"), without any header.
        message: String,
        /// The transport's own error, whose `source()` chain holds every cause; reachable
        /// through [`std::error::Error::source`] on this error.
        #[source]
        source: Option<BoxError>,
    },
    /// One of the provider's timeouts fired.
    #[error("timed out after {after:?} {kind}")]
    Timeout {
        /// Which timeout.
        kind: TimeoutKind,
        /// Its configured length.
        after: Duration,
    },
    /// The stream broke off before it completed; everything received before was delivered.
    #[error("stream interrupted: {message}")]
    StreamInterrupted {
        /// What was seen last.
        message: String,
    },
    /// The server sent something that is not what the protocol allows.
    #[error("could not decode the response: {message}")]
    Decode {
        /// What was wrong, and where.
        message: String,
        /// The parser's own error, where one failed (serde_json's, with its line and column).
        #[source]
        source: Option<BoxError>,
    },
    /// A request could not be encoded as JSON (a host value serde_json cannot write); nothing
    /// was sent.
    #[error("could not encode the request: {message}")]
    Encode {
        /// What could not be encoded.
        message: String,
        /// serde_json's error.
        #[source]
        source: serde_json::Error,
    },
    /// A [`FakeProvider`](crate::FakeProvider) was asked for more responses than its script
    /// holds: a host test's script is too short.
    #[error("FakeProvider: no scripted response left for request {request}")]
    FakeScriptExhausted {
        /// The request that found the script empty, counting from 1.
        request: usize,
    },
}

impl Error {
    /// The HTTP status, where there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Redirected { status, .. } => Some(*status),
            _ => self.api_error().and_then(|error| error.status),
        }
    }

    /// What the server said, for the errors that come from the server.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Auth(error)
            | Error::ModelNotFound(error)
            | Error::InvalidRequest(error)
            | Error::PaymentRequired(error)
            | Error::NotReady(error)
            | Error::Server(error)
            | Error::RateLimited { error, .. }
            | Error::ContextWindowExceeded { error, .. } => Some(error),
            _ => None,
        }
    }

    /// What the failed response's `x-ratelimit-*` headers said of the account's limits: on
    /// [`Error::RateLimited`], and on any other error from an HTTP response that carried them.
    pub fn rate_limits(&self) -> Option<&RateLimits> {
        self.api_error().and_then(ApiError::rate_limits)
    }

    /// Whether sending the same request again may succeed: rate limits (unless the quota is
    /// exhausted), 408 and 5xx (but 501 and 505, which will not change), network failures, and
    /// timeouts before the first event. Not a payment required ([`Error::PaymentRequired`]) nor
    /// a deployment that is not ready ([`Error::NotReady`]): neither clears within a retry's
    /// wait.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::RateLimited { error, .. } => !classify::says_quota_exhausted(&error.message),
            Error::Server(error) => {
                matches!(error.status, Some(408 | 500..=599))
                    && !matches!(error.status, Some(501 | 505))
            }
            Error::Network { .. } => true,
            Error::Timeout { kind, .. } => *kind != TimeoutKind::Idle,
            _ => false,
        }
    }

    /// How long the server asked us to wait before sending again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl Error {
    /// The underlying error this one keeps, for rewriting.
    pub(crate) fn source_mut(&mut self) -> Option<&mut BoxError> {
        match self {
            Error::Network { source, .. } | Error::Decode { source, .. } => source.as_mut(),
            _ => None,
        }
    }

    /// Calls `f` on every text the error holds (messages, codes, request ids, locations), so
    /// that none is missed when they are rewritten.
    pub(crate) fn for_each_text(&mut self, mut f: impl FnMut(&mut String)) {
        match self {
            Error::Config(text)
            | Error::InvalidConversation { rule: text, .. }
            | Error::Redirected { location: text, .. }
            | Error::Network { message: text, .. }
            | Error::StreamInterrupted { message: text }
            | Error::Decode { message: text, .. }
            | Error::Encode { message: text, .. } => f(text),
            Error::Auth(error)
            | Error::ModelNotFound(error)
            | Error::InvalidRequest(error)
            | Error::PaymentRequired(error)
            | Error::NotReady(error)
            | Error::Server(error)
            | Error::RateLimited { error, .. }
            | Error::ContextWindowExceeded { error, .. } => {
                f(&mut error.message);
                error.code.iter_mut().for_each(&mut f);
                error.request_id.iter_mut().for_each(&mut f);
            }
            Error::Timeout { .. } | Error::FakeScriptExhausted { .. } => {}
        }
    }
}

fn model_not_found(error: &ApiError) -> String {
    match error.model() {
        Some(model) => format!("model {model:?} not found: {error}"),
        None => format!("model not found: {error}"),
    }
}

fn refusal(message_index: Option<usize>, rule: &str) -> String {
    match message_index {
        Some(index) => format!("request refused before sending: message {index}: {rule}"),
        None => format!("request refused before sending: {rule}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_are_retryable_unless_they_cannot_change() {
        let server = |status| {
            Error::Server(ApiError {
                status: Some(status),
                message: "x".into(),
                code: None,
                request_id: None,
                details: None,
            })
        };
        for status in [408, 500, 502, 503, 504, 520, 522, 529] {
            assert!(server(status).is_retryable(), "{status}");
        }
        for status in [501, 505] {
            assert!(!server(status).is_retryable(), "{status}");
        }
    }

    #[test]
    fn raw_bodies_are_trimmed_and_capped() {
        let page = format!("  <html>{}</html>\n", "x".repeat(20_000));
        let error = ApiError::from_body(Some(502), &page);
        assert!(error.message.starts_with("<html>xxx"));
        assert!(
            error.message.ends_with("… (cut from 20013 bytes)"),
            "{}",
            &error.message[4000..]
        );
        assert_eq!(
            ApiError::from_body(Some(503), " ").message,
            "HTTP 503 with an empty body"
        );
    }

    #[test]
    fn bounded_cuts_at_a_character_boundary_and_says_so() {
        assert_eq!(bounded("short"), "short");
        let exact = "a".repeat(MAX_MESSAGE_BYTES);
        assert_eq!(bounded(exact.clone()), exact);
        // A three-byte character straddles the limit: the cut falls before it.
        let text = format!("{}€€", "a".repeat(MAX_MESSAGE_BYTES - 1));
        let cut = bounded(text.clone());
        assert_eq!(
            cut,
            format!(
                "{}… (cut from {} bytes)",
                "a".repeat(MAX_MESSAGE_BYTES - 1),
                text.len()
            )
        );
    }

    #[test]
    fn error_fields_from_the_server_are_bounded() {
        let huge = "m".repeat(1 << 20);
        let body =
            serde_json::json!({"error": {"message": huge, "code": huge}, "request_id": huge});
        let error = ApiError::from_body(Some(500), &body.to_string());
        for field in [
            &error.message,
            error.code.as_ref().unwrap(),
            error.request_id.as_ref().unwrap(),
        ] {
            assert!(field.len() < MAX_MESSAGE_BYTES + 64, "{}", field.len());
        }
    }

    #[test]
    fn a_top_level_error_object_is_read() {
        let body = r#"{"object":"error","message":"This model's maximum context length is 8 tokens","type":"BadRequestError","code":400}"#;
        let error = ApiError::from_body(Some(400), body);
        assert_eq!(
            error.message,
            "This model's maximum context length is 8 tokens"
        );
    }
}
