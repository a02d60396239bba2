//! The host's conversation → wire messages, checked on the way.
//!
//! Every rule that would otherwise come back as a server 400 (or, worse, be silently dropped) is
//! refused here, naming the message: an empty message, a tool use never answered or answered
//! twice, a result for no tool use, blocks in the wrong role, bad images, and tools on offer
//! with no name, one name twice or a schema that is not an object. Mapping and checking are one
//! pass, so `ChatRequest::validate` and sending run exactly the same rules.
//!
//! Mapping is deterministic, so the messages of turn N are a byte prefix of turn N+1's (prompt
//! caches depend on it), and borrows from the request wherever the wire text is the host's text.

use std::borrow::Cow;
use std::collections::HashSet;

use super::wire::{DataUrl, Part, UserContent, WireFunctionCall, WireMessage, WireToolCall};
use crate::host::{ChatRequest, ContentBlock, Message, ModelInfo, Role, ToolSpec};

/// A conversation refused before sending: which message (when one is to blame) and the rule.
#[derive(Debug, PartialEq)]
pub(crate) struct Refusal {
    pub message_index: Option<usize>,
    pub rule: String,
}

impl Refusal {
    fn whole(rule: impl Into<String>) -> Self {
        Refusal {
            message_index: None,
            rule: rule.into(),
        }
    }
}

/// What the mapping must know besides the conversation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules<'m> {
    /// The model, to refuse images it cannot take; `None`: the model-neutral checks only.
    pub model: Option<&'m ModelInfo>,
    /// Send earlier reasoning back as `reasoning_content` on assistant messages.
    pub send_reasoning_back: bool,
}

/// Maps and checks the system prompt, the conversation and the tools on offer.
pub(crate) fn map<'a>(
    request: &'a ChatRequest,
    rules: Rules<'_>,
) -> Result<Vec<WireMessage<'a>>, Refusal> {
    check_tools(&request.tools)?;
    if request.messages.is_empty() {
        return Err(Refusal::whole("the conversation has no messages"));
    }
    let mut out = Vec::with_capacity(request.messages.len() + 1);
    if !request.system_prompt.is_empty() {
        out.push(WireMessage::System {
            content: &request.system_prompt,
        });
    }
    // Ids of tool uses not answered yet, and of every tool use seen.
    let mut open_calls: Vec<&str> = Vec::new();
    let mut known_calls: HashSet<&str> = HashSet::new();
    for (index, message) in request.messages.iter().enumerate() {
        let fail = |rule: String| Refusal {
            message_index: Some(index),
            rule,
        };
        if is_empty(message) {
            return Err(fail("the message is empty".into()));
        }
        match message.role {
            Role::Assistant => {
                if let Some(id) = open_calls.first() {
                    return Err(fail(format!(
                        "tool use {id} was never answered with a tool result"
                    )));
                }
                let wire = assistant_message(message, rules.send_reasoning_back).map_err(fail)?;
                if let WireMessage::Assistant { tool_calls, .. } = &wire {
                    for call in tool_calls {
                        if !known_calls.insert(call.id) {
                            return Err(fail(format!("tool use id {} is used twice", call.id)));
                        }
                        open_calls.push(call.id);
                    }
                }
                out.push(wire);
            }
            Role::User => user_turn(
                message,
                rules.model,
                &mut open_calls,
                &known_calls,
                &mut out,
            )
            .map_err(fail)?,
        }
    }
    match open_calls.first() {
        Some(id) => Err(Refusal {
            message_index: Some(request.messages.len() - 1),
            rule: format!("tool use {id} was never answered with a tool result"),
        }),
        None => Ok(out),
    }
}

/// Tools need a name, one each, and an object schema.
fn check_tools(tools: &[ToolSpec]) -> Result<(), Refusal> {
    let mut names = HashSet::new();
    for (index, tool) in tools.iter().enumerate() {
        let name = &tool.name;
        if name.is_empty() {
            return Err(Refusal::whole(format!("tool {index} has an empty name")));
        }
        if !names.insert(name.as_str()) {
            return Err(Refusal::whole(format!("tool {name:?} is offered twice")));
        }
        if !tool.input_schema.is_object() {
            return Err(Refusal::whole(format!(
                "tool {name:?}: its input schema is not a JSON object"
            )));
        }
    }
    Ok(())
}

