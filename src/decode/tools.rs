//! Assembles streamed tool-call fragments into complete [`ToolCall`]s.
//!
//! Fragments are keyed by their `index`, never by `id`: later fragments often carry
//! `"id": null` or repeat the id. The id and name come from the first fragment that has them;
//! argument pieces are concatenated in arrival order. Calls come out in index order.
//!
//! Whatever the server sends, the work stays linear and bounded: calls are kept in the order
//! they opened (a fragment for the same call as the one before, or for the call opened after
//! it, the usual cases, is found at once; otherwise a few calls are searched in place, more
//! through a map), sorted once when they are handed out, a response may open at most
//! [`MAX_TOOL_CALLS`] of them, and their arguments together may hold at most
//! [`DEFAULT_MAX_TOOL_ARGUMENT_BYTES`] (or the limit the host set).

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Error;
use crate::host::ToolCall;

/// The most tool calls one response may open. A server that opens more fails the stream with
/// an [`Error::Decode`] naming this limit, instead of making the client hold an unbounded
/// number of calls. Agents ask for a handful per turn; this leaves ample room.
pub const MAX_TOOL_CALLS: usize = 1024;

/// The default cap on the argument bytes of all the tool calls of one response together:
/// 16 MiB. A tool call that writes a file carries the file in its arguments; 16 MiB of JSON text
/// holds several MiB of source code even where every line is escaped, with room to spare. A
/// server that sends more fails the stream with an [`Error::Decode`] naming the cap, instead of
/// making the client assemble arguments without bound. Hosts that need more raise it
/// (`FireworksSettings::with_max_tool_argument_bytes`,
/// [`StreamDecoder::with_max_tool_argument_bytes`](crate::StreamDecoder::with_max_tool_argument_bytes)).
pub const DEFAULT_MAX_TOOL_ARGUMENT_BYTES: usize = 16 * 1024 * 1024;

/// Up to how many calls are found by a plain search; with more, every call is found through a
/// map.
const SEARCHED_CALLS: usize = 16;

/// One streamed piece of a tool call, as it appears in a delta.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ToolCallFragment<'a> {
    /// Which call of the response this piece belongs to; `None` when the server left it out.
    pub index: Option<u32>,
    /// The call's id, usually only on its first fragment.
    pub id: Option<&'a str>,
    /// The tool's name, usually only on the first fragment.
    pub name: Option<&'a str>,
    /// The next piece of the arguments' JSON text.
    pub arguments: Option<&'a str>,
}

/// Which call a fragment went to, as [`ToolCallAssembler::push`] tells it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakenFragment<'a> {
    /// The call's number in the order the calls opened, from 0 (unique within a response,
    /// whatever indexes the server sent).
    pub index: u32,
    /// Whether this fragment opened the call.
    pub opened: bool,
    /// The call's id so far (the server's, else a made-up one).
    pub id: &'a str,
    /// The tool's name so far (empty until a fragment names it).
    pub name: &'a str,
}

#[derive(Debug)]
struct PartialCall {
    /// The server's index, or for a call the server gave none, one past the highest index
    /// seen before it (wider than the wire's `u32`, so that it cannot overflow).
    index: u64,
    id: String,
    name: String,
    arguments: String,
}

/// Collects fragments until the response says it is finished. One assembler is for one
/// response: the argument bytes it has taken count against its cap until it is dropped.
#[derive(Debug)]
pub struct ToolCallAssembler {
    /// Calls in the order they opened.
    calls: Vec<PartialCall>,
    /// Where each call is in `calls`, by index, once there are more than [`SEARCHED_CALLS`].
    positions: HashMap<u64, usize>,
    /// Where the call the last fragment went to is in `calls`.
    last: usize,
    /// One past the highest index seen so far: where a call without an index goes.
    next_free_index: u64,
    /// Argument bytes taken so far, over every call.
    argument_bytes: usize,
    /// The most argument bytes the response may send.
    max_argument_bytes: usize,
}

impl Default for ToolCallAssembler {
    fn default() -> Self {
        Self::new()
    }
}

impl ToolCallAssembler {
    /// An empty assembler with the default argument cap, [`DEFAULT_MAX_TOOL_ARGUMENT_BYTES`].
    pub fn new() -> Self {
        Self::with_max_argument_bytes(DEFAULT_MAX_TOOL_ARGUMENT_BYTES)
    }

    /// An empty assembler whose calls' arguments may hold at most `max_argument_bytes` bytes in
    /// all.
    pub fn with_max_argument_bytes(max_argument_bytes: usize) -> Self {
        ToolCallAssembler {
            calls: Vec::new(),
            positions: HashMap::new(),
            last: 0,
            next_free_index: 0,
            argument_bytes: 0,
            max_argument_bytes,
        }
    }

