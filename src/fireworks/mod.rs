//! Fireworks AI: the settings, the model catalog, embeddings, reranking and
//! [`FireworksProvider`], the [`LlmProvider`] that sends to Fireworks (or any OpenAI-compatible
//! endpoint), with the retry and timeout policies it runs under.
//!
//! Fireworks specifics are configuration over the one OpenAI-compatible path (`request`,
//! `http`, `stream`), not a second code path.

pub(crate) mod cache;
mod catalog;
mod embeddings;
mod profile;
mod rerank;
mod settings;

pub use crate::transport::http::MAX_RESPONSE_BYTES;
pub use crate::transport::retry::RetryPolicy;
pub use crate::transport::timeouts::Timeouts;
pub use catalog::{
    Catalog, FIREWORKS_MODELS_PREFIX, full_model_id, known_model_ids, lookup as lookup_model,
};
pub use embeddings::{DEFAULT_EMBEDDING_BATCH, Embeddings, FireworksEmbedder};
pub use rerank::{FireworksReranker, RerankResult, Reranking};
pub use settings::{DEFAULT_BASE_URL, DEFAULT_MODEL_ID, FireworksSettings};

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, HeaderMap};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tokio::time::Instant;

use crate::decode::StreamDecoder;
use crate::error::redact::Secrets;
use crate::error::{BoxError, Error, TimeoutKind, bounded};
use crate::host::cache_report::PromptLedger;
use crate::host::{ApiStream, ChatRequest, LlmProvider, ModelInfo};
use crate::request::{BodyOptions, build_body, check_defaults};
use crate::stream::{UsageNotes, completion_stream};
use crate::telemetry::{self, RequestFields};
use crate::transport::http;
use crate::transport::retry::retry_to_end;
use crate::transport::{HttpRequest, ReqwestTransport, Transport};
use profile::Profile;

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
    transport: Arc<dyn Transport>,
    chat_url: String,
    /// Every request's headers: the key (when the settings hold one; a server that takes none
    /// gets no `Authorization`), the host's own (`FireworksSettings::with_header`) and the cache
    /// isolation key, each marked sensitive so no debug output shows it.
    headers: HeaderMap,
    /// The key and every sensitive header value, cut out of every error.
    secrets: Secrets,
    model: ModelInfo,
    settings: FireworksSettings,
    /// The rules of the endpoint the base URL names.
    profile: Profile,
    /// The chat URL's host and port, for telemetry.
    server: Option<(String, u16)>,
    /// The last request's fingerprint per cache key, when the cache report is on.
    prompt_ledger: Option<Arc<PromptLedger>>,
}

/// A model as the server's `GET /models` listing describes it.
///
/// Listings differ by server; each entry is read from whichever of these it has:
///
/// | field | Fireworks, OpenRouter | vLLM | llama.cpp `llama-server` |
/// |---|---|---|---|
/// | [`id`](RemoteModel::id) | `id` | `id` | `id` (in `data`), `model` or `name` (in `models`) |
/// | [`context_length`](RemoteModel::context_length) | `context_length` | `max_model_len` | `meta.n_ctx` (the context it runs with), else `meta.n_ctx_train` |
/// | [`aliases`](RemoteModel::aliases) | | | `aliases` (router mode) |
///
/// The listing is `{"data": [...]}`; llama.cpp adds an Ollama-style `{"models": [...]}` beside
/// it, whose entries are read too (a model listed in both is listed once).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "ListedModel")]
#[non_exhaustive]
pub struct RemoteModel {
    /// The model id to send.
    pub id: String,
    /// Its context window in tokens, when listed.
    pub context_length: Option<u32>,
    /// Whether it serves chat completions, when listed.
    pub supports_chat: Option<bool>,
    /// Whether it takes images, when listed.
    pub supports_image_input: Option<bool>,
    /// Whether it can call tools, when listed.
    pub supports_tools: Option<bool>,
    /// Other names the server answers to for this model.
    pub aliases: Vec<String>,
    /// Who the server says owns it (`"vllm"`, `"llamacpp"`, `"fireworks"`, ...), when listed.
    pub owned_by: Option<String>,
}

