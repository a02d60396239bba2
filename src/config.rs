//! Reading a host's configuration object (JSON, TOML, or any serde format) field by field, so
//! that every error names the field it is about, as the configuration spells it: an unknown
//! field, a field given twice under two of its names, or a value of the wrong kind.
//!
//! `FireworksSettings` and `RequestOptions` deserialize through [`Fields`]: the object is read
//! into a map first, then each known field is taken out under its names (the canonical
//! snake_case one, its camelCase twin, and any aliases), and whatever is left is an unknown
//! field.
//!
//! The object is read into the map by [`Fields::read`], which refuses what a JSON map cannot
//! hold: a NaN or an infinity (TOML has them), which `serde_json::Map` would turn into `null`
//! and so into "not set".

use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The fields of one configuration object, taken out one by one.
pub(crate) struct Fields {
    map: Map<String, Value>,
    /// Every name accepted so far, for the "unknown field" message.
    known: Vec<String>,
    /// The canonical name of each field present, and the name it was given under.
    written: Vec<(&'static str, String)>,
}

impl Fields {
    pub(crate) fn new(map: Map<String, Value>) -> Self {
        Fields {
            map,
            known: Vec::new(),
            written: Vec::new(),
        }
    }

    /// Reads a configuration object from any serde format. A number that is not finite, at
    /// any depth, is an error naming its field (`prices.input`, `options.top_p`).
    pub(crate) fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match deserializer.deserialize_map(Setting { path: "" })? {
            Value::Object(map) => Ok(Fields::new(map)),
            _ => unreachable!("deserialize_map gives a map or an error"),
        }
    }

    /// The value of the field called by any of `names` (the first is the canonical snake_case
    /// name, whose camelCase twin is accepted too), read as a `T`; `None` when absent or
    /// `null`. Two of the names at once is an error.
    pub(crate) fn take<T: DeserializeOwned>(
        &mut self,
        names: &[&'static str],
    ) -> Result<Option<T>, String> {
        let canonical = names[0];
        let camel = camel_case(canonical);
        let mut accepted: Vec<String> = vec![canonical.to_owned()];
        if camel != canonical {
            accepted.push(camel);
        }
        accepted.extend(names[1..].iter().map(|name| (*name).to_owned()));
        let mut found: Option<(String, Value)> = None;
        for name in &accepted {
            if let Some(value) = self.map.remove(name) {
                if let Some((first, _)) = &found {
                    return Err(format!("field `{first}` is given twice (also as `{name}`)"));
                }
                found = Some((name.clone(), value));
            }
        }
        self.known.extend(accepted);
        let Some((name, value)) = found else {
            return Ok(None);
        };
        self.written.push((canonical, name.clone()));
        match value {
            Value::Null => Ok(None),
            value => serde_json::from_value(value)
                .map(Some)
                .map_err(|err| format!("field `{name}`: {err}")),
        }
    }

    /// The name the field `canonical` was given under (the canonical name itself when it was
    /// not given), for the errors of checks made after reading.
    pub(crate) fn written(&self, canonical: &'static str) -> String {
        self.written
            .iter()
            .find(|(name, _)| *name == canonical)
            .map_or(canonical, |(_, written)| written.as_str())
            .to_owned()
    }

    /// Fails on the first field no `take` asked for.
    pub(crate) fn finish(&self) -> Result<(), String> {
        match self.map.keys().next() {
            None => Ok(()),
            Some(unknown) => Err(format!(
                "unknown field `{unknown}`; known fields: {}",
                self.known.join(", ")
            )),
        }
    }
}

/// Reads one configuration value, at `path` (empty: the top-level object), into a `Value`,
/// refusing numbers that are not finite.
struct Setting<'a> {
    path: &'a str,
}

impl Setting<'_> {
    fn child(&self, name: &str) -> String {
        match self.path {
            "" => name.to_owned(),
            path => format!("{path}.{name}"),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Setting<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Setting<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a configuration value")
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
            .ok_or_else(|| {
                E::custom(format!(
                    "field `{}` must be a finite number, not {value}",
                    self.path
                ))
            })
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
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Setting {
            path: &format!("{}[{}]", self.path, items.len()),
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(Setting {
                path: &self.child(&key),
            })?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// `snake_case` as `camelCase` (`max_tokens` → `maxTokens`).
pub(crate) fn camel_case(snake: &str) -> String {
    let mut camel = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            camel.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            camel.push(c);
        }
    }
    camel
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(value: Value) -> Fields {
        match value {
            Value::Object(map) => Fields::new(map),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn takes_by_any_name_and_names_the_field_in_errors() {
        let mut f = fields(json!({"maxTokens": 5, "temperature": "hot", "x": null}));
        assert_eq!(f.take::<u32>(&["max_tokens", "maxTokens"]), Ok(Some(5)));
        let err = f.take::<f32>(&["temperature"]).unwrap_err();
        assert!(
            err.starts_with("field `temperature`: invalid type"),
            "{err}"
        );
        assert_eq!(f.take::<u32>(&["x"]), Ok(None), "null is absent");
        assert_eq!(f.take::<u32>(&["missing"]), Ok(None));
        assert!(f.finish().is_ok());
    }

    #[test]
    fn two_names_at_once_and_unknown_fields_are_refused() {
        let mut f = fields(json!({"a": 1, "b": 2}));
        let err = f.take::<u32>(&["a", "b"]).unwrap_err();
        assert_eq!(err, "field `a` is given twice (also as `b`)");
        let mut f = fields(json!({"a": 1, "typo": 2}));
        f.take::<u32>(&["a"]).unwrap();
        let err = f.finish().unwrap_err();
        assert!(
            err.starts_with("unknown field `typo`; known fields: a"),
            "{err}"
        );
    }

    #[test]
    fn the_camel_case_twin_is_accepted_and_errors_use_the_name_written() {
        let mut f = fields(json!({"maxTokens": 5, "topP": "high"}));
        assert_eq!(f.take::<u32>(&["max_tokens"]), Ok(Some(5)));
        assert_eq!(f.written("max_tokens"), "maxTokens");
        assert_eq!(
            f.written("seed"),
            "seed",
            "a field not given keeps its own name"
        );
        let err = f.take::<f32>(&["top_p"]).unwrap_err();
        assert!(err.starts_with("field `topP`: invalid type"), "{err}");
        let mut f = fields(json!({"max_tokens": 1, "maxTokens": 2}));
        let err = f.take::<u32>(&["max_tokens"]).unwrap_err();
        assert_eq!(
            err,
            "field `max_tokens` is given twice (also as `maxTokens`)"
        );
        let mut f = fields(json!({"typo": 1}));
        f.take::<u32>(&["max_tokens"]).unwrap();
        let err = f.finish().unwrap_err();
        assert!(
            err.ends_with("known fields: max_tokens, maxTokens"),
            "{err}"
        );
    }

    #[test]
    fn camel_case_of_every_shape() {
        assert_eq!(camel_case("api_key"), "apiKey");
        assert_eq!(camel_case("send_reasoning_back"), "sendReasoningBack");
        assert_eq!(camel_case("seed"), "seed");
    }
}
