//! Records written straight into the store, for states the API cannot reach on its own
//! (a worker that died half-way, a message still pending, a customer's earlier message).

use crate::app::{Tenant, TestApp, TestOptions};
use crate::fake_meta::FakeMeta;
use crate::shared::store::{
    Campaign, Conversation, Direction, HistoryEntry, Message, MessageSource, RecordInbound,
};
use crate::shared::{inbound_message_id, MessageStatus};
use crate::wait::eventually;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::time::Duration;

/// A text message with nothing sent, delivered or failed yet.
#[allow(clippy::too_many_arguments)]
pub fn text_message(
    id: &str,
    tenant_id: &str,
    direction: Direction,
    peer: &str,
    text: &str,
    status: MessageStatus,
    source: MessageSource,
    at: DateTime<Utc>,
) -> Message {
    Message::text(
        id.to_string(),
        tenant_id.to_string(),
        direction,
        peer.to_string(),
        Some(text.to_string()),
        status,
        source,
        at,
    )
}

/// An outbound text the send flow recorded as pending (the provider may or may not have it).
pub fn pending_text(
    id: &str,
    tenant_id: &str,
    peer: &str,
    text: &str,
    source: MessageSource,
    at: DateTime<Utc>,
) -> Message {
    text_message(
        id,
        tenant_id,
        Direction::Out,
        peer,
        text,
        MessageStatus::Pending,
        source,
        at,
    )
}

impl TestApp {
    /// Stores an outbound message as the send flow's first step does (`now_epoch` as the
    /// store's clock).
    pub async fn store_outbound(&self, message: &Message, now_epoch: i64) {
        self.state
            .store
            .create_outbound(message, None, now_epoch)
            .await
            .unwrap_or_else(|e| panic!("storing {}: {e}", message.id));
    }

    /// The customer `peer` wrote to the device just now, recorded as the inbound pipeline
    /// records it (message and conversation), so free-form sends to them pass WhatsApp's
    /// 24-hour window.
    pub async fn open_window(&self, tenant_id: &str, device_id: &str, peer: &str) {
        self.customer_wrote_at(tenant_id, device_id, peer, self.clock.now())
            .await;
    }

    /// A pro tenant with a Cloud API device on `fake` whose customer `peer` wrote just now,
    /// so free-form sends to them are inside the 24-hour window: the tenant and the device id.
    pub async fn cloud_sender(
        &self,
        fake: &FakeMeta,
        phone_number_id: &str,
        token: &str,
        peer: &str,
    ) -> (Tenant, String) {
        let tenant = self.tenant("pro").await;
        let device = tenant.cloud_device(fake, phone_number_id, token).await;
        self.open_window(&tenant.id, &device, peer).await;
        (tenant, device)
    }

    /// The customer `peer` wrote to the device at `at`.
    pub async fn customer_wrote_at(
        &self,
        tenant_id: &str,
        device_id: &str,
        peer: &str,
        at: DateTime<Utc>,
    ) {
        let wamid = format!("wamid.window.{}", uuid::Uuid::new_v4().simple());
        self.record_customer_message(
            tenant_id,
            device_id,
            peer,
            &wamid,
            "hello",
            at,
            self.clock.now(),
        )
        .await;
    }

    /// Stores a customer's text message and its conversation as the inbound worker's first
    /// step does (claimed for answering at `stored_at`), and nothing else. Returns its id.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_customer_message(
        &self,
        tenant_id: &str,
        device_id: &str,
        peer: &str,
        wamid: &str,
        text: &str,
        at: DateTime<Utc>,
        stored_at: DateTime<Utc>,
    ) -> String {
        let store = &self.state.store;
        let now = stored_at;
        for _ in 0..5 {
            let prev = store
                .get_conversation(tenant_id, device_id, peer)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let id = inbound_message_id(tenant_id, wamid, at);
            let mut message = text_message(
                &id,
                tenant_id,
                Direction::In,
                peer,
                text,
                MessageStatus::Received,
                MessageSource::Inbound,
                now,
            );
            message.device_id = Some(device_id.into());
            message.wa_message_id = Some(wamid.to_string());
            message.sent_at = Some(at);
            let next = Conversation::after_inbound(prev.as_ref(), &message, at, None, None, now);
            let recorded = store
                .record_inbound(&message, &json!({}), &next, prev.as_ref(), now)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            if recorded == RecordInbound::Recorded {
                return id;
            }
        }
        panic!("could not record the customer's message");
    }
}

impl TestApp {
    /// Every item of one table partition, read raw and consistently.
    pub async fn partition(
        &self,
        pk: &str,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        self.state
            .aws
            .dynamo
            .query()
            .table_name(&self.state.config.table_name)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(
                ":pk",
                aws_sdk_dynamodb::types::AttributeValue::S(pk.to_string()),
            )
            .consistent_read(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("query {pk}: {e:?}"))
            .items
            .unwrap_or_default()
    }

    /// Writes one raw item (to recreate data written by older versions).
    pub async fn put_raw(
        &self,
        item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    ) {
        self.state
            .aws
            .dynamo
            .put_item()
            .table_name(&self.state.config.table_name)
            .set_item(Some(item))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put: {e:?}"));
    }

