//! [`RecordingTransport`]: wraps any [`Transport`] and writes each exchange to a recording
//! folder as it happens, changing nothing the host sees.
//!
//! Files are written with plain `std::fs` calls on the task that sends the request or reads
//! the body: the request and head files once each, then one append per body piece as it
//! arrives (no fsync; the write lands in the page cache and costs about what copying the
//! piece does). That keeps the bytes in arrival order with nothing queued in memory, which a
//! hand-off to `spawn_blocking` would not; the price is that a slow disk slows the stream, so
//! record to a local disk.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::value::RawValue;

use super::indent::indent_json;
use super::redact::{Secrets, StreamRedactor, is_secret_header};
use super::{
    BodyEnd, Headers, MARKER_FILE, Marker, RecordedError, RecordingError, RequestFile,
    ResponseFile, body_file_name, request_file_name, response_file_name,
};
use crate::transport::seam::{ByteStream, HttpRequest, Transport, TransportError, TransportFuture};

/// A [`Transport`] that sends through another one and writes every exchange to a folder in
/// the recording format below, for a bug report or for
/// [`ReplayTransport`](super::ReplayTransport) to serve in a test. Secrets never reach the
/// disk (see the format). Clones share the folder and the numbering.
///
/// The host sees exactly what the inner transport answers: each body piece is written and
/// then handed on, never held. A failure to write (a full disk, a folder removed) never fails
/// the host's request: the recording stops there, with a `tracing` warning and
/// [`RecordingTransport::write_failure`] saying why, and the traffic goes on unrecorded.
///
/// ```no_run
/// use fireworks_provider::{FireworksSettings, RecordingTransport, ReqwestTransport};
///
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// // The provider's rule: redirects are not followed.
/// let client = reqwest::Client::builder()
///     .redirect(reqwest::redirect::Policy::none())
///     .build()?;
/// let recorder = RecordingTransport::new(ReqwestTransport::new(client), "recordings/bug-1234")?;
/// let settings = FireworksSettings::from_env()?.with_transport(recorder);
/// # Ok(())
/// # }
/// ```
///
/// # The recording format (version 1)
///
/// A recording is a folder a person can read and diff, one set of files per exchange, numbered
/// from `0001` in the order the requests were sent:
///
/// | file | holds |
/// |---|---|
/// | `recording.json` | `{"format": "fireworks-provider recording", "version": 1}` |
/// | `0001.request.json` | the request: `method`, `url`, `headers`, and `body` (the JSON body re-indented: only whitespace between tokens differs from what was sent; a body that is not JSON is a `body_text` string) |
/// | `0001.response.json` | the response head: `status`, `headers`, `body_file`, `body_end`, `pieces`; or `error` when the request failed before any response |
/// | `0001.response.sse` | the body bytes exactly as they arrived (`0001.response.body` when the response is not an event stream) |
///
/// In `0001.response.json`, `body_end` says how the body ended: `"complete"`, `"failed"` (the
/// connection broke; `error` then holds the transport's `kind` and `message`), `"unfinished"`
/// (the reading stopped first: a cancelled turn, or a stream the provider finished at its
/// `[DONE]` event before the transport signalled the end) or `"streaming"` (the process
/// ended while the body was arriving). `pieces` lists the sizes of the body's pieces as they
/// arrived, so that a replay cuts the bytes where the network cut them; it is absent from a
/// hand-written recording, whose body is then served in one piece. A request with no
/// `NNNN.response.json` got no answer before the crate gave up waiting.
///
/// Headers: a request's headers are all written except secrets, whose values are written as
/// `"[redacted]"`: `Authorization`, the cache isolation header, and every value marked
/// sensitive ([`HeaderValue::is_sensitive`](reqwest::header::HeaderValue::is_sensitive); the
/// provider marks the key, the isolation key and every header a host adds). A response's
/// headers are written only when they matter to a bug report: `content-type`, `retry-after`,
/// `retry-after-ms`, request ids (`x-request-id`, `request-id`, `*-request-id`), rate limits
/// (`x-ratelimit-*`, `ratelimit*`) and Fireworks' own (`fireworks-*`, `x-fireworks-*`); a
/// repeated header is written once, its values joined by `, `.
///
/// No secret reaches the disk: besides the headers above, every occurrence of a secret's text
/// (the key, each sensitive header value, the isolation key; at least 8 bytes long, shorter
/// values would match ordinary text) in a recorded body, header value or error message is
/// replaced by `[REDACTED]`, also when it is cut across two pieces of a body. A body is thus
/// byte-exact unless the server echoed a secret into it.
#[derive(Debug, Clone)]
pub struct RecordingTransport {
    inner: Arc<dyn Transport>,
    folder: Arc<Folder>,
}

