//! The key layout of every item in the table, in one place. See `docs/data-model.md`.

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
pub const GSI2: &str = "GSI2";
pub const GSI2PK: &str = "GSI2PK";
pub const GSI2SK: &str = "GSI2SK";
/// Messages by WhatsApp id, keys only: a status update never writes it (GSI1, projected
/// ALL, rewrites its copy on every change of the item).
pub const GSI3: &str = "GSI3";
pub const GSI3PK: &str = "GSI3PK";

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
/// Opt-out settings (words, confirmations, `blockDirectSends`): `TENANT#<id>` / `OPTOUT`.
pub const OPT_OUT_SETTINGS_SK: &str = "OPTOUT";
/// Phone settings (`defaultCountryCode`): `TENANT#<id>` / `PHONESETTINGS`.
pub const PHONE_SETTINGS_SK: &str = "PHONESETTINGS";
/// AI Smart Reply settings, and the working hours (attribute `workingHours`), read together
/// by the inbound worker: `TENANT#<id>` / `AISETTINGS`.
pub const AI_SETTINGS_SK: &str = "AISETTINGS";
/// One auto-reply decision: `TENANT#<id>` / `REPLYLOG#<time with ms>#<id>` (newest last).
pub fn reply_log_sk(at_millis: &str, id: &str) -> String {
    format!("{REPLY_LOG_PREFIX}{at_millis}#{id}")
}
pub const REPLY_LOG_PREFIX: &str = "REPLYLOG#";

// Contacts, tags and contact lists. Each collection has a partition of its own under the
// tenant, so a cursor is bound to it and no listing shares a partition with another.

/// A contact: `TENANT#<t>#CONTACTS` / `CONTACT#<contactId>` (ids are UUIDv7, so the
/// partition is in creation order).
pub fn contacts_pk(tenant_id: &str) -> String {
    format!("TENANT#{tenant_id}#CONTACTS")
}
pub const CONTACT_PREFIX: &str = "CONTACT#";
pub fn contact_sk(contact_id: &str) -> String {
    format!("{CONTACT_PREFIX}{contact_id}")
}
/// The name index, on the contact item itself (GSI1): `TENANT#<t>#CONTACTNAMES` /
/// `<folded name>\u{1}<contactId>`. The separator sorts below every character a name can
/// hold (names have no control characters), so "ali" comes before "ali khan". Contacts
/// without a name are not in it.
pub fn contact_names_gsi1pk(tenant_id: &str) -> String {
    format!("TENANT#{tenant_id}#CONTACTNAMES")
}
pub const CONTACT_NAME_SEPARATOR: char = '\u{1}';
pub fn contact_name_gsi1sk(folded_name: &str, contact_id: &str) -> String {
    format!("{folded_name}{CONTACT_NAME_SEPARATOR}{contact_id}")
}
/// A phone number's claim, which makes phones unique per tenant and carries a copy of the
/// contact (phone prefix search): `TENANT#<t>#PHONES` / `PHONE#<digits>`.
pub fn phones_pk(tenant_id: &str) -> String {
    format!("TENANT#{tenant_id}#PHONES")
}
pub const PHONE_PREFIX: &str = "PHONE#";
pub fn phone_sk(digits: &str) -> String {
    format!("{PHONE_PREFIX}{digits}")
}
/// A tag's members, each a copy of the contact: `TENANT#<t>#TAG#<tag>` / `CONTACT#<contactId>`.
pub fn tag_pk(tenant_id: &str, tag: &str) -> String {
    format!("TENANT#{tenant_id}#TAG#{tag}")
}
/// Contacts by consent, each a copy of the contact (as for a tag): every contact has
/// exactly one, `TENANT#<t>#CONSENT#OUT` (opted out) or `TENANT#<t>#CONSENT#IN` /
/// `CONTACT#<contactId>`, so `?optedOut=true|false` is one query that reads only its page.
pub fn consent_pk(tenant_id: &str, opted_out: bool) -> String {
    let which = if opted_out { "OUT" } else { "IN" };
    format!("TENANT#{tenant_id}#CONSENT#{which}")
}
/// Contact lists: `TENANT#<t>#LISTS` / `LIST#<listId>`.
pub fn lists_pk(tenant_id: &str) -> String {
    format!("TENANT#{tenant_id}#LISTS")
}
pub const LIST_PREFIX: &str = "LIST#";
pub fn list_sk(list_id: &str) -> String {
    format!("{LIST_PREFIX}{list_id}")
}
/// A deleted list whose members are still being removed: `TENANT#<t>#LISTS` /
/// `DELETEDLIST#<listId>`, and on GSI1 `DELETEDLISTS` / `<deletedAt>#<t>#<listId>` so a sweep
/// finds every pending clean-up without knowing the tenants.
pub fn deleted_list_sk(list_id: &str) -> String {
    format!("DELETEDLIST#{list_id}")
}
pub const DELETED_LISTS_GSI1PK: &str = "DELETEDLISTS";
/// A list's members, each with a copy of the contact's name and phone:
/// `TENANT#<t>#LIST#<listId>` / `CONTACT#<contactId>`.
pub fn list_members_pk(tenant_id: &str, list_id: &str) -> String {
    format!("TENANT#{tenant_id}#LIST#{list_id}")
}
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
/// A message by its WhatsApp id, within its tenant: `GSI3PK = TENANT#<id>#WAMID#<wamid>`
/// (keys only). Messages stored before GSI3 existed have the same key on GSI1
/// (`GSI1PK` / `GSI1SK = MSG`), where lookups still find them.
pub fn wamid_index_pk(tenant_id: &str, wamid: &str) -> String {
    format!("TENANT#{tenant_id}#WAMID#{wamid}")
}

