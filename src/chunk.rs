//! One stream event's JSON → the delta it carries (lenient wire types).
//!
//! Unknown keys are ignored (`raw_output`, `perf_metrics`, ...), missing fields and `null`s are
//! tolerated, `choices` may be empty (usage-only chunks) and `finish_reason` may be any string.
//! Strings are borrowed from the event's text where they hold no escapes, and only the first
//! choice is kept, so a plain text delta costs no allocation here.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, SeqAccess, Visitor};

use crate::error::{ApiError, Error};
use crate::provider::Usage;
use crate::tools::ToolCallFragment;

/// One `chat.completion.chunk` event, reduced to what the stream uses.
#[derive(Debug, Default, Deserialize)]
pub struct WireChunk<'a> {
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
}

/// One choice of a chunk.
#[derive(Debug, Default, Deserialize)]
pub struct WireChoice<'a> {
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
#[derive(Debug, Default, Deserialize)]
pub struct WireDelta<'a> {
    /// Answer text (possibly with inline `<think>` reasoning).
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub content: Option<Cow<'a, str>>,
    /// Reasoning sent beside the content.
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub reasoning_content: Option<Cow<'a, str>>,
    /// Tool-call fragments.
    #[serde(default, borrow)]
    pub tool_calls: Option<Vec<WireToolCall<'a>>>,
}

/// One tool-call fragment.
#[derive(Debug, Default, Deserialize)]
pub struct WireToolCall<'a> {
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
#[derive(Debug, Default, Deserialize)]
pub struct WireFunction<'a> {
    /// The tool's name (first fragment).
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub name: Option<Cow<'a, str>>,
    /// The next piece of the arguments' JSON text.
    #[serde(default, borrow, deserialize_with = "optional_str")]
    pub arguments: Option<Cow<'a, str>>,
}

impl WireToolCall<'_> {
    /// The fragment in the assembler's terms.
    pub fn fragment(&self) -> ToolCallFragment<'_> {
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
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub struct WireUsage {
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
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub struct PromptDetails {
    /// Prompt tokens served from the cache.
    #[serde(default)]
    pub cached_tokens: Option<u64>,
}

/// `completion_tokens_details`.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub struct CompletionDetails {
    /// Completion tokens spent on reasoning.
    #[serde(default)]
    pub reasoning_tokens: Option<u64>,
}

impl WireUsage {
    /// The counts in the host's terms (cost is added by the caller, who knows the prices).
    pub fn to_usage(self) -> Usage {
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
        }
    }
}

/// Notes that an `error` key is present without building it; the rare error path parses the
/// event again as a whole to read every shape.
#[derive(Debug)]
pub struct ErrorMarker<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Deserialize<'de> for ErrorMarker<'a> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `"error": null` is no error.
        Option::<IgnoredAny>::deserialize(deserializer)?;
        Ok(ErrorMarker(std::marker::PhantomData))
    }
}

/// An optional string, borrowed from the input when it holds no escapes. (Serde's own
/// `Option<Cow<str>>` always copies.)
fn optional_str<'de: 'a, 'a, D>(deserializer: D) -> Result<Option<Cow<'a, str>>, D::Error>
where
    D: de::Deserializer<'de>,
{
    struct OptionalStr<'a>(std::marker::PhantomData<&'a ()>);

    impl<'de: 'a, 'a> Visitor<'de> for OptionalStr<'a> {
        type Value = Option<Cow<'a, str>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or null")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: de::Deserializer<'de>>(self, inner: D) -> Result<Self::Value, D::Error> {
            inner.deserialize_str(self)
        }

        fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(text)))
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(text.to_owned())))
        }
    }

    deserializer.deserialize_option(OptionalStr(std::marker::PhantomData))
}

/// Parses one event's data. The bytes are checked to be UTF-8 in one pass first (measured
/// faster than letting serde_json check string by string). The error is boxed so that the
/// result of every event stays the size of a chunk.
pub fn parse_event(data: &[u8]) -> Result<WireChunk<'_>, Box<Error>> {
    let decode_error = |reason: String| {
        Box::new(Error::Decode {
            message: format!("event is not a valid chunk ({reason}): {}", excerpt(data)),
        })
    };
    let text = std::str::from_utf8(data).map_err(|err| decode_error(err.to_string()))?;
    let chunk: WireChunk<'_> =
        serde_json::from_str(text).map_err(|err| decode_error(err.to_string()))?;
    if chunk.error.is_some() {
        let value: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
        if let Some(error) = ApiError::from_json(None, &value) {
            return Err(Box::new(Error::Server(error)));
        }
    }
    Ok(chunk)
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

    #[test]
    fn borrowed_delta_with_unknown_keys() {
        let data = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi","reasoning_content":"hm"},"finish_reason":null,"raw_output":null}],"usage":null}"#;
        let chunk = parse(data).unwrap();
        let delta = chunk.choice.unwrap().delta.unwrap();
        assert!(matches!(delta.content, Some(Cow::Borrowed("Hi"))));
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
        assert_eq!(delta.content.as_deref(), Some("a"));
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
    fn bad_json_names_the_event() {
        let err = parse(r#"{"choices": ["#).unwrap_err();
        assert!(err.to_string().contains(r#"{"choices": ["#), "{err}");
    }
}
