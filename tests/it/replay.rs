//! Replays every recorded stream in tests/fixtures/stream (Fireworks and hostile shapes) and
//! tests/fixtures/servers (other OpenAI-compatible servers, see the README there) through the
//! sans-IO decoder, cut in every way the network could cut it, and checks the chunks against
//! the fixture's expectation.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use std::collections::BTreeMap;

use crate::support::{decode_pieces, decode_with, is_made_up_call_id};
use fireworks_provider::{
    ApiChunk, ContentBlock, Error, FinishReason, Message, ModelInfo, PerfMetrics, ReasoningStyle,
    StreamDecoder, ToolCall, Turn, Usage, lookup_model,
};
use serde_json::Value;

/// What an expected tool call with `"id": null` stands for: an id the crate made up (its shape
/// and uniqueness are checked before the comparison).
const MADE_UP_ID: &str = "<made up>";

struct Fixture {
    name: String,
    body: Vec<u8>,
    model: ModelInfo,
    chunks: Vec<ApiChunk>,
    error: Option<String>,
}

fn load_fixtures() -> Vec<Fixture> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut fixtures = Vec::new();
    for dir in ["stream", "servers"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|ext| ext != "sse") {
                continue;
            }
            let stem = path.file_stem().unwrap().to_string_lossy();
            let name = format!("{dir}/{stem}");
            let expected: Value = serde_json::from_slice(
                &std::fs::read(path.with_extension("expected.json")).unwrap(),
            )
            .unwrap();
            let id = expected["model"].as_str().unwrap();
            let mut model = lookup_model(id).unwrap_or_else(|| ModelInfo::unknown(id));
            if expected["starts_in_reasoning"].as_bool() == Some(true) {
                model.reasoning = ReasoningStyle::StartsInReasoning;
            }
            fixtures.push(Fixture {
                body: std::fs::read(&path).unwrap(),
                chunks: expected["chunks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(expected_chunk)
                    .collect(),
                error: expected["error"].as_str().map(str::to_owned),
                name,
                model,
            });
        }
    }
    fixtures.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(fixtures.len() >= 40, "fixtures missing");
    fixtures
}

fn expected_chunk(value: &Value) -> ApiChunk {
    let (key, value) = value.as_object().unwrap().iter().next().unwrap();
    let text = || value.as_str().unwrap().to_owned();
    match key.as_str() {
        "text" => ApiChunk::Text(text()),
        "reasoning" => ApiChunk::Reasoning(text()),
        "tool_call" => ApiChunk::ToolCall(ToolCall {
            id: value["id"].as_str().unwrap_or(MADE_UP_ID).into(),
            name: value["name"].as_str().unwrap().into(),
            arguments: value["arguments"].as_str().unwrap().into(),
        }),
        "usage" => {
            let count = |name: &str| value[name].as_u64().unwrap();
            let mut usage = Usage::new(count("input_tokens"), count("output_tokens"))
                .with_cache_read_tokens(count("cache_read_tokens"));
            usage.reasoning_tokens = value["reasoning_tokens"].as_u64();
            if let Some(times) = value.get("perf_metrics_ms") {
                let time = |name: &str| times[name].as_u64().map(Duration::from_millis);
                let mut metrics = PerfMetrics::new();
                metrics.server_time_to_first_token = time("server_time_to_first_token");
                metrics.server_processing_time = time("server_processing_time");
                usage = usage.with_perf_metrics(metrics);
            }
            ApiChunk::Usage(usage)
        }
        "finish" => ApiChunk::Finish(match value {
            Value::String(reason) => FinishReason::from_wire(reason),
            other => FinishReason::Other(other["other"].as_str().unwrap().into()),
        }),
        other => panic!("unknown expected chunk {other}"),
    }
}

/// Feeds `pieces` to a fresh decoder; returns the chunks (adjacent text and reasoning merged,
/// cost left out: the cost tests check it; made-up tool-call ids checked, then written as
/// [`MADE_UP_ID`]) and the error kind that ended the stream, if any.
fn decode(model: &ModelInfo, pieces: &[&[u8]]) -> (Vec<ApiChunk>, Option<String>) {
    let mut chunks = Vec::new();
    let mut error = None;
    for item in decode_pieces(model, pieces) {
        match item {
            Ok(chunk) => chunks.push(chunk),
            Err(err) => error = Some(error_kind(&err).to_owned()),
        }
    }
    (merge(chunks), error)
}

fn error_kind(error: &Error) -> &'static str {
    match error {
        Error::StreamInterrupted { .. } => "stream_interrupted",
        Error::Decode { .. } => "decode",
        Error::Server(api) if api.status.is_none() => "server_event",
        other => panic!("unexpected error {other:?}"),
    }
}

