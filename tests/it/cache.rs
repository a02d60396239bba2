//! Prompt-cache affinity on the wire: the conversation key, the isolation header, what the
//! cache saved, and the cache report.

use std::sync::Arc;

use crate::support;
use crate::support::server::{Reply, TestServer};
use fireworks_provider::{
    ApiChunk, CacheBreak, CacheReport, ChatRequest, FireworksProvider, FireworksSettings,
    LlmProvider, Message, RequestOptions, Usage, lookup_model,
};
use futures::StreamExt;

async fn server() -> TestServer {
    TestServer::start(vec![Reply::sse(support::fixture("plain_answer"))]).await
}

fn settings(server: &TestServer) -> FireworksSettings {
    FireworksSettings::new("k", "accounts/fireworks/models/kimi-k2p6")
        .with_base_url(server.base_url())
}

async fn send(provider: &FireworksProvider, request: ChatRequest) {
    let items: Vec<_> = provider.create_message(request).collect().await;
    assert!(
        matches!(items.last(), Some(Ok(ApiChunk::Finish(_)))),
        "{items:?}"
    );
}

fn conversation(first: &str, turns: usize) -> ChatRequest {
    let mut messages = vec![Message::user(first)];
    for turn in 1..turns {
        messages.push(Message::assistant(format!("answer {turn}")));
        messages.push(Message::user(format!("follow-up {turn}")));
    }
    ChatRequest::new("You are a coding agent.", messages)
}

#[tokio::test]
async fn one_key_per_conversation_stable_across_turns() {
    let server = server().await;
    let provider = FireworksProvider::new(settings(&server)).unwrap();
    for turns in 1..=3 {
        send(&provider, conversation("fix the parser", turns)).await;
    }
    send(&provider, conversation("write the docs", 1)).await;
    let keys: Vec<String> = server
        .requests()
        .iter()
        .map(|r| {
            r.json()["prompt_cache_key"]
                .as_str()
                .expect("a key is sent")
                .to_owned()
        })
        .collect();
    assert_eq!(keys[0], keys[1]);
    assert_eq!(keys[1], keys[2]);
    assert_ne!(keys[0], keys[3], "another conversation, another key");
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.header("x-prompt-cache-isolation-key").is_none())
    );
}

#[tokio::test]
async fn affinity_can_be_turned_off_or_given_by_the_host_through_the_trait() {
    let server = server().await;
    let provider: Arc<dyn LlmProvider> =
        Arc::new(FireworksProvider::new(settings(&server).with_cache_affinity(false)).unwrap());
    let turn = |key: Option<&str>| {
        let request = conversation("fix the parser", 1);
        match key {
            Some(key) => request.with_options(RequestOptions::new().with_cache_key(key)),
            None => request,
        }
    };
    for key in [None, Some("host-key-7")] {
        let items: Vec<_> = provider.create_message(turn(key)).collect().await;
        assert!(matches!(items.last(), Some(Ok(ApiChunk::Finish(_)))));
    }
    let requests = server.requests();
    assert!(requests[0].json().get("prompt_cache_key").is_none());
    assert_eq!(requests[1].json()["prompt_cache_key"], "host-key-7");
}

#[tokio::test]
async fn the_isolation_header_is_sent_when_set() {
    let server = server().await;
    let provider =
        FireworksProvider::new(settings(&server).with_cache_isolation_key("tenant-42")).unwrap();
    send(&provider, conversation("fix the parser", 1)).await;
    assert_eq!(
        server.requests()[0].header("x-prompt-cache-isolation-key"),
        Some("tenant-42")
    );
}

#[test]
fn cache_savings_are_the_price_difference_on_cached_tokens() {
    let model = lookup_model("kimi-k2p6").unwrap(); // $0.95 input, $0.16 cached, $4.00 output
    let usage = Usage::new(100_000, 1_000).with_cache_read_tokens(80_000);
    let savings = model.cache_savings(&usage).unwrap();
    assert!(
        (savings - 80_000.0 * (0.95 - 0.16) / 1e6).abs() < 1e-12,
        "{savings}"
    );
    let cost = model.cost(&usage).unwrap();
    let expected = (20_000.0 * 0.95 + 80_000.0 * 0.16 + 1_000.0 * 4.00) / 1e6;
    assert!((cost - expected).abs() < 1e-12, "{cost} vs {expected}");
    let uncached = usage.clone().with_cache_read_tokens(0);
    assert!(model.cost(&uncached).unwrap() > cost);
    assert_eq!(
        lookup_model("accounts/fireworks/models/kimi-k2p6#accounts/me/deployments/d")
            .unwrap()
            .cache_savings(&usage),
        None
    );
    assert_eq!(
        fireworks_provider::ModelInfo::unknown("x").cost(&usage),
        None
    );
}

