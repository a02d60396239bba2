//! [`ReplayTransport`]: serves a recording folder offline, one recorded exchange per request,
//! so that the provider's real decode path sees the bytes (cut where the network cut them) of
//! the live session; and compares the requests the host sends with the recorded ones.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::compare::{RecordedRequest, RequestDifference};
use super::{
    BodyEnd, FORMAT_NAME, FORMAT_VERSION, MARKER_FILE, Marker, RecordedError, RecordingError,
    RequestFile, ResponseFile, request_file_name, response_file_name,
};
use crate::transport::seam::{
    ByteStream, HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind,
    TransportFuture,
};

/// A [`Transport`] that answers each request with the next exchange of a recording made by
/// [`RecordingTransport`](super::RecordingTransport) (or written by hand in its format), with
/// no network: the status, the recorded headers, and the body cut into the pieces it arrived
/// in, ending as it ended (a broken connection fails the body again). A request beyond the
/// recording fails as a connection failure; an exchange whose request got no answer never
/// answers, so the provider's own deadline ends it as it did live. Clones share the position
/// and the requests seen.
///
/// Every request sent is kept; [`ReplayTransport::check_requests`] compares them with the
/// recorded ones and reports the first difference.
///
/// ```no_run
/// use fireworks_provider::{FireworksProvider, FireworksSettings, ReplayTransport};
///
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let replay = ReplayTransport::open("tests/recordings/bug-1234")?;
/// let settings = FireworksSettings::new("any key", "accounts/fireworks/models/kimi-k2p6")
///     .with_transport(replay.clone());
/// let provider = FireworksProvider::new(settings)?;
/// // ... run the host's turns against `provider`, then:
/// replay.check_requests()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ReplayTransport {
    shared: Arc<Shared>,
    pause: Duration,
}

#[derive(Debug)]
struct Shared {
    path: PathBuf,
    exchanges: Vec<Exchange>,
    /// Every request sent so far, in order; the next one gets exchange `len() + 1`.
    sent: Mutex<Vec<HttpRequest>>,
}

/// One recorded exchange, read whole when the recording is opened.
#[derive(Debug)]
struct Exchange {
    request: RecordedRequest,
    response: Option<Response>,
}

#[derive(Debug)]
enum Response {
    /// The request failed before any response.
    Failed(RecordedError),
    Arrived {
        status: u16,
        headers: HeaderMap,
        body: Bytes,
        pieces: Option<Vec<usize>>,
        /// Set when the body ended in a failure.
        failure: Option<RecordedError>,
    },
}

impl ReplayTransport {
    /// Reads the recording in the folder `path`. A file that is missing, unreadable or not in
    /// the format is a [`RecordingError`] naming it.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, RecordingError> {
        let path = path.into();
        let marker: Marker = read_json(&path.join(MARKER_FILE))?;
        if marker.format != FORMAT_NAME || marker.version != FORMAT_VERSION {
            return Err(RecordingError::new(
                &path.join(MARKER_FILE),
                format!(
                    "not a recording this crate reads ({} version {}; expected {FORMAT_NAME} \
                     version {FORMAT_VERSION})",
                    marker.format, marker.version
                ),
            ));
        }
        let mut exchanges = Vec::new();
        loop {
            let number = exchanges.len() + 1;
            let request_path = path.join(request_file_name(number));
            if !request_path.exists() {
                break;
            }
            let request: RequestFile = read_json(&request_path)?;
            let request = RecordedRequest::from_file(request)
                .map_err(|why| RecordingError::new(&request_path, why))?;
            let response_path = path.join(response_file_name(number));
            let response = match response_path.exists() {
                true => Some(read_response(&path, &response_path)?),
                false => None,
            };
            exchanges.push(Exchange { request, response });
        }
        if exchanges.is_empty() {
            return Err(RecordingError::new(
                &path,
                format!(
                    "the recording holds no exchange ({} is missing)",
                    request_file_name(1)
                ),
            ));
        }
        Ok(ReplayTransport {
            shared: Arc::new(Shared {
                path,
                exchanges,
                sent: Mutex::new(Vec::new()),
            }),
            pause: Duration::ZERO,
        })
    }

    /// Waits `pause` (on tokio's clock) before each body piece, so that a demo visibly
    /// streams; by default pieces come at once.
    pub fn with_pause_between_pieces(mut self, pause: Duration) -> Self {
        self.pause = pause;
        self
    }

    /// The recording folder.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// How many exchanges the recording holds.
    pub fn exchanges(&self) -> usize {
        self.shared.exchanges.len()
    }

    /// How many recorded exchanges have not been served yet.
    pub fn exchanges_left(&self) -> usize {
        self.exchanges().saturating_sub(self.sent().len())
    }

    /// Every request sent so far, in order, as the host built it.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.sent().clone()
    }

    /// Compares each request sent so far with the recorded request of its exchange: method,
    /// URL path (not the origin) and body (JSON compared as JSON). The first difference is the
    /// `Err`, naming the exchange and the field (`messages[3].content`), with both values.
    /// Headers are not compared: their secrets were never recorded.
    pub fn check_requests(&self) -> Result<(), RequestDifference> {
        let sent = self.sent();
        for (index, request) in sent.iter().enumerate() {
            let number = index + 1;
            let difference = match self.shared.exchanges.get(index) {
                Some(exchange) => exchange.request.first_difference(number, request),
                None => Some(RequestDifference::beyond_recording(number, request)),
            };
            if let Some(difference) = difference {
                return Err(difference);
            }
        }
        Ok(())
    }

    fn sent(&self) -> MutexGuard<'_, Vec<HttpRequest>> {
        // A panic elsewhere while holding the lock leaves the list as good as before.
        self.shared.sent.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Transport for ReplayTransport {
    fn send(&self, request: HttpRequest) -> TransportFuture {
        let index = {
            let mut sent = self.sent();
            sent.push(request);
            sent.len() - 1
        };
        let Some(exchange) = self.shared.exchanges.get(index) else {
            let message = format!(
                "the recording in {} holds {} exchanges; request {} has none",
                self.shared.path.display(),
                self.shared.exchanges.len(),
                index + 1
            );
            return Box::pin(async move {
                Err(TransportError::new(TransportErrorKind::Connect, message))
            });
        };
        let answer = match &exchange.response {
            None => None,
            Some(Response::Failed(error)) => Some(Err(transport_error(error))),
            Some(Response::Arrived {
                status,
                headers,
                body,
                pieces,
                failure,
            }) => {
                let body = body_stream(body, pieces.as_deref(), failure.as_ref(), self.pause);
                Some(Ok(HttpResponse::new(*status, headers.clone(), body)))
            }
        };
        Box::pin(async move {
            match answer {
                Some(answer) => answer,
                None => std::future::pending::<Result<HttpResponse, TransportError>>().await,
            }
        })
    }
}

