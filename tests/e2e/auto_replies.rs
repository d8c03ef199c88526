//! Keyword rules, AI settings and the reply log over HTTP.

use chrono::Duration;
use wati_shared::store::auto_replies::{ReplyLogEntry, ReplyOutcome};
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
    let app = TestApp::start().await;
    let t = app.create_tenant("pro").await;
    let v0 = app.state.store.rules_version(&t.id).await.unwrap_or(99);
    let (status, _, created) = parts(
        app.req(Method::POST, "/api/auto-replies", Some(&t.key))
            .json(&spec_rule())
            .send()
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let rule = &created["rule"];
    assert_eq!(rule["keyword"], "price");
    assert_eq!(rule["match_type"], "contains");
    assert_eq!(rule["responses"].as_array().map(Vec::len), Some(2));
    assert_eq!(rule["response"], "Our pricing: https://wati.pro/pricing");
    assert_eq!(rule["step_delay_seconds"], 2);
    assert_eq!(rule["active"], true);
    let id = rule["id"].as_str().unwrap_or_default().to_string();
    assert!(
        app.state.store.rules_version(&t.id).await.unwrap_or(0) > v0,
        "cached matchers learn of the change"
    );

    let (_, _, list) = parts(
        app.req(Method::GET, "/api/auto-replies", Some(&t.key))
            .send()
            .await,
    )
    .await;
    assert_eq!(list["rules"][0]["id"], id.as_str());

    let (status, _, patched) = parts(
        app.req(
            Method::PATCH,
            &format!("/api/auto-replies/{id}"),
            Some(&t.key),
        )
        .json(&json!({"active": false, "match_type": "exact", "response": "Only one now"}))
        .send()
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["rule"]["active"], false);
    assert_eq!(patched["rule"]["match_type"], "exact");
    assert_eq!(patched["rule"]["responses"], json!(["Only one now"]));
    assert_eq!(patched["rule"]["keyword"], "price", "untouched fields stay");

    let (status, _, body) = parts(
        app.req(Method::DELETE, "/api/auto-replies", Some(&t.key))
            .json(&json!({"id": id}))
            .send()
            .await,
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"deleted": id})));
    let (status, _, _) = parts(
        app.req(Method::DELETE, "/api/auto-replies", Some(&t.key))
            .json(&json!({"id": id}))
            .send()
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, _, list) = parts(
        app.req(Method::GET, "/api/auto-replies", Some(&t.key))
            .send()
            .await,
    )
    .await;
    assert_eq!(list["rules"], json!([]));
}