    /// Deletes every item of one table partition (to recreate data written by older versions).
    pub async fn delete_partition(&self, pk: &str) {
        use aws_sdk_dynamodb::types::AttributeValue;
        for item in self.partition(pk).await {
            self.state
                .aws
                .dynamo
                .delete_item()
                .table_name(&self.state.config.table_name)
                .key("PK", item["PK"].clone())
                .key(
                    "SK",
                    item.get("SK")
                        .cloned()
                        .unwrap_or(AttributeValue::Null(true)),
                )
                .send()
                .await
                .unwrap_or_else(|e| panic!("delete from {pk}: {e:?}"));
        }
    }

    /// How many items one table partition holds.
    pub async fn count_partition(&self, pk: &str) -> usize {
        self.partition(pk).await.len()
    }
}

impl TestApp {
    /// One table item, read raw and consistently; panics when it is not there.
    pub async fn item(
        &self,
        pk: &str,
        sk: &str,
    ) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
        self.find_item(pk, sk)
            .await
            .unwrap_or_else(|| panic!("no item {pk} {sk}"))
    }

    /// One table item, read raw and consistently, if it is there (yet).
    pub async fn find_item(
        &self,
        pk: &str,
        sk: &str,
    ) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        use aws_sdk_dynamodb::types::AttributeValue;
        self.state
            .aws
            .dynamo
            .get_item()
            .table_name(&self.state.config.table_name)
            .key("PK", AttributeValue::S(pk.to_string()))
            .key("SK", AttributeValue::S(sk.to_string()))
            .consistent_read(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get {pk} {sk}: {e:?}"))
            .item
    }
}

impl TestApp {
    /// The outbound message items of a tenant, straight from the table (a test-only scan):
    /// the customer's own messages (an open window) are not sends.
    pub async fn stored_outbound(
        &self,
        tenant_id: &str,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        use aws_sdk_dynamodb::types::AttributeValue;
        self.state
            .aws
            .dynamo
            .scan()
            .table_name(&self.state.config.table_name)
            .filter_expression("begins_with(PK, :p) AND direction = :out")
            .expression_attribute_values(
                ":p",
                AttributeValue::S(format!("TENANT#{tenant_id}#MSG#")),
            )
            .expression_attribute_values(":out", AttributeValue::S("out".into()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("scan: {e:?}"))
            .items
            .unwrap_or_default()
    }
}

impl TestApp {
    /// The messages exchanged with `peer` (all devices), oldest first.
    pub async fn history(&self, tenant_id: &str, peer: &str) -> Vec<HistoryEntry> {
        let mut h = self
            .state
            .store
            .conversation_history(tenant_id, peer, 100)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        h.reverse();
        h
    }

    /// The texts sent to `peer`, oldest first.
    pub async fn sent_texts(&self, tenant_id: &str, peer: &str) -> Vec<String> {
        self.history(tenant_id, peer)
            .await
            .into_iter()
            .filter(|e| e.direction == Direction::Out)
            .map(|e| e.text.expect("a text reply"))
            .collect()
    }

    /// [`TestApp::sent_texts`] once there are at least `n` of them.
    pub async fn wait_sent_texts(&self, tenant_id: &str, peer: &str, n: usize) -> Vec<String> {
        eventually(
            &format!("{n} messages to {peer}"),
            Duration::from_secs(20),
            || async {
                let out = self.sent_texts(tenant_id, peer).await;
                (out.len() >= n).then_some(out)
            },
        )
        .await
    }

    /// The stored conversation of a device with `peer`; panics when there is none.
    pub async fn conversation(&self, tenant_id: &str, device_id: &str, peer: &str) -> Conversation {
        self.state
            .store
            .get_conversation(tenant_id, device_id, peer)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no conversation with {peer}"))
    }
}

impl TestApp {
    /// The stored message with WhatsApp's id `wamid`, if there is one (yet).
    pub async fn stored_message(&self, tenant_id: &str, wamid: &str) -> Option<Message> {
        self.state
            .store
            .find_message_by_wamid(tenant_id, wamid)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The message with WhatsApp's id `wamid`, once it is stored (within `within`).
    pub async fn wait_stored(&self, tenant_id: &str, wamid: &str, within: Duration) -> Message {
        eventually(&format!("message {wamid}"), within, || {
            self.stored_message(tenant_id, wamid)
        })
        .await
    }
}

impl TestApp {
    /// A stored campaign; panics when there is none.
    pub async fn campaign_record(&self, tenant_id: &str, id: &str) -> Campaign {
        self.state
            .store
            .get_campaign(tenant_id, id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("campaign {id} not found"))
    }
}

impl TestApp {
    /// A secret's value from Secrets Manager; `None` when it cannot be read (deleted).
    pub async fn secret(&self, name: &str) -> Option<String> {
        self.state
            .aws
            .secrets
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .ok()
            .map(|s| s.secret_string().expect("a string secret").to_string())
    }
}

/// [`TestApp::cloud_sender`] with what it runs on: the app, the fake Graph API, the tenant
/// and its device.
pub struct CloudSender {
    pub app: TestApp,
    pub fake: FakeMeta,
    pub tenant: Tenant,
    pub device: String,
}

impl CloudSender {
    /// An app on `opts` with a cloud sender on `fake` whose customer `peer` wrote just now.
    pub async fn start(
        fake: FakeMeta,
        opts: TestOptions,
        phone_number_id: &str,
        token: &str,
        peer: &str,
    ) -> CloudSender {
        let app = TestApp::start_with(opts).await;
        let (tenant, device) = app.cloud_sender(&fake, phone_number_id, token, peer).await;
        CloudSender {
            app,
            fake,
            tenant,
            device,
        }
    }
}