/// The recorded body cut into its recorded pieces (bytes beyond them, if the file was edited,
/// come as one more piece), then the recorded failure, if any.
fn body_stream(
    body: &Bytes,
    pieces: Option<&[usize]>,
    failure: Option<&RecordedError>,
    pause: Duration,
) -> ByteStream {
    let mut items = Vec::new();
    let mut start = 0_usize;
    for size in pieces.unwrap_or(&[]) {
        let end = start.saturating_add(*size).min(body.len());
        if end > start {
            items.push(Ok(body.slice(start..end)));
        }
        start = end;
    }
    if start < body.len() {
        items.push(Ok(body.slice(start..)));
    }
    items.extend(failure.map(|error| Err(transport_error(error))));
    let items = futures::stream::iter(items);
    if pause.is_zero() {
        return Box::pin(items);
    }
    Box::pin(items.then(move |item| async move {
        tokio::time::sleep(pause).await;
        item
    }))
}

fn transport_error(error: &RecordedError) -> TransportError {
    TransportError::new(error.kind.into(), error.message.clone())
}

/// Reads a response head and its body file.
fn read_response(folder: &Path, path: &Path) -> Result<Response, RecordingError> {
    let head: ResponseFile = read_json(path)?;
    let Some(status) = head.status else {
        let error = head.error.ok_or_else(|| {
            RecordingError::new(path, "neither a status nor an error: not a response head")
        })?;
        return Ok(Response::Failed(error));
    };
    let mut headers = HeaderMap::new();
    for (name, value) in &head.headers {
        let parsed = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        );
        let (Ok(parsed_name), Ok(parsed_value)) = parsed else {
            return Err(RecordingError::new(
                path,
                format!("the header {name:?} cannot be sent in HTTP"),
            ));
        };
        headers.append(parsed_name, parsed_value);
    }
    let body = match &head.body_file {
        Some(name) => read_body(folder, path, name)?,
        None => Bytes::new(),
    };
    let pieces = match &head.pieces {
        Some(list) => Some(
            serde_json::from_str::<Vec<usize>>(list.get())
                .map_err(|err| RecordingError::new(path, format!("pieces: {err}")))?,
        ),
        None => None,
    };
    let failure = match head.body_end {
        Some(BodyEnd::Failed) => Some(head.error.ok_or_else(|| {
            RecordingError::new(path, "body_end is \"failed\" but no error is recorded")
        })?),
        _ => None,
    };
    Ok(Response::Arrived {
        status,
        headers,
        body,
        pieces,
        failure,
    })
}

/// The body file `name`, which must lie in the recording folder itself.
fn read_body(folder: &Path, head: &Path, name: &str) -> Result<Bytes, RecordingError> {
    let plain = !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\']);
    if !plain {
        return Err(RecordingError::new(
            head,
            format!("body_file {name:?} is not a file name in the recording folder"),
        ));
    }
    let path = folder.join(name);
    std::fs::read(&path)
        .map(Bytes::from)
        .map_err(|err| RecordingError::io(&path, "read", &err))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, RecordingError> {
    let text = std::fs::read(path).map_err(|err| RecordingError::io(path, "read", &err))?;
    serde_json::from_slice(&text).map_err(|err| RecordingError::new(path, err.to_string()))
}
