//! Bulk campaigns end to end on the local stack: the three audience kinds through the
//! sandbox and the fake Graph API, validation, scheduled starts (the scheduler handler
//! driven directly), run while a batch is in flight, cancel, pause and resume on the daily
//! cap (manual clock), redelivered worker messages, dead workers, tenant isolation and the
//! REST gate. The campaign worker is driven by polling its queue like the dev server does.

use chrono::{Duration as Days, Utc};
use std::time::{Duration, Instant};
use wati_tests::fake_meta::{FakeMeta, GraphReply};
use wati_tests::records::pending_text;
use wati_tests::shared::store::{Campaign, MessageSource, RecipientClaim as Claim};
use wati_tests::shared::{
    CampaignStatus, LocalQueue, PauseReason, SendTask, SqsHandler, UNKNOWN_OUTCOME,
};
use wati_tests::*;

const PHONE_ID: &str = "106540352242933";
const TOKEN: &str = "EAAGcampaignToken01";

struct Setup {
    app: TestApp,
    tenant: Tenant,
    fake: FakeMeta,
    device: String,
    cloud: bool,
}

/// A pro tenant with a device (a Cloud API one on the fake Graph API when `cloud`, else the
/// sandbox), and room in its key's rate limit for polling.
async fn setup(cloud: bool, batch_size: Option<usize>, clock: Clock) -> Setup {
    let fake = FakeMeta::start().await;
    let mut opts = sending_options(&fake.base).clock(clock).roomy_keys();
    if let Some(n) = batch_size {
        opts = opts.with("CAMPAIGN_BATCH_SIZE", n);
    }
    let app = TestApp::start_with(opts).await;
    let tenant = app.tenant("pro").await;
    let device = if cloud {
        tenant.cloud_device(&fake, PHONE_ID, TOKEN).await
    } else {
        tenant.sandbox_device().await
    };
    Setup {
        app,
        tenant,
        fake,
        device,
        cloud,
    }
}

impl Setup {
    /// The customers wrote to the Cloud API device just now: their 24-hour windows are open.
    async fn open_windows(&self, phones: impl IntoIterator<Item = String>) {
        for phone in phones {
            self.app
                .open_window(&self.tenant.id, &self.device, phone.trim_start_matches('+'))
                .await;
        }
    }

    /// `n` recipients `+{prefix}00`, `+{prefix}01`, …; on a Cloud API device each has
    /// written first, so its 24-hour window is open.
    async fn numbered(&self, prefix: &str, n: usize) -> Vec<Value> {
        let phones: Vec<String> = (0..n).map(|i| format!("{prefix}{i:02}")).collect();
        if self.cloud {
            self.open_windows(phones.clone()).await;
        }
        phones
            .iter()
            .map(|p| json!({ "phone": format!("+{p}") }))
            .collect()
    }

    /// A campaign `name` sending "m" to `recipients`, `delay` seconds apart; its id.
    async fn campaign_to(&self, name: &str, recipients: Vec<Value>, delay: u32) -> String {
        self.tenant
            .campaign_id(json!({"name": name, "message": "m", "delaySeconds": delay, "recipients": recipients}))
            .await
    }

    /// Whether the campaign still has a scheduler entry.
    async fn has_due_entry(&self, id: &str) -> bool {
        self.app
            .state
            .store
            .campaign_due(&self.tenant.id, id)
            .await
            .unwrap()
            .is_some()
    }

    async fn stored(&self, id: &str) -> Campaign {
        self.app.campaign_record(&self.tenant.id, id).await
    }

    /// Drives the worker until the campaign is `status`.
    async fn until(&self, id: &str, status: CampaignStatus) -> Campaign {
        drive(&self.app, &self.tenant.id, id, 40, |c| c.status == status).await
    }
}

fn counts(c: &Value) -> (u64, u64, u64, u64, u64, u64) {
    let n = |k: &str| c[k].u64();
    (
        n("total"),
        n("pending"),
        n("queued"),
        n("sent"),
        n("failed"),
        n("cancelled"),
    )
}

fn assert_adds_up(c: &Value) {
    let (total, pending, queued, sent, failed, cancelled) = counts(c);
    let skipped = c["skipped"].u64();
    assert_eq!(
        total,
        pending + queued + sent + failed + cancelled + skipped,
        "{c}"
    );
}

fn worker(app: &TestApp) -> (SqsHandler, LocalQueue) {
    (
        app.sqs_handler("functions/campaign-worker"),
        app.queue("CampaignQueue"),
    )
}

