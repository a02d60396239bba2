//! A server that is merely different, or hostile: the decoder never panics (these tests run with
//! overflow checks on), bounds what it holds, never repeats an id it makes up, and reads the
//! error shapes other servers send, after every chunk decoded before them.

mod support;

use std::collections::HashSet;

use fireworks_provider::{ApiChunk, Error, MAX_TOOL_CALLS, ModelInfo};
use serde_json::{Value, json};
use support::{decode_whole, is_made_up_call_id};

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
    let [Ok(ApiChunk::Text(text)), Err(Error::Decode { message })] = items.as_slice() else {
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
