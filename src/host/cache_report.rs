//! The prompt-cache report: how much of a request's prompt matches the previous request under
//! the same cache key, and where the match broke.
//!
//! A request is fingerprinted entry by entry (the system prompt, the tools, then each message as
//! sent) as a 64-bit hash and a size; [`PromptLedger`] keeps the last fingerprint per cache key
//! (a hash of the key, never the key; no bodies) for at most [`MAX_REPORTED_KEYS`] keys, the
//! least recently used going first, and of at most [`MAX_REPORTED_MESSAGES`] messages each. Comparing two fingerprints gives a [`PrefixCheck`], which
//! becomes a [`CacheReport`] once the server's `cached_tokens` are known.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

/// How many cache keys the report remembers a fingerprint for; past this, the key used least
/// recently is forgotten.
pub const MAX_REPORTED_KEYS: usize = 256;

/// How many leading messages of a request are fingerprinted; later ones are not compared (a
/// longer conversation is reported as if it ended there). With [`MAX_REPORTED_KEYS`], this
/// bounds the report's memory: 16 bytes a message, at most 16 MiB in all.
pub const MAX_REPORTED_MESSAGES: usize = 4_096;

/// Bytes of prompt per token, for estimating the cacheable prefix from entry sizes.
const BYTES_PER_TOKEN: u64 = 4;

/// Where a request's prompt stopped matching what the cache could hold.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheBreak {
    /// The system prompt changed: nothing after it can come from the cache.
    SystemPrompt,
    /// The tools on offer changed (a tool added, removed, reordered or reworded).
    Tools,
    /// Message `index` (counting from 0, as sent: each tool result is its own message, the
    /// system prompt is not one) is the first that is not cached.
    Message(usize),
}

/// How much of a request's prompt the prompt cache could serve, judged against the previous
/// request under the same cache key (see
/// [`FireworksSettings::with_cache_report`](crate::FireworksSettings::with_cache_report)).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct CacheReport {
    /// How many messages the previous request under this key had; `None` for the first
    /// request under it (nothing to compare with).
    pub previous_messages: Option<usize>,
    /// How many leading messages are the same as in the previous request (0 when the system
    /// prompt or the tools changed).
    pub unchanged_messages: usize,
    /// An estimate of the tokens of the unchanged prefix (system prompt, tools and unchanged
    /// messages, at four bytes a token): what the cache could serve.
    pub cacheable_tokens: u64,
    /// The tokens the server says it served from the cache (`cached_tokens`).
    pub cached_tokens: u64,
    /// Where the prefix broke: the first entry that changed since the previous request; or,
    /// when nothing changed but the server's cached tokens fall well short of the cacheable
    /// estimate (under half), the entry where the server's cache stopped, estimated from the
    /// entries' sizes. `None` when the cache served about what it could.
    pub broke_at: Option<CacheBreak>,
    /// Whether the server's cached tokens fall well short (under half) of the cacheable
    /// estimate.
    pub fell_short: bool,
}

/// One entry's fingerprint: a hash of its bytes as sent, and their number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct EntryPrint {
    pub hash: u64,
    pub bytes: u64,
}

/// A request's fingerprint: its system prompt, its tools and each of its messages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Fingerprint {
    pub system: EntryPrint,
    pub tools: EntryPrint,
    pub messages: Vec<EntryPrint>,
}

/// A request compared with the previous one under its key, waiting for the server's count.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PrefixCheck {
    previous_messages: Option<usize>,
    unchanged_messages: usize,
    /// The break the comparison found, if any.
    changed_at: Option<CacheBreak>,
    /// This request's fingerprint, for sizes.
    now: Fingerprint,
}

impl Fingerprint {
    /// Compares this request with the previous one under its key (`None`: the first).
    fn check_against(self, previous: Option<&Fingerprint>) -> PrefixCheck {
        let Some(previous) = previous else {
            return PrefixCheck {
                previous_messages: None,
                unchanged_messages: 0,
                changed_at: None,
                now: self,
            };
        };
        let unchanged = self
            .messages
            .iter()
            .zip(&previous.messages)
            .take_while(|(now, before)| now == before)
            .count();
        let changed_at = if self.system != previous.system {
            Some(CacheBreak::SystemPrompt)
        } else if self.tools != previous.tools {
            Some(CacheBreak::Tools)
        } else if unchanged < previous.messages.len() {
            Some(CacheBreak::Message(unchanged))
        } else {
            None
        };
        let unchanged_messages = match changed_at {
            Some(CacheBreak::SystemPrompt | CacheBreak::Tools) => 0,
            _ => unchanged,
        };
        PrefixCheck {
            previous_messages: Some(previous.messages.len()),
            unchanged_messages,
            changed_at,
            now: self,
        }
    }
}