/// The recording folder and what has been written to it.
#[derive(Debug)]
struct Folder {
    path: PathBuf,
    /// Exchanges numbered so far.
    exchanges: AtomicUsize,
    /// Why the recording stopped, if it did.
    failure: Mutex<Option<String>>,
}

impl RecordingTransport {
    /// Records what passes through `inner` into the folder `path`, created if missing. A
    /// folder that already holds a recording is refused (two sessions' exchanges would mix).
    pub fn new(
        inner: impl Transport + 'static,
        path: impl Into<PathBuf>,
    ) -> Result<Self, RecordingError> {
        let path = path.into();
        std::fs::create_dir_all(&path)
            .map_err(|err| RecordingError::io(&path, "create the folder", &err))?;
        let marker = path.join(MARKER_FILE);
        if marker.exists() || path.join(request_file_name(1)).exists() {
            return Err(RecordingError::new(
                &path,
                "the folder already holds a recording; record into a new one",
            ));
        }
        let mut text = serde_json::to_vec_pretty(&Marker::current())
            .map_err(|err| RecordingError::new(&marker, err.to_string()))?;
        text.push(b'\n');
        std::fs::write(&marker, text).map_err(|err| RecordingError::io(&marker, "write", &err))?;
        Ok(RecordingTransport {
            inner: Arc::new(inner),
            folder: Arc::new(Folder {
                path,
                exchanges: AtomicUsize::new(0),
                failure: Mutex::new(None),
            }),
        })
    }

    /// The recording folder.
    pub fn path(&self) -> &Path {
        &self.folder.path
    }

    /// How many exchanges have been numbered (requests sent) so far.
    pub fn exchanges(&self) -> usize {
        self.folder.exchanges.load(Ordering::SeqCst)
    }

    /// Why the recording stopped early (a file could not be written), if it did; the
    /// recording is then incomplete from that exchange on.
    pub fn write_failure(&self) -> Option<String> {
        self.folder.failure().clone()
    }
}

