//! [`ScriptedTransport`] (feature `test-support`): a [`Transport`] that plays scripted replies
//! in order on tokio's clock and records every request, so that a host's tests (and this
//! crate's) drive timeouts, retries, resets and error bodies through the real provider with
//! no socket, instantly under paused time.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::seam::{
    ByteStream, HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind,
    TransportFuture,
};

/// Plays [`ScriptedReply`]s in order, one per request, and records the requests. Clones share
/// the script and the record. A request with no reply left fails as a connection failure.
///
/// ```
/// use fireworks_provider::{ScriptedReply, ScriptedTransport};
///
/// let transport = ScriptedTransport::new()
///     .with_reply(ScriptedReply::status(503).with_body(r#"{"error":{"message":"busy"}}"#))
///     .with_reply(ScriptedReply::sse("data: {\"choices\":[]}\n\ndata: [DONE]\n\n"));
/// assert!(transport.requests().is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct ScriptedTransport {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    script: Mutex<Script>,
    /// Bodies handed out and not yet dropped.
    open_bodies: Arc<AtomicUsize>,
}

#[derive(Debug, Default)]
struct Script {
    replies: VecDeque<ScriptedReply>,
    requests: Vec<HttpRequest>,
}

/// One scripted reply: how the request fails or which head comes back (after a delay), then the
/// steps of its body.
#[derive(Debug, Clone)]
pub struct ScriptedReply {
    delay: Duration,
    head: Head,
    steps: Vec<Step>,
}

#[derive(Debug, Clone)]
enum Head {
    Response { status: u16, headers: HeaderMap },
    Fails(TransportErrorKind),
}

#[derive(Debug, Clone)]
enum Step {
    Piece(Bytes),
    Pause(Duration),
    Reset,
    Stall,
}

impl ScriptedReply {
    /// A response of `status` with no headers and an empty body.
    pub fn status(status: u16) -> Self {
        ScriptedReply {
            delay: Duration::ZERO,
            head: Head::Response {
                status,
                headers: HeaderMap::new(),
            },
            steps: Vec::new(),
        }
    }

    /// A `200` event stream whose body is `body`, in one piece.
    pub fn sse(body: impl Into<Bytes>) -> Self {
        ScriptedReply::status(200)
            .with_header("content-type", "text/event-stream")
            .with_body(body)
    }

    /// A response of `status` with a JSON body.
    pub fn json(status: u16, body: impl Into<Bytes>) -> Self {
        ScriptedReply::status(status)
            .with_header("content-type", "application/json")
            .with_body(body)
    }

    /// The connection cannot be made: the request fails before any response.
    pub fn refuse_connection() -> Self {
        ScriptedReply {
            head: Head::Fails(TransportErrorKind::Connect),
            ..ScriptedReply::status(0)
        }
    }

    /// Connecting takes longer than the transport's connect timeout.
    pub fn connect_timeout() -> Self {
        ScriptedReply {
            head: Head::Fails(TransportErrorKind::ConnectTimeout),
            ..ScriptedReply::status(0)
        }
    }

    /// The response head (or the failure) comes `delay` after the request is sent.
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Adds a response header. Panics on a name or value HTTP does not allow (a bug in the
    /// test's script).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let Head::Response { headers, .. } = &mut self.head {
            let name = HeaderName::try_from(name).expect("a valid header name");
            let value = HeaderValue::try_from(value).expect("a valid header value");
            headers.append(name, value);
        }
        self
    }

    /// Adds a piece of the body.
    pub fn with_body(mut self, piece: impl Into<Bytes>) -> Self {
        self.steps.push(Step::Piece(piece.into()));
        self
    }

    /// Adds `body` cut into pieces of at most `size` bytes.
    pub fn with_body_in_pieces(mut self, body: impl Into<Bytes>, size: usize) -> Self {
        let body = body.into();
        let size = size.max(1);
        let mut start = 0;
        while start < body.len() {
            let end = (start + size).min(body.len());
            self.steps.push(Step::Piece(body.slice(start..end)));
            start = end;
        }
        self
    }

    /// The body waits `pause` before its next piece.
    pub fn pause(mut self, pause: Duration) -> Self {
        self.steps.push(Step::Pause(pause));
        self
    }

    /// The connection breaks here: the body fails instead of going on.
    pub fn reset(mut self) -> Self {
        self.steps.push(Step::Reset);
        self
    }

    /// The body sends nothing more and never ends.
    pub fn stall(mut self) -> Self {
        self.steps.push(Step::Stall);
        self
    }
}

impl ScriptedTransport {
    /// A transport with an empty script.
    pub fn new() -> Self {
        ScriptedTransport::default()
    }

    /// Adds `reply` to the end of the script.
    pub fn with_reply(self, reply: ScriptedReply) -> Self {
        self.push(reply);
        self
    }

    /// Adds `reply` to the end of the script (for a transport already handed to a provider).
    pub fn push(&self, reply: ScriptedReply) {
        self.script().replies.push_back(reply);
    }

    /// Every request sent so far, in order.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.script().requests.clone()
    }

    /// Replies not yet played.
    pub fn replies_left(&self) -> usize {
        self.script().replies.len()
    }

    /// Bodies handed out and not yet dropped: 0 once every response has been read to its end
    /// or dropped (a cancelled stream must leave none open).
    pub fn open_bodies(&self) -> usize {
        self.shared.open_bodies.load(Ordering::SeqCst)
    }

    fn script(&self) -> MutexGuard<'_, Script> {
        // A test that panicked while holding the lock has failed already; go on with the data.
        self.shared
            .script
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Transport for ScriptedTransport {
    fn send(&self, request: HttpRequest) -> TransportFuture {
        let reply = {
            let mut script = self.script();
            script.requests.push(request);
            script.replies.pop_front()
        };
        let open_bodies = Arc::clone(&self.shared.open_bodies);
        Box::pin(async move {
            let Some(reply) = reply else {
                return Err(TransportError::new(
                    TransportErrorKind::Connect,
                    "the scripted transport has no reply left",
                ));
            };
            tokio::time::sleep(reply.delay).await;
            match reply.head {
                Head::Fails(kind) => Err(TransportError::new(kind, "scripted connection failure")),
                Head::Response { status, headers } => {
                    let body = play(reply.steps, OpenBody::new(open_bodies));
                    Ok(HttpResponse::new(status, headers, body))
                }
            }
        })
    }
}

/// Counts a body as open from its creation until it is dropped.
struct OpenBody(Arc<AtomicUsize>);

impl OpenBody {
    fn new(count: Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        OpenBody(count)
    }
}

impl Drop for OpenBody {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The body stream of a reply's steps.
fn play(steps: Vec<Step>, open: OpenBody) -> ByteStream {
    let state = (VecDeque::from(steps), open);
    Box::pin(futures::stream::unfold(Some(state), |state| async move {
        let (mut steps, open) = state?;
        loop {
            match steps.pop_front()? {
                Step::Piece(piece) => return Some((Ok(piece), Some((steps, open)))),
                Step::Pause(pause) => tokio::time::sleep(pause).await,
                Step::Reset => {
                    let error =
                        TransportError::new(TransportErrorKind::Other, "scripted connection reset");
                    return Some((Err(error), None));
                }
                Step::Stall => std::future::pending::<()>().await,
            }
        }
    }))
}
