//! Creating a campaign: every rule of `POST /campaigns` (fields, exactly one audience, the
//! list and the device exist in the tenant, a device is connected), then the campaign, its
//! stored recipients array and its scheduler entry.

use crate::domain::campaigns::{
    self as rules, AudienceKind, CampaignStatus, Entry, MAX_RECIPIENTS,
};
use crate::domain::contacts;
use crate::domain::devices::ProviderKind;
use crate::domain::messages::{self, TemplateSpec};
use crate::domain::phone::Country;
use crate::runtime::state::AppState;
use crate::services::phones;
use crate::services::sending::device::{self, DeviceError};
use crate::services::templates::{self, TemplateRefusal};
use crate::store::campaigns::{Audience, Campaign};
use crate::store::StoreError;
use chrono::{DateTime, Utc};

/// A campaign to create, as the caller gave it: nothing is checked yet ([`create`] checks
/// every field, in the order the API documents its errors).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewCampaign {
    pub name: Option<String>,
    pub message: Option<String>,
    /// A Cloud API template to send instead of a text (`message` is then optional).
    pub template: Option<TemplateSpec>,
    pub device_id: Option<String>,
    /// As given (a JSON number is expected; anything else is refused by name).
    pub delay_seconds: Option<serde_json::Value>,
    pub scheduled_at: Option<String>,
    pub tag: Option<String>,
    pub recipients: Option<Vec<NewRecipient>>,
    pub contact_list_id: Option<String>,
}

/// One entry of a new campaign's `recipients`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewRecipient {
    pub name: Option<String>,
    pub phone: Option<String>,
}

/// Why a campaign was not created. The messages are the API's.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// A field is missing or wrong (the message names it), or not exactly one audience.
    #[error("{0}")]
    Invalid(String),
    #[error("\"contactListId\": contact list {0} not found")]
    ContactListNotFound(String),
    /// The campaign's device (or, without one, any device) cannot send.
    #[error(transparent)]
    Device(DeviceError),
    #[error("Templates are for Cloud API devices: device {0} is a WhatsApp Web device, which sends text without templates")]
    TemplateOnWhatsappWeb(String),
    /// The template is unknown, not approved, or given the wrong number of variables.
    #[error(transparent)]
    Template(TemplateRefusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A store failure while finding the device stays a store failure.
impl From<DeviceError> for CreateError {
    fn from(e: DeviceError) -> Self {
        match e {
            DeviceError::Store(e) => CreateError::Store(e),
            e => CreateError::Device(e),
        }
    }
}

impl From<String> for CreateError {
    fn from(message: String) -> Self {
        CreateError::Invalid(message)
    }
}

/// Who the campaign's audience is, checked.
enum NewAudience {
    Recipients {
        entries: Vec<Entry>,
        duplicates: usize,
    },
    ContactList(String),
    Tag(String),
}

/// A new campaign whose fields passed every check that needs no read.
struct Checked {
    name: String,
    message: String,
    template: Option<TemplateSpec>,
    device_id: Option<String>,
    delay_seconds: u32,
    scheduled_at: Option<DateTime<Utc>>,
    audience: NewAudience,
}

fn required<'a>(field: &str, v: &'a Option<String>) -> Result<&'a str, CreateError> {
    v.as_deref()
        .ok_or_else(|| CreateError::Invalid(format!("\"{field}\" is required")))
}

