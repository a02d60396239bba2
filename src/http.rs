//! Sending one request and checking its status: a non-2xx response becomes a typed [`Error`]
//! carrying the server's message, and transport failures become network or timeout errors.
//!
//! This is one attempt; retrying is the caller's business (see `retry`).

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{Client, RequestBuilder, Response, StatusCode};

use crate::error::{ApiError, Error, TimeoutKind};

/// The most of an error body that is read; the rest of a huge HTML page is of no use.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// The provider's timeouts. There is deliberately none on the whole body: a long answer from a
/// reasoning model can stream for many minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Opening the TCP (and TLS) connection. Default 10 s: a healthy endpoint answers in well
    /// under a second.
    pub connect: Duration,
    /// From sending the request to the first event. Default 300 s: a long prompt is processed
    /// before anything streams, and a loaded deployment queues requests; Fireworks itself gives
    /// up with a 429 when its own first-token deadline passes.
    pub first_event: Duration,
    /// Between two reads of the body once it has started. Default 120 s: tokens (reasoning
    /// included) stream continuously, so a gap this long means a dead connection.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            first_event: Duration::from_secs(300),
            idle: Duration::from_secs(120),
        }
    }
}

/// Builds the `Authorization` header, marked sensitive so no debug output shows it.
pub fn bearer(api_key: &str) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::from_str(&format!("Bearer {api_key}")).map_err(|_| {
        Error::Config("api_key contains characters not allowed in an HTTP header".into())
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// A POST of a JSON body.
pub fn post_json(client: &Client, url: &str, body: Bytes) -> RequestBuilder {
    client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
}

/// Sends `request` with the key and returns the response once its status is a success. The
/// wait for the response headers must end by `deadline` (the first-event timeout); an error
/// body is read with the idle timeout between reads, and what arrived by then is used.
pub async fn send(
    request: RequestBuilder,
    auth: &HeaderValue,
    timeouts: &Timeouts,
    deadline: Instant,
) -> Result<Response, Error> {
    let sending = request.header(AUTHORIZATION, auth.clone()).send();
    let response = tokio::time::timeout_at(deadline, sending)
        .await
        .map_err(|_| Error::Timeout {
            kind: TimeoutKind::FirstEvent,
            after: timeouts.first_event,
        })?
        .map_err(|err| transport_error(err, timeouts))?;
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let headers = response.headers().clone();
    let (body, _) = read_limited(response, timeouts.idle, MAX_ERROR_BODY_BYTES).await;
    Err(error_for_status(
        status,
        &headers,
        &String::from_utf8_lossy(&body),
    ))
}

/// A streaming response must be an event stream: a JSON body in its place (some servers answer
/// `200` with an error document) is read and reported as the server's error.
pub async fn expect_event_stream(
    response: Response,
    timeouts: &Timeouts,
) -> Result<Response, Error> {
    let is_json = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !is_json {
        return Ok(response);
    }
    let status = response.status().as_u16();
    let (body, _) = read_limited(response, timeouts.idle, MAX_ERROR_BODY_BYTES).await;
    let mut error = ApiError::from_body(Some(status), &String::from_utf8_lossy(&body));
    error.message = format!("expected an event stream, got JSON: {}", error.message);
    Err(Error::Server(error))
}

/// Reads a whole (successful) response body, with the idle timeout between reads.
pub async fn read_body(response: Response, timeouts: &Timeouts) -> Result<Vec<u8>, Error> {
    match read_limited(response, timeouts.idle, usize::MAX).await {
        (body, None) => Ok(body),
        (_, Some(error)) => Err(error),
    }
}

/// Reads a body up to `max` bytes, giving up when a read takes longer than `idle`; returns what
/// was read and, when the body did not end properly, why.
async fn read_limited(
    mut response: Response,
    idle: Duration,
    max: usize,
) -> (Vec<u8>, Option<Error>) {
    let mut body = Vec::new();
    while body.len() < max {
        match tokio::time::timeout(idle, response.chunk()).await {
            Ok(Ok(Some(chunk))) => body.extend_from_slice(&chunk),
            Ok(Ok(None)) => return (body, None),
            Ok(Err(err)) => {
                let error = Error::Network {
                    message: describe(&err),
                };
                return (body, Some(error));
            }
            Err(_) => {
                let error = Error::Timeout {
                    kind: TimeoutKind::Idle,
                    after: idle,
                };
                return (body, Some(error));
            }
        }
    }
    body.truncate(max);
    (body, None)
}

/// Maps a failed response to its [`Error`] variant.
pub fn error_for_status(status: StatusCode, headers: &HeaderMap, body: &str) -> Error {
    let error = ApiError::from_body(Some(status.as_u16()), body);
    match status.as_u16() {
        401 | 403 if says_model_missing(&error.message) => Error::ModelNotFound(error),
        401 | 403 => Error::Auth(error),
        404 => Error::ModelNotFound(error),
        429 => Error::RateLimited {
            retry_after: retry_after(headers, SystemTime::now()),
            error,
        },
        400 | 413 if says_context_exceeded(&error.message) => {
            let (prompt_tokens, context_window) = context_numbers(&error.message);
            Error::ContextWindowExceeded {
                error,
                prompt_tokens,
                context_window,
            }
        }
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

/// The phrasings servers use for a prompt that does not fit the context window.
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

fn says_context_exceeded(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    CONTEXT_PATTERNS
        .iter()
        .any(|pattern| message.contains(pattern))
}

/// The prompt size and the context window from the message, by what each number follows:
/// "The prompt is too long: 40177, model maximum context length: 32767", or "This model's
/// maximum context length is 32768 tokens. However, you requested 40000 tokens". A number after
/// words about the maximum, the context or a limit is the window; the first other one is the
/// prompt.
fn context_numbers(message: &str) -> (Option<u64>, Option<u64>) {
    let lower = message.to_ascii_lowercase();
    let (mut prompt, mut window) = (None, None);
    let mut label_start = 0;
    let mut rest = lower.as_str();
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        let digits = rest[start..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(rest.len(), |end| start + end);
        let offset = lower.len() - rest.len();
        let label = &lower[label_start..offset + start];
        if let Ok(number) = rest[start..digits].parse::<u64>()
            && digits - start >= 3
        {
            let is_window = ["maximum", "context", "limit", "window"]
                .iter()
                .any(|word| label.contains(word));
            if is_window {
                window = window.or(Some(number));
            } else {
                prompt = prompt.or(Some(number));
            }
        }
        label_start = offset + digits;
        rest = &rest[digits..];
    }
    (prompt, window)
}

/// `retry-after-ms`, else `retry-after` as seconds or as an HTTP date (relative to `now`).
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
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A reqwest failure before any response: a connection problem or a connect timeout.
pub fn transport_error(err: reqwest::Error, timeouts: &Timeouts) -> Error {
    if err.is_connect() && err.is_timeout() {
        return Error::Timeout {
            kind: TimeoutKind::Connect,
            after: timeouts.connect,
        };
    }
    Error::Network {
        message: describe(&err),
    }
}

/// The error and its causes on one line ("error sending request: connection refused").
pub fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
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
            Some(Duration::ZERO)
        );
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
            (Some(40000), Some(32768))
        );
        assert_eq!(context_numbers("too many tokens"), (None, None));
    }

    #[test]
    fn bearer_header_is_sensitive_and_hidden() {
        let value = bearer("fw_secret").unwrap();
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("fw_secret"));
        assert!(matches!(bearer("bad\nkey"), Err(Error::Config(_))));
    }
}
