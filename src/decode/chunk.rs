//! One stream event's JSON → the delta it carries (lenient wire types).
//!
//! Unknown keys are ignored (`raw_output`, ...), missing fields and `null`s are
//! tolerated, `choices` may be empty (usage-only chunks) and `finish_reason` may be any string.
//! Strings are borrowed from the event's text where they hold no escapes, and only the first
//! choice is kept, so a plain text delta costs no allocation here. A delta's `content` is a
//! string, or (Mistral's shape) an array of parts: text parts are answer, thinking parts
//! reasoning, other parts skipped ([`WireContent`]).
//!
//! Two readers fill the same wire types: [`fast`], hand-written, for the usual shape of an
//! event, and serde (the derives below) for everything it leaves: error events, odd shapes and
//! malformed JSON, whose errors serde words.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::decode::tools::ToolCallFragment;
use crate::error::classify::{event_error, has_error};
use crate::error::{BoxError, Error, bounded};
use crate::host::{PerfMetrics, Usage};

mod fast;

/// One `chat.completion.chunk` event, reduced to what the stream uses.
///
/// The reader in [`fast`] reads these types too, by hand: a field added here stops its build
/// until it reads the field, but a rename or alias must be taught to it as well.
#[derive(Debug, PartialEq, Deserialize)]
pub(crate) struct WireChunk<'a> {
    /// The choice with index 0, if the chunk has one.
    #[serde(default, borrow, rename = "choices", deserialize_with = "first_choice")]
    pub choice: Option<WireChoice<'a>>,
    /// Token counts (on the final chunk, or in a separate `choices: []` chunk); boxed, as it
    /// comes once per stream, to keep every other event's parse result small.
    #[serde(default)]
    pub usage: Option<Box<WireUsage>>,
    /// Present when the event reports an error instead of a delta.
    #[serde(default, borrow)]
    pub error: Option<ErrorMarker<'a>>,
    /// Fireworks' `perf_metrics` (on the final chunk, when asked for), read leniently: never
    /// an error. Boxed: it comes once per stream.
    #[serde(default, deserialize_with = "perf_metrics")]
    pub perf_metrics: Option<Box<PerfMetrics>>,
}

/// `perf_metrics`: its metrics, or none when it is `null` or not an object.
fn perf_metrics<'de, D>(deserializer: D) -> Result<Option<Box<PerfMetrics>>, D::Error>
where
    D: de::Deserializer<'de>,
{
    let raw = Option::<&'de RawValue>::deserialize(deserializer)?;
    Ok(raw
        .and_then(|raw| super::perf_metrics::read(raw.get()))
        .map(Box::new))
}

/// One choice of a chunk.
#[derive(Debug, PartialEq, Deserialize)]
pub(crate) struct WireChoice<'a> {
    /// Which choice this is (`n > 1`); only index 0 is used.
    #[serde(default)]
    pub index: u32,
    /// What this chunk adds.
    #[serde(default, borrow)]
    pub delta: Option<WireDelta<'a>>,
    /// Why generation ended, on the last chunk.
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub finish_reason: Option<Cow<'a, str>>,
}

/// The new content of one chunk.
#[derive(Debug, PartialEq, Deserialize)]
pub(crate) struct WireDelta<'a> {
    /// Answer text (possibly with inline `<think>` reasoning), or parts of answer and reasoning.
    #[serde(default, borrow, deserialize_with = "optional_content")]
    pub content: Option<WireContent<'a>>,
    /// Reasoning sent beside the content (Fireworks, DeepSeek, older vLLM).
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub reasoning_content: Option<Cow<'a, str>>,
    /// Reasoning sent beside the content under its newer name (vLLM 0.11 and later,
    /// OpenRouter, Ollama); read exactly like `reasoning_content`.
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub reasoning: Option<Cow<'a, str>>,
    /// Tool-call fragments.
    #[serde(default, borrow)]
    pub tool_calls: Option<Vec<WireToolCall<'a>>>,
}

