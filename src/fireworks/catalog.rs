//! The model catalog: models.dev's Fireworks data (limits, prices, modalities, the reasoning
//! controls each model accepts, whether it takes its reasoning back), bundled and replaceable
//! at run time, with the crate's own overlay (`overlay`) where models.dev says nothing.
//!
//! The bundled data, `catalog/fireworks-ai.json`, is generated from models.dev's files by
//! `tests/it/catalog_refresh.rs` (`REFRESH_CATALOG=1 cargo test --test it catalog_refresh`) and
//! read at first use by the same reader ([`Catalog::from_models_dev_json`]) a host uses for newer
//! data. Model lists go stale within weeks, so an id the catalog does not list still works: it
//! gets the settings' limits (or [`ModelInfo::unknown`]'s defaults) and no prices, never
//! another model's numbers.

mod models_dev;
mod overlay;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, LazyLock};

use crate::error::Error;
use crate::host::ModelInfo;
use models_dev::Entry;

/// The prefix that turns a bare model name into a full Fireworks id.
pub const FIREWORKS_MODELS_PREFIX: &str = "accounts/fireworks/models/";

/// The bundled data, in the shape of models.dev's `api.json` `fireworks-ai` entry.
const BUNDLED_JSON: &str = include_str!("catalog/fireworks-ai.json");

static BUNDLED: LazyLock<Catalog> = LazyLock::new(|| {
    Catalog::updated(&BTreeMap::new(), BUNDLED_JSON)
        .expect("the bundled catalog is valid (checked by the catalog's tests)")
});

/// Known models by full id (`accounts/fireworks/models/kimi-k2p6`,
/// `accounts/fireworks/routers/kimi-k2p6-fast`): what [`FireworksProvider`] reports as
/// [`LlmProvider::model`] and checks reasoning controls against. Cheap to clone.
///
/// [`Catalog::bundled`] is the data this release ships;
/// [`Catalog::from_models_dev_json`] brings newer data without a new release, and
/// `FireworksSettings::with_catalog` hands it to a provider.
///
/// [`FireworksProvider`]: crate::FireworksProvider
/// [`LlmProvider::model`]: crate::LlmProvider::model
#[derive(Clone)]
pub struct Catalog {
    models: Arc<BTreeMap<String, Entry>>,
}

impl Catalog {
    /// The catalog this release ships: models.dev's Fireworks models and routers.
    pub fn bundled() -> Catalog {
        BUNDLED.clone()
    }

    /// The bundled catalog updated by models.dev data: its public `api.json` (whose
    /// `fireworks-ai` entry is read) or a host file of the same shape as that entry
    /// (`{"models": {"<full id>": {...}}}`).
    ///
    /// Merge rules: a model the bundled catalog lists is updated field by field, each field the
    /// data gives replacing the bundled one and each field it leaves out keeping the bundled
    /// one (a model without `limit` keeps its limits; a field can be changed, not removed). A
    /// model the bundled catalog does not list is added, and needs `limit.context` and
    /// `limit.output`. Models the data does not mention stay as bundled. Invalid JSON, a model
    /// that is not an object, a field of the wrong kind or value (a negative price, zero
    /// tokens, an unknown effort or status, `cost` without `input` or `output`) is an
    /// [`Error::Config`] naming the model and the field, and nothing is replaced.
    ///
    /// ```
    /// use fireworks_provider::Catalog;
    ///
    /// let newer = r#"{"models": {"accounts/fireworks/models/kimi-k2p9": {
    ///     "name": "Kimi K2.9", "limit": {"context": 512000, "output": 65536},
    ///     "cost": {"input": 1.0, "output": 4.0, "cache_read": 0.2},
    ///     "reasoning": true, "reasoning_options": [{"type": "toggle"}]
    /// }}}"#;
    /// let catalog = Catalog::from_models_dev_json(newer)?;
    /// let model = catalog.lookup("kimi-k2p9").unwrap();
    /// assert_eq!((model.context_window, model.max_tokens), (512_000, 65_536));
    /// assert!(catalog.lookup("kimi-k2p6").is_some(), "the bundled models stay");
    /// # Ok::<(), fireworks_provider::Error>(())
    /// ```
    pub fn from_models_dev_json(json: &str) -> Result<Catalog, Error> {
        Self::updated(&BUNDLED.models, json)
    }

