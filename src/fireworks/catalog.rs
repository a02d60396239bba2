//! Known Fireworks serverless models: limits, prices and how each shows its reasoning.
//!
//! Data only, in one table, as published mid-2026. Model lists go stale within weeks, so an id
//! that is not here still works: it gets the settings' limits (or [`ModelInfo::unknown`]'s
//! defaults) and no prices, never another model's numbers.

use crate::host::provider::{ModelInfo, ReasoningStyle};

/// The prefix that turns a bare model name into a full Fireworks id.
pub const FIREWORKS_MODELS_PREFIX: &str = "accounts/fireworks/models/";

/// One row of the catalog.
struct Entry {
    name: &'static str,
    max_output: u32,
    context: u32,
    images: bool,
    /// USD per million tokens: input, output, cached input.
    prices: (f64, f64, Option<f64>),
    reasoning: ReasoningStyle,
    sends_reasoning_back: bool,
    temperature: Option<f32>,
}

#[allow(clippy::too_many_arguments)] // one argument per column of the table below
const fn entry(
    name: &'static str,
    max_output: u32,
    context: u32,
    images: bool,
    prices: (f64, f64, Option<f64>),
    reasoning: ReasoningStyle,
    sends_reasoning_back: bool,
    temperature: Option<f32>,
) -> Entry {
    Entry {
        name,
        max_output,
        context,
        images,
        prices,
        reasoning,
        sends_reasoning_back,
        temperature,
    }
}

use ReasoningStyle::{None as Plain, ReasoningContent, StartsInReasoning, ThinkTags};

#[rustfmt::skip]
const CATALOG: &[Entry] = &[
    //    name                               max out  context    images  input  output  cached         reasoning          send back  temperature
    entry("kimi-k2p6",                       262_000,   262_000, true,  (0.95, 4.00, Some(0.16)),  ReasoningContent,  true,  Some(1.0)),
    entry("kimi-k2p7-code",                  262_000,   262_000, true,  (0.95, 4.00, Some(0.19)),  ReasoningContent,  true,  Some(1.0)),
    entry("deepseek-v4-pro",                 384_000, 1_000_000, false, (1.74, 3.48, Some(0.145)), ReasoningContent,  true,  None),
    entry("deepseek-v4-flash",               384_000, 1_000_000, false, (0.14, 0.28, Some(0.028)), ReasoningContent,  true,  None),
    entry("glm-5p1",                         131_072,   202_800, false, (1.40, 4.40, Some(0.26)),  ReasoningContent,  true,  Some(1.0)),
    entry("minimax-m3",                      512_000,   512_000, true,  (0.30, 1.20, Some(0.06)),  ReasoningContent,  true,  Some(1.0)),
    entry("qwen3p7-plus",                    262_144,   262_144, true,  (0.40, 1.60, Some(0.08)),  ThinkTags,         false, Some(0.6)),
    entry("gpt-oss-120b",                     32_768,   131_072, false, (0.15, 0.60, Some(0.015)), ReasoningContent,  false, Some(1.0)),
    entry("gpt-oss-20b",                      32_768,   131_072, false, (0.07, 0.30, Some(0.035)), ReasoningContent,  false, Some(1.0)),
    entry("deepseek-r1-0528",                 20_480,   160_000, false, (3.00, 8.00, None),        ThinkTags,         false, Some(0.6)),
    entry("qwen3-235b-a22b-thinking-2507",    32_768,   256_000, false, (0.22, 0.88, None),        StartsInReasoning, false, Some(0.6)),
    entry("llama-v3p3-70b-instruct",          16_384,   131_072, false, (0.90, 0.90, None),        Plain,             false, None),
    entry("llama4-maverick-instruct-basic",   16_384,   131_072, true,  (0.22, 0.88, None),        Plain,             false, None),
];

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

/// The catalog's info for `id` (a full id, a bare name, or a deployment of a known model
/// written `<model>#<deployment>`), with `id` itself kept as the info's id.
///
/// A dedicated deployment gets the model's limits but no prices: on-demand deployments are
/// billed per GPU-second, not per token, so a per-token cost would be invented
/// (`FireworksSettings::with_prices` sets prices when the host knows them).
pub fn lookup(id: &str) -> Option<ModelInfo> {
    let full = full_model_id(id);
    let (base_model, deployment) = match full.split_once('#') {
        Some((model, deployment)) => (model, Some(deployment)),
        None => (full.as_str(), None),
    };
    let name = base_model.strip_prefix(FIREWORKS_MODELS_PREFIX)?;
    let entry = CATALOG.iter().find(|entry| entry.name == name)?;
    let (input, output, cached) = match deployment {
        Some(_) => (None, None, None),
        None => (Some(entry.prices.0), Some(entry.prices.1), entry.prices.2),
    };
    Some(ModelInfo {
        id: full.clone(),
        context_window: entry.context,
        max_tokens: entry.max_output,
        supports_images: entry.images,
        supports_tools: true,
        input_price: input,
        output_price: output,
        cache_read_price: cached,
        reasoning: entry.reasoning,
        sends_reasoning_back: entry.sends_reasoning_back,
        default_temperature: entry.temperature,
        family: None,
    })
}

/// The full ids of every model in the catalog.
pub fn known_model_ids() -> impl Iterator<Item = String> {
    CATALOG
        .iter()
        .map(|entry| format!("{FIREWORKS_MODELS_PREFIX}{}", entry.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_names_full_ids_and_deployments_find_the_same_entry() {
        let full = lookup("accounts/fireworks/models/glm-5p1").unwrap();
        let bare = lookup("glm-5p1").unwrap();
        assert_eq!(full, bare);
        assert_eq!(full.context_window, 202_800);
        assert_eq!(full.input_price, Some(1.40));
        let deployed =
            lookup("accounts/fireworks/models/glm-5p1#accounts/me/deployments/abc").unwrap();
        assert_eq!(
            deployed.id,
            "accounts/fireworks/models/glm-5p1#accounts/me/deployments/abc"
        );
        assert_eq!(deployed.max_tokens, 131_072);
        assert_eq!(
            (
                deployed.input_price,
                deployed.output_price,
                deployed.cache_read_price
            ),
            (None, None, None),
            "a deployment is billed per GPU-second"
        );
    }

    #[test]
    fn unknown_ids_routers_and_other_accounts_are_not_in_the_catalog() {
        for id in [
            "accounts/fireworks/models/brand-new-model",
            "accounts/fireworks/routers/kimi-k2p6-turbo",
            "accounts/me/models/glm-5p1",
            "accounts/me/deployedModels/my-lora",
        ] {
            assert!(lookup(id).is_none(), "{id}");
        }
        assert_eq!(
            full_model_id("accounts/fireworks/routers/x"),
            "accounts/fireworks/routers/x"
        );
        assert_eq!(
            full_model_id(" kimi-k2p6 "),
            "accounts/fireworks/models/kimi-k2p6"
        );
    }

    #[test]
    fn reasoning_styles_follow_the_model_family() {
        let style = |name: &str| lookup(name).unwrap().reasoning;
        assert_eq!(style("deepseek-r1-0528"), ReasoningStyle::ThinkTags);
        assert_eq!(
            style("qwen3-235b-a22b-thinking-2507"),
            ReasoningStyle::StartsInReasoning
        );
        assert_eq!(style("kimi-k2p6"), ReasoningStyle::ReasoningContent);
        assert_eq!(style("llama-v3p3-70b-instruct"), ReasoningStyle::None);
        assert_eq!(known_model_ids().count(), CATALOG.len());
    }
}
