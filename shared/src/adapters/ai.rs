//! The AI Smart Reply client: OpenAI's chat-completions protocol, which the spec's AI
//! gateway speaks (`POST {AI_BASE_URL}/v1/chat/completions`). Base URL, model and key are
//! configuration; tests point it at a local fake server.

use crate::adapters::secrets::read_secret;
use crate::runtime::cache::TtlCache;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

/// One message of the conversation, oldest first, as the inbound worker knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// `true` for what the customer wrote, `false` for what the business sent.
    pub from_customer: bool,
    pub text: String,
}

/// How many messages of the conversation the AI sees (the spec: the last 5).
pub const CONTEXT_MESSAGES: usize = 5;

/// The request's messages: the business voice and language rule, then the last five turns.
pub fn build_messages(
    system_prompt: &str,
    fallback_language: &str,
    history: &[Turn],
) -> Vec<ChatMessage> {
    let voice = system_prompt.trim();
    let rule = format!(
        "Reply in the same language as the customer's last message. If you cannot tell \
         which language that is, reply in {fallback_language}. Keep the reply short enough \
         for a WhatsApp message."
    );
    let system = if voice.is_empty() {
        rule
    } else {
        format!("{voice}\n\n{rule}")
    };
    let skip = history.len().saturating_sub(CONTEXT_MESSAGES);
    std::iter::once(ChatMessage {
        role: Role::System,
        content: system,
    })
    .chain(history[skip..].iter().map(|t| ChatMessage {
        role: if t.from_customer {
            Role::User
        } else {
            Role::Assistant
        },
        content: t.text.clone(),
    }))
    .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum AiError {
    #[error("AI request timed out after {0:?}")]
    Timeout(Duration),
    #[error("AI request failed: {0}")]
    Transport(String),
    #[error("AI gateway answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("AI answer could not be read: {0}")]
    Malformed(String),
    #[error("AI is not configured: {0}")]
    NotConfigured(&'static str),
}

#[derive(Debug, Clone)]
pub struct AiClient {
    /// A build failure (TLS could not load) is kept and answered on use.
    http: Result<reqwest::Client, String>,
    base_url: String,
    model: String,
    timeout: Duration,
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    content: Option<String>,
}

impl AiClient {
    pub fn new(base_url: &str, model: &str, timeout: Duration) -> Self {
        AiClient {
            http: crate::runtime::tls::client_builder()
                .build()
                .map_err(|e| e.to_string()),
            base_url: base_url.trim_end_matches('/').to_string(),
            model: model.to_string(),
            timeout,
        }
    }

    /// One completion. The key is passed in so it can come from Secrets Manager.
    pub async fn complete(
        &self,
        api_key: &str,
        messages: &[ChatMessage],
    ) -> Result<String, AiError> {
        if api_key.is_empty() {
            return Err(AiError::NotConfigured("AI_API_KEY is empty"));
        }
        let url = format!("{}/v1/chat/completions", self.base_url);
        let http = self
            .http
            .as_ref()
            .map_err(|e| AiError::Transport(e.clone()))?;
        let res = http
            .post(url)
            .bearer_auth(api_key)
            .timeout(self.timeout)
            .json(&ChatRequest {
                model: &self.model,
                messages,
            })
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    AiError::Timeout(self.timeout)
                } else {
                    AiError::Transport(e.to_string())
                }
            })?;
        let status = res.status();
        let body = res.text().await.map_err(|e| {
            if e.is_timeout() {
                AiError::Timeout(self.timeout)
            } else {
                AiError::Transport(e.to_string())
            }
        })?;
        if !status.is_success() {
            return Err(AiError::Status {
                status: status.as_u16(),
                body: body.chars().take(500).collect(),
            });
        }
        let parsed: ChatResponse =
            serde_json::from_str(&body).map_err(|e| AiError::Malformed(e.to_string()))?;
        parsed
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .ok_or_else(|| AiError::Malformed("no choices[0].message.content".into()))
    }
}

