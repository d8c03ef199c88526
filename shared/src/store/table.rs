//! The table toolkit: every DynamoDB call of the store goes through here, so the request
//! plumbing (keys, placeholders, paging, cursors, "the condition failed" as an answer rather
//! than an error, unprocessed keys, lost transactions) is written once.
//!
//! - reads: [`Store::get`], [`Store::get_with`], [`Store::batch_get`], [`Store::page`],
//!   [`Store::query_page`], [`Store::query_all`] / [`Store::query_prefix_all`];
//! - single-item writes: [`Store::put`], [`Store::put_if`], [`Store::update_if`],
//!   [`Store::delete_if`], [`Store::batch_delete`];
//! - transactions: [`put`], [`delete`], [`update`], [`check`] build the items,
//!   [`Store::commit`] runs them, [`retry`] repeats an attempt that lost a race;
//! - [`cursor`]: opaque page cursors bound to the key range they came from.

use super::keys::{PK, SK};
use super::{from_item, s, to_item, Item, Store, StoreError, StoreResult, MAX_ATTEMPTS};
use crate::runtime::retry::{Backoff, Retry};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, DeleteRequest, KeysAndAttributes, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update, WriteRequest,
};
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// DynamoDB's limit on the items of one transaction.
pub const MAX_TRANSACTION_ITEMS: usize = 100;
/// DynamoDB's limits on one `BatchGetItem` / `BatchWriteItem`.
pub const MAX_BATCH_GET: usize = 100;
pub const MAX_BATCH_WRITE: usize = 25;
/// How many independent writes one request keeps in flight.
pub const CONCURRENCY: usize = 16;

/// A condition with its placeholders (an update's placeholders ride along here too).
#[derive(Debug, Clone, Default)]
pub struct Cond {
    pub expr: String,
    pub names: Vec<(String, String)>,
    pub values: Vec<(String, AttributeValue)>,
    /// Ask for the item as it was when the condition fails.
    old_on_failure: bool,
}

impl Cond {
    pub fn new(expr: impl Into<String>) -> Self {
        Cond {
            expr: expr.into(),
            ..Default::default()
        }
    }
    /// The item must be there.
    pub fn exists() -> Self {
        Cond::new("attribute_exists(PK)")
    }
    /// The item must not be there yet.
    pub fn absent() -> Self {
        Cond::new("attribute_not_exists(PK)")
    }
    /// Placeholders only: an update without a condition.
    pub fn none() -> Self {
        Cond::default()
    }
    pub fn value(mut self, k: &str, v: AttributeValue) -> Self {
        self.values.push((k.to_string(), v));
        self
    }
    pub fn name(mut self, k: &str, v: &str) -> Self {
        self.names.push((k.to_string(), v.to_string()));
        self
    }
    /// When the condition fails, the answer carries the item as it was.
    pub fn returning_old(mut self) -> Self {
        self.old_on_failure = true;
        self
    }
    fn condition(&self) -> Option<String> {
        (!self.expr.is_empty()).then(|| self.expr.clone())
    }
    fn names_map(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.iter().cloned().collect())
    }
    fn values_map(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.iter().cloned().collect())
    }
    fn old(&self) -> Option<ReturnValuesOnConditionCheckFailure> {
        self.old_on_failure
            .then_some(ReturnValuesOnConditionCheckFailure::AllOld)
    }
}

/// A conditional write's result: `false` when its condition failed, an error otherwise.
fn held<O, E, R>(op: &'static str, out: Result<O, SdkError<E, R>>) -> StoreResult<bool>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match out {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error().and_then(|s| s.code()) == Some(CONDITION_FAILED_EXCEPTION) =>
        {
            Ok(false)
        }
        Err(e) => Err(StoreError::aws(op, &e)),
    }
}

const CONDITION_FAILED_EXCEPTION: &str = "ConditionalCheckFailedException";

fn read_all<T: DeserializeOwned>(items: Vec<Item>) -> StoreResult<Vec<T>> {
    items.into_iter().map(from_item).collect()
}

/// Sets a request's condition (none when its expression is empty) and placeholders.
macro_rules! conditioned {
    ($builder:expr, $cond:expr) => {{
        let c: &Cond = &$cond;
        $builder
            .set_condition_expression(c.condition())
            .set_expression_attribute_names(c.names_map())
            .set_expression_attribute_values(c.values_map())
            .set_return_values_on_condition_check_failure(c.old())
    }};
}

