//! API Gateway v2 event fixtures through `lambda_http` into the functions' Routers: what
//! Lambda does with a request, minus the runtime API.

use wati_tests::events::Invoked;
use wati_tests::fake_meta::FakeMeta;
use wati_tests::*;

#[tokio::test]
async fn api_gateway_events_reach_the_routers() {
    let app = TestApp::start().await;
    let event = fixture(
        "apigw-create-tenant.json",
        &[("__PLATFORM_ADMIN_KEY__", &app.admin_key)],
    );
    let Invoked {
        status,
        request_id,
        body,
        ..
    } = invoke(fn_admin::router(app.state.clone()), &event).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        request_id, "fixture-create-tenant-0001",
        "API Gateway's request id is the request's id"
    );
    assert_eq!(body["tenant"]["name"], "Fixture Ltd");
    let key = body["apiKey"].string();
    let tenant_id = body["tenant"]["id"].string();

    let event = fixture("apigw-list-keys.json", &[("__API_KEY__", &key)]);
    let Invoked { status, body, .. } = invoke(fn_settings::router(app.state.clone()), &event).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["keys"][0]["prefix"], &key[..12]);

    let event = fixture(
        "apigw-get-tenant-path-param.json",
        &[
            ("__PLATFORM_ADMIN_KEY__", &app.admin_key),
            ("__TENANT_ID__", &tenant_id),
        ],
    );
    let Invoked { status, body, .. } = invoke(fn_admin::router(app.state.clone()), &event).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tenant"]["id"], tenant_id.as_str());

    let event = fixture("apigw-list-keys.json", &[("__API_KEY__", "wati_nope")]);
    let Invoked { status, body, .. } = invoke(fn_settings::router(app.state.clone()), &event).await;
    assert_eq!(status, 401);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn a_send_event_goes_through_the_messages_function_and_the_sandbox_worker() {
    let (app, t) = TestApp::with_tenant("pro").await;
    t.sandbox_device().await;
    let router = || fn_messages::router(app.state.clone());
    let event = fixture("apigw-send-text.json", &[("__API_KEY__", &t.key)]);
    let Invoked {
        status,
        request_id,
        body: sent,
        ..
    } = invoke(router(), &event).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(request_id, "fixture-send-text-0001");
    assert_eq!(sent["to"], "923001234567");
    // The same event again carries the same Idempotency-Key: the same answer.
    let Invoked {
        status,
        body: again,
        ..
    } = invoke(router(), &event).await;
    assert_eq!((status, &again), (200, &sent));

    let id = sent["id"].str();
    let event = fixture(
        "apigw-get-message.json",
        &[("__API_KEY__", &t.key), ("__MESSAGE_ID__", id)],
    );
    let Invoked {
        status,
        body: found,
        ..
    } = invoke(router(), &event).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["message"]["status"], "sent");
    assert_eq!(found["message"]["text"], "Your OTP is 123456");

    // The sandbox worker, given the SQS event Lambda would deliver.
    let sqs = sqs_fixture(
        "sqs-sandbox-status.json",
        &[("__TENANT_ID__", &t.id), ("__MESSAGE_ID__", id)],
    );
    let response = fn_sandbox_worker::handle(&app.state, sqs).await;
    assert!(response.batch_item_failures.is_empty());
    let Invoked { body: found, .. } = invoke(router(), &event).await;
    assert_eq!(found["message"]["status"], "delivered");
}

#[tokio::test]
async fn a_campaign_goes_through_its_function_the_scheduler_and_the_worker_as_lambda_events() {
    let (app, t) = TestApp::with_tenant("pro").await;
    t.sandbox_device().await;
    let event = fixture("apigw-create-campaign.json", &[("__API_KEY__", &t.key)]);
    let Invoked {
        status,
        request_id,
        body: created,
        ..
    } = invoke(fn_campaigns::router(app.state.clone()), &event).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(request_id, "fixture-create-campaign-0001");
    assert_eq!(created["status"], "running");
    let id = created["id"].string();

    // The every-minute rule's input starts it: its first batch is queued.
    let input: Value =
        serde_json::from_str(&fixture("eventbridge-scheduler-minute.json", &[])).expect("JSON");
    let report = fn_scheduler::run(&app.state, &input).await.unwrap();
    assert_eq!((report.due, report.queued), (1, 1), "{report:?}");

    // The worker, given the SQS event Lambda would deliver: the first recipient's task and
    // an unreadable message (reported as a batch item failure, so it ends in the DLQ).
    let body = app
        .receive_once(&app.queue("CampaignQueue"), 1, None)
        .await
        .into_iter()
        .next()
        .and_then(|m| m.body)
        .expect("the first message is due at once");
    let escaped = serde_json::to_string(&body).expect("JSON");
    let sqs = sqs_fixture(
        "sqs-campaign-task.json",
        &[("\"__TASK__\"", escaped.as_str())],
    );
    let response = fn_campaign_worker::handle(&app.state, sqs).await;
    assert_eq!(
        failed_ids(&response),
        ["55555555-5555-4555-8555-555555555555"]
    );
    let c = app.campaign_record(&t.id, &id).await;
    assert_eq!((c.sent, c.queued, c.total), (1, 1, 2));
}

