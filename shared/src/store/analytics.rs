//! Analytics counters: `TENANT#<id>#STATS` / `S#<slot>#<deviceId>`, one item per tenant,
//! half hour (UTC) and device, each figure a number attribute moved with `ADD` (see
//! `domain::analytics`). A period is one key range of one partition.

use super::keys::{stats_pk, stats_sk, PK, SK, STATS_SLOT_END};
use super::table::{Cond, Query, Returns};
use super::{n, s, Item, Store, StoreResult};
use crate::domain::analytics::{slot_expiry, slot_of, SlotCounts, Tally};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

/// Where an event's counts go: the tenant, the device, and when it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountAt<'a> {
    pub tenant_id: &'a str,
    pub device_id: &'a str,
    pub at: DateTime<Utc>,
}

/// The update expression of a tally (one `ADD` per figure, one `SET` per name and the
/// TTL), with its placeholders.
fn tally_update(t: &Tally, at: DateTime<Utc>) -> (String, Cond) {
    let mut cond = Cond::none().value(":exp", n(slot_expiry(at)));
    let mut adds = Vec::new();
    for (i, (figure, by)) in t.adds.iter().enumerate() {
        cond = cond
            .name(&format!("#a{i}"), figure)
            .value(&format!(":a{i}"), n(by));
        adds.push(format!("#a{i} :a{i}"));
    }
    let mut sets = vec!["expiresAt = :exp".to_string()];
    for (i, (k, v)) in t.names.iter().enumerate() {
        cond = cond
            .name(&format!("#n{i}"), k)
            .value(&format!(":n{i}"), s(v));
        sets.push(format!("#n{i} = :n{i}"));
    }
    (
        format!("SET {} ADD {}", sets.join(", "), adds.join(", ")),
        cond,
    )
}

impl Store {
    /// Adds a tally to its counter item: one `UpdateItem`, whatever the number of figures.
    pub async fn add_counts(&self, to: &CountAt<'_>, t: &Tally) -> StoreResult<()> {
        if t.is_empty() {
            return Ok(());
        }
        let (expr, cond) = tally_update(t, to.at);
        let pk = stats_pk(to.tenant_id);
        let sk = stats_sk(&slot_of(to.at), to.device_id);
        self.update_if(&pk, &sk, &expr, cond, Returns::NOTHING)
            .await
            .map(|_| ())
    }

    /// Every counter item of slots `first..=last` (all devices): one `Query` (more pages
    /// only past 1 MB), eventually consistent.
    pub async fn counts(
        &self,
        tenant_id: &str,
        first: &str,
        last: &str,
    ) -> StoreResult<Vec<SlotCounts>> {
        let q = Query::partition(stats_pk(tenant_id)).between(
            stats_sk(first, ""),
            format!("{}{STATS_SLOT_END}", stats_sk(last, "")),
        );
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let (items, last_key) = self.query_items(&q, None, start).await?;
            all.extend(items.into_iter().filter_map(slot_counts));
            start = last_key;
            if start.is_none() {
                return Ok(all);
            }
        }
    }
}

/// A counter item as figures and names (`None`: not one).
fn slot_counts(item: Item) -> Option<SlotCounts> {
    let sk = item.get(SK)?.as_s().ok()?.clone();
    let (slot, device) = sk.strip_prefix("S#")?.split_once('#')?;
    let mut c = SlotCounts {
        slot: slot.to_string(),
        device_id: device.to_string(),
        ..Default::default()
    };
    for (k, v) in item {
        if k == PK || k == SK || k == "expiresAt" {
            continue;
        }
        match v {
            AttributeValue::N(x) => {
                c.figures.insert(k, x.parse().unwrap_or_default());
            }
            AttributeValue::S(x) => {
                c.names.insert(k, x);
            }
            _ => {}
        }
    }
    Some(c)
}
