//! Reranking (`POST {base}/rerank`): scores documents by their relevance to a query with a
//! reranker model, best first, with the same bounds on time and body size, typed errors and
//! retry policy as chat and embeddings.

use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{Shared, naming_model};
use crate::error::{Error, bounded};
use crate::transport::http;

/// Reranks documents with one reranker model (for example
/// `accounts/fireworks/models/qwen3-reranker-8b`), sharing its provider's client, key and
/// retry policy. Made by [`FireworksProvider::reranker`](crate::FireworksProvider::reranker).
#[derive(Clone)]
pub struct FireworksReranker {
    shared: Arc<Shared>,
    model_id: String,
    task: Option<String>,
}

/// The outcome of one [`FireworksReranker::rerank`] call.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Reranking {
    /// The documents' scores, most relevant first; each names its document by its place in
    /// the list given. All of the documents, or the `top_n` most relevant.
    pub results: Vec<RerankResult>,
    /// Tokens the query and documents counted, when the server said.
    pub input_tokens: Option<u64>,
}

/// How relevant one document is to the query.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RerankResult {
    /// The document's place in the list given to [`FireworksReranker::rerank`], from 0.
    pub index: usize,
    /// Its relevance score as the model gives it: higher is more relevant.
    pub relevance_score: f64,
}

#[derive(Serialize)]
struct RerankRequest<'a> {
    model: &'a str,
    query: &'a str,
    documents: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    top_n: Option<u32>,
    /// Always false: the caller has its documents, and the answer stays small.
    return_documents: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    task: Option<&'a str>,
}

#[derive(Deserialize)]
struct RerankResponse {
    /// Fireworks' name; `results` is the Cohere-style name other servers (vLLM) use.
    #[serde(alias = "results")]
    data: Vec<WireResult>,
    #[serde(default)]
    usage: Option<RerankUsage>,
}

#[derive(Deserialize)]
struct WireResult {
    index: usize,
    relevance_score: f64,
}

#[derive(Deserialize)]
struct RerankUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
}

impl FireworksReranker {
    pub(super) fn new(shared: Arc<Shared>, model_id: String) -> Self {
        FireworksReranker {
            shared,
            model_id,
            task: None,
        }
    }

    /// Sends `task` with every query: a one-sentence description of what relevant means
    /// (for example "Given a web search query, retrieve relevant passages that answer the
    /// query"), which instruction-following rerankers use.
    pub fn with_task(mut self, task: impl Into<String>) -> Self {
        self.task = Some(task.into());
        self
    }

    /// The reranker model's id, as sent.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Scores `documents` against `query`, most relevant first: all of them, or the `top_n`
    /// most relevant (at least 1). No document at all is nothing to rank: an empty result,
    /// nothing sent. A response that names a document not in the list, or one twice, is an
    /// [`Error::Decode`].
    pub async fn rerank(
        &self,
        query: &str,
        documents: &[String],
        top_n: Option<u32>,
    ) -> Result<Reranking, Error> {
        if top_n == Some(0) {
            return Err(Error::Config(
                "rerank top_n must be at least 1 (None ranks every document)".into(),
            ));
        }
        if documents.is_empty() {
            return Ok(Reranking {
                results: Vec::new(),
                input_tokens: None,
            });
        }
        let body = serde_json::to_vec(&RerankRequest {
            model: &self.model_id,
            query,
            documents,
            top_n,
            return_documents: false,
            task: self.task.as_deref(),
        })
        .map_err(|err| Error::Config(format!("the documents could not be encoded: {err}")))?;
        let body = Bytes::from(body);
        let bytes = self
            .shared
            .fetch(move |shared| {
                let url = format!("{}/rerank", shared.settings.base_url);
                http::post_json(url, shared.headers.clone(), body.clone())
            })
            .await
            .map_err(|error| naming_model(error, &self.model_id))?;
        let response: RerankResponse = serde_json::from_slice(&bytes).map_err(|err| {
            self.shared.secrets.error(Error::Decode {
                message: bounded(format!(
                    "the rerank response is not what was expected: {err}"
                )),
                source: Some(Box::new(err)),
            })
        })?;
        let results = checked_results(response.data, documents.len(), top_n)?;
        Ok(Reranking {
            results,
            input_tokens: response.usage.and_then(|usage| usage.prompt_tokens),
        })
    }
}

/// The server's results, most relevant first, once each names a document of the `count` sent
/// at most once and there are no more than asked for.
fn checked_results(
    data: Vec<WireResult>,
    count: usize,
    top_n: Option<u32>,
) -> Result<Vec<RerankResult>, Error> {
    let wanted = top_n.map_or(count, |n| count.min(n as usize));
    if data.len() > wanted {
        return Err(Error::Decode {
            message: format!(
                "the server returned {} rerank results for {wanted} wanted",
                data.len()
            ),
            source: None,
        });
    }
    let mut seen = vec![false; count];
    let mut results = Vec::with_capacity(data.len());
    for item in data {
        match seen.get_mut(item.index) {
            Some(seen) if !*seen => *seen = true,
            _ => {
                return Err(Error::Decode {
                    message: format!(
                        "a rerank result names document {} of {count}, or names it twice",
                        item.index
                    ),
                    source: None,
                });
            }
        }
        results.push(RerankResult {
            index: item.index,
            relevance_score: item.relevance_score,
        });
    }
    // Fireworks sends them best first already; a server that does not is put in order.
    results.sort_by(|a, b| b.relevance_score.total_cmp(&a.relevance_score));
    Ok(results)
}

impl std::fmt::Debug for FireworksReranker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FireworksReranker")
            .field("model_id", &self.model_id)
            .field("task", &self.task)
            .finish_non_exhaustive()
    }
}