impl Folder {
    fn failure(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        // A panic elsewhere while holding the lock leaves the data as good as before.
        self.failure.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stopped(&self) -> bool {
        self.failure().is_some()
    }

    /// Stops the recording because `name` could not be written.
    fn stop(&self, name: &str, err: &std::io::Error) {
        let mut failure = self.failure();
        if failure.is_none() {
            let path = self.path.join(name);
            let why = format!("could not write {}: {err}", path.display());
            tracing::warn!(reason = %why, "recording stopped");
            *failure = Some(why);
        }
    }

    /// Writes the file `name` whole, unless the recording has stopped; stops it on failure.
    fn write(&self, name: &str, contents: &[u8]) -> bool {
        if self.stopped() {
            return false;
        }
        match std::fs::write(self.path.join(name), contents) {
            Ok(()) => true,
            Err(err) => {
                self.stop(name, &err);
                false
            }
        }
    }

    /// Creates the file `name` for appending, unless the recording has stopped.
    fn create(&self, name: &str) -> Option<File> {
        if self.stopped() {
            return None;
        }
        File::create(self.path.join(name))
            .map_err(|err| self.stop(name, &err))
            .ok()
    }
}

impl Transport for RecordingTransport {
    fn send(&self, request: HttpRequest) -> TransportFuture {
        let number = self.folder.exchanges.fetch_add(1, Ordering::SeqCst) + 1;
        let exchange = Exchange {
            folder: Arc::clone(&self.folder),
            number,
            secrets: Secrets::of_request(&request.headers),
        };
        exchange.write_request(&request);
        let sending = self.inner.send(request);
        Box::pin(async move {
            match sending.await {
                Ok(mut response) => {
                    let sink = exchange.start_response(response.status, &response.headers);
                    let body =
                        std::mem::replace(&mut response.body, Box::pin(futures::stream::empty()));
                    response.body = Box::pin(RecordedBody { body, sink });
                    Ok(response)
                }
                Err(err) => {
                    exchange.write_failure(&err);
                    Err(err)
                }
            }
        })
    }
}

/// One exchange being recorded.
#[derive(Debug)]
struct Exchange {
    folder: Arc<Folder>,
    number: usize,
    secrets: Secrets,
}

impl Exchange {
    fn write_request(&self, request: &HttpRequest) {
        let mut file = RequestFile {
            method: request.method.to_string(),
            url: self.secrets.redact(&request.url),
            headers: request_headers(&request.headers, &self.secrets),
            body: None,
            body_text: None,
        };
        if !request.body.is_empty() {
            let body = std::str::from_utf8(&request.body).ok();
            let json =
                body.filter(|text| serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok());
            // Redacting inside a JSON text keeps it JSON unless a secret stood outside a string.
            let indented = json.map(|json| self.secrets.redact(&indent_json(json, 1)));
            file.body = indented.and_then(|text| RawValue::from_string(text).ok());
            if file.body.is_none() {
                let text = String::from_utf8_lossy(&request.body);
                file.body_text = Some(self.secrets.redact(&text));
            }
        }
        self.write_json(&request_file_name(self.number), &file);
    }

    /// Writes the head (the body still arriving) and opens the body file.
    fn start_response(self, status: u16, headers: &HeaderMap) -> Option<BodySink> {
        let event_stream = headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/event-stream"));
        let body_file = body_file_name(self.number, event_stream);
        let head = ResponseFile {
            status: Some(status),
            headers: response_headers(headers, &self.secrets),
            body_file: Some(body_file.clone()),
            body_end: Some(BodyEnd::Streaming),
            pieces: None,
            error: None,
        };
        if !self.write_json(&response_file_name(self.number), &head) {
            return None;
        }
        let file = self.folder.create(&body_file)?;
        Some(BodySink {
            redactor: StreamRedactor::new(self.secrets.clone()),
            exchange: self,
            head,
            body_file,
            file,
            pieces: Vec::new(),
            scratch: Vec::new(),
        })
    }

    /// Writes the head of a request that failed before any response.
    fn write_failure(&self, err: &TransportError) {
        let head = ResponseFile {
            status: None,
            headers: Headers::new(),
            body_file: None,
            body_end: None,
            pieces: None,
            error: Some(self.recorded_error(err)),
        };
        self.write_json(&response_file_name(self.number), &head);
    }

    fn recorded_error(&self, err: &TransportError) -> RecordedError {
        RecordedError {
            kind: err.kind().into(),
            message: self.secrets.redact(&err.to_string()),
        }
    }

