//! Devices: `TENANT#<id>` / `DEVICE#<deviceId>`, plus for Cloud API devices a
//! `PHONENUMBER#<phoneNumberId>` item that keeps the number unique within the tenant and
//! maps it back to the device. Credentials are never here: only the name of the device's
//! Secrets Manager secret. A WhatsApp Web device also names its WAHA session (and the
//! tenant's own gateway, if it brought one); `GATEWAYEVENT#<tenantId>#<eventId>` items
//! (with a TTL) remember the gateway's webhook events already taken.

use super::keys::*;
use super::table::{self, keyed, Commit, Cond, Returns, Written};
use super::usage::{release_in_transaction, reserve_in_transaction};
use super::{from_item, s, to_item, Item, Store, StoreError, StoreResult};
use crate::domain::devices::{DeviceStatus, ProviderKind};
use crate::domain::quota::Limit;
use crate::domain::time;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub provider: ProviderKind,
    pub device_status: DeviceStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waba_id: Option<String>,
    /// The Secrets Manager secret with the provider credentials (Cloud API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// WhatsApp Web: the WAHA session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// WhatsApp Web: the tenant's own gateway (its API key is in the device's secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_base_url: Option<String>,
    /// WhatsApp Web: the paired number, digits, once connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
}

impl Device {
    pub fn is_connected(&self) -> bool {
        self.device_status == DeviceStatus::Connected
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneNumberItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    device_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateDeviceOutcome {
    Created,
    /// Another device of the tenant already uses this phone number id.
    PhoneNumberTaken {
        device_id: String,
    },
    /// The plan's device cap is reached.
    LimitReached {
        cap: u32,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GatewayEventItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    expires_at: i64,
}

fn device_item(d: &Device) -> StoreResult<Item> {
    keyed(d, tenant_pk(&d.tenant_id), device_sk(&d.id))
}

impl Store {
    /// Writes a new device, its phone-number item (Cloud API) and one unit of the tenant's
    /// device cap, atomically.
    pub async fn create_device(
        &self,
        d: &Device,
        cap: Option<u32>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<CreateDeviceOutcome> {
        let new = || Cond::absent();
        let mut writes = vec![
            reserve_in_transaction(&self.table, &d.tenant_id, Limit::Devices, cap, now)?,
            table::put(&self.table, device_item(d)?, Some(new()))?,
        ];
        if let Some(phone) = &d.phone_number_id {
            let marker = PhoneNumberItem {
                pk: tenant_pk(&d.tenant_id),
                sk: phone_number_sk(phone),
                device_id: d.id.clone(),
            };
            let taken = new().returning_old();
            writes.push(table::put(&self.table, to_item(&marker)?, Some(taken))?);
        }
        let writes = &writes;
        table::retry("create device", |_| async move {
            let commit = self.commit(writes.clone()).await?;
            if commit == Commit::Done {
                return Ok(Some(CreateDeviceOutcome::Created));
            }
            if let (true, Some(cap)) = (commit.condition_failed_at(0), cap) {
                return Ok(Some(CreateDeviceOutcome::LimitReached { cap }));
            }
            if let Some(old) = commit.old_at(2) {
                let device_id = old
                    .map(from_item::<PhoneNumberItem>)
                    .transpose()?
                    .map(|m| m.device_id)
                    .unwrap_or_default();
                return Ok(Some(CreateDeviceOutcome::PhoneNumberTaken { device_id }));
            }
            commit.done_or_lost("create device").map(|_| None)
        })
        .await
    }

    pub async fn get_device(
        &self,
        tenant_id: &str,
        device_id: &str,
    ) -> StoreResult<Option<Device>> {
        self.get(&tenant_pk(tenant_id), &device_sk(device_id)).await
    }

    /// The device that holds a Cloud API phone number id in this tenant (how Meta's
    /// webhooks find their device).
    pub async fn device_id_for_phone_number(
        &self,
        tenant_id: &str,
        phone_number_id: &str,
    ) -> StoreResult<Option<String>> {
        Ok(self
            .get::<PhoneNumberItem>(&tenant_pk(tenant_id), &phone_number_sk(phone_number_id))
            .await?
            .map(|m| m.device_id))
    }

    /// Sets a device's status (and the paired number, when known). `None`: no such device;
    /// otherwise whether anything changed.
    pub async fn set_device_status(
        &self,
        tenant_id: &str,
        device_id: &str,
        status: DeviceStatus,
        phone: Option<&str>,
    ) -> StoreResult<Option<bool>> {
        let (expr, mut cond) = match phone {
            Some(_) => (
                "SET deviceStatus = :st, phone = :ph",
                Cond::new("attribute_exists(PK) AND (deviceStatus <> :st OR attribute_not_exists(phone) OR phone <> :ph)"),
            ),
            None => (
                "SET deviceStatus = :st",
                Cond::new("attribute_exists(PK) AND deviceStatus <> :st"),
            ),
        };
        cond = cond.value(":st", s(status.as_str()));
        if let Some(p) = phone {
            cond = cond.value(":ph", s(p));
        }
        let (pk, sk) = (tenant_pk(tenant_id), device_sk(device_id));
        match self
            .update_if(&pk, &sk, expr, cond, Returns::NOTHING)
            .await?
        {
            Written::Applied(_) => Ok(Some(true)),
            Written::Refused(_) => Ok(self.get::<Device>(&pk, &sk).await?.map(|_| false)),
        }
    }

    /// Takes a gateway webhook event by its id: `false` when it was taken before (WAHA
    /// retries and repeats events). Remembered for a week.
    pub async fn take_gateway_event(
        &self,
        tenant_id: &str,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let item = GatewayEventItem {
            pk: format!("GATEWAYEVENT#{tenant_id}#{event_id}"),
            sk: "EVENT".into(),
            expires_at: now.timestamp() + 7 * 86_400,
        };
        self.put_if(to_item(&item)?, Cond::absent()).await
    }

    /// Gives an event id back (handling it failed, so the gateway's retry must be taken).
    pub async fn forget_gateway_event(&self, tenant_id: &str, event_id: &str) -> StoreResult<()> {
        self.delete_if(
            &format!("GATEWAYEVENT#{tenant_id}#{event_id}"),
            "EVENT",
            None,
        )
        .await
        .map(drop)
    }

    /// A tenant's devices, oldest first. Bounded by the plan's device cap.
    pub async fn list_devices(&self, tenant_id: &str) -> StoreResult<Vec<Device>> {
        self.query_prefix_all(tenant_pk(tenant_id), DEVICE_PREFIX)
            .await
    }

    /// The device a send uses when none is named: the tenant's oldest connected device.
    pub async fn first_connected_device(&self, tenant_id: &str) -> StoreResult<Option<Device>> {
        Ok(self
            .list_devices(tenant_id)
            .await?
            .into_iter()
            .find(Device::is_connected))
    }

    /// Removes a device and its phone-number item and gives its unit of the device cap
    /// back. `false` if it was already gone.
    pub async fn delete_device(
        &self,
        d: &Device,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<bool> {
        let pk = tenant_pk(&d.tenant_id);
        let mut writes = vec![
            table::delete(&self.table, &pk, &device_sk(&d.id), Some(Cond::exists()))?,
            release_in_transaction(&self.table, &d.tenant_id, Limit::Devices, now)?,
        ];
        if let Some(phone) = &d.phone_number_id {
            writes.push(table::delete(
                &self.table,
                &pk,
                &phone_number_sk(phone),
                Some(
                    Cond::new("attribute_not_exists(PK) OR deviceId = :id").value(":id", s(&d.id)),
                ),
            )?);
        }
        let commit = self.commit(writes).await?;
        if commit.condition_failed_at(0) {
            return Ok(false);
        }
        commit.done_or_lost("delete device").and_then(|done| {
            done.then_some(true)
                .ok_or(StoreError::Contention("delete device"))
        })
    }
}