/// `v` as an item under the key `pk` / `sk`.
pub(crate) fn keyed<T: serde::Serialize>(
    v: &T,
    pk: impl Into<String>,
    sk: impl Into<String>,
) -> StoreResult<Item> {
    let mut item = to_item(v)?;
    item.insert(PK.into(), s(pk));
    item.insert(SK.into(), s(sk));
    Ok(item)
}

/// `item` with its place on GSI1.
pub(crate) fn on_gsi1(mut item: Item, pk: impl Into<String>, sk: impl Into<String>) -> Item {
    item.insert(super::keys::GSI1PK.into(), s(pk));
    item.insert(super::keys::GSI1SK.into(), s(sk));
    item
}

/// The key of an item.
fn key(pk: &str, sk: &str) -> Item {
    [(PK.to_string(), s(pk)), (SK.to_string(), s(sk))].into()
}

fn built<T, E: std::fmt::Display>(r: Result<T, E>) -> StoreResult<T> {
    r.map_err(|e| StoreError::Corrupt(e.to_string()))
}

// ---------------------------------------------------------------------------------------
// Transaction items

pub fn put(table: &str, item: Item, cond: Option<Cond>) -> StoreResult<TransactWriteItem> {
    let c = cond.unwrap_or_default();
    let b = conditioned!(Put::builder().table_name(table).set_item(Some(item)), c);
    Ok(TransactWriteItem::builder().put(built(b.build())?).build())
}

pub fn delete(
    table: &str,
    pk: &str,
    sk: &str,
    cond: Option<Cond>,
) -> StoreResult<TransactWriteItem> {
    let c = cond.unwrap_or_default();
    let b = conditioned!(
        Delete::builder()
            .table_name(table)
            .set_key(Some(key(pk, sk))),
        c
    );
    Ok(TransactWriteItem::builder()
        .delete(built(b.build())?)
        .build())
}

/// An update; `expr` is the update expression and `cond` carries the placeholders of both
/// (an empty condition: no condition).
pub fn update(
    table: &str,
    pk: &str,
    sk: &str,
    expr: &str,
    c: Cond,
) -> StoreResult<TransactWriteItem> {
    let b = Update::builder()
        .table_name(table)
        .set_key(Some(key(pk, sk)));
    let b = conditioned!(b.update_expression(expr), c);
    Ok(TransactWriteItem::builder()
        .update(built(b.build())?)
        .build())
}

/// A condition on an item the transaction does not write.
pub fn check(table: &str, pk: &str, sk: &str, c: Cond) -> StoreResult<TransactWriteItem> {
    let b = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key(pk, sk)));
    let b = conditioned!(b, c);
    Ok(TransactWriteItem::builder()
        .condition_check(built(b.build())?)
        .build())
}

/// How a transaction ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Commit {
    Done,
    /// Cancelled: a condition failed or another transaction held an item. Per item, why.
    Cancelled(Vec<Cancellation>),
}

/// Why one item of a cancelled transaction was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Cancellation {
    /// `ConditionalCheckFailed`, `TransactionConflict`… (`None`: this item was fine).
    pub code: Option<String>,
    /// The item as it was, for a failed condition that asked for it (and an item there).
    pub old: Option<Item>,
}

const CONDITION_FAILED: &str = "ConditionalCheckFailed";

impl Commit {
    /// True when item `i` failed its condition.
    pub fn condition_failed_at(&self, i: usize) -> bool {
        self.old_at(i).is_some()
    }

    /// For item `i` that failed its condition: `Some(the item as it was, if returned)`.
    pub fn old_at(&self, i: usize) -> Option<Option<Item>> {
        match self {
            Commit::Cancelled(reasons) => reasons
                .get(i)
                .filter(|r| r.code.as_deref() == Some(CONDITION_FAILED))
                .map(|r| r.old.clone()),
            Commit::Done => None,
        }
    }

    /// The first item that failed its condition.
    pub fn failed_condition(&self) -> Option<usize> {
        match self {
            Commit::Cancelled(reasons) => reasons
                .iter()
                .position(|r| r.code.as_deref() == Some(CONDITION_FAILED)),
            Commit::Done => None,
        }
    }

