//! Sending one request through the [`Transport`] and checking its status: a non-2xx response
//! becomes a typed [`Error`] carrying the server's message, a redirect is refused, and transport
//! failures become network or timeout errors. Reading bodies happens here too, through one
//! reader ([`Body`]) with one rule: every read ends by a [`Deadline`] and every whole body has
//! a size limit.
//!
//! This is one attempt; retrying is the caller's business (see `retry`).

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use bytes::Bytes;
use futures::StreamExt;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_LENGTH, HeaderMap, HeaderValue, LOCATION};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::seam::{ByteStream, HttpRequest, Transport, TransportError, TransportErrorKind};
use super::server_report;
use crate::error::redact::Secrets;
use crate::error::{ApiError, Error, TimeoutKind, bounded};

/// The most of an error body that is read; the rest of a huge HTML page is of no use.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// The largest whole response body accepted from a non-streaming call (`list_models`,
/// embeddings): 64 MiB, room for a batch of 128 embeddings of 8192 dimensions written as JSON.
/// A larger body is an [`Error::Decode`] naming this limit.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// The provider's timeouts, built from the defaults with the `with_*` methods, for example
/// `Timeouts::default().with_idle(Duration::from_secs(60))`. There is deliberately none on a
/// whole stream: a long answer from a reasoning model can stream for many minutes.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Opening the TCP (and TLS) connection. Default 10 s: a healthy endpoint answers in well
    /// under a second.
    pub connect: Duration,
    /// From sending a streamed request to its first complete event, the response headers (and
    /// an error body, if the answer is one) included. Default 300 s: a long prompt is processed
    /// (prefill) before anything streams, and a loaded deployment queues requests; Fireworks
    /// itself gives up with a 429 when its own first-token deadline passes. Keep-alive comments
    /// do not count as an event.
    pub first_event: Duration,
    /// The longest a started stream may go without a complete event. Default 120 s: once the
    /// first event has come, tokens (reasoning included) flow continuously, so a healthy
    /// Fireworks stream is quiet for well under a second between events; a gap this long means
    /// a dead connection or a stuck server. Keep-alive comments (`: ping`, OpenRouter's
    /// `: OPENROUTER PROCESSING`) and the pieces of an unfinished event do not reset it: a
    /// server that only sends those is treated as quiet.
    pub idle: Duration,
    /// A whole non-streaming call (`list_models`, one batch of embeddings): sending, the
    /// headers and the whole body, per attempt. Default 120 s.
    pub non_streaming: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            first_event: Duration::from_secs(300),
            idle: Duration::from_secs(120),
            non_streaming: Duration::from_secs(120),
        }
    }
}

impl Timeouts {
    /// Sets [`Timeouts::connect`].
    pub fn with_connect(mut self, timeout: Duration) -> Self {
        self.connect = timeout;
        self
    }

    /// Sets [`Timeouts::first_event`].
    pub fn with_first_event(mut self, timeout: Duration) -> Self {
        self.first_event = timeout;
        self
    }

    /// Sets [`Timeouts::idle`].
    pub fn with_idle(mut self, timeout: Duration) -> Self {
        self.idle = timeout;
        self
    }

    /// Sets [`Timeouts::non_streaming`].
    pub fn with_non_streaming(mut self, timeout: Duration) -> Self {
        self.non_streaming = timeout;
        self
    }

    /// The configured length of the timeout `kind`.
    pub fn length(&self, kind: TimeoutKind) -> Duration {
        match kind {
            TimeoutKind::Connect => self.connect,
            TimeoutKind::FirstEvent => self.first_event,
            TimeoutKind::Idle => self.idle,
            TimeoutKind::NonStreaming => self.non_streaming,
        }
    }

    /// The deadline of `kind` counted from `start`.
    pub(crate) fn deadline(&self, kind: TimeoutKind, start: Instant) -> Deadline {
        Deadline {
            at: start + self.length(kind),
            kind,
        }
    }

    /// The error of the timeout `kind` having fired: the one place timeout errors are made.
    pub(crate) fn expired(&self, kind: TimeoutKind) -> Error {
        Error::Timeout {
            kind,
            after: self.length(kind),
        }
    }
}

