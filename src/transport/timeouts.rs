//! The provider's timeouts ([`Timeouts`]: connect, first event, idle, non-streaming) and the
//! [`Deadline`] each wait runs under. Every read from the network ends by one; the idle
//! deadline counts from the last complete event (see `stream`).

use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, TimeoutKind};

/// The provider's timeouts, built from the defaults with the `with_*` methods, for example
/// `Timeouts::default().with_idle(Duration::from_secs(60))`. There is deliberately none on a
/// whole stream: a long answer from a reasoning model can stream for many minutes.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Opening the TCP (and TLS) connection. Default 10 s: a healthy endpoint answers in well
    /// under a second.
    pub connect: Duration,
    /// From sending a streamed request to its first complete event, the response headers (and
    /// an error body, if the answer is one) included. Default 300 s: a long prompt is processed
    /// (prefill) before anything streams, and a loaded deployment queues requests; Fireworks
    /// itself gives up with a 429 when its own first-token deadline passes. Keep-alive comments
    /// do not count as an event.
    pub first_event: Duration,
    /// The longest a started stream may go without a complete event. Default 120 s: once the
    /// first event has come, tokens (reasoning included) flow continuously, so a healthy
    /// Fireworks stream is quiet for well under a second between events; a gap this long means
    /// a dead connection or a stuck server. Keep-alive comments (`: ping`, OpenRouter's
    /// `: OPENROUTER PROCESSING`) and the pieces of an unfinished event do not reset it: a
    /// server that only sends those is treated as quiet.
    pub idle: Duration,
    /// A whole non-streaming call (`list_models`, one batch of embeddings): sending, the
    /// headers and the whole body, per attempt. Default 120 s.
    pub non_streaming: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            first_event: Duration::from_secs(300),
            idle: Duration::from_secs(120),
            non_streaming: Duration::from_secs(120),
        }
    }
}

impl Timeouts {
    /// Sets [`Timeouts::connect`].
    pub fn with_connect(mut self, timeout: Duration) -> Self {
        self.connect = timeout;
        self
    }

    /// Sets [`Timeouts::first_event`].
    pub fn with_first_event(mut self, timeout: Duration) -> Self {
        self.first_event = timeout;
        self
    }

    /// Sets [`Timeouts::idle`].
    pub fn with_idle(mut self, timeout: Duration) -> Self {
        self.idle = timeout;
        self
    }

    /// Sets [`Timeouts::non_streaming`].
    pub fn with_non_streaming(mut self, timeout: Duration) -> Self {
        self.non_streaming = timeout;
        self
    }

    /// The configured length of the timeout `kind`.
    pub fn length(&self, kind: TimeoutKind) -> Duration {
        match kind {
            TimeoutKind::Connect => self.connect,
            TimeoutKind::FirstEvent => self.first_event,
            TimeoutKind::Idle => self.idle,
            TimeoutKind::NonStreaming => self.non_streaming,
        }
    }

    /// The deadline of `kind` counted from `start`.
    pub(crate) fn deadline(&self, kind: TimeoutKind, start: Instant) -> Deadline {
        Deadline {
            at: start + self.length(kind),
            kind,
        }
    }

    /// The error of the timeout `kind` having fired: the one place timeout errors are made.
    pub(crate) fn expired(&self, kind: TimeoutKind) -> Error {
        Error::Timeout {
            kind,
            after: self.length(kind),
        }
    }
}

/// The instant a wait must end by, and which timeout fires when it passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deadline {
    /// The instant the wait must end by.
    pub at: Instant,
    /// Which timeout it stands for.
    pub kind: TimeoutKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_timeout_kind_has_one_length_and_one_error() {
        let timeouts = Timeouts::default();
        for kind in [
            TimeoutKind::Connect,
            TimeoutKind::FirstEvent,
            TimeoutKind::Idle,
            TimeoutKind::NonStreaming,
        ] {
            let start = Instant::now();
            assert_eq!(
                timeouts.deadline(kind, start).at,
                start + timeouts.length(kind)
            );
            assert!(
                matches!(timeouts.expired(kind), Error::Timeout { kind: k, after } if k == kind && after == timeouts.length(kind))
            );
        }
    }
}
