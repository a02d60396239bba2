//! The hot path of chunk parsing: a strict hand-written reader for the shape nearly every event
//! has.
//!
//! [`parse`] reads an event's JSON straight into a [`WireChunk`]: the fields the stream uses are
//! matched as they come, and every other key is stepped over (checked, not built). It answers
//! only for well-formed JSON whose used fields have their usual types. On anything else (an
//! `error` key, a key with escapes, a repeated field, a number where a string belongs, malformed
//! JSON, deep nesting) it answers `None`, and the serde path, which reads every shape and words
//! every error, parses the event instead. So it never decides differently from the serde path;
//! the tests below hold it to that.
//!
//! Why it exists: with serde alone, most of the decode time was spent inside serde_json, and most
//! of an event's bytes belong to keys the stream never reads (`id`, `object`, `created`,
//! `model`, ...). This reader steps over strings eight bytes at a time and matches field names
//! directly, which brings the whole decode path to about the speed of bare serde_json parsing
//! (`cargo bench --bench decode`).

use std::borrow::Cow;

use super::super::perf_metrics;
use super::{
    WireChoice, WireChunk, WireContent, WireDelta, WireFunction, WireToolCall, WireUsage, unescape,
};
use crate::host::PerfMetrics;

/// How deeply a skipped value may nest before the event is left to the serde path. (serde_json
/// skips unread values without a limit; this one just keeps the reader's recursion short.)
const MAX_SKIP_DEPTH: u32 = 64;

/// Reads one event's JSON, or `None` to leave it to the serde path.
pub(super) fn parse(text: &str) -> Option<WireChunk<'_>> {
    let mut reader = Reader { text, at: 0 };
    let chunk = reader.chunk()?;
    reader.skip_whitespace();
    (reader.at == text.len()).then_some(chunk)
}

/// A position in an event's text. Every method that returns `Option` answers `None` when the
/// text is not what it reads (the whole parse then gives up).
struct Reader<'a> {
    text: &'a str,
    at: usize,
}

/// Which of an object's known fields have been read: serde rejects a repeated one.
#[derive(Default)]
struct Seen(u8);

impl Seen {
    /// Marks field `bit`; `None` if it was already read.
    fn first(&mut self, bit: u8) -> Option<()> {
        let mask = 1 << bit;
        (self.0 & mask == 0).then(|| self.0 |= mask)
    }

    /// Stores the value read for field `bit` in `slot`; `None` if the field was already read or
    /// its value could not be.
    fn set<T>(&mut self, bit: u8, slot: &mut T, value: Option<T>) -> Option<()> {
        self.first(bit)?;
        *slot = value?;
        Some(())
    }
}

