//! Record and replay through the real provider: a session recorded on the loopback server
//! (reasoning, tool calls, a key, a sensitive header and an isolation key set) replays offline
//! with the same chunks; a changed request is reported at its message and field; no secret
//! reaches a recorded file; a body in many pieces, a broken connection and a write failure are
//! recorded as they happened.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::server::{Reply, TestServer};
use fireworks_provider::{
    ApiChunk, ChatRequest, Error, FireworksProvider, FireworksSettings, LlmProvider, Message,
    RecordingTransport, ReplayTransport, ReqwestTransport, RetryPolicy, ScriptedReply,
    ScriptedTransport, ToolSpec, Transport, Turn,
};
use futures::StreamExt;
use serde_json::{Value, json};

const KEY: &str = "fw_RECORDING_TEST_KEY_4f9a2c";
const HOST_HEADER_VALUE: &str = "tenant-token-73b1e";
const ISOLATION_KEY: &str = "isolation-key-51c0d";
const MODEL: &str = "accounts/fireworks/models/kimi-k2p6";
const SYSTEM: &str = "You are a coding agent.";

/// The recorded bodies of the agent example: reasoning, then a tool call, in turns 1 and 2.
fn agent_turn(number: usize) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/recordings/agent/{number:04}.response.sse",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// A fresh, not yet existing folder for one test's recording.
fn fresh_folder(name: &str) -> PathBuf {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("record_replay")
        .join(name);
    let _ = std::fs::remove_dir_all(&folder);
    folder
}

fn settings(transport: impl Transport + 'static) -> FireworksSettings {
    FireworksSettings::new(KEY, MODEL)
        .with_header("x-tenant-token", HOST_HEADER_VALUE)
        .with_cache_isolation_key(ISOLATION_KEY)
        .with_transport(transport)
}

fn loopback() -> ReqwestTransport {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    ReqwestTransport::new(client)
}

/// What one turn gave the host: each chunk, or the error that ended it.
type Items = Vec<Result<ApiChunk, String>>;

async fn turn(provider: &FireworksProvider, request: ChatRequest) -> Items {
    let items: Vec<Result<ApiChunk, Error>> = provider.create_message(request).collect().await;
    items
        .into_iter()
        .map(|item| item.map_err(|err| err.to_string()))
        .collect()
}

/// A two-turn tool loop: the model lists a folder, gets `listing` back, and goes on. Returns
/// what each turn gave the host.
async fn tool_loop(provider: &FireworksProvider, listing: &str) -> Vec<Items> {
    let tools = vec![ToolSpec::new(
        "list_dir",
        "List a directory.",
        json!({"type": "object", "properties": {"path": {"type": "string"}}}),
    )];
    let mut messages = vec![Message::user("What is this crate?")];
    let first = turn(
        provider,
        ChatRequest::new(SYSTEM, messages.clone()).with_tools(tools.clone()),
    )
    .await;
    let done = Turn::collect(futures::stream::iter(
        first
            .iter()
            .map(|item| Ok::<_, Error>(item.clone().unwrap())),
    ))
    .await
    .unwrap();
    let call = done
        .tool_calls
        .first()
        .expect("turn 1 calls a tool")
        .clone();
    messages.push(done.message);
    messages.push(Message::tool_result(&call.id, listing));
    let second = turn(
        provider,
        ChatRequest::new(SYSTEM, messages).with_tools(tools),
    )
    .await;
    vec![first, second]
}

/// Records the tool loop on the loopback server, the server echoing the key into a header and
/// into the body (a comment line of the event stream), each body sent in 7-byte pieces.
/// Returns what the host got, the recorder, and the base URL (a replay uses the same settings;
/// nothing listens there any more).
async fn record_session(folder: &Path) -> (Vec<Items>, RecordingTransport, String) {
    let echo = format!(": you sent Bearer {KEY} and {ISOLATION_KEY}\n\n");
    let first = [echo.as_bytes(), &agent_turn(1)].concat();
    let server = TestServer::start(vec![
        Reply::sse_in_pieces(first, 7)
            .with_header("x-request-id", "req-0001")
            .with_header("fireworks-server-time-to-first-token", "123")
            .with_header("fireworks-echo", &format!("key={KEY}"))
            .with_header("set-cookie", "session=abc"),
        Reply::sse_in_pieces(agent_turn(2), 7).with_header("x-request-id", "req-0002"),
    ])
    .await;
    let recorder = RecordingTransport::new(loopback(), folder).unwrap();
    let provider =
        FireworksProvider::new(settings(recorder.clone()).with_base_url(server.base_url()))
            .unwrap();
    let turns = tool_loop(&provider, "Cargo.toml\nsrc/").await;
    assert_eq!(server.requests().len(), 2);
    (turns, recorder, server.base_url())
}

