//! Comparing the request a host now builds with the recorded one, and [`RequestDifference`],
//! the first place where they part, told readably.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

use super::RequestFile;
use crate::transport::seam::HttpRequest;

/// How much of a value a difference shows, in characters.
const SHOWN_CHARS: usize = 60;
/// How many characters before the first differing one a difference shows of two strings.
const CONTEXT_CHARS: usize = 20;

/// The first difference between a request the host sent during a replay and the recorded
/// request at the same place, from
/// [`ReplayTransport::check_requests`](super::ReplayTransport::check_requests).
///
/// Its `Display` names the exchange, the field and both values, cut to a readable length:
/// `request 0003: messages[3].content: recorded "…the file lists 12 crates" (cut), now "…the
/// file lists 13 crates" (cut)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestDifference {
    exchange: usize,
    field: String,
    recorded: String,
    now: String,
}

impl RequestDifference {
    /// The exchange's number in the recording (1 for `0001.request.json`).
    pub fn exchange(&self) -> usize {
        self.exchange
    }

    /// Where the requests differ: `method`, `url path`, `body`, or a path into the JSON body
    /// such as `messages[3].content` or `tools[0].function.name`.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The recorded value as shown (JSON, cut; `(absent)` when the field was not there).
    pub fn recorded(&self) -> &str {
        &self.recorded
    }

    /// The value the host sent now, shown the same way.
    pub fn now(&self) -> &str {
        &self.now
    }

    /// A request sent after the recording's last exchange.
    pub(super) fn beyond_recording(exchange: usize, request: &HttpRequest) -> Self {
        RequestDifference {
            exchange,
            field: "request".to_owned(),
            recorded: format!("(absent: the recording holds {} exchanges)", exchange - 1),
            now: format!("{} {}", request.method, url_path(&request.url)),
        }
    }
}

impl fmt::Display for RequestDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "request {:04}: {}: recorded {}, now {}",
            self.exchange, self.field, self.recorded, self.now
        )
    }
}

impl std::error::Error for RequestDifference {}

/// The parts of a recorded request a replay compares.
#[derive(Debug)]
pub(super) struct RecordedRequest {
    method: String,
    url: String,
    body: Body,
}

#[derive(Debug, PartialEq)]
enum Body {
    Empty,
    Json(Value),
    Text(String),
}

impl RecordedRequest {
    /// The comparable parts of a request file; `Err` says what is wrong with it.
    pub(super) fn from_file(file: RequestFile) -> Result<Self, String> {
        let body = match (file.body, file.body_text) {
            (Some(json), _) => {
                Body::Json(serde_json::from_str(json.get()).map_err(|err| format!("body: {err}"))?)
            }
            (None, Some(text)) => Body::Text(text),
            (None, None) => Body::Empty,
        };
        Ok(RecordedRequest {
            method: file.method,
            url: file.url,
            body,
        })
    }

    /// The first difference between this recorded request (exchange `exchange`) and `now`.
    /// The URL's origin is not compared (a recording made against a loopback server replays
    /// under any base URL), nor are headers (their secrets are not recorded).
    pub(super) fn first_difference(
        &self,
        exchange: usize,
        now: &HttpRequest,
    ) -> Option<RequestDifference> {
        let difference = |field: &str, recorded: String, now: String| RequestDifference {
            exchange,
            field: field.to_owned(),
            recorded,
            now,
        };
        if self.method != now.method.as_str() {
            return Some(difference(
                "method",
                self.method.clone(),
                now.method.to_string(),
            ));
        }
        let (recorded_path, now_path) = (url_path(&self.url), url_path(&now.url));
        if recorded_path != now_path {
            let (recorded, now) = show_pair(recorded_path, now_path);
            return Some(difference("url path", recorded, now));
        }
        let now_body = body_of(now);
        match (&self.body, &now_body) {
            (Body::Json(recorded), Body::Json(now)) => {
                let mut path = String::new();
                let (recorded, now) = body_difference(recorded, now, &mut path)?;
                let field = if path.is_empty() { "body" } else { &path };
                Some(difference(field, recorded, now))
            }
            (recorded, now) if recorded != now => {
                Some(difference("body", show_body(recorded), show_body(now)))
            }
            _ => None,
        }
    }
}

/// The body of a request the host sent, read as the recording reads its own.
fn body_of(request: &HttpRequest) -> Body {
    if request.body.is_empty() {
        return Body::Empty;
    }
    match serde_json::from_slice(&request.body) {
        Ok(json) => Body::Json(json),
        Err(_) => Body::Text(String::from_utf8_lossy(&request.body).into_owned()),
    }
}

fn show_body(body: &Body) -> String {
    match body {
        Body::Empty => "(empty)".to_owned(),
        Body::Json(json) => show(json),
        Body::Text(text) => show(&Value::String(text.clone())),
    }
}

/// The path and query of `url`, without its origin.
fn url_path(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map_or("/", |slash| &after_scheme[slash..])
}

/// Where two request bodies first differ. The conversation comes first: a changed message
/// also changes fields computed from it (an estimated `max_tokens`), which come before
/// `messages` in name order but say less.
fn body_difference(recorded: &Value, now: &Value, path: &mut String) -> Option<(String, String)> {
    const FIRST: &str = "messages";
    if let (Some(a), Some(b)) = (recorded.get(FIRST), now.get(FIRST)) {
        path.push_str(FIRST);
        if let Some(found) = json_difference(a, b, path) {
            return Some(found);
        }
        path.clear();
    }
    json_difference(recorded, now, path)
}

