//! The crate's own knowledge of Fireworks models, where models.dev has none: how a model shows
//! its reasoning in the stream when that is not the usual `reasoning_content` field, and the
//! sampling temperature its vendor recommends. It applies by model id, to the catalog's models
//! and to ids the catalog does not list (a dedicated deployment of an older model still gets
//! its reasoning split right).
//!
//! A reasoning model with no entry here shows its reasoning in `reasoning_content` (Fireworks'
//! reasoning guide: the field that carries it on Fireworks), and one that does not reason shows
//! none.

use crate::host::{ModelInfo, ReasoningStyle};

/// What the crate knows of one model beyond the catalog's facts.
struct Overlay {
    id: &'static str,
    /// How it shows reasoning, when not in `reasoning_content`.
    reasoning: Option<ReasoningStyle>,
    /// The vendor's recommended temperature.
    temperature: Option<f32>,
}

const fn entry(
    id: &'static str,
    reasoning: Option<ReasoningStyle>,
    temperature: Option<f32>,
) -> Overlay {
    Overlay {
        id,
        reasoning,
        temperature,
    }
}

use ReasoningStyle::{StartsInReasoning, ThinkTags};

#[rustfmt::skip]
const OVERLAY: &[Overlay] = &[
    // Moonshot recommends 1.0 for Kimi's thinking models; the routers serve the same models.
    entry("accounts/fireworks/models/kimi-k2p6",               None, Some(1.0)),
    entry("accounts/fireworks/routers/kimi-k2p6-fast",         None, Some(1.0)),
    entry("accounts/fireworks/routers/kimi-k2p6-turbo",        None, Some(1.0)),
    entry("accounts/fireworks/models/kimi-k2p7-code",          None, Some(1.0)),
    entry("accounts/fireworks/routers/kimi-k2p7-code-fast",    None, Some(1.0)),
    // Z.ai recommends 1.0 for GLM 5.x.
    entry("accounts/fireworks/models/glm-5p1",                 None, Some(1.0)),
    entry("accounts/fireworks/routers/glm-5p1-fast",           None, Some(1.0)),
    entry("accounts/fireworks/models/glm-5p2",                 None, Some(1.0)),
    entry("accounts/fireworks/routers/glm-5p2-fast",           None, Some(1.0)),
    // MiniMax recommends 1.0 for its M models.
    entry("accounts/fireworks/models/minimax-m2p7",            None, Some(1.0)),
    entry("accounts/fireworks/models/minimax-m3",              None, Some(1.0)),
    // OpenAI recommends 1.0 for gpt-oss.
    entry("accounts/fireworks/models/gpt-oss-120b",            None, Some(1.0)),
    entry("accounts/fireworks/models/gpt-oss-20b",             None, Some(1.0)),
    // Qwen 3.7 Plus writes its reasoning inline in `<think>` tags; Qwen recommends 0.6.
    entry("accounts/fireworks/models/qwen3p7-plus",            Some(ThinkTags), Some(0.6)),
    // No longer in the catalog (models.dev does not list it), still served on deployments:
    // DeepSeek R1 writes `<think>` tags; DeepSeek recommends 0.6.
    entry("accounts/fireworks/models/deepseek-r1-0528",        Some(ThinkTags), Some(0.6)),
    // No longer in the catalog, still served on deployments: the 2507 thinking model starts
    // inside its reasoning and only ever closes `</think>`; Qwen recommends 0.6.
    entry("accounts/fireworks/models/qwen3-235b-a22b-thinking-2507", Some(StartsInReasoning), Some(0.6)),
];

/// Applies the crate's knowledge of `model_id` to `model`: its reasoning style (the overlay's,
/// else `reasoning_content` when `reasons`) and, when a temperature may be set, the recommended
/// one.
pub(crate) fn apply(
    model_id: &str,
    reasons: bool,
    temperature_settable: bool,
    model: &mut ModelInfo,
) {
    let known = OVERLAY.iter().find(|entry| entry.id == model_id);
    model.reasoning = match known.and_then(|entry| entry.reasoning) {
        Some(style) => style,
        None if reasons => ReasoningStyle::ReasoningContent,
        None => ReasoningStyle::None,
    };
    model.default_temperature = known
        .and_then(|entry| entry.temperature)
        .filter(|_| temperature_settable);
}