/// The gateway's key: `AI_API_KEY` when set (local development), else the Secrets Manager
/// secret `AI_API_KEY_SECRET_ID` (AWS), read once and cached for five minutes so a rotated
/// key takes effect without a redeploy. The secret holds the key itself, or a JSON object
/// with an `apiKey` field.
#[derive(Debug)]
pub struct AiKey {
    literal: Option<String>,
    secret_id: Option<String>,
    client: aws_sdk_secretsmanager::Client,
    cache: TtlCache<(), String>,
}

const KEY_CACHE_FOR: Duration = Duration::from_secs(300);

impl AiKey {
    pub fn new(
        literal: Option<String>,
        secret_id: Option<String>,
        client: aws_sdk_secretsmanager::Client,
    ) -> Self {
        AiKey {
            literal,
            secret_id,
            client,
            cache: TtlCache::new(KEY_CACHE_FOR),
        }
    }

    pub async fn get(&self) -> Result<String, AiError> {
        if let Some(k) = &self.literal {
            return Ok(k.clone());
        }
        let Some(id) = &self.secret_id else {
            return Err(AiError::NotConfigured(
                "set AI_API_KEY or AI_API_KEY_SECRET_ID",
            ));
        };
        if let Some(key) = self.cache.get(&()).await {
            return Ok(key);
        }
        let raw = read_secret(&self.client, id)
            .await
            .map_err(|e| AiError::Transport(format!("reading the AI key: {e}")))?
            .trim()
            .to_string();
        let key = serde_json::from_str::<serde_json::Value>(&raw)
            .ok()
            .and_then(|v| v.get("apiKey").and_then(|k| k.as_str()).map(str::to_string))
            .unwrap_or(raw);
        self.cache.insert((), key.clone()).await;
        Ok(key)
    }
}

/// AI Smart Reply's gateway: the client and its key, built once per instance.
#[derive(Debug)]
pub struct SmartReply {
    pub client: AiClient,
    pub key: AiKey,
}

impl SmartReply {
    pub fn from_config(
        config: &crate::runtime::config::Config,
        secrets: aws_sdk_secretsmanager::Client,
    ) -> Self {
        SmartReply {
            client: AiClient::new(&config.ai.base_url, &config.ai.model, config.ai.timeout),
            key: AiKey::new(
                config.ai.api_key.clone(),
                config.ai.api_key_secret_id.clone(),
                secrets,
            ),
        }
    }

    /// One reply for the conversation so far.
    pub async fn reply(&self, messages: &[ChatMessage]) -> Result<String, AiError> {
        let key = self.key.get().await?;
        self.client.complete(&key, messages).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(from_customer: bool, text: &str) -> Turn {
        Turn {
            from_customer,
            text: text.into(),
        }
    }

    #[test]
    fn the_ai_sees_the_voice_and_the_last_five_messages() {
        let history: Vec<Turn> = (1..=7)
            .map(|i| turn(i % 2 == 1, &format!("m{i}")))
            .collect();
        let m = build_messages("You are Acme.", "Urdu", &history);
        assert_eq!(m.len(), 6);
        assert_eq!(m[0].role, Role::System);
        assert!(m[0].content.starts_with("You are Acme.\n\n"));
        assert!(m[0].content.contains("reply in Urdu"));
        let rest: Vec<(Role, &str)> = m[1..]
            .iter()
            .map(|c| (c.role, c.content.as_str()))
            .collect();
        assert_eq!(
            rest,
            vec![
                (Role::User, "m3"),
                (Role::Assistant, "m4"),
                (Role::User, "m5"),
                (Role::Assistant, "m6"),
                (Role::User, "m7")
            ]
        );
        let short = build_messages("", "English", &[turn(true, "hola")]);
        assert_eq!(short.len(), 2);
        assert!(short[0].content.starts_with("Reply in the same language"));
    }
}
