//! Reading a host's configuration object (JSON, TOML, or any serde format) field by field, so
//! that every error names the field it is about: an unknown field, a field given twice under
//! two of its names, or a value of the wrong kind.
//!
//! `FireworksSettings` and `RequestOptions` deserialize through [`Fields`]: the object is read
//! into a map first, then each known field is taken out under its names (the canonical one and
//! any aliases), and whatever is left is an unknown field.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The fields of one configuration object, taken out one by one.
pub(crate) struct Fields {
    map: Map<String, Value>,
    /// Every name taken so far, for the "unknown field" message.
    known: Vec<&'static str>,
}

impl Fields {
    pub(crate) fn new(map: Map<String, Value>) -> Self {
        Fields {
            map,
            known: Vec::new(),
        }
    }

    /// The value of the field called by any of `names` (the first is the canonical name),
    /// read as a `T`; `None` when absent or `null`. Two of the names at once is an error.
    pub(crate) fn take<T: DeserializeOwned>(
        &mut self,
        names: &[&'static str],
    ) -> Result<Option<T>, String> {
        self.known.extend_from_slice(names);
        let mut found: Option<(&str, Value)> = None;
        for name in names {
            if let Some(value) = self.map.remove(*name) {
                if let Some((first, _)) = &found {
                    return Err(format!("field `{first}` is given twice (also as `{name}`)"));
                }
                found = Some((name, value));
            }
        }
        match found {
            None | Some((_, Value::Null)) => Ok(None),
            Some((name, value)) => serde_json::from_value(value)
                .map(Some)
                .map_err(|err| format!("field `{name}`: {err}")),
        }
    }

    /// Fails on the first field no `take` asked for.
    pub(crate) fn finish(self) -> Result<(), String> {
        match self.map.keys().next() {
            None => Ok(()),
            Some(unknown) => Err(format!(
                "unknown field `{unknown}`; known fields: {}",
                self.known.join(", ")
            )),
        }
    }
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
}