#[tokio::test]
async fn a_recorded_session_replays_offline_with_the_same_chunks() {
    let folder = fresh_folder("session");
    let (live, recorder, base_url) = record_session(&folder).await;
    assert_eq!(recorder.write_failure(), None);
    assert!(
        live[0]
            .iter()
            .any(|item| matches!(item, Ok(ApiChunk::Reasoning(_))))
    );
    assert!(
        live[0]
            .iter()
            .any(|item| matches!(item, Ok(ApiChunk::ToolCall(_))))
    );
    assert!(live.iter().flatten().all(Result::is_ok), "{live:?}");

    let replay = ReplayTransport::open(&folder).unwrap();
    let provider =
        FireworksProvider::new(settings(replay.clone()).with_base_url(base_url)).unwrap();
    let replayed = tool_loop(&provider, "Cargo.toml\nsrc/").await;

    assert_eq!(replayed, live);
    assert_eq!(replay.exchanges_left(), 0);
    assert_eq!(replay.check_requests(), Ok(()));
}

#[tokio::test]
async fn a_changed_request_is_reported_at_its_message_and_field() {
    let folder = fresh_folder("changed");
    let (_, _, base_url) = record_session(&folder).await;

    let replay = ReplayTransport::open(&folder).unwrap();
    let provider =
        FireworksProvider::new(settings(replay.clone()).with_base_url(&base_url)).unwrap();
    tool_loop(&provider, "Cargo.toml\nsrc/\ntests/").await;

    let difference = replay.check_requests().unwrap_err();
    assert_eq!(difference.exchange(), 2);
    // messages[0] is the system prompt, then the user, the assistant's call, its result.
    assert_eq!(difference.field(), "messages[3].content");
    assert_eq!(
        difference.to_string(),
        r#"request 0002: messages[3].content: recorded "Cargo.toml\nsrc/", now "Cargo.toml\nsrc/\ntests/""#
    );

    // One request more than the recording holds fails, and is reported too.
    let extra = turn(
        &provider,
        ChatRequest::new(SYSTEM, vec![Message::user("again")]),
    )
    .await;
    assert!(matches!(extra.last(), Some(Err(_))), "{extra:?}");
    let replay_again = ReplayTransport::open(&folder).unwrap();
    let provider =
        FireworksProvider::new(settings(replay_again.clone()).with_base_url(&base_url)).unwrap();
    tool_loop(&provider, "Cargo.toml\nsrc/").await;
    turn(
        &provider,
        ChatRequest::new(SYSTEM, vec![Message::user("again")]),
    )
    .await;
    let beyond = replay_again.check_requests().unwrap_err();
    assert_eq!(
        beyond.to_string(),
        "request 0003: request: recorded (absent: the recording holds 2 exchanges), now POST \
         /inference/v1/chat/completions"
    );
}

#[tokio::test]
async fn no_secret_reaches_a_recorded_file() {
    let folder = fresh_folder("secrets");
    record_session(&folder).await;

    let mut files = Vec::new();
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        files.push((path.clone(), std::fs::read(&path).unwrap()));
    }
    assert_eq!(
        files.len(),
        7,
        "recording.json and three files per exchange"
    );
    for (path, bytes) in &files {
        for secret in [KEY, HOST_HEADER_VALUE, ISOLATION_KEY] {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{} holds {secret}", path.display());
        }
    }

    let request: Value =
        serde_json::from_slice(&std::fs::read(folder.join("0001.request.json")).unwrap()).unwrap();
    let headers = &request["headers"];
    assert_eq!(headers["authorization"], "[redacted]");
    assert_eq!(headers["x-tenant-token"], "[redacted]");
    assert_eq!(headers["x-prompt-cache-isolation-key"], "[redacted]");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        request["body"]["messages"][1]["content"],
        "What is this crate?"
    );

    let response: Value =
        serde_json::from_slice(&std::fs::read(folder.join("0001.response.json")).unwrap()).unwrap();
    assert_eq!(
        response["headers"],
        json!({
            "content-type": "text/event-stream",
            "fireworks-echo": "key=[REDACTED]",
            "fireworks-server-time-to-first-token": "123",
            "x-request-id": "req-0001",
        }),
        "the headers that matter, and only those"
    );
    // The echo, cut across 7-byte pieces, is redacted; the rest of the body is as sent.
    let body = std::fs::read(folder.join("0001.response.sse")).unwrap();
    let expected = [
        b": you sent [REDACTED] and [REDACTED]\n\n".as_slice(),
        &agent_turn(1),
    ]
    .concat();
    assert_eq!(
        String::from_utf8(body).unwrap(),
        String::from_utf8(expected).unwrap()
    );
}

