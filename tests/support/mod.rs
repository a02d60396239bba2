//! What the integration tests share: the loopback server, the recorded fixtures, and reading a
//! finished stream.
#![allow(dead_code)] // each test file uses a part

pub mod server;

use fireworks_provider::{ApiChunk, Error, ModelInfo, StreamDecoder};

/// The recorded body `tests/fixtures/stream/<name>.sse`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/stream/{name}.sse",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// The events of an LF-framed body, each with its data line and blank line.
pub fn events(body: &[u8]) -> Vec<Vec<u8>> {
    body.split_inclusive(|b| *b == b'\n')
        .collect::<Vec<_>>()
        .chunks(2)
        .map(|pair| pair.concat())
        .collect()
}

/// What decoding `body` whole gives, as the items of a stream.
pub fn decode_whole(model: &ModelInfo, body: &[u8]) -> Vec<Result<ApiChunk, Error>> {
    let mut decoder = StreamDecoder::new(model);
    let mut chunks = Vec::new();
    let result = decoder
        .push(body, &mut chunks)
        .and_then(|()| decoder.finish(&mut chunks));
    let mut items: Vec<_> = chunks.into_iter().map(Ok).collect();
    items.extend(result.err().map(Err));
    items
}

/// The reasoning and the answer text of a stream's items, each joined.
pub fn texts(items: &[Result<ApiChunk, Error>]) -> (String, String) {
    let (mut reasoning, mut text) = (String::new(), String::new());
    for item in items {
        match item {
            Ok(ApiChunk::Reasoning(r)) => reasoning.push_str(r),
            Ok(ApiChunk::Text(t)) => text.push_str(t),
            _ => {}
        }
    }
    (reasoning, text)
}
