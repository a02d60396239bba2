//! Reading models.dev's data: its public `api.json` (the `fireworks-ai` entry is taken) or one
//! provider entry of the same shape (`{"models": {"<id>": {...}}}`, as the bundled catalog is),
//! into one [`Entry`] per model. Every problem is an [`Error::Config`] naming the model and the
//! field; fields this crate does not read are ignored, as models.dev adds new ones.

use serde_json::Value;

use crate::error::Error;
use crate::host::{BudgetLimits, ModelStatus, ReasoningOptions};
use crate::host::{MIN_THINKING_BUDGET, ReasoningEffort};

/// The provider's key in `api.json`.
const PROVIDER: &str = "fireworks-ai";

/// One model's facts as the data gives them; a field the data leaves out is `None`, so that
/// merging a newer entry over an older one never loses what the newer one does not say.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Entry {
    pub name: Option<String>,
    /// The model family (`kimi-thinking`, `glm`, ...): reasoning is not sent across families.
    pub family: Option<String>,
    /// `limit.context`, in tokens.
    pub context: Option<u32>,
    /// `limit.output`, in tokens.
    pub output: Option<u32>,
    /// `cost`: USD per million tokens, input, output and cached input.
    pub prices: Option<(f64, f64, Option<f64>)>,
    /// Whether `modalities.input` lists `image`.
    pub images: Option<bool>,
    pub tool_call: Option<bool>,
    /// Whether a temperature may be set.
    pub temperature: Option<bool>,
    pub reasoning: Option<bool>,
    pub reasoning_options: Option<ReasoningOptions>,
    /// Whether earlier reasoning goes back in `reasoning_content` (`interleaved`: `true` or
    /// `{"field": "reasoning_content"}`); `reasoning_details` is a shape this crate does not
    /// send, so it reads as no.
    pub interleaved: Option<bool>,
    pub status: Option<ModelStatus>,
}

impl Entry {
    /// This entry with every field `newer` gives replaced by `newer`'s.
    pub(super) fn updated_by(self, newer: Entry) -> Entry {
        Entry {
            name: newer.name.or(self.name),
            family: newer.family.or(self.family),
            context: newer.context.or(self.context),
            output: newer.output.or(self.output),
            prices: newer.prices.or(self.prices),
            images: newer.images.or(self.images),
            tool_call: newer.tool_call.or(self.tool_call),
            temperature: newer.temperature.or(self.temperature),
            reasoning: newer.reasoning.or(self.reasoning),
            reasoning_options: newer.reasoning_options.or(self.reasoning_options),
            interleaved: newer.interleaved.or(self.interleaved),
            status: newer.status.or(self.status),
        }
    }
}

/// The models of `json`, by id, in the data's order.
pub(crate) fn read(json: &str) -> Result<Vec<(String, Entry)>, Error> {
    let data: Value = serde_json::from_str(json)
        .map_err(|err| Error::Config(format!("the model catalog is not valid JSON: {err}")))?;
    let provider = match data.get("models") {
        Some(_) => &data,
        None => data.get(PROVIDER).ok_or_else(|| {
            Error::Config(format!(
                "the model catalog has neither a `models` object nor a `{PROVIDER}` entry"
            ))
        })?,
    };
    let Some(Value::Object(models)) = provider.get("models") else {
        return Err(Error::Config(
            "the model catalog's `models` is not an object".into(),
        ));
    };
    models
        .iter()
        .map(|(id, model)| {
            let fields = Fields { id, model };
            fields.entry().map(|entry| (id.clone(), entry))
        })
        .collect()
}

/// One model's fields, read with errors naming the model and the field.
struct Fields<'a> {
    id: &'a str,
    model: &'a Value,
}