    /// `base` updated by `json`, under the rules of [`Catalog::from_models_dev_json`].
    fn updated(base: &BTreeMap<String, Entry>, json: &str) -> Result<Catalog, Error> {
        let mut models = base.clone();
        for (id, newer) in models_dev::read(json)? {
            let entry = match models.remove(&id) {
                Some(known) => known.updated_by(newer),
                None => {
                    for (field, missing) in [
                        ("limit.context", newer.context.is_none()),
                        ("limit.output", newer.output.is_none()),
                    ] {
                        if missing {
                            return Err(Error::Config(format!(
                                "the model catalog's model {id:?}: field `{field}` is missing \
                                 (a model the bundled catalog does not list needs its limits)"
                            )));
                        }
                    }
                    newer
                }
            };
            models.insert(id, entry);
        }
        Ok(Catalog {
            models: Arc::new(models),
        })
    }

    /// The info for `id`: a full id, a bare name (`kimi-k2p6`), or a dedicated deployment of a
    /// listed model written `<model>#<deployment>`; `id` itself is kept as the info's id.
    ///
    /// A dedicated deployment gets the model's limits and reasoning options but no prices:
    /// on-demand deployments are billed per GPU-second, not per token, so a per-token cost
    /// would be invented (`FireworksSettings::with_prices` sets prices when the host knows
    /// them).
    pub fn lookup(&self, id: &str) -> Option<ModelInfo> {
        let full = full_model_id(id);
        match full.split_once('#') {
            Some((model, _deployment)) => self.info(model, &full, false),
            None => self.info(&full, &full, true),
        }
    }

    /// The info for a dedicated deployment `deployment_id` (such as
    /// `accounts/me/deployments/abc`) serving `base_model`: the base model's limits and
    /// reasoning options, no prices. `None` when the catalog does not list `base_model`.
    pub fn deployment_of(&self, base_model: &str, deployment_id: &str) -> Option<ModelInfo> {
        self.info(&full_model_id(base_model), deployment_id, false)
    }

    /// The full ids of every model in the catalog, in order.
    pub fn model_ids(&self) -> impl Iterator<Item = &str> {
        self.models.keys().map(String::as_str)
    }

    /// The info of the listed model `model_id`, shown as `shown_id`, with prices when
    /// `priced`.
    fn info(&self, model_id: &str, shown_id: &str, priced: bool) -> Option<ModelInfo> {
        let entry = self.models.get(model_id)?;
        let (Some(context_window), Some(max_tokens)) = (entry.context, entry.output) else {
            return None;
        };
        let reasons = entry.reasoning == Some(true);
        let mut model = ModelInfo::unknown(shown_id);
        model.name = entry.name.clone();
        model.family = entry.family.clone();
        model.context_window = context_window;
        model.max_tokens = max_tokens;
        // A model whose input modalities are not listed: the server is the judge, as for an
        // unknown model; likewise for tools.
        model.supports_images = entry.images.unwrap_or(true);
        model.supports_tools = entry.tool_call.unwrap_or(true);
        if let (true, Some((input, output, cache_read))) = (priced, entry.prices) {
            model = model.with_prices(input, output, cache_read);
        }
        model.sends_reasoning_back = entry.interleaved == Some(true);
        model.status = entry.status;
        // A reasoning model whose options are not listed is sent what the host asks; a model
        // that does not reason accepts no control.
        model.reasoning_options = match &entry.reasoning_options {
            Some(options) => Some(options.clone()),
            None if reasons => None,
            None => Some(Default::default()),
        };
        overlay::apply(
            model_id,
            reasons,
            entry.temperature != Some(false),
            &mut model,
        );
        Some(model)
    }
}

impl fmt::Debug for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalog")
            .field("models", &self.models.len())
            .finish()
    }
}

/// The info for a model no catalog lists: the documented defaults, no prices, and the crate's
/// own knowledge of how it shows reasoning where it has some.
pub(crate) fn unknown(id: &str) -> ModelInfo {
    let mut model = ModelInfo::unknown(id);
    let model_id = id.split_once('#').map_or(id, |(model, _)| model);
    overlay::apply(model_id, false, true, &mut model);
    model
}

