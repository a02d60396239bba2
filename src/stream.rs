//! The [`ApiStream`] state machine: starts the response (with retries, before any output),
//! reads the body under the first-event and idle timeouts, and hands it to the
//! [`StreamDecoder`].
//!
//! Data flows one way: response bytes → decoder → queue of chunks → host. The stream is lazy
//! (nothing is sent before the first poll) and owns the response, so dropping it closes the
//! connection. After the first response has started, nothing is ever sent again: a failure
//! then ends the stream with an error after every chunk already decoded.
//!
//! Each stream runs inside a `fireworks.completion` tracing span recording the model, the
//! attempts, the status, the time to the first event, the tokens and the finish reason;
//! retries and errors are events in it. Nothing here ever sees the key.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures::{Stream, StreamExt, stream};
use reqwest::Response;
use tokio::time::Instant;
use tracing::{Instrument, Span};

use crate::decode::StreamDecoder;
use crate::error::{Error, TimeoutKind};
use crate::http::{Timeouts, describe};
use crate::provider::{ApiChunk, ApiStream};
use crate::retry::{Attempt, RetryPolicy, retrying};

/// A started response and the deadline of its first event.
type Started = (Response, Instant);

type Attempts = Pin<Box<dyn Stream<Item = Attempt<Started>> + Send>>;

/// One completion in flight.
struct Session {
    /// Starting the response; `None` once it has started (or failed for good).
    attempts: Option<Attempts>,
    /// The response whose body is being read.
    response: Option<Response>,
    decoder: StreamDecoder,
    /// Chunks decoded but not yet handed to the host.
    pending: VecDeque<ApiChunk>,
    /// The error that ends the stream once `pending` is empty.
    failure: Option<Error>,
    /// No more items after `pending` (and `failure`).
    finished: bool,
    timeouts: Timeouts,
    /// When the first event must have arrived (the first-event timeout after sending).
    first_event_deadline: Option<Instant>,
    span: Span,
}

/// Builds the stream of one completion. `start` sends the request (given the attempt number)
/// and resolves, once the response status is known to be a success, to the response and the
/// deadline of its first event.
pub fn completion_stream<F, Fut>(
    start: F,
    retry: RetryPolicy,
    timeouts: Timeouts,
    decoder: StreamDecoder,
    model_id: &str,
) -> ApiStream
where
    F: FnMut(u32) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Started, Error>> + Send + 'static,
{
    let session = Session {
        attempts: Some(Box::pin(retrying(retry, start))),
        response: None,
        decoder,
        pending: VecDeque::new(),
        failure: None,
        finished: false,
        timeouts,
        first_event_deadline: None,
        span: tracing::info_span!(
            "fireworks.completion",
            model = model_id,
            attempts = 1u32,
            status = tracing::field::Empty,
            first_event_ms = tracing::field::Empty,
            input_tokens = tracing::field::Empty,
            output_tokens = tracing::field::Empty,
            finish = tracing::field::Empty,
        ),
    };
    Box::pin(stream::unfold(session, |mut session| async move {
        let span = session.span.clone();
        let item = session.next().instrument(span).await?;
        Some((item, session))
    }))
}

impl Session {
    async fn next(&mut self) -> Option<Result<ApiChunk, Error>> {
        loop {
            if let Some(chunk) = self.pending.pop_front() {
                self.record(&chunk);
                return Some(Ok(chunk));
            }
            if let Some(error) = self.failure.take() {
                self.finished = true;
                tracing::warn!(error = %error, "completion failed");
                return Some(Err(error));
            }
            if self.finished {
                if let Some(response) = self.response.take() {
                    release(response).await;
                }
                return None;
            }
            if let Some(attempts) = &mut self.attempts {
                match attempts.next().await {
                    Some(Attempt::Retrying(notice)) => {
                        self.record(&notice);
                        return Some(Ok(notice));
                    }
                    Some(Attempt::Done(Ok((response, first_event_deadline)))) => {
                        self.span.record("status", response.status().as_u16());
                        self.response = Some(response);
                        self.first_event_deadline = Some(first_event_deadline);
                    }
                    Some(Attempt::Done(Err(error))) => self.failure = Some(error),
                    None => self.finished = true,
                }
                self.attempts = None;
                continue;
            }
            self.read_body().await;
        }
    }

