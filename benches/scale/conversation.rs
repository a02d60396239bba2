//! A coding agent's conversation of about 200k tokens, generated deterministically, and the
//! floor's version of its request body: the same JSON written from plain serde structs.
//!
//! At full size: a system prompt and six tools; 400 messages: the task, 199 assistant turns
//! (reasoning, a sentence, one tool call; every tenth call writes a 12 KB file) each answered by
//! a tool result (source text, every tenth one 20 KB), and a last user message; a 1 MB base64
//! screenshot returned by a tool and another pasted by the user. A smaller `scale` shrinks the
//! message count and the images alike, so every size has the same mix.

use std::borrow::Cow;

use fireworks_provider::{ChatRequest, ContentBlock, Message, Role, ToolSpec};
use serde::Serialize;
use serde_json::{Value, json};

/// A tiny deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}

const NAMES: [&str; 12] = [
    "config", "path", "reader", "buffer", "request", "handle", "entry", "index", "limit", "tokens",
    "session", "result",
];

/// About `bytes` bytes of Rust-like source: quotes, newlines and indentation to escape.
fn source_text(rng: &mut Rng, bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 96);
    while text.len() < bytes {
        let (a, b) = (NAMES[rng.below(12)], NAMES[rng.below(12)]);
        let indent = "    ".repeat(1 + rng.below(3));
        let line = match rng.below(4) {
            0 => format!(
                "{indent}let {a}_{} = {b}.get(\"{a}\").unwrap_or(0);\n",
                rng.below(99)
            ),
            1 => format!("{indent}if {a}.len() > {b}.limit {{ return Err(Error::Full); }}\n"),
            2 => format!("{indent}// Reads the {a} before the {b} is checked.\n"),
            _ => format!("{indent}println!(\"{a} = {{}}, {b} = {{:?}}\", {a}, {b});\n"),
        };
        text.push_str(&line);
    }
    text
}

/// `length` characters of the base64 alphabet (valid base64: `length` is a multiple of 4).
fn base64_image(rng: &mut Rng, length: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..length)
        .map(|_| ALPHABET[rng.below(64)] as char)
        .collect()
}

fn text(text: impl Into<String>) -> ContentBlock {
    ContentBlock::Text { text: text.into() }
}

fn tools() -> Vec<ToolSpec> {
    let path =
        json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]});
    let write = json!({"type": "object", "properties": {"path": {"type": "string"}, "content": {"type": "string"}}, "required": ["path", "content"]});
    let command = json!({"type": "object", "properties": {"command": {"type": "string"}, "timeout_s": {"type": "integer"}}, "required": ["command"]});
    vec![
        ToolSpec::new("read_file", "Reads a file of the project.", path.clone()),
        ToolSpec::new("write_file", "Writes a whole file.", write),
        ToolSpec::new("list_dir", "Lists a directory.", path.clone()),
        ToolSpec::new("run", "Runs a shell command in the project.", command),
        ToolSpec::new("search", "Finds text in the project.", path),
        ToolSpec::new(
            "screenshot",
            "Takes a screenshot of the app.",
            json!({"type": "object"}),
        ),
    ]
}

/// The full conversation's message count.
const FULL_MESSAGES: usize = 400;
/// The full conversation's image size in base64 characters (1 MiB).
const FULL_IMAGE: usize = 1 << 20;

