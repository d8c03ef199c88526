//! Plan caps as conditional counters: one item per tenant and limit (daily limits: per UTC
//! day, so a counter never needs resetting and past days are the usage history). A unit is
//! taken with one conditional `ADD` — never a read-then-write — so parallel requests on any
//! number of instances cannot exceed a cap.

use super::keys::*;
use super::{n, s, Store, StoreError, StoreResult};
use crate::domain::quota::{day_of, next_midnight, Limit};
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, ReturnValue, ReturnValuesOnConditionCheckFailure,
};
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
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .key(SK, s(sk))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        req = if day.is_some() {
            let expires = (next_midnight(now) + Duration::days(HISTORY_DAYS)).timestamp();
            req.update_expression("ADD used :one SET expiresAt = if_not_exists(expiresAt, :exp)")
                .expression_attribute_values(":exp", n(expires))
        } else {
            req.update_expression("ADD used :one")
        };
        if let Some(cap) = cap {
            req = req
                .condition_expression("attribute_not_exists(used) OR used < :cap")
                .expression_attribute_values(":cap", n(cap));
        }
        match req.send().await {
            Ok(out) => Ok(Reserve::Granted(Reservation {
                tenant_id: tenant_id.to_string(),
                limit,
                day,
                used: used_of(out.attributes.as_ref()),
            })),
            Err(e) => {
                use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
                match (e.as_service_error(), cap) {
                    (Some(UpdateItemError::ConditionalCheckFailedException(_)), Some(cap)) => {
                        Ok(Reserve::Exceeded { cap })
                    }
                    _ => Err(StoreError::aws("UpdateItem", &e)),
                }
            }
        }
    }

    /// Gives a unit back (never below zero).
    pub async fn release(&self, r: &Reservation) -> StoreResult<()> {
        let sk = usage_sk(r.limit.key(), r.day.as_deref());
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(&r.tenant_id)))
            .key(SK, s(sk))
            .update_expression("ADD used :minus")
            .condition_expression("used > :zero")
            .expression_attribute_values(":minus", n(-1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(StoreError::aws("UpdateItem", &e)),
        }
    }

    /// Current use of every limit (today's for daily ones), in one batch read.
    pub async fn usage(
        &self,
        tenant_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<HashMap<Limit, u32>> {
        let mut wanted = HashMap::new();
        let mut request = KeysAndAttributes::builder().projection_expression("SK, used");
        for limit in Limit::ALL {
            let (pk, sk, _) = counter_key(tenant_id, limit, now);
            wanted.insert(sk.clone(), limit);
            request = request.keys([(PK.to_string(), s(pk)), (SK.to_string(), s(sk))].into());
        }
        let mut pending = Some(
            request
                .build()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        );
        let mut used: HashMap<Limit, u32> = Limit::ALL.into_iter().map(|l| (l, 0)).collect();
        while let Some(req) = pending.take() {
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, req)
                .send()
                .await
                .map_err(|e| StoreError::aws("BatchGetItem", &e))?;
            for item in out
                .responses
                .unwrap_or_default()
                .remove(&self.table)
                .unwrap_or_default()
            {
                let sk = item
                    .get(SK)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                if let Some(limit) = wanted.get(&sk) {
                    used.insert(*limit, used_of(Some(&item)));
                }
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .filter(|k| !k.keys.is_empty());
        }
        Ok(used)
    }
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
) -> StoreResult<aws_sdk_dynamodb::types::TransactWriteItem> {
    let (pk, sk, _) = counter_key(tenant_id, limit, now);
    let mut update = aws_sdk_dynamodb::types::Update::builder()
        .table_name(table)
        .key(PK, s(pk))
        .key(SK, s(sk))
        .update_expression("ADD used :one")
        .expression_attribute_values(":one", n(1));
    if let Some(cap) = cap {
        update = update
            .condition_expression("attribute_not_exists(used) OR used < :cap")
            .expression_attribute_values(":cap", n(cap));
    }
    let update = update
        .build()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder()
        .update(update)
        .build())
}

/// The counter update that gives a unit back when a counted resource is deleted.
pub fn release_in_transaction(
    table: &str,
    tenant_id: &str,
    limit: Limit,
    now: DateTime<Utc>,
) -> StoreResult<aws_sdk_dynamodb::types::TransactWriteItem> {
    let (pk, sk, _) = counter_key(tenant_id, limit, now);
    let update = aws_sdk_dynamodb::types::Update::builder()
        .table_name(table)
        .key(PK, s(pk))
        .key(SK, s(sk))
        .update_expression("ADD used :minus")
        .expression_attribute_values(":minus", n(-1))
        .build()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder()
        .update(update)
        .build())
}
