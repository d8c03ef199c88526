//! Message templates against the fake Graph API: a sync reads every page, list by status,
//! create and delete at Meta, Meta's `message_template_status_update` moving a template
//! (with `template.status`), the minute schedule re-syncing `PENDING` ones, and checked
//! template sends: the wrong number of variables (400) or a template that is not approved
//! or unknown (422) never reach Meta; an approved one goes with its variables as Meta's
//! body parameters.

use std::time::Duration;
use wati_tests::*;

const PHONE_ID: &str = "106540352242944";
const TOKEN: &str = "EAAGtemplates";
/// The account `Tenant::cloud_device` gives its devices.
const WABA: &str = "102290129340398";
const CUSTOMER: &str = "923001234567";

type Env = CloudTenant;

async fn env() -> Env {
    Fakes::spawn()
        .await
        .cloud_tenant(|o| o, PHONE_ID, TOKEN)
        .await
}

fn template(name: &str, status: &str, body: &str) -> Value {
    json!({"name": name, "language": "en_US", "status": status, "category": "MARKETING",
           "id": format!("id_{name}"),
           "components": [{"type": "HEADER", "format": "TEXT", "text": "Hello"},
                          {"type": "BODY", "text": body}]})
}

/// 120 templates (two of Meta's pages of 100): three named ones and fillers.
fn account() -> Vec<Value> {
    let mut all = vec![
        template(
            "order_update",
            "APPROVED",
            "Hi {{1}}, your order {{2}} has shipped",
        ),
        template("promo", "REJECTED", "{{1}} off everything this week"),
        template("pending_one", "PENDING", "Soon"),
    ];
    for i in 0..117 {
        all.push(template(&format!("filler_{i:03}"), "APPROVED", "Thanks"));
    }
    all
}

fn send_template(name: &str, variables: Value) -> Value {
    json!({"to": CUSTOMER, "template": {"name": name, "language": "en_US", "variables": variables}})
}

/// Every template the device's listing answers with `query`, page after page.
async fn templates(t: &Tenant, dev: &str, query: &str) -> Vec<Value> {
    let path = format!("/api/templates?deviceId={dev}{query}");
    t.all_pages(&path, "templates").await
}

#[tokio::test]
async fn a_sync_reads_every_page_and_template_sends_are_checked_before_meta() {
    let e = env().await;
    let (t, dev) = (&e.tenant, e.device.as_str());
    e.meta.set_templates(WABA, TOKEN, account());

    let synced = t
        .post("/api/templates/sync", json!({"deviceId": dev}))
        .await
        .ok();
    assert_eq!(synced, json!({"deviceId": dev, "templates": 120}));
    let calls = e.meta.template_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[1].2.contains("after=100"), "{calls:?}");

    let all = templates(t, dev, "&limit=50").await;
    assert_eq!(all.len(), 120);
    let rejected = t
        .get_ok(&format!("/api/templates?deviceId={dev}&status=REJECTED"))
        .await;
    assert_eq!(rejected["templates"].as_array().unwrap().len(), 1);
    assert_eq!(rejected["templates"][0]["name"], "promo");
    assert_eq!(rejected["templates"][0]["bodyVariables"], 1);
    let order = all.iter().find(|x| x["name"] == "order_update").unwrap();
    assert_eq!(order["status"], "APPROVED");
    assert_eq!(order["category"], "MARKETING");
    assert_eq!(order["bodyVariables"], 2);
    assert_eq!(order["components"][1]["type"], "BODY");

    // Refused without calling Meta: the wrong count (400), not approved or unknown (422).
    t.send_message(send_template("order_update", json!(["Ali"])))
        .await
        .expect_error(
            StatusCode::BAD_REQUEST,
            "Template order_update (en_US) takes 2 body variables ({{1}}, {{2}}); 1 given in \"template.variables\"",
        );
    t.send_message(send_template("promo", json!(["20%"])))
        .await
        .expect_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Template promo (en_US) is REJECTED: only APPROVED templates can be sent",
        );
    let unknown = t
        .send_message(send_template("no_such_template", json!([])))
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.contains("does not exist"), "{unknown}");
    let wrong_language =
        json!({"to": CUSTOMER, "template": {"name": "order_update", "language": "fr"}});
    t.send_message(wrong_language)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e.meta.requests().is_empty(), "{:?}", e.meta.requests());

    // Meta approves `promo`: the stored template moves and `template.status` is published.
    let update = meta_template_status("promo", "en_US", "APPROVED");
    assert_eq!(
        e.app.from_meta(&t.id, &update).await,
        json!({"messages": 0, "statuses": 0})
    );
    let approved = templates(t, dev, "&status=APPROVED&limit=40").await;
    assert_eq!(approved.len(), 119);
    assert!(approved.iter().any(|x| x["name"] == "promo"));

    // The next send goes through, its variables as Meta's body parameters.
    let sent = t
        .send_message(send_template("promo", json!(["20%"])))
        .await
        .ok();
    let requests = e.meta.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].body["template"],
        json!({"name": "promo", "language": {"code": "en_US"},
               "components": [{"type": "body", "parameters": [{"type": "text", "text": "20%"}]}]})
    );
    let message = t.message(sent["id"].as_str().unwrap()).await;
    assert_eq!(
        message["template"],
        json!({"name": "promo", "language": "en_US"})
    );
    t.send_message(send_template("order_update", json!(["Ali", "A-1001"])))
        .await
        .ok();

    let hit = e
        .receiver
        .wait_for(1, Duration::from_secs(15))
        .await
        .into_iter()
        .find(|h| h.body.contains("template.status"))
        .expect("template.status delivered");
    let event: Value = serde_json::from_str(&hit.body).unwrap();
    assert_eq!(event["event"], "template.status");
    assert_eq!(event["name"], "promo");
    assert_eq!(event["status"], "APPROVED");
    assert_eq!(event["deviceId"], dev);
}

