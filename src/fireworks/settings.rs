//! [`FireworksSettings`]: the key, the model and every knob of the Fireworks provider, with the
//! checks that turn a bad value into an [`Error::Config`] naming the setting (or the environment
//! variable it came from).

use std::fmt;
use std::sync::Arc;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::Catalog;
use super::cache::{self, CACHE_ISOLATION_HEADER};
use super::profile::Profile;
use secrecy::{ExposeSecret, SecretString};

use crate::decode::sse::DEFAULT_MAX_EVENT_BYTES;
use crate::decode::tools::DEFAULT_MAX_TOOL_ARGUMENT_BYTES;
use crate::error::Error;
use crate::host::ReasoningStyle;
use crate::host::RequestOptions;
use crate::transport::retry::RetryPolicy;
use crate::transport::timeouts::Timeouts;
use crate::transport::{ReqwestTransport, Transport};

/// The default API base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.fireworks.ai/inference/v1";

/// The model used when `FIREWORKS_MODEL_ID` is not set.
pub const DEFAULT_MODEL_ID: &str = "accounts/fireworks/models/kimi-k2p6";

/// Everything the Fireworks provider needs. `Debug` shows the key redacted and header values
/// hidden.
///
/// Besides [`FireworksSettings::new`], [`FireworksSettings::from_env`] and the `with_*` methods,
/// settings deserialize from a host's configuration (JSON, TOML, ...): the fields `api_key`,
/// `model_id`, `base_url`, `max_tokens`, `context_window`, `supports_images`,
/// `reasoning_style`, `send_reasoning_back`, `base_model`, `cache_affinity`, `cache_report`,
/// `cache_isolation_key`, `max_event_bytes`, `max_tool_argument_bytes`, `headers` (an object of
/// strings), `prices` (`{"input", "output", "cache_read"}`, USD per million tokens) and
/// `options` (a [`RequestOptions`] object), each also in camelCase (`apiKey`, `baseUrl`,
/// `maxTokens`, `cacheRead`, ...), with Cline's Fireworks field names accepted too:
/// `fireworksApiKey`, `fireworksModelId`, `fireworksModelMaxCompletionTokens` (max tokens) and
/// `fireworksModelMaxTokens` (context window). An unknown field, a field given twice, or a bad
/// value is an error naming the field as the configuration spells it. The key may be left out
/// for any server but `api.fireworks.ai` (no `Authorization` header is sent then). The key is
/// read, never serialized back.
///
/// ```
/// use fireworks_provider::FireworksSettings;
///
/// let cline_style = r#"{
///     "fireworksApiKey": "fw_example",
///     "fireworksModelId": "accounts/fireworks/models/glm-5p1",
///     "fireworksModelMaxCompletionTokens": 16384,
///     "fireworksModelMaxTokens": 202800,
///     "options": {"temperature": 0.6}
/// }"#;
/// let settings: FireworksSettings = serde_json::from_str(cline_style)?;
/// assert_eq!(settings.model_id(), "accounts/fireworks/models/glm-5p1");
/// assert!(!format!("{settings:?}").contains("fw_example"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone)]
pub struct FireworksSettings {
    pub(crate) api_key: SecretString,
    pub(crate) model_id: String,
    pub(crate) base_url: String,
    pub(crate) max_tokens: Option<u32>,
    pub(crate) context_window: Option<u32>,
    pub(crate) supports_images: Option<bool>,
    pub(crate) reasoning_style: Option<ReasoningStyle>,
    pub(crate) send_reasoning_back: Option<bool>,
    pub(crate) options: RequestOptions,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) transport: Option<Arc<dyn Transport>>,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeouts: Timeouts,
    pub(crate) max_event_bytes: usize,
    pub(crate) max_tool_argument_bytes: usize,
    pub(crate) cache_affinity: bool,
    pub(crate) cache_report: bool,
    pub(crate) cache_isolation_key: Option<String>,
    /// USD per million tokens: input, output, cached input.
    pub(crate) prices: Option<(f64, f64, Option<f64>)>,
    /// The host's catalog; `None`: the bundled one.
    pub(crate) catalog: Option<Catalog>,
    /// The catalog model a dedicated deployment serves.
    pub(crate) base_model: Option<String>,
}

