//! The transport seam: the one trait between the crate and an HTTP client. A [`Transport`]
//! sends one request and answers with the status, the headers and the body as a stream of
//! bytes; nothing more. Everything the crate promises about a response (deadlines, size caps,
//! redirects refused, typed errors, retries) is enforced above the seam, so a host's transport
//! cannot bypass it.
//!
//! [`ReqwestTransport`](super::ReqwestTransport) is the implementation every normal build
//! uses; the `test-support` feature adds a scripted one for tests.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use futures::Stream;
use reqwest::Method;
use reqwest::header::HeaderMap;

/// A future the transport returns, boxed so that the trait stays object safe.
pub type TransportFuture =
    Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send + 'static>>;

/// A response body as it arrives: pieces in order, then the end (or a failure).
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, TransportError>> + Send + 'static>>;

/// Sends one HTTP request. Object safe: a provider holds an `Arc<dyn Transport>`.
///
/// An implementation sends the request as given (method, URL, headers, body) and resolves once
/// the response head has arrived. It need not enforce any timeout but its connect timeout, nor
/// any size limit: the crate bounds every wait and every read above this trait. It must not
/// follow redirects if the crate's rule that a conversation goes only to its configured origin
/// is to hold (a 3xx handed up is refused as [`Error::Redirected`](crate::Error::Redirected)).
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends `request`; the future resolves to the response head and its body stream.
    fn send(&self, request: HttpRequest) -> TransportFuture;
}

/// One request as the crate sends it. Header values the crate marks sensitive (the key, the
/// host's own headers, the cache isolation key) stay marked, so `Debug` does not show them.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: Method,
    /// The full URL.
    pub url: String,
    /// Every header to send.
    pub headers: HeaderMap,
    /// The body (empty for a `GET`).
    pub body: Bytes,
}

impl HttpRequest {
    /// A request with no headers and an empty body.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        HttpRequest {
            method,
            url: url.into(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }
}

/// A response head and its body, as the transport got them.
#[non_exhaustive]
pub struct HttpResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body, read piece by piece.
    pub body: ByteStream,
}

impl HttpResponse {
    /// A response of `status` with `headers` and `body`.
    pub fn new(status: u16, headers: HeaderMap, body: ByteStream) -> Self {
        HttpResponse {
            status,
            headers,
            body,
        }
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

/// What kind of failure a [`TransportError`] is.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportErrorKind {
    /// The connection could not be opened (refused, unreachable, a TLS failure).
    Connect,
    /// Opening the connection took longer than the transport's connect timeout.
    ConnectTimeout,
    /// Anything else: the connection broke while sending or reading.
    Other,
}

/// A transport's failure: what kind it is, one readable sentence, and the underlying error
/// through [`std::error::Error::source`].
#[derive(Debug)]
pub struct TransportError {
    kind: TransportErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl TransportError {
    /// A failure of `kind` described by `message` (one sentence, no header values).
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        TransportError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// The same failure, caused by `source`.
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// What kind of failure it is.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}
