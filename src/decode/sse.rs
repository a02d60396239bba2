//! Server-sent events framing: bytes in, complete events out (sans-IO, no futures inside).
//! `data: [DONE]` is an event like any other here: it is the OpenAI stream's end marker, not
//! SSE's, and `decoder` is what ends a completion on it (`stream` then releases the
//! connection).
//!
//! Written here rather than taken from `eventsource-stream` 0.2.3, which copies the unconsumed
//! remainder for every line (quadratic on a body that arrives in one piece), panics on a leading
//! byte-order mark, stalls on invalid UTF-8 and does not cap an event's size.
//!
//! [`SseDecoder`] handles LF, CRLF and lone CR line endings (also when a CRLF is cut between two
//! pushes), a leading BOM (or several), comment lines, multi-line `data` and the `event` field.
//! Each input byte is scanned once with `memchr`; a line that is complete inside one push is
//! read in place, and only a line cut by the network is copied, once, into a reused buffer. A
//! one-line event that arrives whole (the common case) is handed on in place; the data of any
//! other is gathered in a second reused buffer, so a warm decoder allocates nothing.

use memchr::memchr2;

/// The default cap on one event's size (its field lines together): 16 MiB.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A chat-completion chunk event is a few hundred bytes.
const TYPICAL_EVENT_BYTES: usize = 512;

/// One complete server-sent event, borrowed from the decoder until the next push.
///
/// The data is handed on as bytes, and its reader checks its UTF-8 (the chunk parser does so
/// once per event, in one pass), so the framer does not check it a second time.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The `event` field, empty when the server sent none.
    pub event: &'a str,
    /// The `data` lines joined with `\n`.
    pub data: &'a [u8],
}

impl<'a> SseEvent<'a> {
    /// The data as text, or `None` when it is not valid UTF-8.
    pub fn data_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.data).ok()
    }
}

/// Why a byte stream is not a valid event stream.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    /// An event's name is not UTF-8.
    #[error("event name at byte {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// Where the event's bytes end in the stream.
        offset: u64,
    },
    /// One event grew past the cap.
    #[error("event at byte {offset} exceeds the {limit}-byte event size limit")]
    EventTooLarge {
        /// Where the stream was when the cap was passed.
        offset: u64,
        /// The cap in bytes.
        limit: usize,
    },
}

