//! A small coding-agent host: one `Arc<dyn LlmProvider>`, two read-only tools confined to the
//! working directory (`list_dir` and `read_file`), and the tool loop that streams a turn, runs
//! the calls the model made, sends their results back and repeats until the model answers.
//!
//! Offline (no key needed): replays the recording `tests/fixtures/recordings/agent`, a
//! three-turn Kimi K2 conversation (list the crate, read `Cargo.toml`, answer), through the real
//! provider, running the tools for real on this crate; then checks that each tool result went
//! out in the next request, and compares the requests with the recorded ones:
//!
//!     cargo run --example agent
//!
//! Live: set `FIREWORKS_API_KEY` (and optionally `FIREWORKS_MODEL_ID`, `FIREWORKS_BASE_URL`);
//! the tools then see the directory you run it from:
//!
//!     FIREWORKS_API_KEY=fw_... cargo run --example agent -- --model glm-5p1 "What is this crate?"

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use fireworks_provider::{
    ApiChunk, ChatRequest, FinishReason, FireworksProvider, FireworksSettings, LlmProvider,
    Message, ReplayTransport, ToolCall, ToolSpec, Turn, Usage,
};
use futures::StreamExt;
use serde_json::{Value, json};

const DEFAULT_PROMPT: &str = "What is this crate?";
const RECORDED_MODEL: &str = "accounts/fireworks/models/kimi-k2p6";
const RECORDING: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/recordings/agent"
);
const SYSTEM: &str = "You are a coding agent. Use the tools to look at the project before \
                      answering; paths are relative to the working directory. Be concise.";
const MAX_TURNS: usize = 8;
const READ_CAP: u64 = 64 * 1024;
const DIM: (&str, &str) = ("\x1b[2m", "\x1b[0m");

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // `--model ID` anywhere; every other argument is part of the prompt.
    let (mut words, mut model) = (Vec::new(), None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--model" => model = Some(args.next().ok_or("--model needs a model id")?),
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}").into()),
            _ => words.push(arg),
        }
    }
    if words.is_empty() {
        words.push(DEFAULT_PROMPT.to_owned());
    }

    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let (settings, root, replay) = if env("FIREWORKS_API_KEY").is_some() {
        let settings = FireworksSettings::from_lookup(|name| match name {
            "FIREWORKS_MODEL_ID" => model.clone().or_else(|| env(name)),
            _ => env(name),
        })?;
        (settings, std::env::current_dir()?, None)
    } else {
        eprintln!(
            "(offline replay of a recorded tool conversation from \
             tests/fixtures/recordings/agent, the tools running on this crate; set \
             FIREWORKS_API_KEY to go live)"
        );
        let replay = ReplayTransport::open(RECORDING)?;
        let settings =
            FireworksSettings::new("offline-replay", RECORDED_MODEL).with_transport(replay.clone());
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        (settings, root, Some(replay))
    };
    let provider: Arc<dyn LlmProvider> = Arc::new(FireworksProvider::new(settings)?);
    let tools = Tools(root.canonicalize()?);

    let mut out = Printer::default();
    let mut messages = vec![Message::user(words.join(" "))];
    let (mut usages, mut done) = (Vec::<Usage>::new(), false);
    for _ in 0..MAX_TURNS {
        let request = ChatRequest::new(SYSTEM, messages.clone()).with_tools(Tools::specs());
        // Render each chunk as it streams; the whole turn comes back at the end.
        let shown = provider
            .create_message(request)
            .inspect(|chunk| match chunk {
                Ok(ApiChunk::Reasoning(part)) => out.show(part, true),
                Ok(ApiChunk::Text(part)) => out.show(part, false),
                Ok(ApiChunk::Retrying { reason, delay, .. }) => {
                    out.line(&format!("({reason}; retrying in {delay:.1?})"))
                }
                Ok(ApiChunk::FallingBack { from, to, reason }) => {
                    out.line(&format!("({from} failed: {reason}; going on with {to})"))
                }
                Ok(_) => {}
                Err(_) => out.end_line(),
            });
        let turn = Turn::collect(shown).await?;
        out.end_line();
        usages.extend(turn.usage.clone());

        // The assistant's turn goes into the history as it is (malformed tool arguments
        // included, byte for byte), then one result per tool call.
        let mut results = Vec::new();
        for call in &turn.tool_calls {
            let (text, mark) = match tools.run(call) {
                Ok(output) => (output, String::new()),
                Err(why) => (format!("error: {why}"), format!("  ✗ {why}")),
            };
            out.line(&format!("→ {} {}{mark}", call.name, call.arguments));
            results.push(Message::tool_result(&call.id, text));
        }
        messages.push(turn.message);
        if turn.finish != FinishReason::ToolCalls || results.is_empty() {
            done = true;
            break;
        }
        messages.extend(results);
    }

    if !usages.is_empty() {
        let tokens: u64 = usages.iter().map(|u| u.input_tokens).sum();
        let tokens = tokens + usages.iter().map(|u| u.output_tokens).sum::<u64>();
        let cost: Option<f64> = usages.iter().map(|u| u.total_cost).sum();
        let cost = cost.map_or(String::new(), |cost| format!(", ${cost:.4}"));
        eprintln!("— {tokens} tokens in {} requests{cost}", usages.len());
    }
    if !done {
        return Err(format!("the model was still calling tools after {MAX_TURNS} turns").into());
    }
    if let Some(replay) = replay {
        check_replay(&replay).map_err(|why| format!("offline replay check failed: {why}"))?;
        println!("offline replay check: the tool results went out in the next requests ✓");
        // The tools ran on today's files, so a tool result may differ from the recorded one
        // while everything the host built itself must not.
        match replay.check_requests() {
            Ok(()) => println!("the requests equal the recorded ones ✓"),
            Err(difference) => println!("the requests differ from the recording: {difference}"),
        }
    }
    Ok(())
}

