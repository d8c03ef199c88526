//! Requests the API cannot read — trailing data after a JSON body, a body over the limit, a
//! path parameter that is not UTF-8, an `Authorization` header that is not ASCII — are
//! answered with a JSON error on every route, like every other refusal.

use wati_tests::*;

/// Every operation of the OpenAPI document: method, path, and the smallest body its
/// schema accepts (its required fields), if it takes one.
async fn operations(app: &TestApp) -> Vec<(Method, String, Option<Value>)> {
    let doc = app.anonymous().get_ok("/api/openapi.json").await;
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            if let Ok(method) = Method::from_bytes(method.to_uppercase().as_bytes()) {
                // JSON bodies only: a CSV upload has its own content type and limit.
                let body = op
                    .get("requestBody")
                    .map(|b| &b["content"]["application/json"]["schema"])
                    .filter(|schema| !schema.is_null())
                    .map(|schema| smallest(&doc, schema));
                out.push((method, path.clone(), body));
            }
        }
    }
    assert!(out.len() > 40, "{out:?}");
    out
}

/// An object with the schema's required properties, each an empty value of its type.
fn smallest(doc: &Value, schema: &Value) -> Value {
    let schema = match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => schema,
    };
    let mut body = serde_json::Map::new();
    for field in schema["required"].as_array().into_iter().flatten() {
        let field = field.string();
        let property = &schema["properties"][&field];
        let property = match property["$ref"].as_str() {
            Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
            None => property,
        };
        if let Some(first) = property["enum"].get(0) {
            body.insert(field, first.clone());
            continue;
        }
        let kind = &property["type"];
        let value = match kind.as_str().or_else(|| kind[0].as_str()) {
            Some("boolean") => json!(false),
            Some("array") => json!([]),
            Some("integer" | "number") => json!(0),
            Some("object") => json!({}),
            _ => json!("x"),
        };
        body.insert(field, value);
    }
    Value::Object(body)
}

/// A tenant (roomy keys) with an admin member signed in, and the platform admin.
struct Callers {
    app: TestApp,
    tenant: Tenant,
    member: Api,
}

impl Callers {
    async fn start() -> Callers {
        let (app, tenant) = TestApp::with_roomy_tenant("agency").await;
        let member = tenant.member(&app, "admin").await;
        Callers {
            app,
            tenant,
            member,
        }
    }

    /// The caller a route needs to get as far as its handler: the platform admin, a
    /// signed-in member (`/api/auth/*` routes of a session), or the tenant's key.
    fn of(&self, path: &str) -> Api {
        if path.starts_with("/api/admin/") {
            self.app.admin()
        } else if path.starts_with("/api/auth/") {
            self.member.clone()
        } else {
            self.tenant.api.clone()
        }
    }
}

/// `{param}`s of an OpenAPI path replaced by `value`.
fn fill(path: &str, value: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { value } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

fn assert_json_error(reply: &Reply, status: StatusCode, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
    assert!(
        reply.header("content-type").starts_with("application/json"),
        "{what}: {:?}",
        reply.headers
    );
    assert!(reply.body["error"].is_string(), "{what}: {}", reply.body);
}

#[tokio::test]
async fn every_json_body_refuses_trailing_data() {
    let callers = Callers::start().await;
    let mut checked = 0;
    for (method, path, body) in operations(&callers.app).await {
        let Some(body) = body else { continue };
        if path.starts_with("/api/public/cloud-api-webhook")
            || path.starts_with("/api/public/gateway-webhook")
        {
            continue; // Meta's and WAHA's webhooks are refused on their device and signature first
        }
        let path = fill(&path, "probe-id");
        let reply = callers
            .of(&path)
            .raw(method.clone(), &path, &format!("{body} {body}"))
            .await;
        let what = format!("{method} {path}");
        assert_json_error(&reply, StatusCode::BAD_REQUEST, &what);
        assert!(
            reply.body["error"]
                .string()
                .starts_with("Request body is not valid JSON: trailing characters"),
            "{what}: {}",
            reply.body
        );
        checked += 1;
    }
    assert!(checked > 15, "{checked}");
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_json_413_on_every_route_that_reads_one() {
    let callers = Callers::start().await;
    let big = vec![b' '; 6 * 1024 * 1024 + 1];
    for (method, path, body) in operations(&callers.app).await {
        if body.is_none() {
            continue;
        }
        let path = fill(&path, "probe-id");
        let api = callers.of(&path);
        let reply = api
            .send(
                api.builder(method.clone(), &path)
                    .header("content-type", "application/json")
                    .body(big.clone()),
            )
            .await;
        assert_json_error(
            &reply,
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("{method} {path}"),
        );
        assert_eq!(
            reply.body["error"], "Request body is too large: at most 6291456 bytes (6 MB)",
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn a_path_parameter_that_is_not_utf8_is_a_json_400_on_every_route() {
    let callers = Callers::start().await;
    let mut checked = 0;
    for (method, path, _) in operations(&callers.app).await {
        if !path.contains('{') || path.contains("+}") {
            continue; // `/{proxy+}` is the CORS preflight's, which reads no parameter
        }
        let path = fill(&path, "%FF");
        let reply = callers.of(&path).request(method.clone(), &path, None).await;
        assert_json_error(&reply, StatusCode::BAD_REQUEST, &format!("{method} {path}"));
        checked += 1;
    }
    assert!(checked > 20, "{checked}");
}

#[tokio::test]
async fn an_authorization_header_that_is_not_ascii_is_called_malformed() {
    let (app, t) = TestApp::with_tenant("pro").await;
    let mut token = format!("Bearer {}", t.key).into_bytes();
    token.push(0xFF);
    let value = reqwest::header::HeaderValue::from_bytes(&token).expect("obs-text is allowed");
    for path in ["/api/keys", "/api/admin/tenants"] {
        let anonymous = app.anonymous();
        anonymous
            .send(
                anonymous
                    .builder(Method::GET, path)
                    .header("authorization", value.clone()),
            )
            .await
            .expect_body(
                StatusCode::UNAUTHORIZED,
                json!({"error": "Malformed Authorization header: it must be visible ASCII characters"}),
            );
    }
    // Without the stray byte the key works.
    t.get("/api/keys").await.ok();
}
