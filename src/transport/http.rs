//! Sending one request through the [`Transport`] and checking its status: a non-2xx response
//! becomes a typed [`Error`] carrying the server's message, a redirect is refused, and transport
//! failures become network or timeout errors. Reading bodies happens here too, through one
//! reader ([`Body`]) with one rule: every read ends by a [`Deadline`] and every whole body has
//! a size limit.
//!
//! This is one attempt; retrying is the caller's business (see `retry`).

use std::time::Duration;

use tokio::time::Instant;

use bytes::Bytes;
use futures::StreamExt;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_LENGTH, HeaderMap, HeaderValue, LOCATION};
use reqwest::{Method, StatusCode};

use super::seam::{ByteStream, HttpRequest, Transport, TransportError, TransportErrorKind};
use super::server_report;
use super::timeouts::{Deadline, Timeouts};
use crate::error::classify;
use crate::error::redact::Secrets;
use crate::error::{ApiError, Error, TimeoutKind, bounded};

/// The most of an error body that is read; the rest of a huge HTML page is of no use.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// The largest whole response body accepted from a non-streaming call (`list_models`,
/// embeddings): 64 MiB, room for a batch of 128 embeddings of 8192 dimensions written as JSON.
/// A larger body is an [`Error::Decode`] naming this limit.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// A response whose status was a success: its head and its body.
#[derive(Debug)]
pub(crate) struct Response {
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
pub(crate) struct Body {
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
    pub(crate) fn new(stream: ByteStream, headers: &HeaderMap, secrets: &Secrets) -> Self {
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
    pub(crate) async fn next(
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
    pub(crate) fn next_if_ready(&mut self) -> Option<Result<Option<Bytes>, TransportError>> {
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
pub(crate) fn bearer(api_key: &str) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::from_str(&format!("Bearer {api_key}")).map_err(|_| {
        Error::Config("api_key contains characters not allowed in an HTTP header".into())
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// A POST of a JSON body to `url` with `headers`.
pub(crate) fn post_json(url: String, mut headers: HeaderMap, body: Bytes) -> HttpRequest {
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
pub(crate) fn get(url: String, headers: HeaderMap) -> HttpRequest {
    let mut request = HttpRequest::new(Method::GET, url);
    request.headers = headers;
    request
}

/// Sends `request` through `transport`, asking for an uncompressed answer, and returns the
/// response once its status is a success. The response head, and an error body, must arrive by
/// `deadline` (what of an error body arrived by then is used). A redirect is
/// [`Error::Redirected`], never followed.
pub(crate) async fn send(
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
        source: None,
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
    let rate_limits = server_report::rate_limits(&response.headers);
    Err(classify::for_status(
        status,
        &response.headers,
        &body,
        rate_limits,
    ))
}

/// An error document's text: what arrived by `deadline`, at most [`MAX_ERROR_BODY_BYTES`] of it.
async fn error_body(body: Body, deadline: Deadline, timeouts: &Timeouts) -> String {
    let (body, _) = read_up_to(body, deadline, timeouts, MAX_ERROR_BODY_BYTES).await;
    String::from_utf8_lossy(&body).into_owned()
}

/// A streaming response must be an event stream: a JSON body in its place (some servers answer
/// `200` with an error document) is read by `deadline` and reported as the server's error.
pub(crate) async fn expect_event_stream(
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
    let header_id = classify::request_id(&response.headers);
    let body = error_body(response.body, deadline, timeouts).await;
    let mut error = ApiError::from_body(Some(status), &body);
    error.request_id = error.request_id.or(header_id);
    error.message = format!("expected an event stream, got JSON: {}", error.message);
    Err(Error::Server(error))
}

/// Reads a whole (successful) response body by `deadline`, at most [`MAX_RESPONSE_BYTES`].
pub(crate) async fn read_body(
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
            source: None,
        }),
        (_, BodyEnd::Failed(error)) => Err(error),
    }
}

/// Reads what is left of a finished response for at most `wait` and a few KiB (normally just
/// the end of the chunked encoding, already on its way), so that its connection goes back to
/// the pool instead of being closed; gives up quietly otherwise.
pub(crate) async fn drain(body: Body, timeouts: Timeouts, wait: Duration) {
    const MAX_DRAINED_BYTES: usize = 16 * 1024;
    // Nobody sees this deadline's error: a drain that runs out of time just stops.
    let deadline = Deadline {
        at: Instant::now() + wait,
        kind: TimeoutKind::Idle,
    };
    let _ = read_up_to(body, deadline, &timeouts, MAX_DRAINED_BYTES).await;
}

/// A transport failure: a connect timeout is the connect [`Error::Timeout`], anything else a
/// network error.
pub(crate) fn transport_error(err: TransportError, timeouts: &Timeouts) -> Error {
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
