//! Sending one request and checking its status: a non-2xx response becomes a typed [`Error`]
//! carrying the server's message, and transport failures become network or timeout errors.
//!
//! This is one attempt; retrying is the caller's business (see `retry`).

use std::time::{Duration, SystemTime};

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
/// wait for the response headers counts against the first-event timeout.
pub async fn send(
    request: RequestBuilder,
    auth: &HeaderValue,
    timeouts: &Timeouts,
) -> Result<Response, Error> {
    let sending = request.header(AUTHORIZATION, auth.clone()).send();
    let response = tokio::time::timeout(timeouts.first_event, sending)
        .await
        .map_err(|_| Error::Timeout {
            kind: TimeoutKind::FirstEvent,
            after: timeouts.first_event,
        })?
        .map_err(|err| transport_error(err, timeouts))?;
    check_status(response).await
}

/// Reads a whole (successful) response body.
pub async fn read_body(response: Response) -> Result<Bytes, Error> {
    response.bytes().await.map_err(|err| Error::Network {
        message: describe(&err),
    })
}

/// Passes a successful response on; reads any other's body into a typed error.
pub async fn check_status(response: Response) -> Result<Response, Error> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let headers = response.headers().clone();
    let body = read_capped(response).await;
    Err(error_for_status(status, &headers, &body))
}

async fn read_capped(mut response: Response) -> String {
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body.truncate(MAX_ERROR_BODY_BYTES);
    String::from_utf8_lossy(&body).into_owned()
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
    "exceeds the maximum",
    "too many tokens",
    "input is too long",
];

fn says_context_exceeded(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    CONTEXT_PATTERNS
        .iter()
        .any(|pattern| message.contains(pattern))
}

/// The prompt size and the context window from messages such as "The prompt is too long:
/// 40177, model maximum context length: 32767": the first number is the prompt, the largest
/// other one the window, when the message has at least two.
fn context_numbers(message: &str) -> (Option<u64>, Option<u64>) {
    let numbers: Vec<u64> = message
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| part.len() >= 3)
        .filter_map(|part| part.parse().ok())
        .collect();
    match numbers.as_slice() {
        [prompt, rest @ ..] if !rest.is_empty() => (Some(*prompt), rest.iter().max().copied()),
        _ => (None, None),
    }
}

/// `retry-after-ms`, else `retry-after` as seconds or as an HTTP date (relative to `now`).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| headers.get(name)?.to_str().ok().map(str::trim);
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return (ms.is_finite() && ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1000.0));
    }
    let value = text("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
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
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn context_numbers_are_read_from_the_message() {
        assert_eq!(
            context_numbers("The prompt is too long: 40177, model maximum context length: 32767"),
            (Some(40177), Some(32767))
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
