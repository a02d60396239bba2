//! The reasoning controls of one request ([`Thinking`], [`ReasoningHistory`], with
//! `ReasoningEffort` from `options`), checked against what the model accepts before anything is
//! sent.
//!
//! Wire forms (Fireworks' reasoning guide and the provider notes in models.dev):
//! `reasoning_effort: "<value>"`, or `thinking: {"type": "enabled"}` (turns reasoning on, for
//! models that toggle it), or `thinking: {"type": "enabled", "budget_tokens": n}` with n at least
//! 1024 — never `reasoning_effort` and `thinking` together — and `reasoning_history:
//! "disabled" | "interleaved" | "preserved"`. The guide gives no form that turns reasoning off
//! for the models that only toggle (Kimi, GLM 5.1; models.dev's notes say the same), so none is
//! invented: off is `reasoning_effort: "none"`, refused for a catalog model that does not list
//! `none` among its efforts.

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Deserializer, Serialize};

use crate::host::{ModelInfo, ReasoningEffort, ReasoningHistory, ReasoningOptions, Thinking};

impl Serialize for Thinking {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", "enabled")?;
        if let Thinking::Budget(tokens) = self {
            map.serialize_entry("budget_tokens", tokens)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Thinking {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Budget {
            budget_tokens: u32,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Word(String),
            Budget(Budget),
        }
        let expected = r#"thinking must be "enabled" or {"budget_tokens": <tokens>}"#;
        match Form::deserialize(deserializer).map_err(|_| serde::de::Error::custom(expected))? {
            Form::Word(word) if word == "enabled" => Ok(Thinking::Enabled),
            Form::Word(_) => Err(serde::de::Error::custom(expected)),
            Form::Budget(Budget { budget_tokens }) => Ok(Thinking::Budget(budget_tokens)),
        }
    }
}

/// The one reasoning control a request sends: an effort or a `thinking` object, never both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReasoningControl {
    Effort(ReasoningEffort),
    Thinking(Thinking),
}

impl ReasoningControl {
    /// The control one layer of options sets; both at once is the rule it breaks.
    pub(super) fn of(
        effort: Option<ReasoningEffort>,
        thinking: Option<Thinking>,
    ) -> Result<Option<Self>, String> {
        match (effort, thinking) {
            (Some(_), Some(_)) => Err(
                "reasoning_effort and thinking cannot both be set (Fireworks refuses them together)"
                    .into(),
            ),
            (Some(effort), None) => Ok(Some(ReasoningControl::Effort(effort))),
            (None, Some(thinking)) => Ok(Some(ReasoningControl::Thinking(thinking))),
            (None, None) => Ok(None),
        }
    }
}