fn check(
    new: NewCampaign,
    now: DateTime<Utc>,
    country: Option<Country>,
) -> Result<Checked, CreateError> {
    let name = rules::campaign_name(required("name", &new.name)?)?;
    // A template campaign's `message` is optional: recorded on each message, not sent.
    let template = new.template.as_ref().map(messages::template).transpose()?;
    let message = match (&template, &new.message) {
        (Some(_), None) => String::new(),
        (_, message) => rules::message(required("message", message)?)?,
    };
    let delay_seconds = rules::delay_seconds(new.delay_seconds.as_ref())?;
    let scheduled_at = rules::scheduled_at(new.scheduled_at.as_deref(), now)?;
    let kind = rules::audience_kind(
        new.recipients.is_some(),
        new.contact_list_id.is_some(),
        new.tag.is_some(),
    )?;
    let device_id = match new.device_id.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(d) => Some(messages::device_id(d)?),
        None => None,
    };
    let audience = match kind {
        AudienceKind::Recipients => {
            let raw = new.recipients.unwrap_or_default();
            if raw.is_empty() || raw.len() > MAX_RECIPIENTS {
                return Err(CreateError::Invalid(format!(
                    "\"recipients\" must hold 1 to {MAX_RECIPIENTS} entries (got {}): use a contact list or a tag for larger audiences",
                    raw.len()
                )));
            }
            let entries = raw
                .iter()
                .enumerate()
                .map(|(i, r)| rules::entry(i, r.name.as_deref(), r.phone.as_deref(), country))
                .collect::<Result<Vec<_>, _>>()?;
            let (entries, duplicates) = rules::dedupe(entries);
            NewAudience::Recipients {
                entries,
                duplicates,
            }
        }
        AudienceKind::ContactList => {
            NewAudience::ContactList(new.contact_list_id.unwrap_or_default().trim().to_string())
        }
        AudienceKind::Tag => NewAudience::Tag(contacts::tag(
            "tag",
            new.tag.as_deref().unwrap_or_default(),
        )?),
    };
    Ok(Checked {
        name,
        message,
        template,
        device_id,
        delay_seconds,
        scheduled_at,
        audience,
    })
}

