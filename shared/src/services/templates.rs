//! Message templates of Cloud API devices: read from Meta (all pages) and kept per device,
//! submitted, deleted, moved by Meta's `message_template_status_update` webhook (with a
//! `template.status` event), re-synced while `PENDING`, and the check a template send passes
//! before Meta sees it. See `docs/templates.md`.

use crate::adapters::providers::ProviderError;
use crate::domain::devices::ProviderKind;
use crate::domain::messages::{is_language_code, is_template_name, TemplateSpec};
use crate::domain::templates::{
    body_variable_count, check_new, send_components, variable_count_message, StatusUpdate,
    APPROVED, PENDING,
};
use crate::domain::webhooks::{TemplateStatusChanged, WebhookEvent};
use crate::runtime::state::AppState;
use crate::services::events::{self, PublishError};
use crate::store::devices::Device;
use crate::store::templates::Template;
use crate::store::StoreError;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// Pages read from Meta in one sync at most (100 templates a page).
const MAX_PAGES: usize = 100;

/// Devices the minute schedule re-syncs at most per run.
const PENDING_READ: i32 = 200;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("Device not found")]
    DeviceNotFound,
    #[error("Templates are for Cloud API devices: device {0} is not one")]
    NotCloudApi(String),
    #[error("{0}")]
    Invalid(String),
    #[error("Template not found")]
    NotFound,
    /// Meta refused or failed the call; the message says why.
    #[error("{}", .0.message)]
    Provider(ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Event(#[from] PublishError),
}

/// Why a checked template send is refused before Meta sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateRefusal {
    #[error("Template {name} ({language}) does not exist on this device's WhatsApp Business Account: sync with POST /api/templates/sync, or check the name and language")]
    Unknown { name: String, language: String },
    #[error("Template {name} ({language}) is {status}: only APPROVED templates can be sent")]
    NotApproved {
        name: String,
        language: String,
        status: String,
    },
    /// The wrong number of body variables; the message names the count expected.
    #[error("{0}")]
    Variables(String),
}

async fn cloud_device(
    state: &AppState,
    tenant_id: &str,
    device_id: &str,
) -> Result<Device, TemplateError> {
    let device = state
        .store
        .get_device(tenant_id, device_id)
        .await?
        .ok_or(TemplateError::DeviceNotFound)?;
    if device.provider != ProviderKind::CloudApi {
        return Err(TemplateError::NotCloudApi(device.id));
    }
    Ok(device)
}