/// The instant a wait must end by, and which timeout fires when it passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// The instant the wait must end by.
    pub at: Instant,
    /// Which timeout it stands for.
    pub kind: TimeoutKind,
}

/// A response whose status was a success: its head and its body.
#[derive(Debug)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Body,
}

/// A response body, read piece by piece; no read waits past its deadline, and no piece is
/// taken once the deadline has passed (a decompressing body never waits, so the clock is
/// looked at after every piece).
pub struct Body {
    stream: ByteStream,
    /// The length the response announced (`Content-Length`), to size a whole-body buffer.
    announced_length: Option<u64>,
    /// Cut out of the bytes the trace log shows.
    secrets: Secrets,
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Body")
    }
}

impl Body {
    /// The body read from `stream`, of the response whose headers are `headers`; its trace
    /// lines show no secret of `secrets`.
    pub fn new(stream: ByteStream, headers: &HeaderMap, secrets: &Secrets) -> Self {
        let announced_length = headers
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse().ok());
        Body {
            stream,
            announced_length,
            secrets: secrets.clone(),
        }
    }

    /// The next piece of the body, `None` once it has ended; [`Error::Timeout`] of the
    /// deadline's kind when nothing arrived by then (or a piece arrived after it),
    /// [`Error::Network`] when the connection failed.
    ///
    /// The clock is looked at after every piece as well as while waiting: a body that a client
    /// decompresses (the host's client, or reqwest built with `gzip` by another crate of the
    /// host's build) yields piece after piece without ever waiting, and would otherwise run
    /// past every deadline.
    pub async fn next(
        &mut self,
        deadline: Deadline,
        timeouts: &Timeouts,
    ) -> Result<Option<Bytes>, Error> {
        match tokio::time::timeout_at(deadline.at, self.stream.next()).await {
            Ok(Some(Ok(bytes))) => {
                tracing::trace!(
                    bytes = bytes.len(),
                    body = %self.secrets.scrubbed(&String::from_utf8_lossy(&bytes)),
                    "body read"
                );
                if Instant::now() >= deadline.at {
                    return Err(timeouts.expired(deadline.kind));
                }
                Ok(Some(bytes))
            }
            Ok(None) => Ok(None),
            Ok(Some(Err(err))) => Err(transport_error(err, timeouts)),
            Err(_) => Err(timeouts.expired(deadline.kind)),
        }
    }

    /// The next piece of the body if it is here already (`Some(Ok(None))`: the body has
    /// ended), without waiting; `None` when it is not here yet.
    pub fn next_if_ready(&mut self) -> Option<Result<Option<Bytes>, TransportError>> {
        futures::FutureExt::now_or_never(self.stream.next()).map(Option::transpose)
    }
}

/// How reading a whole body ended.
#[derive(Debug)]
enum BodyEnd {
    /// It ended properly.
    Complete,
    /// It is longer than the limit; only the limit was kept.
    TooLarge,
    /// The deadline passed or the connection failed.
    Failed(Error),
}

/// Reads a whole body until it ends, passes `max` bytes or `deadline` passes; returns what was
/// read (at most `max` bytes) and how it ended.
///
/// The buffer never holds more than `max` bytes of room: it is sized from `Content-Length` when
/// that is within `max`, and otherwise grows by doubling, but never past `max`.
async fn read_up_to(
    mut body: Body,
    deadline: Deadline,
    timeouts: &Timeouts,
    max: usize,
) -> (Vec<u8>, BodyEnd) {
    let announced = body
        .announced_length
        .and_then(|length| usize::try_from(length).ok());
    let mut bytes = Vec::with_capacity(announced.map_or(0, |length| length.min(max)));
    loop {
        match body.next(deadline, timeouts).await {
            Ok(Some(piece)) => {
                let kept = piece.len().min(max - bytes.len());
                reserve_within(&mut bytes, kept, max);
                bytes.extend_from_slice(&piece[..kept]);
                if kept < piece.len() {
                    return (bytes, BodyEnd::TooLarge);
                }
            }
            Ok(None) => return (bytes, BodyEnd::Complete),
            Err(error) => return (bytes, BodyEnd::Failed(error)),
        }
    }
}

