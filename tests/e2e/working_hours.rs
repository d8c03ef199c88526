//! Working hours and the away message: the settings (checked, kept apart from the AI
//! settings that share their item), and through the inbound worker on a clock the test
//! moves: the away message once per closed spell, never when open, never over a keyword
//! rule or the AI, logged and counted.

use std::time::Duration;
use wati_tests::shared::store::{keys, HANDLING_DONE};
use wati_tests::*;

const CLOSED: &str = "Thanks for writing! We are closed and answer from 09:00.";

fn london_office(enabled: bool) -> Value {
    let hours: Vec<Value> = ["mon", "tue", "wed", "thu", "fri"]
        .iter()
        .map(|d| json!({"day": d, "from": "09:00", "to": "17:00"}))
        .collect();
    json!({"enabled": enabled, "timezone": "Europe/London", "hours": hours, "awayMessage": CLOSED})
}

/// Waits until the customer message `id` (as the sandbox answered it) has been answered or
/// left alone: the worker judged it by the clock as it stood.
async fn wait_handled(app: &TestApp, tenant_id: &str, id: &str) {
    let pk = keys::message_pk(tenant_id, id);
    eventually(
        &format!("message {id} handled"),
        Duration::from_secs(20),
        || async {
            let item = app.find_item(&pk, keys::MESSAGE_SK).await?;
            (item.get("handling")?.as_s().ok()? == HANDLING_DONE).then_some(())
        },
    )
    .await
}

#[tokio::test]
async fn working_hours_are_checked_and_kept_apart_from_the_ai_settings() {
    let app =
        TestApp::start_with(TestOptions::default().clock(clock_at("2026-11-30T10:00:00Z"))).await;
    let t = app.tenant("pro").await;
    let defaults = t.get_ok("/api/working-hours").await;
    assert_eq!(defaults["enabled"], false);
    assert_eq!(defaults["timezone"], "UTC");
    assert_eq!(defaults["hours"].array().len(), 5, "{defaults}");
    assert_eq!(defaults["openNow"], true, "a Monday at 10:00 UTC");
    assert_eq!(defaults["closedDates"], json!([]));

    t.enable_ai("You are Acme.").await;
    // Out of order, the zone spelled with spaces around it: sorted, trimmed.
    let body = json!({"enabled": true, "timezone": " Asia/Karachi ", "awayMessage": " Closed ",
        "hours": [{"day": "tue", "from": "09:00", "to": "17:00"}, {"day": "mon", "from": "13:00", "to": "24:00"},
                  {"day": "mon", "from": "09:00", "to": "12:00"}]});
    let saved = t
        .put("/api/working-hours", &body)
        .await
        .expect(StatusCode::OK);
    assert_eq!(saved["timezone"], "Asia/Karachi");
    assert_eq!(saved["awayMessage"], "Closed");
    assert_eq!(
        saved["hours"],
        json!([{"day": "mon", "from": "09:00", "to": "12:00"}, {"day": "mon", "from": "13:00", "to": "24:00"},
               {"day": "tue", "from": "09:00", "to": "17:00"}])
    );
    // 10:00 UTC is 15:00 in Karachi.
    assert_eq!(saved["openNow"], true);
    assert_eq!(t.get_ok("/api/working-hours").await, saved);
    // The AI settings share the item: neither write loses the other.
    assert_eq!(
        t.get_ok("/api/ai-settings").await["systemPrompt"],
        "You are Acme."
    );
    t.enable_ai("You are Acme, again.").await;
    assert_eq!(t.get_ok("/api/working-hours").await, saved);

    for (bad, says) in [
        (json!({"timezone": "Mars/Olympus"}), "IANA"),
        (
            json!({"hours": [{"day": "mon", "from": "18:00", "to": "09:00"}]}),
            "before it starts",
        ),
        (
            json!({"hours": [{"day": "mon", "from": "9", "to": "17:00"}]}),
            "HH:MM",
        ),
        (
            json!({"hours": [{"day": "someday", "from": "09:00", "to": "17:00"}]}),
            "day",
        ),
        (json!({"awayMessage": ""}), "awayMessage"),
        (json!({"awayMessage": "x".repeat(4097)}), "4096"),
        (json!({"closedOnHolidays": true}), "closedOnHolidays"),
    ] {
        let mut req = body.clone();
        for (k, v) in bad.as_object().unwrap() {
            req[k] = v.clone();
        }
        let r = t.put("/api/working-hours", &req).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
        assert!(r.body["error"].str().contains(says), "{bad}: {}", r.body);
    }
    assert_eq!(
        t.get_ok("/api/working-hours").await,
        saved,
        "nothing changed"
    );
    // A holiday closes the whole local day: Monday 30 November in Karachi.
    let mut holiday = body.clone();
    holiday["closedDates"] = json!(["2026-12-25", "2026-11-30"]);
    let saved = t
        .put("/api/working-hours", &holiday)
        .await
        .expect(StatusCode::OK);
    assert_eq!(saved["closedDates"], json!(["2026-11-30", "2026-12-25"]));
    assert_eq!(saved["openNow"], false);
    holiday["closedDates"] = json!(["30/11/2026"]);
    let r = t.put("/api/working-hours", &holiday).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body["error"].str().contains("YYYY-MM-DD"), "{}", r.body);
    // Turned off, the message may be empty.
    let off = json!({"enabled": false, "timezone": "UTC", "hours": [], "awayMessage": ""});
    let saved = t
        .put("/api/working-hours", &off)
        .await
        .expect(StatusCode::OK);
    assert_eq!(saved["openNow"], false, "no hours: always closed");
}