/// Polls the campaign queue into the worker (as the dev server does) until `done` holds
/// for the stored campaign, checking after every poll that the counts add up.
async fn drive(
    app: &TestApp,
    tenant: &str,
    id: &str,
    secs: u64,
    done: impl Fn(&Campaign) -> bool,
) -> Campaign {
    let (handler, queue) = worker(app);
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let n = app.poll(&queue, &handler).await;
        let c = app.campaign_record(tenant, id).await;
        assert_eq!(
            c.total,
            c.pending + c.queued + c.sent + c.failed + c.cancelled,
            "counts must add up: {c:?}"
        );
        if done(&c) {
            return c;
        }
        assert!(Instant::now() < deadline, "campaign never got there: {c:?}");
        if n == 0 {
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
}

/// Polls the campaign queue for `secs`, handing everything to the worker.
async fn drain_for(app: &TestApp, secs: u64) -> usize {
    let (handler, queue) = worker(app);
    app.drain_for(&queue, &handler, secs).await
}

/// The webhook events published for the tenant so far (straight from the webhook queue).
async fn published(app: &TestApp, secs: u64) -> Vec<Value> {
    let queue = app.queue("WebhookQueue");
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let messages = app.receive_once(&queue, 10, None).await;
        let empty = messages.is_empty();
        for m in messages {
            out.push(parse(m.body.as_deref().expect("a message body")));
        }
        if empty && (Instant::now() > deadline || !out.is_empty()) {
            return out;
        }
        if empty {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

async fn completed_events(app: &TestApp) -> Vec<Value> {
    published(app, 5)
        .await
        .into_iter()
        .filter(|m| m["eventType"] == "campaign.completed")
        .map(|m| parse(m["payload"].str()))
        .collect()
}

/// A worker's claim of `task`'s recipient under message id `mid`, made now.
async fn claim(app: &TestApp, tenant_id: &str, id: &str, task: &SendTask, mid: &str) -> Claim {
    let now = app.state.clock.now();
    app.state
        .store
        .claim_recipient(
            tenant_id,
            id,
            &task.recipient,
            &task.to,
            mid,
            now.timestamp_millis(),
            now,
        )
        .await
        .unwrap()
}

async fn message_text(t: &Tenant, message_id: &str) -> String {
    t.message(message_id).await["text"].string()
}

#[tokio::test]
async fn a_recipients_array_is_sent_once_each_with_its_variables_then_completes() {
    let s = setup(false, None, Clock::System).await;
    let (app, t) = (&s.app, &s.tenant);
    let created = t
        .create_campaign(json!({
            "name": "Welcome blast",
            "message": "Hi {{name}}, your number is {{phone}}",
            "delaySeconds": 1,
            "recipients": [
                {"name": "Ali", "phone": "+923001111111"},
                {"name": "Sara", "phone": "+92 300 2222222"},
                {"name": "Ali again", "phone": "923001111111"},
                {"phone": "923003333333"}
            ]
        }))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(created["ok"], true);
    assert_eq!(created["status"], "running");
    let id = created["id"].string();
    let c = &created["campaign"];
    assert_eq!(counts(c), (3, 3, 0, 0, 0, 0));
    assert_eq!(c["duplicates"], 1);
    assert_eq!(c["delaySeconds"], 1);
    assert_eq!(c["audience"], json!({"type": "recipients"}));
    assert_eq!(c["audienceResolved"], false);

    // Before the first batch every recipient is pending.
    let listed = t.all_recipients(&id, 2).await;
    let phones: Vec<&str> = listed.iter().map(|r| r["phone"].str()).collect();
    assert_eq!(phones, vec!["923001111111", "923002222222", "923003333333"]);
    assert!(
        listed.iter().all(|r| r["status"] == "pending"),
        "{listed:?}"
    );

    let ran = t.run_campaign(&id).await.expect(StatusCode::OK);
    assert_eq!(ran["result"], "queued");
    assert_eq!(ran["batch"]["number"], 1);
    assert_eq!(ran["batch"]["size"], 3);
    assert_eq!(counts(&ran["campaign"]), (3, 0, 3, 0, 0, 0));

    let done = s.until(&id, CampaignStatus::Completed).await;
    assert_eq!(
        (done.total, done.sent, done.failed, done.queued),
        (3, 3, 0, 0)
    );
    let view = t.campaign(&id).await;
    assert_eq!(view["status"], "completed");
    assert_eq!(view["audienceResolved"], true);
    assert!(view["completedAt"].is_string());
    assert_adds_up(&view);

    let listed = t.all_recipients(&id, 10).await;
    assert_eq!(listed.len(), 3);
    let mut texts = Vec::new();
    for r in &listed {
        assert_eq!(r["status"], "sent", "{r}");
        assert!(
            r["waMessageId"]
                .as_str()
                .is_some_and(|w| w.starts_with("sandbox.")),
            "{r}"
        );
        texts.push(message_text(t, r["messageId"].str()).await);
        // A campaign's message keeps its pre-chosen id, found by WhatsApp's id too.
        assert_eq!(
            t.message(r["waMessageId"].str()).await["id"],
            r["messageId"]
        );
    }
    assert_eq!(
        texts,
        vec![
            "Hi Ali, your number is 923001111111",
            "Hi Sara, your number is 923002222222",
            "Hi , your number is 923003333333",
        ]
    );

    // campaign.completed is published once, with the counts.
    let events = completed_events(app).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["event"], "campaign.completed");
    assert_eq!(events[0]["campaignId"], id.as_str());
    assert_eq!(events[0]["name"], "Welcome blast");
    assert_eq!(
        (
            events[0]["total"].clone(),
            events[0]["sent"].clone(),
            events[0]["failed"].clone()
        ),
        (json!(3), json!(3), json!(0))
    );

    let again = t.run_campaign(&id).await.expect(StatusCode::CONFLICT);
    assert_eq!(
        again["error"],
        "Campaign is completed: there is nothing left to send"
    );
}

#[tokio::test]
async fn a_tag_is_resolved_batch_by_batch_through_the_graph_api_and_refusals_are_recorded() {
    let s = setup(true, Some(2), Clock::System).await;
    s.open_windows((1..=6).map(|i| format!("92300100000{i}")))
        .await;
    let t = &s.tenant;
    t.contact_ids(json!([
        {"name": "Ali", "phone": "+923001000001", "tags": ["VIP"]},
        {"name": "Sara", "phone": "+923001000002", "tags": ["vip", "lead"]},
        {"name": "Omar", "phone": "+923001000003", "tags": ["lead"]},
        {"name": "Zara", "phone": "+923001000004", "tags": ["vip"]},
        {"name": "Bilal", "phone": "+923001000005", "tags": ["vip"]},
        {"name": "Hina", "phone": "+923001000006", "tags": ["vip"]}
    ]))
    .await;
    // The second message is refused by Meta (undeliverable); the others are accepted.
    s.fake.push(GraphReply::Accept);
    s.fake
        .push(GraphReply::error(400, 131026, "Message undeliverable"));
    let id = t.campaign_id(json!({"name": "VIP", "message": "Hello {{name}}", "delaySeconds": 1, "tag": " VIP ", "deviceId": s.device}),
    )
    .await;
    let c = t.campaign(&id).await;
    assert_eq!(c["audience"], json!({"type": "tag", "tag": "vip"}));
    assert_eq!(counts(&c), (0, 0, 0, 0, 0, 0), "a tag is read at run time");
    assert_eq!(c["audienceResolved"], false);

    let ran = t.run_campaign(&id).await.expect(StatusCode::OK);
    assert_eq!(
        (ran["batch"]["number"].clone(), ran["batch"]["size"].clone()),
        (json!(1), json!(2))
    );
    // Running again while the batch is in flight queues nothing and says what is in flight.
    let again = t.run_campaign(&id).await.expect(StatusCode::CONFLICT);
    assert!(
        again["error"].as_str().is_some_and(|e| e
            .starts_with("Batch 1 is in flight: 2 of 2 recipients are still queued or being sent")),
        "{again}"
    );
    assert_eq!(again["inFlight"]["number"], 1);
    assert_eq!(again["inFlight"]["queued"], 2);
    assert_eq!(again["campaign"]["id"], id.as_str());

    let done = s.until(&id, CampaignStatus::Completed).await;
    assert_eq!((done.total, done.sent, done.failed), (5, 4, 1));
    assert!(
        done.batch >= 3,
        "five recipients in batches of two: {}",
        done.batch
    );
    // Each contact got exactly one request, with its name filled in.
    let requests = s.fake.requests();
    let mut to: Vec<String> = requests.iter().map(|r| r.body["to"].string()).collect();
    to.sort();
    assert_eq!(
        to,
        vec![
            "923001000001",
            "923001000002",
            "923001000004",
            "923001000005",
            "923001000006"
        ]
    );
    assert!(requests
        .iter()
        .any(|r| r.body["text"]["body"] == "Hello Sara"));
    let listed = t.all_recipients(&id, 100).await;
    assert_eq!(listed.len(), 5);
    let failed: Vec<&Value> = listed.iter().filter(|r| r["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{listed:?}");
    assert_eq!(failed[0]["errorCode"], 131026);
    assert!(
        failed[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("#131026")),
        "{}",
        failed[0]
    );
    assert!(listed.iter().all(|r| r["contactId"].is_string()));
    let c = t.campaign(&id).await;
    assert_eq!(c["audienceResolved"], true);
    assert_adds_up(&c);
}

#[tokio::test]
async fn a_contact_list_is_sent_in_batches_and_other_tenants_lists_are_not_found() {
    let s = setup(false, Some(2), Clock::System).await;
    let (app, t) = (&s.app, &s.tenant);
    let ids = t
        .contact_ids(json!([
            {"name": "A", "phone": "+923002000001"},
            {"name": "B", "phone": "+923002000002"},
            {"name": "C", "phone": "+923002000003"}
        ]))
        .await;
    let list_id = t.create_list("Jan").await;
    t.add_to_list(&list_id, &ids).await;

    let other = app.tenant("pro").await;
    other.sandbox_device().await;
    let body = other
        .create_campaign(json!({"name": "x", "message": "y", "contactListId": list_id}))
        .await
        .expect(StatusCode::NOT_FOUND);
    assert_eq!(
        body["error"],
        format!("\"contactListId\": contact list {list_id} not found")
    );

    let id = t.campaign_id(json!({"name": "List", "message": "Hi {{name}}", "delaySeconds": 1, "contactListId": list_id}),
    )
    .await;
    // A run reads one page of the list, whatever its size: auth, the campaign (twice), the
    // tenant and its usage, the list and one page of members, the batch's transaction, one
    // SendMessageBatch, the campaign for the answer.
    let reply = t.run_campaign(&id).await;
    assert_eq!(reply.header("x-aws-calls"), "10");
    let ran = reply.ok();
    assert_eq!(ran["batch"]["size"], 2);
    let done = s.until(&id, CampaignStatus::Completed).await;
    assert_eq!(
        (done.total, done.sent, done.failed, done.batch),
        (3, 3, 0, 2)
    );
    let c = t.campaign(&id).await;
    assert_eq!(
        c["audience"],
        json!({"type": "contactList", "contactListId": list_id})
    );
}

#[tokio::test]
async fn invalid_campaigns_are_refused_with_a_clear_message() {
    let s = setup(false, None, Clock::System).await;
    let (app, t) = (&s.app, &s.tenant);
    let ok = || json!({"name": "n", "message": "m", "recipients": [{"phone": "+923001234567"}]});
    let with = |k: &str, v: Value| {
        let mut b = ok();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = ok();
        b.as_object_mut().map(|o| o.remove(k));
        b
    };
    let random = uuid::Uuid::new_v4().to_string();
    let one_of = "Provide exactly one of \"recipients\", \"contactListId\" or \"tag\"";
    let cases: Vec<(Value, StatusCode, String)> = vec![
        (without("name"), StatusCode::BAD_REQUEST, "\"name\" is required".into()),
        (with("name", json!("  ")), StatusCode::BAD_REQUEST, "\"name\" must not be empty".into()),
        (with("name", json!("x".repeat(201))), StatusCode::BAD_REQUEST, "\"name\" must be at most 200 characters".into()),
        (without("message"), StatusCode::BAD_REQUEST, "\"message\" is required".into()),
        (with("message", json!("x".repeat(4097))), StatusCode::BAD_REQUEST, "\"message\" must be at most 4096 characters (got 4097)".into()),
        (with("delaySeconds", json!(0)), StatusCode::BAD_REQUEST, "\"delaySeconds\" must be a whole number of seconds from 1 to 60".into()),
        (with("delaySeconds", json!(61)), StatusCode::BAD_REQUEST, "\"delaySeconds\" must be a whole number of seconds from 1 to 60".into()),
        (with("delaySeconds", json!("3")), StatusCode::BAD_REQUEST, "\"delaySeconds\" must be a whole number of seconds from 1 to 60".into()),
        (with("delaySeconds", json!(2.5)), StatusCode::BAD_REQUEST, "\"delaySeconds\" must be a whole number of seconds from 1 to 60".into()),
        (without("recipients"), StatusCode::BAD_REQUEST, format!("{one_of} (none was given)")),
        (with("tag", json!("vip")), StatusCode::BAD_REQUEST, format!("{one_of} (got \"recipients\" and \"tag\")")),
        (
            json!({"name": "n", "message": "m", "tag": "vip", "contactListId": random, "recipients": []}),
            StatusCode::BAD_REQUEST,
            format!("{one_of} (got \"recipients\" and \"contactListId\" and \"tag\")"),
        ),
        (with("recipients", json!([])), StatusCode::BAD_REQUEST, "\"recipients\" must hold 1 to 100000 entries (got 0): use a contact list or a tag for larger audiences".into()),
        (with("recipients", json!([{"phone": "+923001234567"}, {"phone": "12"}])), StatusCode::BAD_REQUEST, "\"recipients[1].phone\" must be an E.164 number or local digits".into()),
        (with("recipients", json!([{"name": "Ali"}])), StatusCode::BAD_REQUEST, "\"recipients[0].phone\" is required".into()),
        (with("recipients", json!([{"phone": "+923001234567", "name": "x".repeat(201)}])), StatusCode::BAD_REQUEST, "\"recipients[0].name\" must be at most 200 characters".into()),
        (with("scheduledAt", json!("2020-01-01T00:00:00Z")), StatusCode::BAD_REQUEST, "\"scheduledAt\" must be in the future (leave it out to start now)".into()),
        (with("scheduledAt", json!("2030-01-01 10:00")), StatusCode::BAD_REQUEST, "\"scheduledAt\" must be an ISO-8601 date and time with a time zone, e.g. 2026-07-01T10:00:00Z".into()),
        (json!({"name": "n", "message": "m", "tag": "bad<tag>"}), StatusCode::BAD_REQUEST, "\"tag\" must be 1-50 letters, digits, spaces or - _ . : /".into()),
        (json!({"name": "n", "message": "m", "contactListId": "nope"}), StatusCode::NOT_FOUND, "\"contactListId\": contact list nope not found".into()),
        (json!({"name": "n", "message": "m", "contactListId": random}), StatusCode::NOT_FOUND, format!("\"contactListId\": contact list {random} not found")),
        (with("deviceId", json!("abc")), StatusCode::BAD_REQUEST, "\"deviceId\" must be a device id (a UUID from GET /api/devices)".into()),
        (with("deviceId", json!(random)), StatusCode::NOT_FOUND, format!("\"deviceId\": device {random} not found")),
    ];
    for (body, status, message) in cases {
        let Reply {
            status: got,
            body: answer,
            ..
        } = t.create_campaign(body.clone()).await;
        assert_eq!(
            (got, answer["error"].str()),
            (status, message.as_str()),
            "{body}"
        );
    }
    // Shapes serde refuses name the field.
    let error = t
        .create_campaign(with(
            "recipients",
            json!([{"phone": "+923001234567", "nick": "x"}]),
        ))
        .await
        .error(StatusCode::BAD_REQUEST);
    assert!(
        error.starts_with("Invalid \"recipients[0].nick\": unknown field `nick`"),
        "{error}"
    );
    let error = t
        .create_campaign(with("colour", json!("red")))
        .await
        .error(StatusCode::BAD_REQUEST);
    assert!(error.contains("unknown field `colour`"), "{error}");
    let error = t
        .raw(Method::POST, "/api/public/v1/campaigns", "{not json")
        .await
        .error(StatusCode::BAD_REQUEST);
    assert!(
        error.starts_with("Request body is not valid JSON"),
        "{error}"
    );
    // Reads of things that are not there.
    for path in [
        "/api/public/v1/campaigns/nope",
        &format!("/api/public/v1/campaigns/{random}"),
    ] {
        t.get(path)
            .await
            .expect_error(StatusCode::NOT_FOUND, "Campaign not found");
    }
    let id = t.campaign_id(ok()).await;
    t.recipients(&id, "?cursor=garbage")
        .await
        .expect_error(StatusCode::BAD_REQUEST, "Invalid \"cursor\"");
    t.recipients(&id, "?limit=0").await.expect_error(
        StatusCode::BAD_REQUEST,
        "\"limit\" must be between 1 and 100",
    );
    // Nothing to send from.
    let bare = app.tenant("pro").await;
    let error = bare
        .create_campaign(ok())
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error.starts_with("No connected device"), "{error}");
}

#[tokio::test]
async fn a_scheduled_campaign_starts_when_the_scheduler_finds_it_due() {
    let clock = Clock::manual(Utc::now());
    let s = setup(false, None, clock.clone()).await;
    let (app, t) = (&s.app, &s.tenant);
    let at = clock.now() + Days::hours(1);
    let id = t.campaign_id(json!({"name": "Later", "message": "Hi {{name}}", "delaySeconds": 1,
               "scheduledAt": iso(at),
               "recipients": [{"name": "A", "phone": "+923004000001"}, {"name": "B", "phone": "+923004000002"}]}),
    )
    .await;
    let c = t.campaign(&id).await;
    assert_eq!(c["status"], "scheduled");
    assert_eq!(c["scheduledAt"], iso(at));
    let answer = t.run_campaign(&id).await.expect(StatusCode::CONFLICT);
    assert_eq!(
        answer["error"],
        format!(
            "Campaign is scheduled for {}: it starts by itself then (cancel it to stop it)",
            iso(at)
        )
    );

    // The minute job before the time: nothing is due.
    let report = app.scheduler("minute").await;
    assert_eq!(report.due, 0, "{report:?}");
    assert_eq!(s.stored(&id).await.status, CampaignStatus::Scheduled);

    clock.advance(Days::minutes(61));
    let report = app.scheduler("minute").await;
    assert_eq!((report.due, report.queued), (1, 1), "{report:?}");
    let c = s.stored(&id).await;
    assert_eq!(
        (c.status, c.batch, c.queued),
        (CampaignStatus::Running, 1, 2)
    );
    // Running the job again while the batch is in flight changes nothing.
    let report = app.scheduler("minute").await;
    assert_eq!(report.queued, 0, "{report:?}");

    let done = s.until(&id, CampaignStatus::Completed).await;
    assert_eq!((done.sent, done.failed), (2, 0));
    // Its scheduler entry is gone once the completion event is out.
    assert!(!s.has_due_entry(&id).await);
    let report = app.scheduler("minute").await;
    assert_eq!(report.due, 0, "{report:?}");
}

#[tokio::test]
async fn concurrent_runs_queue_one_batch() {
    let s = setup(true, Some(3), Clock::System).await;
    let t = &s.tenant;
    let recipients = s.numbered("9230050000", 3).await;
    let id = s.campaign_to("Race", recipients, 1).await;
    let runs = futures::future::join_all((0..6).map(|_| t.run_campaign(&id))).await;
    let ok = runs.iter().filter(|r| r.status == StatusCode::OK).count();
    let conflicts: Vec<&Value> = runs
        .iter()
        .filter(|r| r.status == StatusCode::CONFLICT)
        .map(|r| &r.body)
        .collect();
    assert_eq!((ok, conflicts.len()), (1, 5), "{runs:?}");
    for body in conflicts {
        assert_eq!(body["inFlight"]["number"], 1, "{body}");
    }
    let done = s.until(&id, CampaignStatus::Completed).await;
    assert_eq!((done.sent, done.batch), (3, 1));
    assert_eq!(s.fake.requests().len(), 3, "one request per recipient");
}

#[tokio::test]
async fn cancel_stops_a_campaign_and_its_queued_messages_send_nothing() {
    let s = setup(true, Some(3), Clock::System).await;
    let (app, t) = (&s.app, &s.tenant);
    let recipients = s.numbered("9230060000", 6).await;
    let id = s.campaign_to("Stop", recipients, 1).await;
    t.run_campaign(&id).await.ok();
    let cancelled = t.cancel_campaign(&id).await.expect(StatusCode::OK);
    let c = &cancelled["campaign"];
    assert_eq!(c["status"], "cancelled");
    assert!(c["cancelledAt"].is_string());
    assert_eq!(counts(c), (6, 0, 0, 0, 0, 6), "{c}");
    // The batch's messages arrive and send nothing.
    assert_eq!(drain_for(app, 4).await, 3);
    assert!(s.fake.requests().is_empty());
    let c = t.campaign(&id).await;
    assert_eq!(counts(&c), (6, 0, 0, 0, 0, 6));
    let listed = t.all_recipients(&id, 4).await;
    assert_eq!(listed.len(), 6);
    assert!(
        listed.iter().all(|r| r["status"] == "cancelled"),
        "{listed:?}"
    );

    t.cancel_campaign(&id)
        .await
        .expect_error(StatusCode::CONFLICT, "Campaign is already cancelled");
    t.run_campaign(&id).await.expect_error(
        StatusCode::CONFLICT,
        "Campaign is cancelled: there is nothing left to send",
    );
    // A scheduled campaign can be cancelled before it starts.
    let later = iso(Utc::now() + Days::days(1));
    let id = t
        .campaign_id(json!({"name": "Later", "message": "m", "scheduledAt": later, "tag": "vip"}))
        .await;
    let Reply {
        status,
        body: cancelled,
        ..
    } = t.cancel_campaign(&id).await;
    assert_eq!(
        (status, cancelled["campaign"]["status"].clone()),
        (StatusCode::OK, json!("cancelled"))
    );
    assert!(!s.has_due_entry(&id).await);
}

#[tokio::test]
async fn the_daily_cap_pauses_a_campaign_until_the_next_utc_day() {
    let clock = Clock::manual(start_of_next_minute());
    let s = setup(false, None, clock.clone()).await;
    let (app, t) = (&s.app, &s.tenant);
    app.set_limits(&s.tenant.id, json!({"messagesPerDay": 2}))
        .await;
    let recipients = s.numbered("9230070000", 4).await;
    let id = s.campaign_to("Capped", recipients, 1).await;
    let ran = t.run_campaign(&id).await.expect(StatusCode::OK);
    assert_eq!(ran["batch"]["size"], 2, "no more than the units left today");
    let paused = s.until(&id, CampaignStatus::Paused).await;
    assert_eq!((paused.sent, paused.pending, paused.queued), (2, 2, 0));
    let c = t.campaign(&id).await;
    assert_eq!(c["pauseReason"], "daily_limit");
    let resumes = iso(next_midnight(clock.now()));
    assert_eq!(c["resumesAt"], resumes.as_str());
    assert_eq!(
        c["pauseMessage"],
        "Daily outbound message limit reached (2/day on the pro plan, custom limit): the campaign resumes by itself at 00:00 UTC"
    );
    let answer = t.run_campaign(&id).await.expect(StatusCode::CONFLICT);
    assert_eq!(
        answer["error"],
        format!("Campaign is paused: Daily outbound message limit reached (2/day on the pro plan, custom limit): the campaign resumes by itself at 00:00 UTC (resumes at {resumes})")
    );
    // The minute job the same day leaves it paused.
    let report = app.scheduler("minute").await;
    assert_eq!(report.queued, 0, "{report:?}");

    // Midnight: the daily job resumes it.
    clock.set(next_midnight(clock.now()) + Days::seconds(5));
    let report = app.scheduler("daily").await;
    assert_eq!((report.due, report.queued), (1, 1), "{report:?}");
    let c = t.campaign(&id).await;
    assert_eq!(c["status"], "running");
    assert!(c.get("pauseReason").is_none(), "{c}");
    let done = s.until(&id, CampaignStatus::Completed).await;
    assert_eq!((done.sent, done.failed), (4, 0));
}

#[tokio::test]
async fn a_send_the_cap_refuses_in_the_worker_pauses_and_is_sent_the_next_day() {
    let clock = Clock::manual(start_of_next_minute());
    let s = setup(true, None, clock.clone()).await;
    s.open_windows(["923009999999".to_string()]).await;
    let (app, t) = (&s.app, &s.tenant);
    app.set_limits(&s.tenant.id, json!({"messagesPerDay": 3}))
        .await;
    let recipients = s.numbered("9230080000", 3).await;
    let id = s.campaign_to("Raced", recipients, 2).await;
    let Reply {
        status, body: ran, ..
    } = t.run_campaign(&id).await;
    assert_eq!(
        (status, ran["batch"]["size"].clone()),
        (StatusCode::OK, json!(3))
    );
    // An API send takes one of the three units while the batch waits in the queue.
    t.send_text("+923009999999", "direct").await;
    let paused = s.until(&id, CampaignStatus::Paused).await;
    assert_eq!(
        (paused.sent, paused.queued, paused.failed),
        (2, 1, 0),
        "the refused one stays queued"
    );
    assert_eq!(paused.pause_reason, Some(PauseReason::DailyLimit));
    assert_eq!(
        s.fake.requests().len(),
        3,
        "two campaign sends and the direct one"
    );

    clock.set(next_midnight(clock.now()) + Days::seconds(1));
    let report = app.scheduler("minute").await;
    assert_eq!(
        report.requeued, 1,
        "the leftover is queued again: {report:?}"
    );
    let done = s.until(&id, CampaignStatus::Completed).await;
    assert_eq!((done.sent, done.failed), (3, 0));
    assert_eq!(s.fake.requests().len(), 4);
}

#[tokio::test]
async fn a_redelivered_worker_message_sends_nothing_twice() {
    let s = setup(true, None, Clock::System).await;
    s.open_windows(["923009000001".to_string()]).await;
    let (app, t) = (&s.app, &s.tenant);
    let id = t.campaign_id(json!({"name": "Once", "message": "m", "delaySeconds": 1, "recipients": [{"phone": "+923009000001"}]})).await;
    t.run_campaign(&id).await.ok();
    let (handler, _) = worker(app);
    let raw = app.receive(&app.queue("CampaignQueue"), 1, Some(1)).await;
    let task: SendTask = serde_json::from_str(raw[0].body.as_deref().expect("a task")).unwrap();
    assert_eq!(
        (task.to.as_str(), task.campaign_id.as_str()),
        ("923009000001", id.as_str())
    );
    // The same message twice in one batch, then once more later, then SQS's own redelivery.
    let twice: Vec<_> = [raw.clone(), raw.clone()].concat();
    let response = handler(sqs_event_of(&twice)).await;
    assert!(response.batch_item_failures.is_empty());
    let response = handler(sqs_event_of(&raw)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        drain_for(app, 3).await,
        1,
        "SQS delivers it again after the visibility timeout"
    );
    assert_eq!(s.fake.requests().len(), 1, "one provider call in all");
    let c = s.stored(&id).await;
    assert_eq!(
        (c.status, c.sent, c.failed, c.queued),
        (CampaignStatus::Completed, 1, 0, 0)
    );
    let listed = t.all_recipients(&id, 10).await;
    assert_eq!(listed[0]["status"], "sent");
}

#[tokio::test]
async fn dead_workers_and_lost_messages_are_settled_by_the_scheduler_without_sending_twice() {
    let clock = Clock::manual(start_of_next_minute());
    let s = setup(true, None, clock.clone()).await;
    let (app, t) = (&s.app, &s.tenant);
    let recipients = s.numbered("9230100000", 3).await;
    let id = s.campaign_to("Crash", recipients, 1).await;
    t.run_campaign(&id).await.ok();
    // All three messages are lost (taken off the queue and dropped).
    let raw = app.receive(&app.queue("CampaignQueue"), 3, Some(600)).await;
    let tasks: Vec<SendTask> = raw
        .iter()
        .map(|m| serde_json::from_str::<SendTask>(m.body.as_deref().expect("a task")).unwrap())
        .collect();
    let now = clock.now();
    // Recipient 0: a worker claimed it and died before the send flow wrote anything.
    let dead = uuid::Uuid::now_v7().to_string();
    let claimed = claim(app, &s.tenant.id, &id, &tasks[0], &dead).await;
    assert_eq!(claimed, Claim::Claimed);
    // Recipient 1: a worker claimed it, the send flow recorded the message as pending (the
    // provider may have it), and the worker died.
    let mid = uuid::Uuid::now_v7().to_string();
    let claimed = claim(app, &s.tenant.id, &id, &tasks[1], &mid).await;
    assert_eq!(claimed, Claim::Claimed);
    let pending = pending_text(
        &mid,
        &s.tenant.id,
        &tasks[1].to,
        "m",
        MessageSource::Campaign,
        now,
    );
    app.store_outbound(&pending, now.timestamp()).await;
    // Recipient 2: its message was simply lost.

    // Before the batch is overdue the scheduler leaves it alone.
    let report = app.scheduler("minute").await;
    assert_eq!(report.requeued, 0, "{report:?}");
    clock.advance(Days::minutes(10));
    let report = app.scheduler("minute").await;
    assert_eq!(report.requeued, 1, "{report:?}");
    let c = s.stored(&id).await;
    assert_eq!(
        (c.failed, c.queued),
        (1, 2),
        "the pending one is failed, two are queued again"
    );
    let done = s.until(&id, CampaignStatus::Completed).await;
    assert_eq!((done.sent, done.failed), (2, 1));
    let sent_to: Vec<String> = s
        .fake
        .requests()
        .iter()
        .map(|r| r.body["to"].string())
        .collect();
    assert_eq!(sent_to.len(), 2, "{sent_to:?}");
    assert!(
        !sent_to.contains(&tasks[1].to),
        "the one that may have gone out is not sent again"
    );
    let listed = t.all_recipients(&id, 10).await;
    let failed: Vec<&Value> = listed.iter().filter(|r| r["status"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["error"], UNKNOWN_OUTCOME);
    assert_eq!(failed[0]["phone"], tasks[1].to.as_str());
}

#[tokio::test]
async fn campaigns_are_private_to_their_tenant_and_gated_by_plan() {
    let s = setup(false, None, Clock::System).await;
    let (app, t) = (&s.app, &s.tenant);
    let id = t
        .campaign_id(json!({"name": "Mine", "message": "m", "tag": "vip"}))
        .await;
    let other = app.tenant("agency").await;
    other.sandbox_device().await;
    for (method, path) in [
        (Method::GET, format!("/api/public/v1/campaigns/{id}")),
        (
            Method::GET,
            format!("/api/public/v1/campaigns/{id}/recipients"),
        ),
        (Method::POST, format!("/api/public/v1/campaigns/{id}/run")),
        (
            Method::POST,
            format!("/api/public/v1/campaigns/{id}/cancel"),
        ),
    ] {
        let Reply { status, body, .. } = other.request(method.clone(), &path, None).await;
        assert_eq!(
            (status, body["error"].clone()),
            (StatusCode::NOT_FOUND, json!("Campaign not found")),
            "{method} {path}"
        );
    }
    let Reply {
        status, body: page, ..
    } = other.get("/api/public/v1/campaigns").await;
    assert_eq!(
        (status, page["campaigns"].clone()),
        (StatusCode::OK, json!([]))
    );
    // The other tenant's device cannot be used either.
    let Reply { status, body, .. } = other
        .create_campaign(json!({"name": "x", "message": "m", "tag": "vip", "deviceId": s.device}))
        .await;
    assert_eq!(
        (status, body["error"].clone()),
        (
            StatusCode::NOT_FOUND,
            json!(format!("\"deviceId\": device {} not found", s.device))
        )
    );
    assert_eq!(t.campaign(&id).await["status"], "running");

    // Free and starter plans have no REST API: 409.
    for plan in ["free", "starter"] {
        let t = app.tenant(plan).await;
        for (method, path) in [
            (Method::POST, "/api/public/v1/campaigns"),
            (Method::GET, "/api/public/v1/campaigns"),
        ] {
            let Reply { status, body, .. } = t
                .request(
                    method,
                    path,
                    Some(json!({"name": "x", "message": "m", "tag": "vip"})),
                )
                .await;
            assert_eq!(status, StatusCode::CONFLICT, "{plan}");
            assert_eq!(
                body["error"],
                format!(
                    "REST API access is not available on the {plan} plan: upgrade to Pro or Agency"
                )
            );
        }
    }
    app.with_key("wati_not_a_real_key_000000000000000000000000")
        .get("/api/public/v1/campaigns")
        .await
        .expect(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn campaigns_are_listed_newest_first_a_page_at_a_time() {
    let s = setup(false, None, Clock::System).await;
    let (app, t) = (&s.app, &s.tenant);
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            t.campaign_id(json!({"name": format!("C{i}"), "message": "m", "tag": "vip"}))
                .await,
        );
    }
    let first = t.get_ok("/api/public/v1/campaigns?limit=2").await;
    let names: Vec<&str> = first["campaigns"].strs("name");
    assert_eq!(names, vec!["C2", "C1"]);
    let cursor = first["nextCursor"].str();
    let second = t
        .get_ok(&format!("/api/public/v1/campaigns?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(second["campaigns"][0]["name"], "C0");
    assert_eq!(second["campaigns"][0]["total"], 0);
    assert!(second["nextCursor"].is_null());
    t.get("/api/public/v1/campaigns?cursor=abc")
        .await
        .expect_error(StatusCode::BAD_REQUEST, "Invalid \"cursor\"");
    // A tag nobody carries: the first run finds the audience empty and completes it.
    let ran = t.run_campaign(&ids[0]).await.expect(StatusCode::OK);
    assert_eq!(ran["result"], "completed");
    assert_eq!(ran["campaign"]["status"], "completed");
    assert_eq!(ran["campaign"]["audienceResolved"], true);
    assert_eq!(counts(&ran["campaign"]), (0, 0, 0, 0, 0, 0));
    let events = completed_events(app).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0]["campaignId"].clone(), events[0]["total"].clone()),
        (json!(ids[0]), json!(0))
    );
}

#[tokio::test]
async fn a_large_recipients_array_is_stored_in_chunks_and_read_a_batch_at_a_time() {
    let s = setup(false, None, Clock::System).await;
    let t = &s.tenant;
    let n = 2_500;
    let recipients: Vec<Value> = (0..n)
        .map(|i| json!({"name": format!("R{i}"), "phone": format!("+92301{i:07}")}))
        .collect();
    let created = t.create_campaign(json!({"name": "Big", "message": "Hi {{name}}", "delaySeconds": 60, "recipients": recipients})).await.expect(StatusCode::CREATED);
    let id = created["id"].string();
    assert_eq!(counts(&created["campaign"]), (n, n, 0, 0, 0, 0));
    let c = s.stored(&id).await;
    assert_eq!(c.chunks, 3, "1,000 entries per chunk");

    // A batch at 60 s intervals holds what SQS can delay: 16 messages (0 … 900 s).
    let ran = t.run_campaign(&id).await.expect(StatusCode::OK);
    assert_eq!(ran["batch"]["size"], 16);
    assert_eq!(counts(&ran["campaign"]), (n, n - 16, 16, 0, 0, 0));
    let listed = t.all_recipients(&id, 100).await;
    assert_eq!(listed.len() as u64, n);
    let queued = listed.iter().filter(|r| r["status"] == "queued").count();
    assert_eq!(queued, 16);
    let mut phones: Vec<&str> = listed.iter().map(|r| r["phone"].str()).collect();
    phones.sort();
    phones.dedup();
    assert_eq!(phones.len() as u64, n, "every recipient listed once");
    assert_eq!(listed[16]["phone"], "923010000016");
    assert_eq!(listed[16]["status"], "pending");
    assert_eq!(listed[1500]["name"], "R1500");

    let cancelled = t.cancel_campaign(&id).await.expect(StatusCode::OK);
    assert_eq!(counts(&cancelled["campaign"]), (n, 0, 0, 0, 0, n));
}

#[tokio::test]
async fn a_campaign_pauses_when_its_device_is_gone_and_run_resumes_it() {
    let s = setup(false, None, Clock::System).await;
    let (app, t) = (&s.app, &s.tenant);
    let recipients = s.numbered("9230110000", 2).await;
    let id = s.campaign_to("Device", recipients, 1).await;
    t.delete(&format!("/api/devices/{}", s.device))
        .await
        .expect(StatusCode::OK);
    t.run_campaign(&id).await.ok();
    let paused = s.until(&id, CampaignStatus::Paused).await;
    assert_eq!(
        (paused.sent, paused.failed, paused.queued),
        (0, 0, 2),
        "nothing sent, nothing lost"
    );
    let c = t.campaign(&id).await;
    assert_eq!(c["pauseReason"], "device_unavailable");
    assert!(
        c["pauseMessage"]
            .as_str()
            .is_some_and(|m| m.starts_with("No connected device")
                && m.contains(&format!("/api/public/v1/campaigns/{id}/run"))),
        "{c}"
    );
    assert!(c.get("resumesAt").is_none());
    // The scheduler does not resume it; `run` does, once a device is back.
    let report = app.scheduler("minute").await;
    assert_eq!(report.requeued + report.queued, 0, "{report:?}");
    t.sandbox_device().await;
    let ran = t.run_campaign(&id).await.expect(StatusCode::OK);
    assert_eq!(
        (ran["result"].clone(), ran["requeued"].clone()),
        (json!("requeued"), json!(2))
    );
    let done = s.until(&id, CampaignStatus::Completed).await;
    assert_eq!((done.sent, done.failed), (2, 0));
}

#[tokio::test]
async fn recipients_outside_the_24_hour_window_fail_without_a_call_to_meta() {
    let s = setup(true, None, Clock::System).await;
    s.open_windows(["923011000001".to_string()]).await;
    let t = &s.tenant;
    let Reply { body: created, .. } = t
        .create_campaign(json!({"name": "Window", "message": "m", "delaySeconds": 1,
               "recipients": [{"phone": "+923011000001"}, {"phone": "+923011000002"}]}))
        .await;
    let id = created["id"].string();
    t.run_campaign(&id).await.ok();
    let done = s.until(&id, CampaignStatus::Completed).await;
    assert_eq!(
        (done.sent, done.failed),
        (1, 1),
        "one open window, one closed"
    );
    assert_eq!(
        s.fake.requests().len(),
        1,
        "Meta is not asked for the closed window"
    );
    let Reply {
        body: recipients, ..
    } = t
        .get(&format!("/api/public/v1/campaigns/{id}/recipients"))
        .await;
    let text = recipients.to_string();
    assert!(text.contains("24-hour"), "the failure says why: {text}");
}