#[tokio::test]
async fn templates_are_created_and_deleted_at_meta_and_pending_ones_are_synced_again() {
    let e = env().await;
    let (t, dev) = (&e.tenant, e.device.as_str());
    e.meta.set_templates(WABA, TOKEN, vec![]);

    // Never synced: sent as given (the variables still become body parameters).
    t.send_message(send_template("anything", json!(["x"])))
        .await
        .ok();
    assert_eq!(e.meta.requests().len(), 1);

    let body = json!({"deviceId": dev, "name": "welcome", "category": "UTILITY", "language": "en",
                      "components": [{"type": "BODY", "text": "Welcome {{1}}"}]});
    let created = t
        .post("/api/templates", body.clone())
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(created["template"]["status"], "PENDING");
    assert_eq!(created["template"]["bodyVariables"], 1);
    assert_eq!(e.meta.templates(WABA).len(), 1);
    let mut bad = body.clone();
    bad["category"] = json!("PROMO");
    t.post("/api/templates", bad).await.expect_error(
        StatusCode::BAD_REQUEST,
        "\"category\" must be MARKETING, UTILITY or AUTHENTICATION",
    );
    // Known now (the device is synced by nothing yet, but the template is stored): PENDING.
    let pending = json!({"to": CUSTOMER, "template": {"name": "welcome", "language": "en", "variables": ["Sara"]}});
    t.send_message(pending.clone())
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);

    // Meta approves it without a webhook reaching us: the minute schedule catches up.
    let mut approved = e.meta.templates(WABA);
    approved[0]["status"] = json!("APPROVED");
    e.meta.set_templates(WABA, TOKEN, approved);
    e.app.scheduler("minute").await;
    let list = t.get_ok(&format!("/api/templates?deviceId={dev}")).await;
    assert_eq!(list["templates"][0]["status"], "APPROVED");
    t.send_message(pending).await.ok();

    t.delete(&format!("/api/templates/welcome?deviceId={dev}"))
        .await
        .ok();
    assert!(e.meta.templates(WABA).is_empty());
    let list = t.get_ok(&format!("/api/templates?deviceId={dev}")).await;
    assert_eq!(list["templates"], json!([]));
    t.delete(&format!("/api/templates/welcome?deviceId={dev}"))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);

    // Only Cloud API devices, only the tenant's own.
    let sandbox = t.sandbox_device().await;
    t.post("/api/templates/sync", json!({"deviceId": sandbox}))
        .await
        .expect(StatusCode::BAD_REQUEST);
    let other = e.app.roomy_tenant("pro").await;
    other
        .post("/api/templates/sync", json!({"deviceId": dev}))
        .await
        .expect_error(StatusCode::NOT_FOUND, "Device not found");
    t.post("/api/templates/sync", json!({}))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "\"deviceId\" is required");
}

/// A campaign of three recipients (one without a name) for `template`.
fn template_campaign(template: Value) -> Value {
    json!({"name": "Shipping notice", "template": template, "delaySeconds": 1,
           "recipients": [{"name": "Ali", "phone": "+923001111111"},
                          {"phone": "+923002222222"},
                          {"name": "Sara", "phone": "+923003333333"}]})
}

async fn campaign_settles(t: &Tenant, id: &str, status: &str) -> Value {
    eventually(
        &format!("campaign {status}"),
        Duration::from_secs(30),
        || async {
            let c = t.campaign(id).await;
            (c["status"] == status).then_some(c)
        },
    )
    .await
}