/// A delta's `content`.
#[derive(Debug, PartialEq)]
pub(crate) enum WireContent<'a> {
    /// The usual form, a string: answer text (possibly with inline `<think>` reasoning).
    Text(Cow<'a, str>),
    /// Mistral's form, an array of parts, in order: `{"type":"text","text":..}` parts are
    /// answer, `{"type":"thinking","thinking":[{"type":"text","text":..}]}` parts reasoning.
    /// Parts of other types, and parts with no text, are left out.
    Parts(Vec<ContentPart<'a>>),
}

/// One part of a [`WireContent::Parts`] content that carries text.
#[derive(Debug, PartialEq)]
pub(crate) enum ContentPart<'a> {
    /// Answer text.
    Answer(Cow<'a, str>),
    /// Reasoning text.
    Reasoning(Cow<'a, str>),
}

/// One element of a content array as sent: its type, and its text wherever that type keeps
/// it (`text`, or `thinking` as a string or an array of text parts).
#[derive(Deserialize)]
struct RawPart<'a> {
    #[serde(default, rename = "type", borrow, deserialize_with = "optional_str")]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    text: Option<&'a RawValue>,
    #[serde(default, borrow)]
    thinking: Option<&'a RawValue>,
}

/// How deeply parts may nest: a thinking part holds text parts, and nothing deeper is read.
#[derive(Clone, Copy, PartialEq)]
enum PartLevel {
    Top,
    InThinking,
}

/// Reads a content array's parts (`text` is the array's JSON) into `out`, in order; parts
/// with empty text are left out.
fn read_parts<'a>(
    text: &'a str,
    level: PartLevel,
    out: &mut Vec<ContentPart<'a>>,
) -> Result<(), String> {
    let parts: Vec<RawPart<'a>> = serde_json::from_str(text).map_err(|err| err.to_string())?;
    for part in parts {
        let (reasoning, raw) = match (part.kind.as_deref(), level) {
            (Some("text"), PartLevel::Top) => (false, part.text),
            (Some("text"), PartLevel::InThinking) => (true, part.text),
            (Some("thinking"), PartLevel::Top) => match part.thinking {
                Some(inner) if inner.get().starts_with('[') => {
                    read_parts(inner.get(), PartLevel::InThinking, out)?;
                    continue;
                }
                inner => (true, inner),
            },
            // Images, references, and anything else without text of its own.
            _ => continue,
        };
        let Some(raw) = raw else { continue };
        let text = string_value(raw.get())?;
        if !text.is_empty() {
            out.push(if reasoning {
                ContentPart::Reasoning(text)
            } else {
                ContentPart::Answer(text)
            });
        }
    }
    Ok(())
}

/// `content`: a string, an array of parts, or absent (`null`).
fn optional_content<'de: 'a, 'a, D>(deserializer: D) -> Result<Option<WireContent<'a>>, D::Error>
where
    D: de::Deserializer<'de>,
{
    let Some(raw) = Option::<&'a RawValue>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let text = raw.get();
    if text.starts_with('[') {
        let mut parts = Vec::new();
        read_parts(text, PartLevel::Top, &mut parts)
            .map_err(|err| de::Error::custom(format!("content parts: {err}")))?;
        return Ok(Some(WireContent::Parts(parts)));
    }
    string_value(text)
        .map(|text| Some(WireContent::Text(text)))
        .map_err(de::Error::custom)
}

/// One tool-call fragment.
#[derive(Debug, PartialEq, Deserialize)]
pub(crate) struct WireToolCall<'a> {
    /// Which call this fragment belongs to.
    #[serde(default)]
    pub index: Option<u32>,
    /// The call's id (often only on the first fragment).
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub id: Option<Cow<'a, str>>,
    /// Name and argument text.
    #[serde(default, borrow)]
    pub function: Option<WireFunction<'a>>,
}