/// Where two JSON values first differ: the path (appended to `path`) and both values shown.
fn json_difference(recorded: &Value, now: &Value, path: &mut String) -> Option<(String, String)> {
    match (recorded, now) {
        (Value::Object(recorded), Value::Object(now)) => {
            let keys: BTreeSet<&String> = recorded.keys().chain(now.keys()).collect();
            let children = keys
                .into_iter()
                .map(|key| (Step::Key(key), recorded.get(key), now.get(key)));
            first_child_difference(children, path)
        }
        (Value::Array(recorded), Value::Array(now)) => {
            let children = (0..recorded.len().max(now.len()))
                .map(|index| (Step::Index(index), recorded.get(index), now.get(index)));
            first_child_difference(children, path)
        }
        (Value::String(a), Value::String(b)) if a != b => Some(show_pair(a, b)),
        (a, b) if a != b => Some((show(a), show(b))),
        _ => None,
    }
}

/// `.key`, or `["key"]` for a key that is not a plain name.
/// One step down a JSON value: a member's key or an element's index.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// The first difference among the children of two objects or arrays: each child's step and
/// its value on either side (`None`: absent there).
fn first_child_difference<'a>(
    children: impl Iterator<Item = (Step<'a>, Option<&'a Value>, Option<&'a Value>)>,
    path: &mut String,
) -> Option<(String, String)> {
    for (step, recorded, now) in children {
        let depth = path.len();
        match step {
            Step::Key(key) => push_key(path, key),
            Step::Index(index) => path.push_str(&format!("[{index}]")),
        }
        match (recorded, now) {
            (Some(a), Some(b)) => {
                if let Some(found) = json_difference(a, b, path) {
                    return Some(found);
                }
            }
            (a, b) => return Some((show_present(a), show_present(b))),
        }
        path.truncate(depth);
    }
    None
}

fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&Value::String(key.to_owned()).to_string());
        path.push(']');
    }
}

fn show_present(value: Option<&Value>) -> String {
    value.map_or_else(|| "(absent)".to_owned(), show)
}

/// A value as compact JSON, cut after [`SHOWN_CHARS`] characters.
fn show(value: &Value) -> String {
    match value {
        Value::String(text) => show_window(text, 0),
        other => {
            let text = other.to_string();
            match text.char_indices().nth(SHOWN_CHARS) {
                Some((cut, _)) => format!("{}… (cut)", &text[..cut]),
                None => text,
            }
        }
    }
}

/// Two strings, each shown from a little before the first character where they differ.
fn show_pair(recorded: &str, now: &str) -> (String, String) {
    let same = recorded
        .chars()
        .zip(now.chars())
        .take_while(|(a, b)| a == b)
        .count();
    let start = same.saturating_sub(CONTEXT_CHARS);
    (show_window(recorded, start), show_window(now, start))
}

/// `text` from character `start`, at most [`SHOWN_CHARS`] of it, as a JSON string, with `…`
/// where it was cut and `(cut)` after it when anything was left out.
fn show_window(text: &str, start: usize) -> String {
    let total = text.chars().count();
    let end = (start + SHOWN_CHARS).min(total);
    let shown: String = text.chars().skip(start).take(end - start).collect();
    let lead = if start > 0 { "…" } else { "" };
    let tail = if end < total { "…" } else { "" };
    let quoted = Value::String(format!("{lead}{shown}{tail}")).to_string();
    if start > 0 || end < total {
        format!("{quoted} (cut)")
    } else {
        quoted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn first(recorded: Value, now: Value) -> Option<(String, String, String)> {
        let mut path = String::new();
        json_difference(&recorded, &now, &mut path).map(|(a, b)| (path, a, b))
    }

    #[test]
    fn names_the_message_index_and_field() {
        let recorded = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}, {"role": "tool", "content": "a.rs\nb.rs"}]});
        let now = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}, {"role": "tool", "content": "a.rs\nc.rs"}]});
        let (path, a, b) = first(recorded, now).unwrap();
        assert_eq!(path, "messages[1].content");
        assert_eq!(a, r#""a.rs\nb.rs""#);
        assert_eq!(b, r#""a.rs\nc.rs""#);
    }

    #[test]
    fn a_changed_message_comes_before_what_follows_from_it() {
        let recorded = json!({"max_tokens": 100, "messages": [{"content": "a"}]});
        let now = json!({"max_tokens": 90, "messages": [{"content": "ab"}]});
        let mut path = String::new();
        body_difference(&recorded, &now, &mut path).unwrap();
        assert_eq!(path, "messages[0].content");
    }

    #[test]
    fn a_long_string_is_shown_around_where_it_differs() {
        let head = "x".repeat(200);
        let (a, b) = show_pair(&format!("{head}recorded tail"), &format!("{head}now"));
        assert_eq!(a, format!("\"…{}recorded tail\" (cut)", "x".repeat(20)));
        assert_eq!(b, format!("\"…{}now\" (cut)", "x".repeat(20)));
    }

    #[test]
    fn missing_and_added_fields_and_items() {
        let (path, a, b) = first(json!({"a": [1, 2]}), json!({"a": [1]})).unwrap();
        assert_eq!(
            (path.as_str(), a.as_str(), b.as_str()),
            ("a[1]", "2", "(absent)")
        );
        let (path, a, b) = first(json!({}), json!({"odd key": true})).unwrap();
        assert_eq!(
            (path.as_str(), a.as_str(), b.as_str()),
            (r#"["odd key"]"#, "(absent)", "true")
        );
        assert_eq!(first(json!({"a": 1.5}), json!({"a": 1.5})), None);
    }

    #[test]
    fn the_origin_is_not_compared() {
        assert_eq!(
            url_path("http://127.0.0.1:4000/v1/chat/completions"),
            "/v1/chat/completions"
        );
        assert_eq!(url_path("https://api.fireworks.ai"), "/");
    }
}
