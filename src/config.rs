//! Reading a host's configuration object (JSON, TOML, or any serde format) into
//! [`FireworksSettings`] and [`RequestOptions`]: every error names the field as the
//! configuration spells it.
//!
//! Reading is two steps, data flowing one way:
//!
//! 1. serde's derive reads the object into a private config struct ([`SettingsConfig`],
//!    [`OptionsConfig`], [`PricesConfig`]), each field under its snake_case name, its camelCase
//!    twin and Cline's names (`#[serde(alias)]`). The derive refuses an unknown field and a
//!    field given twice under two of its names; `serde_path_to_error` prefixes each of its
//!    errors with the path as written (`options.topP: invalid type ...`). The names each object
//!    was written with are kept ([`Spelled`]) for step 2, and numbers inside `extra_body` are
//!    read by [`FiniteJson`], which refuses a NaN or an infinity (TOML has them; a JSON value
//!    would turn them into `null`, "not set"); so are the numbers of a JSON schema
//!    (`response_format`).
//! 2. One validation step builds the public value through its `with_*` builders and runs its
//!    own checks ([`FireworksSettings::validate`], `RequestOptions::check_values`), naming each
//!    field as written. A NaN in a typed number (`temperature`, `prices.input`) is refused
//!    there.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::error::Error;
use crate::fireworks::{DEFAULT_MODEL_ID, FireworksSettings};
use crate::host::{
    ReasoningEffort, ReasoningHistory, ReasoningStyle, RequestOptions, ResponseFormat, ServiceTier,
    Thinking, ToolChoice,
};

/// Declares a config struct read by serde's derive, each field with the names it is also
/// accepted under, and keeps those names ([`Aliased::ALIASES`]) to say how a field was written.
macro_rules! config_struct {
    (
        $(#[$meta:meta])*
        struct $name:ident {
            $( $(#[$field_meta:meta])* $field:ident: $ty:ty $(as [$($alias:literal),+])?, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $name {
            $(
                $(#[$field_meta])*
                $(#[serde($(alias = $alias),+)])?
                $field: $ty,
            )*
        }

        impl Aliased for $name {
            const ALIASES: &'static [(&'static str, &'static [&'static str])] =
                &[$((stringify!($field), &[$($($alias),+)?])),*];
        }
    };
}

/// A config struct's fields, each with the other names it is accepted under.
trait Aliased {
    const ALIASES: &'static [(&'static str, &'static [&'static str])];
}

config_struct! {
    /// [`FireworksSettings`] as a configuration writes it.
    struct SettingsConfig {
        api_key: Option<String> as ["apiKey", "fireworksApiKey"],
        model_id: Option<String> as ["modelId", "fireworksModelId"],
        base_url: Option<String> as ["baseUrl"],
        max_tokens: Option<u32> as ["maxTokens", "fireworksModelMaxCompletionTokens"],
        context_window: Option<u32> as ["contextWindow", "fireworksModelMaxTokens"],
        supports_images: Option<bool> as ["supportsImages"],
        reasoning_style: Option<ReasoningStyle> as ["reasoningStyle"],
        send_reasoning_back: Option<bool> as ["sendReasoningBack"],
        cache_affinity: Option<bool> as ["cacheAffinity"],
        cache_report: Option<bool> as ["cacheReport"],
        cache_isolation_key: Option<String> as ["cacheIsolationKey"],
        base_model: Option<String> as ["baseModel"],
        max_event_bytes: Option<usize> as ["maxEventBytes"],
        max_tool_argument_bytes: Option<usize> as ["maxToolArgumentBytes"],
        /// Header names are the host's own, never renamed.
        headers: Option<BTreeMap<String, String>>,
        prices: Option<Spelled<PricesConfig>>,
        options: Option<Spelled<OptionsConfig>>,
    }
}

config_struct! {
    /// `prices`: USD per million tokens.
    struct PricesConfig {
        input: f64,
        output: f64,
        cache_read: Option<f64> as ["cacheRead"],
    }
}

config_struct! {
    /// [`RequestOptions`] as a configuration writes it.
    struct OptionsConfig {
        max_tokens: Option<u32> as ["maxTokens"],
        temperature: Option<f32>,
        top_p: Option<f32> as ["topP"],
        top_k: Option<u32> as ["topK"],
        stop: Option<Vec<String>>,
        seed: Option<u64>,
        reasoning_effort: Option<ReasoningEffort> as ["reasoningEffort"],
        thinking: Option<Thinking>,
        reasoning_history: Option<ReasoningHistory> as ["reasoningHistory"],
        tool_choice: Option<ToolChoice> as ["toolChoice"],
        parallel_tool_calls: Option<bool> as ["parallelToolCalls"],
        response_format: Option<ResponseFormat> as ["responseFormat"],
        cache_key: Option<String> as ["cacheKey"],
        tool_call_deltas: Option<bool> as ["toolCallDeltas"],
        service_tier: Option<ServiceTier> as ["serviceTier"],
        perf_metrics: Option<bool> as ["perfMetrics"],
        extra_body: Option<BTreeMap<String, FiniteJson>> as ["extraBody"],
        conversation_tokens: Option<u64> as ["conversationTokens"],
    }
}