/// A message in its conversation's history, on GSI2 (projection: direction, text, type,
/// deviceId, waMessageId): `TENANT#<id>#HISTORY#<peer>` / `<messageId>`. Every message,
/// inbound and outbound, of every device with that peer; ids are UUIDv7, so newest last.
pub fn history_gsi2pk(tenant_id: &str, peer: &str) -> String {
    format!("TENANT#{tenant_id}#HISTORY#{peer}")
}

/// The tenant's conversations with one customer, one per device:
/// `TENANT#<id>#PEER#<peer>` / `CONV#<deviceId>`. Keyed by the peer first so the send flow
/// can read the 24-hour window in its first round, before it knows the device.
pub fn peer_pk(tenant_id: &str, peer: &str) -> String {
    format!("TENANT#{tenant_id}#PEER#{peer}")
}
pub const CONVERSATION_PREFIX: &str = "CONV#";
pub fn conversation_sk(device_id: &str) -> String {
    format!("{CONVERSATION_PREFIX}{device_id}")
}
/// The last away message to a customer through one device (its closed spell and the
/// customer message it answered): `TENANT#<id>#PEER#<peer>` / `AWAY#<deviceId>`.
pub fn away_reply_sk(device_id: &str) -> String {
    format!("AWAY#{device_id}")
}

/// An `Idempotency-Key` claim: `TENANT#<id>#IDEMPOTENCY#<sha256 of key>` / `IDEMPOTENCY`.
pub fn idempotency_pk(tenant_id: &str, key_hash: &str) -> String {
    format!("TENANT#{tenant_id}#IDEMPOTENCY#{key_hash}")
}
pub const IDEMPOTENCY_SK: &str = "IDEMPOTENCY";
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

// Campaigns (docs/campaigns.md).

/// A tenant's campaigns: `TENANT#<t>#CAMPAIGNS` / `CAMPAIGN#<id>` (UUIDv7: creation order).
pub fn campaigns_pk(tenant_id: &str) -> String {
    format!("TENANT#{tenant_id}#CAMPAIGNS")
}
pub const CAMPAIGN_PREFIX: &str = "CAMPAIGN#";
pub fn campaign_sk(campaign_id: &str) -> String {
    format!("{CAMPAIGN_PREFIX}{campaign_id}")
}
/// A campaign's scheduler entry, next to it: `TENANT#<t>#CAMPAIGNS` / `DUE#<id>`, and on
/// GSI1 `CAMPAIGNS#DUE` / `<when, Unix seconds, 12 digits>#<t>#<id>`, so the minute job
/// finds every campaign that needs it with one query, oldest first. Only campaigns that
/// need the scheduler have one (scheduled, running, paused on the daily cap, completed with
/// its event unpublished); counter updates never touch it, so the index is written once
/// per batch, not once per message.
pub fn campaign_due_sk(campaign_id: &str) -> String {
    format!("DUE#{campaign_id}")
}
pub const CAMPAIGNS_DUE_GSI1PK: &str = "CAMPAIGNS#DUE";
pub fn campaign_due_gsi1sk(due_at: i64, tenant_id: &str, campaign_id: &str) -> String {
    format!("{:012}#{tenant_id}#{campaign_id}", due_at.max(0))
}
/// A campaign's recipients, in a partition of their own, by batch and position:
/// `TENANT#<t>#CAMPAIGN#<id>` / `R#<batch, 6 digits>#<index, 2 digits>`. A batch is one
/// key range, so the recipients of the batch in flight are one query.
pub fn campaign_recipients_pk(tenant_id: &str, campaign_id: &str) -> String {
    format!("TENANT#{tenant_id}#CAMPAIGN#{campaign_id}")
}
pub const RECIPIENT_PREFIX: &str = "R#";
pub fn recipient_sk(batch: u32, index: u32) -> String {
    format!("{RECIPIENT_PREFIX}{batch:06}#{index:02}")
}
pub fn batch_prefix(batch: u32) -> String {
    format!("{RECIPIENT_PREFIX}{batch:06}#")
}
/// One chunk of a stored `recipients` array, each in a partition of its own (so a large
/// array is written in parallel): `TENANT#<t>#CAMPAIGN#<id>#SRC#<n>` / `SRC`.
pub fn campaign_chunk_pk(tenant_id: &str, campaign_id: &str, chunk: u32) -> String {
    format!("TENANT#{tenant_id}#CAMPAIGN#{campaign_id}#SRC#{chunk}")
}
pub const CAMPAIGN_CHUNK_SK: &str = "SRC";

