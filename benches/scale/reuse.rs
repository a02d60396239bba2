//! Benchmark 4: connection reuse. Sequential turns on one provider, and on the providers
//! `with_model` derives from it, travel over one pooled connection.
//!
//! hyper's pool takes a connection back in a task of its own once the response has ended; a
//! request sent in the same instant on another thread finds the pool empty and opens a second
//! connection (which then joins the pool too). So turns are run back to back on a
//! current-thread runtime, as the tests run them, and, on the multi-thread runtime, with the
//! millisecond a quick tool takes between them; back to back on the multi-thread runtime the
//! count is only reported.

use std::time::Duration;

use fireworks_provider::{
    ChatRequest, FireworksProvider, FireworksSettings, LlmProvider, Message, Turn,
};
use tokio::runtime::Runtime;

use crate::measure::Targets;
use crate::replies::{MODEL, answer_events, streamed};
use crate::server::TestServer;

const TURNS: usize = 20;

/// Runs `TURNS` turns one after another on `runtime`, the i-th through `providers[i % len]`,
/// `gap` apart, against a fresh loopback server; returns the connections it accepted.
fn connections_for(
    runtime: &Runtime,
    gap: Duration,
    providers: impl Fn(&TestServer) -> Vec<FireworksProvider>,
) -> usize {
    let server = runtime.block_on(TestServer::start(vec![streamed(answer_events(20), None)]));
    let providers = providers(&server);
    runtime.block_on(async {
        let mut messages = vec![Message::user("Start.")];
        for turn in 0..TURNS {
            let provider = &providers[turn % providers.len()];
            let request = ChatRequest::new("You are terse.", messages.clone());
            let turn = Turn::collect(provider.create_message(request))
                .await
                .unwrap();
            messages.push(turn.message);
            messages.push(Message::user("Go on."));
            if !gap.is_zero() {
                tokio::time::sleep(gap).await;
            }
        }
    });
    assert_eq!(
        server.take_requests().len(),
        TURNS,
        "every turn reached the server"
    );
    server.connections_accepted()
}

fn one_provider(server: &TestServer) -> Vec<FireworksProvider> {
    let settings = FireworksSettings::new("bench", MODEL).with_base_url(server.base_url());
    vec![FireworksProvider::new(settings).unwrap()]
}

/// One provider and two that `with_model` derives from it.
fn three_models(server: &TestServer) -> Vec<FireworksProvider> {
    let first = one_provider(server).remove(0);
    let others = ["deepseek-v4-flash", "glm-5p1"].map(|id| first.with_model(id).unwrap());
    [vec![first], others.to_vec()].concat()
}

/// Runs benchmark 4, prints its figures and records its targets.
pub fn bench(multi_thread: &Runtime, targets: &mut Targets) {
    let current_thread = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tool_run = Duration::from_millis(1);
    let cases = [
        (
            "back to back, current-thread runtime",
            &current_thread,
            Duration::ZERO,
        ),
        ("1 ms apart, multi-thread runtime", multi_thread, tool_run),
        (
            "back to back, multi-thread runtime",
            multi_thread,
            Duration::ZERO,
        ),
    ];
    println!(
        "\n4. connection reuse: connections opened by {TURNS} sequential turns (Turn::collect),"
    );
    println!("   on one provider / through it and two with_model providers in turn:");
    for (index, (case, runtime, gap)) in cases.into_iter().enumerate() {
        let one = connections_for(runtime, gap, one_provider);
        let models = connections_for(runtime, gap, three_models);
        println!("  {case}: {one} / {models}");
        if index < 2 {
            targets.exactly(&format!("4. connections, one provider, {case}"), one, 1);
            targets.exactly(&format!("4. connections, with_model, {case}"), models, 1);
        }
    }
    println!("  (back to back on several threads, a turn can start before hyper's pool has taken");
    println!("  the last connection back, and opens another)");
}
