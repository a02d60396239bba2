//! Reranking against our loopback server: the request as Fireworks documents it, results best
//! first naming the documents sent, typed errors and retries as for chat, the non-streaming
//! deadline, and answers that do not fit the documents refused.

use std::time::Duration;

use crate::support;
use crate::support::server::{Reply, TestServer};
use fireworks_provider::{
    Error, FireworksProvider, FireworksSettings, RetryPolicy, ScriptedReply, TimeoutKind, Timeouts,
};
use serde_json::json;

const RERANKER: &str = "accounts/fireworks/models/qwen3-reranker-8b";

fn provider(server: &TestServer, retry: RetryPolicy) -> FireworksProvider {
    FireworksProvider::new(
        FireworksSettings::new("fw_rerank_key", "kimi-k2p6")
            .with_base_url(server.base_url())
            .with_retry_policy(retry)
            .with_timeouts(Timeouts::default().with_non_streaming(Duration::from_millis(500))),
    )
    .unwrap()
}

fn documents() -> Vec<String> {
    [
        "Machine learning is a subset of AI.",
        "The weather is sunny today.",
        "Machine learning systems learn patterns from data.",
    ]
    .map(String::from)
    .to_vec()
}

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/rerank/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

#[tokio::test]
async fn documents_come_back_best_first_by_their_place_in_the_list() {
    let server = TestServer::start(vec![Reply::json(200, fixture("fireworks_top2.json"))]).await;
    let reranker = provider(&server, RetryPolicy::none())
        .reranker(RERANKER)
        .with_task("Given a question, retrieve passages that answer it");
    let documents = documents();
    let ranking = reranker
        .rerank("What is machine learning?", &documents, Some(2))
        .await
        .unwrap();
    let ranked: Vec<(usize, f64)> = ranking
        .results
        .iter()
        .map(|result| (result.index, result.relevance_score))
        .collect();
    assert_eq!(ranked, [(2, 0.9731), (0, 0.4127)]);
    assert_eq!(ranking.input_tokens, Some(96));
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/inference/v1/rerank");
    assert_eq!(
        requests[0].header("authorization"),
        Some("Bearer fw_rerank_key")
    );
    assert_eq!(
        requests[0].json(),
        json!({
            "model": RERANKER,
            "query": "What is machine learning?",
            "documents": documents,
            "top_n": 2,
            "return_documents": false,
            "task": "Given a question, retrieve passages that answer it",
        })
    );
}

#[tokio::test]
async fn results_in_another_order_or_under_the_name_results_are_put_best_first() {
    let body = json!({"results": [
        {"index": 1, "relevance_score": 0.01},
        {"index": 2, "relevance_score": 0.88},
        {"index": 0, "relevance_score": 0.5},
    ]});
    let server = TestServer::start(vec![Reply::json(200, body.to_string())]).await;
    let ranking = provider(&server, RetryPolicy::none())
        .reranker(RERANKER)
        .rerank("q", &documents(), None)
        .await
        .unwrap();
    let order: Vec<usize> = ranking.results.iter().map(|r| r.index).collect();
    assert_eq!(order, [2, 0, 1]);
    assert_eq!(ranking.input_tokens, None);
    let sent = server.requests()[0].json();
    assert!(
        sent.get("top_n").is_none() && sent.get("task").is_none(),
        "{sent}"
    );
}

#[tokio::test]
async fn answers_that_do_not_fit_the_documents_are_refused() {
    let cases = [
        (
            json!({"data": [{"index": 3, "relevance_score": 0.9}]}),
            None,
            "document 3 of 3",
        ),
        (
            json!({"data": [{"index": 1, "relevance_score": 0.9}, {"index": 1, "relevance_score": 0.2}]}),
            None,
            "names it twice",
        ),
        (
            json!({"data": [
                {"index": 0, "relevance_score": 0.9},
                {"index": 1, "relevance_score": 0.5},
            ]}),
            Some(1),
            "2 rerank results for 1 wanted",
        ),
        (
            json!({"data": [{"index": 0}]}),
            None,
            "rerank response is not what was expected",
        ),
    ];
    for (body, top_n, says) in cases {
        let server = TestServer::start(vec![Reply::json(200, body.to_string())]).await;
        let error = provider(&server, RetryPolicy::none())
            .reranker(RERANKER)
            .rerank("q", &documents(), top_n)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Decode { message, .. } if message.contains(says)),
            "{body}: {error:?}"
        );
    }
}

#[tokio::test]
async fn nothing_is_sent_for_no_documents_and_top_n_zero_is_refused() {
    let server = TestServer::start(vec![Reply::json(200, fixture("fireworks_top2.json"))]).await;
    let reranker = provider(&server, RetryPolicy::none()).reranker(RERANKER);
    let empty = reranker.rerank("q", &[], Some(3)).await.unwrap();
    assert!(empty.results.is_empty());
    let error = reranker
        .rerank("q", &documents(), Some(0))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Config(message) if message.contains("top_n")),
        "{error:?}"
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn errors_are_typed_name_the_model_and_are_retried_like_chat() {
    let server = TestServer::start(vec![Reply::json(
        404,
        r#"{"error":{"message":"Model not found, inaccessible, and/or not deployed","code":"NOT_FOUND"}}"#,
    )])
    .await;
    let error = provider(&server, RetryPolicy::none())
        .reranker("accounts/acme/models/missing-reranker")
        .rerank("q", &documents(), None)
        .await
        .unwrap_err();
    match &error {
        Error::ModelNotFound(api) => {
            assert_eq!(api.model(), Some("accounts/acme/models/missing-reranker"))
        }
        other => panic!("{other:?}"),
    }
    assert!(!error.to_string().contains("fw_rerank_key"));

    let overloaded = Reply::json(503, r#"{"error":{"message":"Service Overloaded"}}"#)
        .with_header("retry-after-ms", "1");
    let server = TestServer::start(vec![
        overloaded,
        Reply::json(200, fixture("fireworks_top2.json")),
    ])
    .await;
    let ranking = provider(&server, RetryPolicy::default())
        .reranker(RERANKER)
        .rerank("q", &documents(), Some(2))
        .await
        .unwrap();
    assert_eq!(ranking.results.len(), 2);
    assert_eq!(server.requests().len(), 2, "one retry after the 503");
}

#[tokio::test(start_paused = true)]
async fn a_trickling_answer_ends_at_the_non_streaming_deadline() {
    let body = fixture("fireworks_top2.json");
    // One byte every 20 ms (on tokio's paused clock): the whole answer would take seconds.
    let trickle = support::trickle(
        ScriptedReply::status(200).with_header("content-type", "application/json"),
        body.as_bytes(),
        Duration::from_millis(20),
    );
    let reranker = FireworksProvider::new(
        FireworksSettings::new("fw_rerank_key", "kimi-k2p6")
            .with_transport(support::transport([trickle]))
            .with_retry_policy(RetryPolicy::none())
            .with_timeouts(Timeouts::default().with_non_streaming(Duration::from_millis(500))),
    )
    .unwrap()
    .reranker(RERANKER);
    let result = tokio::time::timeout(
        Duration::from_secs(20),
        reranker.rerank("q", &documents(), None),
    )
    .await
    .expect("the call hung");
    match result {
        Err(Error::Timeout {
            kind: TimeoutKind::NonStreaming,
            after,
        }) => assert_eq!(after, Duration::from_millis(500)),
        other => panic!("{other:?}"),
    }
}
