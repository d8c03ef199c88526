//! Devices: sandbox and Cloud API, credentials only in Secrets Manager, tenant isolation.

use wati_tests::*;

const TOKEN: &str = "EAAGtokenValue1234567890";
const VERIFY: &str = "my-tenant-7f3a";

fn cloud_body(phone: &str) -> Value {
    json!({"name": "Main line", "provider": "cloud_api", "phoneNumberId": phone,
           "wabaId": "102290129340398", "accessToken": TOKEN, "appSecret": APP_SECRET,
           "verifyToken": VERIFY})
}

/// Every item of the tenant's own partition, as text.
async fn tenant_items(app: &TestApp, tenant_id: &str) -> String {
    format!("{:?}", app.partition(&format!("TENANT#{tenant_id}")).await)
}

#[tokio::test]
async fn devices_are_created_listed_and_deleted_with_credentials_only_in_secrets_manager() {
    let (app, t) = TestApp::with_tenant("pro").await;
    let sandbox = t
        .create_device(json!({"name": "Try it", "provider": "sandbox"}))
        .await;
    assert_eq!(
        sandbox.keys(),
        ["createdAt", "id", "name", "provider", "status"]
    );
    assert_eq!(sandbox["provider"], "sandbox");
    assert_eq!(sandbox["status"], "connected");
    assert_eq!(sandbox["name"], "Try it");

    let created = t
        .post("/api/devices", cloud_body("106540352242922"))
        .await
        .expect(StatusCode::CREATED);
    let cloud = created["device"].clone();
    let id = cloud["id"].string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert_eq!(
        cloud.keys(),
        [
            "createdAt",
            "id",
            "name",
            "phoneNumberId",
            "provider",
            "status",
            "wabaId",
            "webhookUrl"
        ]
    );
    assert_eq!(cloud["provider"], "cloud_api");
    assert_eq!(cloud["status"], "connected");
    assert_eq!(cloud["phoneNumberId"], "106540352242922");
    // No PUBLIC_BASE_URL: the request's own host (plain http on this machine).
    assert_eq!(
        cloud["webhookUrl"],
        format!("{}/api/public/cloud-api-webhook/{}", app.base, t.id)
    );
    let text = created.to_string();
    for secret in [TOKEN, APP_SECRET, VERIFY] {
        assert!(!text.contains(secret), "{secret} returned: {text}");
    }

    // The credentials are in Secrets Manager, one secret per device…
    let name = app.state.device_secrets.name_for(&t.id, &id);
    let stored = parse(&app.secret(&name).await.expect("the device's secret"));
    assert_eq!(
        stored,
        json!({"accessToken": TOKEN, "appSecret": APP_SECRET, "verifyToken": VERIFY})
    );
    // …and nowhere in the table, which holds only the secret's name.
    let items = tenant_items(&app, &t.id).await;
    assert!(items.contains(&name), "{items}");
    for secret in [TOKEN, APP_SECRET, VERIFY] {
        assert!(!items.contains(secret), "{secret} in the table");
    }

    // Listing (oldest first) and reading never show them either.
    let list = t.get_ok("/api/devices").await;
    let ids: Vec<&str> = list["devices"].strs("id");
    assert_eq!(ids, [sandbox["id"].str(), id.as_str()]);
    let Reply {
        status, body: one, ..
    } = t.get(&format!("/api/devices/{id}")).await;
    assert_eq!(
        (status, one["device"].clone()),
        (StatusCode::OK, cloud.clone())
    );
    assert!(!format!("{list}{one}").contains(TOKEN));

    // The same phone number id cannot be connected twice.
    let body = t
        .post("/api/devices", cloud_body("106540352242922"))
        .await
        .expect(StatusCode::CONFLICT);
    assert_eq!(
        body["error"],
        format!("\"phoneNumberId\" is already connected as device {id}: delete that device first")
    );

    // Another tenant sees none of it.
    let other = app.tenant("pro").await;
    for method in [Method::GET, Method::DELETE] {
        let Reply { status, body, .. } = other
            .request(method.clone(), &format!("/api/devices/{id}"), None)
            .await;
        assert_eq!(
            (status, body),
            (StatusCode::NOT_FOUND, json!({"error": "Device not found"})),
            "{method}"
        );
    }
    let list = other.get("/api/devices").await.body;
    assert_eq!(list, json!({"devices": []}));

    // Deleting removes the device, its phone number and its secret.
    let body = t
        .delete(&format!("/api/devices/{id}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(body["device"]["id"], id.as_str());
    assert_eq!(body["device"]["status"], "disconnected");
    assert_eq!(
        t.status_of(&format!("/api/devices/{id}")).await,
        StatusCode::NOT_FOUND
    );
    assert!(app.secret(&name).await.is_none(), "the secret is deleted");
    let again = t.create_device(cloud_body("106540352242922")).await;
    assert_ne!(again["id"], id.as_str(), "the number is free again");
}

#[tokio::test]
async fn the_webhook_url_uses_the_public_base_url_when_configured() {
    let app = TestApp::start_with(TestOptions {
        overrides: vec![("PUBLIC_BASE_URL".into(), "https://wati.example.com/".into())],
        ..Default::default()
    })
    .await;
    let t = app.tenant("pro").await;
    let d = t.create_device(cloud_body("5550001")).await;
    assert_eq!(
        d["webhookUrl"],
        format!(
            "https://wati.example.com/api/public/cloud-api-webhook/{}",
            t.id
        )
    );
}

/// With the webhook functions' own URLs configured (the template's function URLs), devices
/// are told those instead of the API's.
#[tokio::test]
async fn the_webhook_url_is_the_webhook_functions_own_url_when_configured() {
    let app = TestApp::start_with(TestOptions {
        overrides: vec![
            ("PUBLIC_BASE_URL".into(), "https://wati.example.com".into()),
            (
                "CLOUD_API_WEBHOOK_BASE_URL".into(),
                "https://abc123.lambda-url.us-east-1.on.aws/".into(),
            ),
        ],
        ..Default::default()
    })
    .await;
    let t = app.tenant("pro").await;
    let d = t.create_device(cloud_body("5550002")).await;
    let expected = format!(
        "https://abc123.lambda-url.us-east-1.on.aws/api/public/cloud-api-webhook/{}",
        t.id
    );
    assert_eq!(d["webhookUrl"], expected);
    let id = d["id"].string();
    let got = t.get_ok(&format!("/api/devices/{id}")).await;
    assert_eq!(got["device"]["webhookUrl"], expected);
}

#[tokio::test]
async fn bad_device_requests_are_400s_that_name_the_field() {
    let (_app, t) = TestApp::with_tenant("pro").await;
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = cloud_body("106540352242922");
        f(&mut b);
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (json!({"provider": "sandbox"}), "\"name\" must not be empty"),
        (
            json!({"name": "x"}),
            "\"provider\" is required: \"sandbox\", \"cloud_api\" or \"whatsapp_web\"",
        ),
        (
            json!({"name": "x", "provider": "baileys"}),
            "\"provider\" must be \"sandbox\", \"cloud_api\" or \"whatsapp_web\"",
        ),
        (
            json!({"name": "x", "provider": "sandbox", "accessToken": "t"}),
            "\"accessToken\" is only for cloud_api devices",
        ),
        (
            with(&|b| {
                b.as_object_mut().map(|o| o.remove("phoneNumberId"));
            }),
            "\"phoneNumberId\" is required for cloud_api devices",
        ),
        (
            with(&|b| b["wabaId"] = json!("WABA-1")),
            "\"wabaId\" must be Meta's numeric id",
        ),
        (
            with(&|b| {
                b.as_object_mut().map(|o| o.remove("accessToken"));
            }),
            "\"accessToken\" is required for cloud_api devices",
        ),
        (
            with(&|b| b["appSecret"] = json!("")),
            "\"appSecret\" is required for cloud_api devices",
        ),
        (
            with(&|b| b["verifyToken"] = json!("two words")),
            "\"verifyToken\" must be at most 256 visible ASCII characters",
        ),
    ];
    for (body, message) in cases {
        t.post("/api/devices", &body)
            .await
            .expect_bad_request(message, &body);
    }
    let answer = t
        .post(
            "/api/devices",
            json!({"name": "x", "provider": "sandbox", "colour": "red"}),
        )
        .await
        .expect(StatusCode::BAD_REQUEST);
    assert!(
        answer["error"].str().contains("unknown field `colour`"),
        "{answer}"
    );
    let answer = t
        .post("/api/devices", json!({"name": 5, "provider": "sandbox"}))
        .await
        .expect(StatusCode::BAD_REQUEST);
    assert!(
        answer["error"].str().starts_with("Invalid \"name\""),
        "{answer}"
    );
    // Nothing was created by any of them.
    let list = t.get("/api/devices").await.body;
    assert_eq!(list, json!({"devices": []}));
    assert_eq!(
        t.status_of("/api/devices/not-a-uuid").await,
        StatusCode::NOT_FOUND
    );
}