    /// Lost a race: a condition failed or another transaction held an item (read again and
    /// retry). A cancellation for any other reason (throttling, validation) is not.
    pub fn lost(&self) -> bool {
        match self {
            Commit::Done => false,
            Commit::Cancelled(reasons) => {
                reasons.is_empty()
                    || reasons.iter().any(|r| {
                        matches!(
                            r.code.as_deref(),
                            Some(CONDITION_FAILED) | Some("TransactionConflict")
                        )
                    })
            }
        }
    }

    /// A lost race as an answer, any other cancellation as the error it is.
    pub fn done_or_lost(self, what: &'static str) -> StoreResult<bool> {
        match self {
            Commit::Done => Ok(true),
            c if c.lost() => Ok(false),
            _ => Err(StoreError::Aws {
                op: "TransactWriteItems",
                detail: format!("{what}: transaction cancelled"),
            }),
        }
    }
}

/// How the store retries a write that lost a race.
const CONTENDED: Backoff = Backoff::new(MAX_ATTEMPTS as u32);

/// Runs `attempt(n)` (n from 0) until it gives an answer (`Some`), backing off between
/// attempts that lost a race (`None`); gives up with [`StoreError::Contention`]. An error
/// ends the retries at once.
pub async fn retry<T, F, Fut>(what: &'static str, mut attempt: F) -> StoreResult<T>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = StoreResult<Option<T>>>,
{
    crate::runtime::retry::retry(CONTENDED, |n| {
        let tried = attempt(n);
        async move {
            tried
                .await?
                .ok_or(Retry::Again(StoreError::Contention(what)))
        }
    })
    .await
}

/// The pause before retry `retry` (1: the first) of a throttled or contended request.
pub async fn backoff(retry: u32) {
    CONTENDED.pause(retry.saturating_sub(1)).await;
}

/// Sends `first`, then what the table left unprocessed (backing off in between) until
/// nothing is left; the items every answer carried.
async fn drain<R, F, Fut>(first: R, mut send: F) -> StoreResult<Vec<Item>>
where
    F: FnMut(R) -> Fut,
    Fut: std::future::Future<Output = StoreResult<(Vec<Item>, Option<R>)>>,
{
    let (mut found, mut rest) = send(first).await?;
    let mut retries = 0;
    while let Some(req) = rest {
        retries += 1;
        backoff(retries).await;
        let (more, left) = send(req).await?;
        found.extend(more);
        rest = left;
    }
    Ok(found)
}

/// This table's part of a batch answer (keyed by table name).
fn ours<V>(by_table: Option<HashMap<String, V>>, table: &str) -> Option<V> {
    by_table.and_then(|mut m| m.remove(table))
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

// ---------------------------------------------------------------------------------------
// Queries

/// How the sort key of a query is bounded.
#[derive(Debug, Clone)]
enum Range {
    All,
    Prefix(String),
    Between(String, String),
    Below(String),
    AtMost(String),
}

/// One key range of the table or of an index, and how to read it. A cursor handed out for
/// it is accepted back only for the same partition (and prefix).
#[derive(Debug, Clone)]
pub struct Query {
    index: Option<&'static str>,
    pk_attr: &'static str,
    sk_attr: &'static str,
    pk: String,
    range: Range,
    newest_first: bool,
    consistent: bool,
    projection: Option<String>,
    names: Vec<(String, String)>,
    /// What else a cursor's key must hold (an index cursor carries the table key too).
    also: Vec<(&'static str, String, bool)>,
}

impl Query {
    /// The items of a table partition.
    pub fn partition(pk: impl Into<String>) -> Self {
        Query {
            index: None,
            pk_attr: PK,
            sk_attr: SK,
            pk: pk.into(),
            range: Range::All,
            newest_first: false,
            consistent: false,
            projection: None,
            names: Vec::new(),
            also: Vec::new(),
        }
    }
    /// The items of a table partition whose sort key starts with `prefix`.
    pub fn prefix(pk: impl Into<String>, prefix: impl Into<String>) -> Self {
        Query::partition(pk).starting(prefix)
    }
    /// A partition of a global index (`GSI1`, …; attributes `<index>PK` / `<index>SK`).
    pub fn index(index: &'static str, pk: impl Into<String>) -> Self {
        let (pk_attr, sk_attr) = match index {
            super::keys::GSI2 => (super::keys::GSI2PK, super::keys::GSI2SK),
            // A partition key only: its "sort key" is the table's, never used in a range.
            super::keys::GSI3 => (super::keys::GSI3PK, SK),
            _ => (super::keys::GSI1PK, super::keys::GSI1SK),
        };
        Query {
            index: Some(index),
            pk_attr,
            sk_attr,
            ..Query::partition(pk)
        }
    }
    pub fn starting(mut self, prefix: impl Into<String>) -> Self {
        self.range = Range::Prefix(prefix.into());
        self
    }
    /// Sort keys from `lo` to `hi`, both included.
    pub fn between(mut self, lo: impl Into<String>, hi: impl Into<String>) -> Self {
        self.range = Range::Between(lo.into(), hi.into());
        self
    }
    pub fn below(mut self, sk: impl Into<String>) -> Self {
        self.range = Range::Below(sk.into());
        self
    }
    pub fn at_most(mut self, sk: impl Into<String>) -> Self {
        self.range = Range::AtMost(sk.into());
        self
    }
    pub fn newest_first(mut self) -> Self {
        self.newest_first = true;
        self
    }
    pub fn consistent(mut self) -> Self {
        self.consistent = true;
        self
    }
    /// Reads only these attributes; `names` are the placeholders the projection uses.
    pub fn project(mut self, expr: &str, names: &[(&str, &str)]) -> Self {
        self.projection = Some(expr.to_string());
        self.names = names
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self
    }
    /// A cursor must also hold `attr` equal to `value` (or starting with it: `prefix`).
    pub fn cursor_also(
        mut self,
        attr: &'static str,
        value: impl Into<String>,
        prefix: bool,
    ) -> Self {
        self.also.push((attr, value.into(), prefix));
        self
    }

    /// Decodes a cursor handed out for this query; any other is [`StoreError::BadCursor`].
    pub(crate) fn start(&self, cursor: Option<&str>) -> StoreResult<Option<Item>> {
        let Some(cursor) = cursor else {
            return Ok(None);
        };
        let item = cursor::decode(cursor, self.pk_attr, &self.pk)?;
        let text = |attr: &str| item.get(attr).and_then(|v| v.as_s().ok()).cloned();
        let mut expect: Vec<(&str, &str, bool)> = Vec::new();
        if let Range::Prefix(p) = &self.range {
            expect.push((self.sk_attr, p, true));
        }
        expect.extend(self.also.iter().map(|(a, v, p)| (*a, v.as_str(), *p)));
        for (attr, v, prefix) in expect {
            let ok = text(attr).is_some_and(|t| if prefix { t.starts_with(v) } else { t == v });
            if !ok {
                return Err(StoreError::BadCursor);
            }
        }
        Ok(Some(item))
    }
}

impl Store {
    fn query_request(
        &self,
        q: &Query,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let (pk, sk) = (q.pk_attr, q.sk_attr);
        let mut r = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(q.index.map(str::to_string))
            .expression_attribute_values(":pk", s(&q.pk))
            .scan_index_forward(!q.newest_first)
            .set_projection_expression(q.projection.clone());
        if q.consistent {
            r = r.consistent_read(true);
        }
        for (k, v) in &q.names {
            r = r.expression_attribute_names(k, v);
        }
        match &q.range {
            Range::All => r.key_condition_expression(format!("{pk} = :pk")),
            Range::Prefix(p) => r
                .key_condition_expression(format!("{pk} = :pk AND begins_with({sk}, :prefix)"))
                .expression_attribute_values(":prefix", s(p)),
            Range::Between(lo, hi) => r
                .key_condition_expression(format!("{pk} = :pk AND {sk} BETWEEN :lo AND :hi"))
                .expression_attribute_values(":lo", s(lo))
                .expression_attribute_values(":hi", s(hi)),
            Range::Below(v) => r
                .key_condition_expression(format!("{pk} = :pk AND {sk} < :sk"))
                .expression_attribute_values(":sk", s(v)),
            Range::AtMost(v) => r
                .key_condition_expression(format!("{pk} = :pk AND {sk} <= :sk"))
                .expression_attribute_values(":sk", s(v)),
        }
    }

    /// One `Query`: up to `limit` raw items from `start`, and the key to go on from.
    pub(crate) async fn query_items(
        &self,
        q: &Query,
        limit: Option<i32>,
        start: Option<Item>,
    ) -> StoreResult<(Vec<Item>, Option<Item>)> {
        let out = self
            .query_request(q)
            .set_limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| StoreError::aws("Query", &e))?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }

    /// One `Query` read as `T`, with the raw key to go on from.
    pub(crate) async fn query_page<T: DeserializeOwned>(
        &self,
        q: &Query,
        limit: i32,
        start: Option<Item>,
    ) -> StoreResult<(Vec<T>, Option<Item>)> {
        let (items, last) = self.query_items(q, Some(limit.max(1)), start).await?;
        Ok((read_all(items)?, last))
    }

    /// A page of `T`: one `Query` from `cursor` (one this query handed out, or
    /// [`StoreError::BadCursor`]), and the cursor of the next page (`None`: the last one).
    pub(crate) async fn page<T: DeserializeOwned>(
        &self,
        q: &Query,
        limit: i32,
        cursor: Option<&str>,
    ) -> StoreResult<(Vec<T>, Option<String>)> {
        let (items, last) = self
            .query_items(q, Some(limit.max(1)), q.start(cursor)?)
            .await?;
        Ok((read_all(items)?, cursor::encode(last.as_ref())))
    }

    /// Every item of a key range, all pages. Only for ranges a plan or a fixed cap keeps
    /// small (a tenant's keys, devices, rules, members; a batch of recipients).
    pub(crate) async fn query_all<T: DeserializeOwned>(&self, q: Query) -> StoreResult<Vec<T>> {
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let (items, last) = self.query_items(&q, None, start).await?;
            all.extend(read_all(items)?);
            start = last;
            if start.is_none() {
                return Ok(all);
            }
        }
    }

    /// Every item of partition `pk` under `prefix`, all pages, strongly consistent.
    pub(crate) fn query_prefix_all<'a, T: DeserializeOwned + 'a>(
        &'a self,
        pk: impl Into<String>,
        prefix: impl Into<String>,
    ) -> impl std::future::Future<Output = StoreResult<Vec<T>>> + 'a {
        self.query_all(Query::prefix(pk, prefix).consistent())
    }

    // -----------------------------------------------------------------------------------
    // Single items

    /// An item, strongly consistent.
    pub(crate) fn get<'a, T: DeserializeOwned + 'a>(
        &'a self,
        pk: &'a str,
        sk: &'a str,
    ) -> impl std::future::Future<Output = StoreResult<Option<T>>> + 'a {
        self.get_with(pk, sk, true, None)
    }

    /// An item, eventually consistent when `consistent` is false, only the attributes of
    /// `projection` when there is one.
    pub(crate) async fn get_with<T: DeserializeOwned>(
        &self,
        pk: &str,
        sk: &str,
        consistent: bool,
        projection: Option<&str>,
    ) -> StoreResult<Option<T>> {
        let mut r = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .set_projection_expression(projection.map(str::to_string));
        if consistent {
            r = r.consistent_read(true);
        }
        let out = r.send().await.map_err(|e| StoreError::aws("GetItem", &e))?;
        out.item.map(from_item).transpose()
    }

    /// Writes an item whatever is there.
    pub(crate) async fn put(&self, item: Item) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| StoreError::aws("PutItem", &e))?;
        Ok(())
    }

    /// Writes an item if `cond` holds. `false`: it did not (nothing written).
    pub(crate) async fn put_if(&self, item: Item, cond: Cond) -> StoreResult<bool> {
        Ok(self.put_if_written(item, cond).await?.applied())
    }

    /// [`Store::put_if`] that answers [`Written`]: with [`Cond::returning_old`], a refusal
    /// carries the item that was there (no read needed to tell whose it is).
    pub(crate) async fn put_if_written(&self, item: Item, cond: Cond) -> StoreResult<Written> {
        use aws_sdk_dynamodb::operation::put_item::PutItemError;
        let r = self.client.put_item().table_name(&self.table);
        match conditioned!(r.set_item(Some(item)), cond).send().await {
            Ok(_) => Ok(Written::Applied(Item::new())),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => {
                    Ok(Written::Refused(c.item.clone().filter(|i| !i.is_empty())))
                }
                _ => Err(StoreError::aws("PutItem", &e)),
            },
        }
    }

    /// One `UpdateItem`. A failed condition is an answer ([`Written::Refused`]), not an
    /// error; `returns` says what an applied update answers with.
    pub(crate) async fn update_if(
        &self,
        pk: &str,
        sk: &str,
        expr: &str,
        cond: Cond,
        returns: Returns,
    ) -> StoreResult<Written> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        let r = self.client.update_item().table_name(&self.table);
        let r = r.set_key(Some(key(pk, sk))).update_expression(expr);
        let out = conditioned!(r.set_return_values(returns.0), cond)
            .send()
            .await;
        match out {
            Ok(out) => Ok(Written::Applied(out.attributes.unwrap_or_default())),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => {
                    Ok(Written::Refused(c.item.clone().filter(|i| !i.is_empty())))
                }
                _ => Err(StoreError::aws("UpdateItem", &e)),
            },
        }
    }

    /// Deletes an item if `cond` holds (always without one). `false`: it did not.
    pub(crate) async fn delete_if(
        &self,
        pk: &str,
        sk: &str,
        cond: Option<Cond>,
    ) -> StoreResult<bool> {
        let r = self.client.delete_item().table_name(&self.table);
        let r = r.set_key(Some(key(pk, sk)));
        let out = conditioned!(r, cond.unwrap_or_default()).send().await;
        held("DeleteItem", out)
    }

    // -----------------------------------------------------------------------------------
    // Many items

    /// Runs one transaction. A cancellation is an answer (`Commit::Cancelled`), not an error.
    pub(crate) async fn commit(&self, items: Vec<TransactWriteItem>) -> StoreResult<Commit> {
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
                            .map(|r| Cancellation {
                                code: r.code().map(str::to_string).filter(|c| c != "None"),
                                old: r.item.clone().filter(|i| !i.is_empty()),
                            })
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

    /// Reads items by key, any number of them (repeats read once), in batches of 100
    /// (unprocessed keys retried).
    pub(crate) fn batch_get<'a>(
        &'a self,
        keys: &'a [(String, String)],
        consistent: bool,
    ) -> impl std::future::Future<Output = StoreResult<Vec<Item>>> + 'a {
        self.batch_get_with(keys, consistent, None)
    }

    /// [`Store::batch_get`] read as `T`, strongly consistent.
    pub(crate) async fn batch_get_as<T: DeserializeOwned>(
        &self,
        keys: impl IntoIterator<Item = (String, String)>,
    ) -> StoreResult<Vec<T>> {
        let keys: Vec<(String, String)> = keys.into_iter().collect();
        read_all(self.batch_get_with(&keys, true, None).await?)
    }

    /// [`Store::batch_get`] reading only the attributes of `projection`.
    pub(crate) async fn batch_get_with(
        &self,
        keys: &[(String, String)],
        consistent: bool,
        projection: Option<&str>,
    ) -> StoreResult<Vec<Item>> {
        // A request naming a key twice is refused.
        let mut seen = std::collections::HashSet::new();
        let keys: Vec<&(String, String)> = keys.iter().filter(|k| seen.insert(*k)).collect();
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(MAX_BATCH_GET) {
            let mut request = KeysAndAttributes::builder()
                .set_projection_expression(projection.map(str::to_string));
            if consistent {
                request = request.consistent_read(true);
            }
            for (pk, sk) in chunk {
                request = request.keys(key(pk, sk));
            }
            let table = self.table.as_str();
            let got = drain(built(request.build())?, |req| async move {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(table, req)
                    .send()
                    .await
                    .map_err(|e| StoreError::aws("BatchGetItem", &e))?;
                let rest = ours(out.unprocessed_keys, table).filter(|k| !k.keys.is_empty());
                Ok((ours(out.responses, table).unwrap_or_default(), rest))
            })
            .await?;
            found.extend(got);
        }
        Ok(found)
    }

    /// Deletes items by key (not atomically: for idempotent clean-up only).
    pub(crate) async fn batch_delete(&self, keys: &[(String, String)]) -> StoreResult<()> {
        for chunk in keys.chunks(MAX_BATCH_WRITE) {
            let requests = chunk
                .iter()
                .map(|(pk, sk)| {
                    built(DeleteRequest::builder().set_key(Some(key(pk, sk))).build())
                        .map(|d| WriteRequest::builder().delete_request(d).build())
                })
                .collect::<StoreResult<Vec<_>>>()?;
            let table = self.table.as_str();
            drain(requests, |req| async move {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(table, req)
                    .send()
                    .await
                    .map_err(|e| StoreError::aws("BatchWriteItem", &e))?;
                let rest = ours(out.unprocessed_items, table).filter(|r| !r.is_empty());
                Ok((Vec::new(), rest))
            })
            .await?;
        }
        Ok(())
    }

    /// Ready when the table answers: one `GetItem` of a key that holds nothing.
    pub async fn health(&self) -> StoreResult<()> {
        self.get_with::<serde::de::IgnoredAny>("HEALTH", "HEALTH", false, None)
            .await
            .map(|_| ())
    }
}

