//! DynamoDB access. One table, generic `PK`/`SK` plus `GSI1PK`/`GSI1SK`; the key layout of
//! every item lives in [`keys`], and `docs/data-model.md` lists each access pattern.
//! No request path scans; every read is a `GetItem`, a `Query` on a key, or a batch of them.

pub mod api_keys;
pub mod auto_replies;
pub mod batch;
pub mod campaigns;
pub mod contact_lists;
pub mod contacts;
pub mod conversations;
pub mod devices;
pub mod keys;
pub mod messages;
pub mod team;
pub mod tenants;
pub mod usage;
pub mod webhooks;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use base64::Engine;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

/// How many times an optimistic write is retried when another writer got there first.
pub(crate) const MAX_ATTEMPTS: usize = 5;

#[derive(Clone, Debug)]
pub struct Store {
    pub client: Client,
    pub table: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB {op} failed: {detail}")]
    Aws { op: &'static str, detail: String },
    #[error("stored item could not be read: {0}")]
    Corrupt(String),
    #[error("{0}: too many concurrent writers, gave up")]
    Contention(&'static str),
    /// A pagination cursor that is not one this listing handed out (a client error).
    #[error("invalid cursor")]
    BadCursor,
}

impl StoreError {
    pub fn aws<E, R>(op: &'static str, e: &SdkError<E, R>) -> Self
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        StoreError::Aws {
            op,
            detail: DisplayErrorContext(e).to_string(),
        }
    }
}

impl From<serde_dynamo::Error> for StoreError {
    fn from(e: serde_dynamo::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

impl Store {
    pub fn new(client: Client, table: String) -> Self {
        Store { client, table }
    }

    /// A query of the items of partition `pk` whose sort key starts with `prefix`; the
    /// caller adds paging, order, consistency and projection.
    pub(crate) fn query_prefix(
        &self,
        pk: impl Into<String>,
        prefix: impl Into<String>,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(prefix))
    }

    /// Every item of partition `pk` under `prefix`, all pages, strongly consistent. Only for
    /// sets a plan or a fixed cap keeps small (a tenant's keys, devices, rules, members).
    pub(crate) async fn query_prefix_all<T: serde::de::DeserializeOwned>(
        &self,
        pk: impl Into<String>,
        prefix: impl Into<String>,
    ) -> StoreResult<Vec<T>> {
        let (pk, prefix) = (pk.into(), prefix.into());
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .query_prefix(&pk, &prefix)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::aws("Query", &e))?;
            for item in out.items.unwrap_or_default() {
                all.push(from_item(item)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(all);
            }
        }
    }
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn to_item<T: serde::Serialize>(v: &T) -> StoreResult<Item> {
    Ok(serde_dynamo::to_item(v)?)
}

pub(crate) fn from_item<T: serde::de::DeserializeOwned>(item: Item) -> StoreResult<T> {
    Ok(serde_dynamo::from_item(item)?)
}

/// True when a transaction was cancelled because one of its conditions failed or another
/// transaction touched the same items: both mean "read again and retry".
/// The index of the first transaction item whose condition failed, if that is why the
/// transaction was cancelled.
pub(crate) fn failed_condition_index<R>(
    e: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> Option<usize> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match e.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(c) => c
            .cancellation_reasons
            .as_deref()?
            .iter()
            .position(|r| r.code() == Some("ConditionalCheckFailed")),
        _ => None,
    }
}

pub(crate) fn transaction_lost<R>(
    e: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> bool {
    let Some(se) = e.as_service_error() else {
        return false;
    };
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match se {
        TransactWriteItemsError::TransactionCanceledException(c) => {
            c.cancellation_reasons.as_deref().is_some_and(|reasons| {
                reasons.iter().any(|r| {
                    matches!(
                        r.code(),
                        Some("ConditionalCheckFailed") | Some("TransactionConflict")
                    )
                })
            })
        }
        _ => se.code() == Some("TransactionConflictException"),
    }
}

/// For a cancelled transaction whose write at `index` failed its condition:
/// `Some(the item as it was, if returned)`; `None` for any other error.
pub(crate) fn cancelled_item<R>(
    e: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        R,
    >,
    index: usize,
) -> Option<Option<Item>> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
            let reason = c.cancellation_reasons.as_deref()?.get(index)?;
            (reason.code() == Some("ConditionalCheckFailed"))
                .then(|| reason.item.clone().filter(|i| !i.is_empty()))
        }
        _ => None,
    }
}

/// Opaque pagination cursors: the `LastEvaluatedKey` of a query, base64url-encoded JSON.
/// A cursor is only accepted for the partition it came from, so it cannot be used to read
/// another tenant's items.
pub mod cursor {
    use super::*;

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
        let bad = || StoreError::BadCursor;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor.trim())
            .map_err(|_| bad())?;
        let flat: HashMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if flat.get(partition_attr).map(String::as_str) != Some(partition) || flat.len() > 4 {
            return Err(bad());
        }
        Ok(flat.into_iter().map(|(k, v)| (k, s(v))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
