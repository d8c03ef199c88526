//! Building blocks for multi-item writes and reads: transaction items, a commit that tells a
//! lost race (retry) from a failure, packing many small atomic groups into few transactions,
//! `BatchGetItem` / `BatchWriteItem` with their 100 / 25 key limits and unprocessed keys, and
//! cursors bound to one key range.

use super::keys::{PK, SK};
use super::{s, Item, Store, StoreError, StoreResult};
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, KeysAndAttributes, Put, TransactWriteItem, Update,
    WriteRequest,
};
use std::collections::HashMap;
use std::time::Duration;

/// DynamoDB's limit on the items of one transaction.
pub const MAX_TRANSACTION_ITEMS: usize = 100;
/// DynamoDB's limits on one `BatchGetItem` / `BatchWriteItem`.
pub const MAX_BATCH_GET: usize = 100;
pub const MAX_BATCH_WRITE: usize = 25;
/// How many independent writes one request keeps in flight.
pub const CONCURRENCY: usize = 16;

/// A condition with its placeholders.
#[derive(Debug, Clone, Default)]
pub struct Cond {
    pub expr: String,
    pub names: Vec<(String, String)>,
    pub values: Vec<(String, AttributeValue)>,
}

impl Cond {
    pub fn new(expr: impl Into<String>) -> Self {
        Cond {
            expr: expr.into(),
            ..Default::default()
        }
    }
    pub fn value(mut self, k: &str, v: AttributeValue) -> Self {
        self.values.push((k.to_string(), v));
        self
    }
    pub fn name(mut self, k: &str, v: &str) -> Self {
        self.names.push((k.to_string(), v.to_string()));
        self
    }
    fn names_map(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.iter().cloned().collect())
    }
    fn values_map(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.iter().cloned().collect())
    }
}

fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    [(PK.to_string(), s(pk)), (SK.to_string(), s(sk))].into()
}

fn built<T, E: std::fmt::Display>(r: Result<T, E>) -> StoreResult<T> {
    r.map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub fn put(table: &str, item: Item, cond: Option<Cond>) -> StoreResult<TransactWriteItem> {
    let mut b = Put::builder().table_name(table).set_item(Some(item));
    if let Some(c) = cond {
        b = b
            .condition_expression(&c.expr)
            .set_expression_attribute_names(c.names_map())
            .set_expression_attribute_values(c.values_map());
    }
    Ok(TransactWriteItem::builder().put(built(b.build())?).build())
}

pub fn delete(
    table: &str,
    pk: &str,
    sk: &str,
    cond: Option<Cond>,
) -> StoreResult<TransactWriteItem> {
    let mut b = Delete::builder()
        .table_name(table)
        .set_key(Some(key(pk, sk)));
    if let Some(c) = cond {
        b = b
            .condition_expression(&c.expr)
            .set_expression_attribute_names(c.names_map())
            .set_expression_attribute_values(c.values_map());
    }
    Ok(TransactWriteItem::builder()
        .delete(built(b.build())?)
        .build())
}

/// An update; `expr` is the update expression and `cond` carries the placeholders of both.
pub fn update(
    table: &str,
    pk: &str,
    sk: &str,
    expr: &str,
    cond: Cond,
) -> StoreResult<TransactWriteItem> {
    let mut b = Update::builder()
        .table_name(table)
        .set_key(Some(key(pk, sk)))
        .update_expression(expr)
        .set_expression_attribute_names(cond.names_map())
        .set_expression_attribute_values(cond.values_map());
    if !cond.expr.is_empty() {
        b = b.condition_expression(&cond.expr);
    }
    Ok(TransactWriteItem::builder()
        .update(built(b.build())?)
        .build())
}

/// How a transaction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Commit {
    Done,
    /// Cancelled: a condition failed or another transaction held an item. Per item, the
    /// cancellation code (`ConditionalCheckFailed`, `TransactionConflict`, `None`…).
    Cancelled(Vec<Option<String>>),
}

impl Commit {
    /// True when item `i` failed its condition.
    pub fn condition_failed_at(&self, i: usize) -> bool {
        matches!(self, Commit::Cancelled(codes)
            if codes.get(i).and_then(|c| c.as_deref()) == Some("ConditionalCheckFailed"))
    }
}

impl Store {
    /// Runs one transaction. A cancellation is an answer (`Commit::Cancelled`), not an error.
    pub(crate) async fn commit(&self, items: Vec<TransactWriteItem>) -> StoreResult<Commit> {
        use aws_sdk_dynamodb::error::ProvideErrorMetadata;
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        if items.is_empty() {
            return Ok(Commit::Done);
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(Commit::Done),
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    Ok(Commit::Cancelled(
                        c.cancellation_reasons()
                            .iter()
                            .map(|r| r.code().map(str::to_string).filter(|c| c != "None"))
                            .collect(),
                    ))
                }
                Some(se) if se.code() == Some("TransactionConflictException") => {
                    Ok(Commit::Cancelled(Vec::new()))
                }
                _ => Err(StoreError::aws("TransactWriteItems", &e)),
            },
        }
    }

    /// Reads items by key, any number of them, in batches of 100 (unprocessed keys retried).
    pub(crate) async fn batch_get(
        &self,
        keys: &[(String, String)],
        consistent: bool,
    ) -> StoreResult<Vec<Item>> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(MAX_BATCH_GET) {
            let mut request = KeysAndAttributes::builder().consistent_read(consistent);
            for (pk, sk) in chunk {
                request = request.keys(key(pk, sk));
            }
            let mut pending = Some(built(request.build())?);
            let mut attempt = 0u32;
            while let Some(req) = pending.take() {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, req)
                    .send()
                    .await
                    .map_err(|e| StoreError::aws("BatchGetItem", &e))?;
                found.extend(
                    out.responses
                        .unwrap_or_default()
                        .remove(&self.table)
                        .unwrap_or_default(),
                );
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys.is_empty());
                if pending.is_some() {
                    attempt += 1;
                    backoff(attempt).await;
                }
            }
        }
        Ok(found)
    }

    /// Deletes items by key (not atomically: for idempotent clean-up only).
    pub(crate) async fn batch_delete(&self, keys: &[(String, String)]) -> StoreResult<()> {
        for chunk in keys.chunks(MAX_BATCH_WRITE) {
            let mut requests = chunk
                .iter()
                .map(|(pk, sk)| {
                    built(DeleteRequest::builder().set_key(Some(key(pk, sk))).build())
                        .map(|d| WriteRequest::builder().delete_request(d).build())
                })
                .collect::<StoreResult<Vec<_>>>()?;
            let mut attempt = 0u32;
            while !requests.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| StoreError::aws("BatchWriteItem", &e))?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
                if !requests.is_empty() {
                    attempt += 1;
                    backoff(attempt).await;
                }
            }
        }
        Ok(())
    }
}

