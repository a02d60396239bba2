//! The output budget: the `max_tokens` one request asks for.
//!
//! On Fireworks' own endpoint the server lowers `max_tokens` itself when prompt plus output
//! would not fit (`context_length_exceeded_behavior: "truncate"`, its default), so the turn's cap
//! is sent as it is. Other servers refuse such a request, so there the prompt is estimated and
//! the cap lowered, but only when the estimate says the request cannot fit. The estimate counts
//! text at about [`BYTES_PER_TOKEN_ESTIMATE`] bytes a token and each image as
//! [`IMAGE_TOKEN_ESTIMATE`] tokens; when the host passes the server's own count of the
//! conversation so far, only the messages after it are estimated.

use super::wire::WireMessage;
use crate::host::ToolSpec;

/// The fewest output tokens a request asks for, however full the context is estimated to be.
pub(super) const MIN_MAX_TOKENS: u32 = 512;

/// Bytes of text per token in the estimate: tokenizers give about 4 for English prose, a
/// little less for code.
pub(super) const BYTES_PER_TOKEN_ESTIMATE: usize = 4;

/// Tokens one image is assumed to cost (vision models spend roughly one to three thousand on a
/// screenshot, whatever its base64 length).
pub(super) const IMAGE_TOKEN_ESTIMATE: u64 = 2_000;

/// Tokens each message costs beyond its text (role and separator tokens).
const MESSAGE_TOKEN_OVERHEAD: u64 = 4;

/// Who keeps prompt plus output within the context window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Budget {
    /// The server lowers `max_tokens` to fit (Fireworks): send the cap as it is.
    ServerTrims,
    /// The server refuses what does not fit: estimate, and lower the cap when needed.
    Estimate,
}

/// The size of some messages, for the estimate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PromptSize {
    text_bytes: usize,
    images: u64,
    messages: u64,
}

impl PromptSize {
    /// The estimated tokens.
    pub(super) fn tokens(&self) -> u64 {
        self.text_bytes.div_ceil(BYTES_PER_TOKEN_ESTIMATE) as u64
            + self.images * IMAGE_TOKEN_ESTIMATE
            + self.messages * MESSAGE_TOKEN_OVERHEAD
    }

    fn add(&mut self, message: &WireMessage<'_>) {
        let lengths = message.lengths();
        self.messages += 1;
        self.text_bytes += lengths.text + lengths.names;
        self.images += lengths.images as u64;
    }
}

/// The estimated prompt: every message and the tools on offer, or, when the server's count of
/// the conversation up to its last assistant message is known, that count plus the messages
/// after it. Reads lengths only: no text is scanned.
pub(crate) fn prompt_tokens(
    messages: &[WireMessage<'_>],
    tools: &[ToolSpec],
    conversation_tokens: Option<u64>,
) -> u64 {
    let (counted, rest) = match conversation_tokens {
        Some(tokens) => {
            let last_assistant = messages
                .iter()
                .rposition(|m| matches!(m, WireMessage::Assistant { .. }));
            (tokens, &messages[last_assistant.map_or(0, |at| at + 1)..])
        }
        None => (0, messages),
    };
    let mut size = PromptSize::default();
    for message in rest {
        size.add(message);
    }
    let tool_bytes: usize = tools
        .iter()
        .map(|tool| {
            let mut counter = ByteCounter(0);
            // Writing a `Value` to a counter cannot fail.
            let _ = serde_json::to_writer(&mut counter, &tool.input_schema);
            tool.name.len() + tool.description.len() + counter.0
        })
        .sum();
    counted
        .saturating_add(size.tokens())
        .saturating_add(tool_bytes.div_ceil(BYTES_PER_TOKEN_ESTIMATE) as u64)
}

/// The `max_tokens` to send: `cap`, lowered under [`Budget::Estimate`] to the room the estimated
/// prompt leaves in the context window (never below [`MIN_MAX_TOKENS`], nor above `cap`).
pub(crate) fn max_tokens(
    cap: u32,
    context_window: u32,
    budget: Budget,
    prompt_tokens: impl FnOnce() -> u64,
) -> u32 {
    match budget {
        Budget::ServerTrims => cap,
        Budget::Estimate => {
            let room = u64::from(context_window).saturating_sub(prompt_tokens());
            let room = u32::try_from(room).unwrap_or(u32::MAX);
            cap.min(room).max(MIN_MAX_TOKENS.min(cap))
        }
    }
}

/// Counts the bytes written to it, storing none.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::wire::{Part, UserContent};
    use std::borrow::Cow;

    fn user(text: &str) -> WireMessage<'_> {
        WireMessage::User {
            content: UserContent::Text(Cow::Borrowed(text)),
        }
    }

    #[test]
    fn the_server_trims_so_the_cap_goes_as_it_is() {
        let never = || -> u64 { panic!("no estimate is needed") };
        assert_eq!(
            max_tokens(131_072, 131_072, Budget::ServerTrims, never),
            131_072
        );
    }

    #[test]
    fn estimate_lowers_the_cap_only_when_the_prompt_cannot_fit() {
        let window = 131_072;
        // 30k tokens of prompt leave 101k: a 32k cap fits and is sent whole.
        assert_eq!(
            max_tokens(32_768, window, Budget::Estimate, || 30_000),
            32_768
        );
        // 120k of prompt leave 11,072.
        assert_eq!(
            max_tokens(32_768, window, Budget::Estimate, || 120_000),
            11_072
        );
        // Overfull: the floor, but never above the cap.
        assert_eq!(
            max_tokens(32_768, window, Budget::Estimate, || 200_000),
            MIN_MAX_TOKENS
        );
        assert_eq!(max_tokens(100, window, Budget::Estimate, || 200_000), 100);
    }

    #[test]
    fn text_counts_four_bytes_a_token_and_images_a_fixed_amount() {
        let text = "a".repeat(40_000);
        let messages = [user(&text)];
        assert_eq!(
            prompt_tokens(&messages, &[], None),
            10_000 + MESSAGE_TOKEN_OVERHEAD
        );
        let image = WireMessage::User {
            content: UserContent::Parts(vec![Part::ImageUrl {
                image_url: super::super::wire::DataUrl {
                    media_type: "image/png",
                    data: "QUFB",
                },
            }]),
        };
        assert_eq!(
            prompt_tokens(&[image], &[], None),
            IMAGE_TOKEN_ESTIMATE + MESSAGE_TOKEN_OVERHEAD
        );
    }

    #[test]
    fn a_known_count_replaces_the_estimate_up_to_the_last_assistant_message() {
        let long = "a".repeat(400_000);
        let messages = [
            user(&long),
            WireMessage::Assistant {
                content: Some(Cow::Borrowed("ok")),
                reasoning_content: None,
                tool_calls: Vec::new(),
            },
            user("next question"),
        ];
        let estimate_all = prompt_tokens(&messages, &[], None);
        assert!(estimate_all > 100_000, "{estimate_all}");
        let with_count = prompt_tokens(&messages, &[], Some(50_000));
        assert_eq!(
            with_count,
            50_000 + "next question".len().div_ceil(4) as u64 + 4
        );
    }
}