fn merge(chunks: Vec<ApiChunk>) -> Vec<ApiChunk> {
    let mut merged: Vec<ApiChunk> = Vec::new();
    let mut made_up_ids = HashSet::new();
    for chunk in chunks {
        match (merged.last_mut(), chunk) {
            (_, ApiChunk::ToolCall(call)) if is_made_up_call_id(&call.id) => {
                assert!(made_up_ids.insert(call.id), "a made-up id repeated");
                merged.push(ApiChunk::ToolCall(ToolCall {
                    id: MADE_UP_ID.into(),
                    ..call
                }));
            }
            (Some(ApiChunk::Text(prev)), ApiChunk::Text(next))
            | (Some(ApiChunk::Reasoning(prev)), ApiChunk::Reasoning(next)) => prev.push_str(&next),
            (_, ApiChunk::Usage(mut usage)) => {
                usage.total_cost = None;
                merged.push(ApiChunk::Usage(usage));
            }
            (_, chunk) => merged.push(chunk),
        }
    }
    merged
}

fn check(fixture: &Fixture, how: &str, pieces: &[&[u8]]) {
    let (chunks, error) = decode(&fixture.model, pieces);
    assert_eq!(chunks, fixture.chunks, "{} ({how})", fixture.name);
    assert_eq!(error, fixture.error, "{} ({how})", fixture.name);
}

#[test]
fn every_fixture_decodes_whole_to_its_expected_chunks() {
    for fixture in load_fixtures() {
        check(&fixture, "whole body", &[&fixture.body]);
    }
}

#[test]
fn every_fixture_decodes_one_byte_at_a_time() {
    for fixture in load_fixtures() {
        let bytes: Vec<&[u8]> = fixture.body.chunks(1).collect();
        check(&fixture, "byte by byte", &bytes);
    }
}

#[test]
fn every_fixture_decodes_at_every_split_point() {
    for fixture in load_fixtures() {
        for cut in 0..=fixture.body.len() {
            let (head, tail) = fixture.body.split_at(cut);
            check(&fixture, &format!("cut at {cut}"), &[head, tail]);
        }
    }
}

#[test]
fn every_fixture_decodes_in_seeded_random_chunk_sizes() {
    // A small xorshift generator: the same seeds give the same cuts on every run.
    for seed in 1..=40u64 {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for fixture in load_fixtures() {
            let mut pieces = Vec::new();
            let mut rest = fixture.body.as_slice();
            while !rest.is_empty() {
                let size = (1 + next() % 300) as usize;
                let (piece, tail) = rest.split_at(size.min(rest.len()));
                pieces.push(piece);
                rest = tail;
            }
            check(&fixture, &format!("seed {seed}"), &pieces);
        }
    }
}

#[test]
fn usage_carries_the_cost_at_the_model_prices() {
    // gpt-oss-120b: $0.15 input, $0.60 output, $0.015 cached input per million tokens.
    let fixture = load_fixtures()
        .into_iter()
        .find(|f| f.name == "stream/usage_separate_chunk")
        .unwrap();
    let mut decoder = StreamDecoder::new(&fixture.model);
    let mut chunks = Vec::new();
    decoder.push(&fixture.body, &mut chunks).unwrap();
    decoder.finish(&mut chunks).unwrap();
    let usage = chunks
        .iter()
        .find_map(|c| match c {
            ApiChunk::Usage(u) => Some(u.clone()),
            _ => None,
        })
        .unwrap();
    assert!(usage.cache_read_tokens > 0);
    let uncached = (usage.input_tokens - usage.cache_read_tokens) as f64;
    let expected = (uncached * 0.15
        + usage.cache_read_tokens as f64 * 0.015
        + usage.output_tokens as f64 * 0.60)
        / 1e6;
    let cost = usage.total_cost.expect("known prices give a cost");
    assert!((cost - expected).abs() < 1e-12, "{cost} vs {expected}");
}

