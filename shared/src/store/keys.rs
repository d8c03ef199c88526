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

/// A device, under its tenant: `TENANT#<id>` / `DEVICE#<deviceId>`. Device ids are UUIDv7,
/// so `begins_with(SK, "DEVICE#")` lists a tenant's devices oldest first.
pub fn device_sk(device_id: &str) -> String {
    format!("{DEVICE_PREFIX}{device_id}")
}
pub const DEVICE_PREFIX: &str = "DEVICE#";
/// Which device holds a Cloud API phone number id, per tenant:
/// `TENANT#<id>` / `PHONENUMBER#<phoneNumberId>`. Keeps the number unique within the tenant,
/// and is how an inbound webhook finds the device.
pub fn phone_number_sk(phone_number_id: &str) -> String {
    format!("PHONENUMBER#{phone_number_id}")
}

/// A message, in a partition of its own: `TENANT#<id>#MSG#<messageId>` / `MSG`.
pub fn message_pk(tenant_id: &str, message_id: &str) -> String {
    format!("TENANT#{tenant_id}#MSG#{message_id}")
}
pub const MESSAGE_SK: &str = "MSG";
/// A message by its WhatsApp id on GSI1, within its tenant:
/// `TENANT#<id>#WAMID#<wamid>` / `MSG`.
pub fn wamid_gsi1pk(tenant_id: &str, wamid: &str) -> String {
    format!("TENANT#{tenant_id}#WAMID#{wamid}")
}

/// An `Idempotency-Key` claim: `TENANT#<id>#IDEMPOTENCY#<sha256 of key>` / `IDEMPOTENCY`.
pub fn idempotency_pk(tenant_id: &str, key_hash: &str) -> String {
    format!("TENANT#{tenant_id}#IDEMPOTENCY#{key_hash}")
}
pub const IDEMPOTENCY_SK: &str = "IDEMPOTENCY";
