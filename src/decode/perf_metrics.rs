//! Fireworks' `perf_metrics` object (on the final chunk, when the request asked for it) →
//! [`PerfMetrics`]. Read leniently: these are diagnostics, so a metric that is not a number (or
//! a string holding one, as some recorded streams send) is left out and a `perf_metrics` that
//! is not an object gives none; neither fails the event.

use serde_json::{Map, Value};

use crate::host::PerfMetrics;
use crate::host::server_report::{count, seconds};

/// The metrics in `text`, the JSON of a `perf_metrics` value; `None` when it is not an object.
pub(crate) fn read(text: &str) -> Option<PerfMetrics> {
    let fields: Map<String, Value> = serde_json::from_str(text).ok()?;
    // A number, or (as recorded Fireworks streams send some of them) a string holding one.
    let number = |name: &str| match fields.get(name)? {
        Value::String(text) => text.trim().parse::<f64>().ok(),
        value => value.as_f64(),
    };
    let tokens = |name: &str| match fields.get(name)? {
        Value::Number(number) => number.as_u64().or_else(|| count(number.as_f64()?)),
        _ => count(number(name)?),
    };
    let time = |name: &str| seconds(number(name)?);
    Some(PerfMetrics {
        prompt_tokens: tokens("prompt-tokens"),
        cached_prompt_tokens: tokens("cached-prompt-tokens"),
        server_time_to_first_token: time("server-time-to-first-token"),
        server_processing_time: time("server-processing-time"),
        prefill_queue_duration: time("prefill-queue-duration"),
        prefill_duration: time("prefill-duration"),
        generation_queue_duration: time("generation-queue-duration"),
        generation_duration: time("generation-duration"),
        concurrent_requests: tokens("num-concurrent-requests"),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn documented_metrics_are_read_and_odd_values_left_out() {
        let metrics = read(
            r#"{"prompt-tokens": 1200, "cached-prompt-tokens": 1024,
                "server-time-to-first-token": 0.042, "server-processing-time": "0.214",
                "prefill-duration": "fast",
                "generation-duration": -1, "num-concurrent-requests": 3.0, "other": [1]}"#,
        )
        .unwrap();
        assert_eq!(metrics.prompt_tokens, Some(1200));
        assert_eq!(metrics.cached_prompt_tokens, Some(1024));
        assert_eq!(
            metrics.server_time_to_first_token,
            Some(Duration::from_millis(42))
        );
        assert_eq!(
            metrics.server_processing_time,
            Some(Duration::from_millis(214))
        );
        assert_eq!(metrics.prefill_duration, None);
        assert_eq!(metrics.generation_duration, None);
        assert_eq!(metrics.concurrent_requests, Some(3));
        assert_eq!(read("[1, 2]"), None);
        assert_eq!(read("\"fast\""), None);
    }
}