/// The replay's proof: every recorded turn was served, and requests 2 and 3 carry the results
/// of the recorded tool calls.
fn check_replay(replay: &ReplayTransport) -> Result<(), String> {
    if replay.exchanges_left() > 0 {
        return Err(format!(
            "{} recorded turns were not asked for",
            replay.exchanges_left()
        ));
    }
    let requests = replay.requests();
    let expected = [
        (1, "functions.list_dir:0", "Cargo.toml"),
        (2, "functions.read_file:1", "[package]"),
    ];
    for (index, id, needle) in expected {
        let body = requests.get(index).map(|request| request.body.as_ref());
        let body: Value = body
            .and_then(|body| serde_json::from_slice(body).ok())
            .unwrap_or_default();
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        let carried = messages.iter().any(|m| {
            let content = m["content"].as_str().unwrap_or_default();
            m["role"] == "tool" && m["tool_call_id"] == id && content.contains(needle)
        });
        if !carried {
            let (n, of) = (index + 1, requests.len());
            return Err(format!(
                "request {n} of {of} lacks a {id} result with {needle}"
            ));
        }
    }
    Ok(())
}

/// The two read-only tools, confined to a canonical working directory.
struct Tools(PathBuf);

impl Tools {
    fn specs() -> Vec<ToolSpec> {
        let schema = json!({
            "type": "object",
            "properties": {"path": {"type": "string", "description": "relative to the working directory"}},
            "required": ["path"],
        });
        let spec = |name: &str, description: &str| ToolSpec::new(name, description, schema.clone());
        vec![
            spec(
                "list_dir",
                "List a directory: sorted names, subdirectories end in /.",
            ),
            spec("read_file", "Read a text file (at most its first 64 KiB)."),
        ]
    }

    /// Runs one call; an `Err` goes back to the model as an error result.
    fn run(&self, call: &ToolCall) -> Result<String, String> {
        let args = call.parse_arguments().map_err(|err| err.to_string())?;
        let path = args["path"].as_str().ok_or("missing \"path\" string")?;
        let tool = match call.name.as_str() {
            "list_dir" => list_dir,
            "read_file" => read_file,
            other => return Err(format!("unknown tool {other:?}")),
        };
        tool(&self.resolve(path)?).map_err(|err| format!("{path:?}: {err}"))
    }

    /// The real path, if it lies inside the working directory: `..`, absolute paths and
    /// symlinks that lead out are refused.
    fn resolve(&self, path: &str) -> Result<PathBuf, String> {
        let real = self.0.join(path).canonicalize();
        let real = real.map_err(|err| format!("{path:?}: {err}"))?;
        match real.starts_with(&self.0) {
            true => Ok(real),
            false => Err(format!("{path:?} is outside the working directory")),
        }
    }
}

fn list_dir(dir: &Path) -> std::io::Result<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let slash = if entry.path().is_dir() { "/" } else { "" };
        names.push(format!("{}{slash}", entry.file_name().to_string_lossy()));
    }
    names.sort();
    Ok(names.join("\n"))
}

fn read_file(file: &Path) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    let mut reader = std::fs::File::open(file)?.take(READ_CAP + 1);
    reader.read_to_end(&mut bytes)?;
    let note = if bytes.len() as u64 > READ_CAP {
        "\n[cut at 64 KiB]"
    } else {
        ""
    };
    bytes.truncate(READ_CAP as usize);
    Ok(format!("{}{note}", String::from_utf8_lossy(&bytes)))
}

/// Streams reasoning (dimmed on a terminal) and text to stdout, a blank line between them.
#[derive(Default)]
struct Printer {
    in_reasoning: bool,
    mid_line: bool,
}

impl Printer {
    /// Prints one streamed part.
    fn show(&mut self, part: &str, reasoning: bool) {
        if self.in_reasoning && !reasoning {
            self.end_line();
            println!();
        }
        self.in_reasoning = reasoning;
        let styled = reasoning && std::io::stdout().is_terminal();
        let (on, off) = if styled { DIM } else { ("", "") };
        print!("{on}{part}{off}");
        let _ = std::io::stdout().flush();
        self.mid_line = !part.ends_with('\n') && (self.mid_line || !part.is_empty());
    }

    fn end_line(&mut self) {
        if std::mem::take(&mut self.mid_line) {
            println!();
        }
    }

    fn line(&mut self, line: &str) {
        self.end_line();
        self.in_reasoning = false;
        println!("{line}");
    }
}
