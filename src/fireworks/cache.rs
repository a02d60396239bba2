//! Prompt-cache affinity: a stable key per conversation, so every turn of one conversation is
//! routed to the replica that already holds its prefix in cache.
//!
//! Fireworks caches prompt prefixes per replica; requests carrying the same `prompt_cache_key`
//! go to the same one. The derived key hashes what stays the same across a conversation's
//! turns (the system prompt and the first user message) with FNV-1a, whose output is fixed by
//! its definition, so a key survives restarts and upgrades.

use reqwest::header::HeaderValue;

use crate::error::Error;
use crate::host::{ChatRequest, ContentBlock, Role};

/// The HTTP header that keeps tenants' caches apart.
pub(crate) const CACHE_ISOLATION_HEADER: &str = "x-prompt-cache-isolation-key";

/// The isolation header's value for `key`, marked sensitive (no debug output shows it); a key
/// that cannot be sent in a header (a newline, say) is an [`Error::Config`].
pub(crate) fn isolation_header(key: &str) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::from_str(key).map_err(|_| {
        Error::Config(
            "cache_isolation_key contains characters not allowed in an HTTP header".into(),
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// The key derived for `request`'s conversation: the same for every turn of it, different for
/// conversations that differ in their system prompt or first user message.
pub(crate) fn conversation_key(request: &ChatRequest) -> String {
    let mut hash = Fnv1a::default();
    hash.write(request.system_prompt.as_bytes());
    hash_first_user_message(request, &mut hash);
    format!("conv-{:016x}", hash.0)
}

/// The key the prompt-cache report files a request with a derived cache key under: the first
/// user message alone, so that a changed system prompt (which changes the derived key, and so
/// loses the cache) is reported as what broke the prefix rather than as a new conversation.
pub(crate) fn report_key(request: &ChatRequest) -> String {
    let mut hash = Fnv1a::default();
    hash_first_user_message(request, &mut hash);
    format!("derived-{:016x}", hash.0)
}

fn hash_first_user_message(request: &ChatRequest, hash: &mut Fnv1a) {
    if let Some(first) = request.messages.iter().find(|m| m.role == Role::User) {
        for block in &first.content {
            hash.write(&[0xFF]); // separates blocks: ["ab"] and ["a", "b"] differ
            match block {
                ContentBlock::Text { text } => hash.write(text.as_bytes()),
                ContentBlock::Image { data, .. } => hash.write(data.as_bytes()),
                _ => {}
            }
        }
    }
}

/// 64-bit FNV-1a.
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Message;

    #[test]
    fn stable_across_turns_and_distinct_between_conversations() {
        let turn1 = ChatRequest::new("sys", vec![Message::user("fix the bug")]);
        let mut turn2 = turn1.clone();
        turn2.messages.push(Message::assistant("done"));
        turn2.messages.push(Message::user("thanks"));
        assert_eq!(conversation_key(&turn1), conversation_key(&turn2));
        let other = ChatRequest::new("sys", vec![Message::user("write docs")]);
        assert_ne!(conversation_key(&turn1), conversation_key(&other));
        let other_system = ChatRequest::new("sys2", vec![Message::user("fix the bug")]);
        assert_ne!(conversation_key(&turn1), conversation_key(&other_system));
    }

    #[test]
    fn fnv1a_matches_its_definition() {
        // The published FNV-1a 64 test value for "a".
        let mut hash = Fnv1a::default();
        hash.write(b"a");
        assert_eq!(hash.0, 0xaf63_dc4c_8601_ec8c);
    }
}
