//! What the integration tests share: the loopback server, the scripted transport's setup, the
//! recorded fixtures, and reading a finished stream.

pub mod gzip;
pub mod log;
pub mod server;

use std::time::Duration;

use fireworks_provider::{
    ApiChunk, Error, ModelInfo, ScriptedReply, ScriptedTransport, StreamDecoder,
};

/// A transport that plays `replies` in order.
pub fn transport(replies: impl IntoIterator<Item = ScriptedReply>) -> ScriptedTransport {
    let transport = ScriptedTransport::new();
    replies.into_iter().for_each(|reply| transport.push(reply));
    transport
}

/// `reply` with `body` sent one byte at a time, `pause` before each byte: a server that
/// trickles its answer.
pub fn trickle(mut reply: ScriptedReply, body: &[u8], pause: Duration) -> ScriptedReply {
    for byte in body {
        reply = reply.pause(pause).with_body(vec![*byte]);
    }
    reply
}

/// `reply` sending `piece` every `pause` for `times` rounds.
pub fn every(
    mut reply: ScriptedReply,
    pause: Duration,
    piece: &'static [u8],
    times: usize,
) -> ScriptedReply {
    for _ in 0..times {
        reply = reply.pause(pause).with_body(piece);
    }
    reply
}

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
    decode_pieces(model, &[body])
}

/// What a fresh decoder gives for a body that arrives in `pieces`, as the items of a stream:
/// the chunks, then the error that ended it, if any (nothing is fed after an error).
pub fn decode_pieces(model: &ModelInfo, pieces: &[&[u8]]) -> Vec<Result<ApiChunk, Error>> {
    decode_with(StreamDecoder::new(model), pieces)
}

/// The same with a decoder set up by the caller.
pub fn decode_with(mut decoder: StreamDecoder, pieces: &[&[u8]]) -> Vec<Result<ApiChunk, Error>> {
    let mut chunks = Vec::new();
    let result = pieces
        .iter()
        .try_for_each(|piece| decoder.push(piece, &mut chunks))
        .and_then(|()| decoder.finish(&mut chunks));
    let mut items: Vec<_> = chunks.into_iter().map(Ok).collect();
    items.extend(result.err().map(Err));
    items
}

/// Whether `id` has the documented shape of a made-up tool-call id, `call_<16 hex>_<n>`.
pub fn is_made_up_call_id(id: &str) -> bool {
    let Some((tag, n)) = id
        .strip_prefix("call_")
        .and_then(|rest| rest.split_once('_'))
    else {
        return false;
    };
    tag.len() == 16
        && tag.bytes().all(|b| b.is_ascii_hexdigit())
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
}

/// The usage a stream reported, if any.
pub fn usage(items: &[Result<ApiChunk, Error>]) -> Option<fireworks_provider::Usage> {
    items.iter().find_map(|item| match item {
        Ok(ApiChunk::Usage(usage)) => Some(usage.clone()),
        _ => None,
    })
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