    /// Whether any fragment has been taken since the last [`ToolCallAssembler::finish`].
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// Takes one fragment and says which call it went to. A fragment that would open call number
    /// [`MAX_TOOL_CALLS`] + 1, or bring the arguments taken so far past the argument cap, is an
    /// [`Error::Decode`] naming the limit; the assembler is unchanged by it.
    ///
    /// A call that opens without an id gets its made-up one at once (see
    /// [`ToolCallAssembler::finish`]), so that its first piece and the complete call agree.
    pub fn push(&mut self, fragment: ToolCallFragment<'_>) -> Result<TakenFragment<'_>, Error> {
        let arguments = fragment.arguments.map_or(0, str::len);
        if arguments > self.max_argument_bytes - self.argument_bytes {
            return Err(Error::Decode {
                message: format!(
                    "the tool-call arguments of the response exceed {} bytes, the most one \
                     response may send (max_tool_argument_bytes)",
                    self.max_argument_bytes
                ),
                source: None,
            });
        }
        let index = match fragment.index {
            Some(index) => u64::from(index),
            None => self.index_without_one(fragment.id),
        };
        let (position, opened) = match self.position(index) {
            Some(position) => (position, false),
            None => (self.open(index)?, true),
        };
        self.last = position;
        let call = &mut self.calls[position];
        if let Some(id) = fragment.id.filter(|id| !id.is_empty())
            && call.id.is_empty()
        {
            call.id = id.to_owned();
        }
        if opened && call.id.is_empty() {
            call.id = made_up_call_id();
        }
        if let Some(name) = fragment.name.filter(|name| !name.is_empty())
            && call.name.is_empty()
        {
            call.name = name.to_owned();
        }
        if let Some(arguments) = fragment.arguments {
            call.arguments.push_str(arguments);
            self.argument_bytes += arguments.len();
        }
        Ok(TakenFragment {
            // Below MAX_TOOL_CALLS, so it fits.
            index: position as u32,
            opened,
            id: &call.id,
            name: &call.name,
        })
    }

    /// Where the call with `index` is in `calls`, if it has opened.
    fn position(&self, index: u64) -> Option<usize> {
        // The call the last fragment went to, or the one opened after it: how fragments come,
        // one call after another or a few interleaved in turn.
        let near = self.last..self.calls.len().min(self.last + 2);
        if let Some(position) = near.into_iter().find(|&p| self.calls[p].index == index) {
            return Some(position);
        }
        if self.calls.len() <= SEARCHED_CALLS {
            self.calls.iter().position(|call| call.index == index)
        } else {
            self.positions.get(&index).copied()
        }
    }

    /// Opens a new call with `index` and returns its position.
    fn open(&mut self, index: u64) -> Result<usize, Error> {
        let position = self.calls.len();
        if position >= MAX_TOOL_CALLS {
            return Err(Error::Decode {
                message: format!(
                    "the response opened more than {MAX_TOOL_CALLS} tool calls, the most one \
                     response may open"
                ),
                source: None,
            });
        }
        self.calls.push(PartialCall {
            index,
            id: String::new(),
            name: String::new(),
            arguments: String::new(),
        });
        if self.calls.len() == SEARCHED_CALLS + 1 {
            // Too many to search from here on: every call goes into the map.
            let opened = self.calls.iter().enumerate();
            self.positions
                .extend(opened.map(|(position, call)| (call.index, position)));
        } else if self.calls.len() > SEARCHED_CALLS {
            self.positions.insert(index, position);
        }
        self.next_free_index = self.next_free_index.max(index + 1);
        Ok(position)
    }

    /// For servers that send no `index`: a new id opens a new call (after every index seen so
    /// far), anything else continues the call the last fragment went to.
    fn index_without_one(&self, id: Option<&str>) -> u64 {
        match (self.calls.get(self.last), id) {
            (Some(last), Some(id)) if id.is_empty() || id == last.id => last.index,
            (Some(last), None) => last.index,
            _ => self.next_free_index,
        }
    }

    /// Hands out every call taken so far, in index order, and empties the assembler.
    ///
    /// A call whose server sent no id (on the fragment that opened it) has a made-up one, `call_<16 hex digits>_<n>`: the hex
    /// digits are drawn at random once per process and `n` counts made-up ids across the whole
    /// process, so no two calls share an id, neither in one response nor across the turns of a
    /// conversation (servers refuse a conversation in which two calls have the same id), nor
    /// with the ids of an earlier run of the host.
    pub fn finish(&mut self) -> impl Iterator<Item = ToolCall> + use<> {
        self.positions.clear();
        self.last = 0;
        self.next_free_index = 0;
        let mut calls = std::mem::take(&mut self.calls);
        // Indexes are unique, so the unstable sort (which allocates nothing) orders fully.
        calls.sort_unstable_by_key(|call| call.index);
        calls.into_iter().map(|call| ToolCall {
            id: call.id,
            name: call.name,
            arguments: call.arguments,
        })
    }
}

/// A tool-call id no other call of this process has, and that another process is very
/// unlikely to have made: `call_<random per process>_<counter>`.
fn made_up_call_id() -> String {
    static PROCESS_TAG: OnceLock<u64> = OnceLock::new();
    static MADE_UP: AtomicU64 = AtomicU64::new(0);
    let tag = PROCESS_TAG.get_or_init(random_u64);
    let n = MADE_UP.fetch_add(1, Ordering::Relaxed);
    format!("call_{tag:016x}_{n}")
}

/// 64 random bits from the standard library's hash seeds (drawn from the operating system),
/// mixed with the time and process id in case those seeds are fixed.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    if let Ok(since_epoch) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(since_epoch.as_nanos());
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use proptest::prelude::*;

