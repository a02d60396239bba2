//! [`ReqwestTransport`], the [`Transport`] every normal build uses: one shared
//! `reqwest::Client` (connection pool, TLS, HTTP/2), with no redirects followed and no
//! decompression asked for when the crate builds the client itself.

use std::time::Duration;

use bytes::Bytes;
use reqwest::{Client, Method, Response};

use super::seam::{
    ByteStream, HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind,
    TransportFuture,
};

/// Sends requests through a `reqwest::Client`. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct ReqwestTransport {
    client: Client,
}

impl std::fmt::Debug for ReqwestTransport {
    /// Shows nothing of the client: a host's client may carry default headers with secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReqwestTransport")
    }
}

impl ReqwestTransport {
    /// Sends through `client`, with its own redirect, proxy and TLS policy.
    pub fn new(client: Client) -> Self {
        ReqwestTransport { client }
    }

    /// The client the crate builds for itself: `connect` as its connect timeout, no redirects
    /// (a redirect would carry the conversation to another origin), no decompression, no Nagle
    /// delay. For a host that wraps the provider's own transport (a recorder, say).
    pub fn with_connect_timeout(connect: Duration) -> Result<Self, reqwest::Error> {
        let client = Client::builder()
            .connect_timeout(connect)
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            // Should another crate of the host's build turn on reqwest's decompression, this
            // client still neither asks for nor inflates compressed bodies: an event stream gains
            // nothing from it, and a compressed body can inflate past every limit.
            .no_gzip()
            .no_brotli()
            .no_zstd()
            .no_deflate()
            .user_agent(concat!("fireworks-provider/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(ReqwestTransport { client })
    }
}

impl Transport for ReqwestTransport {
    fn send(&self, request: HttpRequest) -> TransportFuture {
        let HttpRequest {
            method,
            url,
            headers,
            body,
            ..
        } = request;
        let mut builder = self.client.request(method.clone(), url).headers(headers);
        if method != Method::GET || !body.is_empty() {
            builder = builder.body(body);
        }
        let sending = builder.send();
        Box::pin(async move {
            let mut response = sending.await.map_err(sending_failed)?;
            let status = response.status().as_u16();
            let headers = std::mem::take(response.headers_mut());
            Ok(HttpResponse::new(status, headers, body_stream(response)))
        })
    }
}

/// The body of `response` as a stream of its pieces; it ends after the first failure.
fn body_stream(response: Response) -> ByteStream {
    Box::pin(futures::stream::unfold(
        Some(response),
        |response| async move {
            let mut response = response?;
            match response.chunk().await {
                Ok(Some(piece)) => Some((Ok::<Bytes, _>(piece), Some(response))),
                Ok(None) => None,
                Err(err) => Some((Err(reading_failed(err)), None)),
            }
        },
    ))
}

/// A failure before the response head arrived, in one sentence naming where it went wrong; the
/// cause stays reachable through `source()`.
fn sending_failed(err: reqwest::Error) -> TransportError {
    let kind = if err.is_connect() && err.is_timeout() {
        TransportErrorKind::ConnectTimeout
    } else if err.is_connect() {
        TransportErrorKind::Connect
    } else {
        TransportErrorKind::Other
    };
    let message = if err.is_connect() {
        match err.url().and_then(host_and_port) {
            Some(place) => format!("could not connect to {place}"),
            None => "could not connect to the server".to_owned(),
        }
    } else if err.is_timeout() {
        "the request timed out".to_owned()
    } else {
        "the request could not be sent".to_owned()
    };
    TransportError::new(kind, message).with_source(err)
}

/// A failure while reading the body.
fn reading_failed(err: reqwest::Error) -> TransportError {
    TransportError::new(TransportErrorKind::Other, "reading the response failed").with_source(err)
}

/// `host:port` of `url`, the port given or the scheme's.
fn host_and_port(url: &reqwest::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}