impl FireworksSettings {
    /// Settings for `model_id` (a full id, or a bare name such as `kimi-k2p6`) with the default
    /// base URL, retry policy and timeouts.
    pub fn new(api_key: impl Into<String>, model_id: impl Into<String>) -> Self {
        FireworksSettings {
            api_key: SecretString::from(api_key.into()),
            model_id: model_id.into(),
            base_url: DEFAULT_BASE_URL.to_owned(),
            max_tokens: None,
            context_window: None,
            supports_images: None,
            reasoning_style: None,
            send_reasoning_back: None,
            options: RequestOptions::default(),
            headers: Vec::new(),
            transport: None,
            retry: RetryPolicy::default(),
            timeouts: Timeouts::default(),
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            max_tool_argument_bytes: DEFAULT_MAX_TOOL_ARGUMENT_BYTES,
            cache_affinity: true,
            cache_report: false,
            cache_isolation_key: None,
            prices: None,
            catalog: None,
            base_model: None,
        }
    }

    /// FIREWORKS_API_KEY, plus FIREWORKS_MODEL_ID, FIREWORKS_BASE_URL, FIREWORKS_MAX_TOKENS and
    /// FIREWORKS_CONTEXT_WINDOW when set. The key may be unset when FIREWORKS_BASE_URL points
    /// anywhere but `api.fireworks.ai`. A bad value is an [`Error::Config`] naming the
    /// variable.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`FireworksSettings::from_env`], reading variables through `lookup` (for tests and
    /// for hosts that keep their configuration elsewhere).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let set = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let api_key = lookup("FIREWORKS_API_KEY").unwrap_or_default();
        let model_id = set("FIREWORKS_MODEL_ID").unwrap_or_else(|| DEFAULT_MODEL_ID.to_owned());
        let mut settings = FireworksSettings::new(api_key, model_id.trim());
        if let Some(url) = set("FIREWORKS_BASE_URL") {
            check_base_url(&url, "FIREWORKS_BASE_URL")?;
            settings = settings.with_base_url(url);
        }
        check_api_key(
            settings.api_key.expose_secret(),
            &settings.base_url,
            "FIREWORKS_API_KEY",
        )?;
        settings.max_tokens = parse_count(set("FIREWORKS_MAX_TOKENS"), "FIREWORKS_MAX_TOKENS")?;
        settings.context_window =
            parse_count(set("FIREWORKS_CONTEXT_WINDOW"), "FIREWORKS_CONTEXT_WINDOW")?;
        check_token_limits(
            settings.max_tokens,
            settings.context_window,
            ("FIREWORKS_MAX_TOKENS", "FIREWORKS_CONTEXT_WINDOW"),
        )?;
        Ok(settings)
    }

    /// Sends to another OpenAI-compatible endpoint (default
    /// `https://api.fireworks.ai/inference/v1`).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        let base_url = without_password(base_url.into().trim());
        self.base_url = base_url.trim_end_matches('/').to_owned();
        self
    }

    /// The output cap sent as `max_tokens` (default: the model's own limit).
    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// The model's context window in tokens (default: the catalog's, else 131072).
    pub fn with_context_window(mut self, tokens: u32) -> Self {
        self.context_window = Some(tokens);
        self
    }

    /// Whether the model takes images (default: the catalog's; unknown models: yes, the
    /// server decides).
    pub fn with_images(mut self, supported: bool) -> Self {
        self.supports_images = Some(supported);
        self
    }

    /// How the model shows reasoning, for models the catalog does not know; for example
    /// [`ReasoningStyle::StartsInReasoning`] for a model that only ever closes `</think>`.
    pub fn with_reasoning_style(mut self, style: ReasoningStyle) -> Self {
        self.reasoning_style = Some(style);
        self
    }

    /// Whether earlier reasoning is sent back as `reasoning_content` on assistant messages, tool
    /// loops included, overriding the catalog (default: the model's models.dev `interleaved`
    /// field, [`ModelInfo::sends_reasoning_back`](crate::ModelInfo::sends_reasoning_back);
    /// unknown models: no). A turn's `reasoning_history` still decides for that turn.
    /// Configuration field: `send_reasoning_back`.
    pub fn with_send_reasoning_back(mut self, send: bool) -> Self {
        self.send_reasoning_back = Some(send);
        self
    }

    /// The old name of [`FireworksSettings::with_send_reasoning_back`].
    #[deprecated(since = "0.1.0", note = "use `with_send_reasoning_back`")]
    pub fn with_reasoning_sent_back(self, send: bool) -> Self {
        self.with_send_reasoning_back(send)
    }

    /// Defaults for every request's [`RequestOptions`]; a request's own options win field by
    /// field, and these win over the model's catalog defaults.
    pub fn with_options(mut self, options: RequestOptions) -> Self {
        self.options = options;
        self
    }

    /// A header sent with every request (gateways, tracing ids). Its value is never logged nor
    /// shown by `Debug`. `Authorization`, `Content-Type`, `Content-Length` and `Host` are the
    /// provider's own, and `Transfer-Encoding`, `Content-Encoding`, `Connection`, `Upgrade`,
    /// `TE`, `Keep-Alive` and `Accept-Encoding` would change the request's framing, its
    /// connection or the answer's encoding: [`FireworksSettings::validate`] refuses them all.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sends through this client (proxies, custom root certificates, ...) instead of one the
    /// provider builds; the client's own redirect and timeout policy then apply, and the
    /// connect timeout of [`FireworksSettings::with_timeouts`] does not.
    pub fn with_http_client(self, client: reqwest::Client) -> Self {
        self.with_transport(ReqwestTransport::new(client))
    }

    /// Sends through `transport` instead of a `reqwest::Client`: a host's own HTTP stack, a
    /// recorder, or (feature `test-support`) a `ScriptedTransport`.
    /// The provider's deadlines, size caps, redirect refusal and retries still apply: they sit
    /// above the transport.
    pub fn with_transport(mut self, transport: impl Transport + 'static) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// How failed requests are retried (default: 3 attempts, waits up to 30 s).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The connect, first-event and idle timeouts.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The largest single stream event accepted (default 16 MiB); a larger one ends the stream
    /// with [`Error::Decode`] instead of growing memory without bound.
    pub fn with_max_event_bytes(mut self, bytes: usize) -> Self {
        self.max_event_bytes = bytes;
        self
    }

    /// The most argument bytes the tool calls of one response may send in all (default
    /// 16 MiB, [`DEFAULT_MAX_TOOL_ARGUMENT_BYTES`]: several MiB of source code in one call
    /// pass); more ends the stream with [`Error::Decode`] naming this cap instead of growing
    /// memory without bound.
    pub fn with_max_tool_argument_bytes(mut self, bytes: usize) -> Self {
        self.max_tool_argument_bytes = bytes;
        self
    }

    /// Whether each request carries a `prompt_cache_key` derived from its conversation (default
    /// on), so that every turn of a conversation reuses one replica's prompt cache.
    pub fn with_cache_affinity(mut self, enabled: bool) -> Self {
        self.cache_affinity = enabled;
        self
    }

    /// Whether each [`Usage`](crate::Usage) of a request with a cache key (the request's, the
    /// settings', or the derived one) carries a [`CacheReport`](crate::CacheReport): how much
    /// of the prompt matches the previous request under that key, and where it broke (default
    /// off). The provider keeps a fingerprint (a 64-bit hash and a size per message, none of
    /// the text) of the last request under each of at most
    /// [`MAX_REPORTED_KEYS`](crate::MAX_REPORTED_KEYS) keys. The cost is one more
    /// serialization pass over the request per turn, into a hasher: about 3 ms for a 200k-token
    /// conversation with two 1 MiB images (`cargo bench --bench scale`; see the README).
    pub fn with_cache_report(mut self, enabled: bool) -> Self {
        self.cache_report = enabled;
        self
    }

    /// Sends this `x-prompt-cache-isolation-key` header with every request, for hosts that must
    /// keep tenants' prompt caches apart.
    pub fn with_cache_isolation_key(mut self, key: impl Into<String>) -> Self {
        self.cache_isolation_key = Some(key.into());
        self
    }

    /// The model's prices in USD per million tokens (input, output, and cached input; `None`
    /// prices cached input like any input), for any model: a dedicated deployment, a model the
    /// catalog does not know, or negotiated prices. Without them only the catalog's serverless
    /// models have a cost.
    pub fn with_prices(mut self, input: f64, output: f64, cache_read: Option<f64>) -> Self {
        self.prices = Some((input, output, cache_read));
        self
    }

    /// The model catalog to describe models from, instead of the bundled one: newer models.dev
    /// data loaded with [`Catalog::from_models_dev_json`] (which falls back to the bundled
    /// entries for whatever it does not say).
    pub fn with_catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = Some(catalog);
        self
    }

    /// The catalog model a dedicated deployment addressed as `accounts/<a>/deployments/<d>`
    /// serves (for example `kimi-k2p6`): the deployment then gets that model's limits and
    /// reasoning options, never its per-token prices. A deployment written
    /// `<model>#<deployment>` names its model already.
    pub fn with_base_model(mut self, model_id: impl Into<String>) -> Self {
        self.base_model = Some(model_id.into());
        self
    }

    /// The model id as given.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Checks every setting; the error names the first bad one. The key may be empty (no
    /// `Authorization` header is sent then) except for Fireworks' own endpoint,
    /// `api.fireworks.ai`, which needs one.
    pub fn validate(&self) -> Result<(), Error> {
        self.validate_named(&|field| field.to_owned())
    }

    /// [`FireworksSettings::validate`], naming each setting by `name` (the spelling a
    /// configuration used for it).
    pub(crate) fn validate_named(
        &self,
        name: &dyn Fn(&'static str) -> String,
    ) -> Result<(), Error> {
        check_base_url(&self.base_url, &name("base_url"))?;
        check_api_key(
            self.api_key.expose_secret(),
            &self.base_url,
            &name("api_key"),
        )?;
        if self.model_id.trim().is_empty() {
            let field = name("model_id");
            return Err(Error::Config(format!("{field} must not be empty")));
        }
        for (value, field) in [
            (self.max_tokens, "max_tokens"),
            (self.context_window, "context_window"),
        ] {
            if value == Some(0) {
                let field = name(field);
                return Err(Error::Config(format!("{field} must be at least 1")));
            }
        }
        check_token_limits(
            self.max_tokens,
            self.context_window,
            (&name("max_tokens"), &name("context_window")),
        )?;
        self.options
            .check_values()
            .map_err(|rule| Error::Config(format!("{}: {rule}", name("options"))))?;
        self.header_map()?;
        if let Some((input, output, cache_read)) = self.prices {
            let prices = [
                ("prices.input", Some(input)),
                ("prices.output", Some(output)),
                ("prices.cache_read", cache_read),
            ];
            for (field, price) in prices {
                if let Some(price) = price.filter(|price| !(price.is_finite() && *price >= 0.0)) {
                    return Err(Error::Config(format!(
                        "{} must be finite and not negative (USD per million tokens), not {price}",
                        name(field)
                    )));
                }
            }
        }
        if self.retry.max_attempts == 0 {
            return Err(Error::Config(
                "retry policy max_attempts must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The headers sent with every request besides the provider's own: the host's
    /// ([`FireworksSettings::with_header`]) and the cache isolation key, each value marked
    /// sensitive so that no debug output shows it. A header that cannot be sent, or would
    /// replace one the provider sets itself, is an [`Error::Config`] naming it (never its value).
    pub(crate) fn header_map(&self) -> Result<HeaderMap, Error> {
        const OWN: [&str; 4] = ["authorization", "content-type", "content-length", "host"];
        // Headers that change how the request is framed or the connection kept, or ask for an
        // encoding the provider does not read: the server would be told one thing and sent
        // another.
        const FRAMING: [&str; 7] = [
            "transfer-encoding",
            "content-encoding",
            "connection",
            "upgrade",
            "te",
            "keep-alive",
            "accept-encoding",
        ];
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let parsed = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Error::Config(format!(
                    "header name {name:?} is not a valid HTTP header name"
                ))
            })?;
            if OWN.contains(&parsed.as_str()) {
                return Err(Error::Config(format!(
                    "header {name:?} is set by the provider and cannot be replaced"
                )));
            }
            if FRAMING.contains(&parsed.as_str()) {
                return Err(Error::Config(format!(
                    "header {name:?} would change how the request is framed, the connection \
                     kept or the answer encoded, and cannot be set"
                )));
            }
            let mut value = HeaderValue::from_str(value).map_err(|_| {
                Error::Config(format!(
                    "the value of header {name:?} holds characters an HTTP header cannot carry"
                ))
            })?;
            value.set_sensitive(true);
            headers.append(parsed, value);
        }
        if let Some(key) = &self.cache_isolation_key {
            headers.insert(CACHE_ISOLATION_HEADER, cache::isolation_header(key)?);
        }
        Ok(headers)
    }
}

impl fmt::Debug for FireworksSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("FireworksSettings")
            .field("api_key", &"[REDACTED]")
            .field("model_id", &self.model_id)
            .field("base_url", &self.base_url)
            .field("max_tokens", &self.max_tokens)
            .field("context_window", &self.context_window)
            .field("supports_images", &self.supports_images)
            .field("reasoning_style", &self.reasoning_style)
            .field("send_reasoning_back", &self.send_reasoning_back)
            .field("options", &self.options)
            .field("headers", &header_names)
            .field("transport", &self.transport)
            .field("retry", &self.retry)
            .field("timeouts", &self.timeouts)
            .field("max_event_bytes", &self.max_event_bytes)
            .field("max_tool_argument_bytes", &self.max_tool_argument_bytes)
            .field("cache_affinity", &self.cache_affinity)
            .field("cache_report", &self.cache_report)
            .field("prices", &self.prices)
            .field("catalog", &self.catalog)
            .field("base_model", &self.base_model)
            .field(
                "cache_isolation_key",
                &self.cache_isolation_key.as_ref().map(|_| "[set]"),
            )
            .finish()
    }
}

