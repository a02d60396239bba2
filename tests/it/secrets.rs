//! A server that echoes the key (or a sensitive header, or the cache isolation key) in whatever
//! it sends back: no error's `Display` or `Debug`, no `Retrying` chunk and no log line, at any
//! level, holds it. What was cut out shows as `[REDACTED]`.

use std::time::Duration;

use crate::support::log::{self, CapturedLog};
use crate::support::server::{Reply, TestServer};
use fireworks_provider::{
    ApiChunk, ChatRequest, Error, FireworksProvider, FireworksSettings, LlmProvider, Message,
    REDACTED, RetryPolicy,
};
use futures::StreamExt;
use tracing_subscriber::fmt::format::FmtSpan;

const KEY: &str = "fw_echoed_key_7f3a9c";
const GATEWAY_TOKEN: &str = "gw-token-41d2";
const ISOLATION_KEY: &str = "tenant-isolation-88b1";
const SECRETS: [&str; 3] = [KEY, GATEWAY_TOKEN, ISOLATION_KEY];

/// Captures every level, span openings and closings included.
fn capture_every_level() -> (CapturedLog, tracing::subscriber::DefaultGuard) {
    log::capture(tracing::Level::TRACE, FmtSpan::FULL)
}

fn provider(server: &TestServer) -> FireworksProvider {
    FireworksProvider::new(
        FireworksSettings::new(KEY, "accounts/fireworks/models/llama-v3p3-70b-instruct")
            .with_base_url(server.base_url())
            .with_header("x-gateway-token", GATEWAY_TOKEN)
            .with_cache_isolation_key(ISOLATION_KEY)
            .with_retry_policy(
                RetryPolicy::default()
                    .with_max_attempts(2)
                    .with_base_delay(Duration::from_millis(1))
                    .with_max_delay(Duration::from_millis(1)),
            ),
    )
    .unwrap()
}

/// Everything a host could show of these items: each chunk's and error's `Debug`, and each
/// error's `Display`.
fn shown(items: &[Result<ApiChunk, Error>]) -> String {
    items
        .iter()
        .map(|item| match item {
            Ok(chunk) => format!("{chunk:?}\n"),
            Err(error) => format!("{error}\n{error:?}\n"),
        })
        .collect()
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(
            !text.contains(secret),
            "{what}: {secret} leaked in:\n{text}"
        );
    }
}

/// A server message quoting every secret, as a gateway might.
fn echo() -> String {
    format!("invalid token Bearer {KEY} (gateway {GATEWAY_TOKEN}, tenant {ISOLATION_KEY})")
}

/// Each way a server can answer with the secrets in its words: the first reply is retried (the
/// `Retrying` chunk quotes it), the second ends the stream.
fn echoing_replies() -> Vec<(&'static str, Vec<Reply>)> {
    let json_error = |status: u16| {
        let body = serde_json::json!({
            "error": {"message": echo(), "code": KEY, "type": GATEWAY_TOKEN},
            "request_id": ISOLATION_KEY,
        });
        Reply::json(status, body.to_string())
    };
    let event = |data: String| Reply::sse(format!("data: {data}\n\n"));
    vec![
        ("auth", vec![json_error(503), json_error(401)]),
        ("model not found", vec![json_error(500), json_error(404)]),
        ("invalid request", vec![json_error(502), json_error(422)]),
        ("rate limited", vec![json_error(429), json_error(429)]),
        ("server", vec![json_error(500), json_error(500)]),
        (
            "raw body",
            vec![
                Reply::json(502, format!("<html>{}</html>", echo())),
                Reply::json(400, echo()),
            ],
        ),
        (
            "redirect",
            vec![Reply::redirect(
                302,
                &format!("https://gw.example/?key={KEY}&t={GATEWAY_TOKEN}"),
            )],
        ),
        (
            "json in place of the stream",
            vec![json_error(200), json_error(200)],
        ),
        (
            "error event",
            vec![
                json_error(503),
                event(serde_json::json!({"error": {"message": echo()}}).to_string()),
            ],
        ),
        (
            "named error event",
            vec![Reply::sse(format!("event: error\ndata: {}\n\n", echo()))],
        ),
        (
            "undecodable event",
            vec![event(format!(
                r#"{{"choices":[{{"delta":{{"content":5,"k":"{KEY}"}}}}]}}"#
            ))],
        ),
    ]
}

