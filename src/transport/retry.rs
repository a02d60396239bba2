//! When and how long to wait before sending a failed request again, and the retry loop itself
//! as a plain function over an operation ([`retrying`]).
//!
//! Only failures before any output are retried: the loop runs around *starting* a response (up
//! to its first event), never around a stream that has already yielded chunks. Waits use full
//! jitter (a random delay between zero and an exponentially growing ceiling) unless the server
//! said how long to wait. No wait exceeds the policy's cap: when the server asks for longer, the
//! error goes to the host (with the server's wait in [`Error::retry_after`]) instead of being
//! retried early only to be refused again.

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::BuildHasher;
use std::time::Duration;

use futures::{Stream, StreamExt, stream};

use crate::error::Error;
use crate::host::ApiChunk;

/// How often and how patiently failed requests are sent again; built from the default (or
/// [`RetryPolicy::none`]) with the `with_*` methods.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 turns retries off).
    pub max_attempts: u32,
    /// The ceiling of the first wait; each further wait's ceiling doubles.
    pub base_delay: Duration,
    /// No wait is longer than this. A server asking for a longer wait (`Retry-After`) is not
    /// retried: its error, carrying the wait, ends the call.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Three attempts in all, waits from up to 1 s growing to at most 30 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Sets [`RetryPolicy::max_attempts`].
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Sets [`RetryPolicy::base_delay`].
    pub fn with_base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// Sets [`RetryPolicy::max_delay`].
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// No retries: every failure is final.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before the attempt after `attempt` (counting from 1) failed with `error`, or
    /// `None` when the error is final, the attempts are used up, or the server asked for a
    /// longer wait than `max_delay`. `unit_random` in `[0, 1)` places the wait within its
    /// jitter range.
    pub fn delay_after(&self, attempt: u32, error: &Error, unit_random: f64) -> Option<Duration> {
        if attempt >= self.max_attempts || !error.is_retryable() {
            return None;
        }
        if let Some(asked) = error.retry_after() {
            return (asked <= self.max_delay).then_some(asked);
        }
        let doublings = attempt.saturating_sub(1).min(30);
        let ceiling = self
            .base_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay);
        Some(ceiling.mul_f64(unit_random.clamp(0.0, 1.0)))
    }
}

/// One step of the retry loop.
#[derive(Debug)]
pub(crate) enum Attempt<T> {
    /// An attempt failed and the loop waits before the next; the chunk tells the host.
    Retrying(ApiChunk),
    /// The operation succeeded, or failed for good.
    Done(Result<T, Error>),
}

/// Runs `operation` (given the attempt number, from 1) until it succeeds, fails with a final
/// error, or the attempts are used up. The stream yields [`Attempt::Retrying`] *before* each
/// wait, so a host can show it while waiting, and ends with one [`Attempt::Done`].
pub(crate) fn retrying<T, F, Fut>(
    policy: RetryPolicy,
    operation: F,
) -> impl Stream<Item = Attempt<T>> + Send + 'static
where
    T: Send + 'static,
    F: FnMut(u32) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, Error>> + Send,
{
    struct Loop<F> {
        operation: F,
        attempt: u32,
        wait: Option<Duration>,
        finished: bool,
    }
    let start = Loop {
        operation,
        attempt: 1,
        wait: None,
        finished: false,
    };
    stream::unfold(start, move |mut state| async move {
        if state.finished {
            return None;
        }
        if let Some(wait) = state.wait.take() {
            tokio::time::sleep(wait).await;
            state.attempt += 1;
        }
        let result = (state.operation)(state.attempt).await;
        let step = match result {
            Err(error) => match policy.delay_after(state.attempt, &error, unit_random()) {
                Some(delay) => {
                    state.wait = Some(delay);
                    Attempt::Retrying(ApiChunk::Retrying {
                        attempt: state.attempt,
                        max_attempts: policy.max_attempts,
                        delay,
                        reason: error.to_string(),
                    })
                }
                None => {
                    state.finished = true;
                    Attempt::Done(Err(error))
                }
            },
            ok => {
                state.finished = true;
                Attempt::Done(ok)
            }
        };
        Some((step, state))
    })
}

