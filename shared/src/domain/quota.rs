//! Plan caps: which limit, its cap for a tenant, the UTC day a daily counter belongs to, and
//! the exact message a client sees when a cap is reached.

use super::plans::{effective_limits, LimitOverrides, Plan, PlanLimits};
use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// A counted limit. Daily ones reset at 00:00 UTC; the others count what exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Limit {
    MessagesPerDay,
    AiRepliesPerDay,
    Devices,
    AutoReplyRules,
    Seats,
}

impl Limit {
    pub const ALL: [Limit; 5] = [
        Limit::MessagesPerDay,
        Limit::AiRepliesPerDay,
        Limit::Devices,
        Limit::AutoReplyRules,
        Limit::Seats,
    ];

    pub fn is_daily(self) -> bool {
        matches!(self, Limit::MessagesPerDay | Limit::AiRepliesPerDay)
    }

    /// The name used in counter keys; stable, never shown.
    pub fn key(self) -> &'static str {
        match self {
            Limit::MessagesPerDay => "messages",
            Limit::AiRepliesPerDay => "aiReplies",
            Limit::Devices => "devices",
            Limit::AutoReplyRules => "autoReplyRules",
            Limit::Seats => "seats",
        }
    }

    pub fn cap(self, limits: &PlanLimits) -> Option<u32> {
        match self {
            Limit::MessagesPerDay => limits.messages_per_day,
            Limit::AiRepliesPerDay => limits.ai_replies_per_day,
            Limit::Devices => limits.devices,
            Limit::AutoReplyRules => limits.auto_reply_rules,
            Limit::Seats => limits.seats,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Limit::MessagesPerDay => "Daily outbound message limit",
            Limit::AiRepliesPerDay => "Daily AI Smart Reply limit",
            Limit::Devices => "Connected device limit",
            Limit::AutoReplyRules => "Keyword auto-reply rule limit",
            Limit::Seats => "Team Inbox seat limit",
        }
    }
}

/// A tenant's cap for one limit: `None` is unlimited.
pub fn cap_for(plan: Plan, overrides: &LimitOverrides, limit: Limit) -> Option<u32> {
    limit.cap(&effective_limits(plan, overrides))
}

/// The 409 message, e.g. "Daily outbound message limit reached (50/day on the free plan)".
/// `cap` differing from the plan's own figure is reported as a custom limit.
pub fn limit_reached_message(limit: Limit, cap: u32, plan: Plan) -> String {
    let per = if limit.is_daily() { "/day" } else { "" };
    let custom = if limit.cap(&plan.limits()) == Some(cap) {
        ""
    } else {
        ", custom limit"
    };
    format!(
        "{} reached ({cap}{per} on the {plan} plan{custom})",
        limit.what()
    )
}

/// The message when a plan has no REST API access.
pub fn rest_api_unavailable(plan: Plan) -> String {
    format!("REST API access is not available on the {plan} plan: upgrade to Pro or Agency")
}

/// The message when a plan has no signed webhooks.
pub fn webhooks_unavailable(plan: Plan) -> String {
    format!("Signed webhooks are not available on the {plan} plan: upgrade to Pro or Agency")
}

/// The UTC day a daily counter belongs to, as `YYYY-MM-DD`.
pub fn day_of(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// When the current UTC day ends.
pub fn next_midnight(t: DateTime<Utc>) -> DateTime<Utc> {
    (t.date_naive() + Duration::days(1))
        .and_time(NaiveTime::MIN)
        .and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::at;

    #[test]
    fn every_cap_has_its_message() {
        let none = LimitOverrides::default();
        let cases = [
            (
                Limit::MessagesPerDay,
                Plan::Free,
                "Daily outbound message limit reached (50/day on the free plan)",
            ),
            (
                Limit::AiRepliesPerDay,
                Plan::Starter,
                "Daily AI Smart Reply limit reached (100/day on the starter plan)",
            ),
            (
                Limit::Devices,
                Plan::Pro,
                "Connected device limit reached (3 on the pro plan)",
            ),
            (
                Limit::AutoReplyRules,
                Plan::Free,
                "Keyword auto-reply rule limit reached (3 on the free plan)",
            ),
            (
                Limit::Seats,
                Plan::Agency,
                "Team Inbox seat limit reached (25 on the agency plan)",
            ),
        ];
        for (limit, plan, expected) in cases {
            let cap = cap_for(plan, &none, limit).unwrap_or_default();
            assert_eq!(limit_reached_message(limit, cap, plan), expected);
        }
    }

    #[test]
    fn custom_limits_say_so() {
        let o = LimitOverrides {
            messages_per_day: Some(75),
            ..Default::default()
        };
        let cap = cap_for(Plan::Free, &o, Limit::MessagesPerDay).unwrap_or_default();
        assert_eq!(cap, 75);
        assert_eq!(
            limit_reached_message(Limit::MessagesPerDay, cap, Plan::Free),
            "Daily outbound message limit reached (75/day on the free plan, custom limit)"
        );
        assert_eq!(
            cap_for(Plan::Pro, &o, Limit::AutoReplyRules),
            None,
            "unlimited"
        );
    }

    #[test]
    fn days_are_utc() {
        assert_eq!(day_of(at("2026-11-24T23:59:59Z")), "2026-11-24");
        assert_eq!(day_of(at("2026-11-25T00:00:00Z")), "2026-11-25");
        assert_eq!(day_of(at("2026-11-25T01:30:00+02:00")), "2026-11-24");
        assert_eq!(
            next_midnight(at("2026-11-24T13:00:00Z")),
            at("2026-11-25T00:00:00Z")
        );
        assert_eq!(
            next_midnight(at("2026-11-24T00:00:00Z")),
            at("2026-11-25T00:00:00Z")
        );
    }

    #[test]
    fn gate_messages() {
        assert_eq!(
            rest_api_unavailable(Plan::Starter),
            "REST API access is not available on the starter plan: upgrade to Pro or Agency"
        );
        assert!(webhooks_unavailable(Plan::Free).contains("free plan"));
    }
}
