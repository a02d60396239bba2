//! The prompt-cache report's fingerprint of a request as it is sent: a 64-bit hash and a size
//! for the system prompt, the tools and each message, so that two requests can be compared
//! entry by entry without keeping either.

use std::hash::{DefaultHasher, Hasher};
use std::io;

use serde::Serialize;

use crate::host::cache_report::{EntryPrint, Fingerprint};
use crate::host::provider::ToolSpec;
use crate::request::wire::{WireMessage, WireTools};

/// The fingerprint of a request whose system prompt, wire messages (the system message among
/// them, if any) and tools are these.
pub(crate) fn fingerprint(
    system_prompt: &str,
    messages: &[WireMessage<'_>],
    tools: &[ToolSpec],
) -> Fingerprint {
    let mut system = HashWriter::default();
    system.hasher.write(system_prompt.as_bytes());
    system.bytes = system_prompt.len() as u64;
    Fingerprint {
        system: system.print(),
        tools: print_of(&WireTools(tools)),
        messages: messages
            .iter()
            .filter(|message| !matches!(message, WireMessage::System { .. }))
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

/// Hashes and counts the bytes written to it.
#[derive(Default)]
struct HashWriter {
    hasher: DefaultHasher,
    bytes: u64,
}

impl HashWriter {
    fn print(&self) -> EntryPrint {
        EntryPrint {
            hash: self.hasher.finish(),
            bytes: self.bytes,
        }
    }
}

impl io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.hasher.write(bytes);
        self.bytes += bytes.len() as u64;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::provider::{ChatRequest, Message};
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
}
