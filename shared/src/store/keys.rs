//! The key layout of every item in the table, in one place. See `docs/data-model.md`.

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";

/// Tenant profile: `TENANT#<id>` / `TENANT`.
pub fn tenant_pk(tenant_id: &str) -> String {
    format!("TENANT#{tenant_id}")
}
pub const TENANT_SK: &str = "TENANT";
/// All tenants, newest first, on GSI1 (platform admin listing).
pub const TENANTS_GSI1PK: &str = "TENANTS";

/// API key authentication record, addressed by the key's hash: `APIKEY#<sha256>` / `APIKEY`.
pub fn api_key_pk(key_hash: &str) -> String {
    format!("APIKEY#{key_hash}")
}
pub const API_KEY_SK: &str = "APIKEY";

/// A tenant's live (active or disabled) key, under the tenant: `TENANT#<id>` / `KEY#<keyId>`.
pub fn live_key_sk(key_id: &str) -> String {
    format!("{LIVE_KEY_PREFIX}{key_id}")
}
pub const LIVE_KEY_PREFIX: &str = "KEY#";
/// A revoked key's record: `TENANT#<id>` / `KEYREVOKED#<keyId>`. `begins_with(SK, "KEY")`
/// lists live and revoked keys together; `KEY#` alone lists only the live ones.
pub fn revoked_key_sk(key_id: &str) -> String {
    format!("KEYREVOKED#{key_id}")
}
pub const ALL_KEYS_PREFIX: &str = "KEY";

/// A usage counter: daily ones `USAGE#<limit>#<YYYY-MM-DD>`, running totals `USAGE#<limit>`.
pub fn usage_sk(limit_key: &str, day: Option<&str>) -> String {
    match day {
        Some(d) => format!("USAGE#{limit_key}#{d}"),
        None => format!("USAGE#{limit_key}"),
    }
}

/// A keyword auto-reply rule: `TENANT#<id>` / `RULE#<ruleId>`.
pub fn rule_sk(rule_id: &str) -> String {
    format!("{RULE_PREFIX}{rule_id}")
}
pub const RULE_PREFIX: &str = "RULE#";
/// Bumped by every rule change, so cached matchers know when to reload: `TENANT#<id>` / `RULES`.
pub const RULES_VERSION_SK: &str = "RULES";
/// AI Smart Reply settings: `TENANT#<id>` / `AISETTINGS`.
pub const AI_SETTINGS_SK: &str = "AISETTINGS";
/// One auto-reply decision: `TENANT#<id>` / `REPLYLOG#<time with ms>#<id>` (newest last).
pub fn reply_log_sk(at_millis: &str, id: &str) -> String {
    format!("{REPLY_LOG_PREFIX}{at_millis}#{id}")
}
pub const REPLY_LOG_PREFIX: &str = "REPLYLOG#";