/// What an applied update answers with.
#[derive(Debug, Clone)]
pub struct Returns(Option<ReturnValue>);

impl Returns {
    pub const NOTHING: Returns = Returns(None);
    /// The whole item after the update.
    pub const NEW: Returns = Returns(Some(ReturnValue::AllNew));
    /// The whole item before the update.
    pub const OLD: Returns = Returns(Some(ReturnValue::AllOld));
    /// The updated attributes, after the update.
    pub const UPDATED: Returns = Returns(Some(ReturnValue::UpdatedNew));
}

/// How a conditional write ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// Applied: the attributes [`Returns`] asked for (empty when none).
    Applied(Item),
    /// The condition failed: the item as it was when the condition asked for it with
    /// [`Cond::returning_old`] (`None`: not asked, or no such item).
    Refused(Option<Item>),
}

impl Written {
    pub fn applied(&self) -> bool {
        matches!(self, Written::Applied(_))
    }
    /// The applied update's attributes as `T`; `None` when refused.
    pub fn new_as<T: DeserializeOwned>(self) -> StoreResult<Option<T>> {
        match self {
            Written::Applied(item) => from_item(item).map(Some),
            Written::Refused(_) => Ok(None),
        }
    }
}

/// Opaque pagination cursors: the `LastEvaluatedKey` of a query, base64url-encoded JSON.
/// A cursor is only accepted for the partition it came from, so it cannot be used to read
/// another tenant's items.
pub mod cursor {
    use super::super::{s, Item, StoreError, StoreResult};
    use base64::Engine;
    use std::collections::HashMap;

