//! The loopback server's replies: Fireworks-shaped answer streams sent one event per HTTP chunk,
//! as a server streaming tokens sends them, optionally holding at a gate part way through.

use crate::server::{Gate, Reply, Step};

/// The model every benchmark's provider sends to (it takes images).
pub const MODEL: &str = "accounts/fireworks/models/kimi-k2p6";

const WORDS: [&str; 16] = [
    "the", "config", "is", "loaded", "from", "disk", "before", "each", "test", "so", "we", "check",
    "that", "file", "first", "then",
];

/// One chunk event carrying `content` (and the role, on the first).
fn content_event(index: usize, content: &str) -> Vec<u8> {
    let role = if index == 0 {
        r#""role":"assistant","#
    } else {
        ""
    };
    let content = serde_json::to_string(content).unwrap();
    format!(
        "data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1780500000,\"model\":\"accounts/fireworks/models/{MODEL}\",\"choices\":[{{\"index\":0,\"delta\":{{{role}\"content\":{content}}},\"finish_reason\":null}}],\"usage\":null}}\n\n"
    )
    .into_bytes()
}

/// An answer of `events` events: `events - 2` content deltas of one to three words, the finish
/// event with usage, `[DONE]`. Decoded, it is `events - 2` `Text` chunks, `Usage`, `Finish`.
pub fn answer_events(events: usize) -> Vec<Vec<u8>> {
    assert!(events >= 3, "an answer has at least one delta");
    let mut out: Vec<Vec<u8>> = (0..events - 2)
        .map(|i| {
            let words = (0..=i % 3).map(|w| WORDS[(i * 7 + w * 3) % WORDS.len()]);
            content_event(i, &words.fold(String::new(), |text, w| text + " " + w))
        })
        .collect();
    out.push(format!(
        "data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1780500000,\"model\":\"accounts/fireworks/models/{MODEL}\",\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"stop\"}}],\"usage\":{{\"prompt_tokens\":2000,\"completion_tokens\":{events},\"total_tokens\":{}}}}}\n\n",
        2000 + events
    ).into_bytes());
    out.push(b"data: [DONE]\n\n".to_vec());
    out
}

/// 200 text/event-stream, one event per HTTP chunk; with a gate, the reply waits for it after
/// that many events.
pub fn streamed(events: Vec<Vec<u8>>, hold: Option<(usize, Gate)>) -> Reply {
    let mut steps: Vec<Step> = events.into_iter().map(Step::Send).collect();
    if let Some((after, gate)) = hold {
        steps.insert(after, Step::WaitFor(gate));
    }
    Reply {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream".into())],
        steps,
    }
}
