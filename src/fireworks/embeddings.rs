//! Text embeddings (`POST {base}/embeddings`): one vector per input, in input order, sent in
//! batches, with the same typed errors and retry policy as chat.

use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::Shared;
use crate::error::{Error, bounded};
use crate::transport::http;

/// Inputs sent in one request unless [`FireworksEmbedder::with_batch_size`] says otherwise.
pub const DEFAULT_EMBEDDING_BATCH: usize = 128;

/// Embeds text with one embedding model, sharing its provider's client and settings.
#[derive(Clone)]
pub struct FireworksEmbedder {
    shared: Arc<Shared>,
    model_id: String,
    batch_size: usize,
}

/// The vectors of one [`FireworksEmbedder::embed`] call.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Embeddings {
    /// One vector per input, in input order.
    pub vectors: Vec<Vec<f32>>,
    /// Tokens the inputs counted, over all batches.
    pub input_tokens: u64,
}

#[derive(Serialize)]
struct EmbeddingRequest<'a> {
    model: &'a str,
    input: &'a [String],
}

#[derive(Deserialize)]
struct EmbeddingResponse {
    data: Vec<EmbeddingItem>,
    #[serde(default)]
    usage: Option<EmbeddingUsage>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    index: usize,
    embedding: Vec<f32>,
}

#[derive(Deserialize)]
struct EmbeddingUsage {
    #[serde(default)]
    prompt_tokens: u64,
}

impl FireworksEmbedder {
    pub(super) fn new(shared: Arc<Shared>, model_id: String) -> Self {
        FireworksEmbedder {
            shared,
            model_id,
            batch_size: DEFAULT_EMBEDDING_BATCH,
        }
    }

    /// Sends at most `inputs` texts per request (at least 1).
    pub fn with_batch_size(mut self, inputs: usize) -> Self {
        self.batch_size = inputs.max(1);
        self
    }

    /// The embedding model's id, as sent.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Embeds every input; the result has one vector per input, in order.
    pub async fn embed(&self, inputs: &[String]) -> Result<Embeddings, Error> {
        let mut embeddings = Embeddings {
            vectors: Vec::with_capacity(inputs.len()),
            input_tokens: 0,
        };
        for batch in inputs.chunks(self.batch_size) {
            let response = self.embed_batch(batch).await?;
            embeddings.input_tokens += response.usage.map_or(0, |u| u.prompt_tokens);
            let mut data = response.data;
            data.sort_by_key(|item| item.index);
            let in_order = data.iter().enumerate().all(|(i, item)| item.index == i);
            if data.len() != batch.len() || !in_order {
                return Err(Error::Decode {
                    message: format!(
                        "the server returned {} embeddings for a batch of {} inputs",
                        data.len(),
                        batch.len()
                    ),
                    source: None,
                });
            }
            embeddings
                .vectors
                .extend(data.into_iter().map(|item| item.embedding));
        }
        Ok(embeddings)
    }

    async fn embed_batch(&self, batch: &[String]) -> Result<EmbeddingResponse, Error> {
        let body = serde_json::to_vec(&EmbeddingRequest {
            model: &self.model_id,
            input: batch,
        })
        .map_err(|source| Error::Encode {
            message: "the embedding inputs".into(),
            source,
        })?;
        let body = Bytes::from(body);
        let bytes = self
            .shared
            .fetch(move |shared| {
                let url = format!("{}/embeddings", shared.settings.base_url);
                http::post_json(url, shared.headers.clone(), body.clone())
            })
            .await?;
        serde_json::from_slice(&bytes).map_err(|err| {
            self.shared.secrets.error(Error::Decode {
                message: bounded(format!(
                    "the embeddings response is not what was expected: {err}"
                )),
                source: Some(Box::new(err)),
            })
        })
    }
}

impl std::fmt::Debug for FireworksEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FireworksEmbedder")
            .field("model_id", &self.model_id)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}
