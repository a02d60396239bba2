//! Per-turn controls: [`RequestOptions`] and its parts ([`ToolChoice`], [`ResponseFormat`],
//! [`ReasoningEffort`]), their checks, and the layering that decides what one request sends.
//!
//! Layering is field by field: the request's own value, else the provider's defaults
//! (`FireworksSettings::with_options`), else the model's catalog default (its temperature and
//! output cap), else nothing is sent. `extra_body` is merged into the body last, the request's
//! keys over the defaults', and may override any modeled field.
//!
//! Wire shapes (Fireworks' structured-output and tool-calling docs, OpenAI-compatible):
//! `response_format` is `{"type":"json_object"}`,
//! `{"type":"json_schema","json_schema":{"name","schema","strict"?}}` or
//! `{"type":"grammar","grammar":"<GBNF>"}`; `tool_choice` is `"auto"`, `"none"`,
//! `"required"` or `{"type":"function","function":{"name"}}`.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::reasoning::ReasoningControl;
use crate::config::FiniteJson;
use crate::host::{
    ModelInfo, ReasoningHistory, RequestOptions, ResponseFormat, ServiceTier, Thinking, ToolChoice,
    ToolSpec,
};

impl ToolChoice {
    /// A choice that needs tools needs them offered: `Required` some, `Tool` that one.
    pub(crate) fn check_offered(&self, offered: &[ToolSpec]) -> Result<(), String> {
        match self {
            ToolChoice::Required if offered.is_empty() => {
                Err("tool_choice is required, but no tools are offered".into())
            }
            ToolChoice::Tool(name) if !offered.iter().any(|tool| &tool.name == name) => Err(
                format!("tool_choice names tool {name:?}, which is not offered"),
            ),
            _ => Ok(()),
        }
    }
}

impl<'de> Deserialize<'de> for ToolChoice {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Named {
            tool: String,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Word(String),
            Named(Named),
        }
        let expected = r#"tool_choice must be "auto", "none", "required" or {"tool": "<name>"}"#;
        match Form::deserialize(deserializer).map_err(|_| serde::de::Error::custom(expected))? {
            Form::Word(word) => match word.as_str() {
                "auto" => Ok(ToolChoice::Auto),
                "none" => Ok(ToolChoice::None),
                "required" => Ok(ToolChoice::Required),
                _ => Err(serde::de::Error::custom(expected)),
            },
            Form::Named(Named { tool }) => Ok(ToolChoice::Tool(tool)),
        }
    }
}

impl<'de> Deserialize<'de> for ResponseFormat {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
        enum Form {
            Text,
            JsonObject,
            JsonSchema {
                name: String,
                // A NaN or an infinity in a TOML schema is refused, not read as `null`.
                schema: FiniteJson,
                #[serde(default)]
                strict: bool,
            },
            Grammar {
                grammar: String,
            },
        }
        Ok(match Form::deserialize(deserializer)? {
            Form::Text => ResponseFormat::Text,
            Form::JsonObject => ResponseFormat::JsonObject,
            Form::JsonSchema {
                name,
                schema: FiniteJson(schema),
                strict,
            } => ResponseFormat::JsonSchema {
                name,
                schema,
                strict,
            },
            Form::Grammar { grammar } => ResponseFormat::Grammar(grammar),
        })
    }
}

impl RequestOptions {
    /// The checks that need nothing but the options (all but `tool_choice`'s, which needs the
    /// tools on offer: [`ToolChoice::check_offered`]); the rule broken, when one is.
    pub(crate) fn check_values(&self) -> Result<(), String> {
        self.check_values_named(&|field| field.to_owned())
    }

