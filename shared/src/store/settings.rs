//! Tenant settings for consent and phone numbers: the opt-out settings
//! (`TENANT#<id>` / `OPTOUT`) and the phone settings (`TENANT#<id>` / `PHONESETTINGS`), and
//! what the send flow reads of consent in its first round (one `BatchGetItem`).

use super::contacts::Contact;
use super::keys::*;
use super::table::keyed;
use super::{from_item, Store, StoreResult};
use crate::domain::consent::OptOutSettings;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A tenant's phone settings (`GET|PUT /api/settings/phone`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhoneSettings {
    /// The calling code local numbers belong to (`"92"`: `0300 1234567` is
    /// `923001234567`); `null`: numbers are taken as given (digits only).
    #[schema(example = "92")]
    pub default_country_code: Option<String>,
}

/// What a send needs to know about consent: whether the recipient opted out, and whether
/// the tenant blocks direct sends to such numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendConsent {
    pub opted_out: bool,
    pub block_direct_sends: bool,
}

/// A settings item of a tenant's own (`TENANT#<id>` / `SK`): read as its defaults until
/// it is first saved.
pub trait TenantSettings: Serialize + DeserializeOwned + Default {
    const SK: &'static str;
}

impl TenantSettings for OptOutSettings {
    const SK: &'static str = OPT_OUT_SETTINGS_SK;
}

impl TenantSettings for PhoneSettings {
    const SK: &'static str = PHONE_SETTINGS_SK;
}

impl Store {
    /// A tenant's settings of kind `T` (`T::default()` until first saved).
    pub async fn settings<T: TenantSettings>(&self, tenant_id: &str) -> StoreResult<T> {
        let settings = self.get(&tenant_pk(tenant_id), T::SK).await?;
        Ok(settings.unwrap_or_default())
    }

    pub async fn put_settings<T: TenantSettings>(
        &self,
        tenant_id: &str,
        settings: &T,
    ) -> StoreResult<()> {
        self.put(keyed(settings, tenant_pk(tenant_id), T::SK)?)
            .await
    }

    /// The recipient's consent (its phone claim carries it) and the tenant's
    /// `blockDirectSends`, in one strongly consistent `BatchGetItem`.
    pub async fn send_consent(&self, tenant_id: &str, phone: &str) -> StoreResult<SendConsent> {
        let keys = vec![
            (phones_pk(tenant_id), phone_sk(phone)),
            (tenant_pk(tenant_id), OPT_OUT_SETTINGS_SK.to_string()),
        ];
        let mut consent = SendConsent {
            opted_out: false,
            block_direct_sends: OptOutSettings::default().block_direct_sends,
        };
        let claims = phones_pk(tenant_id);
        for item in self.batch_get(&keys, true).await? {
            let pk = item.get(PK).and_then(|v| v.as_s().ok()).cloned();
            if pk.as_deref() == Some(claims.as_str()) {
                consent.opted_out = from_item::<Contact>(item)?.opted_out;
            } else {
                consent.block_direct_sends = from_item::<OptOutSettings>(item)?.block_direct_sends;
            }
        }
        Ok(consent)
    }
}