/// Refuses a control or history `model` does not accept, naming the model and what it does
/// accept. A model nobody described (`reasoning_options: None`) is sent what the host asked.
pub(crate) fn check(
    control: Option<ReasoningControl>,
    history: Option<ReasoningHistory>,
    model: &ModelInfo,
) -> Result<(), String> {
    let Some(accepted) = &model.reasoning_options else {
        return Ok(());
    };
    let refused = |asked: String| {
        format!(
            "model {} does not accept {asked}; it accepts {}",
            model.id,
            describe(accepted)
        )
    };
    match control {
        Some(ReasoningControl::Effort(effort)) if !accepted.efforts.contains(&effort) => {
            return Err(refused(format!("reasoning_effort \"{}\"", effort.name())));
        }
        Some(ReasoningControl::Thinking(Thinking::Enabled)) if !accepted.toggle => {
            return Err(refused(r#"thinking {"type": "enabled"}"#.into()));
        }
        Some(ReasoningControl::Thinking(Thinking::Budget(tokens))) => {
            let fits = accepted.budget_tokens.is_some_and(|limits| {
                tokens >= limits.min && limits.max.is_none_or(|max| tokens <= max)
            });
            if !fits {
                return Err(refused(format!("a thinking budget of {tokens} tokens")));
            }
        }
        _ => {}
    }
    if history.is_some() && accepted.is_empty() {
        return Err(refused("reasoning_history".into()));
    }
    Ok(())
}

/// What a model accepts, in the words of the wire: `reasoning_effort "high" | "max", thinking
/// {"type": "enabled"}`.
fn describe(accepted: &ReasoningOptions) -> String {
    let mut forms = Vec::new();
    if !accepted.efforts.is_empty() {
        let names: Vec<String> = accepted
            .efforts
            .iter()
            .map(|effort| format!("\"{}\"", effort.name()))
            .collect();
        forms.push(format!("reasoning_effort {}", names.join(" | ")));
    }
    if accepted.toggle {
        forms.push(r#"thinking {"type": "enabled"}"#.to_owned());
    }
    if let Some(limits) = accepted.budget_tokens {
        let range = match limits.max {
            Some(max) => format!("{} to {max}", limits.min),
            None => format!("of at least {}", limits.min),
        };
        forms.push(format!("a thinking budget_tokens {range}"));
    }
    if forms.is_empty() {
        "no reasoning control".into()
    } else {
        forms.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::BudgetLimits;

    fn model(options: Option<ReasoningOptions>) -> ModelInfo {
        ModelInfo {
            reasoning_options: options,
            ..ModelInfo::unknown("accounts/fireworks/models/m")
        }
    }

    fn effort(effort: ReasoningEffort) -> Option<ReasoningControl> {
        Some(ReasoningControl::Effort(effort))
    }

    #[test]
    fn both_controls_in_one_layer_are_refused() {
        let both = ReasoningControl::of(Some(ReasoningEffort::High), Some(Thinking::Enabled));
        assert!(both.unwrap_err().contains("cannot both be set"));
        assert_eq!(ReasoningControl::of(None, None), Ok(None));
    }

    #[test]
    fn an_undescribed_model_is_sent_what_was_asked() {
        let unknown = model(None);
        for control in [
            effort(ReasoningEffort::Max),
            Some(ReasoningControl::Thinking(Thinking::Budget(1))),
        ] {
            assert_eq!(
                check(control, Some(ReasoningHistory::Preserved), &unknown),
                Ok(())
            );
        }
    }

    #[test]
    fn refusals_name_the_model_and_everything_it_accepts() {
        let options = ReasoningOptions {
            toggle: true,
            efforts: vec![ReasoningEffort::Low, ReasoningEffort::High],
            budget_tokens: Some(BudgetLimits {
                min: 1024,
                max: Some(8192),
            }),
        };
        let m = model(Some(options));
        assert_eq!(check(effort(ReasoningEffort::High), None, &m), Ok(()));
        let refusal = check(effort(ReasoningEffort::Max), None, &m).unwrap_err();
        assert_eq!(
            refusal,
            "model accounts/fireworks/models/m does not accept reasoning_effort \"max\"; it \
             accepts reasoning_effort \"low\" | \"high\", thinking {\"type\": \"enabled\"}, \
             a thinking budget_tokens 1024 to 8192"
        );
        let budget = |tokens| {
            check(
                Some(ReasoningControl::Thinking(Thinking::Budget(tokens))),
                None,
                &m,
            )
        };
        assert_eq!(budget(1024), Ok(()));
        assert_eq!(budget(8192), Ok(()));
        assert!(
            budget(1023)
                .unwrap_err()
                .contains("a thinking budget of 1023 tokens")
        );
        assert!(budget(8193).is_err());
        let plain = model(Some(ReasoningOptions::default()));
        let refusal = check(None, Some(ReasoningHistory::Disabled), &plain).unwrap_err();
        assert!(
            refusal.ends_with("reasoning_history; it accepts no reasoning control"),
            "{refusal}"
        );
        let toggle = check(
            Some(ReasoningControl::Thinking(Thinking::Enabled)),
            None,
            &plain,
        );
        assert!(
            toggle
                .unwrap_err()
                .contains(r#"thinking {"type": "enabled"}"#)
        );
    }

    #[test]
    fn thinking_is_written_and_read_in_its_forms() {
        let json = |thinking: Thinking| serde_json::to_value(thinking).unwrap();
        assert_eq!(
            json(Thinking::Enabled),
            serde_json::json!({"type": "enabled"})
        );
        assert_eq!(
            json(Thinking::Budget(2048)),
            serde_json::json!({"type": "enabled", "budget_tokens": 2048})
        );
        let read = |value| serde_json::from_value::<Thinking>(value);
        assert_eq!(
            read(serde_json::json!("enabled")).unwrap(),
            Thinking::Enabled
        );
        assert_eq!(
            read(serde_json::json!({"budget_tokens": 4096})).unwrap(),
            Thinking::Budget(4096)
        );
        let error = read(serde_json::json!("disabled")).unwrap_err().to_string();
        assert!(error.contains("thinking must be"), "{error}");
    }
}
