//! Fireworks AI: the settings, the model catalog, embeddings and [`FireworksProvider`], the
//! [`LlmProvider`] that sends to Fireworks (or any OpenAI-compatible endpoint), with the retry
//! and timeout policies it runs under.
//!
//! Fireworks specifics are configuration over the one OpenAI-compatible path (`request`,
//! `http`, `stream`), not a second code path.

mod cache;
mod catalog;
mod embeddings;
mod settings;

pub use crate::transport::http::{MAX_RESPONSE_BYTES, Timeouts};
pub use crate::transport::retry::RetryPolicy;
pub use catalog::{
    FIREWORKS_MODELS_PREFIX, full_model_id, known_model_ids, lookup as lookup_model,
};
pub use embeddings::{DEFAULT_EMBEDDING_BATCH, Embeddings, FireworksEmbedder};
pub use settings::{DEFAULT_BASE_URL, DEFAULT_MODEL_ID, FireworksSettings};

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use reqwest::Client;
use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tokio::time::Instant;

use crate::decode::StreamDecoder;
use crate::error::{Error, TimeoutKind, bounded};
use crate::host::cache_report::PromptLedger;
use crate::host::provider::{ApiStream, ChatRequest, LlmProvider, ModelInfo};
use crate::request::{BodyOptions, Budget, build_body};
use crate::stream::{UsageNotes, completion_stream};
use crate::telemetry::{self, RequestFields};
use crate::transport::http;
use crate::transport::retry::retry_to_end;

/// The [`LlmProvider`] for Fireworks. Cheap to clone; clones share one connection pool.
///
/// Redirects are never followed: a 3xx answer is [`Error::Redirected`], so a conversation and
/// its headers only ever go to the configured base URL.
#[derive(Clone)]
pub struct FireworksProvider {
    shared: Arc<Shared>,
}

#[derive(Clone)]
struct Shared {
    client: Client,
    chat_url: String,
    auth: HeaderValue,
    /// The host's headers (`FireworksSettings::with_header`) and the cache isolation key,
    /// marked sensitive so no debug output shows them.
    headers: HeaderMap,
    model: ModelInfo,
    settings: FireworksSettings,
    /// The chat URL's host and port, for telemetry.
    server: Option<(String, u16)>,
    /// The last request's fingerprint per cache key, when the cache report is on.
    prompt_ledger: Option<Arc<PromptLedger>>,
}

/// A model as the server's `GET /models` listing describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct RemoteModel {
    /// The model id to send.
    pub id: String,
    /// Its context window in tokens, when listed.
    #[serde(default)]
    pub context_length: Option<u32>,
    /// Whether it serves chat completions, when listed.
    #[serde(default)]
    pub supports_chat: Option<bool>,
    /// Whether it takes images, when listed.
    #[serde(default)]
    pub supports_image_input: Option<bool>,
    /// Whether it can call tools, when listed.
    #[serde(default)]
    pub supports_tools: Option<bool>,
}

impl FireworksProvider {
    /// Checks the settings (empty key, empty model id, bad URL: [`Error::Config`]) and builds the
    /// client.
    pub fn new(settings: FireworksSettings) -> Result<Self, Error> {
        let client = match &settings.http_client {
            Some(client) => client.clone(),
            None => Client::builder()
                .connect_timeout(settings.timeouts.connect)
                // A redirect would carry the conversation to another origin: a 3xx is an error.
                .redirect(reqwest::redirect::Policy::none())
                .tcp_nodelay(true)
                .user_agent(concat!("fireworks-provider/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|err| {
                    Error::Config(format!("the HTTP client could not be built: {err}"))
                })?,
        };
        Self::with_client(settings, client)
    }

    /// The same settings and connection pool, another model (its own catalog info, limits and
    /// prices; the settings' explicit limits still apply).
    pub fn with_model(&self, model_id: impl Into<String>) -> Result<Self, Error> {
        let mut settings = self.shared.settings.clone();
        settings.model_id = model_id.into();
        Self::with_client(settings, self.shared.client.clone())
    }

    fn with_client(settings: FireworksSettings, client: Client) -> Result<Self, Error> {
        settings.validate()?;
        let auth = http::bearer(settings.api_key.expose_secret())?;
        let headers = settings.header_map()?;
        let chat_url = format!("{}/chat/completions", settings.base_url);
        let server = reqwest::Url::parse(&chat_url).ok().and_then(|url| {
            let host = url.host_str()?.to_owned();
            Some((host, url.port_or_known_default()?))
        });
        Ok(FireworksProvider {
            shared: Arc::new(Shared {
                client,
                chat_url,
                auth,
                headers,
                model: effective_model(&settings, None),
                server,
                prompt_ledger: settings.cache_report.then(Arc::default),
                settings,
            }),
        })
    }

