//! The [`ApiStream`] state machine: starts the response and reads it up to its first event
//! (with retries, before any output), reads the rest under the idle timeout, and hands the bytes
//! to the [`StreamDecoder`].
//!
//! Data flows one way: response bytes → decoder → queue of chunks → host. The stream is lazy
//! (nothing is sent before the first poll) and owns the response, so dropping it closes the
//! connection. Once an event has arrived, nothing is ever sent again: a failure then ends the
//! stream with an error after every chunk already decoded. When `[DONE]` arrives the stream ends
//! with its last chunks, whatever the server does with the connection afterwards.
//!
//! Each stream runs inside its GenAI `chat` tracing span (see `telemetry`), which records the
//! attempts, the status, the response id, the time to the first event, the tokens, the finish
//! reason and the error; retries and errors are events in it. Each [`Usage`] passing through
//! gets the model id and the prompt-cache report ([`UsageNotes`]). Nothing here ever sees the
//! key.

use std::collections::VecDeque;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::time::Duration;

use futures::{Stream, StreamExt, stream};
use tokio::time::Instant;
use tracing::{Instrument, Span};

use crate::decode::StreamDecoder;
use crate::error::classify::request_id;
use crate::error::redact::Secrets;
use crate::error::{Error, TimeoutKind};
use crate::host::cache_report::PrefixCheck;
use crate::host::{ApiChunk, ApiStream, FinishReason, Usage};
use crate::telemetry;
use crate::transport::http::{self, Body, Response};
use crate::transport::retry::{Attempt, RetryPolicy, retrying};
use crate::transport::server_report;
use crate::transport::timeouts::{Deadline, Timeouts};

type Attempts = Pin<Box<dyn Stream<Item = Attempt<FirstEvent>> + Send>>;

/// One completion in flight.
struct Session {
    state: State,
    /// Chunks decoded but not yet handed to the host; they come before anything `state` says.
    pending: VecDeque<ApiChunk>,
    timeouts: Timeouts,
    /// Cut out of every error (and so of every `Retrying` reason and log line).
    secrets: Secrets,
    span: Span,
    notes: UsageNotes,
}

/// What the provider adds to the completion's [`Usage`].
pub(crate) struct UsageNotes {
    /// The model id sent.
    pub model: String,
    /// The request compared with the previous one under its cache key, when the cache report
    /// is on and the request has a key.
    pub prefix: Option<PrefixCheck>,
}

impl UsageNotes {
    fn apply(&mut self, usage: &mut Usage) {
        usage.model = Some(self.model.clone());
        if let Some(prefix) = self.prefix.take() {
            usage.cache_report = Some(Box::new(prefix.report(usage.cache_read_tokens)));
        }
    }
}

/// Where a completion stands.
enum State {
    /// Sending the request and reading up to the first event, again after a retryable failure.
    Starting(Attempts),
    /// Reading the body of a stream whose first event has arrived (boxed: the decoder is large,
    /// the other states small).
    Reading(Box<Reading>),
    /// The stream failed; the error is its last item.
    Failed(Error),
    /// The completion is complete; once its last chunks are out, its connection goes back to
    /// the pool (see [`release`]).
    Releasing(Body),
    /// Nothing more.
    Done,
}

/// A started stream's body and what it has said so far.
struct Reading {
    body: Body,
    decoder: StreamDecoder,
    /// When the last complete event arrived: the idle timeout counts from here.
    last_event_at: Instant,
}

/// The outcome of an attempt that got as far as the first event.
struct FirstEvent {
    /// The response status.
    status: u16,
    /// From sending the request to the first event.
    waited: Duration,
    /// The response id its first event carried.
    response_id: Option<String>,
    /// The chunks decoded from the bytes read so far.
    chunks: Vec<ApiChunk>,
    /// How the stream goes on.
    next: State,
}