    /// [`RequestOptions::check_values`], naming each field by `name` (the spelling a
    /// configuration used for it).
    pub(crate) fn check_values_named(
        &self,
        name: &dyn Fn(&'static str) -> String,
    ) -> Result<(), String> {
        if self.max_tokens == Some(0) {
            return Err(format!("{} must be at least 1", name("max_tokens")));
        }
        if let Some(t) = self.temperature
            && !(t.is_finite() && t >= 0.0)
        {
            return Err(format!(
                "{} must be a finite number of at least 0, not {t}",
                name("temperature")
            ));
        }
        if let Some(p) = self.top_p
            && !(p.is_finite() && (0.0..=1.0).contains(&p))
        {
            return Err(format!(
                "{} must be a finite number from 0 to 1, not {p}",
                name("top_p")
            ));
        }
        ReasoningControl::of(self.reasoning_effort, self.thinking)?;
        if self.thinking == Some(Thinking::Budget(0)) {
            return Err("the thinking budget must be at least 1 token".into());
        }
        if let Some(index) = self.stop.iter().position(String::is_empty) {
            return Err(format!("stop sequence {index} is empty"));
        }
        match &self.response_format {
            Some(ResponseFormat::JsonSchema { name, schema, .. }) => {
                if name.is_empty() {
                    return Err("the response format's JSON schema has an empty name".into());
                }
                if !schema.is_object() {
                    return Err(format!(
                        "the response format's JSON schema {name:?} is not a JSON object"
                    ));
                }
            }
            Some(ResponseFormat::Grammar(grammar)) if grammar.trim().is_empty() => {
                return Err("the response format's grammar is empty".into());
            }
            _ => {}
        }
        if self.cache_key.as_deref() == Some("") {
            return Err(format!("{} is empty", name("cache_key")));
        }
        if let Some(key) = ["model", "messages", "stream"]
            .into_iter()
            .find(|key| self.extra_body.contains_key(*key))
        {
            return Err(format!(
                "{} may not replace `{key}` (the provider owns it)",
                name("extra_body")
            ));
        }
        Ok(())
    }
}

/// The reasoning control one layer of options sets; none when it sets both, which
/// [`RequestOptions::check_values`] refuses before anything is sent.
fn control(options: &RequestOptions) -> Option<ReasoningControl> {
    ReasoningControl::of(options.reasoning_effort, options.thinking)
        .ok()
        .flatten()
}

/// What one request sends, after layering the request's options over the provider's defaults
/// and the model's. Borrowed: nothing is copied.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resolved<'a> {
    pub max_tokens: u32,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub top_k: Option<u32>,
    pub stop: &'a [String],
    pub seed: Option<u64>,
    /// The request's reasoning control when it sets one, else the defaults'.
    pub reasoning: Option<ReasoningControl>,
    pub reasoning_history: Option<ReasoningHistory>,
    pub tool_choice: Option<&'a ToolChoice>,
    pub parallel_tool_calls: Option<bool>,
    pub response_format: Option<&'a ResponseFormat>,
    pub cache_key: Option<&'a str>,
    pub service_tier: Option<ServiceTier>,
    /// On when the request or the defaults turn it on.
    pub perf_metrics: bool,
    pub conversation_tokens: Option<u64>,
    /// The request's extra fields, then the defaults' (a key in both: the request's wins).
    pub extra_body: [&'a Map<String, Value>; 2],
}

impl<'a> Resolved<'a> {
    /// Layers `request` over `defaults` over `model`, field by field.
    pub(super) fn new(
        request: &'a RequestOptions,
        defaults: &'a RequestOptions,
        model: &ModelInfo,
    ) -> Self {
        let stop = if request.stop.is_empty() {
            &defaults.stop
        } else {
            &request.stop
        };
        Resolved {
            max_tokens: request
                .max_tokens
                .or(defaults.max_tokens)
                .unwrap_or(model.max_tokens),
            temperature: request
                .temperature
                .or(defaults.temperature)
                .or(model.default_temperature),
            top_p: request.top_p.or(defaults.top_p),
            top_k: request.top_k.or(defaults.top_k),
            stop,
            seed: request.seed.or(defaults.seed),
            reasoning: control(request).or_else(|| control(defaults)),
            reasoning_history: request.reasoning_history.or(defaults.reasoning_history),
            tool_choice: request
                .tool_choice
                .as_ref()
                .or(defaults.tool_choice.as_ref()),
            parallel_tool_calls: request.parallel_tool_calls.or(defaults.parallel_tool_calls),
            response_format: request
                .response_format
                .as_ref()
                .or(defaults.response_format.as_ref()),
            cache_key: request
                .cache_key
                .as_deref()
                .or(defaults.cache_key.as_deref()),
            service_tier: request.service_tier.or(defaults.service_tier),
            perf_metrics: request.perf_metrics || defaults.perf_metrics,
            conversation_tokens: request.conversation_tokens,
            extra_body: [&request.extra_body, &defaults.extra_body],
        }
    }

