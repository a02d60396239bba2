//! A server that is merely different, or hostile: whatever bytes it sends, the decoder never
//! panics (these tests run with overflow checks on), keeps every chunk it decoded before an
//! error, bounds what it holds, and reads the error shapes and odd events other servers send.

use std::collections::HashSet;
use std::path::Path;

use crate::support::{decode_pieces, decode_whole, is_made_up_call_id};
use fireworks_provider::{ApiChunk, Error, MAX_TOOL_CALLS, ModelInfo};
use proptest::prelude::*;
use serde_json::{Value, json};

fn model() -> ModelInfo {
    ModelInfo::unknown("any-openai-compatible-model")
}

/// One event whose first choice carries `delta`.
fn delta_event(delta: Value) -> String {
    format!(
        "data: {}\n\n",
        json!({"choices": [{"index": 0, "delta": delta}]})
    )
}

/// The last event of a response that ended for `reason`, then `[DONE]`.
fn finish_events(reason: &str) -> String {
    let finish = json!({"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]});
    format!("data: {finish}\n\ndata: [DONE]\n\n")
}

/// The recorded bodies under tests/fixtures/stream and tests/fixtures/servers.
fn recorded_bodies() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut bodies = Vec::new();
    for dir in ["stream", "servers"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "sse"))
            .collect();
        paths.sort();
        bodies.extend(paths.iter().map(|path| std::fs::read(path).unwrap()));
    }
    bodies
}

// ---- Tool calls ------------------------------------------------------------------------------

/// A body that opens `count` tool calls, highest index first, each in two fragments.
fn descending_tool_calls(count: usize) -> String {
    let mut body = delta_event(json!({"content": "Calling"}));
    for index in (0..count).rev() {
        let first = json!({"index": index, "id": format!("id{index}"), "function": {"name": "f"}});
        body.push_str(&delta_event(json!({"tool_calls": [first]})));
    }
    for index in (0..count).rev() {
        let arguments = json!({"index": index, "function": {"arguments": "{}"}});
        body.push_str(&delta_event(json!({"tool_calls": [arguments]})));
    }
    body + &finish_events("tool_calls")
}

#[test]
fn as_many_tool_calls_as_the_limit_come_out_in_index_order() {
    let items = decode_whole(&model(), descending_tool_calls(MAX_TOOL_CALLS).as_bytes());
    let ids: Vec<String> = items
        .iter()
        .filter_map(|item| match item {
            Ok(ApiChunk::ToolCall(call)) => Some(call.id.clone()),
            _ => None,
        })
        .collect();
    let expected: Vec<String> = (0..MAX_TOOL_CALLS)
        .map(|index| format!("id{index}"))
        .collect();
    assert_eq!(ids, expected);
    assert!(items.iter().all(Result::is_ok));
}

#[test]
fn more_tool_calls_than_the_limit_end_the_stream_with_a_decode_error_naming_it() {
    let items = decode_whole(
        &model(),
        descending_tool_calls(MAX_TOOL_CALLS + 1).as_bytes(),
    );
    let [Ok(ApiChunk::Text(text)), Err(Error::Decode { message, .. })] = items.as_slice() else {
        panic!("{items:?}");
    };
    assert_eq!(text, "Calling");
    assert!(message.contains(&MAX_TOOL_CALLS.to_string()), "{message}");
}

#[test]
fn made_up_tool_call_ids_never_repeat_across_turns() {
    // Three turns against a server that sends no ids: each turn's calls once came out as
    // `call_0` and `call_1`, and the host's third request was refused for a duplicate id.
    let calls = json!([
        {"index": 0, "function": {"name": "list_dir", "arguments": "{}"}},
        {"index": 1, "id": "", "function": {"name": "read_file", "arguments": "{}"}},
    ]);
    let body = delta_event(json!({"tool_calls": calls})) + &finish_events("tool_calls");
    let mut ids = HashSet::new();
    for _turn in 0..3 {
        for item in decode_whole(&model(), body.as_bytes()) {
            if let Ok(ApiChunk::ToolCall(call)) = item {
                assert!(is_made_up_call_id(&call.id), "{}", call.id);
                assert!(ids.insert(call.id.clone()), "{} repeated", call.id);
            }
        }
    }
    assert_eq!(ids.len(), 6);
}

// ---- Error events ----------------------------------------------------------------------------