/// Runs the retry loop to its end for a call that returns one value (no stream to show the
/// waits in): retries are logged, and the final result returned.
pub(crate) async fn retry_to_end<T, F, Fut>(policy: RetryPolicy, operation: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnMut(u32) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, Error>> + Send,
{
    let mut attempts = std::pin::pin!(retrying(policy, operation));
    while let Some(step) = attempts.next().await {
        match step {
            Attempt::Done(result) => return result,
            Attempt::Retrying(notice) => tracing::warn!(?notice, "retrying"),
        }
    }
    unreachable!("the retry loop always ends with Attempt::Done")
}

/// A random number in `[0, 1)` from the standard library's per-process random hash keys: enough
/// to spread retries apart, without a dependency for it.
fn unit_random() -> f64 {
    let bits = RandomState::new().hash_one(std::time::Instant::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;
    use std::sync::{Arc, Mutex};

    fn server_error(status: u16) -> Error {
        Error::Server(ApiError {
            status: Some(status),
            message: "overloaded".into(),
            code: None,
            request_id: None,
            details: None,
        })
    }

    fn rate_limited(after: Option<Duration>, message: &str) -> Error {
        Error::RateLimited {
            error: ApiError {
                status: Some(429),
                message: message.into(),
                code: None,
                request_id: None,
                details: None,
            },
            retry_after: after,
        }
    }

    #[test]
    fn delays_grow_with_full_jitter_up_to_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(5),
        };
        let err = server_error(503);
        assert_eq!(
            policy.delay_after(1, &err, 0.999),
            Some(Duration::from_secs(1).mul_f64(0.999))
        );
        assert_eq!(
            policy.delay_after(3, &err, 0.5),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            policy.delay_after(9, &err, 0.999),
            Some(Duration::from_secs(5).mul_f64(0.999))
        );
        assert_eq!(policy.delay_after(2, &err, 0.0), Some(Duration::ZERO));
        assert_eq!(policy.delay_after(10, &err, 0.5), None, "attempts used up");
    }

    #[test]
    fn server_wait_is_honoured_up_to_the_cap_and_a_longer_one_is_not_retried() {
        let policy = RetryPolicy::default();
        let asked = rate_limited(Some(Duration::from_secs(2)), "slow down");
        assert_eq!(
            policy.delay_after(1, &asked, 0.1),
            Some(Duration::from_secs(2))
        );
        let at_cap = rate_limited(Some(Duration::from_secs(30)), "slow down");
        assert_eq!(
            policy.delay_after(1, &at_cap, 0.1),
            Some(Duration::from_secs(30))
        );
        let longer = rate_limited(Some(Duration::from_secs(120)), "slow down");
        assert_eq!(policy.delay_after(1, &longer, 0.1), None);
        assert_eq!(longer.retry_after(), Some(Duration::from_secs(120)));
    }

    #[test]
    fn final_errors_are_not_retried() {
        let policy = RetryPolicy::default();
        let quota = rate_limited(None, "Your monthly spending limit is exhausted");
        assert_eq!(policy.delay_after(1, &quota, 0.5), None);
        assert_eq!(policy.delay_after(1, &server_error(501), 0.5), None);
        let auth = Error::Auth(ApiError {
            status: Some(401),
            message: "bad key".into(),
            code: None,
            request_id: None,
            details: None,
        });
        assert_eq!(policy.delay_after(1, &auth, 0.5), None);
    }

    #[test]
    fn unit_random_stays_in_range() {
        for _ in 0..1000 {
            let r = unit_random();
            assert!((0.0..1.0).contains(&r));
        }
    }

    /// Runs the loop over scripted results and returns the steps and the attempts made.
    async fn run(
        policy: RetryPolicy,
        script: Vec<Result<&'static str, Error>>,
    ) -> (Vec<String>, u32) {
        let script = Arc::new(Mutex::new(script.into_iter()));
        let calls = Arc::new(Mutex::new(0));
        let (script2, calls2) = (script.clone(), calls.clone());
        let steps: Vec<_> = retrying(policy, move |attempt| {
            let next = script2.lock().unwrap().next().expect("script too short");
            *calls2.lock().unwrap() += 1;
            assert_eq!(attempt, *calls2.lock().unwrap());
            async move { next }
        })
        .map(|step| match step {
            Attempt::Retrying(ApiChunk::Retrying { attempt, delay, .. }) => {
                format!("retry {attempt} after {}ms", delay.as_millis())
            }
            Attempt::Retrying(other) => panic!("{other:?}"),
            Attempt::Done(Ok(value)) => format!("ok {value}"),
            Attempt::Done(Err(err)) => format!("err {}", err.status().unwrap_or(0)),
        })
        .collect()
        .await;
        let made = *calls.lock().unwrap();
        (steps, made)
    }

    #[tokio::test(start_paused = true)]
    async fn retries_until_success_and_waits_the_asked_time() {
        let started = tokio::time::Instant::now();
        let (steps, made) = run(
            RetryPolicy::default(),
            vec![
                Err(rate_limited(Some(Duration::from_secs(1)), "slow")),
                Ok("answer"),
            ],
        )
        .await;
        assert_eq!(steps, ["retry 1 after 1000ms", "ok answer"]);
        assert_eq!(made, 2);
        assert_eq!(started.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_last_attempt() {
        let policy = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        let (steps, made) = run(policy, (0..3).map(|_| Err(server_error(500))).collect()).await;
        assert_eq!(made, 3);
        assert_eq!(steps.len(), 3);
        assert!(steps[0].starts_with("retry 1 after") && steps[1].starts_with("retry 2 after"));
        assert_eq!(steps[2], "err 500");
    }

    #[tokio::test(start_paused = true)]
    async fn a_final_error_ends_at_once() {
        let (steps, made) = run(RetryPolicy::default(), vec![Err(server_error(400))]).await;
        assert_eq!((steps, made), (vec!["err 400".to_owned()], 1));
    }
}
