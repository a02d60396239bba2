//! What a host knows of a model: [`ModelInfo`] (limits, prices, how it shows its reasoning,
//! the reasoning controls it accepts, its family and status).

use super::{ReasoningEffort, Usage};

/// How a model shows its reasoning in the stream. In a configuration file: `"none"`,
/// `"reasoning_content"`, `"think_tags"` or `"starts_in_reasoning"`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningStyle {
    /// No reasoning (a `<think>` block at the very start is still recognised).
    #[default]
    None,
    /// Separate `reasoning_content` fields.
    ReasoningContent,
    /// Inline `<think>` ... `</think>` at the start of the content.
    ThinkTags,
    /// The content starts inside reasoning and only `</think>` appears.
    StartsInReasoning,
}

/// USD per million tokens, as in [`ModelInfo`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Prices {
    input: Option<f64>,
    output: Option<f64>,
    cache_read: Option<f64>,
}

impl Prices {
    /// See [`ModelInfo::cost`].
    pub(crate) fn cost(&self, usage: &Usage) -> Option<f64> {
        let input = self.input?;
        let output = self.output?;
        let cached = usage.cache_read_tokens.min(usage.input_tokens);
        let uncached = usage.input_tokens - cached;
        let cached_price = self.cache_read.unwrap_or(input);
        Some(
            (uncached as f64 * input
                + cached as f64 * cached_price
                + usage.output_tokens as f64 * output)
                / 1e6,
        )
    }
}

/// A model's limits, capabilities and prices. Built with [`ModelInfo::unknown`] and the
/// `with_*` methods (or by setting its public fields).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// The model id sent to the server.
    pub id: String,
    /// The model's name for people ("Kimi K2.6"), when the catalog gives one.
    pub name: Option<String>,
    /// Prompt plus output tokens the model accepts.
    pub context_window: u32,
    /// The most output tokens one completion may ask for.
    pub max_tokens: u32,
    /// Whether image inputs are accepted.
    pub supports_images: bool,
    /// Whether tool calling is supported.
    pub supports_tools: bool,
    /// USD per million uncached input tokens.
    pub input_price: Option<f64>,
    /// USD per million output tokens.
    pub output_price: Option<f64>,
    /// USD per million cached input tokens.
    pub cache_read_price: Option<f64>,
    /// How the model shows its reasoning: the setting `reasoning_style`
    /// ([`ModelInfo::with_reasoning_style`], `FireworksSettings::with_reasoning_style`). The
    /// field keeps its name: a public field cannot be renamed behind a deprecated alias.
    #[doc(alias = "reasoning_style")]
    pub reasoning: ReasoningStyle,
    /// Whether earlier reasoning goes back as `reasoning_content` on assistant messages, tool
    /// loops included (the catalog's models.dev `interleaved` field): the setting
    /// `send_reasoning_back` (`FireworksSettings::with_send_reasoning_back`). The field keeps
    /// its name: a public field cannot be renamed behind a deprecated alias.
    #[doc(alias = "send_reasoning_back")]
    pub sends_reasoning_back: bool,
    /// The vendor's recommended sampling temperature, used when the settings give none.
    pub default_temperature: Option<f32>,
    /// The model family (`"kimi"`, `"deepseek"`, `"qwen"`, ...), when known: reasoning a model
    /// of one family wrote is not sent to another (see
    /// [`FallbackProvider`](crate::FallbackProvider)).
    pub family: Option<String>,
    /// Where the model is in its life, when the catalog says (`Deprecated`: still served, going
    /// away).
    pub status: Option<ModelStatus>,
    /// The reasoning controls the model accepts, from the catalog: a control it does not accept
    /// is refused before sending. `None` when nobody described the model: the host's controls
    /// are then sent unchecked.
    pub reasoning_options: Option<ReasoningOptions>,
}

/// Where a model is in its life, as the catalog lists it. In a models.dev file: `"alpha"`,
/// `"beta"` or `"deprecated"`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelStatus {
    /// An early preview.
    Alpha,
    /// A preview.
    Beta,
    /// Still served, but going away: move to another model.
    Deprecated,
}

