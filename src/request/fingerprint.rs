//! The prompt-cache report's fingerprint of a request as it is sent: a 64-bit hash and a size
//! for the system prompt, the tools and each message, so that two requests can be compared
//! entry by entry without keeping either.

use std::io;

use serde::Serialize;

use crate::host::ToolSpec;
use crate::host::cache_report::{EntryPrint, Fingerprint, MAX_REPORTED_MESSAGES};
use crate::request::wire::{WireMessage, WireTools};

/// The fingerprint of a request whose system prompt, wire messages (the system message among
/// them, if any) and tools are these; of its first [`MAX_REPORTED_MESSAGES`] messages only.
pub(crate) fn fingerprint(
    system_prompt: &str,
    messages: &[WireMessage<'_>],
    tools: &[ToolSpec],
) -> Fingerprint {
    let mut system = HashWriter::default();
    system.take(system_prompt.as_bytes());
    Fingerprint {
        system: system.print(),
        tools: print_of(&WireTools(tools)),
        messages: messages
            .iter()
            .filter(|message| !matches!(message, WireMessage::System { .. }))
            .take(MAX_REPORTED_MESSAGES)
            .map(print_of)
            .collect(),
    }
}

/// The print of `value`'s JSON, hashed as it is written (nothing is kept).
fn print_of(value: &impl Serialize) -> EntryPrint {
    let mut writer = HashWriter::default();
    // Writing to a hasher cannot fail, nor can these values' serialization (the body was
    // written from them already); a failure would only leave the print partial.
    let _ = serde_json::to_writer(&mut writer, value);
    writer.print()
}

/// Hashes and counts the bytes written to it, eight bytes at a time: each word is mixed in
/// with an xor, a multiplication by an odd constant and a rotation (each a bijection, so a
/// changed word always changes the state), and the count is folded in at the end. It needs to
/// tell one version of a message from another, not to resist an adversary, so it skips the cost
/// of the standard library's SipHash over a conversation's megabytes.
#[derive(Default)]
struct HashWriter {
    state: u64,
    bytes: u64,
}

impl HashWriter {
    fn take(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let word: [u8; 8] = word.try_into().expect("chunks_exact gives 8 bytes");
            self.mix(u64::from_le_bytes(word));
        }
        let tail = words.remainder();
        if !tail.is_empty() {
            let mut word = [0; 8];
            word[..tail.len()].copy_from_slice(tail);
            // The tail's length goes in too: "a" and "a\0" differ.
            self.mix(u64::from_le_bytes(word) ^ ((tail.len() as u64) << 61));
        }
        self.bytes += bytes.len() as u64;
    }

    fn mix(&mut self, word: u64) {
        self.state = (self.state ^ word)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }

    fn print(&self) -> EntryPrint {
        // A final avalanche (MurmurHash3's), with the length, so that every bit of the hash
        // depends on every word.
        let mut hash = self.state ^ self.bytes;
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        hash ^= hash >> 33;
        EntryPrint {
            hash,
            bytes: self.bytes,
        }
    }
}

impl io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.take(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{ChatRequest, Message};
    use crate::request::conversation::{self, Rules};

    fn print(request: &ChatRequest) -> Fingerprint {
        let rules = Rules {
            model: None,
            send_reasoning_back: false,
        };
        let messages = conversation::map(request, rules).unwrap();
        fingerprint(&request.system_prompt, &messages, &request.tools)
    }

    #[test]
    fn any_changed_byte_changes_the_hash() {
        let text = b"fn main() { println!(\"hi\"); }\n".repeat(10);
        let hash = |bytes: &[u8]| {
            let mut writer = HashWriter::default();
            writer.take(bytes);
            writer.print().hash
        };
        let original = hash(&text);
        for at in 0..text.len() {
            let mut changed = text.clone();
            changed[at] ^= 1;
            assert_ne!(hash(&changed), original, "byte {at}");
        }
        assert_ne!(hash(b"a"), hash(b"a\0"));
        assert_ne!(hash(&text[..text.len() - 1]), original);
    }

    #[test]
    fn each_entry_changes_its_own_print_only() {
        let base = ChatRequest::new("sys", vec![Message::user("a"), Message::assistant("b")]);
        let mut edited = base.clone();
        edited.messages[1] = Message::assistant("B");
        let (before, after) = (print(&base), print(&edited));
        assert_eq!(before.system, after.system);
        assert_eq!(before.messages[0], after.messages[0]);
        assert_ne!(before.messages[1], after.messages[1]);
        assert_eq!(
            before.messages.len(),
            2,
            "the system prompt is not a message"
        );
        let other_system = ChatRequest::new("sys2", base.messages.clone());
        assert_ne!(print(&other_system).system, before.system);
        assert_eq!(print(&other_system).messages, before.messages);
    }

    #[test]
    fn a_long_conversation_is_printed_up_to_the_cap() {
        let messages = (0..MAX_REPORTED_MESSAGES + 10)
            .map(|i| match i % 2 {
                0 => Message::user(format!("q{i}")),
                _ => Message::assistant(format!("a{i}")),
            })
            .collect();
        let long = ChatRequest::new("", messages);
        assert_eq!(print(&long).messages.len(), MAX_REPORTED_MESSAGES);
    }
}
