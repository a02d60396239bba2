//! Splits inline `<think>` reasoning out of streamed answer text (sans-IO: `push(&str)` in,
//! reasoning and answer pieces out, `finish()` flushes).
//!
//! A block is reasoning only when it opens before any answer text (leading whitespace
//! allowed); once the answer has started, `<think>` is ordinary text, since answers may well
//! talk about the tag. Models that start inside reasoning and only ever close it are handled by
//! [`ThinkSplitter::starting_in_reasoning`]. Text is passed on as soon as it arrives; the only
//! thing held back is what could still become a tag: leading whitespace and a partial
//! `<think>` before the answer starts, and a partial `</think>` at the end of a piece of
//! reasoning. The output does not depend on how the input was cut. A server that sends reasoning
//! in fields of its own makes the content answer text
//! ([`ThinkSplitter::reasoning_arrives_separately`]).

use memchr::memmem;

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";

/// One piece of split output, borrowed until the next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThinkPart<'a> {
    /// Reasoning, with the tags removed.
    Reasoning(&'a str),
    /// Answer text.
    Answer(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing but whitespace seen: a `<think>` may still open. The flag says whether text
    /// that is not a tag is reasoning (models that start inside reasoning) or answer.
    BeforeAnswer { implicit_reasoning: bool },
    /// Inside a reasoning block; `started` once non-whitespace reasoning has been emitted;
    /// `implicit` when no `<think>` opened it (a model that starts inside reasoning).
    Reasoning { started: bool, implicit: bool },
    /// After `</think>`; `started` once non-whitespace answer text has been emitted.
    Answer { started: bool },
}

/// A streaming `<think>` splitter.
///
/// ```
/// use fireworks_provider::{ThinkPart, ThinkSplitter};
///
/// let mut splitter = ThinkSplitter::new();
/// let (mut reasoning, mut answer) = (String::new(), String::new());
/// for delta in ["<th", "ink>\nThe user greets.", "</thi", "nk>\n\nHello!"] {
///     splitter.push(delta, |part| match part {
///         ThinkPart::Reasoning(text) => reasoning.push_str(text),
///         ThinkPart::Answer(text) => answer.push_str(text),
///     });
/// }
/// splitter.finish(|_| {});
/// assert_eq!((reasoning.as_str(), answer.as_str()), ("The user greets.", "Hello!"));
/// ```
#[derive(Debug, Clone)]
pub struct ThinkSplitter {
    state: State,
    /// Bytes that may still turn out to be (part of) a tag.
    held: String,
}

impl Default for ThinkSplitter {
    fn default() -> Self {
        Self::new()
    }
}

impl ThinkSplitter {
    /// A splitter for models that may open their output with a `<think>` block.
    pub fn new() -> Self {
        ThinkSplitter {
            state: State::BeforeAnswer {
                implicit_reasoning: false,
            },
            held: String::new(),
        }
    }

    /// A splitter for models whose output starts inside reasoning and only closes it with
    /// `</think>` (an opening tag, if one comes anyway, is dropped).
    pub fn starting_in_reasoning() -> Self {
        ThinkSplitter {
            state: State::BeforeAnswer {
                implicit_reasoning: true,
            },
            held: String::new(),
        }
    }

    /// What `push(text)` would emit if it emits `text` whole and unchanged as one part, leaving
    /// the splitter as it is: then the caller may skip the push, and a caller that owns the text
    /// can pass it on without copying it. `None` when the text needs splitting.
    pub fn pass_through<'a>(&self, text: &'a str) -> Option<ThinkPart<'a>> {
        if !self.held.is_empty() || text.is_empty() {
            return None;
        }
        match self.state {
            State::Answer { started: true } => Some(ThinkPart::Answer(text)),
            State::Reasoning { started: true, .. }
                if memchr::memchr(b'<', text.as_bytes()).is_none() =>
            {
                Some(ThinkPart::Reasoning(text))
            }
            _ => None,
        }
    }

    /// Takes the next piece of content and calls `emit` with what can be passed on now.
    pub fn push(&mut self, delta: &str, mut emit: impl FnMut(ThinkPart<'_>)) {
        if self.held.is_empty() {
            self.split(delta, &mut emit);
        } else {
            let mut joined = std::mem::take(&mut self.held);
            joined.push_str(delta);
            self.split(&joined, &mut emit);
            if self.held.is_empty() {
                // Keep the allocation for the next partial tag.
                joined.clear();
                self.held = joined;
            }
        }
    }

    /// Ends the content: whatever was held back is emitted as what it would have been.
    pub fn finish(&mut self, mut emit: impl FnMut(ThinkPart<'_>)) {
        let held = std::mem::take(&mut self.held);
        match self.state {
            State::BeforeAnswer {
                implicit_reasoning: true,
            }
            | State::Reasoning { .. } => emit_reasoning(&mut self.state, &held, &mut emit),
            State::BeforeAnswer { .. } | State::Answer { .. } => {
                emit_answer(&mut self.state, &held, &mut emit)
            }
        }
    }

    /// Tells the splitter that the server sends reasoning in fields of its own
    /// (`reasoning_content`, `reasoning`), so that content is answer text, even for a model
    /// that starts inside reasoning (whose closing `</think>` then never comes). Content is read
    /// from here on as for a model that opens its reasoning explicitly: before any content, a
    /// `<think>` block at the start still counts (whitespace held so far would have opened the
    /// reasoning, and is dropped with it); inside reasoning that no tag opened, the reasoning
    /// ends here (what was held back of it is emitted now) and the rest is answer. Explicit
    /// `<think>` blocks are left as they are. Calling it again changes nothing.
    pub fn reasoning_arrives_separately(&mut self, mut emit: impl FnMut(ThinkPart<'_>)) {
        match self.state {
            State::BeforeAnswer {
                implicit_reasoning: true,
            } => {
                if self.held.trim_start().is_empty() {
                    self.held.clear();
                }
                self.state = State::BeforeAnswer {
                    implicit_reasoning: false,
                };
            }
            State::Reasoning { implicit: true, .. } => {
                emit_reasoning(&mut self.state, &self.held, &mut emit);
                self.held.clear();
                self.state = State::Answer { started: true };
            }
            _ => {}
        }
    }

    /// Splits `text` (held bytes already in front of it), leaving in `self.held` what may
    /// still be a tag.
    fn split(&mut self, mut text: &str, emit: &mut impl FnMut(ThinkPart<'_>)) {
        loop {
            match self.state {
                State::BeforeAnswer { implicit_reasoning } => {
                    let rest = text.trim_start();
                    if let Some(after) = rest.strip_prefix(OPEN) {
                        self.state = State::Reasoning {
                            started: false,
                            implicit: false,
                        };
                        text = after;
                    } else if OPEN.starts_with(rest) {
                        // Whitespace and possibly the start of `<think>`: wait and see.
                        self.held.push_str(text);
                        return;
                    } else if implicit_reasoning {
                        self.state = State::Reasoning {
                            started: false,
                            implicit: true,
                        };
                    } else {
                        // The answer starts here, with its leading whitespace.
                        self.state = State::Answer { started: true };
                        emit(ThinkPart::Answer(text));
                        return;
                    }
                }
                State::Reasoning { .. } => match memmem::find(text.as_bytes(), CLOSE.as_bytes()) {
                    Some(at) => {
                        emit_reasoning(&mut self.state, &text[..at], emit);
                        self.state = State::Answer { started: false };
                        text = &text[at + CLOSE.len()..];
                    }
                    None => {
                        let keep = partial_tag_len(text, CLOSE);
                        let (now, later) = text.split_at(text.len() - keep);
                        emit_reasoning(&mut self.state, now, emit);
                        self.held.push_str(later);
                        return;
                    }
                },
                State::Answer { .. } => {
                    emit_answer(&mut self.state, text, emit);
                    return;
                }
            }
        }
    }
}

/// Emits reasoning, dropping the whitespace that opens a block.
fn emit_reasoning(state: &mut State, text: &str, emit: &mut impl FnMut(ThinkPart<'_>)) {
    let text = match *state {
        State::Reasoning {
            started: false,
            implicit,
        }
        | State::BeforeAnswer {
            implicit_reasoning: implicit,
        } => {
            let trimmed = text.trim_start();
            if !trimmed.is_empty() {
                *state = State::Reasoning {
                    started: true,
                    implicit,
                };
            }
            trimmed
        }
        _ => text,
    };
    if !text.is_empty() {
        emit(ThinkPart::Reasoning(text));
    }
}

/// Emits answer text, dropping the whitespace between `</think>` and the answer.
fn emit_answer(state: &mut State, text: &str, emit: &mut impl FnMut(ThinkPart<'_>)) {
    let text = match state {
        State::Answer { started: false } => {
            let trimmed = text.trim_start();
            if !trimmed.is_empty() {
                *state = State::Answer { started: true };
            }
            trimmed
        }
        _ => text,
    };
    if !text.is_empty() {
        emit(ThinkPart::Answer(text));
    }
}

/// The length of the longest end of `text` that is a proper start of `tag`.
fn partial_tag_len(text: &str, tag: &str) -> usize {
    let bytes = text.as_bytes();
    (1..tag.len().min(bytes.len() + 1))
        .rev()
        .find(|&len| tag.as_bytes().starts_with(&bytes[bytes.len() - len..]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the splitter over `pieces` and returns (reasoning, answer) with pieces merged.
    fn split_all(splitter: ThinkSplitter, pieces: &[&str]) -> (String, String) {
        let mut splitter = splitter;
        let (mut reasoning, mut answer) = (String::new(), String::new());
        let mut sink = |part: ThinkPart<'_>| match part {
            ThinkPart::Reasoning(t) => reasoning.push_str(t),
            ThinkPart::Answer(t) => answer.push_str(t),
        };
        for piece in pieces {
            splitter.push(piece, &mut sink);
        }
        splitter.finish(&mut sink);
        (reasoning, answer)
    }

    fn split(pieces: &[&str]) -> (String, String) {
        split_all(ThinkSplitter::new(), pieces)
    }

    #[test]
    fn block_at_start_is_reasoning_with_tags_removed() {
        assert_eq!(
            split(&["<think>\nPlan.\n</think>\n\nAnswer."]),
            ("Plan.\n".into(), "Answer.".into())
        );
        assert_eq!(
            split(&["\n  <th", "ink>", "Plan", "</th", "ink>", "Answer"]),
            ("Plan".into(), "Answer".into())
        );
    }

    #[test]
    fn empty_block_gives_no_reasoning() {
        assert_eq!(
            split(&["<think>\n\n</think>\n\n", "Hi"]),
            ("".into(), "Hi".into())
        );
    }

    #[test]
    fn think_after_answer_text_is_text() {
        let pieces = ["Use the ", "<think>", " tag.</think> ok"];
        assert_eq!(
            split(&pieces),
            ("".into(), "Use the <think> tag.</think> ok".into())
        );
    }

    #[test]
    fn plain_answer_keeps_leading_whitespace_and_is_not_held() {
        let mut splitter = ThinkSplitter::new();
        let mut out = Vec::new();
        splitter.push("\nHello <th", |p| out.push(format!("{p:?}")));
        assert_eq!(out, [r#"Answer("\nHello <th")"#]);
    }

    #[test]
    fn only_a_possible_tag_is_held_back() {
        let mut splitter = ThinkSplitter::new();
        let mut out = Vec::new();
        splitter.push("<think>abc</thi", |p| out.push(format!("{p:?}")));
        assert_eq!(out, [r#"Reasoning("abc")"#]);
        splitter.push("s is not a tag", |p| out.push(format!("{p:?}")));
        assert_eq!(out.last().unwrap(), r#"Reasoning("</this is not a tag")"#);
    }

    #[test]
    fn text_passes_through_only_when_it_cannot_hold_a_tag() {
        let mut splitter = ThinkSplitter::new();
        assert_eq!(splitter.pass_through("x"), None, "a block may still open");
        splitter.push("<think>\n", |_| {});
        assert_eq!(
            splitter.pass_through("plan"),
            None,
            "leading whitespace is still trimmed"
        );
        splitter.push("plan", |_| {});
        assert_eq!(
            splitter.pass_through(" more"),
            Some(ThinkPart::Reasoning(" more"))
        );
        assert_eq!(
            splitter.pass_through(" </think>"),
            None,
            "a tag needs splitting"
        );
        splitter.push("</th", |_| {});
        assert_eq!(splitter.pass_through("ink>"), None, "a partial tag is held");
        splitter.push("ink>\n\nAnswer", |_| {});
        assert_eq!(
            splitter.pass_through(" <think>"),
            Some(ThinkPart::Answer(" <think>"))
        );
    }

    #[test]
    fn held_partial_tags_are_flushed_at_finish() {
        assert_eq!(split(&["  <thi"]), ("".into(), "  <thi".into()));
        assert_eq!(
            split(&["<think>deep </thin"]),
            ("deep </thin".into(), "".into())
        );
    }

    #[test]
    fn model_starting_in_reasoning_needs_only_the_closing_tag() {
        let pieces = ["Okay, the user", " wants X.\n</th", "ink>\n\nHere is X."];
        assert_eq!(
            split_all(ThinkSplitter::starting_in_reasoning(), &pieces),
            ("Okay, the user wants X.\n".into(), "Here is X.".into())
        );
        // An opening tag sent anyway is dropped.
        assert_eq!(
            split_all(
                ThinkSplitter::starting_in_reasoning(),
                &["<think>a</think>b"]
            ),
            ("a".into(), "b".into())
        );
        // Never closed: all of it is reasoning.
        assert_eq!(
            split_all(ThinkSplitter::starting_in_reasoning(), &["a <", "b"]),
            ("a <b".into(), "".into())
        );
    }

    /// Runs the splitter over `before`, tells it reasoning arrives in fields of its own, runs
    /// it over `after` and finishes; `sink` gets every part emitted, in order.
    fn run_with_reasoning_fields(
        mut splitter: ThinkSplitter,
        before: &[&str],
        after: &[&str],
        mut sink: impl FnMut(ThinkPart<'_>),
    ) {
        for piece in before {
            splitter.push(piece, &mut sink);
        }
        splitter.reasoning_arrives_separately(&mut sink);
        for piece in after {
            splitter.push(piece, &mut sink);
        }
        splitter.finish(&mut sink);
    }

    /// [`run_with_reasoning_fields`]'s parts, in order.
    fn parts_with_reasoning_fields(
        splitter: ThinkSplitter,
        before: &[&str],
        after: &[&str],
    ) -> Vec<String> {
        let mut parts = Vec::new();
        run_with_reasoning_fields(splitter, before, after, |part| {
            parts.push(format!("{part:?}"))
        });
        parts
    }

    #[test]
    fn reasoning_in_fields_makes_content_answer_for_a_model_starting_in_reasoning() {
        // Nothing but whitespace before the first reasoning field: it would have opened the
        // reasoning and goes; all content after is answer.
        assert_eq!(
            parts_with_reasoning_fields(
                ThinkSplitter::starting_in_reasoning(),
                &["\n"],
                &["The answer", " is 12."]
            ),
            [r#"Answer("The answer")"#, r#"Answer(" is 12.")"#]
        );
        // A partial opening tag is still held and may still open a block.
        assert_eq!(
            parts_with_reasoning_fields(
                ThinkSplitter::starting_in_reasoning(),
                &["\n<th"],
                &["ink>a</think>b"]
            ),
            [r#"Reasoning("a")"#, r#"Answer("b")"#]
        );
        // Reasoning that no tag opened ends where the fields begin, a held partial tag with it.
        assert_eq!(
            parts_with_reasoning_fields(
                ThinkSplitter::starting_in_reasoning(),
                &["Okay, so </th"],
                &["It is 12."]
            ),
            [
                r#"Reasoning("Okay, so ")"#,
                r#"Reasoning("</th")"#,
                r#"Answer("It is 12.")"#
            ]
        );
        // An explicit block at the start still counts.
        assert_eq!(
            parts_with_reasoning_fields(
                ThinkSplitter::starting_in_reasoning(),
                &[],
                &["<think>a</think>b"]
            ),
            [r#"Reasoning("a")"#, r#"Answer("b")"#]
        );
    }

    #[test]
    fn reasoning_in_fields_leaves_explicit_blocks_as_they_are() {
        assert_eq!(
            parts_with_reasoning_fields(ThinkSplitter::new(), &["<think>plan"], &["</think>ans"]),
            [r#"Reasoning("plan")"#, r#"Answer("ans")"#]
        );
        assert_eq!(
            parts_with_reasoning_fields(ThinkSplitter::new(), &[], &["<think>a</think>b"]),
            [r#"Reasoning("a")"#, r#"Answer("b")"#]
        );
    }

    #[test]
    fn multibyte_text_around_tags() {
        assert_eq!(
            split(&["<think>思考", "中</think>\n\n🌤️ 晴れ"]),
            ("思考中".into(), "🌤️ 晴れ".into())
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Text built from tag fragments, whitespace and multibyte characters, so that random
        /// cuts land inside tags and characters.
        fn content() -> impl Strategy<Value = String> {
            let atom = prop_oneof![
                Just("<think>".to_owned()),
                Just("</think>".to_owned()),
                Just("<th".to_owned()),
                Just("</".to_owned()),
                Just("\n".to_owned()),
                Just(" ".to_owned()),
                Just("é🌤️中".to_owned()),
                "[a-z<>/]{1,6}",
            ];
            proptest::collection::vec(atom, 0..24).prop_map(|atoms| atoms.concat())
        }

        /// Cuts `text` at the given char positions.
        fn cut(text: &str, cuts: &[usize]) -> Vec<String> {
            let chars: Vec<char> = text.chars().collect();
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (chars.len() + 1)).collect();
            points.sort_unstable();
            let mut pieces = Vec::new();
            let mut start = 0;
            for point in points.into_iter().chain([chars.len()]) {
                pieces.push(chars[start..point].iter().collect());
                start = point;
            }
            pieces
        }

        proptest! {
            #[test]
            fn any_split_gives_the_same_output(
                text in content(),
                cuts in proptest::collection::vec(any::<usize>(), 0..12),
                implicit in any::<bool>(),
            ) {
                let make = || if implicit { ThinkSplitter::starting_in_reasoning() } else { ThinkSplitter::new() };
                let whole = split_all(make(), &[text.as_str()]);
                let pieces = cut(&text, &cuts);
                let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
                prop_assert_eq!(split_all(make(), &pieces), whole);
            }

            #[test]
            fn pass_through_says_exactly_what_push_would_emit(
                text in content(),
                cuts in proptest::collection::vec(any::<usize>(), 0..12),
                implicit in any::<bool>(),
            ) {
                let mut splitter = if implicit { ThinkSplitter::starting_in_reasoning() } else { ThinkSplitter::new() };
                for piece in cut(&text, &cuts) {
                    let predicted = splitter.pass_through(&piece).map(|p| format!("{p:?}"));
                    let mut emitted = Vec::new();
                    splitter.push(&piece, |p| emitted.push(format!("{p:?}")));
                    if let Some(part) = predicted {
                        prop_assert_eq!(emitted, vec![part]);
                        prop_assert!(splitter.held.is_empty());
                    }
                }
            }

            #[test]
            fn reasoning_fields_at_any_point_give_the_same_output_however_content_is_cut(
                before in content(),
                after in content(),
                cuts_before in proptest::collection::vec(any::<usize>(), 0..6),
                cuts_after in proptest::collection::vec(any::<usize>(), 0..6),
                implicit in any::<bool>(),
            ) {
                let joined = |before: &[&str], after: &[&str]| {
                    let splitter = if implicit { ThinkSplitter::starting_in_reasoning() } else { ThinkSplitter::new() };
                    let (mut reasoning, mut answer) = (String::new(), String::new());
                    run_with_reasoning_fields(splitter, before, after, |part| match part {
                        ThinkPart::Reasoning(t) => reasoning.push_str(t),
                        ThinkPart::Answer(t) => answer.push_str(t),
                    });
                    (reasoning, answer)
                };
                let whole = joined(&[before.as_str()], &[after.as_str()]);
                let (pieces_before, pieces_after) = (cut(&before, &cuts_before), cut(&after, &cuts_after));
                let pieces_before: Vec<&str> = pieces_before.iter().map(String::as_str).collect();
                let pieces_after: Vec<&str> = pieces_after.iter().map(String::as_str).collect();
                prop_assert_eq!(joined(&pieces_before, &pieces_after), whole);
            }

            #[test]
            fn only_tags_and_whitespace_are_removed(text in content(), implicit in any::<bool>()) {
                let splitter = if implicit { ThinkSplitter::starting_in_reasoning() } else { ThinkSplitter::new() };
                let (reasoning, answer) = split_all(splitter, &[text.as_str()]);
                let visible = |s: &str| s.chars().filter(|c| !c.is_whitespace()).count();
                let removed = visible(&text) - visible(&format!("{reasoning}{answer}"));
                // At most one opening (7 chars) and one closing (8 chars) tag go.
                prop_assert!([0, 7, 8, 15].contains(&removed), "removed {} chars", removed);
            }
        }
    }
}
