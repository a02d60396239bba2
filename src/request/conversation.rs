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

    fn text_only_model() -> ModelInfo {
        ModelInfo {
            supports_images: false,
            ..ModelInfo::unknown(MODEL_ID)
        }
    }

    /// The wire messages of `request` as JSON, or the refusal as "message N: rule".
    fn mapped(
        request: &ChatRequest,
        model: &ModelInfo,
        send_reasoning_back: bool,
    ) -> Result<Value, String> {
        let rules = Rules {
            model: Some(model),
            send_reasoning_back,
        };
        match map(request, rules) {
            Ok(messages) => Ok(serde_json::to_value(&messages).expect("serializable")),
            Err(Refusal {
                message_index: Some(index),
                rule,
            }) => Err(format!("message {index}: {rule}")),
            Err(Refusal { rule, .. }) => Err(rule),
        }
    }

    fn messages(request: &ChatRequest) -> Value {
        mapped(request, &model(), false).expect("a valid request")
    }

    /// The refusal of a request, as "message N: rule".
    fn config_error(request: &ChatRequest, model: &ModelInfo) -> String {
        match mapped(request, model, false) {
            Err(message) => message,
            Ok(messages) => panic!("expected a refusal, got {messages}"),
        }
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

    #[test]
    fn empty_system_prompt_sends_no_system_message() {
        let request = ChatRequest::new("", vec![Message::user("Hi")]);
        assert_eq!(
            messages(&request),
            json!([{"role": "user", "content": "Hi"}])
        );
    }

    // 3. Images.

    #[test]
    fn image_block_becomes_user_content_parts_with_data_url() {
        let request = ChatRequest::new(
            "",
            vec![user(vec![
                text("What is this?"),
                image("image/png", PNG_DATA),
            ])],
        );
        assert_eq!(
            messages(&request),
            json!([{
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PNG_DATA}")}},
                ],
            }])
        );
    }

    #[test]
    fn image_for_a_model_without_image_input_is_a_config_error_naming_the_message() {
        let request = ChatRequest::new(
            "",
            vec![user(vec![text("Look"), image("image/png", PNG_DATA)])],
        );
        let message = config_error(&request, &text_only_model());
        assert!(message.contains("message 0"), "{message}");
        assert!(message.contains("image"), "{message}");
    }

    #[test]
    fn non_image_media_type_is_a_config_error() {
        let request = ChatRequest::new("", vec![user(vec![image("text/plain", PNG_DATA)])]);
        let message = config_error(&request, &model());
        assert!(message.contains("message 0"), "{message}");
        assert!(message.contains("text/plain"), "{message}");
    }

    #[test]
    fn invalid_base64_image_data_is_a_config_error() {
        let request = ChatRequest::new("", vec![user(vec![image("image/png", "not base64!")])]);
        let message = config_error(&request, &model());
        assert!(message.contains("message 0"), "{message}");
        assert!(message.contains("base64"), "{message}");
    }

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

    // 4. Tool uses.

    #[test]
    fn arguments_that_were_not_json_go_back_byte_for_byte() {
        let raw = "{\"path\": \"src/lib.rs\", oops";
        let request = ChatRequest::new(
            "",
            vec![
                Message::user("Read it"),
                assistant(vec![tool_use(
                    "call_1",
                    "read_file",
                    Value::String(raw.into()),
                )]),
                Message::tool_result("call_1", "bad arguments"),
            ],
        );
        let messages = messages(&request);
        assert_eq!(messages[1]["tool_calls"][0]["function"]["arguments"], raw);
    }

    #[test]
    fn tools_need_a_name_one_each_and_an_object_schema() {
        let tool = |name: &str, schema: Value| ToolSpec::new(name, "", schema);
        let refused = |tools: Vec<ToolSpec>| {
            config_error(
                &ChatRequest::new("", vec![Message::user("Hi")]).with_tools(tools),
                &model(),
            )
        };
        assert_eq!(
            refused(vec![tool("", json!({}))]),
            "tool 0 has an empty name"
        );
        assert_eq!(
            refused(vec![tool("ls", json!({})), tool("ls", json!({}))]),
            "tool \"ls\" is offered twice"
        );
        assert!(refused(vec![tool("ls", json!("object"))]).contains("not a JSON object"));
    }

    #[test]
    fn tool_use_without_text_has_null_content_and_tool_calls() {
        let request = ChatRequest::new(
            "",
            vec![
                Message::user("List files"),
                assistant(vec![tool_use(
                    "call_1",
                    "ls",
                    json!({"path": "src", "all": true}),
                )]),
                user(vec![tool_result("call_1", vec![text("lib.rs")], false)]),
            ],
        );
        let messages = messages(&request);
        let call = &messages[1];
        assert_eq!(
            *call,
            json!({
                "role": "assistant",
                "content": null,
                "tool_calls": [{
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "ls", "arguments": "{\"all\":true,\"path\":\"src\"}"},
                }],
            })
        );
        assert!(
            call.as_object().unwrap().contains_key("content"),
            "content must be present as null, not left out"
        );
        let arguments = call["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(arguments).unwrap(),
            json!({"path": "src", "all": true})
        );
    }

    #[test]
    fn tool_use_with_text_sends_the_text_as_content() {
        let request = ChatRequest::new(
            "",
            vec![
                Message::user("List files"),
                assistant(vec![
                    text("Let me look."),
                    tool_use("call_1", "ls", json!({})),
                ]),
                user(vec![tool_result("call_1", vec![text("lib.rs")], false)]),
            ],
        );
        assert_eq!(
            messages(&request)[1],
            json!({
                "role": "assistant",
                "content": "Let me look.",
                "tool_calls": [{
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "ls", "arguments": "{}"},
                }],
            })
        );
    }

    // 5. Tool results.

    /// A conversation whose assistant turn calls `ls` as `call_1` and `cat` as `call_2`,
    /// followed by `answer`.
    fn two_calls_then(answer: Message) -> ChatRequest {
        ChatRequest::new(
            "",
            vec![
                Message::user("Look around"),
                assistant(vec![
                    tool_use("call_1", "ls", json!({})),
                    tool_use("call_2", "cat", json!({"file": "a"})),
                ]),
                answer,
            ],
        )
    }

    #[test]
    fn tool_results_become_tool_messages_before_the_turns_text() {
        let request = two_calls_then(user(vec![
            text("Also, hurry."),
            tool_result("call_1", vec![text("a"), text("b")], false),
            tool_result("call_2", vec![text("contents")], false),
        ]));
        let messages = messages(&request);
        assert_eq!(
            messages.as_array().unwrap()[2..],
            [
                json!({"role": "tool", "tool_call_id": "call_1", "content": "a\nb"}),
                json!({"role": "tool", "tool_call_id": "call_2", "content": "contents"}),
                json!({"role": "user", "content": "Also, hurry."}),
            ]
        );
    }

    #[test]
    fn tool_result_text_parts_are_all_kept() {
        let request = two_calls_then(user(vec![
            tool_result(
                "call_1",
                vec![text("first"), text("second"), text("third")],
                false,
            ),
            tool_result("call_2", vec![], false),
        ]));
        let messages = messages(&request);
        let content = messages[2]["content"].as_str().unwrap();
        for part in ["first", "second", "third"] {
            assert!(content.contains(part), "{content:?} lacks {part:?}");
        }
        assert!(
            content.find("first") < content.find("second")
                && content.find("second") < content.find("third"),
            "{content:?}"
        );
        // An empty result still answers the call with some content.
        assert_eq!(messages[3]["role"], json!("tool"));
        assert!(!messages[3]["content"].as_str().unwrap().is_empty());
    }

    #[test]
    fn failed_tool_result_says_error_in_its_content() {
        let request = two_calls_then(user(vec![
            tool_result("call_1", vec![text("permission denied")], true),
            tool_result("call_2", vec![text("ok")], false),
        ]));
        let messages = messages(&request);
        assert_eq!(
            messages[2],
            json!({"role": "tool", "tool_call_id": "call_1", "content": "Error: permission denied"})
        );
        assert_eq!(messages[3]["content"], json!("ok"));
    }

    #[test]
    fn message_tool_error_builds_a_failed_result() {
        let block = |mut message: Message| message.content.remove(0);
        let request = two_calls_then(user(vec![
            block(Message::tool_error("call_1", "permission denied")),
            block(Message::tool_result("call_2", "ok")),
        ]));
        let messages = messages(&request);
        assert_eq!(
            messages[2],
            json!({"role": "tool", "tool_call_id": "call_1", "content": "Error: permission denied"})
        );
        assert_eq!(messages[3]["content"], json!("ok"));
    }

    #[test]
    fn tool_result_image_goes_into_a_user_message_right_after_the_tool_messages() {
        let request = two_calls_then(user(vec![
            tool_result(
                "call_1",
                vec![text("screenshot taken"), image("image/png", PNG_DATA)],
                false,
            ),
            tool_result("call_2", vec![text("ok")], false),
            text("What do you see?"),
        ]));
        let messages = messages(&request);
        let messages = messages.as_array().unwrap();
        assert_eq!(messages.len(), 5, "{messages:?}");
        assert_eq!(
            messages[2],
            json!({"role": "tool", "tool_call_id": "call_1", "content": "screenshot taken"})
        );
        assert_eq!(messages[3]["role"], json!("tool"));
        assert_eq!(messages[4]["role"], json!("user"));
        let parts = messages[4]["content"].as_array().expect("content parts");
        let url = format!("data:image/png;base64,{PNG_DATA}");
        let image_at = parts
            .iter()
            .position(|part| *part == json!({"type": "image_url", "image_url": {"url": url}}))
            .expect("the tool's image is sent");
        // The image is labelled with its call, before it.
        assert!(
            parts[..image_at]
                .iter()
                .any(|part| part["type"] == "text"
                    && part["text"].as_str().unwrap().contains("call_1")),
            "{parts:?}"
        );
        // The user's own text comes too.
        assert!(
            parts.contains(&json!({"type": "text", "text": "What do you see?"})),
            "{parts:?}"
        );
    }

    #[test]
    fn tool_result_with_only_an_image_is_not_dropped() {
        let request = ChatRequest::new(
            "",
            vec![
                Message::user("Screenshot please"),
                assistant(vec![tool_use("call_1", "screenshot", json!({}))]),
                user(vec![tool_result(
                    "call_1",
                    vec![image("image/jpeg", PNG_DATA)],
                    false,
                )]),
            ],
        );
        let messages = messages(&request);
        assert_eq!(messages[2]["role"], json!("tool"));
        assert_eq!(messages[2]["tool_call_id"], json!("call_1"));
        assert!(!messages[2]["content"].as_str().unwrap().is_empty());
        let parts = messages[3]["content"].as_array().expect("content parts");
        assert!(parts.contains(&json!({
            "type": "image_url",
            "image_url": {"url": format!("data:image/jpeg;base64,{PNG_DATA}")},
        })));
    }

    // 6. Reasoning.

    fn with_reasoning() -> ChatRequest {
        ChatRequest::new(
            "",
            vec![
                Message::user("2+2?"),
                assistant(vec![reasoning("Add them."), text("4")]),
                Message::user("Thanks"),
            ],
        )
    }

    #[test]
    fn reasoning_is_sent_back_as_reasoning_content_when_asked() {
        let messages = mapped(&with_reasoning(), &model(), true).unwrap();
        assert_eq!(
            messages[1],
            json!({"role": "assistant", "content": "4", "reasoning_content": "Add them."})
        );
    }

    #[test]
    fn reasoning_is_left_out_when_not_sent_back() {
        let messages = mapped(&with_reasoning(), &model(), false).unwrap();
        assert_eq!(messages[1], json!({"role": "assistant", "content": "4"}));
    }

    #[test]
    fn reasoning_never_appears_as_think_text_in_content() {
        for send_back in [false, true] {
            let messages = mapped(&with_reasoning(), &model(), send_back).unwrap();
            for message in messages.as_array().unwrap() {
                let content = message["content"].as_str().unwrap_or_default();
                assert!(!content.contains("<think>"), "{message}");
                assert!(!content.contains("Add them."), "{message}");
            }
        }
    }

    // 8. Validation.

    #[test]
    fn tool_result_matching_no_earlier_tool_use_is_refused() {
        let request = ChatRequest::new(
            "",
            vec![
                Message::user("Hi"),
                Message::assistant("Hello"),
                user(vec![tool_result("call_9", vec![text("x")], false)]),
            ],
        );
        let message = config_error(&request, &model());
        assert!(message.contains("message 2"), "{message}");
        assert!(message.contains("call_9"), "{message}");
    }

    #[test]
    fn tool_use_unanswered_before_the_next_assistant_turn_is_refused() {
        let request = ChatRequest::new(
            "",
            vec![
                Message::user("Hi"),
                assistant(vec![tool_use("call_1", "ls", json!({}))]),
                Message::user("never mind"),
                Message::assistant("OK"),
                Message::user("bye"),
            ],
        );
        let message = config_error(&request, &model());
        assert!(message.contains("message 3"), "{message}");
        assert!(message.contains("call_1"), "{message}");
    }

    #[test]
    fn tool_use_unanswered_at_the_end_is_refused() {
        let request = ChatRequest::new(
            "",
            vec![
                Message::user("Hi"),
                assistant(vec![tool_use("call_1", "ls", json!({}))]),
                Message::user("never mind"),
            ],
        );
        let message = config_error(&request, &model());
        assert!(message.contains("message 2"), "{message}");
        assert!(message.contains("call_1"), "{message}");
    }

    #[test]
    fn empty_messages_are_refused() {
        let no_blocks = ChatRequest::new("", vec![Message::user("Hi"), assistant(vec![])]);
        let message = config_error(&no_blocks, &model());
        assert!(message.contains("message 1"), "{message}");

        let empty_text = ChatRequest::new("", vec![user(vec![text(""), text("")])]);
        let message = config_error(&empty_text, &model());
        assert!(message.contains("message 0"), "{message}");
    }

    #[test]
    fn tool_use_answered_twice_is_refused() {
        let request = ChatRequest::new(
            "",
            vec![
                Message::user("Hi"),
                assistant(vec![tool_use("call_1", "ls", json!({}))]),
                user(vec![
                    tool_result("call_1", vec![text("a")], false),
                    tool_result("call_1", vec![text("a")], false),
                ]),
            ],
        );
        let message = config_error(&request, &model());
        assert!(message.contains("message 2"), "{message}");
        assert!(message.contains("call_1"), "{message}");
    }

    #[test]
    fn tool_use_answered_again_in_a_later_turn_is_refused() {
        let request = ChatRequest::new(
            "",
            vec![
                Message::user("Hi"),
                assistant(vec![tool_use("call_1", "ls", json!({}))]),
                user(vec![tool_result("call_1", vec![text("a")], false)]),
                Message::assistant("Done"),
                user(vec![tool_result("call_1", vec![text("a")], false)]),
            ],
        );
        let message = config_error(&request, &model());
        assert!(message.contains("message 4"), "{message}");
    }

    // 10. Prefix stability.

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