#[tokio::test]
async fn the_rule_cap_holds_under_concurrency_and_frees_on_delete() {
    let app = TestApp::start().await;
    let t = app.create_tenant("free").await;
    let (app, t) = (&app, &t);
    let attempts = (0..10).map(|i| async move {
        let mut body = spec_rule();
        body["keyword"] = json!(format!("kw{i}"));
        parts(
            app.req(Method::POST, "/api/auto-replies", Some(&t.key))
                .json(&body)
                .send()
                .await,
        )
        .await
    });
    let results = futures::future::join_all(attempts).await;
    let created: Vec<&Value> = results
        .iter()
        .filter(|r| r.0 == StatusCode::CREATED)
        .map(|r| &r.2)
        .collect();
    assert_eq!(created.len(), 3, "free plan: 3 rules");
    for (status, _, body) in results.iter().filter(|r| r.0 != StatusCode::CREATED) {
        assert_eq!(*status, StatusCode::CONFLICT);
        assert_eq!(
            body["error"],
            "Keyword auto-reply rule limit reached (3 on the free plan)"
        );
    }
    let (_, _, usage) = parts(
        app.req(Method::GET, "/api/usage", Some(&t.key))
            .send()
            .await,
    )
    .await;
    assert_eq!(usage["autoReplyRules"]["used"], 3);

    let id = created[0]["rule"]["id"].clone();
    let (status, _, _) = parts(
        app.req(Method::DELETE, "/api/auto-replies", Some(&t.key))
            .json(&json!({"id": id}))
            .send()
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = parts(
        app.req(Method::POST, "/api/auto-replies", Some(&t.key))
            .json(&spec_rule())
            .send()
            .await,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a deleted rule frees its place"
    );
}

#[tokio::test]
async fn bad_rules_are_400s_and_other_tenants_rules_are_404s() {
    let app = TestApp::start().await;
    let t = app.create_tenant("pro").await;
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
        let (status, _, res) = parts(
            app.req(Method::POST, "/api/auto-replies", Some(&t.key))
                .json(&body)
                .send()
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let message = res["error"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{body}: {message}");
    }

    let (_, _, created) = parts(
        app.req(Method::POST, "/api/auto-replies", Some(&t.key))
            .json(&spec_rule())
            .send()
            .await,
    )
    .await;
    let id = created["rule"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let other = app.create_tenant("pro").await;
    let (status, _, _) = parts(
        app.req(
            Method::PATCH,
            &format!("/api/auto-replies/{id}"),
            Some(&other.key),
        )
        .json(&json!({"active": false}))
        .send()
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = parts(
        app.req(Method::DELETE, "/api/auto-replies", Some(&other.key))
            .json(&json!({"id": id}))
            .send()
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, _, list) = parts(
        app.req(Method::GET, "/api/auto-replies", Some(&other.key))
            .send()
            .await,
    )
    .await;
    assert_eq!(list["rules"], json!([]));
    let (status, _, _) = parts(
        app.req(
            Method::PATCH,
            &format!("/api/auto-replies/{id}"),
            Some(&t.key),
        )
        .json(&json!({}))
        .send()
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn ai_settings_round_trip_with_the_plans_daily_limit() {
    let app = TestApp::start().await;
    let t = app.create_tenant("starter").await;
    let (status, _, body) = parts(
        app.req(Method::GET, "/api/ai-settings", Some(&t.key))
            .send()
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"enabled": false, "systemPrompt": "", "fallbackLanguage": "English", "dailyLimit": 100})
    );
    let put = json!({"enabled": true, "systemPrompt": "You are Acme's friendly assistant.", "fallbackLanguage": "Urdu"});
    let (status, _, body) = parts(
        app.req(Method::PUT, "/api/ai-settings", Some(&t.key))
            .json(&put)
            .send()
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["enabled"], true);
    let (_, _, body) = parts(
        app.req(Method::GET, "/api/ai-settings", Some(&t.key))
            .send()
            .await,
    )
    .await;
    assert_eq!(body["systemPrompt"], "You are Acme's friendly assistant.");
    assert_eq!(body["fallbackLanguage"], "Urdu");
    for bad in [
        json!({"systemPrompt": "x"}),
        json!({"enabled": true, "systemPrompt": "x".repeat(4001)}),
        json!({"enabled": true, "fallbackLanguage": ""}),
    ] {
        let (status, _, _) = parts(
            app.req(Method::PUT, "/api/ai-settings", Some(&t.key))
                .json(&bad)
                .send()
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn the_reply_log_pages_newest_first_and_hides_expired_entries() {
    let app = TestApp::start().await;
    let t = app.create_tenant("pro").await;
    let now = app.clock.now();
    let entry = |i: usize, outcome| ReplyLogEntry {
        id: format!("e{i}"),
        at: wati_shared::domain::time::iso(now),
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
        .unwrap_or_else(|e| panic!("{e}"));
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
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let (status, _, page) = parts(
        app.req(Method::GET, "/api/auto-replies/log?limit=2", Some(&t.key))
            .send()
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = page["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert_eq!(ids, vec!["e3", "e2"]);
    assert_eq!(page["entries"][0]["outcome"], "quota_exceeded");
    let cursor = page["nextCursor"].as_str().unwrap_or_default();
    let (_, _, page) = parts(
        app.req(
            Method::GET,
            &format!("/api/auto-replies/log?limit=2&cursor={cursor}"),
            Some(&t.key),
        )
        .send()
        .await,
    )
    .await;
    let ids: Vec<&str> = page["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert_eq!(ids, vec!["e1"], "the expired entry is not shown");
    assert_eq!(page["entries"][0]["ruleId"], "rule-1");
    // Another tenant's cursor is refused.
    let other = app.create_tenant("pro").await;
    let (status, _, _) = parts(
        app.req(
            Method::GET,
            &format!("/api/auto-replies/log?cursor={cursor}"),
            Some(&other.key),
        )
        .send()
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