#[tokio::test]
async fn an_echoed_key_is_redacted_from_errors_retry_notices_and_logs() {
    for (case, replies) in echoing_replies() {
        let (captured, _guard) = capture_every_level();
        let server = TestServer::start(replies).await;
        let items: Vec<_> = provider(&server)
            .create_message(ChatRequest::new("", vec![Message::user("hi")]))
            .collect()
            .await;
        assert!(
            matches!(items.last(), Some(Err(_))),
            "{case}: the stream ends with the error: {items:?}"
        );
        let shown = shown(&items);
        assert_no_secret(case, &shown);
        assert!(
            shown.contains(REDACTED),
            "{case}: nothing was redacted:\n{shown}"
        );
        let log = captured.text();
        assert!(log.contains("completion failed"), "{case}: {log}");
        assert_no_secret(case, &log);
    }
}

#[tokio::test]
async fn the_retry_notice_quotes_the_server_without_the_key() {
    let server = TestServer::start(echoing_replies().remove(0).1).await;
    let items: Vec<_> = provider(&server)
        .create_message(ChatRequest::new("", vec![Message::user("hi")]))
        .collect()
        .await;
    match &items[0] {
        Ok(ApiChunk::Retrying { reason, .. }) => assert_eq!(
            reason,
            &format!(
                "server error: HTTP 503: invalid token Bearer {REDACTED} (gateway {REDACTED}, \
                 tenant {REDACTED}) (request id {REDACTED})"
            )
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_finish_reason_echoing_the_key_is_redacted_from_the_chunk_and_the_span() {
    let (captured, _guard) = capture_every_level();
    let body = format!(
        "data: {{\"choices\":[{{\"delta\":{{}},\"finish_reason\":\"{KEY}\"}}]}}\n\ndata: [DONE]\n\n"
    );
    let server = TestServer::start(vec![Reply::sse(body)]).await;
    let items: Vec<_> = provider(&server)
        .create_message(ChatRequest::new("", vec![Message::user("hi")]))
        .collect()
        .await;
    assert!(
        matches!(&items[..], [Ok(ApiChunk::Finish(fireworks_provider::FinishReason::Other(reason)))] if reason == REDACTED),
        "{items:?}"
    );
    let log = captured.text();
    assert!(
        log.contains("gen_ai.response.finish_reasons=\"other\""),
        "{log}"
    );
    assert_no_secret("finish reason", &log);
}

#[tokio::test]
async fn list_models_and_embeddings_redact_an_echoed_key() {
    let (captured, _guard) = capture_every_level();
    let body = serde_json::json!({"error": {"message": echo()}}).to_string();
    let server = TestServer::start(vec![
        Reply::json(503, body.clone()),
        Reply::json(401, body),
        // A listing whose unexpected value serde quotes in its error.
        Reply::json(
            200,
            format!(r#"{{"data":[{{"id":1,"context_length":"{KEY}"}}]}}"#),
        ),
        Reply::json(
            200,
            format!(r#"{{"data":[{{"index":0,"embedding":"{KEY}"}}]}}"#),
        ),
    ])
    .await;
    let provider = provider(&server);
    let listing = provider.list_models().await.unwrap_err();
    let decode = provider.list_models().await.unwrap_err();
    let embedding = provider
        .embedder("nomic-ai/nomic-embed-text-v1.5")
        .embed(&["x".to_owned()])
        .await
        .unwrap_err();
    for error in [listing, decode, embedding] {
        let shown = format!("{error}\n{error:?}");
        assert_no_secret("non-streaming call", &shown);
    }
    let log = captured.text();
    assert!(log.contains("retrying"), "{log}");
    assert_no_secret("non-streaming call log", &log);
}
