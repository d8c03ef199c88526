//! Analytics: counters kept on write, the summary of a period and its daily CSV.

use chrono::{Duration as Days, Utc};
use std::time::Duration;
use wati_tests::fake_meta::GraphReply;
use wati_tests::shared::analytics::{self, CountAt, Tally};
use wati_tests::*;

const PHONE_ID: &str = "106540352242944";
const KEYWORD_CUSTOMER: &str = "923001110001";
/// The customer of `meta_text`.
const AI_CUSTOMER: &str = "923001234567";

/// Today as `YYYY-MM-DD` at an offset of `hours` from UTC.
fn local_day(hours: i64) -> String {
    (Utc::now() + Days::hours(hours)).date_naive().to_string()
}

fn messages(s: &Value) -> (i64, i64, i64, i64, i64) {
    let m = &s["messages"];
    let n = |k: &str| m[k].as_i64().unwrap_or(-1);
    (
        n("outbound"),
        n("inbound"),
        n("delivered"),
        n("read"),
        n("failed"),
    )
}

/// The day of `daily` with this date.
fn day<'a>(s: &'a Value, date: &str) -> &'a Value {
    s["daily"]
        .array()
        .iter()
        .find(|d| d["date"] == date)
        .unwrap_or_else(|| panic!("no day {date} in {s}"))
}

#[tokio::test]
async fn the_summary_counts_each_event_once_on_the_right_local_day() {
    // Boxed: the whole flow is a large future.
    Box::pin(every_event_once()).await;
}