/// A sans-IO decoder of the `text/event-stream` format.
///
/// ```
/// use fireworks_provider::SseDecoder;
///
/// let mut decoder = SseDecoder::new();
/// let mut seen = Vec::new();
/// for piece in [&b"data: {\"a\""[..], b":1}\r", b"\n\r\n: ping\n\ndata: [DONE]\n\n"] {
///     decoder.push(piece, |event| seen.push(event.data_str().unwrap().to_owned())).unwrap();
/// }
/// assert_eq!(seen, ["{\"a\":1}", "[DONE]"]);
/// ```
#[derive(Debug)]
pub struct SseDecoder {
    /// A line cut by the end of the previous push.
    partial_line: Vec<u8>,
    /// The current event's data lines, each followed by `\n`.
    data: Vec<u8>,
    /// The current event's `event` field.
    event: Vec<u8>,
    /// The last push ended in CR: a LF starting the next push ends no further line.
    skip_lf: bool,
    /// While the stream could still begin with a byte-order mark: how many of its bytes have
    /// been seen (and held back).
    bom_seen: Option<usize>,
    /// Bytes taken so far, for error positions.
    offset: u64,
    max_event_bytes: usize,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SseDecoder {
    /// A decoder with the default event size cap.
    pub fn new() -> Self {
        Self::with_max_event_bytes(DEFAULT_MAX_EVENT_BYTES)
    }

    /// A decoder that fails once one event's lines exceed `max_event_bytes`.
    pub fn with_max_event_bytes(max_event_bytes: usize) -> Self {
        SseDecoder {
            // Sized for a typical completion event, so that a stream does not grow them by
            // reallocation event after event.
            partial_line: Vec::with_capacity(TYPICAL_EVENT_BYTES),
            data: Vec::with_capacity(TYPICAL_EVENT_BYTES),
            event: Vec::new(),
            skip_lf: false,
            bom_seen: Some(0),
            offset: 0,
            max_event_bytes,
        }
    }

    /// Takes the next bytes of the stream and calls `on_event` for every event they complete,
    /// in order. After an error the decoder is in an unspecified state: drop it.
    pub fn push(
        &mut self,
        mut input: &[u8],
        mut on_event: impl FnMut(SseEvent<'_>),
    ) -> Result<(), SseError> {
        while let Some(seen) = self.bom_seen.take() {
            // The stream so far is the first `seen` bytes of a byte-order mark: see whether
            // this push completes it (dropped), extends it (wait) or breaks it (those bytes
            // were data after all). The standard drops one; a server that doubles it would
            // otherwise hide the first line behind it, so every mark at the start is dropped.
            let rest = &BOM[seen..];
            let matching = rest.iter().zip(input).take_while(|(a, b)| a == b).count();
            if matching == rest.len() {
                input = &input[matching..];
                self.offset += BOM.len() as u64;
                self.bom_seen = Some(0);
            } else if matching == input.len() {
                self.bom_seen = Some(seen + matching);
                return Ok(());
            } else {
                self.push_lines(&BOM[..seen], &mut on_event)?;
            }
        }
        self.push_lines(input, &mut on_event)
    }

    /// Whether bytes of an unfinished event are pending (the stream was cut mid-event).
    pub fn has_partial_event(&self) -> bool {
        !self.partial_line.is_empty() || !self.data.is_empty()
    }

    fn push_lines(
        &mut self,
        mut input: &[u8],
        on_event: &mut impl FnMut(SseEvent<'_>),
    ) -> Result<(), SseError> {
        if self.skip_lf && !input.is_empty() {
            self.skip_lf = false;
            if input[0] == b'\n' {
                input = &input[1..];
                self.offset += 1;
            }
        }
        while let Some(end) = memchr2(b'\n', b'\r', input) {
            let line = &input[..end];
            let mut next = end + 1;
            if input[end] == b'\r' {
                match input.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
            self.offset += next as u64;
            if self.partial_line.is_empty() {
                // The common case, a one-line event whose blank line is already here: its data
                // is handed on in place, never copied.
                if self.data.is_empty()
                    && let Some(blank) = blank_line_len(&input[next..])
                    && let (b"data", value) = split_field(line)
                {
                    self.check_size(line.len())?;
                    self.offset += blank as u64;
                    self.emit(value, on_event)?;
                    input = &input[next + blank..];
                    continue;
                }
                self.take_line(line, on_event)?;
            } else {
                let mut joined = std::mem::take(&mut self.partial_line);
                self.check_size(joined.len() + line.len())?;
                joined.extend_from_slice(line);
                let result = self.take_line(&joined, on_event);
                joined.clear();
                self.partial_line = joined;
                result?;
            }
            input = &input[next..];
        }
        if !input.is_empty() {
            self.check_size(self.partial_line.len() + input.len())?;
            self.partial_line.extend_from_slice(input);
            self.offset += input.len() as u64;
        }
        Ok(())
    }

    fn check_size(&self, line_bytes: usize) -> Result<(), SseError> {
        if self.data.len() + self.event.len() + line_bytes > self.max_event_bytes {
            return Err(SseError::EventTooLarge {
                offset: self.offset,
                limit: self.max_event_bytes,
            });
        }
        Ok(())
    }

    /// Interprets one complete line (without its terminator).
    fn take_line(
        &mut self,
        line: &[u8],
        on_event: &mut impl FnMut(SseEvent<'_>),
    ) -> Result<(), SseError> {
        if line.is_empty() {
            return self.dispatch(on_event);
        }
        // The whole line counts, however the network cut it.
        self.check_size(line.len())?;
        if line[0] == b':' {
            return Ok(()); // a comment, e.g. a keep-alive
        }
        let (field, value) = split_field(line);
        match field {
            b"data" => {
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
            }
            b"event" => {
                self.event.clear();
                self.event.extend_from_slice(value);
            }
            _ => {} // `id`, `retry` and unknown fields mean nothing to a completion stream
        }
        Ok(())
    }

    fn dispatch(&mut self, on_event: &mut impl FnMut(SseEvent<'_>)) -> Result<(), SseError> {
        if self.data.is_empty() {
            self.event.clear();
            return Ok(());
        }
        let data = std::mem::take(&mut self.data);
        let result = self.emit(&data[..data.len() - 1], on_event);
        self.data = data;
        self.data.clear();
        result
    }

    /// Hands one event on and forgets its `event` field.
    fn emit(
        &mut self,
        data: &[u8],
        on_event: &mut impl FnMut(SseEvent<'_>),
    ) -> Result<(), SseError> {
        let event = std::str::from_utf8(&self.event).map_err(|_| SseError::InvalidUtf8 {
            offset: self.offset,
        })?;
        on_event(SseEvent { event, data });
        self.event.clear();
        Ok(())
    }
}

/// A line's field name and value (one leading space dropped from the value).
fn split_field(line: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b':', line) {
        Some(colon) => {
            let value = &line[colon + 1..];
            (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
        }
        None => (line, &[][..]),
    }
}

/// The length of the blank line `rest` starts with (its terminator), if it starts with one
/// whose end is known.
fn blank_line_len(rest: &[u8]) -> Option<usize> {
    match rest {
        [b'\n', ..] => Some(1),
        [b'\r', b'\n', ..] => Some(2),
        [b'\r', _, ..] => Some(1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_pieces(pieces: &[&[u8]]) -> Result<Vec<(String, String)>, SseError> {
        let mut decoder = SseDecoder::new();
        let mut events = Vec::new();
        for piece in pieces {
            decoder.push(piece, |e| {
                events.push((
                    e.event.to_owned(),
                    String::from_utf8_lossy(e.data).into_owned(),
                ))
            })?;
        }
        Ok(events)
    }

    fn data_of(pieces: &[&[u8]]) -> Vec<String> {
        decode_pieces(pieces)
            .unwrap()
            .into_iter()
            .map(|(_, d)| d)
            .collect()
    }

    #[test]
    fn all_three_line_endings_frame_events() {
        for body in [
            &b"data: a\n\ndata: b\n\n"[..],
            b"data: a\r\n\r\ndata: b\r\n\r\n",
            b"data: a\r\rdata: b\r\r",
        ] {
            assert_eq!(data_of(&[body]), ["a", "b"], "{body:?}");
            let bytes: Vec<&[u8]> = body.chunks(1).collect();
            assert_eq!(data_of(&bytes), ["a", "b"], "byte by byte {body:?}");
        }
    }

    #[test]
    fn crlf_cut_between_pushes_is_one_line_ending() {
        // A CR at the end of a push, its LF at the start of the next: one blank line would end
        // the event, two would not change anything, so check the event ends exactly once.
        assert_eq!(
            data_of(&[b"data: a\r", b"\n\r", b"\ndata: b\n\n"]),
            ["a", "b"]
        );
        assert_eq!(data_of(&[b"data: a\r", b"\ndata: b\n\n"]), ["a\nb"]);
    }

    #[test]
    fn bom_is_dropped_even_when_split() {
        assert_eq!(data_of(&[b"\xEF\xBB\xBFdata: x\n\n"]), ["x"]);
        assert_eq!(data_of(&[b"\xEF", b"\xBB", b"\xBFdata: x\n\n"]), ["x"]);
        // Bytes that merely start like a BOM are kept.
        assert_eq!(data_of(&[b"\xEF", b"data: x\n\n"]).len(), 0);
        assert_eq!(data_of(&[b"da", b"ta: x\n\n"]), ["x"]);
    }

    #[test]
    fn repeated_boms_at_the_start_are_all_dropped_however_they_are_cut() {
        let body = b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n";
        for cut in 0..=body.len() {
            let (head, tail) = body.split_at(cut);
            assert_eq!(data_of(&[head, tail]), ["x", "y"], "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(data_of(&bytes), ["x", "y"]);
        // Only at the start: a mark later on is part of its line.
        assert_eq!(
            data_of(&[b"\xEF\xBB\xBFdata: x\n\n\xEF\xBB\xBFdata: y\n\n"]),
            ["x"]
        );
    }

    #[test]
    fn comments_fields_and_multiline_data() {
        let events =
            decode_pieces(&[b": keep-alive\nevent: error\ndata: one\ndata:two\nid: 7\n\n"])
                .unwrap();
        assert_eq!(events, [("error".to_owned(), "one\ntwo".to_owned())]);
        // A blank line with no data dispatches nothing.
        assert!(decode_pieces(&[b": ping\n\n\n"]).unwrap().is_empty());
    }

    #[test]
    fn invalid_utf8_data_is_passed_on_for_the_parser_to_reject() {
        let mut decoder = SseDecoder::new();
        let mut seen = Vec::new();
        decoder
            .push(b"data: ok\n\ndata: \xFF\n\n", |e| {
                seen.push(e.data_str().map(str::to_owned))
            })
            .unwrap();
        assert_eq!(seen, [Some("ok".to_owned()), None]);
        let err = decode_pieces(&[b"event: \xFF\ndata: x\n\n"]).unwrap_err();
        assert!(matches!(err, SseError::InvalidUtf8 { .. }), "{err:?}");
    }

    #[test]
    fn event_size_is_capped_however_it_arrives() {
        let body = format!("data: {}\n\n", "x".repeat(100));
        let mut whole = SseDecoder::with_max_event_bytes(64);
        assert!(matches!(
            whole.push(body.as_bytes(), |_| {}),
            Err(SseError::EventTooLarge { limit: 64, .. })
        ));
        let mut drip = SseDecoder::with_max_event_bytes(64);
        let result: Result<(), SseError> = body
            .as_bytes()
            .chunks(3)
            .try_for_each(|piece| drip.push(piece, |_| {}));
        assert!(matches!(result, Err(SseError::EventTooLarge { .. })));
        // Many data lines each under the cap still add up to too much.
        let lines = "data: 0123456789\n".repeat(10);
        let mut many = SseDecoder::with_max_event_bytes(64);
        assert!(many.push(lines.as_bytes(), |_| {}).is_err());
    }

    #[test]
    fn the_cap_does_not_depend_on_where_the_network_cuts() {
        let body = format!("data: {}\n\n", "x".repeat(58)); // a 64-byte line
        for limit in [63, 64, 70] {
            let whole = SseDecoder::with_max_event_bytes(limit)
                .push(body.as_bytes(), |_| {})
                .is_ok();
            for cut in 1..body.len() {
                let mut decoder = SseDecoder::with_max_event_bytes(limit);
                let (head, tail) = body.as_bytes().split_at(cut);
                let ok = decoder.push(head, |_| {}).is_ok() && decoder.push(tail, |_| {}).is_ok();
                assert_eq!(ok, whole, "limit {limit}, cut at {cut}");
            }
            assert_eq!(whole, limit >= 64, "limit {limit}");
        }
    }

    #[test]
    fn partial_event_is_reported() {
        let mut decoder = SseDecoder::new();
        decoder.push(b"data: {\"a\"", |_| {}).unwrap();
        assert!(decoder.has_partial_event());
        decoder.push(b"}\n\n", |_| {}).unwrap();
        assert!(!decoder.has_partial_event());
    }
}
