//! `wati-admin`: the platform admin's operations from a terminal, straight against the
//! table (AWS credentials, or the local stack's endpoints, decide where). Each command prints
//! the same JSON as the matching `/api/admin/tenants` endpoint.

use fn_admin::{CreateTenantRequest, UpdateTenantRequest};
use std::collections::HashMap;
use wati_shared::domain::plans::Plan;
use wati_shared::http::PageParams;
use wati_shared::store::StoreResult;
use wati_shared::AppState;

pub const USAGE: &str = "usage:
  wati-admin tenant create --name NAME [--plan free|starter|pro|agency]
  wati-admin tenant list [--limit N] [--cursor CURSOR]
  wati-admin tenant get ID
  wati-admin tenant update ID [--name NAME] [--plan PLAN] [--suspended true|false]
  wati-admin user create --email EMAIL [--name NAME] [--password PASSWORD] [--super-admin]
  wati-admin user list [--limit N] [--cursor CURSOR]
  wati-admin user reset-password --email EMAIL [--password PASSWORD]
  wati-admin contacts backfill-consent [--tenant ID]
  wati-admin inbox reindex [--tenant ID]
  wati-admin webhooks backfill-status-events [--tenant ID]

A password left out is generated and printed once. Resetting one ends the user's sessions.
backfill-consent gives contacts saved before consent existed their consent copy (what
GET /api/contacts?optedOut= reads), for one tenant or all; safe to run again.
reindex (or reindex-search) writes the Team Inbox's listing and search entries of every
conversation from the conversations, for one tenant or all, after an upgrade that changed
their form or a failure that left some behind; safe to run again.
backfill-status-events gives tenants from before the API key's copy of whether their
webhook wants message.status that answer, and their keys the copy (each send with such a
key then reads no webhook settings), for one tenant or all; safe to run again.

Configuration comes from the environment (TABLE_NAME, AWS_REGION, AWS_ENDPOINT_URL_*).";

/// Flags without a value.
const SWITCHES: &[&str] = &["super-admin"];

/// `--flag value` pairs and the remaining positional arguments.
fn split_flags(args: &[String]) -> Result<(HashMap<String, String>, Vec<String>), String> {
    let mut flags = HashMap::new();
    let mut positional = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(name) = a.strip_prefix("--") {
            if SWITCHES.contains(&name) {
                flags.insert(name.to_string(), "true".to_string());
                continue;
            }
            let value = it
                .next()
                .ok_or_else(|| format!("--{name} needs a value\n\n{USAGE}"))?;
            flags.insert(name.to_string(), value.clone());
        } else {
            positional.push(a.clone());
        }
    }
    Ok((flags, positional))
}

fn plan(flags: &HashMap<String, String>) -> Result<Option<Plan>, String> {
    flags
        .get("plan")
        .map(|p| {
            Plan::parse(p)
                .ok_or_else(|| format!("unknown plan {p:?}: free, starter, pro or agency"))
        })
        .transpose()
}

