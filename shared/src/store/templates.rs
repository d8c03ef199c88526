//! A device's message templates as last read from Meta (`docs/templates.md`).

use super::keys::*;
use super::table::{cursor, keyed, Cond, Query, Returns, Written, CONCURRENCY};
use super::{from_item, s, Store, StoreResult};
use crate::domain::templates::{StatusUpdate, PENDING};
use crate::domain::time;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// A template as stored and as `GET /api/templates` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    #[schema(example = "order_update")]
    pub name: String,
    #[schema(example = "en_US")]
    pub language: String,
    /// Meta's status: APPROVED, PENDING, REJECTED, PAUSED, DISABLED …
    #[schema(example = "APPROVED")]
    pub status: String,
    #[schema(example = "UTILITY")]
    pub category: String,
    /// Meta's components (HEADER, BODY, FOOTER, BUTTONS).
    #[schema(value_type = Vec<Object>)]
    pub components: Vec<Value>,
    /// How many `{{n}}` the body takes: a send gives exactly this many `variables`.
    pub body_variables: usize,
    /// Why Meta rejected or paused it, when it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub device_id: String,
    #[serde(with = "time::secs")]
    pub updated_at: DateTime<Utc>,
}

/// The item: the template, its keys, and GSI1 while it is `PENDING`.
#[derive(Serialize)]
struct TemplateItem<'a> {
    #[serde(flatten)]
    template: &'a Template,
    #[serde(rename = "GSI1PK", skip_serializing_if = "Option::is_none")]
    gsi1pk: Option<&'static str>,
    #[serde(rename = "GSI1SK", skip_serializing_if = "Option::is_none")]
    gsi1sk: Option<String>,
}

fn item(tenant_id: &str, t: &Template) -> StoreResult<super::Item> {
    let pending = t.status == PENDING;
    let row = TemplateItem {
        template: t,
        gsi1pk: pending.then_some(PENDING_TEMPLATES_GSI1PK),
        gsi1sk: pending
            .then(|| pending_template_gsi1sk(tenant_id, &t.device_id, &t.name, &t.language)),
    };
    keyed(
        &row,
        templates_pk(tenant_id, &t.device_id),
        template_sk(&t.name, &t.language),
    )
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SyncMark {
    #[serde(with = "time::secs")]
    synced_at: DateTime<Utc>,
}

/// What a checked send finds: the template, and whether the device was ever synced.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateLookup {
    pub template: Option<Template>,
    pub synced: bool,
}

/// A device with `PENDING` templates (the minute schedule re-syncs it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PendingDevice {
    pub tenant_id: String,
    pub device_id: String,
}

impl Store {
    /// Replaces a device's templates with `templates` (Meta's list, all pages) and marks the
    /// device synced. Templates Meta no longer lists are removed.
    pub async fn replace_templates(
        &self,
        tenant_id: &str,
        device_id: &str,
        templates: &[Template],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let pk = templates_pk(tenant_id, device_id);
        let old: Vec<Template> = self.query_prefix_all(pk.clone(), TEMPLATE_PREFIX).await?;
        let items = templates
            .iter()
            .map(|t| item(tenant_id, t))
            .collect::<StoreResult<Vec<_>>>()?;
        let results: Vec<StoreResult<()>> = futures::stream::iter(items)
            .map(|i| self.put(i))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        results.into_iter().collect::<StoreResult<Vec<()>>>()?;
        let gone: Vec<(String, String)> = old
            .iter()
            .filter(|o| {
                !templates
                    .iter()
                    .any(|t| t.name == o.name && t.language == o.language)
            })
            .map(|o| (pk.clone(), template_sk(&o.name, &o.language)))
            .collect();
        self.batch_delete(&gone).await?;
        self.put(keyed(&SyncMark { synced_at: now }, pk, TEMPLATES_SYNC_SK)?)
            .await
    }

    /// Stores one template (a new one submitted to Meta), whatever was there.
    pub async fn put_template(&self, tenant_id: &str, t: &Template) -> StoreResult<()> {
        self.put(item(tenant_id, t)?).await
    }