/// One entry of a listing, in any server's shape (see [`RemoteModel`]).
#[derive(Deserialize)]
struct ListedModel {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    context_length: Option<u64>,
    #[serde(default)]
    max_model_len: Option<u64>,
    #[serde(default)]
    meta: Option<LlamaCppMeta>,
    #[serde(default)]
    supports_chat: Option<bool>,
    #[serde(default)]
    supports_image_input: Option<bool>,
    #[serde(default)]
    supports_tools: Option<bool>,
    #[serde(default)]
    aliases: Option<Vec<String>>,
    #[serde(default)]
    owned_by: Option<String>,
}

/// llama.cpp's `meta` object: the context the server runs with and the one the model was
/// trained for.
#[derive(Deserialize)]
struct LlamaCppMeta {
    #[serde(default)]
    n_ctx: Option<u64>,
    #[serde(default)]
    n_ctx_train: Option<u64>,
}

/// A `GET /models` answer: `data`, and llama.cpp's `models` beside it.
#[derive(Deserialize)]
struct Listing {
    #[serde(default)]
    data: Option<Vec<ListedModel>>,
    #[serde(default)]
    models: Option<Vec<ListedModel>>,
}

impl ListedModel {
    /// The entry as a [`RemoteModel`]; `None` when it names no model. A context of 0, or
    /// one past `u32`, counts as not listed.
    fn into_remote(self) -> Option<RemoteModel> {
        let id = self.id.or(self.model).or(self.name)?;
        let tokens = |n: Option<u64>| n.and_then(|n| u32::try_from(n).ok()).filter(|n| *n > 0);
        let meta = self.meta.as_ref();
        let context_length = tokens(self.context_length)
            .or(tokens(self.max_model_len))
            .or_else(|| tokens(meta.and_then(|meta| meta.n_ctx)))
            .or_else(|| tokens(meta.and_then(|meta| meta.n_ctx_train)));
        Some(RemoteModel {
            id,
            context_length,
            supports_chat: self.supports_chat,
            supports_image_input: self.supports_image_input,
            supports_tools: self.supports_tools,
            aliases: self.aliases.into_iter().flatten().collect(),
            owned_by: self.owned_by,
        })
    }
}

impl TryFrom<ListedModel> for RemoteModel {
    type Error = &'static str;

    fn try_from(entry: ListedModel) -> Result<Self, Self::Error> {
        entry
            .into_remote()
            .ok_or("a listed model has no `id`, `model` or `name`")
    }
}

impl Listing {
    /// Every model listed, `data` first, each id once; `None` when the answer has neither
    /// list.
    fn into_models(self) -> Option<Vec<RemoteModel>> {
        if self.data.is_none() && self.models.is_none() {
            return None;
        }
        let mut models: Vec<RemoteModel> = Vec::new();
        let entries = self.data.into_iter().flatten();
        for remote in entries
            .chain(self.models.into_iter().flatten())
            .filter_map(ListedModel::into_remote)
        {
            if !models.iter().any(|known| known.id == remote.id) {
                models.push(remote);
            }
        }
        Some(models)
    }
}

/// The listed model a request for `id` reaches: the one with that id or alias, else, when
/// the server is llama.cpp serving a single model (which answers whatever name a request
/// gives), that model.
fn served_as<'a>(models: &'a [RemoteModel], id: &str) -> Option<&'a RemoteModel> {
    let named = models
        .iter()
        .find(|model| model.id == id || model.aliases.iter().any(|alias| alias == id));
    named.or(match models {
        [only] if only.owned_by.as_deref() == Some("llamacpp") => Some(only),
        _ => None,
    })
}

impl FireworksProvider {
    /// Checks the settings (empty key, empty model id, bad URL, default reasoning controls the
    /// model does not accept: [`Error::Config`]) and builds the client.
    pub fn new(settings: FireworksSettings) -> Result<Self, Error> {
        let transport: Arc<dyn Transport> = match &settings.transport {
            Some(transport) => Arc::clone(transport),
            None => Arc::new(
                ReqwestTransport::with_connect_timeout(settings.timeouts.connect).map_err(
                    |err| Error::Network {
                        message: bounded(format!("the HTTP client could not be built: {err}")),
                        source: Some(Box::new(err)),
                    },
                )?,
            ),
        };
        Self::with_transport(settings, transport)
    }

