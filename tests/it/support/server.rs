//! Scripted HTTP/1.1 test server: owns a loopback listener that replays canned
//! replies (recorded Fireworks SSE streams, error bodies) step by step, records
//! every request, and injects faults (delays, gates, stalls, resets) so tests,
//! examples and benchmarks can drive the real reqwest-based client end to end.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

/// A running scripted server; clones share the same state.
#[derive(Clone)]
pub struct TestServer {
    shared: Arc<Shared>,
}

struct Shared {
    addr: SocketAddr,
    replies: Vec<Reply>,
    next_request: AtomicUsize,
    requests: Mutex<Vec<RecordedRequest>>,
    connections: AtomicUsize,
    closed: AtomicUsize,
    // Flips to true (and stays true) once a client hangs up mid-response.
    disconnected: watch::Sender<bool>,
}

impl TestServer {
    /// Binds 127.0.0.1:0 and serves `replies` in order: request i gets replies[i];
    /// once the script is used up, the last reply is repeated. Spawned on the
    /// current tokio runtime.
    pub async fn start(replies: Vec<Reply>) -> TestServer {
        assert!(
            !replies.is_empty(),
            "TestServer::start needs at least one reply"
        );
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let shared = Arc::new(Shared {
            addr: listener.local_addr().expect("local_addr"),
            replies,
            next_request: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
            connections: AtomicUsize::new(0),
            closed: AtomicUsize::new(0),
            disconnected: watch::Sender::new(false),
        });
        let state = shared.clone();
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        state.connections.fetch_add(1, Ordering::SeqCst);
                        let _ = stream.set_nodelay(true);
                        let state = state.clone();
                        tokio::spawn(async move {
                            serve_connection(&state, stream).await;
                            state.closed.fetch_add(1, Ordering::SeqCst);
                        });
                    }
                    // Out of file descriptors and the like: back off briefly and keep going.
                    Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                }
            }
        });
        TestServer { shared }
    }

    /// The bound loopback address.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// "http://127.0.0.1:PORT/inference/v1"
    pub fn base_url(&self) -> String {
        format!("http://{}/inference/v1", self.shared.addr)
    }

    /// Requests received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Requests received so far, in arrival order, forgotten by the server (so that a long run
    /// of large requests does not accumulate their bodies).
    #[allow(dead_code, reason = "the scale bench reads it; no test needs it")]
    pub fn take_requests(&self) -> Vec<RecordedRequest> {
        std::mem::take(&mut *self.shared.requests.lock().unwrap())
    }

    /// TCP connections accepted so far.
    pub fn connections_accepted(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Accepted TCP connections the server has since closed: the client hung up, or a reply
    /// ended the connection.
    #[allow(dead_code, reason = "the scale bench reads it; no test needs it")]
    pub fn connections_closed(&self) -> usize {
        self.shared.closed.load(Ordering::SeqCst)
    }

    /// Resolves once the server has seen a client close a connection (EOF or
    /// read/write error) while a response body was still being streamed;
    /// resolves immediately if that already happened.
    pub async fn client_disconnected_midstream(&self) {
        let mut rx = self.shared.disconnected.subscribe();
        // The sender lives in `shared`, which we hold, so this cannot fail.
        let _ = rx.wait_for(|gone| *gone).await;
    }
}

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// Request method, e.g. "POST".
    pub method: String,
    /// Request target, e.g. "/inference/v1/chat/completions".
    pub path: String,
    /// Headers in arrival order, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The request body (de-chunked if it was sent chunked).
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON; panics with the body text if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "request body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// A scripted response: status line and headers, then the body steps.
#[derive(Clone, Debug)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Response headers (transfer-encoding: chunked is added unless there is a content-length,
    /// which makes the body's steps go out unframed).
    pub headers: Vec<(String, String)>,
    /// Body script, run in order.
    pub steps: Vec<Step>,
}

/// One step of a reply body.
#[derive(Clone, Debug)]
pub enum Step {
    /// Write these bytes as one HTTP chunk and flush.
    Send(Vec<u8>),
    /// Wait until the test calls `Gate::open` on this gate.
    WaitFor(Gate),
    /// Stop sending but keep the connection open until the client leaves.
    Stall,
    /// Close the TCP connection abruptly (RST) without finishing the body.
    Reset,
    /// Write these bytes as one HTTP chunk, this many times over (huge bodies).
    SendRepeated(Vec<u8>, usize),
}