// Contact imports and exports (docs/consent.md, "CSV import and export").

/// A tenant's contact imports and exports: `TENANT#<t>#CONTACTJOBS` / `IMPORT#<id>` or
/// `EXPORT#<id>` (UUIDv7).
pub fn contact_jobs_pk(tenant_id: &str) -> String {
    format!("TENANT#{tenant_id}#CONTACTJOBS")
}
pub fn import_sk(import_id: &str) -> String {
    format!("IMPORT#{import_id}")
}
pub fn export_sk(export_id: &str) -> String {
    format!("EXPORT#{export_id}")
}
/// One chunk of an import's rows, a partition of its own (written in parallel):
/// `TENANT#<t>#IMPORT#<id>#CHUNK#<n>` / `CHUNK`; its done-marker beside it, `/ DONE`,
/// which makes recording the chunk's counts happen once.
pub fn import_chunk_pk(tenant_id: &str, import_id: &str, chunk: u32) -> String {
    format!("TENANT#{tenant_id}#IMPORT#{import_id}#CHUNK#{chunk}")
}
pub const IMPORT_CHUNK_SK: &str = "CHUNK";
pub const IMPORT_CHUNK_DONE_SK: &str = "DONE";

/// A Team Inbox member (one seat): `TENANT#<id>` / `MEMBER#<memberId>`.
pub fn member_sk(member_id: &str) -> String {
    format!("{MEMBER_PREFIX}{member_id}")
}
pub const MEMBER_PREFIX: &str = "MEMBER#";
/// Keeps a member's e-mail unique in the tenant: `TENANT#<id>` / `MEMBEREMAIL#<email>`.
pub fn member_email_sk(email: &str) -> String {
    format!("MEMBEREMAIL#{email}")
}
/// A member's place among the user's memberships, on GSI1 of the member item:
/// `USER#<userId>#MEMBERSHIPS` / `<tenantId>`.
pub fn memberships_gsi1pk(user_id: &str) -> String {
    format!("USER#{user_id}#MEMBERSHIPS")
}

// Users and sign-in (docs/roles.md).

/// A user: `USER#<userId>` / `USER`.
pub fn user_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}
pub const USER_SK: &str = "USER";
/// A user's e-mail (lower-cased), which makes it unique and holds the password hash, so
/// signing in is one read: `USEREMAIL#<email>` / `USEREMAIL`.
pub fn user_email_pk(email: &str) -> String {
    format!("USEREMAIL#{email}")
}
pub const USER_EMAIL_SK: &str = "USEREMAIL";
/// Every user, oldest first, on GSI1 of the user item (`wati-admin user list`).
pub const USERS_GSI1PK: &str = "USERS";
/// A one-time token (invitation, password reset), by its hash: `AUTHTOKEN#<sha256>` / `AUTHTOKEN`.
pub fn auth_token_pk(token_hash: &str) -> String {
    format!("AUTHTOKEN#{token_hash}")
}
pub const AUTH_TOKEN_SK: &str = "AUTHTOKEN";
/// A sign-in session: `SESSION#<sessionId>` / `SESSION`; on GSI1 `USER#<userId>#SESSIONS` /
/// `<sessionId>`, so a password change can end every other one.
pub fn session_pk(session_id: &str) -> String {
    format!("SESSION#{session_id}")
}
pub const SESSION_SK: &str = "SESSION";
pub fn sessions_gsi1pk(user_id: &str) -> String {
    format!("USER#{user_id}#SESSIONS")
}
/// Wrong passwords for one e-mail in the current window: `LOGINFAIL#<email>` / `LOGINFAIL`.
pub fn login_failures_pk(email: &str) -> String {
    format!("LOGINFAIL#{email}")
}
pub const LOGIN_FAILURES_SK: &str = "LOGINFAIL";
/// A tenant's audit log: `TENANT#<t>#AUDIT` / `AUDIT#<entryId>` (UUIDv7: time order, read
/// newest first).
pub fn audit_pk(tenant_id: &str) -> String {
    format!("TENANT#{tenant_id}#AUDIT")
}
pub const AUDIT_PREFIX: &str = "AUDIT#";

