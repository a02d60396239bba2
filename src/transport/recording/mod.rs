//! Record and replay at the transport seam: [`RecordingTransport`] writes every exchange that
//! passes through it to a folder, [`ReplayTransport`] serves such a folder back offline through
//! the real decode path, and [`RequestDifference`] says where a request the host now builds
//! departs from the recorded one. This module owns the folder format; `record`, `replay`,
//! `compare`, `redact` and `indent` each do one part of the job.
//!
//! The folder format is documented on [`RecordingTransport`], where a host meets it.

mod compare;
mod indent;
mod record;
mod redact;
mod replay;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::seam::TransportErrorKind;

pub use compare::RequestDifference;
pub use record::RecordingTransport;
pub use replay::ReplayTransport;

/// The name of the file that marks a folder as a recording.
const MARKER_FILE: &str = "recording.json";
/// What `recording.json` says the folder is.
const FORMAT_NAME: &str = "fireworks-provider recording";
/// The version of the format this crate writes and reads.
const FORMAT_VERSION: u32 = 1;

/// The contents of `recording.json`.
#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    format: String,
    version: u32,
}

impl Marker {
    fn current() -> Self {
        Marker {
            format: FORMAT_NAME.to_owned(),
            version: FORMAT_VERSION,
        }
    }
}

/// `NNNN.request.json`.
#[derive(Debug, Serialize, Deserialize)]
struct RequestFile {
    method: String,
    url: String,
    headers: Headers,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body_text: Option<String>,
}

/// `NNNN.response.json`.
#[derive(Debug, Serialize, Deserialize)]
struct ResponseFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Headers::is_empty")]
    headers: Headers,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body_end: Option<BodyEnd>,
    /// The piece sizes, kept on one line (a `Vec` would take a line per number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pieces: Option<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<RecordedError>,
}

/// Header names and values in name order.
type Headers = std::collections::BTreeMap<String, String>;

/// How a recorded body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum BodyEnd {
    /// Still arriving when the recording stopped.
    Streaming,
    /// Read to its end.
    Complete,
    /// The connection broke.
    Failed,
    /// The host stopped reading before the end.
    Unfinished,
}

/// A transport failure as written to disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RecordedError {
    kind: RecordedErrorKind,
    message: String,
}

/// [`TransportErrorKind`] as written to disk.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RecordedErrorKind {
    Connect,
    ConnectTimeout,
    Other,
}

impl From<TransportErrorKind> for RecordedErrorKind {
    fn from(kind: TransportErrorKind) -> Self {
        match kind {
            TransportErrorKind::Connect => RecordedErrorKind::Connect,
            TransportErrorKind::ConnectTimeout => RecordedErrorKind::ConnectTimeout,
            TransportErrorKind::Other => RecordedErrorKind::Other,
        }
    }
}

impl From<RecordedErrorKind> for TransportErrorKind {
    fn from(kind: RecordedErrorKind) -> Self {
        match kind {
            RecordedErrorKind::Connect => TransportErrorKind::Connect,
            RecordedErrorKind::ConnectTimeout => TransportErrorKind::ConnectTimeout,
            RecordedErrorKind::Other => TransportErrorKind::Other,
        }
    }
}

/// The request file of exchange `number`.
fn request_file_name(number: usize) -> String {
    format!("{number:04}.request.json")
}

/// The response head file of exchange `number`.
fn response_file_name(number: usize) -> String {
    format!("{number:04}.response.json")
}

/// The body file of exchange `number`: `.sse` for an event stream, `.body` otherwise.
fn body_file_name(number: usize, event_stream: bool) -> String {
    let extension = if event_stream { "sse" } else { "body" };
    format!("{number:04}.response.{extension}")
}

/// A recording that cannot be started or read: which file, and what is wrong with it.
#[derive(Debug)]
pub struct RecordingError {
    path: PathBuf,
    message: String,
}

impl RecordingError {
    fn new(path: &Path, message: impl Into<String>) -> Self {
        RecordingError {
            path: path.to_owned(),
            message: message.into(),
        }
    }

    fn io(path: &Path, doing: &str, err: &std::io::Error) -> Self {
        RecordingError::new(path, format!("could not {doing}: {err}"))
    }

    /// The file or folder the error is about.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Display for RecordingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for RecordingError {}