/// A test-controlled latch: each `open` releases exactly one waiter, and
/// opens made before anyone waits are remembered.
#[derive(Clone, Debug)]
pub struct Gate(Arc<Semaphore>);

impl Gate {
    /// A closed gate.
    pub fn new() -> Gate {
        Gate(Arc::new(Semaphore::new(0)))
    }

    /// Releases one (current or future) waiter.
    pub fn open(&self) {
        self.0.add_permits(1);
    }

    async fn pass(&self) {
        // The semaphore is never closed; consume the permit so each open counts once.
        if let Ok(permit) = self.0.acquire().await {
            permit.forget();
        }
    }
}

impl Default for Gate {
    fn default() -> Gate {
        Gate::new()
    }
}

impl Reply {
    /// 200 text/event-stream, the whole body as one chunk.
    pub fn sse(body: impl Into<Vec<u8>>) -> Reply {
        Reply::sse_in_pieces(body, usize::MAX)
    }

    /// 200 text/event-stream, the body cut into chunks of `piece` bytes.
    pub fn sse_in_pieces(body: impl Into<Vec<u8>>, piece: usize) -> Reply {
        let body = body.into();
        Reply {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            steps: body
                .chunks(piece.max(1))
                .map(|c| Step::Send(c.to_vec()))
                .collect(),
        }
    }

    /// 200 text/event-stream with `content-encoding: gzip`, whether the client asked for it or
    /// not, the compressed body (see `support::gzip`) sent in pieces of 64 KiB.
    pub fn gzip_sse(gzip: Vec<u8>) -> Reply {
        Reply::sse_in_pieces(gzip, 64 * 1024).with_header("content-encoding", "gzip")
    }

    /// Any status with a JSON (or any text) body sent whole, content-type application/json.
    pub fn json(status: u16, body: impl Into<String>) -> Reply {
        let body = body.into();
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            steps: vec![Step::Send(body.into_bytes())],
        }
    }

    /// A redirect (`status` 3xx) to `location`, with an empty body.
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply {
            status,
            headers: vec![("location".into(), location.into())],
            steps: Vec::new(),
        }
    }

    /// Adds a header, replacing any existing one of the same name (builder style).
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// A client socket plus the bytes read from it; those before `consumed` have been used.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    consumed: usize,
}

impl Conn {
    /// Reads more bytes into `buf`; false on EOF or error. Used bytes are dropped first, so a
    /// large body is never moved once per line read before it.
    async fn fill(&mut self) -> bool {
        self.buf.drain(..self.consumed);
        self.consumed = 0;
        matches!(self.stream.read_buf(&mut self.buf).await, Ok(n) if n > 0)
    }

    /// One CRLF-terminated line, without the CRLF.
    async fn line(&mut self) -> Option<String> {
        loop {
            let unread = &self.buf[self.consumed..];
            if let Some(i) = unread.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&unread[..i]).into_owned();
                self.consumed += i + 2;
                return Some(line);
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// Exactly `n` bytes.
    async fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.buf.len() - self.consumed < n {
            if !self.fill().await {
                return None;
            }
        }
        let bytes = self.buf[self.consumed..self.consumed + n].to_vec();
        self.consumed += n;
        Some(bytes)
    }

    /// Reads one request; None when the client closed or sent garbage.
    async fn request(&mut self) -> Option<RecordedRequest> {
        let start = self.line().await?;
        let mut parts = start.split_whitespace();
        let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
        let mut headers = Vec::new();
        loop {
            let line = self.line().await?;
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':')?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        let mut req = RecordedRequest {
            method,
            path,
            headers,
            body: Vec::new(),
        };
        if req
            .header("transfer-encoding")
            .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"))
        {
            req.body = self.chunked_body().await?;
        } else if let Some(len) = req.header("content-length") {
            req.body = self.take(len.parse().ok()?).await?;
        }
        Some(req)
    }

