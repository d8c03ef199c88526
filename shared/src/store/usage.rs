//! Plan caps as conditional counters: one item per tenant and limit (daily limits: per UTC
//! day, so a counter never needs resetting and past days are the usage history). A unit is
//! taken with one conditional `ADD` — never a read-then-write — so parallel requests on any
//! number of instances cannot exceed a cap.

use super::keys::*;
use super::table::{self, Cond, Returns, Written};
use super::{n, Store, StoreResult};
use crate::domain::quota::{day_of, next_midnight, Limit};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

/// Daily counters are kept this long after their day, as usage history.
const HISTORY_DAYS: i64 = 400;

/// A unit taken from a counter; give it back with [`Store::release`] if the thing it paid
/// for did not happen (e.g. the provider refused the message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub tenant_id: String,
    pub limit: Limit,
    pub day: Option<String>,
    /// The counter after this reservation.
    pub used: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reserve {
    Granted(Reservation),
    Exceeded { cap: u32 },
}

fn counter_key(
    tenant_id: &str,
    limit: Limit,
    now: DateTime<Utc>,
) -> (String, String, Option<String>) {
    let day = limit.is_daily().then(|| day_of(now));
    (
        tenant_pk(tenant_id),
        usage_sk(limit.key(), day.as_deref()),
        day,
    )
}

fn used_of(item: Option<&HashMap<String, AttributeValue>>) -> u32 {
    item.and_then(|i| i.get("used"))
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

impl Store {
    /// Takes one unit of `limit` for the tenant if the counter is below `cap` (`None`:
    /// unlimited, counted all the same). One conditional write.
    pub async fn reserve(
        &self,
        tenant_id: &str,
        limit: Limit,
        cap: Option<u32>,
        now: DateTime<Utc>,
    ) -> StoreResult<Reserve> {
        if cap == Some(0) {
            return Ok(Reserve::Exceeded { cap: 0 });
        }
        let (pk, sk, day) = counter_key(tenant_id, limit, now);
        let (expr, mut cond) = take_one(cap);
        let expr = if day.is_some() {
            let expires = (next_midnight(now) + Duration::days(HISTORY_DAYS)).timestamp();
            cond = cond.value(":exp", n(expires));
            format!("{expr} SET expiresAt = if_not_exists(expiresAt, :exp)")
        } else {
            expr.to_string()
        };
        match (
            self.update_if(&pk, &sk, &expr, cond, Returns::UPDATED)
                .await?,
            cap,
        ) {
            (Written::Applied(new), _) => Ok(Reserve::Granted(Reservation {
                tenant_id: tenant_id.to_string(),
                limit,
                day,
                used: used_of(Some(&new)),
            })),
            (Written::Refused(_), Some(cap)) => Ok(Reserve::Exceeded { cap }),
            (Written::Refused(_), None) => Ok(Reserve::Exceeded { cap: 0 }),
        }
    }

    /// Gives a unit back (never below zero).
    pub async fn release(&self, r: &Reservation) -> StoreResult<()> {
        // Refused: already at zero, nothing to give back.
        self.update_if(
            &tenant_pk(&r.tenant_id),
            &usage_sk(r.limit.key(), r.day.as_deref()),
            "ADD used :minus",
            Cond::new("used > :zero")
                .value(":minus", n(-1))
                .value(":zero", n(0)),
            Returns::NOTHING,
        )
        .await?;
        Ok(())
    }

    /// Current use of every limit (today's for daily ones), in one batch read.
    pub async fn usage(
        &self,
        tenant_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<HashMap<Limit, u32>> {
        let mut wanted = HashMap::new();
        let mut keys = Vec::new();
        for limit in Limit::ALL {
            let (pk, sk, _) = counter_key(tenant_id, limit, now);
            wanted.insert(sk.clone(), limit);
            keys.push((pk, sk));
        }
        let mut used: HashMap<Limit, u32> = Limit::ALL.into_iter().map(|l| (l, 0)).collect();
        for item in self.batch_get_with(&keys, false, Some("SK, used")).await? {
            let sk = item.get(SK).and_then(|v| v.as_s().ok());
            if let Some(limit) = sk.and_then(|sk| wanted.get(sk)) {
                used.insert(*limit, used_of(Some(&item)));
            }
        }
        Ok(used)
    }
}

/// Taking one unit: the update and, under a cap, its condition.
fn take_one(cap: Option<u32>) -> (&'static str, Cond) {
    let cond = match cap {
        Some(cap) => Cond::new("attribute_not_exists(used) OR used < :cap").value(":cap", n(cap)),
        None => Cond::none(),
    };
    ("ADD used :one", cond.value(":one", n(1)))
}

/// For creating a counted resource (device, rule, seat) atomically with its counter: the
/// counter update to put first in a `TransactWriteItems`. If the transaction is cancelled with
/// `ConditionalCheckFailed` on this item, the cap was reached.
pub fn reserve_in_transaction(
    table: &str,
    tenant_id: &str,
    limit: Limit,
    cap: Option<u32>,
    now: DateTime<Utc>,
) -> StoreResult<TransactWriteItem> {
    let (pk, sk, _) = counter_key(tenant_id, limit, now);
    let (expr, cond) = take_one(cap);
    table::update(table, &pk, &sk, expr, cond)
}

/// The counter update that gives a unit back when a counted resource is deleted.
pub fn release_in_transaction(
    table: &str,
    tenant_id: &str,
    limit: Limit,
    now: DateTime<Utc>,
) -> StoreResult<TransactWriteItem> {
    let (pk, sk, _) = counter_key(tenant_id, limit, now);
    let cond = Cond::none().value(":minus", n(-1));
    table::update(table, &pk, &sk, "ADD used :minus", cond)
}