/// The conversation at `scale` (1.0: full size) of the full message count and image size.
pub fn agent_conversation(scale: f64) -> ChatRequest {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let count = (FULL_MESSAGES as f64 * scale) as usize;
    let image_length = ((FULL_IMAGE as f64 * scale) as usize) / 4 * 4;
    let pairs = (count - 2) / 2;
    let system =
        "You are a careful coding agent. Read before you write; run the tests after each change.\n"
            .repeat(60);
    let mut messages = vec![Message::user(format!(
        "The config loader panics on an empty file. Find out why and fix it.\n{}",
        source_text(&mut rng, 400)
    ))];
    for turn in 0..pairs {
        let id = format!("call_{turn:05}_{:08x}", rng.below(1 << 30));
        let (name, input) = match turn % 10 {
            5 => (
                "write_file",
                json!({"path": format!("src/module_{turn}.rs"), "content": source_text(&mut rng, 12_000)}),
            ),
            8 => (
                "run",
                json!({"command": "cargo test -p core", "timeout_s": 600}),
            ),
            _ => (
                "read_file",
                json!({"path": format!("src/module_{turn}.rs")}),
            ),
        };
        messages.push(Message {
            role: Role::Assistant,
            content: vec![
                ContentBlock::Reasoning {
                    text: source_text(&mut rng, 250),
                },
                text(format!(
                    "Next I look at module {turn} to see how {name} fits."
                )),
                ContentBlock::ToolUse {
                    id: id.clone(),
                    name: name.into(),
                    input,
                },
            ],
        });
        let output = source_text(&mut rng, if turn % 10 == 3 { 20_000 } else { 600 });
        let mut result = vec![ContentBlock::ToolResult {
            tool_use_id: id,
            content: vec![text(output)],
            is_error: false,
        }];
        if turn == pairs / 3 {
            let ContentBlock::ToolResult { content, .. } = &mut result[0] else {
                unreachable!()
            };
            content.push(ContentBlock::Image {
                media_type: "image/png".into(),
                data: base64_image(&mut rng, image_length),
            });
        }
        if turn == pairs * 2 / 3 {
            result.push(text("This is what I see in the app now:"));
            result.push(ContentBlock::Image {
                media_type: "image/jpeg".into(),
                data: base64_image(&mut rng, image_length),
            });
        }
        messages.push(Message {
            role: Role::User,
            content: result,
        });
    }
    messages.push(Message::user("Thanks. Now update the docs to match."));
    ChatRequest::new(system, messages).with_tools(tools())
}

/// The text bytes and image bytes of a conversation (what its body mostly consists of).
pub fn content_bytes(request: &ChatRequest) -> (usize, usize) {
    fn add(block: &ContentBlock, sizes: &mut (usize, usize)) {
        match block {
            ContentBlock::Text { text } | ContentBlock::Reasoning { text } => sizes.0 += text.len(),
            ContentBlock::Image { data, .. } => sizes.1 += data.len(),
            ContentBlock::ToolUse { input, .. } => sizes.0 += input.to_string().len(),
            ContentBlock::ToolResult { content, .. } => {
                content.iter().for_each(|inner| add(inner, sizes))
            }
            _ => {}
        }
    }
    let mut sizes = (request.system_prompt.len(), 0);
    for block in request.messages.iter().flat_map(|m| &m.content) {
        add(block, &mut sizes);
    }
    sizes
}

// ---- The floor: the same body as plain serde structs -----------------------------------------

/// The body, field for field in the order the crate writes it.
#[derive(Serialize)]
pub struct FloorBody<'a> {
    model: &'a str,
    messages: Vec<FloorMessage<'a>>,
    stream: bool,
    stream_options: IncludeUsage,
    max_tokens: u64,
    temperature: f32,
    tools: Vec<FloorTool<'a>>,
    prompt_cache_key: String,
}

#[derive(Serialize)]
struct IncludeUsage {
    include_usage: bool,
}

#[derive(Serialize)]
#[serde(untagged)]
enum FloorMessage<'a> {
    Text {
        role: &'static str,
        content: Cow<'a, str>,
    },
    Parts {
        role: &'static str,
        content: Vec<FloorPart<'a>>,
    },
    Assistant {
        role: &'static str,
        content: &'a str,
        reasoning_content: &'a str,
        tool_calls: Vec<FloorToolCall<'a>>,
    },
    ToolResult {
        role: &'static str,
        tool_call_id: &'a str,
        content: &'a str,
    },
}

#[derive(Serialize)]
#[serde(untagged)]
enum FloorPart<'a> {
    Text {
        #[serde(rename = "type")]
        kind: &'static str,
        text: Cow<'a, str>,
    },
    Image {
        #[serde(rename = "type")]
        kind: &'static str,
        image_url: FloorUrl,
    },
}