impl<'a> Reader<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    // ---- The chunk's shape ----------------------------------------------------------------

    // Each reader builds its struct as a full literal, so a field added to the wire types
    // stops the build here until this reader reads it too.

    fn chunk(&mut self) -> Option<WireChunk<'a>> {
        let (mut choice, mut usage, mut seen) = (None, None, Seen::default());
        let mut perf_metrics = None;
        self.object(|reader, key| match key {
            "choices" => seen.set(0, &mut choice, reader.first_choice()),
            "usage" => seen.set(1, &mut usage, reader.nullable(Self::usage)),
            "error" => {
                // An error event is rare and comes in many shapes: the serde path reads it.
                seen.first(2)?;
                reader.null().then_some(())
            }
            "perf_metrics" => seen.set(3, &mut perf_metrics, reader.perf_metrics()),
            _ => reader.skip_value(MAX_SKIP_DEPTH),
        })?;
        Some(WireChunk {
            choice,
            usage,
            error: None, // only `"error": null` gets this far
            perf_metrics,
        })
    }

    /// `choices`: the first choice with index 0 (as the serde path keeps it), or none.
    fn first_choice(&mut self) -> Option<Option<WireChoice<'a>>> {
        if self.null() {
            return Some(None);
        }
        let mut first = None;
        self.array(|reader| {
            let choice = reader.choice()?;
            if choice.index == 0 && first.is_none() {
                first = Some(choice);
            }
            Some(())
        })?;
        Some(first)
    }

    fn choice(&mut self) -> Option<WireChoice<'a>> {
        let (mut index, mut delta, mut finish_reason) = (0, None, None);
        let mut seen = Seen::default();
        self.object(|reader, key| match key {
            "index" => seen.set(0, &mut index, reader.index()),
            "delta" => seen.set(1, &mut delta, reader.nullable(Self::delta)),
            "finish_reason" => seen.set(2, &mut finish_reason, reader.nullable(Self::string)),
            _ => reader.skip_value(MAX_SKIP_DEPTH),
        })?;
        Some(WireChoice {
            index,
            delta,
            finish_reason,
        })
    }

    fn delta(&mut self) -> Option<WireDelta<'a>> {
        let (mut content, mut reasoning_content, mut reasoning) = (None, None, None);
        let (mut tool_calls, mut seen) = (None, Seen::default());
        self.object(|reader, key| match key {
            // A string; the array form (content parts) is left to the serde path.
            "content" => seen.set(0, &mut content, reader.nullable(Self::text_content)),
            "reasoning_content" => {
                seen.set(1, &mut reasoning_content, reader.nullable(Self::string))
            }
            "reasoning" => seen.set(2, &mut reasoning, reader.nullable(Self::string)),
            "tool_calls" => seen.set(3, &mut tool_calls, reader.nullable(Self::tool_calls)),
            _ => reader.skip_value(MAX_SKIP_DEPTH),
        })?;
        Some(WireDelta {
            content,
            reasoning_content,
            reasoning,
            tool_calls,
        })
    }

    fn text_content(&mut self) -> Option<WireContent<'a>> {
        self.string().map(WireContent::Text)
    }

    fn tool_calls(&mut self) -> Option<Vec<WireToolCall<'a>>> {
        let mut calls = Vec::new();
        self.array(|reader| {
            calls.push(reader.tool_call()?);
            Some(())
        })?;
        Some(calls)
    }

    fn tool_call(&mut self) -> Option<WireToolCall<'a>> {
        let (mut index, mut id, mut function) = (None, None, None);
        let mut seen = Seen::default();
        self.object(|reader, key| match key {
            "index" => seen.set(0, &mut index, reader.nullable(Self::index)),
            "id" => seen.set(1, &mut id, reader.nullable(Self::string)),
            "function" => seen.set(2, &mut function, reader.nullable(Self::function)),
            _ => reader.skip_value(MAX_SKIP_DEPTH),
        })?;
        Some(WireToolCall {
            index,
            id,
            function,
        })
    }

    fn function(&mut self) -> Option<WireFunction<'a>> {
        let (mut name, mut arguments, mut seen) = (None, None, Seen::default());
        self.object(|reader, key| match key {
            "name" => seen.set(0, &mut name, reader.nullable(Self::string)),
            "arguments" => seen.set(1, &mut arguments, reader.nullable(Self::string)),
            _ => reader.skip_value(MAX_SKIP_DEPTH),
        })?;
        Some(WireFunction { name, arguments })
    }

    /// `usage` (not `null`) comes once per stream: its extent is found here and serde reads
    /// it, which gives the same result as in place because `WireUsage` holds only numbers.
    fn usage(&mut self) -> Option<Box<WireUsage>> {
        self.skip_whitespace();
        let start = self.at;
        self.skip_value(MAX_SKIP_DEPTH)?;
        serde_json::from_str(&self.text[start..self.at])
            .ok()
            .map(Box::new)
    }

    /// `perf_metrics` comes once per stream at most (else `null`): its extent is found here and
    /// read as the serde path reads it, leniently: `null` or anything but an object is none,
    /// never a reason to give up.
    fn perf_metrics(&mut self) -> Option<Option<Box<PerfMetrics>>> {
        self.skip_whitespace();
        let start = self.at;
        self.skip_value(MAX_SKIP_DEPTH)?;
        Some(perf_metrics::read(&self.text[start..self.at]).map(Box::new))
    }

    // ---- JSON ----------------------------------------------------------------------------

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes().get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte that is not whitespace, left unread.
    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes().get(self.at).copied()
    }

    /// Reads `byte`, which must come next.
    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// Reads `null` if it comes next.
    fn null(&mut self) -> bool {
        self.skip_whitespace();
        self.literal(b"null").is_some()
    }

    /// `null` as `None`, else the value `read` reads.
    fn nullable<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.null() {
            Some(None)
        } else {
            read(self).map(Some)
        }
    }

    /// Reads an object; `field` reads the value of each key. Keys with escapes give up (one
    /// could spell a known field).
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.delimited(b'{', b'}', |reader| {
            let (key, escaped) = reader.string_contents()?;
            if escaped {
                return None;
            }
            reader.eat(b':')?;
            field(reader, key)
        })
    }

    /// Reads an array; `element` reads each element.
    fn array(&mut self, element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.delimited(b'[', b']', element)
    }

    /// Reads `open`, then items separated by commas (`item` reads each), then `close`.
    fn delimited(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.eat(open)?;
        if self.peek()? == close {
            self.at += 1;
            return Some(());
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.at += 1,
                byte if byte == close => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Reads a string: borrowed when it holds no escapes, else decoded into one new string.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let (contents, escaped) = self.string_contents()?;
        if escaped {
            unescape(contents).ok().map(Cow::Owned)
        } else {
            Some(Cow::Borrowed(contents))
        }
    }

    /// Reads a string, checking its escapes, and returns its raw contents and whether they
    /// hold an escape.
    fn string_contents(&mut self) -> Option<(&'a str, bool)> {
        self.eat(b'"')?;
        let (bytes, start) = (self.bytes(), self.at);
        let mut escaped = false;
        loop {
            self.at += plain_run(&bytes[self.at..]);
            match *bytes.get(self.at)? {
                b'"' => {
                    self.at += 1;
                    // Both ends are ASCII quotes, so the slice is on character boundaries.
                    return Some((&self.text[start..self.at - 1], escaped));
                }
                b'\\' => {
                    escaped = true;
                    self.at += match *bytes.get(self.at + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => 2,
                        b'u' => {
                            let digits = bytes.get(self.at + 2..self.at + 6)?;
                            digits.iter().all(u8::is_ascii_hexdigit).then_some(6)?
                        }
                        _ => return None,
                    };
                }
                _ => return None, // a control character, which JSON strings may not hold
            }
        }
    }

    /// Reads an index (a `u32`).
    fn index(&mut self) -> Option<u32> {
        u32::try_from(self.unsigned()?).ok()
    }

    /// Reads a non-negative integer without fraction or exponent (what serde reads into an
    /// unsigned field; anything else is left to it).
    fn unsigned(&mut self) -> Option<u64> {
        self.skip_whitespace();
        let start = self.at;
        let digits = self.digits();
        let text = &self.bytes()[start..self.at];
        let leading_zero = digits > 1 && text[0] == b'0';
        let fraction = matches!(self.bytes().get(self.at), Some(b'.' | b'e' | b'E'));
        if digits == 0 || leading_zero || fraction {
            return None;
        }
        text.iter().try_fold(0u64, |value, digit| {
            value.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
        })
    }

    /// Steps over one value of any kind, checking it is well-formed.
    fn skip_value(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => self.string_contents().map(drop),
            b'{' if depth > 0 => self.object(|reader, _| reader.skip_value(depth - 1)),
            b'[' if depth > 0 => self.array(|reader| reader.skip_value(depth - 1)),
            b'n' => self.literal(b"null"),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// Reads `word` (`null`, `true`, `false`) if it comes next.
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let rest = self.bytes().get(self.at..)?;
        rest.starts_with(word).then(|| self.at += word.len())
    }

    /// Steps over a number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        let bytes = self.bytes();
        if bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        match *bytes.get(self.at)? {
            b'0' => self.at += 1,
            b'1'..=b'9' => drop(self.digits()),
            _ => return None,
        }
        if bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            (self.digits() > 0).then_some(())?;
        }
        if let Some(b'e' | b'E') = bytes.get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = bytes.get(self.at) {
                self.at += 1;
            }
            (self.digits() > 0).then_some(())?;
        }
        Some(())
    }

    /// Steps over ASCII digits; returns how many.
    fn digits(&mut self) -> usize {
        let count = self.bytes()[self.at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        self.at += count;
        count
    }
}

