//! `GET|PUT /api/settings/phone`: the tenant's default country, by which local phone numbers
//! (`0300 1234567`) become international (`923001234567`). Admin (every API key is today).

use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use wati_shared::domain::phone::Country;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::ApiJson;
use wati_shared::services::phones;
use wati_shared::store::settings::PhoneSettings;

/// The tenant's phone settings (`defaultCountryCode` `null`: numbers are taken as given).
#[utoipa::path(get, path = "/api/settings/phone", tag = "settings",
    responses((status = 200, body = PhoneSettings)))]
pub async fn get_phone(Authed { state, caller }: Authed) -> ApiResult<Json<PhoneSettings>> {
    let settings = state
        .store
        .settings::<PhoneSettings>(&caller.tenant_id)
        .await?;
    Ok(Json(PhoneSettings {
        default_country_code: phones::country_of(&settings).map(|c| c.code_string()),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PhoneSettingsRequest {
    /// A country calling code (`"92"`, `"+92"`, `"1"`); `null` or absent turns it off.
    #[schema(example = "92")]
    pub default_country_code: Option<String>,
}

/// Set the default country: from then on every phone that comes in (sends, contacts, list
/// members, campaign recipients, CSV rows) is read by that country's rules, the trunk
/// prefix dropped (`0300 1234567` → `923001234567`), and a number that cannot exist there
/// is 400 naming its field. Other instances apply it within 30 seconds.
#[utoipa::path(put, path = "/api/settings/phone", tag = "settings",
    request_body = PhoneSettingsRequest,
    responses((status = 200, body = PhoneSettings), (status = 400, body = ErrorBody)))]
pub async fn put_phone(
    Authed { state, caller }: Authed,
    ApiJson(req): ApiJson<PhoneSettingsRequest>,
) -> ApiResult<Json<PhoneSettings>> {
    let country = req
        .default_country_code
        .as_deref()
        .map(|c| Country::parse("defaultCountryCode", c))
        .transpose()
        .map_err(ApiError::bad_request)?;
    let settings = phones::set(&state, &caller.tenant_id, country).await?;
    tracing::info!(default_country_code = ?settings.default_country_code, "phone settings changed");
    Ok(Json(settings))
}