    /// The same settings and connection pool, another model (its own catalog info, limits and
    /// prices; the settings' explicit limits still apply).
    pub fn with_model(&self, model_id: impl Into<String>) -> Result<Self, Error> {
        let mut settings = self.shared.settings.clone();
        settings.model_id = model_id.into();
        Self::with_transport(settings, Arc::clone(&self.shared.transport))
    }

    fn with_transport(
        settings: FireworksSettings,
        transport: Arc<dyn Transport>,
    ) -> Result<Self, Error> {
        settings.validate()?;
        let mut headers = settings.header_map()?;
        let key = settings.api_key.expose_secret();
        if !key.is_empty() {
            headers.insert(AUTHORIZATION, http::bearer(key)?);
        }
        // The key itself (not its `Bearer` header) and every other sensitive value.
        let sensitive = headers
            .iter()
            .filter(|(name, value)| *name != AUTHORIZATION && value.is_sensitive());
        let secrets = Secrets::new(std::iter::once(key.to_owned()).chain(
            sensitive.map(|(_, value)| String::from_utf8_lossy(value.as_bytes()).into_owned()),
        ));
        let model = effective_model(&settings, None);
        check_defaults(&settings.options, &model)?;
        let chat_url = format!("{}/chat/completions", settings.base_url);
        let server = reqwest::Url::parse(&chat_url).ok().and_then(|url| {
            let host = url.host_str()?.to_owned();
            Some((host, url.port_or_known_default()?))
        });
        Ok(FireworksProvider {
            shared: Arc::new(Shared {
                transport,
                chat_url,
                headers,
                secrets,
                model,
                profile: Profile::for_base_url(&settings.base_url),
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

    /// A reranker for `model_id` (for example `qwen3-reranker-8b`; a bare name is expanded as
    /// for chat models, on Fireworks' own endpoint only) sharing this provider's client, key
    /// and retry policy.
    pub fn reranker(&self, model_id: impl AsRef<str>) -> FireworksReranker {
        let model_id = sent_model_id(&self.shared.settings.base_url, model_id.as_ref());
        FireworksReranker::new(Arc::clone(&self.shared), model_id)
    }

    /// Asks the server which models it serves (`GET {base}/models`), so a host can fill in the
    /// limits of a model the catalog does not know.
    pub async fn list_models(&self) -> Result<Vec<RemoteModel>, Error> {
        let body = self
            .shared
            .fetch(|shared| {
                let url = format!("{}/models", shared.settings.base_url);
                http::get(url, shared.headers.clone())
            })
            .await?;
        let decode_error = |message: String, source: Option<BoxError>| {
            self.shared.secrets.error(Error::Decode {
                message: bounded(message),
                source,
            })
        };
        let listing = serde_json::from_slice::<Listing>(&body).map_err(|err| {
            let message = format!("the model listing is not what was expected: {err}");
            decode_error(message, Some(Box::new(err)))
        })?;
        listing.into_models().ok_or_else(|| {
            decode_error(
                "the model listing has neither `data` nor `models`".into(),
                None,
            )
        })
    }

    /// Fills in the info of a model the catalog does not know from the server's listing
    /// (`GET {base}/models`): its context window (Fireworks' and OpenRouter's
    /// `context_length`, vLLM's `max_model_len`, llama.cpp's `meta.n_ctx`; see
    /// [`RemoteModel`]), `supports_image_input` and `supports_tools`, where listed. The model
    /// is found by its id or one of its aliases; a llama.cpp server that serves one model
    /// gives that model whatever its name. The settings still win (a context window or image
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
        if described(settings, &id).is_none() {
            let listing = self.list_models().await?;
            if let Some(remote) = served_as(&listing, &id) {
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
    Profile::for_base_url(base_url).model_id(id)
}

/// The catalog's info for a model id as sent: the settings' catalog (else the bundled one) for
/// the id, else for the base model the settings name (`with_base_model`, a dedicated deployment
/// gets its limits, not its prices). A bare name (sent as given, off Fireworks' endpoint) is not
/// a Fireworks id, so the catalog does not know it.
fn described(settings: &FireworksSettings, sent_id: &str) -> Option<ModelInfo> {
    if !sent_id.contains('/') {
        return None;
    }
    let catalog = settings.catalog.clone().unwrap_or_else(Catalog::bundled);
    catalog.lookup(sent_id).or_else(|| {
        let base = settings.base_model.as_deref()?;
        catalog.deployment_of(base, sent_id)
    })
}

/// The model's info, in layers: the catalog's entry for a Fireworks id it knows (limits and
/// prices; a dedicated deployment gets the limits only), else documented defaults with no
/// prices, completed by the server's listing (`remote`) when there is one; the settings' values
/// on top.
fn effective_model(settings: &FireworksSettings, remote: Option<&RemoteModel>) -> ModelInfo {
    let id = sent_model_id(&settings.base_url, &settings.model_id);
    let mut model = described(settings, &id).unwrap_or_else(|| catalog::unknown(&id));
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

/// A model-not-found error with the model id the request sent in it.
fn naming_model(error: Error, sent_id: &str) -> Error {
    match error {
        Error::ModelNotFound(api) => Error::ModelNotFound(api.with_model(sent_id)),
        other => other,
    }
}

impl Shared {
    /// One whole request/response round trip under the retry policy: `build` makes the request
    /// (again for each attempt), the whole body comes back. Each attempt must end within the
    /// non-streaming timeout, its body within [`http::MAX_RESPONSE_BYTES`]. No error (nor the
    /// log line of a retry) holds a secret.
    async fn fetch(
        self: &Arc<Self>,
        build: impl Fn(&Shared) -> HttpRequest + Send + Sync + 'static,
    ) -> Result<Vec<u8>, Error> {
        let shared = Arc::clone(self);
        let build = Arc::new(build);
        retry_to_end(shared.settings.retry, move |_attempt| {
            let (shared, build) = (Arc::clone(&shared), Arc::clone(&build));
            async move {
                let timeouts = &shared.settings.timeouts;
                let deadline = timeouts.deadline(TimeoutKind::NonStreaming, Instant::now());
                let request = build(&shared);
                let secrets = &shared.secrets;
                let read = async {
                    let response =
                        http::send(&*shared.transport, request, timeouts, deadline, secrets)
                            .await?;
                    http::read_body(response, timeouts, deadline).await
                };
                read.await.map_err(|error| secrets.error(error))
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
        let body = build_body(
            &request,
            BodyOptions {
                model: &shared.model,
                defaults: &settings.options,
                send_reasoning_back: shared.model.sends_reasoning_back,
                derive_cache_key: settings
                    .cache_affinity
                    .then_some(cache::conversation_key as fn(&ChatRequest) -> String),
                budget: shared.profile.budget,
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
            provider: shared.profile.name,
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
                let request =
                    http::post_json(shared.chat_url.clone(), shared.headers.clone(), body);
                let timeouts = &shared.settings.timeouts;
                // The first event is due within the first-event timeout of sending.
                let deadline = timeouts.deadline(TimeoutKind::FirstEvent, Instant::now());
                let secrets = &shared.secrets;
                let response = http::send(&*shared.transport, request, timeouts, deadline, secrets)
                    .await
                    .map_err(|error| naming_model(error, &shared.model.id))?;
                let response = http::expect_event_stream(response, timeouts, deadline).await?;
                Ok((response, deadline))
            }
        };
        let decoding = Arc::clone(shared);
        let tool_call_deltas =
            request.options.tool_call_deltas || settings.options.tool_call_deltas;
        let new_decoder = move || {
            let settings = &decoding.settings;
            StreamDecoder::with_max_event_bytes(&decoding.model, settings.max_event_bytes)
                .with_max_tool_argument_bytes(settings.max_tool_argument_bytes)
                .with_tool_call_deltas(tool_call_deltas)
        };
        completion_stream(
            send,
            new_decoder,
            settings.retry,
            settings.timeouts,
            shared.secrets.clone(),
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