async fn every_event_once() {
    let fakes = Fakes::spawn().await;
    let app = TestApp::start_with(fakes.options().roomy_keys()).await;
    let _workers = app.spawn_workers();
    let t = app.tenant("pro").await;
    let sandbox = t.sandbox_device().await;
    let cloud = t.cloud_device(&fakes.meta, PHONE_ID, "EAAGanalytics").await;
    t.create_rule(json!({"keyword": "price", "match_type": "contains", "response": "See https://wati.pro/pricing"}))
        .await;
    t.enable_ai("You are Acme Support.").await;

    // 3 sandbox sends (one a template), 1 Cloud API send Meta refuses.
    for i in 0..2 {
        let to = format!("+92300200000{i}");
        t.send_message(json!({"to": to, "message": "Hello", "deviceId": sandbox}))
            .await
            .expect(StatusCode::OK);
    }
    t.send_message(
        json!({"to": "+923002000009", "message": "Welcome!", "deviceId": sandbox,
        "template": {"name": "welcome", "language": "en"}}),
    )
    .await
    .expect(StatusCode::OK);
    fakes
        .meta
        .push(GraphReply::error(400, 131026, "Message undeliverable."));
    let refused = t
        .send_message(
            json!({"to": "+923002000010", "message": "order update", "deviceId": cloud,
            "template": {"name": "order_update", "language": "en_US"}}),
        )
        .await;
    assert!(refused.status.is_client_error() || refused.status.is_server_error());

    // A 2-recipient campaign.
    let campaign = t
        .campaign_id(json!({"name": "Analytics blast", "message": "Hi {{name}}", "deviceId": sandbox,
            "recipients": [{"name": "A", "phone": "+923005550001"}, {"name": "B", "phone": "+923005550002"}]}))
        .await;
    t.run_campaign(&campaign).await.expect(StatusCode::OK);

    // 2 inbound messages: a keyword reply (sandbox) and an AI reply (Cloud API).
    t.sandbox_says(&sandbox, KEYWORD_CUSTOMER, "what is the price?")
        .await;
    let inbound = meta_text(PHONE_ID, "wamid.ANALYTICS1", "hello there", now_ts());
    app.from_meta(&t.id, &inbound).await;

    // The AI reply went to Meta: Meta reports it read (never delivered first).
    let ai_wamid = eventually("the AI reply", Duration::from_secs(30), || async {
        let h = app
            .state
            .store
            .conversation_history(&t.id, AI_CUSTOMER, 10)
            .await
            .ok()?;
        h.into_iter()
            .find(|e| e.direction == wati_tests::shared::store::Direction::Out)
            .and_then(|e| e.wa_message_id)
    })
    .await;
    let read = meta_status(PHONE_ID, &ai_wamid, "read", now_ts());
    app.from_meta(&t.id, &read).await;

    // Everything settles: 7 out (3 sends, 2 campaign messages, 2 automatic replies), all
    // read in the end (the sandbox reports delivered then read).
    let today = local_day(0);
    let q = format!("from={today}&to={today}");
    let s = eventually("every status", Duration::from_secs(60), || async {
        let s = t.analytics(&q).await.body;
        (messages(&s) == (7, 2, 7, 7, 1)).then_some(s)
    })
    .await;
    assert_eq!(s["from"], today.as_str());
    assert_eq!(s["tz"], "+00:00");
    assert_eq!(s["daily"].array().len(), 1);
    assert_eq!(
        day(&s, &today)["outbound"],
        7,
        "the daily rows add up to the total: {s}"
    );
    let c = &s["campaigns"];
    assert_eq!(
        (
            c["count"].as_i64(),
            c["sent"].as_i64(),
            c["failed"].as_i64()
        ),
        (Some(1), Some(2), Some(0))
    );
    assert_eq!(c["successRate"], 1.0);
    assert_eq!(
        c["items"],
        json!([{"id": campaign, "name": "Analytics blast", "sent": 2, "failed": 0, "successRate": 1.0,
                "delivered": 2, "read": 2, "readRate": 1.0}])
    );
    assert_eq!(
        s["autoReplies"],
        json!({"keyword": 1, "ai": 1, "quotaExceeded": 0, "aiError": 0, "sendFailed": 0, "away": 0,
            "keywordShare": 0.5, "aiShare": 0.5})
    );
    assert_eq!(
        s["templates"],
        json!([
            {"name": "welcome", "language": "en", "sent": 1, "delivered": 1, "read": 1, "failed": 0, "readRate": 1.0},
            {"name": "order_update", "language": "en_US", "sent": 0, "delivered": 0, "read": 0, "failed": 1, "readRate": null}
        ])
    );
    assert_eq!(s["inbox"]["conversationsOpened"], 2);
    assert_eq!(s["previous"]["messages"]["outbound"], 0);

    // Redelivering the same Meta webhooks five times changes nothing.
    for _ in 0..5 {
        app.from_meta(&t.id, &inbound).await;
        app.from_meta(&t.id, &read).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(t.analytics(&q).await.body, s, "redeliveries count nothing");

    // +05:00 puts the same events on the local day they happened there; an offset that
    // crosses midnight moves them to another date than UTC's.
    let plus5 = local_day(5);
    let s5 = t
        .analytics(&format!("from={plus5}&to={plus5}&tz=%2B05:00"))
        .await
        .body;
    assert_eq!(s5["tz"], "+05:00");
    assert_eq!(messages(&s5), (7, 2, 7, 7, 1), "{s5}");
    let hours: i64 = if chrono::Timelike::hour(&Utc::now()) < 12 {
        -12
    } else {
        12
    };
    let other = local_day(hours);
    assert_ne!(other, today);
    let tz = if hours < 0 { "-12:00" } else { "%2B12:00" };
    let (lo, hi) = (
        today.clone().min(other.clone()),
        today.clone().max(other.clone()),
    );
    let moved = t
        .analytics(&format!("from={lo}&to={hi}&tz={tz}"))
        .await
        .body;
    assert_eq!(day(&moved, &other)["outbound"], 7, "{moved}");
    assert_eq!(day(&moved, &today)["outbound"], 0, "{moved}");

    // The CSV has the same rows.
    let csv = t
        .builder(
            Method::GET,
            &format!("/api/public/v1/analytics/daily.csv?from={today}&to={today}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(header(csv.headers(), "content-type").starts_with("text/csv"));
    assert_eq!(
        csv.text().await.unwrap(),
        format!("date,outbound,inbound,delivered,read,failed\n{today},7,2,7,7,1\n")
    );
}

#[tokio::test]
async fn a_period_has_every_day_and_bad_parameters_are_named() {
    let (_app, t) = TestApp::with_tenant("pro").await;
    let s = t.analytics("").await.body;
    assert_eq!(s["daily"].array().len(), 30, "the last 30 days by default");
    assert_eq!(s["to"], local_day(0).as_str());
    assert!(s["daily"].array().iter().all(|d| d["outbound"] == 0));
    assert_eq!(s["campaigns"]["successRate"], Value::Null);
    assert_eq!(s["autoReplies"]["keywordShare"], Value::Null);
    assert_eq!(s["inbox"]["medianFirstResponseSeconds"], Value::Null);
    let s = t
        .analytics("from=2026-01-01&to=2026-04-02&tz=-03:30")
        .await
        .body;
    assert_eq!(s["daily"].array().len(), 92);
    assert_eq!(
        (s["previous"]["from"].str(), s["previous"]["to"].str()),
        ("2025-10-01", "2025-12-31")
    );
    // An unencoded `+` arrives as a space: still the offset meant.
    assert_eq!(t.analytics("tz=+05:30").await.body["tz"], "+05:30");

    for (query, names) in [
        ("from=2026-01-01&to=2026-04-03", "at most 92 days"),
        ("from=2026-02-01&to=2026-01-01", "must not be after"),
        ("from=2026-13-01", "\"from\" must be a date"),
        ("to=yesterday", "\"to\" must be a date"),
        ("tz=%2B05:15", "\"tz\" must be an offset"),
        ("tz=UTC", "\"tz\" must be an offset"),
        ("deviceId=nope", "\"deviceId\" must be a device id"),
    ] {
        for path in ["summary", "daily.csv"] {
            let r = t
                .get(&format!("/api/public/v1/analytics/{path}?{query}"))
                .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.body);
            assert!(r.body["error"].str().contains(names), "{query}: {}", r.body);
        }
    }
}

#[tokio::test]
async fn only_managers_and_up_and_api_keys_read_analytics() {
    let (app, t) = TestApp::with_tenant("pro").await;
    t.analytics("").await;
    let agent = t.member(&app, "agent").await;
    assert_eq!(
        agent.status_of("/api/public/v1/analytics/summary").await,
        StatusCode::FORBIDDEN
    );
    let manager = t.member(&app, "manager").await;
    manager.analytics("").await;
    let csv = manager
        .builder(Method::GET, "/api/public/v1/analytics/daily.csv")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert_eq!(
        app.anonymous()
            .status_of("/api/public/v1/analytics/summary")
            .await,
        StatusCode::UNAUTHORIZED
    );
}

/// Adds `n` outbound messages (with their statuses) to a device's counters at `at`.
async fn add_outbound(
    app: &TestApp,
    tenant_id: &str,
    device: &str,
    at: chrono::DateTime<Utc>,
    n: usize,
) {
    use futures::StreamExt;
    futures::stream::iter(0..n)
        .for_each_concurrent(16, |_| async move {
            let mut t = Tally::default();
            t.add("o", 1).add("d", 1).add("r", 1);
            analytics::count(
                &app.state,
                CountAt {
                    tenant_id,
                    device_id: device,
                    at,
                },
                &t,
            )
            .await;
        })
        .await;
}

#[tokio::test]
async fn the_summary_costs_the_same_for_10_and_1000_messages() {
    let (app, t) = TestApp::with_tenant("pro").await;
    let device = uuid::Uuid::now_v7().to_string();
    let now = Utc::now();
    add_outbound(&app, &t.id, &device, now, 10).await;
    let first = summary_within_one_rate_window(&t).await;
    assert_eq!(first.body["messages"]["outbound"], 10);
    add_outbound(&app, &t.id, &device, now, 990).await;
    let second = summary_within_one_rate_window(&t).await;
    assert_eq!(second.body["messages"]["outbound"], 1000);
    for h in ["x-aws-calls", "x-aws-sequential", "x-aws-consumed-capacity"] {
        assert_eq!(first.header(h), second.header(h), "{h}");
    }
    // Authentication (one write), then one query for the period and the one before.
    assert_eq!(first.count("x-aws-calls"), 2);
    let by_device = t.analytics(&format!("deviceId={device}")).await;
    assert_eq!(by_device.body["messages"]["outbound"], 1000);
    let other = uuid::Uuid::now_v7();
    let none = t.analytics(&format!("deviceId={other}")).await;
    assert_eq!(none.body["messages"]["outbound"], 0);
}

/// The summary, read by a request that does not open its API key's rate window: the first
/// request of a minute makes more calls to authenticate, which is not what is measured.
async fn summary_within_one_rate_window(t: &Tenant) -> Reply {
    let minute = || Utc::now().timestamp() / 60;
    loop {
        let before = minute();
        t.analytics("").await; // Opens the minute's window if no request has yet.
        let reply = t.analytics("").await;
        if minute() == before {
            return reply;
        }
    }
}

/// The worst case the docs quote: every half hour of both periods has counters (one device).
#[tokio::test]
async fn a_full_92_day_period_is_read_in_a_few_pages() {
    let (app, t) = TestApp::with_tenant("pro").await;
    let device = uuid::Uuid::now_v7().to_string();
    let now = Utc::now();
    let slots = 2 * 92 * 48;
    {
        use futures::StreamExt;
        let (app, t, device) = (&app, &t, &device);
        futures::stream::iter(0..slots)
            .for_each_concurrent(16, |i| async move {
                let at = now - Days::minutes(30 * i as i64);
                let mut tally = Tally::default();
                // A busy half hour: every message figure, a campaign, two templates, replies.
                tally
                    .add("o", 40)
                    .add("i", 30)
                    .add("d", 38)
                    .add("r", 30)
                    .add("f", 2)
                    .add("ak", 5)
                    .add("aa", 5)
                    .add(format!("cs.{}", device), 10)
                    .add("ts.en_US.order_update", 10)
                    .add("td.en_US.order_update", 10)
                    .add("tr.en_US.order_update", 8)
                    .add("co", 3);
                tally
                    .names
                    .insert(format!("cn.{device}"), "A campaign with a long name".into());
                analytics::count(
                    &app.state,
                    CountAt {
                        tenant_id: &t.id,
                        device_id: device,
                        at,
                    },
                    &tally,
                )
                .await;
            })
            .await;
    }
    for days in [30i64, 92] {
        let from = local_day(-24 * (days - 1));
        let r = t.analytics(&format!("from={from}")).await;
        let calls = r.count("x-aws-calls");
        let capacity: f64 = r.header("x-aws-consumed-capacity").parse().unwrap();
        eprintln!(
            "{days} days: {calls} AWS calls, {capacity} capacity units, {} sequential",
            r.header("x-aws-sequential")
        );
        let midnight = chrono::NaiveDate::parse_from_str(&from, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc();
        let slots_so_far = (now - midnight).num_minutes() / 30 + 1;
        assert_eq!(
            r.body["messages"]["outbound"].as_i64(),
            Some(40 * slots_so_far)
        );
        assert_eq!(
            r.body["previous"]["messages"]["outbound"].as_i64(),
            Some(40 * 48 * days)
        );
        assert_eq!(
            r.body["campaigns"]["items"][0]["sent"].as_i64(),
            Some(10 * slots_so_far)
        );
        assert!(calls <= 1 + 4, "{days} days: {calls} calls");
    }
}

/// The Team Inbox's figures, counted through the service as the inbox will call it.
#[tokio::test]
async fn inbox_figures_and_their_medians_come_from_the_histograms() {
    let (app, t) = TestApp::with_tenant("pro").await;
    let device = uuid::Uuid::now_v7().to_string();
    let s = &app.state;
    let to = || CountAt {
        tenant_id: &t.id,
        device_id: &device,
        at: Utc::now(),
    };
    analytics::conversation_opened(s, to()).await;
    // Ana answers first after 20 s and 40 s, Bo after 2 h; Ana replies 3 more times.
    analytics::first_response(s, to(), Some("ana"), 20).await;
    analytics::first_response(s, to(), Some("ana"), 40).await;
    analytics::first_response(s, to(), Some("bo"), 7_200).await;
    for _ in 0..3 {
        analytics::agent_reply(s, to(), "ana").await;
    }
    analytics::conversation_resolved(s, to(), Some("ana"), 600).await;
    analytics::conversation_resolved(s, to(), Some("bo"), 700).await;
    analytics::conversation_resolved(s, to(), None, 86_400 * 40).await;

    let inbox = t.analytics("").await.body["inbox"].clone();
    // Inbound counts its own conversations; this one came from the service.
    assert_eq!(inbox["conversationsOpened"], 1);
    assert_eq!(inbox["resolved"], 3);
    // 20 s, 40 s, 2 h: the middle one (40 s) lies in the 30–60 s bucket.
    let first = inbox["medianFirstResponseSeconds"].as_i64().unwrap();
    assert!((30..=60).contains(&first), "{inbox}");
    // 600 s, 700 s, 40 days: the median (700 s) lies in the 10–15 minute bucket.
    let resolution = inbox["medianResolutionSeconds"].as_i64().unwrap();
    assert!((600..=900).contains(&resolution), "{inbox}");
    assert_eq!(
        inbox["agents"],
        json!([
            {"userId": "ana", "replies": 5, "resolved": 1, "medianFirstResponseSeconds": inbox["agents"][0]["medianFirstResponseSeconds"]},
            {"userId": "bo", "replies": 1, "resolved": 1, "medianFirstResponseSeconds": inbox["agents"][1]["medianFirstResponseSeconds"]}
        ])
    );
    let ana = inbox["agents"][0]["medianFirstResponseSeconds"]
        .as_i64()
        .unwrap();
    assert!((15..=60).contains(&ana), "{inbox}");
    let bo = inbox["agents"][1]["medianFirstResponseSeconds"]
        .as_i64()
        .unwrap();
    assert!((7_200..=14_400).contains(&bo), "{inbox}");
    // Another device's filter sees none of it.
    let other = uuid::Uuid::now_v7();
    let none = t.analytics(&format!("deviceId={other}")).await.body;
    assert_eq!(none["inbox"]["resolved"], 0);
    assert_eq!(none["inbox"]["agents"], json!([]));
}