#[tokio::test]
async fn a_body_in_many_pieces_is_recorded_byte_exact_and_replayed_in_those_pieces() {
    let folder = fresh_folder("pieces");
    let body = agent_turn(3);
    let scripted = ScriptedTransport::new().with_reply(
        ScriptedReply::status(200)
            .with_header("content-type", "text/event-stream")
            .with_body_in_pieces(body.clone(), 1),
    );
    let recorder = RecordingTransport::new(scripted, &folder).unwrap();
    let provider = FireworksProvider::new(settings(recorder)).unwrap();
    let request = ChatRequest::new(SYSTEM, vec![Message::user("hi")]);
    let live = turn(&provider, request.clone()).await;

    assert_eq!(
        std::fs::read(folder.join("0001.response.sse")).unwrap(),
        body
    );
    let head: Value =
        serde_json::from_slice(&std::fs::read(folder.join("0001.response.json")).unwrap()).unwrap();
    assert_eq!(head["pieces"], json!(vec![1; body.len()]));
    assert_eq!(head["body_file"], "0001.response.sse");

    // The replay hands the body over in the same one-byte pieces.
    let replay = ReplayTransport::open(&folder).unwrap();
    let response = replay.send(fireworks_provider::HttpRequest::new(
        reqwest::Method::POST,
        "https://example.test/chat/completions",
    ));
    let pieces: Vec<_> = response.await.unwrap().body.collect().await;
    assert_eq!(pieces.len(), body.len());
    assert!(
        pieces
            .iter()
            .all(|piece| piece.as_ref().unwrap().len() == 1)
    );

    let replay = ReplayTransport::open(&folder).unwrap();
    let provider = FireworksProvider::new(settings(replay)).unwrap();
    assert_eq!(turn(&provider, request).await, live);
}

#[tokio::test]
async fn a_connection_broken_mid_answer_replays_as_the_same_failure() {
    let folder = fresh_folder("broken");
    let body = agent_turn(3);
    let scripted = ScriptedTransport::new().with_reply(
        ScriptedReply::status(200)
            .with_header("content-type", "text/event-stream")
            .with_body_in_pieces(body[..body.len() / 2].to_vec(), 97)
            .reset(),
    );
    let recorder = RecordingTransport::new(scripted, &folder).unwrap();
    let provider = FireworksProvider::new(settings(recorder)).unwrap();
    let request = ChatRequest::new(SYSTEM, vec![Message::user("hi")]);
    let live = turn(&provider, request.clone()).await;
    assert!(matches!(live.last(), Some(Err(_))), "{live:?}");
    assert!(
        live.iter()
            .any(|item| matches!(item, Ok(ApiChunk::Text(_))))
    );

    let head: Value =
        serde_json::from_slice(&std::fs::read(folder.join("0001.response.json")).unwrap()).unwrap();
    assert_eq!(head["body_end"], "failed");
    assert_eq!(
        head["error"],
        json!({"kind": "other", "message": "scripted connection reset"})
    );

    let replay = ReplayTransport::open(&folder).unwrap();
    let provider = FireworksProvider::new(settings(replay)).unwrap();
    assert_eq!(turn(&provider, request).await, live);
}

#[tokio::test]
async fn a_failed_write_stops_the_recording_and_not_the_stream() {
    let folder = fresh_folder("unwritable");
    let reply = || ScriptedReply::sse(agent_turn(3));
    let recorder =
        RecordingTransport::new(ScriptedTransport::new().with_reply(reply()), &folder).unwrap();
    std::fs::remove_dir_all(&folder).unwrap();
    let provider = FireworksProvider::new(settings(recorder.clone())).unwrap();
    let request = ChatRequest::new(SYSTEM, vec![Message::user("hi")]);
    let recorded = turn(&provider, request.clone()).await;

    let plain = ScriptedTransport::new().with_reply(reply());
    let provider = FireworksProvider::new(settings(plain)).unwrap();
    assert_eq!(recorded, turn(&provider, request).await);
    let failure = recorder.write_failure().expect("the failure is reported");
    assert!(failure.contains("0001.request.json"), "{failure}");
}

