//! The campaigns API's request and response bodies.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wati_shared::domain::campaigns::{CampaignStatus, PauseReason, RecipientStatus};
use wati_shared::domain::messages::TemplateSpec;
use wati_shared::domain::time;
use wati_shared::services::campaigns::{
    self as engine, BatchInfo, Listed, NewCampaign, NewRecipient,
};
use wati_shared::store::campaigns::{Audience, Campaign, Recipient};

/// One entry of `recipients`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignRecipientInput {
    /// Optional: fills `{{name}}`.
    #[schema(example = "Ali")]
    pub name: Option<String>,
    /// E.164 or local digits.
    #[schema(example = "+923001234567")]
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateCampaignRequest {
    /// Required, 1–200 characters.
    #[schema(example = "January promo")]
    pub name: Option<String>,
    /// Required, 1–4096 characters; `{{name}}` and `{{phone}}` are replaced per recipient.
    /// With `template`: optional, recorded on each message but not sent.
    #[schema(example = "Hi {{name}}, today only — 20% off!")]
    pub message: Option<String>,
    /// Send this Cloud API template instead of a text (customers outside the 24-hour window
    /// can only be reached so); `{{name}}` and `{{phone}}` in its `variables` (and in the
    /// texts of raw `components`) are replaced per recipient. Checked like `/send`'s: unknown
    /// or not approved 422, the wrong number of variables 400.
    pub template: Option<TemplateSpec>,
    /// Optional: the device to send from; the first connected device when omitted.
    pub device_id: Option<String>,
    /// Seconds between consecutive messages, 1–60 (default 5).
    #[schema(value_type = Option<u32>, example = 3)]
    pub delay_seconds: Option<serde_json::Value>,
    /// Optional ISO-8601 time in the future: the campaign starts then.
    #[schema(example = "2026-07-01T10:00:00Z")]
    pub scheduled_at: Option<String>,
    /// Send to the contacts carrying this tag, resolved at run time batch by batch.
    #[schema(example = "vip")]
    pub tag: Option<String>,
    /// Send to these recipients (1–100,000; repeated phones are sent once).
    pub recipients: Option<Vec<CampaignRecipientInput>>,
    /// Send to a contact list's members.
    pub contact_list_id: Option<String>,
}