/// Expands a bare model name (no `/`) to `accounts/fireworks/models/<name>`; any other id
/// (accounts, routers, deployments with `#`, LoRAs) is kept as given.
pub fn full_model_id(id: &str) -> String {
    let id = id.trim();
    if id.contains('/') {
        id.to_owned()
    } else {
        format!("{FIREWORKS_MODELS_PREFIX}{id}")
    }
}

/// The bundled catalog's info for `id` (see [`Catalog::lookup`]).
pub fn lookup(id: &str) -> Option<ModelInfo> {
    BUNDLED.lookup(id)
}

/// The full ids of every model in the bundled catalog.
pub fn known_model_ids() -> impl Iterator<Item = String> {
    BUNDLED.model_ids().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::ReasoningEffort;
    use crate::host::{BudgetLimits, ModelStatus, ReasoningStyle};

    /// The message of a catalog that did not load.
    fn refusal(json: &str) -> String {
        match Catalog::from_models_dev_json(json) {
            Err(Error::Config(message)) => message,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn every_model_and_router_of_models_dev_is_bundled_with_its_facts() {
        let ids: Vec<&str> = BUNDLED.model_ids().collect();
        assert_eq!(ids.len(), 16, "{ids:?}");
        for id in &ids {
            let model = lookup(id).unwrap_or_else(|| panic!("{id} has no limits"));
            assert!(model.input_price.is_some(), "{id} has no price");
            assert!(model.reasoning_options.is_some(), "{id}");
            assert!(model.family.is_some(), "{id} has no family");
        }
        let kimi = lookup("accounts/fireworks/routers/kimi-k2p6-turbo").unwrap();
        assert_eq!(kimi.name.as_deref(), Some("Kimi K2.6 Turbo"));
        // A router is its model's family: reasoning may go from one to the other.
        assert_eq!(kimi.family.as_deref(), Some("kimi-thinking"));
        assert_eq!((kimi.context_window, kimi.max_tokens), (262_000, 262_000));
        assert_eq!(
            (kimi.input_price, kimi.output_price, kimi.cache_read_price),
            (Some(2.00), Some(8.00), Some(0.30))
        );
        assert!(kimi.supports_images && kimi.sends_reasoning_back);
        assert_eq!(kimi.reasoning, ReasoningStyle::ReasoningContent);
        assert_eq!(kimi.default_temperature, Some(1.0));
        let kimi_options = kimi.reasoning_options.unwrap();
        assert!(kimi_options.toggle && kimi_options.efforts.is_empty());
        let qwen = lookup("qwen3p7-plus").unwrap();
        assert_eq!(qwen.max_tokens, 65_536, "models.dev's output cap");
        assert_eq!(qwen.reasoning, ReasoningStyle::ThinkTags, "the overlay");
        let budget = qwen.reasoning_options.unwrap().budget_tokens;
        assert_eq!(
            budget,
            Some(BudgetLimits {
                min: 1024,
                max: None
            }),
            "models.dev's min 1 is undocumented by Fireworks: the documented 1024 holds"
        );
        let gpt = lookup("gpt-oss-120b").unwrap();
        assert!(!gpt.sends_reasoning_back, "no `interleaved` field");
        assert_eq!(
            gpt.reasoning_options.unwrap().efforts,
            [
                ReasoningEffort::Low,
                ReasoningEffort::Medium,
                ReasoningEffort::High
            ]
        );
        let flash = lookup("deepseek-v4-flash").unwrap();
        assert_eq!(
            flash.name.as_deref(),
            Some("DeepSeek V4 Flash"),
            "from the base model"
        );
        assert_eq!(flash.context_window, 1_000_000);
        let m3 = lookup("minimax-m3").unwrap();
        assert!(!m3.supports_images, "models.dev lists text input only");
    }

    #[test]
    fn bare_names_full_ids_and_deployments_find_the_same_entry() {
        let full = lookup("accounts/fireworks/models/glm-5p1").unwrap();
        assert_eq!(full, lookup("glm-5p1").unwrap());
        let deployed =
            lookup("accounts/fireworks/models/glm-5p1#accounts/me/deployments/abc").unwrap();
        assert_eq!(
            deployed.id,
            "accounts/fireworks/models/glm-5p1#accounts/me/deployments/abc"
        );
        assert_eq!(deployed.max_tokens, 131_072);
        assert_eq!(deployed.reasoning_options, full.reasoning_options);
        assert_eq!(
            (
                deployed.input_price,
                deployed.output_price,
                deployed.cache_read_price
            ),
            (None, None, None),
            "a deployment is billed per GPU-second"
        );
        let dedicated = BUNDLED
            .deployment_of("glm-5p1", "accounts/me/deployments/abc")
            .unwrap();
        assert_eq!(dedicated.id, "accounts/me/deployments/abc");
        assert_eq!(dedicated.context_window, 202_800);
        assert_eq!(dedicated.input_price, None);
        assert!(
            BUNDLED
                .deployment_of("brand-new", "accounts/me/deployments/abc")
                .is_none()
        );
    }

    #[test]
    fn unknown_ids_and_other_accounts_are_not_in_the_catalog() {
        for id in [
            "accounts/fireworks/models/brand-new-model",
            "accounts/me/models/glm-5p1",
            "accounts/me/deployedModels/my-lora",
            "accounts/me/deployments/abc",
            "llama-v3p3-70b-instruct",
        ] {
            assert!(lookup(id).is_none(), "{id}");
        }
        assert_eq!(
            full_model_id(" kimi-k2p6 "),
            "accounts/fireworks/models/kimi-k2p6"
        );
    }

    #[test]
    fn models_no_longer_listed_keep_how_they_show_reasoning() {
        let thinking = unknown("accounts/fireworks/models/qwen3-235b-a22b-thinking-2507");
        assert_eq!(thinking.reasoning, ReasoningStyle::StartsInReasoning);
        assert_eq!(thinking.input_price, None);
        assert_eq!(thinking.reasoning_options, None, "sent what the host asks");
        let r1 = unknown("accounts/fireworks/models/deepseek-r1-0528#accounts/me/deployments/x");
        assert_eq!(r1.reasoning, ReasoningStyle::ThinkTags);
        assert_eq!(
            unknown("accounts/me/models/x").reasoning,
            ReasoningStyle::None
        );
    }

    #[test]
    fn api_json_updates_the_bundled_catalog_field_by_field() {
        let api_json = r#"{
            "openai": {"id": "openai", "models": {}},
            "fireworks-ai": {"id": "fireworks-ai", "name": "Fireworks AI", "models": {
                "accounts/fireworks/models/kimi-k2p6": {
                    "id": "accounts/fireworks/models/kimi-k2p6", "family": "kimi-thinking",
                    "cost": {"input": 0.80, "output": 3.50},
                    "reasoning_options": [{"type": "toggle"}, {"type": "effort", "values": ["low", "high", "default"]}],
                    "status": "deprecated",
                    "knowledge": "2025-01"
                },
                "accounts/fireworks/models/kimi-k3": {
                    "limit": {"context": 1048576, "output": 131072},
                    "modalities": {"input": ["text", "image", "video"], "output": ["text"]},
                    "reasoning": true, "interleaved": true, "temperature": false
                }
            }}
        }"#;
        let catalog = Catalog::from_models_dev_json(api_json).unwrap();
        let kimi = catalog.lookup("kimi-k2p6").unwrap();
        assert_eq!(
            (kimi.input_price, kimi.output_price),
            (Some(0.80), Some(3.50))
        );
        assert_eq!(
            kimi.cache_read_price, None,
            "the new cost replaces the whole price"
        );
        assert_eq!(
            (kimi.context_window, kimi.max_tokens),
            (262_000, 262_000),
            "kept"
        );
        assert_eq!(kimi.status, Some(ModelStatus::Deprecated));
        assert_eq!(
            kimi.reasoning_options.unwrap().efforts,
            [ReasoningEffort::Low, ReasoningEffort::High],
            "`default` is no value to send"
        );
        let k3 = catalog.lookup("kimi-k3").unwrap();
        assert_eq!(k3.context_window, 1_048_576);
        assert!(k3.supports_images && k3.sends_reasoning_back);
        assert_eq!(k3.input_price, None, "no cost listed, none invented");
        assert_eq!(k3.reasoning, ReasoningStyle::ReasoningContent);
        assert_eq!(
            k3.reasoning_options, None,
            "reasons, controls not listed: unchecked"
        );
        assert_eq!(k3.default_temperature, None);
        assert!(
            catalog.lookup("glm-5p2").is_some(),
            "not mentioned: as bundled"
        );
        assert_eq!(
            Catalog::bundled().lookup("kimi-k3"),
            None,
            "the bundled one is untouched"
        );
    }

    #[test]
    fn partial_entries_keep_the_bundled_facts() {
        let partial = r#"{"models": {"accounts/fireworks/models/glm-5p1": {"name": "GLM 5.1 (new)", "limit": {"output": 65536}}}}"#;
        let glm = Catalog::from_models_dev_json(partial)
            .unwrap()
            .lookup("glm-5p1")
            .unwrap();
        assert_eq!(glm.name.as_deref(), Some("GLM 5.1 (new)"));
        assert_eq!((glm.context_window, glm.max_tokens), (202_800, 65_536));
        assert_eq!(glm.input_price, Some(1.40));
        assert!(glm.sends_reasoning_back);
    }

    #[test]
    fn bad_data_is_refused_naming_the_model_and_the_field() {
        let model = |id: &str, body: &str| format!(r#"{{"models": {{"{id}": {body}}}}}"#);
        let kimi = "accounts/fireworks/models/kimi-k2p6";
        let new = "accounts/fireworks/models/new-one";
        for (json, expected) in [
            (
                "{".to_owned(),
                "the model catalog is not valid JSON".to_owned(),
            ),
            (
                r#"{"openai": {}}"#.to_owned(),
                "neither a `models` object nor a `fireworks-ai` entry".into(),
            ),
            (
                r#"{"models": []}"#.to_owned(),
                "`models` is not an object".into(),
            ),
            (model(kimi, "7"), format!("model {kimi:?} is not an object")),
            (
                model(kimi, r#"{"limit": {"context": 0}}"#),
                format!("model {kimi:?}: field `limit.context` is not a number of tokens: 0"),
            ),
            (
                model(kimi, r#"{"limit": {"output": "lots"}}"#),
                "field `limit.output` is not a number of tokens".into(),
            ),
            (
                model(kimi, r#"{"cost": {"input": -1, "output": 2}}"#),
                "field `cost.input` is not a price in USD: -1".into(),
            ),
            (
                model(kimi, r#"{"cost": {"input": 1}}"#),
                "field `cost.output` is missing".into(),
            ),
            (
                model(
                    kimi,
                    r#"{"reasoning_options": [{"type": "effort", "values": ["huge"]}]}"#,
                ),
                r#"field `reasoning_options[0].values` holds an unknown effort: "huge""#.into(),
            ),
            (
                model(kimi, r#"{"reasoning_options": [{"type": "budget"}]}"#),
                "field `reasoning_options[0].type` is not toggle, effort or budget_tokens".into(),
            ),
            (
                model(
                    kimi,
                    r#"{"reasoning_options": [{"type": "budget_tokens", "max": 100}]}"#,
                ),
                "field `reasoning_options[0].max` is below".into(),
            ),
            (
                model(kimi, r#"{"interleaved": {"field": "thoughts"}}"#),
                "field `interleaved.field` is not reasoning_content".into(),
            ),
            (
                model(kimi, r#"{"status": "retired"}"#),
                "field `status` is not alpha, beta or deprecated".into(),
            ),
            (
                model(kimi, r#"{"tool_call": "yes"}"#),
                "field `tool_call` is not true or false".into(),
            ),
            (
                model(kimi, r#"{"id": "accounts/fireworks/models/other"}"#),
                "field `id` names another model".into(),
            ),
            (
                model(kimi, r#"{"modalities": {"input": "text"}}"#),
                "field `modalities.input` is not a list of strings".into(),
            ),
            (
                model(new, r#"{"limit": {"context": 1000}}"#),
                format!("model {new:?}: field `limit.output` is missing"),
            ),
            (
                model(new, r#"{"name": "New"}"#),
                "field `limit.context` is missing".into(),
            ),
        ] {
            let message = refusal(&json);
            assert!(message.contains(&expected), "{json}: {message}");
        }
    }

    #[test]
    fn routers_and_deprecated_models_are_models_in_their_own_right() {
        let fast = lookup("accounts/fireworks/routers/glm-5p2-fast").unwrap();
        let model = lookup("glm-5p2").unwrap();
        assert_eq!(fast.input_price, Some(2.10));
        assert_eq!(model.input_price, Some(1.40));
        assert_eq!(fast.reasoning_options, model.reasoning_options);
        assert_eq!(fast.status, None);
    }
}
