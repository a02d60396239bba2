//! Assembles streamed tool-call fragments into complete [`ToolCall`]s.
//!
//! Fragments are keyed by their `index`, never by `id`: later fragments often carry
//! `"id": null` or repeat the id. The id and name come from the first fragment that has them;
//! argument pieces are concatenated in arrival order. Calls come out in index order.

use crate::provider::ToolCall;

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

#[derive(Debug)]
struct PartialCall {
    index: u32,
    id: String,
    name: String,
    arguments: String,
}

/// Collects fragments until the response says it is finished.
#[derive(Debug, Default)]
pub struct ToolCallAssembler {
    /// Calls seen so far, kept sorted by index (few calls: a vector beats a map).
    calls: Vec<PartialCall>,
}

impl ToolCallAssembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether any fragment has been taken since the last [`ToolCallAssembler::finish`].
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// Takes one fragment.
    pub fn push(&mut self, fragment: ToolCallFragment<'_>) {
        let index = fragment
            .index
            .unwrap_or_else(|| self.index_without_one(fragment.id));
        let slot = match self.calls.binary_search_by_key(&index, |call| call.index) {
            Ok(slot) => slot,
            Err(slot) => {
                self.calls.insert(
                    slot,
                    PartialCall {
                        index,
                        id: String::new(),
                        name: String::new(),
                        arguments: String::new(),
                    },
                );
                slot
            }
        };
        let call = &mut self.calls[slot];
        if let Some(id) = fragment.id.filter(|id| !id.is_empty())
            && call.id.is_empty()
        {
            call.id = id.to_owned();
        }
        if let Some(name) = fragment.name.filter(|name| !name.is_empty())
            && call.name.is_empty()
        {
            call.name = name.to_owned();
        }
        if let Some(arguments) = fragment.arguments {
            call.arguments.push_str(arguments);
        }
    }

    /// For servers that send no `index`: a new id starts a new call, anything else continues
    /// the last one.
    fn index_without_one(&self, id: Option<&str>) -> u32 {
        match self.calls.last() {
            None => 0,
            Some(last) => match id {
                Some(id) if !id.is_empty() && id != last.id => last.index + 1,
                _ => last.index,
            },
        }
    }

    /// Hands out every call taken so far, in index order, and empties the assembler. A call
    /// whose server sent no id gets `call_<index>`, so results can still be matched to it.
    pub fn finish(&mut self) -> impl Iterator<Item = ToolCall> + use<> {
        std::mem::take(&mut self.calls)
            .into_iter()
            .map(|call| ToolCall {
                id: if call.id.is_empty() {
                    format!("call_{}", call.index)
                } else {
                    call.id
                },
                name: call.name,
                arguments: call.arguments,
            })
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn interleaved_fragments_are_assembled_by_index_in_index_order() {
        let mut assembler = ToolCallAssembler::new();
        assembler.push(fragment(1, Some("b"), Some("read_file"), None));
        assembler.push(fragment(0, Some("a"), Some("list_dir"), Some("{\"pa")));
        assembler.push(fragment(1, None, None, Some("{\"path\":\"x\"}")));
        assembler.push(fragment(0, Some("a"), None, Some("th\":\".\"}")));
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
            assembler.push(ToolCallFragment {
                index: None,
                id,
                name: Some("t"),
                arguments: Some(args),
            });
        }
        let args: Vec<_> = assembler.finish().map(|c| (c.id, c.arguments)).collect();
        assert_eq!(args, [("a".into(), "12".into()), ("b".into(), "34".into())]);
    }

    #[test]
    fn a_call_without_id_gets_one() {
        let mut assembler = ToolCallAssembler::new();
        assembler.push(fragment(3, None, Some("t"), Some("{}")));
        assert_eq!(assembler.finish().next().unwrap().id, "call_3");
    }
}
