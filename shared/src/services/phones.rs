//! The tenant's phone rules: with a default country (`PUT /api/settings/phone`) every phone
//! that comes in — sends, contacts, list members, campaign recipients, CSV rows — is read by
//! that country's rules (`domain::phone::normalize_in`); without one, as it always was.
//!
//! The setting is read once per tenant and instance and kept for [`SETTINGS_TTL`]
//! (`AppState::phone_settings`): a send reads it before its first round (it decides the
//! recipient's key), so a warm instance adds no round trip. A change is seen at once by the
//! instance that made it and within [`SETTINGS_TTL`] by the others.

use crate::domain::phone::{self, Country, Phone};
use crate::runtime::state::AppState;
use crate::store::settings::PhoneSettings;
use crate::store::StoreError;
use std::time::Duration;

/// How long an instance keeps a tenant's phone settings.
pub const SETTINGS_TTL: Duration = Duration::from_secs(30);

/// How a tenant's phones are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhoneRules {
    country: Option<Country>,
}

impl PhoneRules {
    pub fn new(country: Option<Country>) -> Self {
        PhoneRules { country }
    }

    pub fn country(&self) -> Option<Country> {
        self.country
    }

    /// Digits, by the tenant's rules; the error names `field`.
    pub fn normalize(&self, field: &str, raw: &str) -> Result<String, String> {
        phone::normalize_in(field, raw, self.country)
    }

    pub fn parse(&self, field: &str, raw: &str) -> Result<Phone, String> {
        Phone::parse_in(field, raw, self.country)
    }
}

/// The country a stored setting names (`None` when unset; a code that no longer parses is
/// logged and ignored).
pub fn country_of(settings: &PhoneSettings) -> Option<Country> {
    let code = settings.default_country_code.as_deref()?;
    match Country::parse("defaultCountryCode", code) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(code, error = %e, "stored defaultCountryCode ignored");
            None
        }
    }
}

/// The tenant's rules, from this instance's cache or one `GetItem`.
pub async fn rules(state: &AppState, tenant_id: &str) -> Result<PhoneRules, StoreError> {
    if let Some(country) = state.phone_settings.get(tenant_id).await {
        return Ok(PhoneRules::new(country));
    }
    let settings = state.store.settings::<PhoneSettings>(tenant_id).await?;
    let country = country_of(&settings);
    state
        .phone_settings
        .insert(tenant_id.to_string(), country)
        .await;
    Ok(PhoneRules::new(country))
}

/// Stores the setting and makes this instance use it at once.
pub async fn set(
    state: &AppState,
    tenant_id: &str,
    country: Option<Country>,
) -> Result<PhoneSettings, StoreError> {
    let settings = PhoneSettings {
        default_country_code: country.map(|c| c.code_string()),
    };
    state.store.put_settings(tenant_id, &settings).await?;
    state
        .phone_settings
        .insert(tenant_id.to_string(), country)
        .await;
    Ok(settings)
}
