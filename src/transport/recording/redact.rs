//! Keeping secrets out of a recording: which request headers are secret, and replacing a
//! secret's text wherever it shows up in what is written, including in a body that arrives in
//! pieces with a secret cut across two of them.

use memchr::memmem;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, PROXY_AUTHORIZATION};

use crate::fireworks::cache::CACHE_ISOLATION_HEADER;

/// What a secret is replaced by.
pub(super) const REDACTED: &str = "[REDACTED]";

/// Shorter values are not searched for: they would match ordinary text, and a key that short
/// is no secret.
const MIN_SECRET_BYTES: usize = 8;

/// Whether a request header's value must not be written: the key, the isolation key, and
/// every value marked sensitive.
pub(super) fn is_secret_header(name: &HeaderName, value: &HeaderValue) -> bool {
    value.is_sensitive()
        || name == AUTHORIZATION
        || name == PROXY_AUTHORIZATION
        || name.as_str() == CACHE_ISOLATION_HEADER
}

/// The texts of one request's secrets, longest first.
#[derive(Debug, Clone, Default)]
pub(super) struct Secrets(Vec<Vec<u8>>);

impl Secrets {
    /// The secrets among `headers`: each secret header's value, and for `Authorization` the
    /// credential after its scheme (the bare key of `Bearer <key>`).
    pub(super) fn of_request(headers: &HeaderMap) -> Self {
        let mut secrets = Vec::new();
        for (name, value) in headers {
            if !is_secret_header(name, value) {
                continue;
            }
            let value = value.as_bytes();
            secrets.push(value.to_vec());
            let credentials = name == AUTHORIZATION || name == PROXY_AUTHORIZATION;
            if credentials && let Some(space) = memchr::memchr(b' ', value) {
                secrets.push(value[space + 1..].trim_ascii().to_vec());
            }
        }
        secrets.retain(|secret| secret.len() >= MIN_SECRET_BYTES);
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets.dedup();
        Secrets(secrets)
    }

    /// `text` with every secret replaced.
    pub(super) fn redact(&self, text: &str) -> String {
        let mut out = Vec::with_capacity(text.len());
        let end = self.redact_into(text.as_bytes(), &mut out);
        out.extend_from_slice(&text.as_bytes()[end..]);
        // Only whole secrets (valid UTF-8 header values) were replaced by ASCII.
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Copies `bytes` to `out` up to the end of the last secret in it, each secret replaced;
    /// returns that index (0 when there is none), so that the caller decides about the rest.
    fn redact_into(&self, bytes: &[u8], out: &mut Vec<u8>) -> usize {
        let mut at = 0;
        while let Some((start, len)) = self.first_match(&bytes[at..]) {
            out.extend_from_slice(&bytes[at..at + start]);
            out.extend_from_slice(REDACTED.as_bytes());
            at += start + len;
        }
        at
    }

    /// Where the first secret in `bytes` starts and how long it is (the longest one if several
    /// start there).
    fn first_match(&self, bytes: &[u8]) -> Option<(usize, usize)> {
        let mut first: Option<(usize, usize)> = None;
        for secret in &self.0 {
            if let Some(start) = memmem::find(bytes, secret)
                && first.is_none_or(|(earliest, _)| start < earliest)
            {
                first = Some((start, secret.len()));
            }
        }
        first
    }

    fn longest(&self) -> usize {
        self.0.first().map_or(0, Vec::len)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Redacts a body that arrives in pieces. It holds back at most the longest secret's length
/// less one byte (a secret could start there and end in the next piece); everything before
/// that is written at once.
#[derive(Debug)]
pub(super) struct StreamRedactor {
    secrets: Secrets,
    held: Vec<u8>,
}

impl StreamRedactor {
    pub(super) fn new(secrets: Secrets) -> Self {
        StreamRedactor {
            secrets,
            held: Vec::new(),
        }
    }

    /// Appends to `out` what of the body so far can be written, `piece` included.
    pub(super) fn push(&mut self, piece: &[u8], out: &mut Vec<u8>) {
        if self.secrets.is_empty() {
            out.extend_from_slice(piece);
            return;
        }
        self.held.extend_from_slice(piece);
        let done = self.secrets.redact_into(&self.held, out);
        let keep = self.secrets.longest() - 1;
        let safe = self.held.len().saturating_sub(keep).max(done);
        out.extend_from_slice(&self.held[done..safe]);
        self.held.drain(..safe);
    }

    /// Appends to `out` the bytes still held back, at the body's end.
    pub(super) fn finish(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.held);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Bearer fw_secret_key_123"),
        );
        let mut tenant = HeaderValue::from_static("tenant-token-xyz");
        tenant.set_sensitive(true);
        headers.insert("x-tenant", tenant);
        headers.insert(
            CACHE_ISOLATION_HEADER,
            HeaderValue::from_static("iso-key-42"),
        );
        headers.insert("x-short", {
            let mut short = HeaderValue::from_static("abc");
            short.set_sensitive(true);
            short
        });
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        Secrets::of_request(&headers)
    }

    #[test]
    fn finds_the_key_the_sensitive_values_and_the_isolation_key() {
        let text = "k=fw_secret_key_123 t=tenant-token-xyz i=iso-key-42 abc application/json";
        assert_eq!(
            secrets().redact(text),
            "k=[REDACTED] t=[REDACTED] i=[REDACTED] abc application/json"
        );
    }

    #[test]
    fn a_secret_cut_across_pieces_is_still_replaced() {
        let body = b"data: {\"echo\":\"fw_secret_key_123\"}\n\ndata: iso-key-42 end\n\n";
        for size in 1..body.len() {
            let mut redactor = StreamRedactor::new(secrets());
            let mut out = Vec::new();
            for piece in body.chunks(size) {
                redactor.push(piece, &mut out);
            }
            redactor.finish(&mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                "data: {\"echo\":\"[REDACTED]\"}\n\ndata: [REDACTED] end\n\n",
                "pieces of {size}"
            );
        }
    }

    #[test]
    fn holds_back_no_more_than_a_secret_could_need() {
        let mut redactor = StreamRedactor::new(secrets());
        let mut out = Vec::new();
        redactor.push(&[b'x'; 100], &mut out);
        assert_eq!(out.len(), 100 - ("Bearer fw_secret_key_123".len() - 1));
    }
}
