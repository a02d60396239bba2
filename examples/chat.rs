//! A one-shot streaming chat: sends a prompt through [`FireworksProvider`] and prints the answer
//! as it arrives — reasoning dimmed, then the answer — with a footer of tokens, cost, time to
//! first token and why generation stopped.
//!
//! Offline (no key needed): answers any prompt with its recorded answer, a DeepSeek R1 stream
//! replayed from the recording `tests/fixtures/recordings/chat` through the real provider and
//! decode path:
//!
//!     cargo run --example chat
//!
//! Live: set `FIREWORKS_API_KEY` (and optionally `FIREWORKS_MODEL_ID`, `FIREWORKS_MAX_TOKENS`,
//! `FIREWORKS_CONTEXT_WINDOW`), or point `FIREWORKS_BASE_URL` / `--base-url` at any
//! OpenAI-compatible server (the key may then be left out):
//!
//!     FIREWORKS_API_KEY=fw_... cargo run --example chat -- --model glm-5p1 "Explain lifetimes"
//!
//! `--record DIR` writes the session's traffic to a new folder DIR (secrets redacted), which
//! `ReplayTransport::open(DIR)` serves back offline:
//!
//!     FIREWORKS_API_KEY=fw_... cargo run --example chat -- --record /tmp/lifetimes "Explain lifetimes"
//!
//! `RUST_LOG=fireworks_provider=debug` logs each completion's span to stderr.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use fireworks_provider::{
    ApiChunk, ChatRequest, Error, FireworksProvider, FireworksSettings, LlmProvider, Message,
    RecordingTransport, ReplayTransport, ReqwestTransport,
};
use futures::StreamExt;

const DEFAULT_PROMPT: &str = "How do I reverse a string in Rust?";
const RECORDED_MODEL: &str = "accounts/fireworks/models/deepseek-r1-0528";
const RECORDING: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/recordings/chat"
);
const USAGE: &str = "usage: chat [--model ID] [--base-url URL] [--record DIR] [PROMPT...]

Streams one answer from Fireworks AI. Without FIREWORKS_API_KEY or a base URL it replays
a recorded answer offline, whatever the prompt. --record DIR writes the session's traffic to
the new folder DIR. Environment: FIREWORKS_API_KEY, FIREWORKS_MODEL_ID, FIREWORKS_BASE_URL,
FIREWORKS_MAX_TOKENS, FIREWORKS_CONTEXT_WINDOW (flags win).";

struct Args {
    prompt: String,
    model: Option<String>,
    base_url: Option<String>,
    record: Option<String>,
}

/// Flags anywhere; every other argument is part of the prompt.
fn parse_args() -> Result<Args, String> {
    let (mut words, mut model, mut base_url, mut record) = (Vec::new(), None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--model" => model = Some(args.next().ok_or("--model needs a model id")?),
            "--base-url" => base_url = Some(args.next().ok_or("--base-url needs a URL")?),
            "--record" => record = Some(args.next().ok_or("--record needs a folder")?),
            flag if flag.starts_with("--") => {
                return Err(format!("unknown option {flag} (see --help)"));
            }
            _ => words.push(arg),
        }
    }
    let prompt = if words.is_empty() {
        DEFAULT_PROMPT.to_owned()
    } else {
        words.join(" ")
    };
    Ok(Args {
        prompt,
        model,
        base_url,
        record,
    })
}

/// Live settings from the environment with the flags on top, or `None` for the offline replay.
fn live_settings(args: &Args) -> Result<Option<FireworksSettings>, Error> {
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|value| !value.trim().is_empty())
    };
    let base_url = args.base_url.clone().or_else(|| env("FIREWORKS_BASE_URL"));
    if env("FIREWORKS_API_KEY").is_none() && base_url.is_none() {
        return Ok(None);
    }
    // A local OpenAI-compatible server usually wants no key: none is needed off Fireworks.
    let settings = FireworksSettings::from_lookup(|name| match name {
        "FIREWORKS_BASE_URL" => base_url.clone(),
        "FIREWORKS_MODEL_ID" => args.model.clone().or_else(|| env(name)),
        _ => env(name),
    })?;
    Ok(Some(settings))
}

