//! Every classification of what a server said into an [`Error`]: a failed response's status,
//! headers and body ([`for_status`]: which variant, the context window's numbers, the wait a
//! 429 asks for), an error body in any of the shapes servers send ([`ApiError::from_body`]),
//! an error inside the stream ([`event_error`], [`named_error_event`]), and whether a rate limit
//! will clear by waiting ([`says_quota_exhausted`]).
//!
//! The phrasings and codes matched here are the ones Fireworks, OpenAI, vLLM and llama.cpp
//! send (see `tests/fixtures/errors/cases.json` for the table of real bodies the tests read).

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::{ApiError, Error, RateLimits, bounded};

/// Maps a failed response to its [`Error`] variant. The request id comes from the body, else
/// from the headers; `rate_limits` are what the response's headers said of them (the
/// transport reads those).
pub(crate) fn for_status(
    status: StatusCode,
    headers: &HeaderMap,
    body: &str,
    rate_limits: Option<RateLimits>,
) -> Error {
    let parsed = serde_json::from_str::<Value>(body).ok();
    let mut error = ApiError::from_parsed_body(Some(status.as_u16()), body, parsed.as_ref());
    if error.request_id.is_none() {
        error.request_id = request_id(headers);
    }
    if let Some(limits) = rate_limits {
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
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
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

/// The response headers that carry the server's id of the request, in the order they are
/// read: `x-request-id` (OpenAI's, and vLLM's with `--enable-request-id-headers`).
pub(crate) const REQUEST_ID_HEADERS: [&str; 1] = ["x-request-id"];

/// The request id a response's headers carry ([`REQUEST_ID_HEADERS`]), bounded like every
/// server text an error keeps; `None` when absent or blank.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    REQUEST_ID_HEADERS.iter().find_map(|name| {
        let value = headers.get(*name)?;
        let text = String::from_utf8_lossy(value.as_bytes());
        let text = text.trim();
        (!text.is_empty()).then(|| bounded(text))
    })
}

impl ApiError {
    /// Reads an error from a response body in any of the shapes Fireworks sends:
    /// `{"error":{"message",...}}`, `{"error":"...","message":"..."}`, `{"error":"..."}`, or
    /// anything else, kept as trimmed raw text.
    pub fn from_body(status: Option<u16>, body: &str) -> Self {
        let parsed = serde_json::from_str::<serde_json::Value>(body).ok();
        Self::from_parsed_body(status, body, parsed.as_ref())
    }

    /// Like [`ApiError::from_body`], for a body already parsed as JSON (`None`: it is not).
    pub(crate) fn from_parsed_body(
        status: Option<u16>,
        body: &str,
        parsed: Option<&serde_json::Value>,
    ) -> Self {
        match parsed.and_then(|value| Self::from_json(status, value)) {
            Some(error) => error,
            None => ApiError {
                status,
                message: raw_message(status, body),
                code: None,
                request_id: None,
                details: None,
            },
        }
    }