    /// An embedder for `model_id` (for example `nomic-ai/nomic-embed-text-v1.5`; a bare name
    /// is expanded as for chat models, on Fireworks' own endpoint only) sharing this provider's
    /// client, key and retry policy.
    pub fn embedder(&self, model_id: impl AsRef<str>) -> FireworksEmbedder {
        let model_id = sent_model_id(&self.shared.settings.base_url, model_id.as_ref());
        FireworksEmbedder::new(Arc::clone(&self.shared), model_id)
    }

    /// Asks the server which models it serves (`GET {base}/models`), so a host can fill in the
    /// limits of a model the catalog does not know.
    pub async fn list_models(&self) -> Result<Vec<RemoteModel>, Error> {
        #[derive(Deserialize)]
        struct Listing {
            data: Vec<RemoteModel>,
        }
        let body = self
            .shared
            .fetch(|shared| {
                let url = format!("{}/models", shared.settings.base_url);
                shared.client.get(url)
            })
            .await?;
        serde_json::from_slice::<Listing>(&body)
            .map(|listing| listing.data)
            .map_err(|err| Error::Decode {
                message: bounded(format!("the model listing is not what was expected: {err}")),
            })
    }

    /// Fills in the info of a model the catalog does not know from the server's listing
    /// (`GET {base}/models`): its `context_length`, `supports_image_input` and
    /// `supports_tools`, where listed. The settings still win (a context window or image
    /// support set there is kept), and a model the catalog knows, or the listing does not
    /// name, is left as it was. Returns the info now in use.
    ///
    /// Call it once after [`FireworksProvider::new`] when the model may be new or served by
    /// another server (vLLM, llama.cpp); clones made before keep the info they had. Its errors
    /// are those of [`FireworksProvider::list_models`]; a server without the listing leaves the
    /// provider usable with the default limits.
    pub async fn refresh_model_info(&mut self) -> Result<&ModelInfo, Error> {
        let settings = &self.shared.settings;
        let id = sent_model_id(&settings.base_url, &settings.model_id);
        if catalog_info(&id).is_none() {
            let listing = self.list_models().await?;
            if let Some(remote) = listing.iter().find(|model| model.id == id) {
                let model = effective_model(&self.shared.settings, Some(remote));
                Arc::make_mut(&mut self.shared).model = model;
            }
        }
        Ok(&self.shared.model)
    }
}

/// The model id as sent to the server at `base_url`: on Fireworks' own endpoint a bare name
/// (no `/`) becomes `accounts/fireworks/models/<name>`; anywhere else (vLLM, Ollama, llama.cpp
/// and gateways, whose model names are their own) the id is sent as given.
fn sent_model_id(base_url: &str, id: &str) -> String {
    if settings::is_fireworks_endpoint(base_url) {
        catalog::full_model_id(id)
    } else {
        id.trim().to_owned()
    }
}

/// The catalog's info for a model id as sent. A bare name (sent as given, off Fireworks'
/// endpoint) is not a Fireworks id, so the catalog does not know it.
fn catalog_info(sent_id: &str) -> Option<ModelInfo> {
    if sent_id.contains('/') {
        catalog::lookup(sent_id)
    } else {
        None
    }
}

/// The model's info, in layers: the catalog's entry for a Fireworks id it knows (limits and
/// prices; a dedicated deployment gets the limits only), else documented defaults with no
/// prices, completed by the server's listing (`remote`) when there is one; the settings' values
/// on top.
fn effective_model(settings: &FireworksSettings, remote: Option<&RemoteModel>) -> ModelInfo {
    let id = sent_model_id(&settings.base_url, &settings.model_id);
    let mut model = catalog_info(&id).unwrap_or_else(|| ModelInfo::unknown(&id));
    if let Some(remote) = remote {
        if let Some(context_window) = remote.context_length.filter(|tokens| *tokens > 0) {
            model.context_window = context_window;
        }
        if let Some(images) = remote.supports_image_input {
            model.supports_images = images;
        }
        if let Some(tools) = remote.supports_tools {
            model.supports_tools = tools;
        }
    }
    if let Some(context_window) = settings.context_window {
        model.context_window = context_window;
    }
    if let Some(max_tokens) = settings.max_tokens {
        model.max_tokens = max_tokens;
    }
    model.max_tokens = model.max_tokens.min(model.context_window);
    if let Some(images) = settings.supports_images {
        model.supports_images = images;
    }
    if let Some(style) = settings.reasoning_style {
        model.reasoning = style;
    }
    if let Some(send) = settings.send_reasoning_back {
        model.sends_reasoning_back = send;
    }
    if let Some((input, output, cache_read)) = settings.prices {
        model.input_price = Some(input);
        model.output_price = Some(output);
        model.cache_read_price = cache_read;
    }
    model
}

