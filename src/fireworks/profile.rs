//! Endpoint profiles: the rules that differ between the servers this crate sends to, as one
//! value chosen from the base URL. The request, transport and stream path is the same
//! OpenAI-compatible one for all of them; what is Fireworks' own is written here once, instead
//! of as a branch wherever it matters.

use super::catalog;
use crate::request::Budget;

/// What one kind of endpoint expects of a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Profile {
    /// The name telemetry gives the provider (`gen_ai.provider.name`).
    pub name: &'static str,
    /// Whether a bare model name (no `/`) is expanded to `accounts/fireworks/models/<name>`;
    /// other servers' model names are their own and go as given.
    pub expands_bare_model_ids: bool,
    /// How the output cap is chosen: Fireworks lowers `max_tokens` to fit the context window by
    /// itself (`context_length_exceeded_behavior: "truncate"`, its default), other servers
    /// refuse a request that cannot fit, so the prompt is estimated there.
    pub budget: Budget,
    /// Whether the endpoint refuses a request without an API key (so an empty key is a
    /// configuration error before anything is sent).
    pub requires_key: bool,
}

impl Profile {
    /// Fireworks' own endpoint (`api.fireworks.ai`).
    pub(crate) const FIREWORKS: Profile = Profile {
        name: "fireworks",
        expands_bare_model_ids: true,
        budget: Budget::ServerTrims,
        requires_key: true,
    };

    /// Any other OpenAI-compatible server (vLLM, llama.cpp, Ollama, a gateway).
    pub(crate) const OPENAI_COMPATIBLE: Profile = Profile {
        name: "openai_compatible",
        expands_bare_model_ids: false,
        budget: Budget::Estimate,
        requires_key: false,
    };

    /// The profile of the endpoint at `base_url`: Fireworks' for its own host, the generic one
    /// for anything else (an unreadable URL included; settings validation refuses it anyway).
    pub(crate) fn for_base_url(base_url: &str) -> Profile {
        let host = reqwest::Url::parse(base_url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_ascii_lowercase));
        match host.as_deref() {
            Some("api.fireworks.ai") => Profile::FIREWORKS,
            _ => Profile::OPENAI_COMPATIBLE,
        }
    }

    /// The model id as sent: a bare name expanded where the endpoint does so, else the id as
    /// given (trimmed).
    pub(crate) fn model_id(&self, id: &str) -> String {
        if self.expands_bare_model_ids {
            catalog::full_model_id(id)
        } else {
            id.trim().to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_follows_the_host_of_the_base_url() {
        for url in [
            "https://api.fireworks.ai/inference/v1",
            "https://API.Fireworks.AI/inference/v1",
        ] {
            assert_eq!(Profile::for_base_url(url), Profile::FIREWORKS, "{url}");
        }
        for url in [
            "http://127.0.0.1:8080/v1",
            "https://api.fireworks.ai.example.com/v1",
            "https://gateway.example/fireworks/api.fireworks.ai/v1",
            "not a url",
        ] {
            assert_eq!(
                Profile::for_base_url(url),
                Profile::OPENAI_COMPATIBLE,
                "{url}"
            );
        }
    }

    #[test]
    fn bare_model_names_expand_only_on_fireworks() {
        assert_eq!(
            Profile::FIREWORKS.model_id("glm-5p1"),
            "accounts/fireworks/models/glm-5p1"
        );
        assert_eq!(
            Profile::OPENAI_COMPATIBLE.model_id(" qwen3:0.6b "),
            "qwen3:0.6b"
        );
    }
}