impl PrefixCheck {
    /// The report, given the tokens the server served from its cache.
    pub(crate) fn report(self, cached_tokens: u64) -> CacheReport {
        let cacheable_bytes = match self.changed_at {
            Some(CacheBreak::SystemPrompt) => 0,
            Some(CacheBreak::Tools) => self.now.system.bytes,
            _ if self.previous_messages.is_none() => 0,
            _ => self.prefix_bytes(self.unchanged_messages),
        };
        let cacheable_tokens = cacheable_bytes / BYTES_PER_TOKEN;
        let fell_short = cached_tokens < cacheable_tokens / 2;
        let broke_at = self.changed_at.or_else(|| {
            fell_short.then(|| self.where_cache_stopped(cached_tokens * BYTES_PER_TOKEN))
        });
        CacheReport {
            previous_messages: self.previous_messages,
            unchanged_messages: self.unchanged_messages,
            cacheable_tokens,
            cached_tokens,
            broke_at,
            fell_short,
        }
    }

    /// Bytes of the system prompt, the tools and the first `messages` messages.
    fn prefix_bytes(&self, messages: usize) -> u64 {
        let leading: u64 = self.now.messages[..messages].iter().map(|m| m.bytes).sum();
        self.now.system.bytes + self.now.tools.bytes + leading
    }

    /// The first entry not wholly inside the first `cached_bytes` bytes of the prompt.
    fn where_cache_stopped(&self, cached_bytes: u64) -> CacheBreak {
        let mut covered = self.now.system.bytes;
        if covered > cached_bytes {
            return CacheBreak::SystemPrompt;
        }
        covered += self.now.tools.bytes;
        if covered > cached_bytes {
            return CacheBreak::Tools;
        }
        for (index, message) in self.now.messages.iter().enumerate() {
            covered += message.bytes;
            if covered > cached_bytes {
                return CacheBreak::Message(index);
            }
        }
        CacheBreak::Message(self.now.messages.len())
    }
}

/// The last fingerprint per cache key, for at most [`MAX_REPORTED_KEYS`] keys.
#[derive(Debug, Default)]
pub(crate) struct PromptLedger {
    inner: Mutex<Ledger>,
}

#[derive(Debug, Default)]
struct Ledger {
    /// Key hash → (when last used, the fingerprint of its last request).
    prints: HashMap<u64, (u64, Fingerprint)>,
    /// Counts uses, for "least recently used".
    clock: u64,
}

impl PromptLedger {
    /// Keeps `now` as the last request under `cache_key` and compares it with the one before.
    pub(crate) fn check(&self, cache_key: &str, now: Fingerprint) -> PrefixCheck {
        let mut hasher = DefaultHasher::new();
        cache_key.hash(&mut hasher);
        let key = hasher.finish();
        // A poisoned lock only means another request panicked mid-update; the map is still whole.
        let mut ledger = self
            .inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        ledger.clock += 1;
        let clock = ledger.clock;
        if !ledger.prints.contains_key(&key) && ledger.prints.len() >= MAX_REPORTED_KEYS {
            let oldest = ledger
                .prints
                .iter()
                .min_by_key(|(_, (used, _))| *used)
                .map(|(key, _)| *key);
            if let Some(oldest) = oldest {
                ledger.prints.remove(&oldest);
            }
        }
        let previous = ledger.prints.insert(key, (clock, now.clone()));
        now.check_against(previous.as_ref().map(|(_, print)| print))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn print(hash: u64) -> EntryPrint {
        EntryPrint { hash, bytes: 400 }
    }

    fn request(system: u64, messages: &[u64]) -> Fingerprint {
        Fingerprint {
            system: print(system),
            tools: print(7),
            messages: messages.iter().copied().map(print).collect(),
        }
    }

    #[test]
    fn a_grown_conversation_keeps_its_prefix_and_a_changed_message_breaks_it() {
        let ledger = PromptLedger::default();
        let first = ledger.check("k", request(1, &[10, 11]));
        assert_eq!(first.report(0).previous_messages, None);
        let grown = ledger.check("k", request(1, &[10, 11, 12])).report(300);
        assert_eq!((grown.unchanged_messages, grown.broke_at), (2, None));
        assert_eq!(grown.cacheable_tokens, 400, "4 entries of 400 bytes");
        let edited = ledger.check("k", request(1, &[10, 99, 12])).report(0);
        assert_eq!(edited.broke_at, Some(CacheBreak::Message(1)));
        let short = ledger.check("k", request(1, &[10, 99, 12, 13])).report(240);
        assert!(short.fell_short);
        assert_eq!(short.broke_at, Some(CacheBreak::Message(0)), "{short:?}");
    }

    #[test]
    fn keys_past_the_cap_forget_the_least_recently_used() {
        let ledger = PromptLedger::default();
        for key in 0..MAX_REPORTED_KEYS {
            ledger.check(&key.to_string(), request(1, &[1]));
        }
        ledger.check("0", request(1, &[1])); // "0" is now the most recent
        ledger.check("new", request(1, &[1]));
        let kept = |key: &str| {
            ledger
                .check(key, request(1, &[1]))
                .previous_messages
                .is_some()
        };
        assert!(kept("0"));
        assert!(!kept("1"), "the least recently used key was forgotten");
        assert!(ledger.inner.lock().unwrap().prints.len() <= MAX_REPORTED_KEYS);
    }
}
