//! Devices (the spec's "connected devices"): the WhatsApp numbers a tenant sends from, and
//! the provider each one goes through.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Test mode: accepts sends without WhatsApp and reports delivered, then read.
    Sandbox,
    /// Meta's WhatsApp Cloud API.
    CloudApi,
    /// An ordinary WhatsApp number paired by QR code or pairing code, through a WAHA gateway.
    WhatsappWeb,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Sandbox => "sandbox",
            ProviderKind::CloudApi => "cloud_api",
            ProviderKind::WhatsappWeb => "whatsapp_web",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    Connected,
    Disconnected,
    /// A WhatsApp Web session waiting for its QR code (or pairing code), or starting.
    Pairing,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Connected => "connected",
            DeviceStatus::Disconnected => "disconnected",
            DeviceStatus::Pairing => "pairing",
        }
    }
}

/// A Cloud API device's credentials. They live only in Secrets Manager; `Debug` hides them
/// so they cannot reach a log line by accident.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudApiCredentials {
    pub access_token: String,
    pub app_secret: String,
    pub verify_token: String,
}

impl std::fmt::Debug for CloudApiCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CloudApiCredentials { <redacted> }")
    }
}

/// A WhatsApp Web device's secrets: the key WAHA signs its webhooks with (ours), and the
/// API key of the tenant's own gateway, if it brought one. Secrets Manager only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayCredentials {
    pub hmac_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

impl std::fmt::Debug for GatewayCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GatewayCredentials { <redacted> }")
    }
}

/// `POST /api/devices` as received: every field optional so each gap gets its own message.
#[derive(Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceInput {
    #[schema(example = "Support line")]
    pub name: Option<String>,
    /// `sandbox`, `cloud_api` or `whatsapp_web`.
    #[schema(example = "cloud_api")]
    pub provider: Option<String>,
    /// Cloud API: the Phone Number ID from Meta's API Setup.
    #[schema(example = "106540352242922")]
    pub phone_number_id: Option<String>,
    /// Cloud API: the WhatsApp Business Account ID.
    #[schema(example = "102290129340398")]
    pub waba_id: Option<String>,
    /// Cloud API: the permanent (system user) access token. Stored in Secrets Manager only.
    pub access_token: Option<String>,
    /// Cloud API: the Meta app's secret, which signs Meta's webhooks. Secrets Manager only.
    pub app_secret: Option<String>,
    /// Cloud API: the webhook verify token you chose. Secrets Manager only.
    pub verify_token: Option<String>,
    /// WhatsApp Web: your own WAHA gateway instead of the platform's,
    /// `{"baseUrl", "apiKey"}` (the key goes to Secrets Manager only).
    pub gateway: Option<GatewayInput>,
}

/// A tenant's own WAHA gateway, as received.
#[derive(Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatewayInput {
    #[schema(example = "https://waha.example.com")]
    pub base_url: Option<String>,
    pub api_key: Option<String>,
}

/// A tenant's own WAHA gateway, checked (its address passes the SSRF guard later, when it
/// is resolved).
#[derive(Clone, PartialEq, Eq)]
pub struct OwnGateway {
    pub base_url: String,
    pub api_key: String,
}

impl std::fmt::Debug for OwnGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnGateway")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for DeviceInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceInput")
            .field("name", &self.name)
            .field("provider", &self.provider)
            .field("phone_number_id", &self.phone_number_id)
            .field("waba_id", &self.waba_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewDevice {
    Sandbox {
        name: String,
    },
    CloudApi {
        name: String,
        phone_number_id: String,
        waba_id: String,
        credentials: CloudApiCredentials,
    },
    WhatsappWeb {
        name: String,
        gateway: Option<OwnGateway>,
    },
}

impl NewDevice {
    pub fn name(&self) -> &str {
        match self {
            NewDevice::Sandbox { name }
            | NewDevice::CloudApi { name, .. }
            | NewDevice::WhatsappWeb { name, .. } => name,
        }
    }
}

const CLOUD_FIELDS: [&str; 5] = [
    "phoneNumberId",
    "wabaId",
    "accessToken",
    "appSecret",
    "verifyToken",
];

/// Checks a device request and says exactly which field is wrong.
pub fn new_device(input: DeviceInput) -> Result<NewDevice, String> {
    let name = super::validate::name("name", input.name.as_deref().unwrap_or_default(), 100)?;
    let provider = match input.provider.as_deref().map(str::trim) {
        None | Some("") => return Err(format!("\"provider\" is required: {PROVIDERS}")),
        Some("sandbox") => ProviderKind::Sandbox,
        Some("cloud_api") => ProviderKind::CloudApi,
        Some("whatsapp_web") => ProviderKind::WhatsappWeb,
        Some(_) => return Err(format!("\"provider\" must be {PROVIDERS}")),
    };
    if input.gateway.is_some() && provider != ProviderKind::WhatsappWeb {
        return Err("\"gateway\" is only for whatsapp_web devices".into());
    }
    let cloud = [
        &input.phone_number_id,
        &input.waba_id,
        &input.access_token,
        &input.app_secret,
        &input.verify_token,
    ];
    match provider {
        ProviderKind::Sandbox | ProviderKind::WhatsappWeb => {
            if let Some(i) = cloud.iter().position(|f| f.is_some()) {
                return Err(format!(
                    "\"{}\" is only for cloud_api devices",
                    CLOUD_FIELDS[i]
                ));
            }
            if provider == ProviderKind::Sandbox {
                return Ok(NewDevice::Sandbox { name });
            }
            let gateway = input.gateway.map(own_gateway).transpose()?;
            Ok(NewDevice::WhatsappWeb { name, gateway })
        }
        ProviderKind::CloudApi => Ok(NewDevice::CloudApi {
            name,
            phone_number_id: numeric_id("phoneNumberId", input.phone_number_id.as_deref())?,
            waba_id: numeric_id("wabaId", input.waba_id.as_deref())?,
            credentials: CloudApiCredentials {
                access_token: secret("accessToken", input.access_token.as_deref(), 4096)?,
                app_secret: secret("appSecret", input.app_secret.as_deref(), 256)?,
                verify_token: secret("verifyToken", input.verify_token.as_deref(), 256)?,
            },
        }),
    }
}

const PROVIDERS: &str = "\"sandbox\", \"cloud_api\" or \"whatsapp_web\"";

fn own_gateway(g: GatewayInput) -> Result<OwnGateway, String> {
    let base_url = g.base_url.as_deref().map(str::trim).unwrap_or_default();
    if base_url.is_empty() {
        return Err("\"gateway.baseUrl\" is required".into());
    }
    let parsed = url::Url::parse(base_url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .filter(|u| u.query().is_none() && u.fragment().is_none() && u.username().is_empty())
        .ok_or("\"gateway.baseUrl\" must be an http(s) URL such as https://waha.example.com")?;
    if base_url.len() > 512 {
        return Err("\"gateway.baseUrl\" must be at most 512 characters".into());
    }
    let api_key = g.api_key.as_deref().map(str::trim).unwrap_or_default();
    if api_key.is_empty() {
        return Err("\"gateway.apiKey\" is required".into());
    }
    if api_key.len() > 512 || !api_key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("\"gateway.apiKey\" must be at most 512 visible ASCII characters".into());
    }
    Ok(OwnGateway {
        base_url: parsed.as_str().trim_end_matches('/').to_string(),
        api_key: api_key.to_string(),
    })
}

/// Meta's ids are digits.
fn numeric_id(field: &str, v: Option<&str>) -> Result<String, String> {
    let v = v.map(str::trim).unwrap_or_default();
    if v.is_empty() {
        return Err(format!("\"{field}\" is required for cloud_api devices"));
    }
    if v.len() > 32 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("\"{field}\" must be Meta's numeric id"));
    }
    Ok(v.to_string())
}

