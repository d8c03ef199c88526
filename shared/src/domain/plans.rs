//! The spec's "Plan limits & quotas" table, as data, and per-tenant overrides on top of it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Starter,
    Pro,
    Agency,
}

impl Plan {
    pub const ALL: [Plan; 4] = [Plan::Free, Plan::Starter, Plan::Pro, Plan::Agency];

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Starter => "starter",
            Plan::Pro => "pro",
            Plan::Agency => "agency",
        }
    }

    pub fn parse(s: &str) -> Option<Plan> {
        Plan::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The spec's table. `None` means unlimited.
    pub fn limits(self) -> PlanLimits {
        match self {
            Plan::Free => PlanLimits {
                devices: Some(1),
                messages_per_day: Some(50),
                auto_reply_rules: Some(3),
                seats: Some(1),
                ai_replies_per_day: Some(0),
                rest_api: false,
                signed_webhooks: false,
            },
            Plan::Starter => PlanLimits {
                devices: Some(1),
                messages_per_day: Some(500),
                auto_reply_rules: Some(20),
                seats: Some(2),
                ai_replies_per_day: Some(100),
                rest_api: false,
                signed_webhooks: false,
            },
            Plan::Pro => PlanLimits {
                devices: Some(3),
                messages_per_day: Some(2_000),
                auto_reply_rules: None,
                seats: Some(5),
                ai_replies_per_day: Some(1_000),
                rest_api: true,
                signed_webhooks: true,
            },
            Plan::Agency => PlanLimits {
                devices: Some(10),
                messages_per_day: Some(10_000),
                auto_reply_rules: None,
                seats: Some(25),
                ai_replies_per_day: Some(10_000),
                rest_api: true,
                signed_webhooks: true,
            },
        }
    }
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a plan allows. Counts are `None` when unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanLimits {
    pub devices: Option<u32>,
    pub messages_per_day: Option<u32>,
    pub auto_reply_rules: Option<u32>,
    pub seats: Option<u32>,
    pub ai_replies_per_day: Option<u32>,
    pub rest_api: bool,
    pub signed_webhooks: bool,
}

/// Custom limits a platform admin gives one tenant on top of its plan.
/// An absent field falls back to the plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LimitOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages_per_day: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_reply_rules: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seats: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_replies_per_day: Option<u32>,
}

impl LimitOverrides {
    pub fn is_empty(&self) -> bool {
        *self == LimitOverrides::default()
    }
}

/// The limits in force for a tenant: its plan with any overrides applied.
pub fn effective_limits(plan: Plan, overrides: &LimitOverrides) -> PlanLimits {
    let base = plan.limits();
    PlanLimits {
        devices: overrides.devices.or(base.devices),
        messages_per_day: overrides.messages_per_day.or(base.messages_per_day),
        auto_reply_rules: overrides.auto_reply_rules.or(base.auto_reply_rules),
        seats: overrides.seats.or(base.seats),
        ai_replies_per_day: overrides.ai_replies_per_day.or(base.ai_replies_per_day),
        ..base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_the_spec() {
        let rows: Vec<_> = Plan::ALL.iter().map(|p| p.limits()).collect();
        let col = |f: fn(&PlanLimits) -> Option<u32>| rows.iter().map(f).collect::<Vec<_>>();
        assert_eq!(col(|l| l.devices), [Some(1), Some(1), Some(3), Some(10)]);
        assert_eq!(
            col(|l| l.messages_per_day),
            [Some(50), Some(500), Some(2000), Some(10000)]
        );
        assert_eq!(col(|l| l.auto_reply_rules), [Some(3), Some(20), None, None]);
        assert_eq!(col(|l| l.seats), [Some(1), Some(2), Some(5), Some(25)]);
        assert_eq!(
            col(|l| l.ai_replies_per_day),
            [Some(0), Some(100), Some(1000), Some(10000)]
        );
        let rest: Vec<bool> = rows.iter().map(|l| l.rest_api).collect();
        assert_eq!(rest, [false, false, true, true]);
        let hooks: Vec<bool> = rows.iter().map(|l| l.signed_webhooks).collect();
        assert_eq!(hooks, [false, false, true, true]);
    }

    #[test]
    fn overrides_replace_only_what_they_name() {
        let o = LimitOverrides {
            messages_per_day: Some(75),
            ..Default::default()
        };
        let l = effective_limits(Plan::Free, &o);
        assert_eq!(l.messages_per_day, Some(75));
        assert_eq!(l.devices, Some(1));
        assert!(!l.rest_api);
    }

    #[test]
    fn plan_names_round_trip() {
        for p in Plan::ALL {
            assert_eq!(Plan::parse(p.as_str()), Some(p));
        }
        assert_eq!(Plan::parse("enterprise"), None);
    }
}

/// A platform admin's change to a tenant's overrides: an absent field is left alone,
/// `null` removes the override, a number sets it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitsPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    pub devices: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    pub messages_per_day: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    pub auto_reply_rules: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    pub seats: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    pub ai_replies_per_day: Option<Option<u32>>,
}

/// Distinguishes `"field": null` (Some(None)) from a missing field (None, via `default`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(d).map(Some)
}

impl LimitOverrides {
    pub fn apply(&mut self, patch: &LimitsPatch) {
        fn set(field: &mut Option<u32>, change: Option<Option<u32>>) {
            if let Some(v) = change {
                *field = v;
            }
        }
        set(&mut self.devices, patch.devices);
        set(&mut self.messages_per_day, patch.messages_per_day);
        set(&mut self.auto_reply_rules, patch.auto_reply_rules);
        set(&mut self.seats, patch.seats);
        set(&mut self.ai_replies_per_day, patch.ai_replies_per_day);
    }
}

#[cfg(test)]
mod patch_tests {
    use super::*;

    #[test]
    fn null_removes_absent_keeps_number_sets() {
        let mut o = LimitOverrides {
            devices: Some(5),
            seats: Some(9),
            ..Default::default()
        };
        let p: LimitsPatch =
            serde_json::from_str(r#"{"devices": null, "messagesPerDay": 75}"#).unwrap_or_default();
        o.apply(&p);
        assert_eq!(o.devices, None);
        assert_eq!(o.seats, Some(9));
        assert_eq!(o.messages_per_day, Some(75));
        assert!(serde_json::from_str::<LimitsPatch>(r#"{"bogus": 1}"#).is_err());
        assert!(serde_json::from_str::<LimitsPatch>(r#"{"seats": -1}"#).is_err());
    }
}