    /// Notes a chunk on the span (and retries as events).
    fn record(&self, chunk: &ApiChunk) {
        match chunk {
            ApiChunk::Retrying {
                attempt,
                delay,
                reason,
                ..
            } => {
                self.span.record("attempts", attempt + 1);
                tracing::warn!(
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    reason,
                    "retrying"
                );
            }
            ApiChunk::Usage(usage) => {
                self.span.record("input_tokens", usage.input_tokens);
                self.span.record("output_tokens", usage.output_tokens);
            }
            ApiChunk::Finish(reason) => {
                self.span.record("finish", tracing::field::debug(reason));
            }
            _ => {}
        }
    }

    /// Reads the next piece of the body and decodes it into `pending` (or sets the failure).
    async fn read_body(&mut self) {
        let Some(response) = &mut self.response else {
            self.finished = true;
            return;
        };
        let (kind, deadline) = match self.first_event_deadline {
            Some(deadline) if self.decoder.events() == 0 => (TimeoutKind::FirstEvent, deadline),
            _ => (TimeoutKind::Idle, Instant::now() + self.timeouts.idle),
        };
        let read = tokio::time::timeout_at(deadline, response.chunk()).await;
        let body_continues = matches!(read, Ok(Ok(Some(_))));
        if let Ok(Ok(Some(bytes))) = &read {
            tracing::trace!(bytes = bytes.len(), body = %String::from_utf8_lossy(bytes), "body read");
        }
        let events_before = self.decoder.events();
        let mut out = Vec::from(std::mem::take(&mut self.pending));
        let result = match read {
            Ok(Ok(Some(bytes))) => self.decoder.push(&bytes, &mut out),
            // The body ended: complete if a finish reason came, else interrupted.
            Ok(Ok(None)) => self.decoder.finish(&mut out),
            Ok(Err(err)) => self
                .decoder
                .finish(&mut out)
                .map_err(|_| Error::StreamInterrupted {
                    message: format!(
                        "the connection failed after {} events: {}",
                        self.decoder.events(),
                        describe(&err)
                    ),
                }),
            Err(_) => self.decoder.finish(&mut out).map_err(|_| Error::Timeout {
                kind,
                after: match kind {
                    TimeoutKind::FirstEvent => self.timeouts.first_event,
                    _ => self.timeouts.idle,
                },
            }),
        };
        self.pending = VecDeque::from(out);
        if events_before == 0
            && self.decoder.events() > 0
            && let Some(deadline) = self.first_event_deadline
        {
            let sent = deadline - self.timeouts.first_event;
            self.span
                .record("first_event_ms", sent.elapsed().as_millis() as u64);
        }
        match result {
            Err(error) => {
                self.failure = Some(error);
                self.response = None;
            }
            Ok(()) if self.decoder.is_done() || !body_continues => self.finished = true,
            Ok(()) => {}
        }
    }
}

/// How long a finished response may take to send the end of its body (the chunked encoding's
/// last chunk) so that its connection can be reused.
const RELEASE_WAIT: Duration = Duration::from_secs(2);

/// Reads what is left of a completed response's body (normally just the end of the chunked
/// encoding, already on its way), so the connection returns to the pool for the next request
/// instead of being closed. Runs on the poll after the last chunk: a host that stops polling
/// at `Finish` and drops the stream simply closes the connection.
async fn release(mut response: Response) {
    let drain = async { while let Ok(Some(_)) = response.chunk().await {} };
    let _ = tokio::time::timeout(RELEASE_WAIT, drain).await;
}