impl<'de> Deserialize<'de> for FireworksSettings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        read::<D, SettingsConfig>(deserializer)?
            .into_settings()
            .map_err(de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for RequestOptions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        read::<D, OptionsConfig>(deserializer)?
            .into_options("")
            .map_err(de::Error::custom)
    }
}

/// Step 1: the config struct, each error of the derive prefixed with the path it is about.
fn read<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Spelled<T>, D::Error> {
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if path == "." {
            inner
        } else {
            de::Error::custom(format!("{path}: {inner}"))
        }
    })
}

/// Calls a `with_*` builder for a field the configuration gave.
trait WithGiven: Sized {
    /// `with(self, value)` when `value` is given, else `self` unchanged.
    fn with_given<T>(self, value: Option<T>, with: impl FnOnce(Self, T) -> Self) -> Self {
        match value {
            Some(value) => with(self, value),
            None => self,
        }
    }
}

impl WithGiven for FireworksSettings {}
impl WithGiven for RequestOptions {}

impl Spelled<SettingsConfig> {
    /// Step 2 for settings: the builders, then [`FireworksSettings::validate`]'s checks, naming
    /// each field as written.
    fn into_settings(self) -> Result<FireworksSettings, String> {
        let keys = self.keys;
        let config = self.value;
        let options_name = keys.name::<SettingsConfig>("options");
        let options = match config.options {
            Some(options) => options.into_options(&format!("{options_name}."))?,
            None => RequestOptions::default(),
        };
        // No key is an empty one: refused for api.fireworks.ai by the checks below.
        let mut settings = FireworksSettings::new(
            config.api_key.unwrap_or_default(),
            config
                .model_id
                .unwrap_or_else(|| DEFAULT_MODEL_ID.to_owned()),
        )
        .with_options(options)
        .with_given(config.base_url, FireworksSettings::with_base_url)
        .with_given(config.max_tokens, FireworksSettings::with_max_tokens)
        .with_given(
            config.context_window,
            FireworksSettings::with_context_window,
        )
        .with_given(config.supports_images, FireworksSettings::with_images)
        .with_given(
            config.reasoning_style,
            FireworksSettings::with_reasoning_style,
        )
        .with_given(
            config.send_reasoning_back,
            FireworksSettings::with_send_reasoning_back,
        )
        .with_given(
            config.cache_affinity,
            FireworksSettings::with_cache_affinity,
        )
        .with_given(config.cache_report, FireworksSettings::with_cache_report)
        .with_given(
            config.cache_isolation_key,
            FireworksSettings::with_cache_isolation_key,
        )
        .with_given(config.base_model, FireworksSettings::with_base_model)
        .with_given(
            config.max_event_bytes,
            FireworksSettings::with_max_event_bytes,
        )
        .with_given(
            config.max_tool_argument_bytes,
            FireworksSettings::with_max_tool_argument_bytes,
        );
        for (name, value) in config.headers.into_iter().flatten() {
            settings = settings.with_header(name, value);
        }
        let mut price_keys = None;
        if let Some(Spelled {
            value: prices,
            keys,
        }) = config.prices
        {
            settings = settings.with_prices(prices.input, prices.output, prices.cache_read);
            price_keys = Some(keys);
        }
        let name = |field: &'static str| match field.strip_prefix("prices.") {
            Some(price) => format!(
                "{}.{}",
                keys.name::<SettingsConfig>("prices"),
                price_keys
                    .as_ref()
                    .map_or(price.to_owned(), |keys| keys.name::<PricesConfig>(price))
            ),
            None => keys.name::<SettingsConfig>(field),
        };
        settings.validate_named(&name).map_err(|err| match err {
            Error::Config(message) => message,
            other => other.to_string(),
        })?;
        Ok(settings)
    }
}

impl Spelled<OptionsConfig> {
    /// Step 2 for options: the builders, then `RequestOptions::check_values`, naming each field
    /// as written after `prefix` (`"options."` inside settings).
    fn into_options(self, prefix: &str) -> Result<RequestOptions, String> {
        let keys = self.keys;
        let config = self.value;
        let mut options = RequestOptions::new()
            .with_given(config.max_tokens, RequestOptions::with_max_tokens)
            .with_given(config.temperature, RequestOptions::with_temperature)
            .with_given(config.top_p, RequestOptions::with_top_p)
            .with_given(config.top_k, RequestOptions::with_top_k)
            .with_given(config.stop, RequestOptions::with_stop)
            .with_given(config.seed, RequestOptions::with_seed)
            .with_given(
                config.reasoning_effort,
                RequestOptions::with_reasoning_effort,
            )
            .with_given(config.thinking, RequestOptions::with_thinking)
            .with_given(
                config.reasoning_history,
                RequestOptions::with_reasoning_history,
            )
            .with_given(config.tool_choice, RequestOptions::with_tool_choice)
            .with_given(
                config.parallel_tool_calls,
                RequestOptions::with_parallel_tool_calls,
            )
            .with_given(config.response_format, RequestOptions::with_response_format)
            .with_given(config.cache_key, RequestOptions::with_cache_key)
            .with_given(
                config.tool_call_deltas,
                RequestOptions::with_tool_call_deltas,
            )
            .with_given(config.service_tier, RequestOptions::with_service_tier)
            .with_given(config.perf_metrics, RequestOptions::with_perf_metrics);
        for (key, FiniteJson(value)) in config.extra_body.into_iter().flatten() {
            options = options.with_extra_body(key, value);
        }
        // Set from the host's own count, not from a usage: no builder takes it.
        options.conversation_tokens = config.conversation_tokens;
        // A named tool can only be checked against a request's tools.
        options.check_values_named(&|field| {
            format!("{prefix}{}", keys.name::<OptionsConfig>(field))
        })?;
        Ok(options)
    }
}