fn is_empty(message: &Message) -> bool {
    message.content.iter().all(|block| match block {
        ContentBlock::Text { text } | ContentBlock::Reasoning { text } => text.is_empty(),
        _ => false,
    })
}

/// The non-empty pieces joined by `separator`: the piece itself when there is only one.
fn joined<'a, P: Into<Cow<'a, str>>>(
    pieces: impl IntoIterator<Item = P>,
    separator: &str,
) -> Option<Cow<'a, str>> {
    let mut pieces = pieces.into_iter().map(Into::into).filter(|p| !p.is_empty());
    let first = pieces.next()?;
    let Some(second) = pieces.next() else {
        return Some(first);
    };
    let mut text = first.into_owned();
    for piece in std::iter::once(second).chain(pieces) {
        text.push_str(separator);
        text.push_str(&piece);
    }
    Some(Cow::Owned(text))
}

/// A tool call's arguments as JSON text. Arguments that were not valid JSON are kept as
/// `Value::String(raw)` and go back byte for byte.
fn arguments_text(input: &serde_json::Value) -> Cow<'_, str> {
    match input {
        serde_json::Value::String(raw) => Cow::Borrowed(raw),
        // Written straight into a byte buffer: `to_string` would pass every piece through
        // `fmt`. A `Value` always serializes; the fallback only keeps this free of panics.
        other => Cow::Owned(serde_json::to_string(other).unwrap_or_else(|_| other.to_string())),
    }
}

fn assistant_message(
    message: &Message,
    send_reasoning_back: bool,
) -> Result<WireMessage<'_>, String> {
    let mut texts = Vec::new();
    let mut reasoning = Vec::new();
    let mut tool_calls = Vec::new();
    for block in &message.content {
        match block {
            ContentBlock::Text { text } => texts.push(text.as_str()),
            ContentBlock::Reasoning { text } => reasoning.push(text.as_str()),
            ContentBlock::ToolUse { id, name, input } => tool_calls.push(WireToolCall {
                id,
                kind: "function",
                function: WireFunctionCall {
                    name,
                    arguments: arguments_text(input),
                },
            }),
            ContentBlock::Image { .. } => {
                return Err("an assistant message cannot hold an image".into());
            }
            ContentBlock::ToolResult { .. } => {
                return Err("a tool result belongs in a user message, not an assistant one".into());
            }
        }
    }
    Ok(WireMessage::Assistant {
        // `null` only beside tool calls; a turn whose only block was reasoning that is not sent
        // back stays a (blank) assistant turn.
        content: joined(texts, "\n\n")
            .or_else(|| tool_calls.is_empty().then_some(Cow::Borrowed(""))),
        reasoning_content: if send_reasoning_back {
            joined(reasoning, "\n\n")
        } else {
            None
        },
        tool_calls,
    })
}