impl Shared {
    /// One whole request/response round trip under the retry policy: `build` makes the request
    /// (again for each attempt), the whole body comes back. Each attempt must end within the
    /// non-streaming timeout, its body within [`http::MAX_RESPONSE_BYTES`].
    async fn fetch(
        self: &Arc<Self>,
        build: impl Fn(&Shared) -> reqwest::RequestBuilder + Send + Sync + 'static,
    ) -> Result<Vec<u8>, Error> {
        let shared = Arc::clone(self);
        let build = Arc::new(build);
        retry_to_end(shared.settings.retry, move |_attempt| {
            let (shared, build) = (Arc::clone(&shared), Arc::clone(&build));
            async move {
                let timeouts = &shared.settings.timeouts;
                let deadline = timeouts.deadline(TimeoutKind::NonStreaming, Instant::now());
                let request = build(&shared).headers(shared.headers.clone());
                let response = http::send(request, &shared.auth, timeouts, deadline).await?;
                http::read_body(response, timeouts, deadline).await
            }
        })
        .await
    }
}

impl LlmProvider for FireworksProvider {
    fn model(&self) -> &ModelInfo {
        &self.shared.model
    }

    fn create_message(&self, request: ChatRequest) -> ApiStream {
        let shared = &self.shared;
        let settings = &shared.settings;
        let budget = if settings::is_fireworks_endpoint(&settings.base_url) {
            Budget::ServerTrims
        } else {
            Budget::Estimate
        };
        let body = build_body(
            &request,
            BodyOptions {
                model: &shared.model,
                defaults: &settings.options,
                send_reasoning_back: shared.model.sends_reasoning_back,
                derive_cache_key: settings
                    .cache_affinity
                    .then_some(cache::conversation_key as fn(&ChatRequest) -> String),
                budget,
                fingerprint: shared
                    .prompt_ledger
                    .as_ref()
                    .map(|_| cache::report_key as fn(&ChatRequest) -> String),
            },
        );
        let built = match body {
            Ok(built) => built,
            Err(error) => return Box::pin(futures::stream::once(async { Err(error) })),
        };
        let span = telemetry::chat_span(&RequestFields {
            model: &shared.model.id,
            max_tokens: built.max_tokens,
            temperature: built.temperature,
            server: shared
                .server
                .as_ref()
                .map(|(host, port)| (host.as_str(), *port)),
        });
        let notes = UsageNotes {
            model: shared.model.id.clone(),
            prefix: shared
                .prompt_ledger
                .as_ref()
                .zip(built.fingerprint)
                .map(|(ledger, (key, print))| ledger.check(&key, print)),
        };
        let body = Bytes::from(built.body);
        let sender = Arc::clone(shared);
        let send = move |_attempt: u32| {
            let (shared, body) = (Arc::clone(&sender), body.clone());
            async move {
                let request = http::post_json(&shared.client, &shared.chat_url, body)
                    .headers(shared.headers.clone());
                let timeouts = &shared.settings.timeouts;
                // The first event is due within the first-event timeout of sending.
                let deadline = timeouts.deadline(TimeoutKind::FirstEvent, Instant::now());
                let response = http::send(request, &shared.auth, timeouts, deadline).await?;
                let response = http::expect_event_stream(response, timeouts, deadline).await?;
                Ok((response, deadline))
            }
        };
        let decoding = Arc::clone(shared);
        let tool_call_deltas =
            request.options.tool_call_deltas || settings.options.tool_call_deltas;
        let new_decoder = move || {
            StreamDecoder::with_max_event_bytes(&decoding.model, decoding.settings.max_event_bytes)
                .with_tool_call_deltas(tool_call_deltas)
        };
        completion_stream(
            send,
            new_decoder,
            settings.retry,
            settings.timeouts,
            span,
            notes,
        )
    }
}

impl fmt::Debug for FireworksProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FireworksProvider")
            .field("model", &self.shared.model.id)
            .field("chat_url", &self.shared.chat_url)
            .field("api_key", &"[REDACTED]")
            .finish()
    }
}