#[test]
fn a_folder_that_holds_a_recording_is_refused() {
    let folder = fresh_folder("twice");
    RecordingTransport::new(ScriptedTransport::new(), &folder).unwrap();
    let err = RecordingTransport::new(ScriptedTransport::new(), &folder).unwrap_err();
    assert_eq!(err.path(), folder);
    assert!(
        err.to_string().contains("already holds a recording"),
        "{err}"
    );

    let empty = fresh_folder("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = ReplayTransport::open(&empty).unwrap_err();
    assert_eq!(err.path(), empty.join("recording.json"));
}

#[tokio::test]
async fn failures_before_the_answer_replay_as_they_happened() {
    let folder = fresh_folder("retried");
    let error_document = r#"{"error":{"message":"overloaded, try again"}}"#;
    let scripted = ScriptedTransport::new()
        .with_reply(ScriptedReply::refuse_connection())
        .with_reply(ScriptedReply::json(503, error_document).with_header("x-request-id", "r-2"))
        .with_reply(ScriptedReply::sse(agent_turn(3)));
    // No wait between attempts, so that the `Retrying` chunks carry no random delay.
    let retry = RetryPolicy::default().with_base_delay(Duration::ZERO);
    let recorder = RecordingTransport::new(scripted, &folder).unwrap();
    let provider = FireworksProvider::new(settings(recorder).with_retry_policy(retry)).unwrap();
    let request = ChatRequest::new(SYSTEM, vec![Message::user("hi")]);
    let live = turn(&provider, request.clone()).await;
    let retries = live
        .iter()
        .filter(|item| matches!(item, Ok(ApiChunk::Retrying { .. })));
    assert_eq!(retries.count(), 2, "{live:?}");

    let refused: Value =
        serde_json::from_slice(&std::fs::read(folder.join("0001.response.json")).unwrap()).unwrap();
    assert_eq!(refused["error"]["kind"], "connect");
    assert_eq!(refused.get("status"), None);
    assert_eq!(
        std::fs::read_to_string(folder.join("0002.response.body")).unwrap(),
        error_document
    );

    let replay = ReplayTransport::open(&folder).unwrap();
    let provider =
        FireworksProvider::new(settings(replay.clone()).with_retry_policy(retry)).unwrap();
    assert_eq!(turn(&provider, request).await, live);
    assert_eq!(replay.check_requests(), Ok(()));
}

#[tokio::test]
async fn a_hand_written_recording_replays_and_a_bad_one_is_named() {
    let folder = fresh_folder("by_hand");
    std::fs::create_dir_all(&folder).unwrap();
    let write = |name: &str, text: &[u8]| std::fs::write(folder.join(name), text).unwrap();
    write(
        "recording.json",
        br#"{"format": "fireworks-provider recording", "version": 1}"#,
    );
    write(
        "0001.request.json",
        br#"{"method": "POST", "url": "https://api.fireworks.ai/inference/v1/chat/completions", "headers": {}}"#,
    );
    let head = |body_file: &str, pieces: &str| {
        format!(
            r#"{{"status": 200, "headers": {{"content-type": "text/event-stream"}},
                "body_file": "{body_file}", "body_end": "complete"{pieces}}}"#
        )
    };
    write("0001.response.sse", &agent_turn(3));
    // No piece sizes: the body comes in one piece. Sizes past the end are cut to it.
    for pieces in ["", r#", "pieces": [5, 18446744073709551615, 7]"#] {
        write(
            "0001.response.json",
            head("0001.response.sse", pieces).as_bytes(),
        );
        let replay = ReplayTransport::open(&folder).unwrap();
        let provider = FireworksProvider::new(settings(replay)).unwrap();
        let items = turn(
            &provider,
            ChatRequest::new(SYSTEM, vec![Message::user("hi")]),
        )
        .await;
        assert!(items.iter().all(Result::is_ok), "{items:?}");
        assert!(
            items
                .iter()
                .any(|item| matches!(item, Ok(ApiChunk::Text(_))))
        );
    }

    write(
        "0001.response.json",
        head("../elsewhere.sse", "").as_bytes(),
    );
    let err = ReplayTransport::open(&folder).unwrap_err();
    assert_eq!(err.path(), folder.join("0001.response.json"));
    assert!(
        err.to_string()
            .contains("not a file name in the recording folder"),
        "{err}"
    );
}