/// Maps one user message: tool results first (one `tool` message each), then one user message
/// with the images the tools returned and the user's own text and images.
fn user_turn<'a>(
    message: &'a Message,
    model: Option<&ModelInfo>,
    open_calls: &mut Vec<&'a str>,
    known_calls: &HashSet<&str>,
    out: &mut Vec<WireMessage<'a>>,
) -> Result<(), String> {
    // Images returned by tools, each group labelled with its call; then the user's own parts.
    let mut tool_images: Vec<Part<'a>> = Vec::new();
    let mut parts: Vec<Part<'a>> = Vec::new();
    for block in &message.content {
        match block {
            ContentBlock::Text { text } => {
                if !text.is_empty() {
                    parts.push(Part::Text {
                        text: Cow::Borrowed(text),
                    });
                }
            }
            ContentBlock::Image { media_type, data } => {
                parts.push(image_part(model, media_type, data)?);
            }
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => {
                if !known_calls.contains(tool_use_id.as_str()) {
                    return Err(format!(
                        "tool result {tool_use_id} answers no earlier tool use"
                    ));
                }
                let Some(position) = open_calls.iter().position(|id| id == tool_use_id) else {
                    return Err(format!("tool use {tool_use_id} is answered twice"));
                };
                open_calls.remove(position);
                let mut texts = Vec::new();
                let mut images = Vec::new();
                for inner in content {
                    match inner {
                        ContentBlock::Text { text } => texts.push(text.as_str()),
                        ContentBlock::Image { media_type, data } => {
                            images.push(image_part(model, media_type, data)?)
                        }
                        _ => {
                            return Err(format!(
                                "tool result {tool_use_id} may hold only text and images"
                            ));
                        }
                    }
                }
                let text = joined(texts, "\n").unwrap_or(Cow::Borrowed(if images.is_empty() {
                    "(no output)"
                } else {
                    "(see the image(s) in the next message)"
                }));
                out.push(WireMessage::Tool {
                    tool_call_id: tool_use_id,
                    content: if *is_error {
                        Cow::Owned(format!("Error: {text}"))
                    } else {
                        text
                    },
                });
                if !images.is_empty() {
                    tool_images.push(Part::Text {
                        text: Cow::Owned(format!("Image(s) returned by tool call {tool_use_id}:")),
                    });
                    tool_images.extend(images);
                }
            }
            ContentBlock::ToolUse { id, .. } => {
                return Err(format!(
                    "tool use {id} belongs in an assistant message, not a user one"
                ));
            }
            ContentBlock::Reasoning { .. } => {
                return Err("reasoning belongs in an assistant message, not a user one".into());
            }
        }
    }
    tool_images.append(&mut parts);
    let parts = tool_images;
    if parts.is_empty() {
        return Ok(());
    }
    let content = if parts.iter().all(|part| matches!(part, Part::Text { .. })) {
        let texts = parts.into_iter().filter_map(|part| match part {
            Part::Text { text } => Some(text),
            Part::ImageUrl { .. } => None,
        });
        UserContent::Text(joined(texts, "\n\n").unwrap_or_default())
    } else {
        UserContent::Parts(parts)
    };
    out.push(WireMessage::User { content });
    Ok(())
}

fn image_part<'a>(
    model: Option<&ModelInfo>,
    media_type: &'a str,
    data: &'a str,
) -> Result<Part<'a>, String> {
    if let Some(model) = model
        && !model.supports_images
    {
        return Err(format!(
            "holds an image, but model {} does not take images",
            model.id
        ));
    }
    if !media_type.starts_with("image/") || media_type.len() == "image/".len() {
        return Err(format!("media type {media_type:?} is not an image type"));
    }
    if !is_base64(data) {
        return Err("image data is not valid base64".into());
    }
    Ok(Part::ImageUrl {
        image_url: DataUrl { media_type, data },
    })
}

/// Standard base64 with padding (the form data URLs carry).
///
/// Images are megabytes, so the alphabet is checked 64 bytes at a time without a branch per
/// byte, which the compiler turns into vector instructions.
fn is_base64(data: &str) -> bool {
    let bytes = data.as_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(4) {
        return false;
    }
    let body = data.trim_end_matches('=');
    bytes.len() - body.len() <= 2
        && body.as_bytes().chunks(64).all(|chunk| {
            chunk
                .iter()
                .fold(true, |valid, &b| valid & in_base64_alphabet(b))
        })
}