/// A config struct and the names its object was written with.
struct Spelled<T> {
    value: T,
    keys: Keys,
}

/// The names one configuration object was written with, in order.
struct Keys(Vec<String>);

impl Keys {
    /// How the configuration wrote the field `canonical` of `T`: the name it used, or
    /// `canonical` itself when the field was not given.
    fn name<T: Aliased>(&self, canonical: &'static str) -> String {
        let aliases = T::ALIASES
            .iter()
            .find(|(field, _)| *field == canonical)
            .map_or(&[][..], |(_, aliases)| *aliases);
        self.0
            .iter()
            .find(|key| *key == canonical || aliases.contains(&key.as_str()))
            .map_or_else(|| canonical.to_owned(), Clone::clone)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spelled<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(SpelledVisitor(PhantomData))
    }
}

struct SpelledVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for SpelledVisitor<T> {
    type Value = Spelled<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of settings")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Spelled<T>, A::Error> {
        let mut keys = Vec::new();
        let value = T::deserialize(MapAccessDeserializer::new(KeyRecorder {
            map,
            keys: &mut keys,
        }))?;
        Ok(Spelled {
            value,
            keys: Keys(keys),
        })
    }
}

/// Hands an object's entries on to the derive, noting each key as written.
struct KeyRecorder<'k, A> {
    map: A,
    keys: &'k mut Vec<String>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for KeyRecorder<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(key) = self.map.next_key::<String>()? else {
            return Ok(None);
        };
        self.keys.push(key.clone());
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// A JSON value read from any format, refusing a number that is not finite (which a JSON value
/// cannot hold).
pub(crate) struct FiniteJson(pub(crate) Value);

impl<'de> Deserialize<'de> for FiniteJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(FiniteJsonVisitor)
            .map(FiniteJson)
    }
}

struct FiniteJsonVisitor;

impl<'de> Visitor<'de> for FiniteJsonVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(value)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("must be a finite number, not {value}")))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(FiniteJson(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some((key, FiniteJson(value))) = map.next_entry::<String, FiniteJson>()? {
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_alias_is_a_camel_case_twin_or_one_of_clines_names() {
        let clines = [
            "fireworksApiKey",
            "fireworksModelId",
            "fireworksModelMaxCompletionTokens",
            "fireworksModelMaxTokens",
        ];
        for table in [
            SettingsConfig::ALIASES,
            OptionsConfig::ALIASES,
            PricesConfig::ALIASES,
        ] {
            for (field, aliases) in table {
                let camel: String = field
                    .split('_')
                    .enumerate()
                    .map(|(i, part)| match i {
                        0 => part.to_owned(),
                        _ => part[..1].to_uppercase() + &part[1..],
                    })
                    .collect();
                if camel != *field {
                    assert!(aliases.contains(&camel.as_str()), "{field}: {aliases:?}");
                }
                for alias in *aliases {
                    assert!(
                        *alias == camel || clines.contains(alias),
                        "{field}: {alias}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_name_written_is_kept_for_later_errors() {
        let spelled: Spelled<OptionsConfig> =
            serde_json::from_value(json!({"maxTokens": 5, "top_p": 0.5})).unwrap();
        assert_eq!(
            spelled.keys.name::<OptionsConfig>("max_tokens"),
            "maxTokens"
        );
        assert_eq!(spelled.keys.name::<OptionsConfig>("top_p"), "top_p");
        assert_eq!(
            spelled.keys.name::<OptionsConfig>("seed"),
            "seed",
            "a field not given keeps its own name"
        );
    }

    #[test]
    fn a_non_finite_number_in_extra_body_is_refused() {
        let refused = toml::from_str::<FiniteJson>("a = [1.0, nan]")
            .err()
            .map(|err| err.to_string());
        assert!(
            refused
                .as_deref()
                .is_some_and(|err| err.contains("must be a finite number")),
            "{refused:?}"
        );
        let FiniteJson(read) = toml::from_str("a = [1.5, 2]").unwrap();
        assert_eq!(read, json!({"a": [1.5, 2]}));
    }
}
