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

/// A tenant's webhook settings: `TENANT#<id>` / `WEBHOOK`.
pub const WEBHOOK_SK: &str = "WEBHOOK";

/// One outbound webhook event and its delivery attempts: `TENANT#<id>` /
/// `WHDELIVERY#<eventId>`. Event ids are UUID v7, so the tenant's deliveries sort by time.
pub fn delivery_sk(event_id: &str) -> String {
    format!("{DELIVERY_PREFIX}{event_id}")
}
pub const DELIVERY_PREFIX: &str = "WHDELIVERY#";
/// The same delivery on GSI1, by status and event type:
/// `TENANT#<id>#WHDELIVERY#<status>#<eventType>` / `<eventId>`. A filter on status, on
/// type or on both is a query on one or a few of these partitions, never a filter.
pub fn delivery_gsi1pk(tenant_id: &str, status: &str, event_type: &str) -> String {
    format!("TENANT#{tenant_id}#WHDELIVERY#{status}#{event_type}")
}