    /// Reads an error from a parsed JSON document with a top-level `error` key (or, as older
    /// vLLM versions send it, a top-level `"object":"error"` with the fields beside it); `None`
    /// when it is neither.
    pub fn from_json(status: Option<u16>, value: &serde_json::Value) -> Option<Self> {
        let error = match value.get("error") {
            Some(error) => error,
            None if value.get("object").and_then(|o| o.as_str()) == Some("error") => value,
            None => return None,
        };
        let text = |v: Option<&serde_json::Value>| -> Option<String> {
            match v? {
                serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        let (message, code) = match error {
            serde_json::Value::Object(_) => (
                text(error.get("message")).or_else(|| text(value.get("message"))),
                text(error.get("code")).or_else(|| text(error.get("type"))),
            ),
            // `{"error":"Too Many Requests","message":"You have exceeded ..."}`: the long
            // top-level message is the useful one; the short one is the fallback.
            _ => (
                text(value.get("message")).or_else(|| text(Some(error))),
                None,
            ),
        };
        Some(ApiError {
            status,
            message: bounded(message.unwrap_or_else(|| error.to_string())),
            code: code.map(bounded),
            request_id: text(value.get("request_id")).map(bounded),
            details: None,
        })
    }
}

/// A body that is not JSON (an HTML page from a proxy, plain text): its trimmed text, bounded so
/// a whole web page does not end up in a log line.
fn raw_message(status: Option<u16>, body: &str) -> String {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return match status {
            Some(code) => format!("HTTP {code} with an empty body"),
            None => "empty error".to_owned(),
        };
    }
    bounded(trimmed)
}

/// A 429 that will not clear by waiting: the account's quota or spending limit is used up.
pub(crate) fn says_quota_exhausted(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    [
        "quota",
        "spending limit",
        "insufficient",
        "billing",
        "credits",
    ]
    .iter()
    .any(|pattern| message.contains(pattern))
        && !message.contains("try again")
}

/// Whether `text` is a JSON object with a non-null `error` key, whatever else it holds.
#[cold]
pub(crate) fn has_error(text: &str) -> bool {
    #[derive(Deserialize)]
    struct ErrorOnly {
        // `"error": null` is no error.
        #[serde(default)]
        error: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_str::<ErrorOnly>(text).is_ok_and(|event| event.error.is_some())
}

/// The server's error in an event with a non-null `error` key (checked by the caller), in any
/// of the shapes [`ApiError::from_json`] reads. A message that cannot be read (the event holds
/// a value `serde_json::Value` refuses in its place: a number out of range, a lone surrogate,
/// nesting too deep) is the event's text itself, bounded.
#[cold]
pub(crate) fn event_error(text: &str) -> ApiError {
    event_value(text)
        .and_then(|value| ApiError::from_json(None, &value))
        .unwrap_or_else(|| ApiError::new(None, text.trim()))
}

/// Whether an error document (see [`ApiError::from_json`]) says something in words: a string
/// at `error.message`, `error` or `message`.
fn has_message(value: &serde_json::Value) -> bool {
    let error = value.get("error");
    [
        error.and_then(|error| error.get("message")),
        error,
        value.get("message"),
    ]
    .into_iter()
    .flatten()
    .any(serde_json::Value::is_string)
}

/// An event's JSON as a `Value`. Where `Value` refuses part of it (a number out of `f64`'s
/// range, a lone surrogate, nesting deeper than serde_json's limit), the object is read member
/// by member (two levels down: the event and its `error`), leaving out the members it refuses;
/// what is left is kept only if it still holds a message in words. `None` otherwise.
fn event_value(text: &str) -> Option<serde_json::Value> {
    fn readable(text: &str, levels: u8) -> Option<serde_json::Value> {
        if let Ok(value) = serde_json::from_str(text) {
            return Some(value);
        }
        if levels == 0 {
            return None;
        }
        let members =
            serde_json::from_str::<std::collections::BTreeMap<String, &RawValue>>(text).ok()?;
        let object = members
            .into_iter()
            .filter_map(|(key, raw)| Some((key, readable(raw.get(), levels - 1)?)))
            .collect();
        Some(serde_json::Value::Object(object))
    }
    match serde_json::from_str(text) {
        Ok(value) => Some(value),
        Err(_) => readable(text, 2).filter(has_message),
    }
}

/// Reads an event the server named `error` (its SSE `event` field): whatever its data holds, it
/// is the server's error, with the server's words as the message: `{"error":..}` in any of the
/// shapes [`ApiError::from_json`] reads, `{"message":..}`, `{"detail":..}`, a JSON string, or
/// plain text.
#[cold]
pub(crate) fn named_error_event(data: &[u8]) -> Error {
    let text = String::from_utf8_lossy(data);
    let text = text.trim();
    if text.is_empty() {
        let message = "the server sent an error event without a message";
        return Error::Server(ApiError::new(None, message));
    }
    let value = event_value(text);
    if let Some(error) = value
        .as_ref()
        .and_then(|value| ApiError::from_json(None, value))
    {
        return Error::Server(error);
    }
    let message = match &value {
        Some(serde_json::Value::String(message)) => Some(message.clone()),
        Some(serde_json::Value::Object(fields)) => ["message", "detail"]
            .iter()
            .find_map(|key| fields.get(*key))
            .map(|message| match message {
                serde_json::Value::String(message) => message.clone(),
                other => other.to_string(),
            }),
        _ => None,
    };
    Error::Server(match message {
        Some(message) => ApiError::new(None, message),
        // Not JSON, or JSON with no message in it: the text itself.
        None => ApiError::from_body(None, text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event's data through the decoder's reader, as the stream sees it.
    fn parse(data: &str) -> Result<(), Error> {
        crate::decode::chunk::parse_event(data.as_bytes())
            .map(drop)
            .map_err(|error| *error)
    }

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
    fn quota_exhaustion_is_told_from_a_passing_limit() {
        assert!(says_quota_exhausted(
            "Your account has exhausted its monthly spending limit"
        ));
        assert!(says_quota_exhausted("Quota exceeded for this account"));
        assert!(!says_quota_exhausted(
            "You have exceeded your usage limits. Please try again later"
        ));
    }

    #[test]
    fn an_error_beside_a_value_serde_json_value_refuses_is_still_read() {
        for data in [
            r#"{"error":{"message":"quota exceeded"},"t":1e400}"#,
            r#"{"error":"quota exceeded","s":"\udc00"}"#,
            r#"{"error":{"message":"quota exceeded","t":-1e400},"choices":"x"}"#,
        ] {
            match parse(data) {
                Err(Error::Server(error)) => assert_eq!(error.message, "quota exceeded", "{data}"),
                other => panic!("{data}: {other:?}"),
            }
        }
        // Named error events read the same way.
        match named_error_event(br#"{"message":"overloaded","t":1e400}"#) {
            Error::Server(error) => assert_eq!(error.message, "overloaded"),
            other => panic!("{other:?}"),
        }
        // Not an error: a bad chunk stays a decode error.
        assert!(matches!(
            parse(r#"{"choices":"x","error":null}"#),
            Err(Error::Decode { .. })
        ));
    }

    #[test]
    fn a_named_error_event_is_an_error_whatever_its_data() {
        for (data, message) in [
            (r#"{"message":"overloaded"}"#, "overloaded"),
            (r#"{"error":{"message":"boom","code":500}}"#, "boom"),
            (r#"{"error":"overloaded"}"#, "overloaded"),
            (r#"{"detail":"Service Unavailable"}"#, "Service Unavailable"),
            (r#"{"detail":[{"msg":"bad"}]}"#, r#"[{"msg":"bad"}]"#),
            (r#""overloaded""#, "overloaded"),
            ("upstream timed out", "upstream timed out"),
            ("{not json", "{not json"),
            (r#"{"status":"down"}"#, r#"{"status":"down"}"#),
            ("", "the server sent an error event without a message"),
        ] {
            match named_error_event(data.as_bytes()) {
                Error::Server(error) => {
                    assert_eq!(error.message, message, "{data}");
                    assert_eq!(error.status, None, "{data}");
                }
                other => panic!("{data}: {other:?}"),
            }
        }
        // However long the server's words, the error keeps a bounded message.
        let huge = format!(r#"{{"message":"{}"}}"#, "x".repeat(1 << 20));
        match named_error_event(huge.as_bytes()) {
            Error::Server(error) => assert!(error.message.len() < 8 * 1024),
            other => panic!("{other:?}"),
        }
    }
}