/// Exponential backoff with jitter between retries of throttled or contended writes.
pub async fn backoff(attempt: u32) {
    let base = 10u64.saturating_mul(1 << attempt.min(6));
    let mut b = [0u8; 1];
    let jitter = getrandom::fill(&mut b)
        .map(|_| u64::from(b[0]) % base.max(1))
        .unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(base / 2 + jitter)).await;
}

/// Packs groups of transaction items that must each be atomic into as few transactions as
/// fit (`MAX_TRANSACTION_ITEMS`), keeping every group whole. `shared(k)` is the number of
/// extra items a pack of `k` groups needs besides the groups' own (e.g. one counter update
/// per list the pack touches), so the caller decides what is shared; a group is never split.
pub fn pack<G>(
    groups: Vec<G>,
    size: impl Fn(&G) -> usize,
    shared: impl Fn(&[G]) -> usize,
) -> Vec<Vec<G>> {
    let mut packs: Vec<Vec<G>> = Vec::new();
    let mut current: Vec<G> = Vec::new();
    let mut current_size = 0;
    for g in groups {
        let n = size(&g);
        current.push(g);
        let fits = current_size + n + shared(&current) <= MAX_TRANSACTION_ITEMS;
        if !fits && current.len() > 1 {
            // Close the pack without this group and start a new one with it.
            if let Some(g) = current.pop() {
                packs.push(std::mem::take(&mut current));
                current.push(g);
                current_size = n;
            }
        } else {
            current_size += n;
        }
    }
    if !current.is_empty() {
        packs.push(current);
    }
    packs
}

/// What a cursor's key must look like to be used on a query: each attribute equal to a
/// value, or starting with a prefix (the query's key range).
pub enum Expect<'a> {
    Eq(&'a str, &'a str),
    Prefix(&'a str, &'a str),
}

/// Decodes a cursor for a query whose key range `expect` describes. A cursor from another
/// partition or range (another tenant, tag, list or search) is a `BadCursor`.
pub fn start_key(cursor: Option<&str>, expect: &[Expect<'_>]) -> StoreResult<Option<Item>> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let (first_attr, first_value) = match expect.first() {
        Some(Expect::Eq(a, v)) => (*a, *v),
        _ => return Err(StoreError::BadCursor),
    };
    let item = super::cursor::decode(cursor, first_attr, first_value)
        .map_err(|_| StoreError::BadCursor)?;
    let text = |attr: &str| item.get(attr).and_then(|v| v.as_s().ok()).cloned();
    for e in expect {
        let ok = match e {
            Expect::Eq(attr, v) => text(attr).as_deref() == Some(*v),
            Expect::Prefix(attr, p) => text(attr).is_some_and(|t| t.starts_with(p)),
        };
        if !ok {
            return Err(StoreError::BadCursor);
        }
    }
    Ok(Some(item))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_keep_groups_whole_and_fit() {
        let groups: Vec<usize> = vec![30, 30, 30, 30, 99, 1, 150];
        let packs = pack(groups, |g| *g, |_| 1);
        assert_eq!(
            packs,
            vec![vec![30, 30, 30], vec![30], vec![99], vec![1], vec![150]]
        );
        // Shared items grow with the pack (one per distinct list, say).
        let packs = pack(vec![10usize; 20], |g| *g, |p| p.len());
        assert!(packs.iter().all(|p| p.len() * 10 + p.len() <= 100));
        assert_eq!(packs.iter().map(Vec::len).sum::<usize>(), 20);
    }

    #[test]
    fn cursors_stay_in_their_range() {
        let mut k = Item::new();
        k.insert("PK".into(), s("T#a#PHONES"));
        k.insert("SK".into(), s("PHONE#92300"));
        let c = super::super::cursor::encode(Some(&k));
        let start = |e: &[Expect<'_>]| start_key(c.as_deref(), e).map(|i| i.is_some());
        assert!(matches!(
            start(&[
                Expect::Eq("PK", "T#a#PHONES"),
                Expect::Prefix("SK", "PHONE#923")
            ]),
            Ok(true)
        ));
        assert!(matches!(
            start(&[
                Expect::Eq("PK", "T#a#PHONES"),
                Expect::Prefix("SK", "PHONE#1")
            ]),
            Err(StoreError::BadCursor)
        ));
        assert!(matches!(
            start(&[Expect::Eq("PK", "T#b#PHONES")]),
            Err(StoreError::BadCursor)
        ));
        assert!(matches!(start_key(None, &[]), Ok(None)));
        assert!(matches!(
            start_key(Some("garbage"), &[Expect::Eq("PK", "x")]),
            Err(StoreError::BadCursor)
        ));
    }
}
