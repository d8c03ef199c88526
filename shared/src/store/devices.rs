//! Devices: `TENANT#<id>` / `DEVICE#<deviceId>`, plus for Cloud API devices a
//! `PHONENUMBER#<phoneNumberId>` item that keeps the number unique within the tenant and
//! maps it back to the device. Credentials are never here: only the name of the device's
//! Secrets Manager secret.

use super::keys::*;
use super::{
    cancelled_item, from_item, s, to_item, transaction_lost, Item, Store, StoreError, StoreResult,
};
use crate::domain::devices::{DeviceStatus, ProviderKind};
use crate::domain::quota::Limit;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
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
    pub created_at: String,
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

fn device_item(d: &Device) -> StoreResult<Item> {
    let mut item = to_item(d)?;
    item.insert(PK.into(), s(tenant_pk(&d.tenant_id)));
    item.insert(SK.into(), s(device_sk(&d.id)));
    Ok(item)
}

fn built<T, E: std::fmt::Display>(r: Result<T, E>) -> StoreResult<T> {
    r.map_err(|e| StoreError::Corrupt(e.to_string()))
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
        let device_put = built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(device_item(d)?))
                .condition_expression("attribute_not_exists(PK)")
                .build(),
        )?;
        let mut writes = vec![
            super::usage::reserve_in_transaction(
                &self.table,
                &d.tenant_id,
                Limit::Devices,
                cap,
                now,
            )?,
            TransactWriteItem::builder().put(device_put).build(),
        ];
        if let Some(phone) = &d.phone_number_id {
            let marker = PhoneNumberItem {
                pk: tenant_pk(&d.tenant_id),
                sk: phone_number_sk(phone),
                device_id: d.id.clone(),
            };
            let marker_put = built(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(to_item(&marker)?))
                    .condition_expression("attribute_not_exists(PK)")
                    .return_values_on_condition_check_failure(
                        aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .build(),
            )?;
            writes.push(TransactWriteItem::builder().put(marker_put).build());
        }
        for _ in 0..super::MAX_ATTEMPTS {
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes.clone()))
                .send()
                .await;
            match sent {
                Ok(_) => return Ok(CreateDeviceOutcome::Created),
                Err(e) => {
                    if let (Some(_), Some(cap)) = (cancelled_item(&e, 0), cap) {
                        return Ok(CreateDeviceOutcome::LimitReached { cap });
                    }
                    if let Some(old) = cancelled_item(&e, 2) {
                        let device_id = old
                            .map(from_item::<PhoneNumberItem>)
                            .transpose()?
                            .map(|m| m.device_id)
                            .unwrap_or_default();
                        return Ok(CreateDeviceOutcome::PhoneNumberTaken { device_id });
                    }
                    if transaction_lost(&e) {
                        continue;
                    }
                    return Err(StoreError::aws("TransactWriteItems", &e));
                }
            }
        }
        Err(StoreError::Contention("create device"))
    }

    pub async fn get_device(
        &self,
        tenant_id: &str,
        device_id: &str,
    ) -> StoreResult<Option<Device>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant_id)))
            .key(SK, s(device_sk(device_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", &e))?;
        out.item.map(from_item).transpose()
    }

    /// The device that holds a Cloud API phone number id in this tenant (how Meta's
    /// webhooks find their device).
    pub async fn device_id_for_phone_number(
        &self,
        tenant_id: &str,
        phone_number_id: &str,
    ) -> StoreResult<Option<String>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant_id)))
            .key(SK, s(phone_number_sk(phone_number_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", &e))?;
        Ok(out
            .item
            .map(from_item::<PhoneNumberItem>)
            .transpose()?
            .map(|m| m.device_id))
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
        let device_delete = built(
            Delete::builder()
                .table_name(&self.table)
                .key(PK, s(tenant_pk(&d.tenant_id)))
                .key(SK, s(device_sk(&d.id)))
                .condition_expression("attribute_exists(PK)")
                .build(),
        )?;
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(device_delete).build())
            .transact_items(super::usage::release_in_transaction(
                &self.table,
                &d.tenant_id,
                Limit::Devices,
                now,
            )?);
        if let Some(phone) = &d.phone_number_id {
            let marker_delete = built(
                Delete::builder()
                    .table_name(&self.table)
                    .key(PK, s(tenant_pk(&d.tenant_id)))
                    .key(SK, s(phone_number_sk(phone)))
                    .condition_expression("attribute_not_exists(PK) OR deviceId = :id")
                    .expression_attribute_values(":id", s(&d.id))
                    .build(),
            )?;
            request =
                request.transact_items(TransactWriteItem::builder().delete(marker_delete).build());
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e) if cancelled_item(&e, 0).is_some() => Ok(false),
            Err(e) => Err(StoreError::aws("TransactWriteItems", &e)),
        }
    }
}