/// What a host appends to the conversation for each fixture: its chunks as one assistant
/// message (reasoning, text and tool uses in order, adjacent pieces merged), its raw calls, its
/// usage and finish reason; a fixture that ends in an error gives that error.
#[test]
fn every_fixture_collects_into_the_turn_its_chunks_describe() {
    for fixture in load_fixtures() {
        let name = &fixture.name;
        let items = decode_pieces(&fixture.model, &[&fixture.body]);
        let calls: Vec<ToolCall> = items
            .iter()
            .filter_map(|item| match item {
                Ok(ApiChunk::ToolCall(call)) => Some(call.clone()),
                _ => None,
            })
            .collect();
        let turn = futures::executor::block_on(Turn::collect(futures::stream::iter(items)));
        if let Some(kind) = &fixture.error {
            let error = turn.expect_err(name);
            assert_eq!(error_kind(&error), kind, "{name}");
            continue;
        }
        let turn = turn.unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(turn.tool_calls, calls, "{name}");
        let mut calls = calls.iter();
        let mut content = Vec::new();
        let (mut usage, mut finish) = (None, None);
        for chunk in &fixture.chunks {
            match chunk.clone() {
                ApiChunk::Text(text) => content.push(ContentBlock::Text { text }),
                ApiChunk::Reasoning(text) => content.push(ContentBlock::Reasoning { text }),
                ApiChunk::ToolCall(expected) => {
                    let id = calls.next().expect("as many calls").id.clone();
                    let input = match serde_json::from_str::<Value>(&expected.arguments) {
                        _ if expected.arguments.is_empty() => serde_json::json!({}),
                        Ok(parsed) if !parsed.is_string() => parsed,
                        _ => Value::String(expected.arguments.clone()),
                    };
                    let name = expected.name;
                    content.push(ContentBlock::ToolUse { id, name, input });
                }
                ApiChunk::Usage(expected) => usage = Some(expected),
                ApiChunk::Finish(reason) => finish = Some(reason),
                other => panic!("{name}: unexpected {other:?}"),
            }
        }
        let expected = Message {
            role: fireworks_provider::Role::Assistant,
            content,
        };
        assert_eq!(turn.message, expected, "{name}");
        let without_cost = turn.usage.map(|mut usage| {
            usage.total_cost = None;
            usage
        });
        assert_eq!(without_cost, usage, "{name}");
        assert_eq!(Some(turn.finish), finish, "{name}");
    }
}

/// With deltas on, every tool call also streams as pieces: its id and name on the first, and
/// argument pieces that add up to the complete call's arguments, however the body is cut; and
/// nothing else in the stream changes.
#[test]
fn tool_call_deltas_add_up_to_each_call_at_every_split_point() {
    let with_calls: Vec<Fixture> = load_fixtures()
        .into_iter()
        .filter(|f| f.chunks.iter().any(|c| matches!(c, ApiChunk::ToolCall(_))))
        .collect();
    assert!(with_calls.len() >= 8, "tool fixtures missing");
    for fixture in &with_calls {
        for cut in 0..=fixture.body.len() {
            let (head, tail) = fixture.body.split_at(cut);
            let how = format!("{} (cut at {cut})", fixture.name);
            let decoder = StreamDecoder::new(&fixture.model).with_tool_call_deltas(true);
            let items = decode_with(decoder, &[head, tail]);
            // index → (id, name, arguments so far)
            let mut streamed: BTreeMap<u32, (String, String, String)> = BTreeMap::new();
            let mut others = Vec::new();
            for item in items {
                match item {
                    Ok(ApiChunk::ToolCallDelta {
                        index,
                        id,
                        name,
                        arguments,
                    }) => match streamed.get_mut(&index) {
                        None => {
                            let id = id.unwrap_or_else(|| panic!("{how}: no id first"));
                            streamed.insert(index, (id, name.unwrap_or_default(), arguments));
                        }
                        Some(call) => {
                            assert!(id.is_none() && name.is_none(), "{how}: id twice");
                            call.2.push_str(&arguments);
                        }
                    },
                    Ok(ApiChunk::ToolCall(call)) => {
                        let piece = streamed.values().find(|(id, ..)| *id == call.id);
                        let (_, name, arguments) =
                            piece.unwrap_or_else(|| panic!("{how}: {} never streamed", call.id));
                        assert_eq!((name, arguments), (&call.name, &call.arguments), "{how}");
                        others.push(Ok(ApiChunk::ToolCall(call)));
                    }
                    other => others.push(other),
                }
            }
            let plain = decode_pieces(&fixture.model, &[head, tail]);
            assert_eq!(
                format!("{:?}", strip_made_up_ids(others)),
                format!("{:?}", strip_made_up_ids(plain)),
                "{how}"
            );
        }
    }
}

/// The items with made-up ids (which differ from run to run) written as [`MADE_UP_ID`].
fn strip_made_up_ids(items: Vec<Result<ApiChunk, Error>>) -> Vec<Result<ApiChunk, Error>> {
    items
        .into_iter()
        .map(|item| match item {
            Ok(ApiChunk::ToolCall(call)) if is_made_up_call_id(&call.id) => {
                Ok(ApiChunk::ToolCall(ToolCall {
                    id: MADE_UP_ID.into(),
                    ..call
                }))
            }
            other => other,
        })
        .collect()
}