#[derive(Serialize)]
struct FloorUrl {
    url: String,
}

#[derive(Serialize)]
struct FloorToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: FloorFunction<'a>,
}

#[derive(Serialize)]
struct FloorFunction<'a> {
    name: &'a str,
    arguments: String,
}

#[derive(Serialize)]
struct FloorTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: FloorToolFunction<'a>,
}

#[derive(Serialize)]
struct FloorToolFunction<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a Value,
}

fn text_of(blocks: &[ContentBlock]) -> &str {
    match blocks
        .iter()
        .find(|b| matches!(b, ContentBlock::Text { .. }))
    {
        Some(ContentBlock::Text { text }) => text,
        _ => unreachable!("every generated message has text"),
    }
}

fn image_part(block: &ContentBlock) -> Option<FloorPart<'static>> {
    let ContentBlock::Image { media_type, data } = block else {
        return None;
    };
    Some(FloorPart::Image {
        kind: "image_url",
        image_url: FloorUrl {
            url: format!("data:{media_type};base64,{data}"),
        },
    })
}

/// The floor's body for a generated conversation; `max_tokens` and `prompt_cache_key` are the
/// values the crate chose (read from its body).
pub fn floor_body<'a>(
    request: &'a ChatRequest,
    model_id: &'a str,
    max_tokens: u64,
    prompt_cache_key: String,
) -> FloorBody<'a> {
    let mut messages = vec![FloorMessage::Text {
        role: "system",
        content: Cow::Borrowed(&request.system_prompt),
    }];
    for message in &request.messages {
        if message.role == Role::Assistant {
            let reasoning = message.content.iter().find_map(|b| match b {
                ContentBlock::Reasoning { text } => Some(text.as_str()),
                _ => None,
            });
            let tool_calls = message.content.iter().filter_map(|b| match b {
                ContentBlock::ToolUse { id, name, input } => Some(FloorToolCall {
                    id,
                    kind: "function",
                    function: FloorFunction {
                        name,
                        arguments: input.to_string(),
                    },
                }),
                _ => None,
            });
            messages.push(FloorMessage::Assistant {
                role: "assistant",
                content: text_of(&message.content),
                reasoning_content: reasoning.unwrap(),
                tool_calls: tool_calls.collect(),
            });
            continue;
        }
        let mut parts = Vec::new();
        for block in &message.content {
            match block {
                ContentBlock::ToolResult {
                    tool_use_id,
                    content,
                    ..
                } => {
                    messages.push(FloorMessage::ToolResult {
                        role: "tool",
                        tool_call_id: tool_use_id,
                        content: text_of(content),
                    });
                    let images: Vec<_> = content.iter().filter_map(image_part).collect();
                    if !images.is_empty() {
                        let label = format!("Image(s) returned by tool call {tool_use_id}:");
                        parts.push(FloorPart::Text {
                            kind: "text",
                            text: Cow::Owned(label),
                        });
                        parts.extend(images);
                    }
                }
                ContentBlock::Text { text } => parts.push(FloorPart::Text {
                    kind: "text",
                    text: Cow::Borrowed(text),
                }),
                other => parts.extend(image_part(other)),
            }
        }
        if let [FloorPart::Text { text, .. }] = parts.as_slice() {
            let content = text.clone();
            messages.push(FloorMessage::Text {
                role: "user",
                content,
            });
        } else if !parts.is_empty() {
            messages.push(FloorMessage::Parts {
                role: "user",
                content: parts,
            });
        }
    }
    FloorBody {
        model: model_id,
        messages,
        stream: true,
        stream_options: IncludeUsage {
            include_usage: true,
        },
        max_tokens,
        temperature: 1.0,
        tools: request
            .tools
            .iter()
            .map(|tool| FloorTool {
                kind: "function",
                function: FloorToolFunction {
                    name: &tool.name,
                    description: &tool.description,
                    parameters: &tool.input_schema,
                },
            })
            .collect(),
        prompt_cache_key,
    }
}