    use super::*;

    fn fragment<'a>(
        index: u32,
        id: Option<&'a str>,
        name: Option<&'a str>,
        arguments: Option<&'a str>,
    ) -> ToolCallFragment<'a> {
        ToolCallFragment {
            index: Some(index),
            id,
            name,
            arguments,
        }
    }

    fn without_index<'a>(id: Option<&'a str>, arguments: &'a str) -> ToolCallFragment<'a> {
        ToolCallFragment {
            index: None,
            id,
            name: Some("t"),
            arguments: Some(arguments),
        }
    }

    #[test]
    fn interleaved_fragments_are_assembled_by_index_in_index_order() {
        let mut assembler = ToolCallAssembler::new();
        for piece in [
            fragment(1, Some("b"), Some("read_file"), None),
            fragment(0, Some("a"), Some("list_dir"), Some("{\"pa")),
            fragment(1, None, None, Some("{\"path\":\"x\"}")),
            fragment(0, Some("a"), None, Some("th\":\".\"}")),
        ] {
            assembler.push(piece).unwrap();
        }
        let calls: Vec<_> = assembler.finish().collect();
        assert_eq!(
            calls,
            [
                ToolCall {
                    id: "a".into(),
                    name: "list_dir".into(),
                    arguments: "{\"path\":\".\"}".into()
                },
                ToolCall {
                    id: "b".into(),
                    name: "read_file".into(),
                    arguments: "{\"path\":\"x\"}".into()
                },
            ]
        );
        assert!(assembler.is_empty());
    }

    #[test]
    fn missing_index_follows_the_id() {
        let mut assembler = ToolCallAssembler::new();
        for (id, args) in [
            (Some("a"), "1"),
            (None, "2"),
            (Some("b"), "3"),
            (Some("b"), "4"),
        ] {
            assembler.push(without_index(id, args)).unwrap();
        }
        let args: Vec<_> = assembler.finish().map(|c| (c.id, c.arguments)).collect();
        assert_eq!(args, [("a".into(), "12".into()), ("b".into(), "34".into())]);
    }

    #[test]
    fn a_fragment_without_index_after_the_largest_index_opens_a_call_after_it() {
        // u32::MAX, then a new id with no index: once an overflow (a panic in debug builds,
        // the new call merged into call 0's slot in release ones).
        let mut assembler = ToolCallAssembler::new();
        assembler
            .push(fragment(u32::MAX, Some("a"), Some("f"), Some("{}")))
            .unwrap();
        assembler.push(without_index(Some("b"), "[")).unwrap();
        assembler.push(without_index(None, "]")).unwrap();
        assembler
            .push(fragment(0, Some("c"), Some("g"), None))
            .unwrap();
        let calls: Vec<_> = assembler
            .finish()
            .map(|c| (c.id, c.name, c.arguments))
            .collect();
        assert_eq!(
            calls,
            [
                ("c".into(), "g".into(), "".into()),
                ("a".into(), "f".into(), "{}".into()),
                ("b".into(), "t".into(), "[]".into()),
            ]
        );
    }

    #[test]
    fn calls_opened_in_descending_order_come_out_in_index_order() {
        let mut assembler = ToolCallAssembler::new();
        let count = u32::try_from(MAX_TOOL_CALLS).unwrap();
        for round in ["{", "}"] {
            for index in (0..count).rev() {
                let id = format!("id{index}");
                assembler
                    .push(fragment(index, Some(&id), Some("f"), Some(round)))
                    .unwrap();
            }
        }
        let ids: Vec<_> = assembler.finish().map(|c| (c.id, c.arguments)).collect();
        let expected: Vec<_> = (0..count)
            .map(|index| (format!("id{index}"), "{}".to_owned()))
            .collect();
        assert_eq!(ids, expected);
    }

    #[test]
    fn more_calls_than_the_limit_is_a_decode_error_naming_it() {
        let mut assembler = ToolCallAssembler::new();
        let count = u32::try_from(MAX_TOOL_CALLS).unwrap();
        for index in 0..count {
            assembler
                .push(fragment(index, None, Some("f"), None))
                .unwrap();
        }
        // Fragments for calls already open are still taken.
        assembler.push(fragment(7, None, None, Some("{}"))).unwrap();
        match assembler.push(fragment(count, None, Some("f"), None)) {
            Err(Error::Decode { message, .. }) => {
                assert!(message.contains(&MAX_TOOL_CALLS.to_string()), "{message}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(assembler.finish().count(), MAX_TOOL_CALLS);
    }

    #[test]
    fn arguments_past_the_cap_are_a_decode_error_and_change_nothing() {
        let mut assembler = ToolCallAssembler::with_max_argument_bytes(10);
        assembler
            .push(fragment(0, Some("a"), Some("f"), Some("123456")))
            .unwrap();
        assembler
            .push(fragment(1, Some("b"), Some("g"), Some("7890")))
            .unwrap();
        match assembler.push(fragment(1, None, None, Some("x"))) {
            Err(Error::Decode { message, .. }) => {
                assert!(message.contains("10 bytes"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        let arguments: Vec<_> = assembler.finish().map(|call| call.arguments).collect();
        assert_eq!(arguments, ["123456", "7890"]);
    }

    #[test]
    fn made_up_ids_never_repeat() {
        // Three turns of a server that sends no ids: once `call_0` in every turn, and the
        // host's third request was refused for a duplicate id.
        let mut seen = HashSet::new();
        for _turn in 0..3 {
            let mut assembler = ToolCallAssembler::new();
            assembler
                .push(fragment(0, None, Some("f"), Some("{}")))
                .unwrap();
            assembler
                .push(fragment(1, None, Some("g"), Some("{}")))
                .unwrap();
            for call in assembler.finish() {
                assert!(call.id.starts_with("call_"), "{}", call.id);
                assert!(seen.insert(call.id.clone()), "{} repeated", call.id);
            }
        }
        assert_eq!(seen.len(), 6);
    }

    /// An index as a hostile server might send it: small, at or near the top of the range,
    /// or missing.
    fn any_index() -> impl Strategy<Value = Option<u32>> {
        prop_oneof![
            4 => (0u32..4).prop_map(Some),
            1 => Just(Some(u32::MAX)),
            1 => Just(Some(u32::MAX - 1)),
            1 => any::<u32>().prop_map(Some),
            2 => Just(None),
        ]
    }

    proptest! {
        #[test]
        fn any_index_sequence_is_assembled_without_panic(
            fragments in prop::collection::vec(
                (any_index(), prop::option::of(prop::sample::select(vec!["", "a", "b", "c"])), "[a-z{}]{0,3}"),
                0..40,
            ),
            descending_run in 0u32..64,
        ) {
            let mut assembler = ToolCallAssembler::new();
            // A run of calls opened in descending order first, then the generated fragments.
            let run: Vec<_> = (0..descending_run)
                .rev()
                .map(|index| (Some(index), None::<&str>, String::new()))
                .collect();
            let mut by_index: BTreeMap<u32, String> = BTreeMap::new();
            let mut all_indexed = true;
            let mut argument_bytes = 0;
            for (index, id, arguments) in run.iter().chain(&fragments) {
                assembler
                    .push(ToolCallFragment { index: *index, id: *id, name: Some("f"), arguments: Some(arguments) })
                    .unwrap();
                argument_bytes += arguments.len();
                match index {
                    Some(index) => by_index.entry(*index).or_default().push_str(arguments),
                    None => all_indexed = false,
                }
            }
            let calls: Vec<_> = assembler.finish().collect();
            prop_assert_eq!(calls.iter().map(|c| c.arguments.len()).sum::<usize>(), argument_bytes);
            if all_indexed {
                let arguments: Vec<_> = calls.into_iter().map(|c| c.arguments).collect();
                prop_assert_eq!(arguments, by_index.into_values().collect::<Vec<_>>());
            }
        }
    }
}