fn secret(field: &str, v: Option<&str>, max: usize) -> Result<String, String> {
    let v = v.map(str::trim).unwrap_or_default();
    if v.is_empty() {
        return Err(format!("\"{field}\" is required for cloud_api devices"));
    }
    if v.len() > max || !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "\"{field}\" must be at most {max} visible ASCII characters"
        ));
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloud() -> DeviceInput {
        DeviceInput {
            name: Some(" Main line ".into()),
            provider: Some("cloud_api".into()),
            phone_number_id: Some("106540352242922".into()),
            waba_id: Some("102290129340398".into()),
            access_token: Some("EAAG-token".into()),
            app_secret: Some("0123456789abcdef0123456789abcdef".into()),
            verify_token: Some("my-tenant-7f3a".into()),
            gateway: None,
        }
    }

    #[test]
    fn valid_devices() {
        let d = new_device(cloud()).unwrap_or_else(|e| panic!("{e}"));
        match d {
            NewDevice::CloudApi {
                name,
                phone_number_id,
                credentials,
                ..
            } => {
                assert_eq!(name, "Main line");
                assert_eq!(phone_number_id, "106540352242922");
                assert_eq!(credentials.verify_token, "my-tenant-7f3a");
            }
            other => panic!("{other:?}"),
        }
        let s = new_device(DeviceInput {
            name: Some("Test".into()),
            provider: Some("sandbox".into()),
            ..Default::default()
        });
        assert_eq!(
            s,
            Ok(NewDevice::Sandbox {
                name: "Test".into()
            })
        );
    }

    #[test]
    fn each_problem_names_its_field() {
        type Change = fn(&mut DeviceInput);
        let cases: [(Change, &str); 9] = [
            (|i| i.name = None, "\"name\" must not be empty"),
            (
                |i| i.provider = None,
                "\"provider\" is required: \"sandbox\", \"cloud_api\" or \"whatsapp_web\"",
            ),
            (
                |i| i.provider = Some("baileys".into()),
                "\"provider\" must be \"sandbox\", \"cloud_api\" or \"whatsapp_web\"",
            ),
            (
                |i| i.phone_number_id = None,
                "\"phoneNumberId\" is required for cloud_api devices",
            ),
            (
                |i| i.waba_id = Some("abc".into()),
                "\"wabaId\" must be Meta's numeric id",
            ),
            (
                |i| i.access_token = Some(" ".into()),
                "\"accessToken\" is required for cloud_api devices",
            ),
            (
                |i| i.app_secret = None,
                "\"appSecret\" is required for cloud_api devices",
            ),
            (
                |i| i.verify_token = Some("has space".into()),
                "\"verifyToken\" must be at most 256 visible ASCII characters",
            ),
            (
                |i| i.provider = Some("sandbox".into()),
                "\"phoneNumberId\" is only for cloud_api devices",
            ),
        ];
        for (change, want) in cases {
            let mut input = cloud();
            change(&mut input);
            assert_eq!(new_device(input), Err(want.to_string()));
        }
    }

    #[test]
    fn credentials_never_show_in_debug_output() {
        let i = cloud();
        let shown = format!("{i:?} {:?}", new_device(cloud()));
        for secret in ["EAAG-token", "0123456789abcdef", "my-tenant-7f3a"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