/// The function part of a tool-call fragment.
#[derive(Debug, PartialEq, Deserialize)]
pub(crate) struct WireFunction<'a> {
    /// The tool's name (first fragment).
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub name: Option<Cow<'a, str>>,
    /// The next piece of the arguments' JSON text.
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub arguments: Option<Cow<'a, str>>,
}

impl WireToolCall<'_> {
    /// The fragment in the assembler's terms.
    pub(crate) fn fragment(&self) -> ToolCallFragment<'_> {
        let function = self.function.as_ref();
        ToolCallFragment {
            index: self.index,
            id: self.id.as_deref(),
            name: function.and_then(|f| f.name.as_deref()),
            arguments: function.and_then(|f| f.arguments.as_deref()),
        }
    }
}

/// OpenAI-style token counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Deserialize)]
pub(crate) struct WireUsage {
    /// All prompt tokens, cached ones included.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Generated tokens.
    #[serde(default)]
    pub completion_tokens: u64,
    /// The cached part of the prompt.
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptDetails>,
    /// The reasoning part of the completion.
    #[serde(default)]
    pub completion_tokens_details: Option<CompletionDetails>,
}

/// `prompt_tokens_details`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Deserialize)]
pub(crate) struct PromptDetails {
    /// Prompt tokens served from the cache.
    #[serde(default)]
    pub cached_tokens: Option<u64>,
}

/// `completion_tokens_details`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Deserialize)]
pub(crate) struct CompletionDetails {
    /// Completion tokens spent on reasoning.
    #[serde(default)]
    pub reasoning_tokens: Option<u64>,
}

impl WireUsage {
    /// The counts in the host's terms (cost is added by the caller, who knows the prices).
    pub(crate) fn to_usage(self) -> Usage {
        Usage {
            input_tokens: self.prompt_tokens,
            output_tokens: self.completion_tokens,
            cache_read_tokens: self
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
            cache_write_tokens: 0,
            reasoning_tokens: self
                .completion_tokens_details
                .and_then(|d| d.reasoning_tokens),
            total_cost: None,
            model: None,
            cache_report: None,
            perf_metrics: None,
        }
    }
}

/// Notes that an `error` key is present without building it; the rare error path parses the
/// event again as a whole to read every shape.
#[derive(Debug, PartialEq)]
pub(crate) struct ErrorMarker<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Deserialize<'de> for ErrorMarker<'a> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `"error": null` is no error.
        Option::<IgnoredAny>::deserialize(deserializer)?;
        Ok(ErrorMarker(std::marker::PhantomData))
    }
}

/// An optional string, borrowed from the event's text when it holds no escapes, else unescaped
/// into one string of exactly the right capacity. (Serde's own `Option<Cow<str>>` always copies,
/// and serde_json unescapes through a scratch buffer that grows by reallocation: three
/// allocations for a short delta ending in `\n\n`, where this makes one.)
fn optional_str<'de: 'a, 'a, D>(deserializer: D) -> Result<Option<Cow<'a, str>>, D::Error>
where
    D: de::Deserializer<'de>,
{
    let Some(raw) = Option::<&'a RawValue>::deserialize(deserializer)? else {
        return Ok(None);
    };
    string_value(raw.get()).map(Some).map_err(de::Error::custom)
}

/// A JSON string's value, from its JSON text (quotes included): borrowed when it holds no
/// escapes, else unescaped into one string of exactly the right capacity.
fn string_value(text: &str) -> Result<Cow<'_, str>, String> {
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .ok_or_else(|| format!("invalid type: {text}, expected a string"))?;
    if memchr::memchr(b'\\', inner.as_bytes()).is_none() {
        return Ok(Cow::Borrowed(inner));
    }
    unescape(inner).map(Cow::Owned).map_err(str::to_owned)
}

