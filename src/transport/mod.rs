//! Everything between a built request body and the response's bytes: the seam
//! ([`Transport`]: send one request, get its status, headers and body as bytes), the reqwest
//! implementation behind it, sending and checking a status (`http`), reading bodies under
//! deadlines and size caps, the timeouts, and the retry policy and loop (`retry`), and record
//! and replay at the seam (`recording`); what the response headers report (`server_report`).
//!
//! Deadlines and caps live here, above the seam, so that no transport can bypass them.

pub(crate) mod http;
mod recording;
mod reqwest_transport;
pub(crate) mod retry;
#[cfg(feature = "test-support")]
mod scripted;
mod seam;
pub(crate) mod server_report;
pub(crate) mod timeouts;

pub use recording::{RecordingError, RecordingTransport, ReplayTransport, RequestDifference};
pub use reqwest_transport::ReqwestTransport;
#[cfg(feature = "test-support")]
pub use scripted::{ScriptedReply, ScriptedTransport};
pub use seam::{
    ByteStream, HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind,
    TransportFuture,
};
