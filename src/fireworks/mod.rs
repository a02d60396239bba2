//! Fireworks AI: the settings, the model catalog and [`FireworksProvider`], the
//! [`LlmProvider`] that sends to Fireworks (or any OpenAI-compatible endpoint).
//!
//! Fireworks specifics are configuration over the one OpenAI-compatible path (`request`,
//! `http`, `stream`), not a second code path.

pub mod cache;
pub mod catalog;
pub mod embeddings;
pub mod settings;

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use reqwest::Client;
use reqwest::header::HeaderValue;
use secrecy::ExposeSecret;
use serde::Deserialize;
use tokio::time::Instant;

use crate::decode::StreamDecoder;
use crate::error::Error;
use crate::http;
use crate::provider::{ApiStream, ChatRequest, LlmProvider, ModelInfo};
use crate::request::{BodyOptions, build_body};
use crate::retry::retry_to_end;
use crate::stream::completion_stream;
use embeddings::FireworksEmbedder;
use settings::FireworksSettings;

/// The [`LlmProvider`] for Fireworks. Cheap to clone; clones share one connection pool.
#[derive(Clone)]
pub struct FireworksProvider {
    shared: Arc<Shared>,
}

struct Shared {
    client: Client,
    chat_url: String,
    auth: HeaderValue,
    model: ModelInfo,
    settings: FireworksSettings,
}

/// A model as the server's `GET /models` listing describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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
        settings.validate()?;
        let auth = http::bearer(settings.api_key.expose_secret())?;
        let client = Client::builder()
            .connect_timeout(settings.timeouts.connect)
            .tcp_nodelay(true)
            .user_agent(concat!("fireworks-provider/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| Error::Config(format!("the HTTP client could not be built: {err}")))?;
        Ok(FireworksProvider {
            shared: Arc::new(Shared {
                client,
                chat_url: format!("{}/chat/completions", settings.base_url),
                auth,
                model: effective_model(&settings),
                settings,
            }),
        })
    }

    /// An embedder for `model_id` (for example `nomic-ai/nomic-embed-text-v1.5`; a bare name
    /// is expanded as for chat models) sharing this provider's client, key and retry policy.
    pub fn embedder(&self, model_id: impl AsRef<str>) -> FireworksEmbedder {
        FireworksEmbedder::new(
            Arc::clone(&self.shared),
            catalog::full_model_id(model_id.as_ref()),
        )
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
                message: format!("the model listing is not what was expected: {err}"),
            })
    }
}

/// The model's info: the catalog's entry for a known id, else documented defaults with no
/// prices; the settings' values on top.
fn effective_model(settings: &FireworksSettings) -> ModelInfo {
    let id = catalog::full_model_id(&settings.model_id);
    let mut model = catalog::lookup(&id).unwrap_or_else(|| ModelInfo::unknown(&id));
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
    model
}

impl Shared {
    /// One whole request/response round trip under the retry policy: `build` makes the request
    /// (again for each attempt), the whole body comes back.
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
                let deadline = Instant::now() + timeouts.first_event;
                let response = http::send(build(&shared), &shared.auth, timeouts, deadline).await?;
                http::read_body(response, timeouts).await
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
        let key = self
            .shared
            .settings
            .cache_affinity
            .then(|| cache::conversation_key(&request));
        self.stream_completion(&request, key.as_deref())
    }
}

impl FireworksProvider {
    /// Like [`LlmProvider::create_message`], with the host's own `prompt_cache_key` for the
    /// conversation (sent even when derived keys are turned off).
    pub fn create_message_with_cache_key(&self, request: ChatRequest, key: &str) -> ApiStream {
        self.stream_completion(&request, Some(key))
    }

    fn stream_completion(&self, request: &ChatRequest, cache_key: Option<&str>) -> ApiStream {
        let shared = &self.shared;
        let body = build_body(
            request,
            BodyOptions {
                model: &shared.model,
                sampling: &shared.settings.sampling,
                send_reasoning_back: shared.model.sends_reasoning_back,
                prompt_cache_key: cache_key,
            },
        );
        let body = match body {
            Ok(body) => Bytes::from(body),
            Err(error) => return Box::pin(futures::stream::once(async { Err(error) })),
        };
        let settings = &shared.settings;
        let decoder = StreamDecoder::with_max_event_bytes(&shared.model, settings.max_event_bytes);
        let sender = Arc::clone(shared);
        let start = move |_attempt: u32| {
            let (shared, body) = (Arc::clone(&sender), body.clone());
            async move {
                let mut request = http::post_json(&shared.client, &shared.chat_url, body);
                if let Some(isolation) = &shared.settings.cache_isolation_key {
                    request = request.header(cache::CACHE_ISOLATION_HEADER, isolation);
                }
                let timeouts = &shared.settings.timeouts;
                // The first event is due within the first-event timeout of sending.
                let deadline = Instant::now() + timeouts.first_event;
                let response = http::send(request, &shared.auth, timeouts, deadline).await?;
                let response = http::expect_event_stream(response, timeouts).await?;
                Ok((response, deadline))
            }
        };
        completion_stream(
            start,
            settings.retry,
            settings.timeouts,
            decoder,
            &shared.model.id,
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