#[test]
fn an_event_named_error_is_a_server_error_in_the_servers_words_whatever_its_shape() {
    for data in [
        r#"{"message":"overloaded"}"#,
        r#"{"error":{"message":"overloaded","code":503}}"#,
        r#"{"error":"overloaded"}"#,
        r#"{"detail":"overloaded"}"#,
        r#""overloaded""#,
        "overloaded",
    ] {
        let body = delta_event(json!({"content": "Partial"}))
            + &format!("event: error\ndata: {data}\n\n")
            + &delta_event(json!({"content": " never read"}))
            + &finish_events("stop");
        let items = decode_whole(&model(), body.as_bytes());
        let [Ok(ApiChunk::Text(text)), Err(Error::Server(error))] = items.as_slice() else {
            panic!("{data}: {items:?}");
        };
        assert_eq!(text, "Partial", "{data}");
        assert_eq!(
            (error.message.as_str(), error.status),
            ("overloaded", None),
            "{data}"
        );
    }
}

#[test]
fn text_held_back_before_an_error_event_is_still_delivered_first() {
    // `<thi` might still become `<think>`, so the splitter holds it; the error ends the stream,
    // and what was streamed before it reaches the host before the error does.
    let body = delta_event(json!({"content": "<thi"})) + "event: error\ndata: gone\n\n";
    let items = decode_whole(&model(), body.as_bytes());
    let [Ok(ApiChunk::Text(text)), Err(Error::Server(error))] = items.as_slice() else {
        panic!("{items:?}");
    };
    assert_eq!((text.as_str(), error.message.as_str()), ("<thi", "gone"));
}

// ---- Anything at all ---------------------------------------------------------------------------

/// Chunks and the kind of error that ended the stream, to compare two decodings.
fn outcome(items: Vec<Result<ApiChunk, Error>>) -> (Vec<ApiChunk>, Option<String>) {
    let mut chunks = Vec::new();
    let mut error = None;
    for item in items {
        match item {
            Ok(ApiChunk::ToolCall(call)) if is_made_up_call_id(&call.id) => {
                // Made-up ids differ from run to run by design.
                chunks.push(ApiChunk::ToolCall(fireworks_provider::ToolCall {
                    id: String::new(),
                    ..call
                }))
            }
            Ok(chunk) => chunks.push(chunk),
            Err(err) => {
                let kind = match &err {
                    Error::Server(api) => format!("server: {}", api.message),
                    other => format!("{:?}", std::mem::discriminant(other)),
                };
                error = Some(kind);
            }
        }
    }
    (chunks, error)
}

/// `body` cut at the given points (taken modulo its length).
fn cut(body: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
    points.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for point in points.into_iter().chain([body.len()]) {
        pieces.push(body[start..point].to_vec());
        start = point;
    }
    pieces
}

/// Decodes `body` whole and cut at `cuts`; both must agree. Returns the outcome.
fn decode_both_ways(body: &[u8], cuts: &[usize]) -> (Vec<ApiChunk>, Option<String>) {
    let whole = outcome(decode_whole(&model(), body));
    let pieces = cut(body, cuts);
    let pieces: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
    assert_eq!(outcome(decode_pieces(&model(), &pieces)), whole);
    whole
}

/// Pieces of event streams, well-formed and not, to build bodies from.
fn stream_piece() -> impl Strategy<Value = Vec<u8>> {
    let snippets: Vec<&'static [u8]> = vec![
        b"data: ",
        b"data:",
        b"event: error\n",
        b"\n",
        b"\r",
        b"\r\n",
        b"\n\n",
        b": keep-alive\n",
        b"\xEF\xBB\xBF",
        b"[DONE]",
        br#"{"choices":[{"index":0,"delta":{"content":""#,
        br#"{"choices":[{"delta":{"reasoning":""#,
        br#"{"choices":[{"delta":{"tool_calls":[{"index":"#,
        br#"{"choices":[{"delta":{"tool_calls":[{"id":"x","function":{"arguments":"a"}}]}}]}"#,
        b"4294967295",
        b"0",
        br#","function":{"name":"f","arguments":"{"}}]}}]}"#,
        br#""}}]}"#,
        br#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#,
        br#"{"error":{"message":"boom"}}"#,
        b"<think>",
        b"</think>",
        b"\xFF",
        "é".as_bytes(),
    ];
    prop_oneof![
        4 => prop::sample::select(snippets).prop_map(<[u8]>::to_vec),
        1 => prop::collection::vec(any::<u8>(), 0..8),
    ]
}