/// A tenant with a Cloud API device, and Meta's bytes of a text message to it, spacing and
/// all: the signature covers exactly these.
async fn meta_text_to_a_device(wamid: &str, text: &str) -> (FakeMeta, TestApp, Tenant, String) {
    let fake = FakeMeta::start().await;
    let app = TestApp::start_with(sending_options(&fake.base)).await;
    let t = app.tenant("pro").await;
    t.cloud_device(&fake, "106540352242922", "EAAGlambda").await;
    let raw = fixture(
        "meta-text-message.json",
        &[
            ("__PHONE_NUMBER_ID__", "106540352242922"),
            ("__WAMID__", wamid),
            ("__TS__", &chrono::Utc::now().timestamp().to_string()),
            ("__TEXT__", text),
        ],
    );
    (fake, app, t, raw)
}

#[tokio::test]
async fn metas_webhook_event_is_verified_over_the_raw_body_plain_or_base64() {
    use base64::Engine;
    let (_fake, app, t, raw) =
        meta_text_to_a_device("wamid.HBgMLAMBDA0001", "hello from Lambda").await;
    let good = sign(APP_SECRET, raw.as_bytes());
    let event = |body: String, base64: bool, signature: &str| {
        fixture(
            "apigw-cloud-api-webhook.json",
            &[
                ("__TENANT_ID__", &t.id),
                ("__SIGNATURE__", signature),
                // The body as a JSON string, raw or base64 as API Gateway passes it.
                ("\"__BODY__\"", &body),
                (
                    "\"isBase64Encoded\": false",
                    if base64 {
                        "\"isBase64Encoded\": true"
                    } else {
                        "\"isBase64Encoded\": false"
                    },
                ),
            ],
        )
    };
    let plain = serde_json::to_string(&raw).expect("JSON");
    let encoded =
        serde_json::to_string(&base64::engine::general_purpose::STANDARD.encode(raw.as_bytes()))
            .expect("JSON");
    let router = || fn_cloud_api_webhook::router(app.state.clone());
    for (body, b64) in [(plain.clone(), false), (encoded, true)] {
        let Invoked {
            status,
            request_id,
            body: res,
            ..
        } = invoke(router(), &event(body, b64, &good)).await;
        assert_eq!(status, 200, "base64 {b64}: {res}");
        assert_eq!(request_id, "fixture-meta-webhook-0001");
        assert_eq!(res, json!({"messages": 1, "statuses": 0}));
    }
    let Invoked { status, .. } = invoke(router(), &event(plain.clone(), false, "sha256=00")).await;
    assert_eq!(status, 401);
    let wrong = sign("wrong", raw.as_bytes());
    let Invoked { status, .. } = invoke(router(), &event(plain, false, &wrong)).await;
    assert_eq!(status, 403);
}

/// Meta calls the webhook function's own URL: a function URL's event (payload 2.0, route
/// `$default`, no path parameters) reaches the same route and checks the same signature.
#[tokio::test]
async fn metas_webhook_through_the_function_url_is_verified_as_through_the_api() {
    let (_fake, app, t, raw) =
        meta_text_to_a_device("wamid.HBgMFNURL0001", "hello through the function URL").await;
    let event = |signature: &str| {
        fixture(
            "lambda-url-cloud-api-webhook.json",
            &[
                ("__TENANT_ID__", &t.id),
                ("__SIGNATURE__", signature),
                ("\"__BODY__\"", &serde_json::to_string(&raw).expect("JSON")),
            ],
        )
    };
    let router = || fn_cloud_api_webhook::router(app.state.clone());
    let Invoked {
        status,
        request_id,
        body,
        ..
    } = invoke(router(), &event(&sign(APP_SECRET, raw.as_bytes()))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(request_id, "fixture-meta-function-url-0001");
    assert_eq!(body, json!({"messages": 1, "statuses": 0}));
    let wrong = sign("wrong", raw.as_bytes());
    let Invoked { status, .. } = invoke(router(), &event(&wrong)).await;
    assert_eq!(status, 403);
}