/// `A`-`Z`, `a`-`z`, `0`-`9`, `+` or `/`, decided without branches.
fn in_base64_alphabet(b: u8) -> bool {
    (b.wrapping_sub(b'A') < 26)
        | (b.wrapping_sub(b'a') < 26)
        | (b.wrapping_sub(b'0') < 10)
        | (b == b'+')
        | (b == b'/')
}
#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::host::ChatRequest;

    const MODEL_ID: &str = "accounts/fireworks/models/test";
    /// A valid (tiny) base64 payload.
    const PNG_DATA: &str = "iVBORw0KGgo=";

    fn model() -> ModelInfo {
        ModelInfo::unknown(MODEL_ID)
    }

    fn user(content: Vec<ContentBlock>) -> Message {
        Message {
            role: Role::User,
            content,
        }
    }

    fn assistant(content: Vec<ContentBlock>) -> Message {
        Message {
            role: Role::Assistant,
            content,
        }
    }

    fn text(text: &str) -> ContentBlock {
        ContentBlock::Text { text: text.into() }
    }

    fn image(media_type: &str, data: &str) -> ContentBlock {
        ContentBlock::Image {
            media_type: media_type.into(),
            data: data.into(),
        }
    }

    fn tool_use(id: &str, name: &str, input: Value) -> ContentBlock {
        ContentBlock::ToolUse {
            id: id.into(),
            name: name.into(),
            input,
        }
    }

    fn tool_result(id: &str, content: Vec<ContentBlock>, is_error: bool) -> ContentBlock {
        ContentBlock::ToolResult {
            tool_use_id: id.into(),
            content,
            is_error,
        }
    }

    fn reasoning(text: &str) -> ContentBlock {
        ContentBlock::Reasoning { text: text.into() }
    }

    // Images.

    #[test]
    fn base64_alphabet_is_letters_digits_plus_and_slash() {
        for b in 0..=u8::MAX {
            let expected = b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
            assert_eq!(in_base64_alphabet(b), expected, "byte {b}");
        }
        // A bad byte in any 64-byte block, or in the short last one, is found.
        let long = "QUFB".repeat(40);
        assert!(is_base64(&long));
        for at in [0, 63, 64, 100, 159] {
            let mut bad = long.clone().into_bytes();
            bad[at] = b'-';
            assert!(!is_base64(std::str::from_utf8(&bad).unwrap()), "at {at}");
        }
        assert!(is_base64("QUE=") && is_base64("QQ==") && !is_base64("Q==="));
    }

    // Prefix stability.

    #[test]
    fn each_turns_messages_are_a_byte_prefix_of_the_next_turns() {
        let tools = vec![ToolSpec::new(
            "ls",
            "Lists a directory.",
            json!({"type": "object", "properties": {"path": {"type": "string"}}}),
        )];
        let turn1 = vec![user(vec![
            text("Describe src/ and this picture"),
            image("image/png", PNG_DATA),
        ])];
        let mut turn2 = turn1.clone();
        turn2.push(assistant(vec![
            reasoning("I should list it."),
            text("Looking."),
            tool_use(
                "call_1",
                "ls",
                json!({"path": "src", "deep": false, "n": 1.5}),
            ),
        ]));
        turn2.push(user(vec![tool_result(
            "call_1",
            vec![text("lib.rs\nmain.rs"), image("image/png", PNG_DATA)],
            false,
        )]));
        let mut turn3 = turn2.clone();
        turn3.push(assistant(vec![text("Two files: \"lib.rs\" and main.rs ✓")]));
        turn3.push(Message::user("Thanks"));

        let model = model();
        let rules = Rules {
            model: Some(&model),
            send_reasoning_back: true,
        };
        let raw: Vec<Vec<u8>> = [turn1, turn2, turn3]
            .into_iter()
            .map(|messages| {
                let request = ChatRequest::new("Be brief.", messages).with_tools(tools.clone());
                serde_json::to_vec(&map(&request, rules).unwrap()).unwrap()
            })
            .collect();
        for pair in raw.windows(2) {
            let (shorter, longer) = (&pair[0], &pair[1]);
            assert_eq!(shorter.last(), Some(&b']'));
            let open = &shorter[..shorter.len() - 1];
            assert!(
                longer.starts_with(open),
                "not a prefix:\n{}\n{}",
                String::from_utf8_lossy(shorter),
                String::from_utf8_lossy(longer)
            );
            assert_eq!(longer[open.len()], b',', "the next turn appends messages");
        }
    }
}
