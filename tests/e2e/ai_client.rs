//! The AI client against a local OpenAI-compatible server.

use std::time::Duration;
use wati_tests::fake_ai::{FakeAi, Mode};
use wati_tests::shared::ai::{build_messages, AiClient, AiError, Turn};
use wati_tests::*;

#[tokio::test]
async fn the_client_speaks_chat_completions_and_reports_failures() {
    let fake = FakeAi::start(Mode::Reply("  ¡Hola! ¿En qué puedo ayudarte?  ".into())).await;
    let client = AiClient::new(
        &format!("{}/", fake.base_url),
        "google/gemini-3-flash-preview",
        Duration::from_millis(500),
    );
    let history = vec![Turn {
        from_customer: true,
        text: "hola, precio?".into(),
    }];
    let messages = build_messages("You are Acme.", "English", &history);

    let reply = client.complete("sk-test", &messages).await.unwrap();
    assert_eq!(reply, "¡Hola! ¿En qué puedo ayudarte?");
    let seen = fake.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].authorization, "Bearer sk-test");
    assert_eq!(seen[0].body["model"], "google/gemini-3-flash-preview");
    assert_eq!(seen[0].body["messages"][0]["role"], "system");
    assert_eq!(
        seen[0].body["messages"][1],
        json!({"role": "user", "content": "hola, precio?"})
    );

    fake.set(Mode::Fail(503));
    assert!(matches!(
        client.complete("sk-test", &messages).await,
        Err(AiError::Status { status: 503, .. })
    ));
    fake.set(Mode::Hang(Duration::from_secs(3)));
    let started = std::time::Instant::now();
    assert!(matches!(
        client.complete("sk-test", &messages).await,
        Err(AiError::Timeout(_))
    ));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the timeout is enforced"
    );
    fake.set(Mode::Reply("   ".into()));
    assert!(matches!(
        client.complete("sk-test", &messages).await,
        Err(AiError::Malformed(_))
    ));
    assert!(matches!(
        client.complete("", &messages).await,
        Err(AiError::NotConfigured(_))
    ));
}