#[tokio::test]
async fn a_template_campaign_reaches_customers_who_never_wrote_with_each_ones_variables() {
    let e = env().await;
    let (t, dev) = (&e.tenant, e.device.as_str());
    e.meta.set_templates(WABA, TOKEN, account());
    t.post("/api/templates/sync", json!({"deviceId": dev}))
        .await
        .ok();
    let order_update = json!({"name": "order_update", "language": "en_US", "variables": ["{{name}}", "A-{{phone}}"]});

    // Checked when created, as `/send` checks a template: nothing is created.
    t.create_campaign(template_campaign(
        json!({"name": "order_update", "language": "en_US", "variables": ["{{name}}"]}),
    ))
    .await
    .expect_error(
        StatusCode::BAD_REQUEST,
        "Template order_update (en_US) takes 2 body variables ({{1}}, {{2}}); 1 given in \"template.variables\"",
    );
    t.create_campaign(template_campaign(
        json!({"name": "promo", "language": "en_US", "variables": ["20%"]}),
    ))
    .await
    .expect_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Template promo (en_US) is REJECTED: only APPROVED templates can be sent",
    );
    t.create_campaign(template_campaign(
        json!({"name": "Bad Name", "language": "en_US"}),
    ))
    .await
    .expect(StatusCode::BAD_REQUEST);
    assert!(t.get_ok("/api/public/v1/campaigns").await["campaigns"]
        .as_array()
        .unwrap()
        .is_empty());

    // None of the recipients ever wrote (a text campaign could not reach them); the
    // template goes to each with its own variables, and a recipient without a name fails
    // at once instead of sending Meta an empty parameter.
    let created = t
        .create_campaign(template_campaign(order_update.clone()))
        .await
        .expect(StatusCode::CREATED);
    let id = created["id"].string();
    assert_eq!(created["campaign"]["template"], order_update);
    assert_eq!(created["campaign"]["message"], "");
    t.run_campaign(&id).await.expect(StatusCode::OK);
    let done = campaign_settles(t, &id, "completed").await;
    assert_eq!(
        (done["sent"].as_u64(), done["failed"].as_u64()),
        (Some(2), Some(1))
    );
    let mut sent: Vec<(String, Value)> = e
        .meta
        .requests()
        .iter()
        .map(|r| (r.body["to"].string(), r.body["template"].clone()))
        .collect();
    sent.sort_by(|a, b| a.0.cmp(&b.0));
    let body = |name: &str, phone: &str| {
        json!({"name": "order_update", "language": {"code": "en_US"},
               "components": [{"type": "body", "parameters": [
                   {"type": "text", "text": name}, {"type": "text", "text": format!("A-{phone}")}]}]})
    };
    assert_eq!(
        sent,
        [
            ("923001111111".to_string(), body("Ali", "923001111111")),
            ("923003333333".to_string(), body("Sara", "923003333333")),
        ]
    );
    let recipients = t.all_recipients(&id, 10).await;
    let nameless = recipients
        .iter()
        .find(|r| r["phone"] == "923002222222")
        .expect("the recipient without a name");
    assert_eq!(nameless["status"], "failed");
    assert_eq!(
        nameless["error"],
        "Template variable 1 is empty for this recipient (it has no name): Meta refuses empty parameters"
    );
    let first = recipients
        .iter()
        .find(|r| r["phone"] == "923001111111")
        .unwrap();
    let message = t.message(first["messageId"].str()).await;
    assert_eq!(
        message["template"],
        json!({"name": "order_update", "language": "en_US"})
    );

    // Meta rejects the template before the next campaign runs: it pauses without sending,
    // and `run` resumes it once the template is approved again.
    let next = t
        .create_campaign(template_campaign(order_update))
        .await
        .expect(StatusCode::CREATED)["id"]
        .string();
    let reject = meta_template_status("order_update", "en_US", "REJECTED");
    e.app.from_meta(&t.id, &reject).await;
    t.run_campaign(&next).await.expect(StatusCode::OK);
    let paused = campaign_settles(t, &next, "paused").await;
    assert_eq!(paused["pauseReason"], "template_unavailable");
    let why = paused["pauseMessage"].str();
    assert!(
        why.starts_with("Template order_update (en_US) is REJECTED")
            && why.contains(&format!("/api/public/v1/campaigns/{next}/run")),
        "{why}"
    );
    assert_eq!(e.meta.requests().len(), 2, "nothing more reached Meta");
    let approve = meta_template_status("order_update", "en_US", "APPROVED");
    e.app.from_meta(&t.id, &approve).await;
    t.run_campaign(&next).await.expect(StatusCode::OK);
    let resumed = campaign_settles(t, &next, "completed").await;
    assert_eq!(
        (resumed["sent"].as_u64(), resumed["failed"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(e.meta.requests().len(), 4);
}