    /// The reasoning control to write: none when `extra_body` sets `reasoning_effort` or
    /// `thinking` itself (the two are never sent together).
    pub(super) fn written_reasoning(&self) -> Option<ReasoningControl> {
        self.reasoning
            .filter(|_| !self.overridden("reasoning_effort") && !self.overridden("thinking"))
    }

    /// Whether `extra_body` sets `key` (so the modeled field is not written).
    pub(super) fn overridden(&self, key: &str) -> bool {
        self.extra_body.iter().any(|extra| extra.contains_key(key))
    }

    /// The extra fields to write, each once.
    pub(super) fn extra_fields(&self) -> impl Iterator<Item = (&'a String, &'a Value)> {
        let [request, defaults] = self.extra_body;
        request.iter().chain(
            defaults
                .iter()
                .filter(move |(key, _)| !request.contains_key(*key)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::host::ReasoningEffort;
    use serde_json::json;

    fn tool(name: &str) -> ToolSpec {
        ToolSpec::new(name, "", json!({"type": "object"}))
    }

    /// The checks a request's options go through: their values, and the tool choice against
    /// the tools on offer.
    fn check(options: &RequestOptions, tools: &[ToolSpec]) -> Result<(), String> {
        options.check_values()?;
        let choice = options.tool_choice.as_ref();
        choice.map_or(Ok(()), |choice| choice.check_offered(tools))
    }

    fn rule(options: RequestOptions, tools: &[ToolSpec]) -> String {
        check(&options, tools).expect_err("refused")
    }

    #[test]
    fn reasoning_effort_parses_from_its_wire_names() {
        assert_eq!(
            "high".parse::<ReasoningEffort>().unwrap(),
            ReasoningEffort::High
        );
        assert_eq!(
            "none".parse::<ReasoningEffort>().unwrap(),
            ReasoningEffort::None
        );
        assert_eq!(
            "xhigh".parse::<ReasoningEffort>().unwrap(),
            ReasoningEffort::XHigh
        );
        for effort in ReasoningEffort::ALL {
            assert_eq!(effort.name().parse::<ReasoningEffort>().unwrap(), effort);
            assert_eq!(
                serde_json::to_value(effort).unwrap(),
                serde_json::json!(effort.name())
            );
        }
        assert!(matches!(
            "extreme".parse::<ReasoningEffort>(),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn bad_values_are_refused_naming_the_rule() {
        let o = RequestOptions::new;
        assert!(rule(o().with_temperature(f32::NAN), &[]).contains("temperature"));
        assert!(rule(o().with_temperature(f32::INFINITY), &[]).contains("temperature"));
        assert!(rule(o().with_temperature(-0.5), &[]).contains("temperature"));
        assert!(rule(o().with_top_p(f32::NAN), &[]).contains("top_p"));
        assert!(rule(o().with_top_p(1.5), &[]).contains("top_p"));
        assert!(rule(o().with_max_tokens(0), &[]).contains("max_tokens"));
        assert_eq!(
            rule(o().with_stop(["END", ""]), &[]),
            "stop sequence 1 is empty"
        );
        assert!(rule(o().with_cache_key(""), &[]).contains("cache_key"));
        assert!(check(&o().with_temperature(0.0).with_top_p(1.0), &[]).is_ok());
    }

    #[test]
    fn tool_choice_must_name_an_offered_tool() {
        let choose =
            |name: &str| RequestOptions::new().with_tool_choice(ToolChoice::Tool(name.into()));
        let offered = [tool("read_file"), tool("list_dir")];
        assert!(check(&choose("list_dir"), &offered).is_ok());
        let refused = rule(choose("write_file"), &offered);
        assert!(refused.contains("\"write_file\""), "{refused}");
        let required = RequestOptions::new().with_tool_choice(ToolChoice::Required);
        assert!(rule(required.clone(), &[]).contains("no tools"));
        assert!(check(&required, &offered).is_ok());
    }

    #[test]
    fn schemas_must_be_objects_and_grammars_not_empty() {
        let schema = |schema: Value| {
            RequestOptions::new().with_response_format(ResponseFormat::JsonSchema {
                name: "answer".into(),
                schema,
                strict: true,
            })
        };
        assert!(check(&schema(json!({"type": "object"})), &[]).is_ok());
        assert!(rule(schema(json!("object")), &[]).contains("not a JSON object"));
        assert!(rule(schema(json!([1])), &[]).contains("\"answer\""));
        let grammar =
            RequestOptions::new().with_response_format(ResponseFormat::Grammar(" ".into()));
        assert!(rule(grammar, &[]).contains("grammar"));
    }

    #[test]
    fn extra_body_may_not_replace_what_the_provider_owns() {
        for key in ["model", "messages", "stream"] {
            let options = RequestOptions::new().with_extra_body(key, json!(1));
            assert!(rule(options, &[]).contains(&format!("`{key}`")));
        }
        let fine = RequestOptions::new().with_extra_body("temperature", json!(0.1));
        assert!(check(&fine, &[]).is_ok());
    }

    #[test]
    fn layering_is_field_by_field_request_then_defaults_then_model() {
        let mut model = ModelInfo::unknown("m");
        model.default_temperature = Some(1.0);
        model.max_tokens = 9_000;
        let defaults = RequestOptions::new()
            .with_temperature(0.7)
            .with_top_p(0.9)
            .with_stop(["STOP"])
            .with_extra_body("user", json!("defaults"))
            .with_extra_body("logprobs", json!(true));
        let request = RequestOptions::new()
            .with_temperature(0.2)
            .with_extra_body("user", json!("request"));
        let resolved = Resolved::new(&request, &defaults, &model);
        assert_eq!(resolved.temperature, Some(0.2));
        assert_eq!(resolved.top_p, Some(0.9));
        assert_eq!(resolved.stop, ["STOP"]);
        assert_eq!(resolved.max_tokens, 9_000);
        assert_eq!(resolved.top_k, None);
        let extra: Vec<_> = resolved.extra_fields().collect();
        assert_eq!(
            extra,
            [
                (&"user".to_owned(), &json!("request")),
                (&"logprobs".to_owned(), &json!(true))
            ]
        );
        let none = RequestOptions::new();
        let from_model = Resolved::new(&none, &none, &model);
        assert_eq!(from_model.temperature, Some(1.0));
        assert_eq!(from_model.top_p, None);
    }

    #[test]
    fn deserializes_from_a_config_object_naming_bad_fields() {
        let options: RequestOptions = serde_json::from_value(json!({
            "temperature": 0.3,
            "reasoning_effort": "high",
            "tool_choice": {"tool": "read_file"},
            "response_format": {"type": "json_schema", "name": "a", "schema": {"type": "object"}},
            "stop": ["###"],
            "extra_body": {"user": "u1"},
        }))
        .unwrap();
        assert_eq!(options.temperature, Some(0.3));
        assert_eq!(options.reasoning_effort, Some(ReasoningEffort::High));
        assert_eq!(
            options.tool_choice,
            Some(ToolChoice::Tool("read_file".into()))
        );
        assert!(matches!(
            options.response_format,
            Some(ResponseFormat::JsonSchema { strict: false, .. })
        ));
        let error = |value: Value| {
            serde_json::from_value::<RequestOptions>(value)
                .unwrap_err()
                .to_string()
        };
        assert!(error(json!({"temprature": 1})).contains("unknown field `temprature`"));
        assert!(error(json!({"temperature": "hot"})).contains("temperature: invalid type"));
        assert!(
            error(json!({"reasoning_effort": "most"}))
                .contains("reasoning_effort: unknown variant")
        );
        assert!(
            error(json!({"reasoning_effort": "high", "thinking": "enabled"}))
                .contains("cannot both be set")
        );
        assert!(error(json!({"thinking": {"budget_tokens": 0}})).contains("at least 1 token"));
        assert!(
            error(json!({"reasoning_history": "all"}))
                .contains("reasoning_history: unknown variant")
        );
        let reasoning: RequestOptions = serde_json::from_value(json!({
            "thinking": {"budget_tokens": 2048},
            "reasoning_history": "preserved",
        }))
        .unwrap();
        assert_eq!(reasoning.thinking, Some(Thinking::Budget(2048)));
        assert_eq!(
            reasoning.reasoning_history,
            Some(ReasoningHistory::Preserved)
        );
        assert!(error(json!({"tool_choice": "sometimes"})).contains("tool_choice must be"));
        assert!(error(json!({"top_p": 2.0})).contains("top_p must be"));
        assert!(error(json!({"extra_body": {"model": "x"}})).contains("`model`"));
    }
}