/// Runs one command against `state` and returns the JSON it prints.
pub async fn run(state: &AppState, args: &[String]) -> Result<String, String> {
    let (flags, pos) = split_flags(args)?;
    let words: Vec<&str> = pos.iter().map(String::as_str).collect();
    if words.first() == Some(&"user") {
        return crate::user_cli::run(state, &flags, &words[1..], USAGE).await;
    }
    let store = &state.store;
    if words == ["contacts", "backfill-consent"] {
        let run = |id: String| async move { store.backfill_consent_copies(&id).await };
        return per_tenant(state, flags.get("tenant"), run).await;
    }
    // `reindex-search`: its name before it rewrote the listing entries too.
    if words == ["inbox", "reindex"] || words == ["inbox", "reindex-search"] {
        let run = |id: String| async move { store.reindex_inbox(&id).await };
        return per_tenant(state, flags.get("tenant"), run).await;
    }
    if words == ["webhooks", "backfill-status-events"] {
        let run = |id: String| async move { store.backfill_status_events(&id).await };
        return per_tenant(state, flags.get("tenant"), run).await;
    }
    if !matches!(words.first(), Some(&"tenant")) {
        return Err(USAGE.to_string());
    }
    let out = match words.get(1..).unwrap_or_default() {
        ["create"] => {
            let name = flags
                .get("name")
                .ok_or_else(|| format!("--name is required\n\n{USAGE}"))?;
            let req = CreateTenantRequest {
                name: name.clone(),
                plan: plan(&flags)?,
            };
            pretty(
                &fn_admin::create_tenant_inner(state, req)
                    .await
                    .map_err(|e| e.message)?,
            )
        }
        ["list"] => {
            let page = page_params(&flags)?;
            pretty(
                &fn_admin::list_tenants_inner(state, &page)
                    .await
                    .map_err(|e| e.message)?,
            )
        }
        ["get", id] => pretty(
            &fn_admin::get_tenant_inner(state, id)
                .await
                .map_err(|e| e.message)?,
        ),
        ["update", id] => {
            let suspended = flags
                .get("suspended")
                .map(|s| {
                    s.parse::<bool>()
                        .map_err(|_| "--suspended must be true or false".to_string())
                })
                .transpose()?;
            let req = UpdateTenantRequest {
                name: flags.get("name").cloned(),
                plan: plan(&flags)?,
                suspended,
                limits: None,
            };
            pretty(
                &fn_admin::update_tenant_inner(state, id, req)
                    .await
                    .map_err(|e| e.message)?,
            )
        }
        _ => return Err(USAGE.to_string()),
    };
    out
}

/// The tenant given (which must exist), or every tenant, a page at a time.
async fn tenant_ids(state: &AppState, tenant: Option<&String>) -> Result<Vec<String>, String> {
    let store = &state.store;
    if let Some(id) = tenant {
        return match store.get_tenant(id).await.map_err(|e| e.to_string())? {
            Some(_) => Ok(vec![id.clone()]),
            None => Err(format!("no tenant {id:?}")),
        };
    }
    let mut tenants = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = store
            .list_tenants(100, cursor.as_deref())
            .await
            .map_err(|e| e.to_string())?;
        tenants.extend(page.into_iter().map(|t| t.id));
        cursor = next;
        if cursor.is_none() {
            return Ok(tenants);
        }
    }
}

/// A one-off data command run for one tenant or every tenant: the tenants and the sum of
/// their reports, each report a struct of counts summed field by field.
async fn per_tenant<R, F, Fut>(
    state: &AppState,
    tenant: Option<&String>,
    run: F,
) -> Result<String, String>
where
    R: Default + serde::Serialize,
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = StoreResult<R>>,
{
    let counts = |r: &R| serde_json::to_value(r).map_err(|e| e.to_string());
    let tenants = tenant_ids(state, tenant).await?;
    let mut total = counts(&R::default())?;
    for id in &tenants {
        let report = run(id.clone()).await.map_err(|e| e.to_string())?;
        add_counts(&mut total, counts(&report)?);
    }
    pretty(&serde_json::json!({"tenants": tenants.len(), "report": total}))
}

/// Adds each count of `report` to the same-named count of `total`.
fn add_counts(total: &mut serde_json::Value, report: serde_json::Value) {
    let (serde_json::Value::Object(total), serde_json::Value::Object(report)) = (total, report)
    else {
        return;
    };
    for (name, n) in report {
        let sum = total.get(&name).and_then(|t| t.as_u64()).unwrap_or(0) + n.as_u64().unwrap_or(0);
        total.insert(name, sum.into());
    }
}

pub(crate) fn pretty<T: serde::Serialize>(v: &T) -> Result<String, String> {
    serde_json::to_string_pretty(v).map_err(|e| e.to_string())
}

/// `--limit` and `--cursor`.
pub(crate) fn page_params(flags: &HashMap<String, String>) -> Result<PageParams, String> {
    Ok(PageParams {
        limit: flags
            .get("limit")
            .map(|l| {
                l.parse()
                    .map_err(|_| "--limit must be a number".to_string())
            })
            .transpose()?,
        cursor: flags.get("cursor").cloned(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn reports_add_up_field_by_field() {
        let mut total = json!({"already": 0, "written": 0});
        super::add_counts(&mut total, json!({"already": 1, "written": 2}));
        super::add_counts(&mut total, json!({"already": 3, "written": 0}));
        assert_eq!(total, json!({"already": 4, "written": 2}));
    }
}
