//! [`RateLimits`]: the account's limits and what is left of them, as the server's
//! `x-ratelimit-*` response headers state them. Plain numbers, so an error carrying them stays
//! bounded; read from the headers by `transport`.

/// What the `x-ratelimit-*` headers of one response said: the account's current limits and
/// what remains of them. Each field is `None` when its header was absent or not a number.
///
/// Fireworks' limits are adaptive and stated in tokens per second for the token counts (its
/// rate-limits guide), in requests for the request counts; this type keeps the numbers as
/// sent. A server may send only some of them.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// `x-ratelimit-limit-requests`.
    pub limit_requests: Option<u64>,
    /// `x-ratelimit-remaining-requests`.
    pub remaining_requests: Option<u64>,
    /// `x-ratelimit-limit-tokens-prompt`: all prompt tokens, cached and uncached.
    pub limit_prompt_tokens: Option<u64>,
    /// `x-ratelimit-remaining-tokens-prompt`.
    pub remaining_prompt_tokens: Option<u64>,
    /// `x-ratelimit-limit-tokens-cache-adjusted-prompt`: prompt tokens counted after the
    /// prompt cache (uncached ones).
    pub limit_cache_adjusted_prompt_tokens: Option<u64>,
    /// `x-ratelimit-remaining-tokens-cache-adjusted-prompt`.
    pub remaining_cache_adjusted_prompt_tokens: Option<u64>,
    /// `x-ratelimit-limit-tokens-generated`: output tokens.
    pub limit_generated_tokens: Option<u64>,
    /// `x-ratelimit-remaining-tokens-generated`.
    pub remaining_generated_tokens: Option<u64>,
    /// `x-ratelimit-over-limit`: whether the account is over one of its limits.
    pub over_limit: Option<bool>,
}

impl RateLimits {
    /// No limit known.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no header gave anything.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}