/// A key must be sendable as a header; an empty one (no `Authorization` header sent) is
/// accepted everywhere but at `api.fireworks.ai`, which needs a key.
fn check_api_key(key: &str, base_url: &str, name: &str) -> Result<(), Error> {
    if key.is_empty() {
        if Profile::for_base_url(base_url).requires_key {
            return Err(Error::Config(format!(
                "{name} is missing or empty: api.fireworks.ai needs an API key (other servers, \
                 with a base URL of their own, may go without one)"
            )));
        }
        return Ok(());
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        // Never echo the key itself.
        return Err(Error::Config(format!(
            "{name} contains whitespace or a control character (a stray newline?)"
        )));
    }
    Ok(())
}

/// A base URL must be http(s) with a host and nothing that would be lost or leaked when paths
/// are appended to it: no user name or password (they would become a second `Authorization`
/// header and show in debug output), no query, no fragment. A URL that may hold a password is
/// never echoed.
fn check_base_url(url: &str, name: &str) -> Result<(), Error> {
    let shown = if url.contains('@') {
        "a URL with '@' (not shown: it may hold a password)".to_owned()
    } else {
        format!("{url:?}")
    };
    let parsed = reqwest::Url::parse(url)
        .map_err(|err| Error::Config(format!("{name} is not a valid URL ({err}): {shown}")))?;
    let refusal = if !matches!(parsed.scheme(), "http" | "https") || !parsed.has_host() {
        "must be an http(s) URL"
    } else if !parsed.username().is_empty() || parsed.password().is_some() {
        "must not hold a user name or password (the key is sent as a bearer token)"
    } else if parsed.query().is_some() {
        "must not have a query string (paths are appended to it)"
    } else if parsed.fragment().is_some() {
        "must not have a fragment (paths are appended to it)"
    } else {
        return Ok(());
    };
    Err(Error::Config(format!("{name} {refusal}; got {shown}")))
}