    /// A chunked request body: hex size lines, data, then optional trailers.
    async fn chunked_body(&mut self) -> Option<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let size_line = self.line().await?;
            let size = usize::from_str_radix(size_line.split(';').next()?.trim(), 16).ok()?;
            if size == 0 {
                while !self.line().await?.is_empty() {}
                return Some(body);
            }
            body.extend(self.take(size).await?);
            self.line().await?;
        }
    }

    /// Runs `fut` while watching the socket, so a client hanging up during a
    /// wait is noticed; returns false if the client went away first.
    async fn watching(&mut self, fut: impl Future<Output = ()>) -> bool {
        let mut fut = std::pin::pin!(fut);
        loop {
            tokio::select! {
                () = &mut fut => return true,
                // Anything the client sends early is kept for the next request.
                alive = self.fill() => if !alive { return false },
            }
        }
    }

    /// Writes and flushes; false if the client went away.
    async fn write(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).await.is_ok() && self.stream.flush().await.is_ok()
    }
}

/// Serves requests on one connection until the client closes it or a step ends it.
async fn serve_connection(shared: &Shared, stream: TcpStream) {
    let mut conn = Conn {
        stream,
        buf: Vec::new(),
        consumed: 0,
    };
    while let Some(req) = conn.request().await {
        let close = req
            .header("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"));
        // Index and record under one lock so indexes follow arrival order across connections.
        let index = {
            let mut requests = shared.requests.lock().unwrap();
            requests.push(req);
            shared.next_request.fetch_add(1, Ordering::SeqCst)
        };
        let reply = &shared.replies[index.min(shared.replies.len() - 1)];
        match send_reply(&mut conn, reply).await {
            Outcome::Done if !close => continue,
            Outcome::Done => return,
            Outcome::ClientGone => {
                shared.disconnected.send_replace(true);
                return;
            }
            Outcome::Reset => {
                // SO_LINGER 0 turns the close into a TCP RST.
                let _ = conn.stream.set_zero_linger();
                return;
            }
        }
    }
}

/// How a reply ended, deciding what happens to the connection.
enum Outcome {
    Done,
    ClientGone,
    Reset,
}

/// Writes the head, runs the steps, and terminates the chunked body if the script allows.
async fn send_reply(conn: &mut Conn, reply: &Reply) -> Outcome {
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let chunked = !reply
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-length"));
    let frame = |bytes: &[u8]| -> Vec<u8> {
        if chunked {
            http_chunk(bytes)
        } else {
            bytes.to_vec()
        }
    };
    if chunked {
        head.push_str("transfer-encoding: chunked\r\n");
    }
    head.push_str("\r\n");
    if !conn.write(head.as_bytes()).await {
        return Outcome::ClientGone;
    }
    for step in &reply.steps {
        let alive = match step {
            // An empty chunk would end the body early, so skip it.
            Step::Send(bytes) if bytes.is_empty() => true,
            Step::Send(bytes) if chunked => conn.write(&http_chunk(bytes)).await,
            // Unframed, the bytes go out as they are (not copied: a large body stays one).
            Step::Send(bytes) => conn.write(bytes).await,
            Step::WaitFor(gate) => conn.watching(gate.pass()).await,
            // Only returns once the client hangs up.
            Step::Stall => conn.watching(std::future::pending()).await,
            Step::Reset => return Outcome::Reset,
            Step::SendRepeated(bytes, times) => {
                let chunk = frame(bytes);
                let mut alive = true;
                for _ in 0..*times {
                    if !conn.write(&chunk).await {
                        alive = false;
                        break;
                    }
                }
                alive
            }
        };
        if !alive {
            return Outcome::ClientGone;
        }
    }
    if !chunked || conn.write(b"0\r\n\r\n").await {
        Outcome::Done
    } else {
        Outcome::ClientGone
    }
}

/// `bytes` framed as one chunk of a chunked body (never empty: that would end the body).
fn http_chunk(bytes: &[u8]) -> Vec<u8> {
    assert!(!bytes.is_empty(), "an empty chunk would end the body");
    let mut chunk = format!("{:x}\r\n", bytes.len()).into_bytes();
    chunk.extend_from_slice(bytes);
    chunk.extend_from_slice(b"\r\n");
    chunk
}

/// Reason phrase for the status line (clients ignore it, but keep it tidy).
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}
