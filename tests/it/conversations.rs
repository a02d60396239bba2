//! How a conversation becomes the request body, as a table: each case in
//! `tests/fixtures/conversations/cases.json` is a conversation (with its tools, options and the
//! provider's settings) and either the `messages` the body must carry or the refusal
//! `{message_index, rule}` it must get, both from `ChatRequest::validate_for` and from the
//! provider, which then sends nothing.
//!
//! A case's `messages` are written as the user gives them: `role` and `content` blocks, each one
//! of `{"text": ...}`, `{"image": {"media_type", "data"}}`, `{"tool_use": {"id", "name",
//! "input"}}`, `{"tool_result": {"tool_use_id", "content": [blocks], "is_error"}}`,
//! `{"tool_error": {"tool_use_id", "text"}}` (built by `Message::tool_error`) and
//! `{"reasoning": ...}`.

use fireworks_provider::{
    ChatRequest, ContentBlock, Error, FireworksProvider, FireworksSettings, LlmProvider, Message,
    RequestOptions, Role, ScriptedReply, ScriptedTransport, ToolChoice, ToolSpec,
};
use futures::StreamExt;
use serde_json::Value;

use crate::support::fixture;

/// The model every case is sent to: one the catalog does not know, so nothing but the case's
/// settings shapes the body.
const MODEL_ID: &str = "accounts/fireworks/models/test";

#[tokio::test]
async fn every_conversation_maps_to_its_body_or_its_refusal() {
    let path = format!(
        "{}/tests/fixtures/conversations/cases.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    let cases: Vec<Value> = serde_json::from_str(&text).expect("cases.json is a JSON array");
    assert!(!cases.is_empty());
    for case in &cases {
        let name = case["name"].as_str().expect("every case has a name");
        check(name, case).await;
    }
}

async fn check(name: &str, case: &Value) {
    let transport =
        ScriptedTransport::new().with_reply(ScriptedReply::sse(fixture("plain_answer")));
    let provider =
        FireworksProvider::new(settings(&case["settings"]).with_transport(transport.clone()))
            .unwrap_or_else(|err| panic!("{name}: {err}"));
    let request = request(name, case);
    let validated = request.validate_for(provider.model());
    let mut stream = provider.create_message(request);
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        items.push(item);
    }
    let sent = transport.requests();

    match (&case["expected"]["messages"], &case["expected"]["refused"]) {
        (Value::Array(_), Value::Null) => {
            assert!(validated.is_ok(), "{name}: {validated:?}");
            assert!(items.iter().all(Result::is_ok), "{name}: {items:?}");
            assert_eq!(sent.len(), 1, "{name}");
            let body: Value = serde_json::from_slice(&sent[0].body).expect("a JSON body");
            assert_eq!(
                body["messages"], case["expected"]["messages"],
                "{name}: the body's messages"
            );
        }
        (Value::Null, Value::Object(refusal)) => {
            let message_index = refusal["message_index"]
                .as_u64()
                .map(|index| index as usize);
            let rule = refusal["rule"].as_str().expect("a refusal names its rule");
            let refused = |error: &Error| {
                matches!(
                    error,
                    Error::InvalidConversation { message_index: index, rule: said }
                        if *index == message_index && said == rule
                )
            };
            assert!(
                validated.as_ref().is_err_and(refused),
                "{name}: validate_for gave {validated:?}"
            );
            assert!(
                matches!(&items[..], [Err(error)] if refused(error)),
                "{name}: the stream gave {items:?}"
            );
            assert!(sent.is_empty(), "{name}: a refused request was sent");
        }
        _ => panic!("{name}: `expected` holds either `messages` or `refused`"),
    }
}

/// The provider's settings: the images and reasoning switches a case may set.
fn settings(case: &Value) -> FireworksSettings {
    let mut settings = FireworksSettings::new("fw_conversation_key", MODEL_ID);
    if let Some(images) = case["images"].as_bool() {
        settings = settings.with_images(images);
    }
    if let Some(send) = case["reasoning_sent_back"].as_bool() {
        settings = settings.with_send_reasoning_back(send);
    }
    settings
}

fn request(name: &str, case: &Value) -> ChatRequest {
    let messages = case["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: `messages` is an array"))
        .iter()
        .map(message)
        .collect();
    let system = case["system"].as_str().unwrap_or("");
    let mut request = ChatRequest::new(system, messages);
    if let Some(tools) = case["tools"].as_array() {
        request = request.with_tools(tools.iter().map(tool).collect());
    }
    if let Some(choice) = case["tool_choice"].as_str() {
        let choice = match choice {
            "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            tool => ToolChoice::Tool(tool.to_owned()),
        };
        request = request.with_options(RequestOptions::new().with_tool_choice(choice));
    }
    request
}

fn message(message: &Value) -> Message {
    let role = match message["role"].as_str() {
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        other => panic!("unknown role {other:?}"),
    };
    Message {
        role,
        content: blocks(&message["content"]),
    }
}

fn blocks(blocks: &Value) -> Vec<ContentBlock> {
    let blocks = blocks.as_array().expect("`content` is an array of blocks");
    blocks.iter().map(block).collect()
}

fn block(block: &Value) -> ContentBlock {
    let string = |value: &Value| value.as_str().expect("a string").to_owned();
    let (kind, value) = block
        .as_object()
        .and_then(|object| object.iter().next())
        .expect("a block is an object of one key");
    match kind.as_str() {
        "text" => ContentBlock::Text {
            text: string(value),
        },
        "reasoning" => ContentBlock::Reasoning {
            text: string(value),
        },
        "image" => ContentBlock::Image {
            media_type: string(&value["media_type"]),
            data: string(&value["data"]),
        },
        "tool_use" => ContentBlock::ToolUse {
            id: string(&value["id"]),
            name: string(&value["name"]),
            input: value["input"].clone(),
        },
        "tool_result" => ContentBlock::ToolResult {
            tool_use_id: string(&value["tool_use_id"]),
            content: blocks(&value["content"]),
            is_error: value["is_error"].as_bool().unwrap_or(false),
        },
        "tool_error" => {
            let mut message =
                Message::tool_error(string(&value["tool_use_id"]), string(&value["text"]));
            assert_eq!(message.content.len(), 1, "one block: {message:?}");
            message.content.remove(0)
        }
        other => panic!("unknown block {other:?}"),
    }
}

fn tool(tool: &Value) -> ToolSpec {
    ToolSpec::new(
        tool["name"].as_str().expect("a tool name"),
        tool["description"].as_str().unwrap_or(""),
        tool["parameters"].clone(),
    )
}