/// The reasoning controls a model accepts (models.dev's `reasoning_options`). Empty: the model
/// takes none (it does not reason, or reasons without a control).
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReasoningOptions {
    /// Reasoning can be turned on with `thinking: {"type": "enabled"}` (models.dev's `toggle`).
    pub toggle: bool,
    /// The `reasoning_effort` values it accepts.
    pub efforts: Vec<ReasoningEffort>,
    /// The token budgets `thinking: {"type": "enabled", "budget_tokens": n}` accepts, when it
    /// takes one.
    pub budget_tokens: Option<BudgetLimits>,
}

impl ReasoningOptions {
    /// Whether the model takes no reasoning control at all.
    pub fn is_empty(&self) -> bool {
        !self.toggle && self.efforts.is_empty() && self.budget_tokens.is_none()
    }
}

/// The thinking budgets a model accepts, in tokens.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetLimits {
    /// The smallest budget: the model's own minimum when the catalog gives one above
    /// Fireworks' documented minimum ([`MIN_THINKING_BUDGET`](crate::MIN_THINKING_BUDGET)),
    /// else that.
    pub min: u32,
    /// The largest budget, when the catalog gives one.
    pub max: Option<u32>,
}

impl ModelInfo {
    /// The context window assumed for a model nobody described.
    pub const DEFAULT_CONTEXT_WINDOW: u32 = 131_072;
    /// The output cap assumed for a model nobody described.
    pub const DEFAULT_MAX_TOKENS: u32 = 8_192;

    /// Info for a model no catalog knows: the default limits, no prices, no reasoning style,
    /// and images and tools allowed (the server is the judge).
    pub fn unknown(id: impl Into<String>) -> Self {
        ModelInfo {
            id: id.into(),
            name: None,
            context_window: Self::DEFAULT_CONTEXT_WINDOW,
            max_tokens: Self::DEFAULT_MAX_TOKENS,
            supports_images: true,
            supports_tools: true,
            input_price: None,
            output_price: None,
            cache_read_price: None,
            reasoning: ReasoningStyle::None,
            sends_reasoning_back: false,
            default_temperature: None,
            status: None,
            reasoning_options: None,
            family: None,
        }
    }

    /// Sets the context window.
    pub fn with_context_window(mut self, tokens: u32) -> Self {
        self.context_window = tokens;
        self
    }

    /// Sets the output cap.
    pub fn with_max_tokens(mut self, tokens: u32) -> Self {
        self.max_tokens = tokens;
        self
    }

    /// Sets whether image inputs are accepted.
    pub fn with_images(mut self, supported: bool) -> Self {
        self.supports_images = supported;
        self
    }

    /// Sets the model family (see [`ModelInfo::family`]).
    pub fn with_family(mut self, family: impl Into<String>) -> Self {
        self.family = Some(family.into());
        self
    }

    /// Sets how the model shows its reasoning ([`ModelInfo::reasoning`]).
    pub fn with_reasoning_style(mut self, style: ReasoningStyle) -> Self {
        self.reasoning = style;
        self
    }

    /// The old name of [`ModelInfo::with_reasoning_style`].
    #[deprecated(since = "0.1.0", note = "use `with_reasoning_style`")]
    pub fn with_reasoning(self, style: ReasoningStyle) -> Self {
        self.with_reasoning_style(style)
    }

    /// Sets the prices, in USD per million tokens.
    pub fn with_prices(mut self, input: f64, output: f64, cache_read: Option<f64>) -> Self {
        self.input_price = Some(input);
        self.output_price = Some(output);
        self.cache_read_price = cache_read;
        self
    }

    /// The cost in USD of `usage` at this model's prices; `None` unless the input and output
    /// prices are known. Cached tokens are charged at the cached price (the input price when
    /// none is listed); there is no cache-write charge.
    pub fn cost(&self, usage: &Usage) -> Option<f64> {
        self.prices().cost(usage)
    }

    /// The prices alone, for pricing usage without holding the whole info.
    pub(crate) fn prices(&self) -> Prices {
        Prices {
            input: self.input_price,
            output: self.output_price,
            cache_read: self.cache_read_price,
        }
    }

    /// What the prompt cache saved on `usage`, in USD: the cached tokens at the input price less
    /// what they cost at the cached price. `None` unless both prices are known.
    pub fn cache_savings(&self, usage: &Usage) -> Option<f64> {
        let saved_per_token = self.input_price? - self.cache_read_price?;
        let cached = usage.cache_read_tokens.min(usage.input_tokens);
        Some(cached as f64 * saved_per_token / 1e6)
    }
}
