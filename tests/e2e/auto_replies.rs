//! Keyword rules, AI settings and the reply log over HTTP.

use chrono::Duration;
use wati_tests::shared::store::{ReplyLogEntry, ReplyOutcome};
use wati_tests::*;

fn spec_rule() -> Value {
    // The spec's own example body.
    json!({
        "keyword": "price",
        "match_type": "contains",
        "response": "Our pricing: https://wati.pro/pricing",
        "responses": [
            "Our pricing: https://wati.pro/pricing",
            "Need a custom quote? Reply YES."
        ],
        "step_delay_seconds": 2,
        "active": true
    })
}

#[tokio::test]
async fn rules_are_created_listed_changed_and_deleted() {
    let (app, t) = TestApp::with_tenant("pro").await;
    let v0 = app
        .state
        .store
        .rules_version(&t.id)
        .await
        .expect("the store answers");
    let created = t
        .post("/api/auto-replies", spec_rule())
        .await
        .expect(StatusCode::CREATED);
    let rule = &created["rule"];
    assert_eq!(rule["keyword"], "price");
    assert_eq!(rule["match_type"], "contains");
    assert_eq!(rule["responses"].as_array().map(Vec::len), Some(2));
    assert_eq!(rule["response"], "Our pricing: https://wati.pro/pricing");
    assert_eq!(rule["step_delay_seconds"], 2);
    assert_eq!(rule["active"], true);
    let id = rule["id"].string();
    assert!(
        app.state
            .store
            .rules_version(&t.id)
            .await
            .expect("the store answers")
            > v0,
        "cached matchers learn of the change"
    );

    let list = t.get("/api/auto-replies").await.body;
    assert_eq!(list["rules"][0]["id"], id.as_str());

    let patched = t
        .patch(
            &format!("/api/auto-replies/{id}"),
            json!({"active": false, "match_type": "exact", "response": "Only one now"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(patched["rule"]["active"], false);
    assert_eq!(patched["rule"]["match_type"], "exact");
    assert_eq!(patched["rule"]["responses"], json!(["Only one now"]));
    assert_eq!(patched["rule"]["keyword"], "price", "untouched fields stay");

    let Reply { status, body, .. } = t.delete_json("/api/auto-replies", json!({"id": id})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"deleted": id})));
    assert_eq!(
        t.delete_json("/api/auto-replies", json!({"id": id}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let list = t.get("/api/auto-replies").await.body;
    assert_eq!(list["rules"], json!([]));
}

#[tokio::test]
async fn the_rule_cap_holds_under_concurrency_and_frees_on_delete() {
    let (_app, t) = TestApp::with_tenant("free").await;
    let t = &t;
    let attempts = (0..10).map(|i| async move {
        let mut body = spec_rule();
        body["keyword"] = json!(format!("kw{i}"));
        t.post("/api/auto-replies", body).await
    });
    let results = futures::future::join_all(attempts).await;
    let created = created_within_cap(
        &results,
        3,
        "Keyword auto-reply rule limit reached (3 on the free plan)",
    );
    assert_eq!(t.usage().await["autoReplyRules"]["used"], 3);

    let id = created[0]["rule"]["id"].clone();
    assert_eq!(
        t.delete_json("/api/auto-replies", json!({"id": id}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        t.post("/api/auto-replies", spec_rule()).await.status,
        StatusCode::CREATED,
        "a deleted rule frees its place"
    );
}

#[tokio::test]
async fn bad_rules_are_400s_and_other_tenants_rules_are_404s() {
    let (app, t) = TestApp::with_tenant("pro").await;
    let cases = [
        (json!({"response": "x"}), "\"keyword\" is required"),
        (
            json!({"keyword": "  ", "response": "x"}),
            "\"keyword\" must not be empty",
        ),
        (
            json!({"keyword": "k".repeat(101), "response": "x"}),
            "\"keyword\" must be at most 100 characters",
        ),
        (
            json!({"keyword": "k"}),
            "Send \"response\" or a non-empty \"responses\" list",
        ),
        (
            json!({"keyword": "k", "responses": ["a", " "]}),
            "\"responses[1]\" must not be empty",
        ),
        (
            json!({"keyword": "k", "response": "x".repeat(4097)}),
            "\"responses[0]\" must be at most 4096 characters",
        ),
        (
            json!({"keyword": "k", "response": "x", "match_type": "regex"}),
            "Invalid \"match_type\"",
        ),
        (
            json!({"keyword": "k", "response": "x", "step_delay_seconds": 61}),
            "\"step_delay_seconds\" must be between 0 and 60",
        ),
        (
            json!({"keyword": "k", "response": "x", "colour": 1}),
            "unknown field `colour`",
        ),
    ];
    for (body, expected) in cases {
        let Reply {
            status, body: res, ..
        } = t.post("/api/auto-replies", &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let message = res["error"].str();
        assert!(message.contains(expected), "{body}: {message}");
    }

    let id = t.create_rule(spec_rule()).await;
    let other = app.tenant("pro").await;
    assert_eq!(
        other
            .patch(&format!("/api/auto-replies/{id}"), json!({"active": false}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other
            .delete_json("/api/auto-replies", json!({"id": id}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let list = other.get("/api/auto-replies").await.body;
    assert_eq!(list["rules"], json!([]));
    assert_eq!(
        t.patch(&format!("/api/auto-replies/{id}"), json!({}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn ai_settings_round_trip_with_the_plans_daily_limit() {
    let (_app, t) = TestApp::with_tenant("starter").await;
    let body = t.get_ok("/api/ai-settings").await;
    assert_eq!(
        body,
        json!({"enabled": false, "systemPrompt": "", "fallbackLanguage": "English",
               "onlyOutsideWorkingHours": false, "dailyLimit": 100})
    );
    let put = json!({"enabled": true, "systemPrompt": "You are Acme's friendly assistant.", "fallbackLanguage": "Urdu"});
    let body = t.put("/api/ai-settings", put).await.expect(StatusCode::OK);
    assert_eq!(body["enabled"], true);
    let body = t.get("/api/ai-settings").await.body;
    assert_eq!(body["systemPrompt"], "You are Acme's friendly assistant.");
    assert_eq!(body["fallbackLanguage"], "Urdu");
    for bad in [
        json!({"systemPrompt": "x"}),
        json!({"enabled": true, "systemPrompt": "x".repeat(4001)}),
        json!({"enabled": true, "fallbackLanguage": ""}),
    ] {
        assert_eq!(
            t.put("/api/ai-settings", &bad).await.status,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn the_reply_log_pages_newest_first_and_hides_expired_entries() {
    let (app, t) = TestApp::with_tenant("pro").await;
    let now = app.clock.now();
    let entry = |i: usize, outcome| ReplyLogEntry {
        id: format!("e{i}"),
        at: iso(now),
        conversation_id: "conv-1".into(),
        peer: "923001234567".into(),
        rule_id: if outcome == ReplyOutcome::Keyword {
            "rule-1".into()
        } else {
            "ai".into()
        },
        outcome,
        detail: None,
    };
    // One entry older than the log keeps: DynamoDB's TTL may not have removed it yet.
    app.state
        .store
        .log_reply(&t.id, &entry(0, ReplyOutcome::Ai), now - Duration::days(91))
        .await
        .unwrap();
    let outcomes = [
        ReplyOutcome::Keyword,
        ReplyOutcome::Ai,
        ReplyOutcome::QuotaExceeded,
    ];
    for (i, o) in outcomes.into_iter().enumerate() {
        app.state
            .store
            .log_reply(&t.id, &entry(i + 1, o), now + Duration::seconds(i as i64))
            .await
            .unwrap();
    }
    let page = t.get_ok("/api/auto-replies/log?limit=2").await;
    let ids: Vec<&str> = page["entries"].strs("id");
    assert_eq!(ids, vec!["e3", "e2"]);
    assert_eq!(page["entries"][0]["outcome"], "quota_exceeded");
    let cursor = page["nextCursor"].str();
    let page = t
        .get(&format!("/api/auto-replies/log?limit=2&cursor={cursor}"))
        .await
        .body;
    let ids: Vec<&str> = page["entries"].strs("id");
    assert_eq!(ids, vec!["e1"], "the expired entry is not shown");
    assert_eq!(page["entries"][0]["ruleId"], "rule-1");
    // Another tenant's cursor is refused.
    let other = app.tenant("pro").await;
    assert_eq!(
        other
            .status_of(&format!("/api/auto-replies/log?cursor={cursor}"))
            .await,
        StatusCode::BAD_REQUEST
    );
}
