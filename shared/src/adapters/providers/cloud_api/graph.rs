//! The Graph API beyond sending: inbound media (`GET /{media-id}`, then its short-lived
//! URL) and the WhatsApp Business Account's message templates
//! (`/{waba-id}/message_templates`: list page by page, create, delete).

use super::{CloudApi, MAX_RESPONSE_BYTES};
use crate::adapters::media_store::DOWNLOAD_TIMEOUT;
use crate::adapters::providers::read_limited;
use crate::adapters::providers::{ProviderError, ProviderErrorKind};
use crate::store::devices::Device;
use reqwest::RequestBuilder;
use serde_json::Value;

/// Templates asked for per page.
const TEMPLATE_PAGE: u32 = 100;

/// What `GET /{media-id}` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaNode {
    /// The file's URL (valid about 5 minutes; needs the same token).
    pub url: String,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub file_size: Option<u64>,
}

/// One page of the account's templates (Meta's objects as given) and the cursor of the next.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplatePage {
    pub templates: Vec<Value>,
    pub after: Option<String>,
}

fn graph_error(status: u16, body: &[u8]) -> ProviderError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let code = v["error"]["code"].as_i64();
    let message = v["error"]["message"].as_str().unwrap_or("").trim();
    let kind = match code {
        Some(190) | Some(10) | Some(200..=299) => ProviderErrorKind::Credentials,
        _ if status >= 500 => ProviderErrorKind::Unavailable,
        _ => ProviderErrorKind::Refused,
    };
    let text = match (code, message) {
        (Some(c), m) if !m.is_empty() => {
            format!("WhatsApp Cloud API refused the request (#{c}): {m}")
        }
        _ => format!("WhatsApp Cloud API failed (HTTP {status})"),
    };
    ProviderError::new(kind, code, text)
}

fn unreachable_graph(e: &reqwest::Error) -> ProviderError {
    tracing::warn!(error = %e, "Graph API request failed");
    let kind = if e.is_timeout() {
        ProviderErrorKind::Timeout
    } else {
        ProviderErrorKind::Unavailable
    };
    ProviderError::new(
        kind,
        None,
        "WhatsApp Cloud API could not be reached; try again",
    )
}

impl CloudApi {
    fn graph_url(&self, path: &str) -> String {
        format!("{}/{}/{path}", self.base_url, self.version)
    }

    async fn token(&self, device: &Device) -> Result<String, ProviderError> {
        let secret_name = device.secret_name.as_deref().ok_or_else(|| {
            ProviderError::new(
                ProviderErrorKind::Credentials,
                None,
                "The device has no Cloud API credentials: add it again with POST /api/devices",
            )
        })?;
        Ok(self
            .credentials(device, secret_name)
            .await?
            .access_token
            .clone())
    }

    fn waba(device: &Device) -> Result<&str, ProviderError> {
        device.waba_id.as_deref().ok_or_else(|| {
            ProviderError::new(
                ProviderErrorKind::Refused,
                None,
                "The device has no WhatsApp Business Account id (wabaId): add it again with POST /api/devices",
            )
        })
    }

    /// One Graph call with the device's token; its JSON answer, or Meta's refusal.
    async fn graph_json(
        &self,
        device: &Device,
        build: impl FnOnce(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Value, ProviderError> {
        let token = self.token(device).await?;
        let client = self.http.get()?;
        let response = build(client)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| unreachable_graph(&e))?;
        let status = response.status().as_u16();
        let bytes = read_limited(response, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| unreachable_graph(&e))?;
        if !(200..300).contains(&status) {
            let err = graph_error(status, &bytes);
            if err.kind == ProviderErrorKind::Credentials {
                if let Some(name) = &device.secret_name {
                    self.secrets.invalidate(name).await;
                }
            }
            return Err(err);
        }
        Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// `GET /{media-id}`: where an inbound media's bytes are, and what Meta says of them.
    pub async fn media_node(
        &self,
        device: &Device,
        media_id: &str,
    ) -> Result<MediaNode, ProviderError> {
        let url = self.graph_url(media_id);
        let v = self.graph_json(device, |c| c.get(url)).await?;
        let url = v["url"].as_str().filter(|u| !u.is_empty()).ok_or_else(|| {
            ProviderError::new(
                ProviderErrorKind::Unavailable,
                None,
                "WhatsApp Cloud API answered the media node without a url",
            )
        })?;
        Ok(MediaNode {
            url: url.to_string(),
            mime_type: v["mime_type"].as_str().map(str::to_string),
            sha256: v["sha256"].as_str().map(str::to_string),
            file_size: v["file_size"]
                .as_u64()
                .or_else(|| v["file_size"].as_str().and_then(|s| s.parse().ok())),
        })
    }

    /// The media node's bytes, as a response to stream (the same token).
    pub async fn media_bytes(
        &self,
        device: &Device,
        url: &str,
    ) -> Result<reqwest::Response, ProviderError> {
        let token = self.token(device).await?;
        let response = self
            .http
            .get()?
            .get(url)
            .timeout(DOWNLOAD_TIMEOUT)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| unreachable_graph(&e))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let bytes = read_limited(response, MAX_RESPONSE_BYTES)
                .await
                .unwrap_or_default();
            return Err(graph_error(status, &bytes));
        }
        Ok(response)
    }

    /// One page of the account's templates (`after`: the previous page's cursor).
    pub async fn templates_page(
        &self,
        device: &Device,
        after: Option<&str>,
    ) -> Result<TemplatePage, ProviderError> {
        let url = self.graph_url(&format!("{}/message_templates", Self::waba(device)?));
        let limit = TEMPLATE_PAGE.to_string();
        let mut query = vec![
            ("fields", "name,status,category,language,components"),
            ("limit", limit.as_str()),
        ];
        if let Some(a) = after {
            query.push(("after", a));
        }
        let v = self
            .graph_json(device, |c| c.get(url).query(&query))
            .await?;
        let templates = v["data"].as_array().cloned().unwrap_or_default();
        // Meta gives `paging.next` only when another page follows.
        let after = v["paging"]["next"]
            .as_str()
            .and(v["paging"]["cursors"]["after"].as_str())
            .filter(|a| !a.is_empty() && !templates.is_empty())
            .map(str::to_string);
        Ok(TemplatePage { templates, after })
    }

    /// `POST /{waba-id}/message_templates`: Meta's answer (`{"id","status","category"}`).
    pub async fn create_template(
        &self,
        device: &Device,
        body: &Value,
    ) -> Result<Value, ProviderError> {
        let url = self.graph_url(&format!("{}/message_templates", Self::waba(device)?));
        self.graph_json(device, |c| c.post(url).json(body)).await
    }

    /// `DELETE /{waba-id}/message_templates?name=`: every language of the template.
    pub async fn delete_template(&self, device: &Device, name: &str) -> Result<(), ProviderError> {
        let url = self.graph_url(&format!("{}/message_templates", Self::waba(device)?));
        self.graph_json(device, |c| c.delete(url).query(&[("name", name)]))
            .await
            .map(drop)
    }
}
