//! Consent end to end (issue 16's "Done when", first part): a customer's STOP opts them
//! out before any rule or AI sees it, is confirmed exactly once and reaches the tenant's
//! webhook; campaigns skip them, direct sends are refused without calling Meta, START
//! reverses it. Then the settings, the contacts API's opt-out and opt-in, and the listing
//! by consent.

use crate::inbound::{env_with, new_wamid, wait_log, Env, CUSTOMER, PHONE_ID};
use std::time::Duration;
use wati_tests::webhooks::{Answer, Receiver};
use wati_tests::*;

const A: &str = "923001110001";
const B: &str = "923001110002";
/// The customer who writes STOP.
const C: &str = CUSTOMER;

/// A text from `from` through Meta's webhook.
async fn says(e: &Env, from: &str, text: &str) -> String {
    let wamid = new_wamid();
    let body = meta_text(PHONE_ID, &wamid, text, now_ts()).replace(CUSTOMER, from);
    e.app.from_meta(&e.tenant.id, &body).await;
    wamid
}

/// What Meta was asked to send to `to`, in order (their text bodies).
fn sent_to(e: &Env, to: &str) -> Vec<String> {
    e.meta
        .requests()
        .into_iter()
        .filter(|r| r.body["to"] == to)
        .map(|r| {
            r.body["text"]["body"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// A Cloud API device (its access token `token`), and a webhook receiving the consent
/// events.
async fn consent_receiver(e: &Env, token: &str) -> Receiver {
    e.tenant.cloud_device(&e.meta, PHONE_ID, token).await;
    let receiver = Receiver::start(vec![], Answer::Status(200)).await;
    let kinds = json!(["contact.opted_out", "contact.opted_in"]);
    e.tenant.configure_webhook(&receiver.url, Some(kinds)).await;
    receiver
}

fn events(receiver: &Receiver, kind: &str) -> Vec<Value> {
    receiver
        .hits()
        .into_iter()
        .map(|h| serde_json::from_str::<Value>(&h.body).expect("JSON"))
        .filter(|v| v["event"] == kind)
        .collect()
}

async fn contact_of(t: &Tenant, phone: &str) -> Value {
    let found = t.get_ok(&format!("/api/contacts?search={phone}")).await;
    found["contacts"][0].clone()
}

async fn wait_campaign(t: &Tenant, id: &str) -> Value {
    eventually(
        "the campaign completed",
        Duration::from_secs(30),
        || async {
            let c = t.campaign(id).await;
            (c["status"] == "completed").then_some(c)
        },
    )
    .await
}

#[tokio::test]
async fn stop_opts_out_everywhere_once_and_start_reverses_it() {
    let e = env_with("pro", true, &[]).await;
    let (app, t) = (&e.app, &e.tenant);
    let receiver = consent_receiver(&e, "EAAGconsent").await;
    // A rule that would answer "stop", and the AI: neither may answer a STOP.
    t.create_rule(json!({"keyword": "stop", "match_type": "contains", "response": "Rule says hi"}))
        .await;
    t.enable_ai("You are a shop.").await;

    // A and B write first (their 24-hour windows open); the AI answers them.
    says(&e, A, "hello").await;
    says(&e, B, "hello").await;
    wait_log(t, 2).await;
    let ai_before = e.ai.requests().len();
    assert_eq!(ai_before, 2);

    // C writes "  sToP  " (any case, spaces around); Meta redelivers the webhook.
    let wamid = new_wamid();
    let stop = meta_text(PHONE_ID, &wamid, "  sToP  ", now_ts());
    app.from_meta(&t.id, &stop).await;
    app.from_meta(&t.id, &stop).await;
    let log = wait_log(t, 3).await;
    assert_eq!(log[0]["outcome"], "opted_out", "{log:?}");
    let opted_out = receiver.wait_for(1, Duration::from_secs(20)).await;
    let event: Value = serde_json::from_str(&opted_out[0].body).expect("JSON");
    let contact = contact_of(t, C).await;
    assert_eq!(contact["optedOut"], true, "{contact}");
    assert_eq!(contact["optOutSource"], "message");
    assert!(contact["optedOutAt"].is_string());
    assert_eq!(event["event"], "contact.opted_out");
    assert_eq!(event["contactId"], contact["id"]);
    assert_eq!(event["phone"], C);
    assert_eq!(event["source"], "message");
    assert_eq!(event["messageId"], wamid.as_str());
    // Exactly one confirmation, no rule, no AI.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        sent_to(&e, C),
        vec!["You will no longer receive messages from us. Reply START to subscribe again."]
    );
    assert_eq!(
        e.ai.requests().len(),
        ai_before,
        "the AI never saw the STOP"
    );
    assert!(t
        .reply_log()
        .await
        .iter()
        .all(|l| l["outcome"] != "keyword"));
    assert_eq!(events(&receiver, "contact.opted_out").len(), 1);

    // Anything else C writes now gets no automatic reply.
    says(&e, C, "is the stop rule still there?").await;
    let log = wait_log(t, 4).await;
    assert_eq!(log[0]["outcome"], "opted_out_no_reply", "{log:?}");
    assert_eq!(sent_to(&e, C).len(), 1);
    assert_eq!(e.ai.requests().len(), ai_before);

    // The contact list by consent: one query a page.
    let out = t.get_ok("/api/contacts?optedOut=true").await;
    let phones: Vec<&str> = out["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["phone"].str())
        .collect();
    assert_eq!(phones, vec![C]);
    let subscribed = t.get_ok("/api/contacts?optedOut=false").await;
    let mut phones: Vec<&str> = subscribed["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["phone"].str())
        .collect();
    phones.sort();
    assert_eq!(phones, vec![A, B]);

    // A campaign of three: two sent, C skipped with opted_out, the counts add up, and no
    // daily unit for C.
    let used_before = t.usage().await["messagesPerDay"]["used"].u64();
    let id = t
        .campaign_id(json!({"name": "Promo", "message": "Hi {{name}}: 20% off today", "delaySeconds": 1,
            "recipients": [{"name": "A", "phone": A}, {"name": "C", "phone": C}, {"name": "B", "phone": B}]}))
        .await;
    t.run_campaign(&id).await.ok();
    let done = wait_campaign(t, &id).await;
    assert_eq!(
        (
            done["total"].u64(),
            done["sent"].u64(),
            done["failed"].u64(),
            done["skipped"].u64()
        ),
        (3, 2, 0, 1),
        "{done}"
    );
    assert_eq!(
        done["pending"].u64() + done["queued"].u64() + done["cancelled"].u64(),
        0
    );
    let listed = t.all_recipients(&id, 10).await;
    let third: Vec<&Value> = listed.iter().filter(|r| r["phone"] == C).collect();
    assert_eq!(third[0]["status"], "skipped", "{listed:?}");
    assert_eq!(third[0]["error"], "opted_out");
    assert!(third[0].get("messageId").is_none());
    assert_eq!(sent_to(&e, A).len(), 2, "the AI's reply and the campaign's");
    assert_eq!(sent_to(&e, B).len(), 2);
    assert_eq!(sent_to(&e, C).len(), 1, "only the confirmation");
    assert_eq!(
        t.usage().await["messagesPerDay"]["used"].u64(),
        used_before + 2,
        "no daily unit for the skipped recipient"
    );

    // /send and /send-media to C: 422, Meta never sees them, nothing is recorded.
    let before = e.meta.requests().len();
    let refused = t
        .send_message(json!({"to": format!("+{C}"), "message": "Direct"}))
        .await;
    let error = refused.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error.contains("opted out"), "{error}");
    let media = t
        .send_media(json!({"to": C, "type": "image", "url": "https://127.0.0.1:9/a.png"}))
        .await;
    assert!(media
        .error(StatusCode::UNPROCESSABLE_ENTITY)
        .contains("opted out"));
    assert_eq!(e.meta.requests().len(), before);
    assert_eq!(
        t.usage().await["messagesPerDay"]["used"].u64(),
        used_before + 2
    );

    // START reverses it: one opt-in confirmation, contact.opted_in, sends go through.
    says(&e, C, "START").await;
    receiver.wait_for(2, Duration::from_secs(20)).await;
    let opted_in = events(&receiver, "contact.opted_in");
    assert_eq!(opted_in.len(), 1);
    assert_eq!(opted_in[0]["source"], "message");
    let contact = contact_of(t, C).await;
    assert_eq!(contact["optedOut"], false, "{contact}");
    assert!(contact.get("optedOutAt").is_none());
    let confirmations = eventually(
        "the opt-in confirmation",
        Duration::from_secs(15),
        || async {
            let s = sent_to(&e, C);
            (s.len() == 2).then_some(s)
        },
    )
    .await;
    assert_eq!(
        confirmations[1],
        "You are subscribed again. Reply STOP to stop receiving messages from us."
    );
    let log = t.reply_log().await;
    assert_eq!(log[0]["outcome"], "opted_in", "{log:?}");
    let sent = t
        .send_message(json!({"to": C, "message": "Welcome back"}))
        .await
        .ok();
    assert_eq!(sent["to"], C);
    assert_eq!(sent_to(&e, C).len(), 3);
    // A START from someone who never opted out is an ordinary message: the AI answers.
    says(&e, A, "start").await;
    eventually("the AI's answer to A", Duration::from_secs(15), || async {
        (sent_to(&e, A).len() == 3).then_some(())
    })
    .await;
    assert_eq!(events(&receiver, "contact.opted_in").len(), 1);
}

#[tokio::test]
async fn settings_words_and_the_contacts_api_decide_consent() {
    let e = env_with("pro", true, &[]).await;
    let (app, t) = (&e.app, &e.tenant);
    let receiver = consent_receiver(&e, "EAAGsettings").await;

    // Defaults, with the languages' equivalents.
    let settings = t.get_ok("/api/settings/opt-out").await;
    assert_eq!(settings["blockDirectSends"], true);
    assert_eq!(
        settings["confirmation"],
        "You will no longer receive messages from us. Reply START to subscribe again."
    );
    let words: Vec<&str> = settings["optOutWords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.str())
        .collect();
    for w in [
        "STOP",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "OPTOUT",
        "OPT OUT",
        "BAJA",
        "СТОП",
        "بند کریں",
    ] {
        assert!(words.contains(&w), "{w} missing from {words:?}");
    }
    // Bad settings name the field.
    let bad = json!({"optOutWords": []});
    t.put("/api/settings/opt-out", &bad)
        .await
        .expect_bad_request("\"optOutWords\" must hold at least one word", &bad);
    let clash = json!({"optOutWords": ["halt"], "optInWords": ["HALT!"]});
    let msg = t
        .put("/api/settings/opt-out", &clash)
        .await
        .error(StatusCode::BAD_REQUEST);
    assert!(msg.starts_with("\"optInWords[0]\""), "{msg}");
    let unknown = json!({"words": ["x"]});
    t.put("/api/settings/opt-out", &unknown)
        .await
        .error(StatusCode::BAD_REQUEST);

    // The tenant's own words and confirmation; direct sends allowed.
    let changed = t
        .put(
            "/api/settings/opt-out",
            json!({"optOutWords": ["HALT", "basta ya"], "confirmation": "Done, no more messages.", "blockDirectSends": false}),
        )
        .await
        .ok();
    assert_eq!(changed["optOutWords"], json!(["HALT", "basta ya"]));
    assert_eq!(
        changed["optInWords"], settings["optInWords"],
        "absent fields are kept"
    );
    says(&e, C, "stop").await; // no longer an opt-out word: an ordinary message
    says(&e, B, "Basta   YA!").await;
    let log = wait_log(t, 1).await;
    assert_eq!(log[0]["outcome"], "opted_out");
    assert_eq!(log[0]["peer"], B);
    eventually("the confirmation", Duration::from_secs(15), || async {
        (sent_to(&e, B) == vec!["Done, no more messages."]).then_some(())
    })
    .await;
    assert_eq!(contact_of(t, C).await["optedOut"], false);
    // blockDirectSends false: a direct send to B goes out; a campaign still skips B.
    let sent = t
        .send_message(json!({"to": B, "message": "Your order shipped"}))
        .await
        .ok();
    assert_eq!(sent["status"], "sent");
    assert_eq!(sent_to(&e, B).len(), 2);

    // The contacts API: opt-out and opt-in with source api, one event each, idempotent.
    let id = contact_of(t, C).await["id"].string();
    let out = t
        .post_empty(&format!("/api/contacts/{id}/opt-out"))
        .await
        .ok();
    assert_eq!(out["contact"]["optedOut"], true);
    assert_eq!(out["contact"]["optOutSource"], "api");
    let again = t
        .post_empty(&format!("/api/contacts/{id}/opt-out"))
        .await
        .ok();
    assert_eq!(again["contact"]["optedOutAt"], out["contact"]["optedOutAt"]);
    let got = t.get_ok(&format!("/api/contacts/{id}")).await;
    assert_eq!(got["contact"]["optOutSource"], "api");
    let hits = receiver.wait_for(2, Duration::from_secs(20)).await;
    let api_events: Vec<Value> = hits
        .iter()
        .map(|h| serde_json::from_str::<Value>(&h.body).expect("JSON"))
        .filter(|v| v["source"] == "api")
        .collect();
    assert_eq!(api_events.len(), 1, "{api_events:?}");
    assert_eq!(api_events[0]["event"], "contact.opted_out");
    assert_eq!(api_events[0]["contactId"], id.as_str());
    let page = t.get("/api/contacts?optedOut=true").await;
    assert_eq!(
        page.count("x-aws-calls"),
        2,
        "authentication and one query of the page"
    );
    let listed = page.ok();
    assert_eq!(listed["contacts"].as_array().map(Vec::len), Some(2));
    let back = t
        .post_empty(&format!("/api/contacts/{id}/opt-in"))
        .await
        .ok();
    assert_eq!(back["contact"]["optedOut"], false);
    receiver.wait_for(3, Duration::from_secs(20)).await;
    assert_eq!(events(&receiver, "contact.opted_in").len(), 1);
    t.post_empty("/api/contacts/0193a6f2-7c1e-7d4b-9a51-3f0c2b8e4d11/opt-out")
        .await
        .expect_error(StatusCode::NOT_FOUND, "Contact not found");
    let both = t.get("/api/contacts?optedOut=true&tag=vip").await;
    both.error(StatusCode::BAD_REQUEST);

    // "optedOut": true in a bulk upsert opts out (source api); false never opts back in.
    let report = t
        .upsert_contacts(json!([{"phone": "+92 300 5550001", "optedOut": true}, {"phone": B, "optedOut": false}]))
        .await;
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(report["unchanged"], 1, "{report}");
    let new = contact_of(t, "923005550001").await;
    assert_eq!(
        (new["optedOut"].clone(), new["optOutSource"].clone()),
        (json!(true), json!("api"))
    );
    assert_eq!(contact_of(t, B).await["optedOut"], true);
    let _ = app;
}

/// Contacts saved before consent existed have no consent copy; the admin backfill gives
/// them one, so `?optedOut=` lists them, and running it again changes nothing.
#[tokio::test]
async fn the_backfill_gives_older_contacts_their_consent_copy() {
    let (app, t) = TestApp::with_tenant("pro").await;
    t.upsert_contacts(json!([{"phone": A}, {"phone": B}, {"phone": C, "optedOut": true}]))
        .await;
    for out in ["IN", "OUT"] {
        app.delete_partition(&format!("TENANT#{}#CONSENT#{out}", t.id))
            .await;
    }
    let phones = |out: bool| {
        let t = &t;
        async move {
            let page = t.get_ok(&format!("/api/contacts?optedOut={out}")).await;
            let mut phones: Vec<String> = page["contacts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["phone"].str().to_string())
                .collect();
            phones.sort();
            phones
        }
    };
    assert!(
        phones(false).await.is_empty(),
        "older contacts are not listed"
    );

    for _ in 0..2 {
        let out = app
            .cli(&["contacts", "backfill-consent", "--tenant", &t.id])
            .await
            .unwrap();
        let out: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        assert_eq!(out["tenants"], 1, "{out}");
        assert_eq!(out["report"]["contacts"], 3, "{out}");
        assert_eq!(out["report"]["written"], 3, "{out}");
        assert_eq!(phones(false).await, vec![A, B]);
        assert_eq!(phones(true).await, vec![C]);
    }

    let unknown = app
        .cli(&["contacts", "backfill-consent", "--tenant", "no-such-tenant"])
        .await;
    assert!(unknown.is_err_and(|e| e.contains("no tenant")));
}
