//! Reads what a response's headers report: Fireworks' `fireworks-*` metrics headers and the
//! `x-ratelimit-*` headers, into [`ServerReport`] and [`RateLimits`]. Only numbers (and one
//! yes/no) are kept, so nothing a server sends here grows without bound; a header that is not
//! a number is left out.

use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::error::RateLimits;
use crate::host::ServerReport;
use crate::host::server_report;

/// The rate-limit headers of `headers`, or `None` when it has none that reads.
pub(crate) fn rate_limits(headers: &HeaderMap) -> Option<RateLimits> {
    let count = |name: &str| text(headers, name).and_then(count);
    let limits = RateLimits {
        limit_requests: count("x-ratelimit-limit-requests"),
        remaining_requests: count("x-ratelimit-remaining-requests"),
        limit_prompt_tokens: count("x-ratelimit-limit-tokens-prompt"),
        remaining_prompt_tokens: count("x-ratelimit-remaining-tokens-prompt"),
        limit_cache_adjusted_prompt_tokens: count("x-ratelimit-limit-tokens-cache-adjusted-prompt"),
        remaining_cache_adjusted_prompt_tokens: count(
            "x-ratelimit-remaining-tokens-cache-adjusted-prompt",
        ),
        limit_generated_tokens: count("x-ratelimit-limit-tokens-generated"),
        remaining_generated_tokens: count("x-ratelimit-remaining-tokens-generated"),
        over_limit: text(headers, "x-ratelimit-over-limit").and_then(yes_or_no),
    };
    (!limits.is_empty()).then_some(limits)
}

/// Everything `headers` report, or `None` when they report nothing that reads.
pub(crate) fn server_report(headers: &HeaderMap) -> Option<ServerReport> {
    let report = ServerReport {
        prompt_tokens: text(headers, "fireworks-prompt-tokens").and_then(count),
        cached_prompt_tokens: text(headers, "fireworks-cached-prompt-tokens").and_then(count),
        server_time_to_first_token: text(headers, "fireworks-server-time-to-first-token")
            .and_then(seconds),
        server_processing_time: text(headers, "fireworks-server-processing-time").and_then(seconds),
        rate_limits: rate_limits(headers).unwrap_or_default(),
    };
    (!report.is_empty()).then_some(report)
}

/// A header's value, trimmed; `None` when absent or not visible ASCII.
fn text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

/// A count written as a whole number, or as a decimal one ([`server_report::count`]).
fn count(text: &str) -> Option<u64> {
    text.parse::<u64>()
        .ok()
        .or_else(|| server_report::count(text.parse().ok()?))
}

/// A duration written in seconds ([`server_report::seconds`]).
fn seconds(text: &str) -> Option<Duration> {
    server_report::seconds(text.parse().ok()?)
}

fn yes_or_no(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn numbers_that_do_not_read_are_left_out() {
        assert_eq!(count(" 12 ".trim()), Some(12));
        assert_eq!(count("60000.7"), Some(60000));
        for bad in ["-1", "NaN", "inf", "1e400", "twelve", ""] {
            assert_eq!(count(bad), None, "{bad}");
        }
        assert_eq!(seconds("0.25"), Some(Duration::from_millis(250)));
        assert_eq!(seconds("-0.25"), None);
        assert_eq!(seconds("NaN"), None);
    }

    #[test]
    fn a_response_without_such_headers_reports_nothing() {
        let plain = headers(&[("content-type", "text/event-stream"), ("x-request-id", "r")]);
        assert_eq!(server_report(&plain), None);
        assert_eq!(rate_limits(&plain), None);
        let unreadable = headers(&[("x-ratelimit-limit-requests", "many")]);
        assert_eq!(rate_limits(&unreadable), None);
    }

    #[test]
    fn over_limit_reads_yes_and_no() {
        let over = |value| rate_limits(&headers(&[("x-ratelimit-over-limit", value)]));
        assert_eq!(over("yes").unwrap().over_limit, Some(true));
        assert_eq!(over("No").unwrap().over_limit, Some(false));
        assert_eq!(over("maybe"), None);
    }
}