/// Makes room in `bytes` for `additional` more, doubling its capacity as a `Vec` does, but never
/// past `max` (which `bytes.len() + additional` must not exceed).
fn reserve_within(bytes: &mut Vec<u8>, additional: usize, max: usize) {
    if bytes.capacity() - bytes.len() >= additional {
        return;
    }
    let capacity = bytes
        .capacity()
        .saturating_mul(2)
        .max(bytes.len() + additional)
        .min(max);
    bytes.reserve_exact(capacity - bytes.len());
}

/// Builds the `Authorization` header, marked sensitive so no debug output shows it.
pub fn bearer(api_key: &str) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::from_str(&format!("Bearer {api_key}")).map_err(|_| {
        Error::Config("api_key contains characters not allowed in an HTTP header".into())
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// A POST of a JSON body to `url` with `headers`.
pub fn post_json(url: String, mut headers: HeaderMap, body: Bytes) -> HttpRequest {
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let mut request = HttpRequest::new(Method::POST, url);
    request.headers = headers;
    request.body = body;
    request
}

/// A GET of `url` with `headers`.
pub fn get(url: String, headers: HeaderMap) -> HttpRequest {
    let mut request = HttpRequest::new(Method::GET, url);
    request.headers = headers;
    request
}

/// Sends `request` through `transport`, asking for an uncompressed answer, and returns the
/// response once its status is a success. The response head, and an error body, must arrive by
/// `deadline` (what of an error body arrived by then is used). A redirect is
/// [`Error::Redirected`], never followed.
pub async fn send(
    transport: &dyn Transport,
    request: HttpRequest,
    timeouts: &Timeouts,
    deadline: Deadline,
    secrets: &Secrets,
) -> Result<Response, Error> {
    // An event stream gains nothing from compression, and a compressed body is one a server
    // can inflate past every limit: ask for none, whatever transport sends the request.
    let mut request = request;
    request
        .headers
        .insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    let response = tokio::time::timeout_at(deadline.at, transport.send(request))
        .await
        .map_err(|_| timeouts.expired(deadline.kind))?
        .map_err(|err| transport_error(err, timeouts))?;
    let status = StatusCode::from_u16(response.status).map_err(|_| Error::Decode {
        message: format!(
            "the response status {} is not an HTTP status",
            response.status
        ),
    })?;
    let body = Body::new(response.body, &response.headers, secrets);
    if status.is_success() {
        return Ok(Response {
            status: status.as_u16(),
            headers: response.headers,
            body,
        });
    }
    if status.is_redirection() {
        let location = response
            .headers
            .get(LOCATION)
            .map_or_else(String::new, |value| {
                bounded(String::from_utf8_lossy(value.as_bytes()))
            });
        return Err(Error::Redirected {
            status: status.as_u16(),
            location,
        });
    }
    let body = error_body(body, deadline, timeouts).await;
    Err(error_for_status(status, &response.headers, &body))
}

/// An error document's text: what arrived by `deadline`, at most [`MAX_ERROR_BODY_BYTES`] of it.
async fn error_body(body: Body, deadline: Deadline, timeouts: &Timeouts) -> String {
    let (body, _) = read_up_to(body, deadline, timeouts, MAX_ERROR_BODY_BYTES).await;
    String::from_utf8_lossy(&body).into_owned()
}

/// A streaming response must be an event stream: a JSON body in its place (some servers answer
/// `200` with an error document) is read by `deadline` and reported as the server's error.
pub async fn expect_event_stream(
    response: Response,
    timeouts: &Timeouts,
    deadline: Deadline,
) -> Result<Response, Error> {
    let is_json = response
        .headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !is_json {
        return Ok(response);
    }
    let status = response.status;
    let header_id = request_id(&response.headers);
    let body = error_body(response.body, deadline, timeouts).await;
    let mut error = ApiError::from_body(Some(status), &body);
    error.request_id = error.request_id.or(header_id);
    error.message = format!("expected an event stream, got JSON: {}", error.message);
    Err(Error::Server(error))
}

/// Reads a whole (successful) response body by `deadline`, at most [`MAX_RESPONSE_BYTES`].
pub async fn read_body(
    response: Response,
    timeouts: &Timeouts,
    deadline: Deadline,
) -> Result<Vec<u8>, Error> {
    match read_up_to(response.body, deadline, timeouts, MAX_RESPONSE_BYTES).await {
        (body, BodyEnd::Complete) => Ok(body),
        (_, BodyEnd::TooLarge) => Err(Error::Decode {
            message: format!(
                "the response is larger than {MAX_RESPONSE_BYTES} bytes (MAX_RESPONSE_BYTES)"
            ),
        }),
        (_, BodyEnd::Failed(error)) => Err(error),
    }
}

/// Reads what is left of a finished response for at most `wait` and a few KiB (normally just
/// the end of the chunked encoding, already on its way), so that its connection goes back to
/// the pool instead of being closed; gives up quietly otherwise.
pub async fn drain(body: Body, timeouts: Timeouts, wait: Duration) {
    const MAX_DRAINED_BYTES: usize = 16 * 1024;
    // Nobody sees this deadline's error: a drain that runs out of time just stops.
    let deadline = Deadline {
        at: Instant::now() + wait,
        kind: TimeoutKind::Idle,
    };
    let _ = read_up_to(body, deadline, &timeouts, MAX_DRAINED_BYTES).await;
}

/// The response headers that carry the server's id of the request, in the order they are
/// read: `x-request-id` (OpenAI's, and vLLM's with `--enable-request-id-headers`).
pub const REQUEST_ID_HEADERS: [&str; 1] = ["x-request-id"];

/// The request id a response's headers carry ([`REQUEST_ID_HEADERS`]), bounded like every
/// server text an error keeps; `None` when absent or blank.
pub fn request_id(headers: &HeaderMap) -> Option<String> {
    REQUEST_ID_HEADERS.iter().find_map(|name| {
        let value = headers.get(*name)?;
        let text = String::from_utf8_lossy(value.as_bytes());
        let text = text.trim();
        (!text.is_empty()).then(|| bounded(text))
    })
}

/// Maps a failed response to its [`Error`] variant. The request id comes from the body, else
/// from the headers.
pub fn error_for_status(status: StatusCode, headers: &HeaderMap, body: &str) -> Error {
    let parsed = serde_json::from_str::<Value>(body).ok();
    let mut error = ApiError::from_parsed_body(Some(status.as_u16()), body, parsed.as_ref());
    if error.request_id.is_none() {
        error.request_id = request_id(headers);
    }
    if let Some(limits) = server_report::rate_limits(headers) {
        error = error.with_rate_limits(limits);
    }
    match status.as_u16() {
        401 | 403 if says_model_missing(&error.message) => Error::ModelNotFound(error),
        401 | 403 => Error::Auth(error),
        404 => Error::ModelNotFound(error),
        402 => Error::PaymentRequired(error),
        412 => Error::NotReady(error),
        429 => Error::RateLimited {
            retry_after: retry_after(headers, SystemTime::now()),
            error,
        },
        400 | 413 => match context_overflow(parsed.as_ref(), &error.message) {
            Some((prompt_tokens, context_window)) => Error::ContextWindowExceeded {
                error,
                prompt_tokens,
                context_window,
            },
            None => Error::InvalidRequest(error),
        },
        408 | 500..=599 => Error::Server(error),
        _ => Error::InvalidRequest(error),
    }
}

fn says_model_missing(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("model")
        && [
            "not found",
            "not deployed",
            "does not exist",
            "inaccessible",
        ]
        .iter()
        .any(|pattern| message.contains(pattern))
}

/// Error codes and types that say the prompt does not fit the context window: OpenAI's
/// `code` and llama.cpp's `type`.
const CONTEXT_CODES: &[&str] = &["context_length_exceeded", "exceed_context_size_error"];

/// The phrasings servers use for a prompt that does not fit the context window, for errors
/// that carry no such code.
const CONTEXT_PATTERNS: &[&str] = &[
    "prompt is too long",
    "maximum context length",
    "context length",
    "context window",
    "context_length_exceeded",
    "tokens exceed",
    "too many tokens",
    "input is too long",
];

/// Whether a 400 or 413 says the prompt does not fit, and if so the prompt's size and the
/// context window in tokens where given. The error's `code` / `type` decide first, then the
/// message; the numbers come from structured fields first (llama.cpp's `n_prompt_tokens` and
/// `n_ctx`), then from the message.
fn context_overflow(parsed: Option<&Value>, message: &str) -> Option<(Option<u64>, Option<u64>)> {
    let details = parsed.map(|value| match value.get("error") {
        Some(error) if error.is_object() => error,
        _ => value,
    });
    let field = |name: &str| details.and_then(|details| details.get(name));
    let coded = ["code", "type"]
        .iter()
        .filter_map(|name| field(name)?.as_str())
        .any(|code| CONTEXT_CODES.contains(&code));
    if !coded && !says_context_exceeded(message) {
        return None;
    }
    let (prompt, window) = context_numbers(message);
    let number = |name: &str| field(name).and_then(Value::as_u64);
    Some((
        number("n_prompt_tokens").or(prompt),
        number("n_ctx").or(window),
    ))
}

fn says_context_exceeded(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    CONTEXT_PATTERNS
        .iter()
        .any(|pattern| message.contains(pattern))
}

/// The prompt size and the context window from the message, by what each number follows:
/// "The prompt is too long: 40177, model maximum context length: 32767", or "This model's
/// maximum context length is 32768 tokens. However, you requested 40000 tokens (39000 in the
/// messages, 1000 in the completion)". A number after words about the maximum, the context or a
/// limit is the window; a number followed by "in the messages" (or "in the prompt") is the
/// prompt, else the first other one is (the total requested includes the output).
fn context_numbers(message: &str) -> (Option<u64>, Option<u64>) {
    let lower = message.to_ascii_lowercase();
    let (mut prompt, mut requested, mut window) = (None, None, None);
    let mut label_start = 0;
    let mut rest = lower.as_str();
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        let digits = rest[start..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(rest.len(), |end| start + end);
        let offset = lower.len() - rest.len();
        let label = &lower[label_start..offset + start];
        let after = rest[digits..].trim_start();
        if let Ok(number) = rest[start..digits].parse::<u64>()
            && digits - start >= 3
        {
            let is_window = ["maximum", "context", "limit", "window"]
                .iter()
                .any(|word| label.contains(word));
            let is_prompt = ["in the messages", "in the prompt"]
                .iter()
                .any(|words| after.starts_with(words));
            if is_prompt {
                prompt = prompt.or(Some(number));
            } else if is_window {
                window = window.or(Some(number));
            } else {
                requested = requested.or(Some(number));
            }
        }
        label_start = offset + digits;
        rest = &rest[digits..];
    }
    (prompt.or(requested), window)
}

/// `retry-after-ms`, else `retry-after` as seconds or as an HTTP date (relative to `now`). A
/// negative value or a date already past gives no wait (`None`), as does anything unreadable.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| headers.get(name)?.to_str().ok().map(str::trim);
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return Duration::try_from_secs_f64(ms / 1000.0).ok();
    }
    let value = text("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let at = httpdate::parse_http_date(value).ok()?;
    at.duration_since(now).ok()
}

/// A transport failure: a connect timeout is the connect [`Error::Timeout`], anything else a
/// network error.
pub fn transport_error(err: TransportError, timeouts: &Timeouts) -> Error {
    if err.kind() == TransportErrorKind::ConnectTimeout {
        return timeouts.expired(TimeoutKind::Connect);
    }
    network_error(err)
}

/// A transport failure as [`Error::Network`]: one sentence saying what failed and its deepest
/// cause ("could not connect to 127.0.0.1:9: Connection refused (os error 111)"), bounded like
/// every message an error keeps, with the transport's error (and its whole chain) as the
/// source.
fn network_error(err: TransportError) -> Error {
    let mut deepest: &dyn std::error::Error = &err;
    while let Some(cause) = deepest.source() {
        deepest = cause;
    }
    let message = if std::ptr::addr_eq(deepest, &err) {
        err.to_string()
    } else {
        format!("{err}: {deepest}")
    };
    Error::Network {
        message: bounded(message),
        source: Some(Box::new(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn retry_after_in_every_form() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            retry_after(&headers(&[("retry-after", "2")]), now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after(
                &headers(&[("retry-after-ms", "1500"), ("retry-after", "9")]),
                now
            ),
            Some(Duration::from_millis(1500))
        );
        let in_ten = httpdate::fmt_http_date(now + Duration::from_secs(10));
        assert_eq!(
            retry_after(&headers(&[("retry-after", &in_ten)]), now),
            Some(Duration::from_secs(10))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(10));
        assert_eq!(
            retry_after(&headers(&[("retry-after", &past)]), now),
            None,
            "a past date gives no wait, not a zero one"
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "-3")]), now), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
        // Absurd or negative values are ignored, never a panic.
        assert_eq!(retry_after(&headers(&[("retry-after", "1e20")]), now), None);
        assert_eq!(
            retry_after(&headers(&[("retry-after-ms", "-5")]), now),
            None
        );
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn context_numbers_are_read_from_the_message() {
        assert_eq!(
            context_numbers("The prompt is too long: 40177, model maximum context length: 32767"),
            (Some(40177), Some(32767))
        );
        assert_eq!(
            context_numbers(
                "This model's maximum context length is 32768 tokens. However, you requested \
                 40000 tokens (39000 in the messages, 1000 in the completion)."
            ),
            (Some(39000), Some(32768)),
            "the prompt, not the prompt plus the requested output"
        );
        assert_eq!(
            context_numbers(
                "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens."
            ),
            (Some(9000), Some(8192))
        );
        assert_eq!(
            context_numbers(
                "request (30025 tokens) exceeds the available context size (4096 tokens), try increasing it"
            ),
            (Some(30025), Some(4096))
        );
        assert_eq!(context_numbers("too many tokens"), (None, None));
    }

    #[test]
    fn context_errors_are_told_by_code_first_and_numbers_taken_from_fields() {
        let classify = |body: &str| {
            let parsed = serde_json::from_str::<Value>(body).ok();
            let message = ApiError::from_parsed_body(Some(400), body, parsed.as_ref()).message;
            context_overflow(parsed.as_ref(), &message)
        };
        assert_eq!(
            classify(
                r#"{"error":{"code":"context_length_exceeded","message":"Please shorten it."}}"#
            ),
            Some((None, None))
        );
        assert_eq!(
            classify(
                r#"{"error":{"code":400,"type":"exceed_context_size_error","message":"too big","n_prompt_tokens":30025,"n_ctx":4096}}"#
            ),
            Some((Some(30025), Some(4096)))
        );
        assert_eq!(
            classify(
                r#"{"error":{"code":"invalid_request_error","message":"temperature must be at most 2"}}"#
            ),
            None
        );
        assert_eq!(classify("prompt is too long"), Some((None, None)));
    }

    #[test]
    fn each_timeout_kind_has_one_length_and_one_error() {
        let timeouts = Timeouts::default();
        for kind in [
            TimeoutKind::Connect,
            TimeoutKind::FirstEvent,
            TimeoutKind::Idle,
            TimeoutKind::NonStreaming,
        ] {
            let start = Instant::now();
            assert_eq!(
                timeouts.deadline(kind, start).at,
                start + timeouts.length(kind)
            );
            assert!(
                matches!(timeouts.expired(kind), Error::Timeout { kind: k, after } if k == kind && after == timeouts.length(kind))
            );
        }
    }

    #[test]
    fn a_growing_body_buffer_doubles_but_never_past_its_cap() {
        let max = 100;
        let mut bytes = Vec::new();
        for piece in [8, 8, 20, 30, 30] {
            reserve_within(&mut bytes, piece, max);
            bytes.extend(std::iter::repeat_n(0u8, piece));
            assert!(bytes.capacity() <= max, "{}", bytes.capacity());
        }
        assert_eq!(bytes.len(), 96);
    }

    #[test]
    fn bearer_header_is_sensitive_and_hidden() {
        let value = bearer("fw_secret").unwrap();
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("fw_secret"));
        assert!(matches!(bearer("bad\nkey"), Err(Error::Config(_))));
    }
}