#[tokio::test]
async fn outside_working_hours_a_customer_gets_the_away_message_once_per_closed_spell() {
    let fakes = Fakes::spawn().await;
    // A Monday, 07:00 in London (GMT): closed since Friday 17:00.
    let clock = clock_at("2026-11-30T07:00:00Z");
    let app = TestApp::start_with(fakes.options().roomy_keys().clock(clock.clone())).await;
    let _workers = app.spawn_workers();
    let t = app.tenant("pro").await;
    let device = t.sandbox_device().await;
    t.create_rule(json!({"keyword": "price", "match_type": "contains", "response": "Our prices"}))
        .await;
    // Set but off: nothing is sent.
    let saved = t
        .put("/api/working-hours", london_office(false))
        .await
        .expect(StatusCode::OK);
    assert_eq!(saved["openNow"], false);
    let unanswered = t.sandbox_says(&device, "923001110001", "hello?").await;
    t.sandbox_says(&device, "923001110009", "price?").await;
    app.wait_sent_texts(&t.id, "923001110009", 1).await;
    wait_handled(&app, &t.id, unanswered["id"].str()).await;
    assert_eq!(
        app.sent_texts(&t.id, "923001110001").await,
        Vec::<String>::new()
    );

    t.put("/api/working-hours", london_office(true))
        .await
        .expect(StatusCode::OK);
    // Two messages at once and one later in the same spell: one away message.
    t.sandbox_says(&device, "923001110002", "hello").await;
    t.sandbox_says(&device, "923001110002", "is anyone there?")
        .await;
    assert_eq!(
        app.wait_sent_texts(&t.id, "923001110002", 1).await,
        [CLOSED],
        "the away message"
    );
    clock.set(at("2026-11-30T08:30:00Z"));
    let same_spell = t
        .sandbox_says(&device, "923001110002", "still closed?")
        .await;
    // A keyword rule still answers while closed.
    t.sandbox_says(&device, "923001110003", "what is the price")
        .await;
    assert_eq!(
        app.wait_sent_texts(&t.id, "923001110003", 1).await,
        ["Our prices"]
    );
    wait_handled(&app, &t.id, same_spell["id"].str()).await;
    // Open: nobody gets it.
    clock.set(at("2026-11-30T10:00:00Z"));
    let open = t.sandbox_says(&device, "923001110004", "hello").await;
    wait_handled(&app, &t.id, open["id"].str()).await;
    assert_eq!(app.sent_texts(&t.id, "923001110002").await, [CLOSED]);
    assert_eq!(
        app.sent_texts(&t.id, "923001110004").await,
        Vec::<String>::new()
    );
    // Closed again at 17:00: a new spell, a new away message.
    clock.set(at("2026-11-30T18:00:00Z"));
    t.sandbox_says(&device, "923001110002", "hello again").await;
    assert_eq!(
        app.wait_sent_texts(&t.id, "923001110002", 2).await,
        [CLOSED, CLOSED]
    );
    // The AI answers before the away message does.
    t.enable_ai("You are Acme.").await;
    t.sandbox_says(&device, "923001110005", "hello").await;
    let ai = app.wait_sent_texts(&t.id, "923001110005", 1).await;
    assert_ne!(ai, [CLOSED]);
    // An AI that covers only the closed hours leaves the open ones to the team.
    let night_shift = json!({"enabled": true, "systemPrompt": "You are Acme at night.",
        "onlyOutsideWorkingHours": true});
    let ai_settings = t
        .put("/api/ai-settings", night_shift)
        .await
        .expect(StatusCode::OK);
    assert_eq!(ai_settings["onlyOutsideWorkingHours"], true);
    clock.set(at("2026-12-01T10:00:00Z"));
    let open_hours = t.sandbox_says(&device, "923001110006", "hello").await;
    wait_handled(&app, &t.id, open_hours["id"].str()).await;
    clock.set(at("2026-12-01T20:00:00Z"));
    t.sandbox_says(&device, "923001110007", "hello").await;
    let ai = app.wait_sent_texts(&t.id, "923001110007", 1).await;
    assert_ne!(ai, [CLOSED]);
    assert_eq!(
        app.sent_texts(&t.id, "923001110006").await,
        Vec::<String>::new(),
        "open: the team answers"
    );

    let log = t.reply_log().await;
    let away: Vec<&Value> = log.iter().filter(|e| e["ruleId"] == "away").collect();
    assert_eq!(away.len(), 2, "{log:?}");
    assert!(away
        .iter()
        .all(|e| e["outcome"] == "away" && e["peer"] == "923001110002"));
    let summary = t.analytics("from=2026-11-30&to=2026-12-01").await.body;
    let auto = &summary["autoReplies"];
    assert_eq!(
        (
            auto["away"].as_i64(),
            auto["keyword"].as_i64(),
            auto["ai"].as_i64()
        ),
        (Some(2), Some(2), Some(2)),
        "{auto}"
    );
}