/// A campaign with its status and counts.
#[serde_with::skip_serializing_none]
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CampaignView {
    pub id: String,
    pub name: String,
    pub message: String,
    pub template: Option<TemplateSpec>,
    pub device_id: Option<String>,
    pub delay_seconds: u32,
    #[serde(with = "time::secs_opt")]
    pub scheduled_at: Option<DateTime<Utc>>,
    pub audience: Audience,
    pub status: CampaignStatus,
    /// Why it is paused.
    pub pause_reason: Option<PauseReason>,
    pub pause_message: Option<String>,
    /// When a pause on the daily outbound cap ends by itself.
    pub resumes_at: Option<String>,
    /// Recipients known so far (a tag or list grows as its batches are read; final once
    /// `audienceResolved`). Always `pending + queued + sent + failed + cancelled + skipped`.
    pub total: u64,
    /// Known, not queued yet.
    pub pending: u64,
    /// Queued or being sent.
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
    pub cancelled: u64,
    /// Opted out when their turn came: not sent (error `opted_out`).
    pub skipped: u64,
    /// Entries of `recipients` dropped because their phone came earlier in the array.
    pub duplicates: u64,
    /// The audience has been read to its end.
    pub audience_resolved: bool,
    /// The last batch queued.
    pub batch: Option<BatchInfo>,
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "time::secs")]
    pub updated_at: DateTime<Utc>,
    #[serde(with = "time::secs_opt")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(with = "time::secs_opt")]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(with = "time::secs_opt")]
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl From<Campaign> for CampaignView {
    fn from(c: Campaign) -> Self {
        let resumes_at = engine::resumes_at(&c);
        let batch = engine::batch_info(&c);
        CampaignView {
            id: c.id,
            name: c.name,
            message: c.message,
            template: c.template,
            device_id: c.device_id,
            delay_seconds: c.delay_seconds,
            scheduled_at: c.scheduled_at,
            audience: c.audience,
            status: c.status,
            pause_reason: c.pause_reason,
            pause_message: c.pause_message,
            resumes_at,
            total: c.total,
            pending: c.pending,
            queued: c.queued,
            sent: c.sent,
            failed: c.failed,
            cancelled: c.cancelled,
            skipped: c.skipped,
            duplicates: c.duplicates,
            audience_resolved: c.source_done,
            batch,
            created_at: c.created_at,
            updated_at: c.updated_at,
            started_at: c.started_at,
            completed_at: c.completed_at,
            cancelled_at: c.cancelled_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedCampaign {
    #[schema(example = true)]
    pub ok: bool,
    /// The campaign id.
    pub id: String,
    #[schema(example = "running")]
    pub status: CampaignStatus,
    pub campaign: CampaignView,
}

wati_shared::envelope!(CampaignEnvelope, campaign: CampaignView);

wati_shared::page!(CampaignPage, campaigns: CampaignView);

#[serde_with::skip_serializing_none]
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecipientView {
    #[schema(example = "923001234567")]
    pub phone: String,
    pub name: Option<String>,
    /// The contact it came from (tag and list audiences).
    pub contact_id: Option<String>,
    /// `pending`, `queued` (also while being sent), `sent`, `failed`, `cancelled` or
    /// `skipped` (opted out: `error` is `opted_out`).
    pub status: RecipientStatus,
    /// Why it failed.
    pub error: Option<String>,
    pub error_code: Option<i64>,
    /// The batch that queued it.
    pub batch: Option<u32>,
    /// Our message id (look it up with `GET /api/public/v1/messages/{id}`).
    pub message_id: Option<String>,
    /// WhatsApp's id of the message.
    pub wa_message_id: Option<String>,
    #[serde(with = "time::secs_opt")]
    pub queued_at: Option<DateTime<Utc>>,
    #[serde(with = "time::secs_opt")]
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(with = "time::secs_opt")]
    pub failed_at: Option<DateTime<Utc>>,
}

impl From<Listed> for RecipientView {
    fn from(l: Listed) -> Self {
        match l {
            Listed::Recipient(r) => {
                let r: Recipient = *r;
                let message_id = match r.status {
                    RecipientStatus::Sent | RecipientStatus::Failed => r.message_id,
                    _ => None,
                };
                RecipientView {
                    phone: r.phone,
                    name: (!r.name.is_empty()).then_some(r.name),
                    contact_id: r.contact_id,
                    status: r.status.public(),
                    error: r.error,
                    error_code: r.error_code,
                    batch: Some(r.batch),
                    message_id,
                    wa_message_id: r.wa_message_id,
                    queued_at: Some(r.queued_at),
                    sent_at: r.sent_at,
                    failed_at: r.failed_at,
                }
            }
            Listed::Pending { entry, status } => RecipientView {
                phone: entry.phone,
                name: (!entry.name.is_empty()).then_some(entry.name),
                contact_id: None,
                status,
                error: None,
                error_code: None,
                batch: None,
                message_id: None,
                wa_message_id: None,
                queued_at: None,
                sent_at: None,
                failed_at: None,
            },
        }
    }
}

wati_shared::page!(RecipientPage, recipients: RecipientView);

/// What `run` did.
#[serde_with::skip_serializing_none]
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunResult {
    #[schema(example = true)]
    pub ok: bool,
    /// `queued` (a new batch), `requeued` (the batch's leftovers, after a pause or lost
    /// messages) or `completed` (nothing was left).
    #[schema(example = "queued")]
    pub result: String,
    pub batch: Option<BatchInfo>,
    /// Recipients queued again (`requeued`).
    pub requeued: Option<usize>,
    pub campaign: CampaignView,
}

/// A `run` that queued nothing: why, the batch in flight, the campaign.
#[serde_with::skip_serializing_none]
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunRefusal {
    #[schema(
        example = "Batch 3 is in flight: 12 of 20 recipients are still queued or being sent, the last due at 2026-07-01T10:01:00Z. The next batch is queued by itself when this one is done"
    )]
    pub error: String,
    pub in_flight: Option<BatchInfo>,
    pub campaign: Option<CampaignView>,
}

impl From<CreateCampaignRequest> for NewCampaign {
    fn from(r: CreateCampaignRequest) -> Self {
        NewCampaign {
            name: r.name,
            message: r.message,
            template: r.template,
            device_id: r.device_id,
            delay_seconds: r.delay_seconds,
            scheduled_at: r.scheduled_at,
            tag: r.tag,
            recipients: r.recipients.map(|rs| {
                rs.into_iter()
                    .map(|r| NewRecipient {
                        name: r.name,
                        phone: r.phone,
                    })
                    .collect()
            }),
            contact_list_id: r.contact_list_id,
        }
    }
}