/// Decodes the escapes of a JSON string's contents (already checked to be a well-formed string
/// by the reader that found it); a lone surrogate is an error.
fn unescape(escaped: &str) -> Result<String, &'static str> {
    let mut out = String::with_capacity(escaped.len());
    let mut rest = escaped;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let mut chars = rest[at + 1..].chars();
        let decoded = match chars.next().ok_or("a lone backslash")? {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let high = hex4(chars.as_str())?;
                chars = chars.as_str()[4..].chars();
                if (0xD800..0xDC00).contains(&high) {
                    // A surrogate pair: the low half must follow as another \u escape.
                    let low = chars
                        .as_str()
                        .strip_prefix("\\u")
                        .ok_or("a lone surrogate")
                        .and_then(hex4)?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err("an invalid surrogate pair");
                    }
                    chars = chars.as_str()[6..].chars();
                    let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                    char::from_u32(code).ok_or("an invalid surrogate pair")?
                } else {
                    char::from_u32(high).ok_or("a lone surrogate")?
                }
            }
            _ => return Err("an unknown escape"),
        };
        out.push(decoded);
        rest = chars.as_str();
    }
    out.push_str(rest);
    Ok(out)
}

/// The value of four hex digits at the start of `text`.
fn hex4(text: &str) -> Result<u32, &'static str> {
    text.get(..4)
        .and_then(|digits| u32::from_str_radix(digits, 16).ok())
        .ok_or("a bad \\u escape")
}

/// Parses one event's data. The bytes are checked to be UTF-8 in one pass first (measured
/// faster than letting serde_json check string by string). The hand-written reader of the
/// usual shape answers first; whatever it leaves (errors, unusual shapes, bad JSON) goes to
/// serde. The error is boxed so that the result of every event stays the size of a chunk.
pub(crate) fn parse_event(data: &[u8]) -> Result<WireChunk<'_>, Box<Error>> {
    let decode_error = |source: BoxError| {
        Box::new(Error::Decode {
            message: bounded(format!(
                "event is not a valid chunk ({source}): {}",
                excerpt(data)
            )),
            source: Some(source),
        })
    };
    let text = std::str::from_utf8(data).map_err(|err| decode_error(Box::new(err)))?;
    if let Some(chunk) = fast::parse(text) {
        return Ok(chunk);
    }
    match serde_json::from_str::<WireChunk<'_>>(text) {
        Ok(chunk) if chunk.error.is_none() => Ok(chunk),
        Ok(_) => Err(Box::new(Error::Server(event_error(text)))),
        // An error event whose other fields are not those of a chunk is still an error event.
        Err(_) if has_error(text) => Err(Box::new(Error::Server(event_error(text)))),
        Err(err) => Err(decode_error(Box::new(err))),
    }
}

/// The `id` of a chunk's JSON (the completion's id), when it is a string of at most
/// [`MAX_MESSAGE_BYTES`](crate::MAX_MESSAGE_BYTES) bytes; `None` for anything else, which
/// [`parse_event`] judges on its own.
pub(crate) fn response_id(data: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Id<'a> {
        #[serde(borrow)]
        id: Cow<'a, str>,
    }
    // Most servers send it; one that does not costs a search, not a failed parse.
    memchr::memmem::find(data, b"\"id\"")?;
    let Id { id } = serde_json::from_slice(data).ok()?;
    (id.len() <= crate::MAX_MESSAGE_BYTES).then(|| id.into_owned())
}

/// The start of an event's text, for error messages.
fn excerpt(data: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(&data[..data.len().min(MAX)]);
    text.into_owned()
}