/// Meta's template object as stored.
fn from_meta(v: &Value, device_id: &str, now: DateTime<Utc>) -> Option<Template> {
    let components = v["components"].as_array().cloned().unwrap_or_default();
    Some(Template {
        name: v["name"].as_str()?.to_string(),
        language: v["language"].as_str()?.to_string(),
        status: v["status"].as_str().unwrap_or(PENDING).to_ascii_uppercase(),
        category: v["category"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_uppercase(),
        body_variables: body_variable_count(&components),
        components,
        reason: v["rejected_reason"]
            .as_str()
            .filter(|r| !r.is_empty() && *r != "NONE")
            .map(str::to_string),
        device_id: device_id.to_string(),
        updated_at: now,
    })
}

/// Reads all of a device's templates from Meta and stores them. How many there are.
pub async fn sync(
    state: &AppState,
    tenant_id: &str,
    device_id: &str,
) -> Result<usize, TemplateError> {
    let device = cloud_device(state, tenant_id, device_id).await?;
    sync_device(state, &device).await
}

async fn sync_device(state: &AppState, device: &Device) -> Result<usize, TemplateError> {
    let now = state.clock.now();
    let mut templates = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = state
            .providers
            .cloud_api
            .templates_page(device, after.as_deref())
            .await
            .map_err(TemplateError::Provider)?;
        templates.extend(
            page.templates
                .iter()
                .filter_map(|t| from_meta(t, &device.id, now)),
        );
        match page.after {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    state
        .store
        .replace_templates(&device.tenant_id, &device.id, &templates, now)
        .await?;
    tracing::info!(device_id = %device.id, templates = templates.len(), "templates synced");
    Ok(templates.len())
}

/// A page of a device's stored templates, of one status if given.
pub async fn list(
    state: &AppState,
    tenant_id: &str,
    device_id: &str,
    status: Option<&str>,
    limit: i32,
    cursor: Option<&str>,
) -> Result<(Vec<Template>, Option<String>), TemplateError> {
    Ok(state
        .store
        .list_templates(tenant_id, device_id, status, limit, cursor)
        .await?)
}

/// A template to submit to Meta.
#[derive(Debug, Clone)]
pub struct NewTemplate {
    pub device_id: String,
    pub name: String,
    pub category: String,
    pub language: String,
    pub components: Vec<Value>,
}

/// Submits a template to Meta; stored with the status Meta answers (`PENDING` until it
/// reviews it).
pub async fn create(
    state: &AppState,
    tenant_id: &str,
    new: NewTemplate,
) -> Result<Template, TemplateError> {
    if !is_template_name(&new.name) {
        return Err(TemplateError::Invalid(
            "\"name\" must be a template name: lowercase letters, digits and underscores".into(),
        ));
    }
    if !is_language_code(&new.language) {
        return Err(TemplateError::Invalid(
            "\"language\" must be a language code such as en or en_US".into(),
        ));
    }
    check_new(&new.category, &new.components).map_err(TemplateError::Invalid)?;
    let device = cloud_device(state, tenant_id, &new.device_id).await?;
    let body = json!({
        "name": new.name,
        "category": new.category,
        "language": new.language,
        "components": new.components,
    });
    let answer = state
        .providers
        .cloud_api
        .create_template(&device, &body)
        .await
        .map_err(TemplateError::Provider)?;
    let template = Template {
        status: answer["status"]
            .as_str()
            .unwrap_or(PENDING)
            .to_ascii_uppercase(),
        body_variables: body_variable_count(&new.components),
        name: new.name,
        language: new.language,
        category: new.category,
        components: new.components,
        reason: None,
        device_id: device.id,
        updated_at: state.clock.now(),
    };
    state.store.put_template(tenant_id, &template).await?;
    Ok(template)
}

/// Deletes a template (every language) at Meta and here.
pub async fn delete(
    state: &AppState,
    tenant_id: &str,
    device_id: &str,
    name: &str,
) -> Result<(), TemplateError> {
    if !is_template_name(name) {
        return Err(TemplateError::NotFound);
    }
    let device = cloud_device(state, tenant_id, device_id).await?;
    state
        .providers
        .cloud_api
        .delete_template(&device, name)
        .await
        .map_err(TemplateError::Provider)?;
    state
        .store
        .delete_templates(tenant_id, device_id, name)
        .await?;
    Ok(())
}

/// Meta's status updates from the webhook: each stored template of the account's devices
/// takes the new status and `template.status` is published. Templates never synced are
/// left to the next sync.
pub async fn status_updates(
    state: &AppState,
    tenant_id: &str,
    updates: &[StatusUpdate],
) -> Result<usize, TemplateError> {
    if updates.is_empty() {
        return Ok(0);
    }
    let devices = state.store.list_devices(tenant_id).await?;
    let now = state.clock.now();
    let mut changed = 0;
    for u in updates {
        for d in devices
            .iter()
            .filter(|d| d.waba_id.as_deref() == Some(u.waba_id.as_str()))
        {
            let Some(t) = state
                .store
                .set_template_status(tenant_id, &d.id, u, now)
                .await?
            else {
                continue;
            };
            changed += 1;
            let event = WebhookEvent::TemplateStatus(TemplateStatusChanged {
                device_id: d.id.clone(),
                name: t.name,
                language: t.language,
                status: t.status,
                reason: t.reason,
                timestamp: now.timestamp(),
            });
            let key = format!("template:{}:{}:{}:{}", d.id, u.name, u.language, u.status);
            events::publish_with_key(state, tenant_id, event, &key).await?;
        }
    }
    Ok(changed)
}

/// The minute schedule: devices with `PENDING` templates are synced again (a status
/// webhook Meta never delivered is caught up this way). How many devices were synced.
pub async fn resync_pending(state: &AppState) -> Result<usize, TemplateError> {
    let pending = state
        .store
        .devices_with_pending_templates(PENDING_READ)
        .await?;
    let mut synced = 0;
    for p in pending {
        let Some(device) = state.store.get_device(&p.tenant_id, &p.device_id).await? else {
            continue;
        };
        match sync_device(state, &device).await {
            Ok(_) => synced += 1,
            Err(e) => {
                tracing::warn!(device_id = %p.device_id, error = %e, "re-syncing pending templates failed")
            }
        }
    }
    Ok(synced)
}

/// A template send through a Cloud API device, checked against the device's synced
/// templates: an unknown name or language, or a template that is not `APPROVED`, is
/// refused; so is the wrong number of body variables. Templates never synced go as given.
/// The spec to send: `variables` turned into the body's parameters.
pub async fn check_send(
    state: &AppState,
    device: &Device,
    spec: &TemplateSpec,
) -> Result<Result<TemplateSpec, TemplateRefusal>, StoreError> {
    let filled = TemplateSpec {
        components: send_components(spec.components.as_deref(), spec.variables.as_deref()),
        variables: None,
        ..spec.clone()
    };
    if device.provider != ProviderKind::CloudApi {
        return Ok(Ok(filled));
    }
    let found = state
        .store
        .template_lookup(&device.tenant_id, &device.id, &spec.name, &spec.language)
        .await?;
    let (name, language) = (spec.name.clone(), spec.language.clone());
    let template = match (found.template, found.synced) {
        (None, false) => return Ok(Ok(filled)),
        (None, true) => return Ok(Err(TemplateRefusal::Unknown { name, language })),
        (Some(t), _) => t,
    };
    if template.status != APPROVED {
        return Ok(Err(TemplateRefusal::NotApproved {
            name,
            language,
            status: template.status,
        }));
    }
    // Raw components without variables are Meta's to check; otherwise the count must match.
    let given = match (&spec.variables, &spec.components) {
        (Some(v), _) => Some(v.len()),
        (None, None) => Some(0),
        (None, Some(_)) => None,
    };
    if let Some(given) = given.filter(|g| *g != template.body_variables) {
        return Ok(Err(TemplateRefusal::Variables(variable_count_message(
            &name,
            &language,
            template.body_variables,
            given,
        ))));
    }
    Ok(Ok(filled))
}