/// A damage done to a recorded body: at a place, insert, delete or overwrite bytes that matter
/// to the formats.
fn damage() -> impl Strategy<Value = (prop::sample::Index, u8, Vec<u8>)> {
    let bytes = prop_oneof![
        prop::sample::select(b"{}[]\":,\\0123456789-\n\r \xEF\xBB\xBF\xFF".to_vec())
            .prop_map(|b| vec![b]),
        prop::sample::select(vec![
            &b"4294967295"[..],
            b"-1",
            b"null",
            b"event: error\n",
            b"data:\n\n",
            b"\xEF\xBB\xBF",
            br#""index":"#,
            br#""reasoning":"r","#,
        ])
        .prop_map(<[u8]>::to_vec),
    ];
    (any::<prop::sample::Index>(), 0u8..3, bytes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Bodies made of event-stream pieces and random bytes: no panic, and the same chunks and
    /// error however the network cuts the body.
    #[test]
    fn any_bytes_decode_without_panic_and_however_they_are_cut(
        body in prop::collection::vec(stream_piece(), 0..40).prop_map(|pieces| pieces.concat()),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        decode_both_ways(&body, &cuts);
    }

    /// Recorded bodies damaged in a few places: no panic, the same outcome however they are
    /// cut, and every chunk the undamaged events before the first damage gave is still there,
    /// first, whatever the damage did after them.
    #[test]
    fn damaged_recordings_keep_what_came_before_the_damage(
        which in any::<prop::sample::Index>(),
        damages in prop::collection::vec(damage(), 1..4),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let bodies = recorded_bodies();
        let mut body = which.get(&bodies).clone();
        let mut first_damage = body.len();
        for (at, kind, bytes) in damages {
            let at = at.index(body.len() + 1);
            first_damage = first_damage.min(at);
            match kind {
                0 => drop(body.splice(at..at, bytes)),
                1 => drop(body.drain(at..(at + bytes.len()).min(body.len()))),
                _ => drop(body.splice(at..(at + bytes.len()).min(body.len()), bytes)),
            }
        }
        let (chunks, _error) = decode_both_ways(&body, &cuts);
        // The whole events before the first damage, pushed without ending the body.
        let intact = body[..first_damage]
            .windows(2)
            .rposition(|pair| pair == b"\n\n")
            .map_or(0, |at| at + 2);
        let mut decoder = fireworks_provider::StreamDecoder::new(&model());
        let mut before = Vec::new();
        let _ = decoder.push(&body[..intact], &mut before);
        let (before, _) = outcome(before.into_iter().map(Ok).collect());
        prop_assert!(
            chunks.starts_with(&before),
            "{:?}\nis not kept at the start of\n{:?}", before, chunks
        );
    }

    /// Tool-call fragments with hostile indexes (the largest ones, missing ones, descending
    /// runs): no panic; the stream either ends well or with a decode error; ids never repeat.
    #[test]
    fn hostile_tool_call_indexes_never_panic(
        fragments in prop::collection::vec(
            (
                prop_oneof![
                    Just(Some(u32::MAX)),
                    Just(Some(u32::MAX - 1)),
                    (0u32..3).prop_map(Some),
                    any::<u32>().prop_map(Some),
                    Just(None),
                ],
                prop::option::of(prop::sample::select(vec!["", "a", "b"])),
            ),
            0..24,
        ),
        descending_run in 0usize..40,
    ) {
        let mut body = String::new();
        for index in (0..descending_run).rev() {
            body += &delta_event(json!({"tool_calls": [{"index": index, "function": {"name": "f"}}]}));
        }
        for (index, id) in fragments {
            let mut call = json!({"function": {"arguments": "{}"}});
            if let Some(index) = index {
                call["index"] = json!(index);
            }
            if let Some(id) = id {
                call["id"] = json!(id);
            }
            body += &delta_event(json!({"tool_calls": [call]}));
        }
        body += &finish_events("tool_calls");
        let (mut calls, mut made_up_ids) = (0, HashSet::new());
        for item in decode_whole(&model(), body.as_bytes()) {
            match item {
                Ok(ApiChunk::ToolCall(call)) => {
                    calls += 1;
                    if is_made_up_call_id(&call.id) {
                        prop_assert!(made_up_ids.insert(call.id));
                    }
                }
                Ok(_) | Err(Error::Decode { .. }) => {}
                Err(other) => prop_assert!(false, "{:?}", other),
            }
        }
        prop_assert!(calls <= MAX_TOOL_CALLS);
    }
}