/// `url` with any password replaced, so that settings holding such a URL (which
/// [`FireworksSettings::validate`] refuses) never show the password in debug output. Any other
/// URL that is not an http(s) URL with a host (it does not parse: a bad port, a space in the
/// host; or it has no scheme, so `user:pw@host` reads as scheme `user`) but has an `@` loses
/// everything between its scheme and its last `@`: what a password could be.
fn without_password(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("hidden"));
            parsed.to_string()
        }
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => {
            url.to_owned()
        }
        _ => match url.rfind('@') {
            Some(at) => {
                let start = url.find("://").map_or(0, |scheme| scheme + 3).min(at);
                format!("{}[hidden]{}", &url[..start], &url[at..])
            }
            None => url.to_owned(),
        },
    }
}

fn parse_count(value: Option<String>, name: &str) -> Result<Option<u32>, Error> {
    let Some(value) = value else { return Ok(None) };
    match value.trim().parse::<u32>() {
        Ok(0) => Err(Error::Config(format!("{name} must be at least 1, not 0"))),
        Ok(count) => Ok(Some(count)),
        Err(_) => Err(Error::Config(format!(
            "{name} must be a whole number of tokens, not {value:?}"
        ))),
    }
}

fn check_token_limits(
    max_tokens: Option<u32>,
    context_window: Option<u32>,
    (max_name, context_name): (&str, &str),
) -> Result<(), Error> {
    match (max_tokens, context_window) {
        (Some(max), Some(context)) if max > context => Err(Error::Config(format!(
            "{max_name} ({max}) is larger than {context_name} ({context})"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<FireworksSettings, Error> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        FireworksSettings::from_lookup(|name| vars.get(name).cloned())
    }

    fn config_error(result: Result<FireworksSettings, Error>) -> String {
        match result {
            Err(Error::Config(message)) => message,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn environment_gives_every_setting() {
        let settings = from(&[
            ("FIREWORKS_API_KEY", "fw_secret"),
            ("FIREWORKS_MODEL_ID", "glm-5p1"),
            ("FIREWORKS_BASE_URL", "http://127.0.0.1:8000/v1/"),
            ("FIREWORKS_MAX_TOKENS", "4096"),
            ("FIREWORKS_CONTEXT_WINDOW", "32768"),
        ])
        .unwrap();
        assert_eq!(settings.model_id(), "glm-5p1");
        assert_eq!(settings.base_url(), "http://127.0.0.1:8000/v1");
        assert_eq!(
            (settings.max_tokens, settings.context_window),
            (Some(4096), Some(32768))
        );
        let defaults = from(&[("FIREWORKS_API_KEY", "fw_secret")]).unwrap();
        assert_eq!(defaults.model_id(), DEFAULT_MODEL_ID);
        assert_eq!(defaults.base_url(), DEFAULT_BASE_URL);
    }

    #[test]
    fn each_bad_variable_is_named() {
        let key = ("FIREWORKS_API_KEY", "fw_secret");
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![], "FIREWORKS_API_KEY is missing"),
            (
                vec![("FIREWORKS_API_KEY", "")],
                "FIREWORKS_API_KEY is missing",
            ),
            (
                vec![("FIREWORKS_API_KEY", "fw_se cret")],
                "FIREWORKS_API_KEY contains whitespace",
            ),
            (
                vec![("FIREWORKS_API_KEY", "fw_secret\n")],
                "FIREWORKS_API_KEY contains whitespace",
            ),
            (
                vec![key, ("FIREWORKS_MAX_TOKENS", "lots")],
                "FIREWORKS_MAX_TOKENS must be a whole number",
            ),
            (
                vec![key, ("FIREWORKS_MAX_TOKENS", "0")],
                "FIREWORKS_MAX_TOKENS must be at least 1",
            ),
            (
                vec![key, ("FIREWORKS_CONTEXT_WINDOW", "-5")],
                "FIREWORKS_CONTEXT_WINDOW must be a whole number",
            ),
            (
                vec![
                    key,
                    ("FIREWORKS_MAX_TOKENS", "9000"),
                    ("FIREWORKS_CONTEXT_WINDOW", "8192"),
                ],
                "FIREWORKS_MAX_TOKENS (9000) is larger than FIREWORKS_CONTEXT_WINDOW (8192)",
            ),
            (
                vec![key, ("FIREWORKS_BASE_URL", "ftp://example.com")],
                "FIREWORKS_BASE_URL must be an http(s) URL",
            ),
            (
                vec![key, ("FIREWORKS_BASE_URL", "localhost:8000")],
                "FIREWORKS_BASE_URL",
            ),
            (
                vec![
                    key,
                    ("FIREWORKS_BASE_URL", "https://me:fw_se@proxy.example/v1"),
                ],
                "FIREWORKS_BASE_URL must not hold a user name or password",
            ),
            (
                vec![
                    key,
                    ("FIREWORKS_BASE_URL", "https://proxy.example/v1?team=a"),
                ],
                "FIREWORKS_BASE_URL must not have a query string",
            ),
        ];
        for (vars, expected) in cases {
            let message = config_error(from(&vars));
            assert!(message.contains(expected), "{vars:?}: {message}");
            assert!(!message.contains("fw_se"), "the key leaked: {message}");
        }
    }

    #[test]
    fn the_key_may_be_left_out_off_fireworks_only() {
        let local = from(&[("FIREWORKS_BASE_URL", "http://127.0.0.1:8080/v1")]).unwrap();
        assert_eq!(local.api_key.expose_secret(), "");
        let message = config_error(from(&[(
            "FIREWORKS_BASE_URL",
            "https://API.fireworks.ai/inference/v1",
        )]));
        assert!(
            message.starts_with("FIREWORKS_API_KEY is missing or empty: api.fireworks.ai"),
            "{message}"
        );
    }

    #[test]
    fn validate_names_the_setting() {
        let ok = FireworksSettings::new("k", "m");
        assert!(ok.validate().is_ok());
        let cases = [
            (FireworksSettings::new("", "m"), "api_key"),
            (FireworksSettings::new("k", " "), "model_id"),
            (
                FireworksSettings::new("k", "m").with_base_url("file:///etc"),
                "base_url",
            ),
            (
                FireworksSettings::new("k", "m").with_base_url("not a url"),
                "base_url",
            ),
            (
                FireworksSettings::new("k", "m").with_max_tokens(0),
                "max_tokens",
            ),
            (
                FireworksSettings::new("k", "m")
                    .with_max_tokens(10)
                    .with_context_window(5),
                "max_tokens (10) is larger than context_window (5)",
            ),
        ];
        for (settings, expected) in cases {
            match settings.validate() {
                Err(Error::Config(message)) => assert!(message.contains(expected), "{message}"),
                other => panic!("{expected}: {other:?}"),
            }
        }
    }
}