#[tokio::main]
async fn main() -> ExitCode {
    // RUST_LOG=fireworks_provider=debug (or trace, for the raw bytes) shows the crate's spans.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let (settings, replay) = match live_settings(&args)? {
        Some(settings) => (settings, None),
        None => {
            eprintln!(
                "(offline: answers any prompt with its recorded answer, a DeepSeek R1 stream \
                 replayed from tests/fixtures/recordings/chat through the real provider; set \
                 FIREWORKS_API_KEY to go live)"
            );
            // A short pause before each piece, so the replay visibly streams.
            let replay = ReplayTransport::open(RECORDING)?
                .with_pause_between_pieces(Duration::from_millis(15));
            let settings = FireworksSettings::new("offline-replay", RECORDED_MODEL);
            (settings, Some(replay))
        }
    };
    let offline = replay.is_some();
    let settings = match (&args.record, replay) {
        (Some(folder), Some(replay)) => {
            settings.with_transport(RecordingTransport::new(replay, folder)?)
        }
        (Some(folder), None) => {
            // The client the provider would build for itself, recorded.
            let live = ReqwestTransport::with_connect_timeout(Duration::from_secs(10))?;
            settings.with_transport(RecordingTransport::new(live, folder)?)
        }
        (None, Some(replay)) => settings.with_transport(replay),
        (None, None) => settings,
    };
    let mut provider = FireworksProvider::new(settings)?;
    if !offline {
        // A model the catalog does not know (or another server's model) takes its limits from
        // the server's listing; a server without one leaves the defaults.
        if let Err(err) = provider.refresh_model_info().await {
            eprintln!("(the server's model listing was not read: {err}; default limits apply)");
        }
    }
    let system = "You are a concise, helpful programming assistant.";
    let request = ChatRequest::new(system, vec![Message::user(args.prompt)]);

    let terminal = std::io::stdout().is_terminal();
    let (dim, undim) = if terminal {
        ("\x1b[2m", "\x1b[0m")
    } else {
        ("", "")
    };
    let mut out = std::io::stdout().lock();
    let (mut in_reasoning, mut at_line_start) = (false, true);
    let (mut first_token, mut usage, mut finish, mut failure) = (None, None, None, None);
    let started = Instant::now();
    let mut stream = provider.create_message(request);
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(err) => {
                failure = Some(err);
                break;
            }
        };
        let is_reasoning = matches!(chunk, ApiChunk::Reasoning(_));
        if is_reasoning || matches!(chunk, ApiChunk::Text(_)) {
            first_token.get_or_insert_with(|| started.elapsed());
        }
        if in_reasoning && !is_reasoning {
            // End the dimmed reasoning, then a blank line before whatever follows.
            let _ = write!(out, "{undim}\n{}", if at_line_start { "" } else { "\n" });
            (in_reasoning, at_line_start) = (false, true);
        }
        match chunk {
            ApiChunk::Reasoning(text) => {
                let _ = write!(out, "{}{text}", if in_reasoning { "" } else { dim });
                (in_reasoning, at_line_start) = (true, text.ends_with('\n'));
            }
            ApiChunk::Text(text) => {
                let _ = write!(out, "{text}");
                at_line_start = text.ends_with('\n');
            }
            ApiChunk::ToolCall(call) => {
                let lead = if at_line_start { "" } else { "\n" };
                let _ = writeln!(out, "{lead}[tool call {}({})]", call.name, call.arguments);
                at_line_start = true;
            }
            ApiChunk::Retrying {
                attempt,
                max_attempts: max,
                delay,
                reason,
            } => {
                eprintln!("(attempt {attempt}/{max} failed: {reason}; retrying in {delay:.1?})");
            }
            ApiChunk::FallingBack { from, to, reason } => {
                eprintln!("({from} failed: {reason}; going on with {to})");
            }
            ApiChunk::Usage(u) => usage = Some(u),
            ApiChunk::Finish(reason) => finish = Some(reason),
            _ => {}
        }
        let _ = out.flush();
    }
    // However the stream ended, leave the terminal unstyled and on a fresh line.
    let end_style = if in_reasoning { undim } else { "" };
    let _ = write!(out, "{end_style}{}", if at_line_start { "" } else { "\n" });
    let _ = out.flush();
    if let Some(err) = failure {
        return Err(err.into());
    }

    let mut footer = Vec::new();
    if let Some(u) = &usage {
        footer.push(format!(
            "{} in / {} out tokens",
            u.input_tokens, u.output_tokens
        ));
        if u.input_tokens > 0 {
            let hit = 100.0 * u.cache_read_tokens as f64 / u.input_tokens as f64;
            footer.push(format!("cache hit {hit:.0}%"));
        }
    }
    let savings = usage
        .as_ref()
        .and_then(|u| provider.model().cache_savings(u));
    footer.extend(usage.and_then(|u| u.total_cost).map(|c| format!("${c:.6}")));
    footer.extend(
        savings
            .filter(|s| *s > 0.0)
            .map(|s| format!("cache saved ${s:.6}")),
    );
    footer.extend(first_token.map(|t| format!("first token {} ms", t.as_millis())));
    footer.extend(finish.map(|reason| format!("{reason:?}")));
    eprintln!("— {}", footer.join(" · "));
    Ok(())
}