    /// A page of a device's templates, by name and language; with `status`, only those
    /// (pages are read until `limit` match, and the cursor goes on after the last one shown).
    pub async fn list_templates(
        &self,
        tenant_id: &str,
        device_id: &str,
        status: Option<&str>,
        limit: i32,
        cursor: Option<&str>,
    ) -> StoreResult<(Vec<Template>, Option<String>)> {
        let q = Query::prefix(templates_pk(tenant_id, device_id), TEMPLATE_PREFIX);
        let Some(status) = status else {
            return self.page(&q, limit, cursor).await;
        };
        let want = usize::try_from(limit.max(1)).unwrap_or(1);
        let mut start = q.start(cursor)?;
        let mut found: Vec<(Template, super::Item)> = Vec::new();
        loop {
            let (items, last) = self.query_items(&q, Some(limit.max(1)), start).await?;
            for i in items {
                let t: Template = from_item(i.clone())?;
                if t.status.eq_ignore_ascii_case(status) {
                    found.push((t, i));
                    if found.len() == want {
                        let key: super::Item = [PK, SK]
                            .iter()
                            .filter_map(|k| Some((k.to_string(), found.last()?.1.get(*k)?.clone())))
                            .collect();
                        let templates = found.into_iter().map(|(t, _)| t).collect();
                        return Ok((templates, cursor::encode(Some(&key))));
                    }
                }
            }
            match last {
                Some(l) => start = Some(l),
                None => return Ok((found.into_iter().map(|(t, _)| t).collect(), None)),
            }
        }
    }

    /// The template a send names, and whether the device's templates were ever synced (one
    /// `BatchGetItem`).
    pub async fn template_lookup(
        &self,
        tenant_id: &str,
        device_id: &str,
        name: &str,
        language: &str,
    ) -> StoreResult<TemplateLookup> {
        let pk = templates_pk(tenant_id, device_id);
        let sk = template_sk(name, language);
        let keys = [
            (pk.clone(), sk.clone()),
            (pk, TEMPLATES_SYNC_SK.to_string()),
        ];
        let mut found = TemplateLookup {
            template: None,
            synced: false,
        };
        for i in self.batch_get(&keys, true).await? {
            match i.get(SK).and_then(|v| v.as_s().ok()).map(String::as_str) {
                Some(TEMPLATES_SYNC_SK) => found.synced = true,
                _ => found.template = Some(from_item(i)?),
            }
        }
        Ok(found)
    }

    /// Deletes every language of a template. How many there were.
    pub async fn delete_templates(
        &self,
        tenant_id: &str,
        device_id: &str,
        name: &str,
    ) -> StoreResult<usize> {
        let pk = templates_pk(tenant_id, device_id);
        let found: Vec<Template> = self
            .query_prefix_all(pk.clone(), format!("{TEMPLATE_PREFIX}{name}#"))
            .await?;
        let keys: Vec<(String, String)> = found
            .iter()
            .map(|t| (pk.clone(), template_sk(&t.name, &t.language)))
            .collect();
        self.batch_delete(&keys).await?;
        Ok(found.len())
    }

    /// A status from Meta's webhook on a stored template; the template as it is now, `None`
    /// when the device does not have it.
    pub async fn set_template_status(
        &self,
        tenant_id: &str,
        device_id: &str,
        update: &StatusUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Template>> {
        let (name, language) = (update.name.as_str(), update.language.as_str());
        let (status, reason) = (update.status.as_str(), update.reason.as_deref());
        let pk = templates_pk(tenant_id, device_id);
        let sk = template_sk(name, language);
        let mut set = vec!["#st = :st", "updatedAt = :now"];
        let mut remove = Vec::new();
        let mut cond = Cond::exists()
            .name("#st", "status")
            .value(":st", s(status))
            .value(":now", s(time::iso(now)));
        match reason {
            Some(r) => {
                set.push("reason = :reason");
                cond = cond.value(":reason", s(r));
            }
            None => remove.push("reason"),
        }
        if status == PENDING {
            set.push("GSI1PK = :gpk, GSI1SK = :gsk");
            cond = cond.value(":gpk", s(PENDING_TEMPLATES_GSI1PK)).value(
                ":gsk",
                s(pending_template_gsi1sk(
                    tenant_id, device_id, name, language,
                )),
            );
        } else {
            remove.extend(["GSI1PK", "GSI1SK"]);
        }
        let mut expr = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expr.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        match self.update_if(&pk, &sk, &expr, cond, Returns::NEW).await? {
            Written::Applied(item) => Ok(Some(from_item(item)?)),
            Written::Refused(_) => Ok(None),
        }
    }

    /// The devices that have `PENDING` templates, each once (at most `limit` templates read).
    pub async fn devices_with_pending_templates(
        &self,
        limit: i32,
    ) -> StoreResult<Vec<PendingDevice>> {
        let q = Query::index(GSI1, PENDING_TEMPLATES_GSI1PK);
        let (items, _) = self.query_items(&q, Some(limit), None).await?;
        let mut devices: Vec<PendingDevice> = items
            .into_iter()
            .filter_map(|i| {
                let t: Template = from_item(i.clone()).ok()?;
                let pk = i.get(PK)?.as_s().ok()?;
                let tenant = pk.strip_prefix("TENANT#")?.split_once("#TEMPLATES#")?.0;
                Some(PendingDevice {
                    tenant_id: tenant.to_string(),
                    device_id: t.device_id,
                })
            })
            .collect();
        devices.sort();
        devices.dedup();
        Ok(devices)
    }
}