    fn write_json(&self, name: &str, value: &impl serde::Serialize) -> bool {
        match serde_json::to_vec_pretty(value) {
            Ok(mut text) => {
                text.push(b'\n');
                self.folder.write(name, &text)
            }
            Err(err) => {
                self.folder.stop(name, &std::io::Error::other(err));
                false
            }
        }
    }
}

/// The request headers as written: every one, a secret's value as `[redacted]`.
fn request_headers(headers: &HeaderMap, secrets: &Secrets) -> Headers {
    let mut written = Headers::new();
    for (name, value) in headers {
        let text = if is_secret_header(name, value) {
            "[redacted]".to_owned()
        } else {
            secrets.redact(&String::from_utf8_lossy(value.as_bytes()))
        };
        append(&mut written, name.as_str(), text);
    }
    written
}

/// The response headers that matter to a bug report (see the format), secrets out.
fn response_headers(headers: &HeaderMap, secrets: &Secrets) -> Headers {
    let mut written = Headers::new();
    for (name, value) in headers {
        let name = name.as_str();
        if !response_header_matters(name) || value.is_sensitive() {
            continue;
        }
        let text = secrets.redact(&String::from_utf8_lossy(value.as_bytes()));
        append(&mut written, name, text);
    }
    written
}

fn response_header_matters(name: &str) -> bool {
    matches!(
        name,
        "content-type" | "retry-after" | "retry-after-ms" | "x-request-id" | "request-id"
    ) || name.ends_with("-request-id")
        || name.starts_with("x-ratelimit-")
        || name.starts_with("ratelimit")
        || name.starts_with("fireworks-")
        || name.starts_with("x-fireworks-")
}

/// Adds a header, joining a repeated one's values with `, `.
fn append(headers: &mut Headers, name: &str, value: String) {
    headers
        .entry(name.to_owned())
        .and_modify(|joined| {
            joined.push_str(", ");
            joined.push_str(&value);
        })
        .or_insert(value);
}

/// Writes a body as it streams.
#[derive(Debug)]
struct BodySink {
    exchange: Exchange,
    head: ResponseFile,
    body_file: String,
    file: File,
    redactor: StreamRedactor,
    /// The size of each piece as it arrived.
    pieces: Vec<usize>,
    /// The redacted bytes to write, reused between pieces.
    scratch: Vec<u8>,
}

impl BodySink {
    /// Appends `piece`; `false` once the recording has stopped.
    fn piece(&mut self, piece: &Bytes) -> bool {
        self.pieces.push(piece.len());
        self.scratch.clear();
        self.redactor.push(piece, &mut self.scratch);
        self.append()
    }

    fn append(&mut self) -> bool {
        if self.exchange.folder.stopped() {
            return false;
        }
        match self.file.write_all(&self.scratch) {
            Ok(()) => true,
            Err(err) => {
                self.exchange.folder.stop(&self.body_file, &err);
                false
            }
        }
    }

    /// Writes what the redactor held back and the head again, now with how the body ended.
    fn finish(mut self, end: BodyEnd, error: Option<&TransportError>) {
        self.scratch.clear();
        self.redactor.finish(&mut self.scratch);
        if !self.append() {
            return;
        }
        self.head.body_end = Some(end);
        self.head.error = error.map(|err| self.exchange.recorded_error(err));
        self.head.pieces = serde_json::to_string(&self.pieces)
            .ok()
            .and_then(|list| RawValue::from_string(list).ok());
        self.exchange
            .write_json(&response_file_name(self.exchange.number), &self.head);
    }
}

/// A body that writes each piece to the recording before handing it on.
struct RecordedBody {
    body: ByteStream,
    /// `None` once the body has ended or the recording stopped.
    sink: Option<BodySink>,
}

impl Stream for RecordedBody {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = futures::ready!(self.body.poll_next_unpin(cx));
        match &item {
            Some(Ok(piece)) => {
                if let Some(sink) = &mut self.sink
                    && !sink.piece(piece)
                {
                    self.sink = None;
                }
            }
            Some(Err(err)) => {
                if let Some(sink) = self.sink.take() {
                    sink.finish(BodyEnd::Failed, Some(err));
                }
            }
            None => {
                if let Some(sink) = self.sink.take() {
                    sink.finish(BodyEnd::Complete, None);
                }
            }
        }
        Poll::Ready(item)
    }
}

impl Drop for RecordedBody {
    fn drop(&mut self) {
        if let Some(sink) = self.sink.take() {
            sink.finish(BodyEnd::Unfinished, None);
        }
    }
}