impl Fields<'_> {
    fn bad(&self, field: &str, problem: impl std::fmt::Display) -> Error {
        Error::Config(format!(
            "the model catalog's model {:?}: field `{field}` {problem}",
            self.id
        ))
    }

    /// The value at `path` (dotted), when present and not `null`.
    fn get(&self, path: &str) -> Option<&Value> {
        path.split('.')
            .try_fold(self.model, |value, key| value.get(key))
            .filter(|value| !value.is_null())
    }

    fn string(&self, path: &str) -> Result<Option<&str>, Error> {
        self.get(path)
            .map(|value| {
                value
                    .as_str()
                    .ok_or_else(|| self.bad(path, "is not a string"))
            })
            .transpose()
    }

    fn flag(&self, path: &str) -> Result<Option<bool>, Error> {
        self.get(path)
            .map(|value| {
                value
                    .as_bool()
                    .ok_or_else(|| self.bad(path, "is not true or false"))
            })
            .transpose()
    }

    fn tokens(&self, path: &str) -> Result<Option<u32>, Error> {
        self.get(path)
            .map(|value| {
                value
                    .as_u64()
                    .and_then(|tokens| u32::try_from(tokens).ok())
                    .filter(|tokens| *tokens > 0)
                    .ok_or_else(|| self.bad(path, format!("is not a number of tokens: {value}")))
            })
            .transpose()
    }

    fn price(&self, path: &str) -> Result<Option<f64>, Error> {
        self.get(path)
            .map(|value| {
                value
                    .as_f64()
                    .filter(|usd| usd.is_finite() && *usd >= 0.0)
                    .ok_or_else(|| self.bad(path, format!("is not a price in USD: {value}")))
            })
            .transpose()
    }

    fn entry(&self) -> Result<Entry, Error> {
        if !self.model.is_object() {
            return Err(Error::Config(format!(
                "the model catalog's model {:?} is not an object",
                self.id
            )));
        }
        if let Some(id) = self.string("id")?
            && id != self.id
        {
            return Err(self.bad("id", format!("names another model: {id:?}")));
        }
        Ok(Entry {
            name: self.string("name")?.map(str::to_owned),
            family: self.string("family")?.map(str::to_owned),
            context: self.tokens("limit.context")?,
            output: self.tokens("limit.output")?,
            prices: self.prices()?,
            images: self.images()?,
            tool_call: self.flag("tool_call")?,
            temperature: self.flag("temperature")?,
            reasoning: self.flag("reasoning")?,
            reasoning_options: self.reasoning_options()?,
            interleaved: self.interleaved()?,
            status: self.status()?,
        })
    }

    /// `cost`: `input` and `output` both, or no cost at all.
    fn prices(&self) -> Result<Option<(f64, f64, Option<f64>)>, Error> {
        if self.get("cost").is_none() {
            return Ok(None);
        }
        let input = self.price("cost.input")?;
        let output = self.price("cost.output")?;
        let cache_read = self.price("cost.cache_read")?;
        match (input, output) {
            (Some(input), Some(output)) => Ok(Some((input, output, cache_read))),
            (None, _) => Err(self.bad("cost.input", "is missing")),
            (_, None) => Err(self.bad("cost.output", "is missing")),
        }
    }

    fn images(&self) -> Result<Option<bool>, Error> {
        let Some(input) = self.get("modalities.input") else {
            return Ok(None);
        };
        let kinds = input
            .as_array()
            .filter(|kinds| kinds.iter().all(Value::is_string))
            .ok_or_else(|| self.bad("modalities.input", "is not a list of strings"))?;
        Ok(Some(kinds.iter().any(|kind| kind == "image")))
    }

    fn interleaved(&self) -> Result<Option<bool>, Error> {
        let Some(value) = self.get("interleaved") else {
            return Ok(None);
        };
        match value {
            Value::Bool(flag) => Ok(Some(*flag)),
            Value::Object(_) => match self.string("interleaved.field")? {
                Some("reasoning_content") => Ok(Some(true)),
                Some("reasoning_details") => Ok(Some(false)),
                Some(other) => Err(self.bad(
                    "interleaved.field",
                    format!("is not reasoning_content or reasoning_details: {other:?}"),
                )),
                None => Err(self.bad("interleaved.field", "is missing")),
            },
            other => Err(self.bad("interleaved", format!("is not true or an object: {other}"))),
        }
    }

    fn status(&self) -> Result<Option<ModelStatus>, Error> {
        self.string("status")?
            .map(|status| match status {
                "alpha" => Ok(ModelStatus::Alpha),
                "beta" => Ok(ModelStatus::Beta),
                "deprecated" => Ok(ModelStatus::Deprecated),
                other => Err(self.bad(
                    "status",
                    format!("is not alpha, beta or deprecated: {other:?}"),
                )),
            })
            .transpose()
    }

    /// `reasoning_options`: `{"type": "toggle"}`, `{"type": "effort", "values": [...]}` and
    /// `{"type": "budget_tokens", "min"?, "max"?}`. The effort value `default` (what sending no
    /// effort gives) is not a value to send, so it is not listed.
    fn reasoning_options(&self) -> Result<Option<ReasoningOptions>, Error> {
        let Some(list) = self.get("reasoning_options") else {
            return Ok(None);
        };
        let list = list
            .as_array()
            .ok_or_else(|| self.bad("reasoning_options", "is not a list"))?;
        let mut options = ReasoningOptions::default();
        for (index, option) in list.iter().enumerate() {
            let at = |field: &str| format!("reasoning_options[{index}].{field}");
            let option = Fields {
                id: self.id,
                model: option,
            };
            match option
                .string("type")
                .map_err(|_| self.bad(&at("type"), "is not a string"))?
            {
                Some("toggle") => options.toggle = true,
                Some("effort") => {
                    let values = option
                        .get("values")
                        .and_then(Value::as_array)
                        .ok_or_else(|| self.bad(&at("values"), "is not a list"))?;
                    for value in values {
                        let unknown =
                            || self.bad(&at("values"), format!("holds an unknown effort: {value}"));
                        let name = value.as_str().ok_or_else(unknown)?;
                        if name != "default" {
                            let effort: ReasoningEffort = name.parse().map_err(|_| unknown())?;
                            options.efforts.push(effort);
                        }
                    }
                }
                Some("budget_tokens") => {
                    let number = |field: &str| {
                        option.get(field).map(|value| {
                            value
                                .as_u64()
                                .and_then(|tokens| u32::try_from(tokens).ok())
                                .ok_or_else(|| {
                                    self.bad(
                                        &at(field),
                                        format!("is not a number of tokens: {value}"),
                                    )
                                })
                        })
                    };
                    let min = number("min").transpose()?;
                    let max = number("max").transpose()?;
                    let min = min.map_or(MIN_THINKING_BUDGET, |min| min.max(MIN_THINKING_BUDGET));
                    if max.is_some_and(|max| max < min) {
                        return Err(self.bad(
                            &at("max"),
                            format!("is below the smallest budget Fireworks takes ({min})"),
                        ));
                    }
                    options.budget_tokens = Some(BudgetLimits { min, max });
                }
                Some(other) => {
                    return Err(self.bad(
                        &at("type"),
                        format!("is not toggle, effort or budget_tokens: {other:?}"),
                    ));
                }
                None => return Err(self.bad(&at("type"), "is missing")),
            }
        }
        Ok(Some(options))
    }
}