/// Builds the stream of one completion. `send` sends the request (given the attempt number) and
/// resolves, once the response status is known to be a success, to the response and the
/// deadline of its first event; `new_decoder` makes the decoder for each attempt's body. The
/// stream runs in `span` (see [`telemetry::chat_span`]); `notes` go into its usage. No secret of
/// `secrets` is left in an error, a `Retrying` chunk, a server's text in a chunk or a log line of
/// the stream.
pub(crate) fn completion_stream<S, Fut, D>(
    mut send: S,
    new_decoder: D,
    retry: RetryPolicy,
    timeouts: Timeouts,
    secrets: Secrets,
    span: Span,
    notes: UsageNotes,
) -> ApiStream
where
    S: FnMut(u32) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(Response, Deadline), Error>> + Send + 'static,
    D: Fn() -> StreamDecoder + Send + 'static,
{
    let attempt_secrets = secrets.clone();
    let attempt = move |number: u32| {
        let sending = send(number);
        let decoder = new_decoder();
        let secrets = attempt_secrets.clone();
        async move {
            let started = async {
                let (response, deadline) = sending.await?;
                read_first_event(response, decoder, deadline, timeouts).await
            };
            // Before the retry loop words its `Retrying` reason from the error.
            started.await.map_err(|error| secrets.error(error))
        }
    };
    let session = Session {
        state: State::Starting(Box::pin(retrying(retry, attempt))),
        pending: VecDeque::new(),
        timeouts,
        secrets,
        span,
        notes,
    };
    Box::pin(stream::unfold(session, |mut session| async move {
        let span = session.span.clone();
        let item = session.next().instrument(span).await?;
        Some((item, session))
    }))
}

/// Reads a started response until its first complete event, under the first-event deadline.
/// A failure before that event (a timeout, a broken connection, a body that ends) is this
/// attempt's error, so the retry loop may send the request again; nothing has been output.
async fn read_first_event(
    response: Response,
    mut decoder: StreamDecoder,
    deadline: Deadline,
    timeouts: Timeouts,
) -> Result<FirstEvent, Error> {
    let status = response.status;
    // The server's id of this request comes first, then what its headers report, before
    // anything decoded.
    let mut chunks: Vec<ApiChunk> = request_id(&response.headers)
        .map(ApiChunk::RequestId)
        .into_iter()
        .chain(
            server_report::server_report(&response.headers)
                .map(|report| ApiChunk::ServerReport(Box::new(report))),
        )
        .collect();
    let mut body = response.body;
    loop {
        let (result, ended) = match body.next(deadline, &timeouts).await? {
            Some(bytes) => (decoder.push(&bytes, &mut chunks), false),
            None => (decoder.finish(&mut chunks), true),
        };
        if decoder.events() == 0 {
            result?;
            continue;
        }
        let now = Instant::now();
        let response_id = decoder.response_id().map(str::to_owned);
        let reading = Box::new(Reading {
            body,
            decoder,
            last_event_at: now,
        });
        return Ok(FirstEvent {
            status,
            response_id,
            waited: now.saturating_duration_since(deadline.at - timeouts.first_event),
            chunks,
            next: reading.after(result, ended),
        });
    }
}

impl Session {
    async fn next(&mut self) -> Option<Result<ApiChunk, Error>> {
        loop {
            if let Some(mut chunk) = self.pending.pop_front() {
                match &mut chunk {
                    // The server's words, not the model's: a reason the crate does not know, a
                    // request id from a header.
                    ApiChunk::Finish(FinishReason::Other(text)) | ApiChunk::RequestId(text) => {
                        self.secrets.scrub(text);
                    }
                    ApiChunk::Usage(usage) => self.notes.apply(usage),
                    _ => {}
                }
                telemetry::record_chunk(&self.span, &chunk);
                return Some(Ok(chunk));
            }
            match mem::replace(&mut self.state, State::Done) {
                State::Done => return None,
                State::Failed(error) => {
                    telemetry::record_error(&self.span, &error);
                    return Some(Err(error));
                }
                State::Starting(mut attempts) => match attempts.next().await {
                    Some(Attempt::Retrying(notice)) => {
                        self.state = State::Starting(attempts);
                        telemetry::record_chunk(&self.span, &notice);
                        return Some(Ok(notice));
                    }
                    Some(Attempt::Done(Ok(first))) => {
                        telemetry::record_first_event(
                            &self.span,
                            first.status,
                            first.waited,
                            first
                                .response_id
                                .as_deref()
                                .map(|id| self.secrets.scrubbed(id))
                                .as_deref(),
                        );
                        self.pending.extend(first.chunks);
                        self.state = self.without_secrets(first.next);
                    }
                    Some(Attempt::Done(Err(error))) => self.state = State::Failed(error),
                    None => {}
                },
                State::Releasing(body) => {
                    release(body, self.timeouts).await;
                    return None;
                }
                State::Reading(reading) => {
                    let mut out = Vec::from(mem::take(&mut self.pending));
                    let next = reading.read(&mut out, &self.timeouts).await;
                    self.state = self.without_secrets(next);
                    self.pending = VecDeque::from(out);
                }
            }
        }
    }