/// Keeps choice 0 out of the `choices` array (null or missing: none) without collecting the
/// array.
fn first_choice<'de: 'a, 'a, D>(deserializer: D) -> Result<Option<WireChoice<'a>>, D::Error>
where
    D: de::Deserializer<'de>,
{
    struct FirstChoice<'a>(std::marker::PhantomData<&'a ()>);

    impl<'de: 'a, 'a> Visitor<'de> for FirstChoice<'a> {
        type Value = Option<WireChoice<'a>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of choices")
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut first = None;
            while let Some(choice) = seq.next_element::<WireChoice<'a>>()? {
                if choice.index == 0 && first.is_none() {
                    first = Some(choice);
                }
            }
            Ok(first)
        }
    }

    deserializer.deserialize_any(FirstChoice(std::marker::PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(data: &str) -> Result<WireChunk<'_>, Error> {
        parse_event(data.as_bytes()).map_err(|err| *err)
    }

    /// The content's text when it came as a string.
    fn text_of<'a>(content: &'a Option<WireContent<'_>>) -> Option<&'a str> {
        match content {
            Some(WireContent::Text(text)) => Some(text),
            _ => None,
        }
    }

    #[test]
    fn borrowed_delta_with_unknown_keys() {
        let data = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi","reasoning_content":"hm"},"finish_reason":null,"raw_output":null}],"usage":null}"#;
        let chunk = parse(data).unwrap();
        let delta = chunk.choice.unwrap().delta.unwrap();
        assert!(matches!(
            delta.content,
            Some(WireContent::Text(Cow::Borrowed("Hi")))
        ));
        assert_eq!(delta.reasoning_content.as_deref(), Some("hm"));
        assert!(chunk.usage.is_none());
    }

    #[test]
    fn usage_only_chunk_and_other_choices() {
        let chunk = parse(
            r#"{"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":3,"total_tokens":13,"prompt_tokens_details":{"cached_tokens":4}}}"#,
        )
        .unwrap();
        assert!(chunk.choice.is_none());
        let usage = chunk.usage.unwrap().to_usage();
        assert_eq!(
            (
                usage.input_tokens,
                usage.output_tokens,
                usage.cache_read_tokens
            ),
            (10, 3, 4)
        );
        let chunk = parse(
            r#"{"choices":[{"index":1,"delta":{"content":"b"}},{"index":0,"delta":{"content":"a"}}]}"#,
        )
        .unwrap();
        let delta = chunk.choice.unwrap().delta.unwrap();
        assert_eq!(text_of(&delta.content), Some("a"));
        assert!(parse(r#"{"choices":null}"#).unwrap().choice.is_none());
    }

    #[test]
    fn error_events_are_errors_in_any_shape() {
        for (data, message) in [
            (r#"{"error":{"message":"boom","code":500}}"#, "boom"),
            (r#"{"error":"overloaded"}"#, "overloaded"),
        ] {
            match parse(data) {
                Err(Error::Server(error)) => {
                    assert_eq!(error.message, message);
                    assert_eq!(error.status, None);
                }
                other => panic!("{data}: {other:?}"),
            }
        }
        assert!(parse(r#"{"choices":[],"error":null}"#).is_ok());
    }

    #[test]
    fn reasoning_is_read_like_reasoning_content() {
        let chunk = parse(
            r#"{"choices":[{"delta":{"reasoning_content":"a","reasoning":"b\n","content":"c"}}]}"#,
        )
        .unwrap();
        let delta = chunk.choice.unwrap().delta.unwrap();
        assert_eq!(delta.reasoning_content.as_deref(), Some("a"));
        assert_eq!(delta.reasoning.as_deref(), Some("b\n"));
        assert_eq!(text_of(&delta.content), Some("c"));
        let chunk = parse(r#"{"choices":[{"delta":{"reasoning":null}}]}"#).unwrap();
        assert_eq!(chunk.choice.unwrap().delta.unwrap().reasoning, None);
    }

    #[test]
    fn escapes_are_decoded_and_plain_strings_borrowed() {
        let data = r#"{"choices":[{"delta":{"content":"a\"b\\c\/\n\t\u00e9\ud83d\ude00!","reasoning_content":"plain"}}]}"#;
        let chunk = parse(data).unwrap();
        let delta = chunk.choice.unwrap().delta.unwrap();
        assert_eq!(text_of(&delta.content), Some("a\"b\\c/\n\té😀!"));
        assert!(matches!(
            delta.reasoning_content,
            Some(Cow::Borrowed("plain"))
        ));
        // Whatever serde_json accepts as a string decodes as serde_json decodes it.
        for text in [
            r"\u0000",
            r"\\\\",
            r"tab\there",
            r"\ud83c\udf24\ufe0f sunny",
        ] {
            let data = format!(r#"{{"choices":[{{"delta":{{"content":"{text}"}}}}]}}"#);
            let delta = parse(&data).unwrap().choice.unwrap().delta.unwrap();
            let ours = text_of(&delta.content).unwrap().to_owned();
            let theirs: serde_json::Value = serde_json::from_str(&data).unwrap();
            assert_eq!(ours, theirs["choices"][0]["delta"]["content"], "{text}");
        }
        // A number where a string belongs is an error, not a panic.
        assert!(parse(r#"{"choices":[{"delta":{"content":5}}]}"#).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_string_survives_escaping_however_it_is_escaped(text in "\\PC*", ascii_only: bool) {
            // serde_json's own escaping, or every non-ASCII character as \u escapes (surrogate
            // pairs beyond the BMP).
            let json = if ascii_only {
                let mut json = String::from("\"");
                for c in text.chars() {
                    match c {
                        '"' => json.push_str("\\\""),
                        '\\' => json.push_str("\\\\"),
                        c if c.is_ascii() && !c.is_ascii_control() => json.push(c),
                        c => {
                            let mut units = [0u16; 2];
                            for unit in c.encode_utf16(&mut units) {
                                json.push_str(&format!("\\u{unit:04x}"));
                            }
                        }
                    }
                }
                json.push('"');
                json
            } else {
                serde_json::to_string(&text).unwrap()
            };
            let data = format!(r#"{{"choices":[{{"delta":{{"content":{json}}}}}]}}"#);
            let chunk = parse(&data).unwrap();
            let delta = chunk.choice.unwrap().delta.unwrap();
            proptest::prop_assert_eq!(text_of(&delta.content), Some(text.as_str()));
        }
    }

    #[test]
    fn content_parts_are_read_in_order_and_other_parts_skipped() {
        let data = r#"{"choices":[{"delta":{"content":[
            {"type":"thinking","thinking":[{"type":"text","text":"Look "},{"type":"text","text":"first."}]},
            {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},
            {"type":"text","text":"The answer\n"},
            {"type":"thinking","thinking":"more"},
            {"type":"reference","reference_ids":[1]},
            {"type":"text","text":""},
            {"type":"text","text":"is 4."}
        ]}}]}"#;
        let chunk = parse(data).unwrap();
        let content = chunk.choice.unwrap().delta.unwrap().content;
        let Some(WireContent::Parts(parts)) = content else {
            panic!("{content:?}")
        };
        assert_eq!(
            parts,
            [
                ContentPart::Reasoning(Cow::Borrowed("Look ")),
                ContentPart::Reasoning(Cow::Borrowed("first.")),
                ContentPart::Answer(Cow::Owned("The answer\n".into())),
                ContentPart::Reasoning(Cow::Borrowed("more")),
                ContentPart::Answer(Cow::Borrowed("is 4.")),
            ]
        );
        // A part whose text is not a string is a decode error naming the event.
        let err =
            parse(r#"{"choices":[{"delta":{"content":[{"type":"text","text":5}]}}]}"#).unwrap_err();
        assert!(err.to_string().contains("content parts"), "{err}");
        assert!(
            matches!(parse(r#"{"choices":[{"delta":{"content":[]}}]}"#).unwrap().choice.unwrap().delta.unwrap().content, Some(WireContent::Parts(parts)) if parts.is_empty())
        );
    }

    #[test]
    fn bad_json_names_the_event() {
        let err = parse(r#"{"choices": ["#).unwrap_err();
        assert!(err.to_string().contains(r#"{"choices": ["#), "{err}");
    }
}
