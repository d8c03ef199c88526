//! DynamoDB access. One table, generic `PK`/`SK` plus `GSI1PK`/`GSI1SK`; the key layout of
//! every item lives in [`keys`], and `docs/data-model.md` lists each access pattern.
//! No request path scans; every read is a `GetItem`, a `Query` on a key, or a batch of them.

pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod auto_replies;
pub mod campaigns;
pub mod contact_jobs;
pub mod contact_lists;
pub mod contacts;
pub mod conversations;
pub mod devices;
pub mod inbox;
pub mod keys;
pub mod messages;
pub mod settings;
pub mod table;
pub mod team;
pub mod templates;
pub mod tenants;
pub mod usage;
pub mod users;
pub mod webhooks;

pub use table::cursor;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

/// How many times an optimistic write is retried when another writer got there first.
pub(crate) const MAX_ATTEMPTS: usize = 5;

/// The table, reached only through the toolkit in [`table`].
#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
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

    /// Opens the connection to DynamoDB (TLS handshake, credentials) during a Lambda's
    /// init, so the first request does not pay for it: one eventually consistent `GetItem`
    /// of a key no item has (half a read unit per cold start). Its answer does not matter.
    pub async fn warm_up(&self) -> StoreResult<()> {
        self.get_with::<serde_json::Value>(WARM_UP_KEY, WARM_UP_KEY, false, Some("PK"))
            .await
            .map(drop)
    }
}

/// The key [`Store::warm_up`] reads: no item is ever stored under it.
const WARM_UP_KEY: &str = "WARMUP";

/// Our ids are UUIDs written in their canonical (hyphenated, lower-case) form: anything else
/// cannot name an item, so it is answered "not found" without a read.
pub(crate) fn is_id(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok_and(|u| u.hyphenated().to_string() == id)
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