// Team Inbox (docs/inbox.md).

/// A conversation by its id (written once, when it is created):
/// `TENANT#<t>#CONVERSATION#<id>` / `CONVERSATION`, holding its device and peer.
pub fn conversation_id_pk(tenant_id: &str, conversation_id: &str) -> String {
    format!("TENANT#{tenant_id}#CONVERSATION#{conversation_id}")
}
pub const CONVERSATION_ID_SK: &str = "CONVERSATION";
/// A listing entry: `TENANT#<t>#INBOX#<status>#<assignee>#<device>#<label>` /
/// `<last activity, Unix s, 12 digits>#<conversationId>` (`domain::inbox::partitions_of`).
pub fn inbox_pk(tenant_id: &str, partition: &str) -> String {
    format!("TENANT#{tenant_id}#INBOX#{partition}")
}
/// A search entry: `TENANT#<t>#INBOXQ#<status>#<assignee>#<device>` / `P#<peer>#<id>` or
/// `N#<folded name>#<id>`.
pub fn inbox_search_pk(tenant_id: &str, partition: &str) -> String {
    format!("TENANT#{tenant_id}#INBOXQ#{partition}")
}
pub fn inbox_phone_sk(peer: &str, conversation_id: &str) -> String {
    format!("P#{peer}#{conversation_id}")
}
pub fn inbox_name_sk(folded_name: &str, conversation_id: &str) -> String {
    format!("N#{folded_name}#{conversation_id}")
}
/// The inbox counters (status × all / unassigned / each member): `TENANT#<t>` / `INBOXCOUNTS`.
pub const INBOX_COUNTS_SK: &str = "INBOXCOUNTS";
/// Inbox settings (auto-assignment): `TENANT#<t>` / `INBOXSETTINGS`.
pub const INBOX_SETTINGS_SK: &str = "INBOXSETTINGS";
/// Snoozes by their end, for the minute job: `INBOX#SNOOZES` / `<until, Unix s, 12 digits>#<t>#<id>`.
pub const SNOOZES_PK: &str = "INBOX#SNOOZES";
pub fn snooze_sk(until_secs: i64, tenant_id: &str, conversation_id: &str) -> String {
    format!("{until_secs:012}#{tenant_id}#{conversation_id}")
}
/// A private note in a conversation: `TENANT#<t>#NOTE#<id>` / `NOTE`, in the history (GSI2)
/// like a message.
pub fn note_pk(tenant_id: &str, note_id: &str) -> String {
    format!("TENANT#{tenant_id}#NOTE#{note_id}")
}
pub const NOTE_SK: &str = "NOTE";
/// A canned response: `TENANT#<t>` / `CANNED#<id>`.
pub const CANNED_PREFIX: &str = "CANNED#";
pub fn canned_sk(id: &str) -> String {
    format!("{CANNED_PREFIX}{id}")
}
/// Analytics counters: `TENANT#<id>#STATS` / `S#<slot>#<deviceId>` (slot: the half hour,
/// `YYYYMMDDHHMM` UTC), so a period of every device is one key range.
pub fn stats_pk(tenant_id: &str) -> String {
    format!("TENANT#{tenant_id}#STATS")
}
pub fn stats_sk(slot: &str, device_id: &str) -> String {
    format!("S#{slot}#{device_id}")
}
/// Sorts after every device id: the end of a slot's range.
pub const STATS_SLOT_END: &str = "~";
/// A device's synced message templates: `TENANT#<id>#TEMPLATES#<deviceId>` /
/// `TPL#<name>#<language>`, and `SYNC` (when the device's templates were last read from
/// Meta: a template missing after a sync is unknown, not just never synced).
pub fn templates_pk(tenant_id: &str, device_id: &str) -> String {
    format!("TENANT#{tenant_id}#TEMPLATES#{device_id}")
}
pub fn template_sk(name: &str, language: &str) -> String {
    format!("{TEMPLATE_PREFIX}{name}#{language}")
}
pub const TEMPLATE_PREFIX: &str = "TPL#";
pub const TEMPLATES_SYNC_SK: &str = "SYNC";
/// `PENDING` templates of every tenant on GSI1 (sparse: the attributes go when the status
/// moves), for the minute schedule's re-sync: `TEMPLATES#PENDING` / `<tenant>#<device>#<name>#<language>`.
pub const PENDING_TEMPLATES_GSI1PK: &str = "TEMPLATES#PENDING";
pub fn pending_template_gsi1sk(
    tenant_id: &str,
    device_id: &str,
    name: &str,
    language: &str,
) -> String {
    format!("{tenant_id}#{device_id}#{name}#{language}")
}