    /// `state`, its error (if it is one) without any secret.
    fn without_secrets(&self, state: State) -> State {
        match state {
            State::Failed(error) => State::Failed(self.secrets.error(error)),
            state => state,
        }
    }
}

impl Reading {
    /// Reads the next piece of the body, decodes it into `out` and says how the stream goes on.
    /// The read must end within the idle timeout of the last complete event.
    async fn read(mut self: Box<Self>, out: &mut Vec<ApiChunk>, timeouts: &Timeouts) -> State {
        let deadline = timeouts.deadline(TimeoutKind::Idle, self.last_event_at);
        let events_before = self.decoder.events();
        let (result, ended) = match self.body.next(deadline, timeouts).await {
            Ok(Some(bytes)) => (self.decoder.push(&bytes, out), false),
            // The body ended: complete if a finish reason came, else interrupted.
            Ok(None) => (self.decoder.finish(out), true),
            // The connection failed or went quiet: complete if a finish reason came already.
            Err(error) => {
                let events = self.decoder.events();
                let result = self.decoder.finish(out).map_err(|_| match error {
                    Error::Network { message, .. } => Error::StreamInterrupted {
                        message: format!("the connection failed after {events} events: {message}"),
                    },
                    other => other,
                });
                (result, true)
            }
        };
        if self.decoder.events() > events_before {
            self.last_event_at = Instant::now();
        }
        self.after(result, ended)
    }

    /// The state after decoding a piece of the body (or its end) gave `result`. A completion
    /// that is done ends the stream once its last chunks are out, releasing its connection.
    fn after(self: Box<Self>, result: Result<(), Error>, ended: bool) -> State {
        match result {
            Err(error) => State::Failed(error),
            Ok(()) if self.decoder.is_done() => State::Releasing(self.body),
            Ok(()) if ended => State::Done,
            Ok(()) => State::Reading(self),
        }
    }
}

/// How long a finished response may take to send the end of its body (the chunked encoding's
/// last chunk) so that its connection can be reused.
const RELEASE_WAIT: Duration = Duration::from_secs(2);

/// Gives a finished response's connection back to the pool without making the host wait. The
/// end of the body is normally here already (it travels with `[DONE]`): then it is read at once
/// and hyper's own tasks, which put the connection back, get a turn to run, so that the host's
/// next request finds it. A body whose end is not here yet is left to a background task that
/// reads it for at most [`RELEASE_WAIT`]; the stream does not wait for it. Outside a tokio
/// runtime the response is dropped, closing the connection.
async fn release(mut body: Body, timeouts: Timeouts) {
    /// Times the end of the body is looked for before it is left to the background.
    const QUICK_LOOKS: usize = 4;
    for _ in 0..QUICK_LOOKS {
        match body.next_if_ready() {
            Some(Ok(None)) => {
                // The pool takes the connection back in hyper's tasks: a turn or two for them.
                tokio::task::yield_now().await;
                tokio::task::yield_now().await;
                return;
            }
            Some(Ok(Some(_))) => {}
            Some(Err(_)) => return,
            None => tokio::task::yield_now().await,
        }
    }
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(http::drain(body, timeouts, RELEASE_WAIT));
    }
}