/// Creates a campaign for `tenant_id`, made with the API key `api_key_id`: `running` (its
/// first batch comes with `run` or the next minute job), or `scheduled` with a future
/// `scheduledAt`. Nothing is sent here.
pub async fn create(
    state: &AppState,
    tenant_id: &str,
    api_key_id: &str,
    new: NewCampaign,
) -> Result<Campaign, CreateError> {
    let now = state.clock.now();
    // Recipients' phones are read by the tenant's default country, if it has one.
    let country = match new.recipients {
        Some(_) => phones::rules(state, tenant_id).await?.country(),
        None => None,
    };
    let checked = check(new, now, country)?;
    let store = &state.store;

    let (audience, entries, duplicates) = match checked.audience {
        NewAudience::Recipients {
            entries,
            duplicates,
        } => (Audience::Recipients, entries, duplicates),
        NewAudience::ContactList(id) => {
            let list = store
                .get_contact_list(tenant_id, &id)
                .await?
                .ok_or(CreateError::ContactListNotFound(id))?;
            (
                Audience::ContactList {
                    contact_list_id: list.id,
                },
                Vec::new(),
                0,
            )
        }
        NewAudience::Tag(tag) => (Audience::Tag { tag }, Vec::new(), 0),
    };

    // The device must be there now (it is checked again for every message), and so must a
    // sendable template (checked as `/send` checks it).
    let sender = device::resolve(state, tenant_id, checked.device_id.as_deref()).await?;
    if let Some(t) = &checked.template {
        if sender.provider == ProviderKind::WhatsappWeb {
            return Err(CreateError::TemplateOnWhatsappWeb(sender.id));
        }
        templates::check_send(state, &sender, t)
            .await?
            .map_err(CreateError::Template)?;
    }
    // Bulk sends from a WhatsApp Web number get it banned: a floor under the pacing.
    let delay_seconds = match sender.provider {
        ProviderKind::WhatsappWeb => checked
            .delay_seconds
            .max(state.config.gateway.min_send_gap_seconds),
        _ => checked.delay_seconds,
    };

    let total = entries.len() as u64;
    let chunks = rules::chunks(entries);
    let status = if checked.scheduled_at.is_some() {
        CampaignStatus::Scheduled
    } else {
        CampaignStatus::Running
    };
    let campaign = Campaign {
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: tenant_id.to_string(),
        name: checked.name,
        message: checked.message,
        template: checked.template,
        device_id: checked.device_id,
        delay_seconds,
        audience,
        scheduled_at: checked.scheduled_at,
        status,
        pause_reason: None,
        pause_message: None,
        paused_day: None,
        total,
        pending: total,
        queued: 0,
        sent: 0,
        failed: 0,
        cancelled: 0,
        skipped: 0,
        duplicates: duplicates as u64,
        chunks: chunks.len() as u32,
        cursor: None,
        source_done: false,
        batch: 0,
        batch_size: 0,
        batch_round: 0,
        batch_queued_at: None,
        batch_first_due_ms: None,
        batch_last_due_ms: None,
        next_send_at_ms: 0,
        api_key_id: api_key_id.to_string(),
        created_at: now,
        updated_at: now,
        started_at: None,
        completed_at: None,
        cancelled_at: None,
    };
    // A running campaign is due for the scheduler at once (its first batch comes with the
    // next minute unless `run` comes first); a scheduled one at its time.
    let due = checked.scheduled_at.unwrap_or(now).timestamp();
    store.create_campaign(&campaign, chunks, due).await?;
    tracing::info!(campaign_id = %campaign.id, total, duplicates, status = %status, "campaign created");
    Ok(campaign)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(f: impl FnOnce(&mut NewCampaign)) -> Result<Checked, CreateError> {
        let mut c = NewCampaign {
            name: Some("Promo".into()),
            message: Some("Hi {{name}}".into()),
            tag: Some("VIP".into()),
            ..Default::default()
        };
        f(&mut c);
        check(c, Utc::now(), None)
    }

    fn refused(r: Result<Checked, CreateError>) -> String {
        match r {
            Err(CreateError::Invalid(m)) => m,
            Err(e) => panic!("not a validation error: {e}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn fields_are_checked_in_the_documented_order() {
        assert_eq!(refused(new(|c| c.name = None)), "\"name\" is required");
        assert_eq!(
            refused(new(|c| c.message = None)),
            "\"message\" is required"
        );
        assert!(refused(new(|c| {
            c.delay_seconds = Some(serde_json::json!(0));
            c.recipients = Some(Vec::new());
        }))
        .starts_with("\"delaySeconds\""));
        assert!(
            refused(new(|c| c.contact_list_id = Some("l".into()))).starts_with(
                "Provide exactly one of \"recipients\", \"contactListId\" or \"tag\" (got"
            )
        );
        assert!(refused(new(|c| {
            c.tag = None;
            c.recipients = Some(Vec::new());
        }))
        .starts_with("\"recipients\" must hold 1 to"));
    }

    #[test]
    fn a_template_campaign_needs_no_message_and_its_template_is_checked() {
        let template = |name: &str| TemplateSpec {
            name: name.into(),
            language: "en_US".into(),
            components: None,
            variables: Some(vec!["{{name}}".into()]),
        };
        let checked = new(|c| {
            c.message = None;
            c.template = Some(template(" order_update "));
        });
        let checked = checked.expect("accepted");
        assert_eq!(checked.message, "");
        assert_eq!(
            checked.template.map(|t| t.name),
            Some("order_update".into())
        );
        assert!(
            refused(new(|c| c.template = Some(template("Order Update"))))
                .starts_with("\"template.name\" must be a template name")
        );
        // Neither a message nor a template: the spec's error.
        assert_eq!(
            refused(new(|c| c.message = None)),
            "\"message\" is required"
        );
    }

    #[test]
    fn a_checked_campaign_keeps_its_audience_normalised() {
        let checked = new(|c| {
            c.tag = None;
            c.recipients = Some(vec![
                NewRecipient {
                    name: Some("A".into()),
                    phone: Some("+923001234567".into()),
                },
                NewRecipient {
                    name: None,
                    phone: Some("923001234567".into()),
                },
            ]);
        });
        match checked.map(|c| c.audience) {
            Ok(NewAudience::Recipients {
                entries,
                duplicates,
            }) => {
                assert_eq!(entries.len(), 1);
                assert_eq!(duplicates, 1);
            }
            _ => panic!("expected a recipients audience"),
        }
        let tag = new(|_| {}).map(|c| c.audience);
        assert!(matches!(tag, Ok(NewAudience::Tag(t)) if t == "vip"));
    }
}