/// A stream answering "ok" whose usage says the server served `cached` prompt tokens from its
/// cache.
fn answer_with_cached_tokens(cached: u64) -> Reply {
    let body = format!(
        "data: {{\"id\":\"r\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"ok\"}}}}]}}\n\n\
         data: {{\"id\":\"r\",\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"stop\"}}],\
         \"usage\":{{\"prompt_tokens\":100000,\"completion_tokens\":1,\
         \"prompt_tokens_details\":{{\"cached_tokens\":{cached}}}}}}}\n\n\
         data: [DONE]\n\n"
    );
    Reply::sse(body)
}

async fn report_of(provider: &FireworksProvider, request: ChatRequest) -> Option<CacheReport> {
    let items: Vec<_> = provider.create_message(request).collect().await;
    let usage = support::usage(&items).unwrap_or_else(|| panic!("no usage in {items:?}"));
    usage.cache_report.map(|report| *report)
}

/// Ten turns of one conversation whose system prompt changes at turn 6, with the host's own
/// cache key or the derived one (which the change replaces).
async fn ten_turns_with_a_new_system_prompt_at_turn_6(own_key: bool) {
    // The server caches everything it could: only the host's changes break the prefix.
    let server = TestServer::start(vec![answer_with_cached_tokens(100_000)]).await;
    let provider = FireworksProvider::new(settings(&server).with_cache_report(true)).unwrap();
    let mut system = "You are a coding agent.".to_owned();
    let mut messages = vec![Message::user("fix the parser")];
    for turn in 1..=10 {
        if turn == 6 {
            system = "You are a coding agent. It is 12:06.".to_owned();
        }
        let mut request = ChatRequest::new(system.clone(), messages.clone());
        if own_key {
            request = request.with_options(RequestOptions::new().with_cache_key("conversation-1"));
        }
        let report = report_of(&provider, request).await.expect("a report");
        let sent = messages.len();
        match turn {
            1 => assert_eq!(report.previous_messages, None, "nothing to compare with"),
            6 => {
                assert_eq!(
                    report.broke_at,
                    Some(CacheBreak::SystemPrompt),
                    "{report:?}"
                );
                assert_eq!((report.unchanged_messages, report.cacheable_tokens), (0, 0));
            }
            _ => {
                let previous = sent - 2;
                assert_eq!(report.previous_messages, Some(previous), "turn {turn}");
                assert_eq!(report.unchanged_messages, previous, "turn {turn}");
                assert_eq!((report.broke_at, report.fell_short), (None, false));
                assert!(report.cacheable_tokens > 0);
            }
        }
        messages.push(Message::assistant(format!("answer {turn}")));
        messages.push(Message::user(format!("follow-up {turn}")));
    }
    let keys: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.json()["prompt_cache_key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        keys[4] == keys[5],
        own_key,
        "a derived key changes with the system prompt"
    );
}

#[tokio::test]
async fn the_cache_report_finds_the_turn_that_changed_the_system_prompt() {
    ten_turns_with_a_new_system_prompt_at_turn_6(true).await;
}

#[tokio::test]
async fn the_cache_report_finds_a_changed_system_prompt_under_a_derived_key_too() {
    ten_turns_with_a_new_system_prompt_at_turn_6(false).await;
}

#[tokio::test]
async fn the_cache_report_says_where_an_edit_broke_the_prefix_and_is_off_by_default() {
    let server = TestServer::start(vec![answer_with_cached_tokens(0)]).await;
    let reporting = FireworksProvider::new(settings(&server).with_cache_report(true)).unwrap();
    let long = "x".repeat(4_000);
    let turn = |edited: &str| {
        ChatRequest::new(
            "sys",
            vec![
                Message::user(long.as_str()),
                Message::assistant(edited),
                Message::user("go on"),
            ],
        )
    };
    // The derived key (the system prompt and first user message) is the same for both.
    assert!(report_of(&reporting, turn("first")).await.is_some());
    let report = report_of(&reporting, turn("edited")).await.unwrap();
    assert_eq!(report.broke_at, Some(CacheBreak::Message(1)), "{report:?}");
    assert_eq!(report.unchanged_messages, 1);
    assert!(
        report.fell_short,
        "0 cached of about 1,000 cacheable tokens"
    );
    let quiet = FireworksProvider::new(settings(&server)).unwrap();
    assert_eq!(report_of(&quiet, turn("edited")).await, None);
}