/// How many bytes at the start of `bytes` are plain string text, that is before the first `"`,
/// `\` or control character. Eight bytes are tested at a time: a byte is flagged when it equals
/// a quote or backslash, or is below 0x20 (the classic "has zero / has less" word tricks, whose
/// lowest flag is always exact).
fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = ONES << 7;
    let has_zero = |word: u64| word.wrapping_sub(ONES) & !word;
    let mut at = 0;
    while let Some(word) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let quote = has_zero(word ^ (ONES * u64::from(b'"')));
        let backslash = has_zero(word ^ (ONES * u64::from(b'\\')));
        let control = word.wrapping_sub(ONES * 0x20) & !word;
        let flags = (quote | backslash | control) & HIGHS;
        if flags != 0 {
            return at + flags.trailing_zeros() as usize / 8;
        }
        at += 8;
    }
    let tail = bytes[at..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
    at + tail.unwrap_or(bytes.len() - at)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    use super::*;
    use crate::decode::sse::SseDecoder;

    /// Whether the reader answered for `text`; when it did, serde must read the same chunk.
    fn reads_like_serde(text: &str) -> bool {
        let Some(ours) = parse(text) else {
            return false;
        };
        match serde_json::from_str::<WireChunk<'_>>(text) {
            Ok(theirs) => assert_eq!(ours, theirs, "{text}"),
            Err(err) => panic!("the reader accepted what serde rejects ({err}): {text}"),
        }
        true
    }

    /// Whether serde reads `text` as a chunk that is not an error event and whose content (if
    /// any) is a string: exactly the events the reader must answer for, unless their keys hold
    /// escapes or repeat. (Content parts are the serde path's alone.)
    fn serde_reads_plain_chunk(text: &str) -> bool {
        serde_json::from_str::<WireChunk<'_>>(text).is_ok_and(|chunk| {
            let parts = chunk
                .choice
                .as_ref()
                .and_then(|choice| choice.delta.as_ref())
                .is_some_and(|delta| matches!(delta.content, Some(WireContent::Parts(_))));
            chunk.error.is_none() && !parts
        })
    }

    #[test]
    fn every_recorded_event_is_read_here_as_serde_reads_it() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        let (mut read, mut events) = (0, 0);
        for dir in ["stream", "recordings/agent", "servers"] {
            for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_none_or(|ext| ext != "sse") {
                    continue;
                }
                let body = std::fs::read(&path).unwrap();
                let mut data = Vec::new();
                let _ = SseDecoder::new().push(&body, |event| data.push(event.data.to_vec()));
                for data in data {
                    let Ok(text) = std::str::from_utf8(&data) else {
                        continue;
                    };
                    if text == "[DONE]" {
                        continue;
                    }
                    events += 1;
                    let expected = serde_reads_plain_chunk(text);
                    assert_eq!(
                        reads_like_serde(text),
                        expected,
                        "{}: {text}",
                        path.display()
                    );
                    read += usize::from(expected);
                }
            }
        }
        assert!(
            read > 200 && read < events,
            "{read} of {events} events read here"
        );
    }

    #[test]
    fn unusual_but_valid_shapes_are_read() {
        for text in [
            r#"{}"#,
            r#" { "choices" : [ { "delta" : { "content" : "a" } } ] } "#,
            "{\n\t\"choices\":[],\r\n\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}",
            r#"{"choices":null,"usage":null,"error":null}"#,
            r#"{"choices":[{"index":1,"delta":{"content":"b"}},{"delta":{"content":"a"}}]}"#,
            r#"{"choices":[{"index":0,"delta":null,"finish_reason":"stop","logprobs":{"content":[{"t":-0.5e-3,"b":[1,2]}]}}]}"#,
            r#"{"x":[true,false,null,-0,1.5E+3,"\u00e9\n",[],{}],"choices":[{"delta":{"reasoning_content":"\ud83d\ude00"}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}},{"index":null,"function":null}]}}]}"#,
            r#"{"choices":[{"delta":{"content":"","tool_calls":null,"role":"assistant"}}]}"#,
            r#"{"choices":[{"delta":{"reasoning":"a\nb","reasoning_content":"c","content":null}}]}"#,
            // Fireworks' perf_metrics, read leniently in whatever shape it comes.
            r#"{"choices":[],"perf_metrics":{"prompt-tokens":9,"server-time-to-first-token":"0.091","x":[{}]}}"#,
            r#"{"choices":[],"perf_metrics":null}"#,
            r#"{"choices":[],"perf_metrics":[1,"a"]}"#,
            r#"{"choices":[],"perf_metrics":{"prompt-tokens":"\u0039"}}"#,
        ] {
            assert!(reads_like_serde(text), "left to serde: {text}");
        }
    }

    #[test]
    fn everything_else_is_left_to_serde() {
        for text in [
            // Error events, in any shape.
            r#"{"error":{"message":"boom"}}"#,
            r#"{"choices":[],"error":"overloaded"}"#,
            // A key with an escape may spell a field; a repeated field is serde's error.
            r#"{"choices":[{"delta":{"cont\u0065nt":"a"}}]}"#,
            r#"{"choices":[{"delta":{"content":"a","content":"b"}}]}"#,
            r#"{"choices":[{"delta":{"reasoning":"a","reasoning":"b"}}]}"#,
            r#"{"perf_metrics":null,"perf_metrics":{}}"#,
            r#"{"choices":[{"delta":{"reasoning":5}}]}"#,
            r#"{"choices":[],"choices":[]}"#,
            // Content as an array of parts (Mistral's shape).
            r#"{"choices":[{"delta":{"content":[{"type":"text","text":"a"}]}}]}"#,
            r#"{"choices":[{"delta":{"content":[]}}]}"#,
            // Types the wire types do not take.
            r#"{"choices":[{"index":1.0}]}"#,
            r#"{"choices":[{"index":-1}]}"#,
            r#"{"choices":[{"index":4294967296}]}"#,
            r#"{"choices":[{"index":null}]}"#,
            r#"{"choices":[{"delta":{"content":5}}]}"#,
            r#"{"choices":[null]}"#,
            r#"{"choices":{}}"#,
            r#"{"usage":{"prompt_tokens":"3"}}"#,
            r#"[]"#,
            // A lone surrogate, a control character, a bad escape.
            r#"{"choices":[{"delta":{"content":"\ud800"}}]}"#,
            "{\"choices\":[{\"delta\":{\"content\":\"a\u{1}b\"}}]}",
            r#"{"x":"\x41"}"#,
            r#"{"x":"\u12G4"}"#,
            // Malformed JSON.
            r#"{"choices":[],}"#,
            r#"{"x":[1,]}"#,
            r#"{"x":01}"#,
            r#"{"x":1.}"#,
            r#"{"x":1e}"#,
            r#"{"x":nul}"#,
            r#"{"x":1} x"#,
            r#"{"x":"unterminated}"#,
            r#"{"x" 1}"#,
            r#"{"choices":[{"delta":{"content":"a"}}]"#,
            "",
        ] {
            assert!(parse(text).is_none(), "read here: {text}");
        }
        // Nesting past the reader's limit goes to serde, which reads it.
        let deep = format!(r#"{{"x":{}{}}}"#, "[".repeat(100), "]".repeat(100));
        assert!(parse(&deep).is_none());
        assert!(serde_reads_plain_chunk(&deep));
    }

    /// Stops a string at exactly the first quote, backslash or control character.
    #[test]
    fn plain_run_finds_the_first_stop_byte() {
        let naive = |bytes: &[u8]| {
            let stop = bytes
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            stop.unwrap_or(bytes.len())
        };
        let mut cases: Vec<Vec<u8>> = vec![Vec::new(), b"plain ascii text, no stop".to_vec()];
        for len in 0..20 {
            for stop in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                for at in 0..=len {
                    let mut bytes = "é".repeat(len).into_bytes();
                    bytes.truncate(len);
                    bytes.insert(at, stop);
                    bytes.extend_from_slice(b"\x7f \x80 \xff \" ");
                    cases.push(bytes);
                }
            }
        }
        for bytes in cases {
            assert_eq!(plain_run(&bytes), naive(&bytes), "{bytes:?}");
        }
    }

    // ---- Generated events ----------------------------------------------------------------

    /// Any JSON value, a few levels deep.
    fn any_value() -> impl Strategy<Value = Value> {
        let scalar = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<u32>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::from),
            "[\"\\\\\n\t\u{0}é😀]{0,4}".prop_map(Value::from),
        ];
        scalar.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("[a-z_]{0,8}", inner), 0..4)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect())),
            ]
        })
    }

    /// An object holding some of `fields` (each with its usual value, or now and then `null`
    /// or, if `wild`, any value) and some unknown keys.
    fn object_of(
        wild: bool,
        fields: Vec<(&'static str, BoxedStrategy<Value>)>,
    ) -> BoxedStrategy<Value> {
        let known: Vec<_> = fields
            .into_iter()
            .map(|(key, usual)| {
                let other = if wild {
                    any_value().boxed()
                } else {
                    Just(Value::Null).boxed()
                };
                let value = prop_oneof![6 => usual, 1 => Just(Value::Null), 1 => other];
                prop::option::weighted(0.8, value).prop_map(move |value| (key, value))
            })
            .collect();
        let unknown = prop::collection::vec(("[a-z_]{1,10}", any_value()), 0..3);
        (known, unknown)
            .prop_map(|(known, unknown)| {
                let mut object = Map::new();
                for (key, value) in unknown {
                    object.insert(key, value);
                }
                for (key, value) in known {
                    if let Some(value) = value {
                        object.insert(key.to_owned(), value);
                    }
                }
                Value::Object(object)
            })
            .boxed()
    }

    fn text() -> BoxedStrategy<Value> {
        prop_oneof!["\\PC{0,16}", "[a-z <>/\\n\"\\\\]{0,16}"]
            .prop_map(Value::from)
            .boxed()
    }

    fn count() -> BoxedStrategy<Value> {
        any::<u32>().prop_map(Value::from).boxed()
    }

    /// Up to two elements of `element`.
    fn array_of(element: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
        prop::collection::vec(element, 0..3)
            .prop_map(Value::Array)
            .boxed()
    }

    fn small_index() -> BoxedStrategy<Value> {
        (0u32..3).prop_map(Value::from).boxed()
    }

    /// Chunk-shaped events; with `wild`, a field may hold a value of any type.
    fn chunk_value(wild: bool) -> impl Strategy<Value = Value> {
        let object_of = |fields| object_of(wild, fields);
        let function = object_of(vec![("name", text()), ("arguments", text())]);
        let call = object_of(vec![
            ("index", small_index()),
            ("id", text()),
            ("type", Just(json!("function")).boxed()),
            ("function", function),
        ]);
        let delta = object_of(vec![
            ("role", Just(json!("assistant")).boxed()),
            ("content", text()),
            ("reasoning_content", text()),
            ("reasoning", text()),
            ("tool_calls", array_of(call)),
        ]);
        let choice = object_of(vec![
            ("index", small_index()),
            ("delta", delta),
            ("finish_reason", text()),
        ]);
        let usage = object_of(vec![
            ("prompt_tokens", count()),
            ("completion_tokens", count()),
            (
                "prompt_tokens_details",
                object_of(vec![("cached_tokens", small_index())]),
            ),
        ]);
        object_of(vec![
            ("id", text()),
            ("model", text()),
            ("choices", array_of(choice)),
            ("usage", usage),
            ("error", Just(Value::Null).boxed()),
        ])
    }

    fn render(chunk: &Value, pretty: bool) -> String {
        if pretty {
            serde_json::to_string_pretty(chunk).unwrap()
        } else {
            chunk.to_string()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Well-formed events whose fields have their usual types (or `null`), compact or
        /// pretty: read here exactly when serde reads them as a chunk, and read the same.
        #[test]
        fn usual_events_are_read_exactly_when_serde_reads_them(
            chunk in chunk_value(false),
            pretty: bool,
        ) {
            let text = render(&chunk, pretty);
            prop_assert_eq!(reads_like_serde(&text), serde_reads_plain_chunk(&text), "{}", text);
        }

        /// Well-formed events with values of any type in the fields: whatever is read here,
        /// serde reads the same.
        #[test]
        fn odd_events_are_never_read_differently(chunk in chunk_value(true), pretty: bool) {
            reads_like_serde(&render(&chunk, pretty));
        }

        /// Damaged events: whatever the reader still accepts, serde accepts and reads the same.
        #[test]
        fn damaged_events_are_never_read_differently(
            chunk in chunk_value(true),
            edits in prop::collection::vec(
                (any::<prop::sample::Index>(), 0..3u8, prop::sample::select(
                    b"{}[]\":,\\/0123456789.-+eEnulltrfasu \n\x01\xc3".to_vec()
                )),
                1..4,
            ),
        ) {
            let mut bytes = chunk.to_string().into_bytes();
            for (at, kind, byte) in edits {
                let at = at.index(bytes.len() + 1);
                match kind {
                    0 => bytes.insert(at, byte),
                    1 if at < bytes.len() => drop(bytes.remove(at)),
                    _ if at < bytes.len() => bytes[at] = byte,
                    _ => {}
                }
            }
            if let Ok(text) = std::str::from_utf8(&bytes) {
                reads_like_serde(text);
            }
        }
    }
}