    pub fn encode(last_key: Option<&Item>) -> Option<String> {
        let key = last_key?;
        let flat: HashMap<&str, &str> = key
            .iter()
            .filter_map(|(k, v)| v.as_s().ok().map(|s| (k.as_str(), s.as_str())))
            .collect();
        let json = serde_json::to_vec(&flat).ok()?;
        Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json))
    }

    /// Decodes a cursor and checks that `partition_attr` holds `partition`.
    pub fn decode(cursor: &str, partition_attr: &str, partition: &str) -> StoreResult<Item> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor.trim())
            .map_err(|_| StoreError::BadCursor)?;
        let flat: HashMap<String, String> =
            serde_json::from_slice(&bytes).map_err(|_| StoreError::BadCursor)?;
        if flat.get(partition_attr).map(String::as_str) != Some(partition) || flat.len() > 4 {
            return Err(StoreError::BadCursor);
        }
        Ok(flat.into_iter().map(|(k, v)| (k, s(v))).collect())
    }
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
    fn cursors_round_trip_and_stay_in_their_partition() {
        let mut key = Item::new();
        key.insert("PK".into(), s("TENANT#a"));
        key.insert("SK".into(), s("KEY#1"));
        let c = cursor::encode(Some(&key)).unwrap_or_default();
        assert_eq!(cursor::decode(&c, "PK", "TENANT#a").ok(), Some(key));
        assert!(cursor::decode(&c, "PK", "TENANT#b").is_err());
        assert!(cursor::decode("not base64!", "PK", "TENANT#a").is_err());
        assert_eq!(cursor::encode(None), None);
    }

    #[test]
    fn cursors_stay_in_their_range() {
        let mut k = Item::new();
        k.insert("PK".into(), s("T#a#PHONES"));
        k.insert("SK".into(), s("PHONE#92300"));
        let c = cursor::encode(Some(&k));
        let start = |q: Query| q.start(c.as_deref()).map(|i| i.is_some());
        assert!(matches!(
            start(Query::prefix("T#a#PHONES", "PHONE#923")),
            Ok(true)
        ));
        assert!(matches!(
            start(Query::prefix("T#a#PHONES", "PHONE#1")),
            Err(StoreError::BadCursor)
        ));
        assert!(matches!(
            start(Query::partition("T#b#PHONES")),
            Err(StoreError::BadCursor)
        ));
        assert!(matches!(Query::partition("x").start(None), Ok(None)));
        assert!(matches!(
            Query::partition("x").start(Some("garbage")),
            Err(StoreError::BadCursor)
        ));
    }
}
