//! The template, the dev server and the OpenAPI document describe the same routes; CORS.

use std::collections::BTreeSet;
use wati_tests::shared::Template;
use wati_tests::*;

fn template() -> Template {
    Template::load(&template_path()).unwrap()
}

fn openapi_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
            if ["get", "post", "put", "patch", "delete", "options", "head"]
                .contains(&method.as_str())
            {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn template_dev_server_and_openapi_have_the_same_routes() {
    let app = TestApp::start().await;
    let t = template();
    let template_routes: BTreeSet<(String, String)> =
        t.routes().into_iter().map(|r| (r.method, r.path)).collect();
    assert!(template_routes.len() >= 11);

    let doc = app.anonymous().get_ok("/api/openapi.json").await;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    assert_eq!(
        openapi_routes(&doc),
        template_routes,
        "OpenAPI vs template.yaml"
    );

    // Each route is served by the function the template names, and that function really
    // handles it (its own fallback would say "No route for …").
    for route in t.routes() {
        let path = route
            .path
            .replace("{proxy+}", "any/thing")
            .replace("{id}", "probe-id");
        let method = Method::from_bytes(route.method.as_bytes()).expect("an HTTP method");
        let Reply { status, body, .. } = app
            .with_key("wati_probe")
            .request(method, &path, None)
            .await;
        let text = body.to_string();
        assert!(
            !text.contains("No route for") && body != json!({"message": "Not Found"}),
            "{} {}: {status} {text}",
            route.method,
            route.path
        );
        let uri = t
            .code_uri(&route.function)
            .expect("the function's code URI");
        assert!(
            app.server.functions.http.contains_key(uri),
            "{uri} has no Router"
        );
    }
    // A path the template does not declare is API Gateway's 404.
    let body = app
        .anonymous()
        .get("/api/nothing-here")
        .await
        .expect(StatusCode::NOT_FOUND);
    assert_eq!(body, json!({"message": "Not Found"}));
}

#[tokio::test]
async fn each_function_documents_exactly_its_template_routes() {
    let t = template();
    let docs = [
        ("functions/admin", fn_admin::openapi()),
        ("functions/settings", fn_settings::openapi()),
        ("functions/auto-replies", fn_auto_replies::openapi()),
        ("functions/inbox", fn_inbox::openapi()),
        ("functions/contacts", fn_contacts::openapi()),
        ("functions/messages", fn_messages::openapi()),
        ("functions/campaigns", fn_campaigns::openapi()),
        (
            "functions/cloud-api-webhook",
            fn_cloud_api_webhook::openapi(),
        ),
        ("functions/gateway-webhook", fn_gateway_webhook::openapi()),
        ("functions/meta", fn_meta::own_openapi()),
    ];
    for (uri, doc) in docs {
        let doc = serde_json::to_value(&doc).expect("JSON");
        let documented = openapi_routes(&doc);
        let declared: BTreeSet<(String, String)> = t
            .routes()
            .into_iter()
            .filter(|r| t.code_uri(&r.function) == Some(uri))
            .map(|r| (r.method, r.path))
            .collect();
        assert_eq!(documented, declared, "{uri}");
    }
}

/// `meta` serves a checked-in document (merging at run time linked every function crate
/// into it): the file must be exactly what the function crates generate today.
#[test]
fn the_served_openapi_document_is_what_the_functions_generate() {
    assert!(
        fn_meta::OPENAPI_JSON == wati_infra::openapi::document_json(),
        "{} differs from the function crates' routes: run `make openapi`",
        wati_infra::openapi::DOCUMENT_PATH
    );
}

#[tokio::test]
async fn preflight_is_answered_but_browsers_get_no_origin_by_default() {
    let app = TestApp::start().await;
    let res = app
        .http
        .request(Method::OPTIONS, app.url("/api/public/v1/send"))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(res.headers().get("access-control-allow-origin").is_none());

    let app = TestApp::start_with(
        TestOptions::default().with("CORS_ALLOWED_ORIGINS", "https://dash.example"),
    )
    .await;
    let preflight = |origin: &'static str| {
        app.http
            .request(Method::OPTIONS, app.url("/api/keys"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
    };
    let res = preflight("https://dash.example").await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header(res.headers(), "access-control-allow-origin"),
        "https://dash.example"
    );
    assert!(header(res.headers(), "access-control-allow-headers").contains("authorization"));
    let res = preflight("https://evil.example").await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    // Actual responses carry the origin too, for allowed origins only.
    let res = app
        .http
        .get(app.url("/health"))
        .header("origin", "https://dash.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(res.headers(), "access-control-allow-origin"),
        "https://dash.example"
    );
}

#[tokio::test]
async fn health_answers_when_the_table_is_there() {
    let app = TestApp::start().await;
    let reply = app.anonymous().get("/health").await;
    assert_eq!(reply.header("x-aws-calls"), "1");
    assert!(!reply.header("x-request-id").is_empty());
    assert_eq!(reply.ok(), json!({"status": "ok", "dynamodb": "ok"}));
}

/// The methods each path of a `routes!` answers.
fn paths_and_methods(paths: &utoipa::openapi::path::Paths) -> BTreeSet<(String, String)> {
    openapi_routes(&json!({ "paths": serde_json::to_value(paths).unwrap() }))
}

/// Release builds (Lambda) register the routes without their OpenAPI operations
/// (`wati_shared::routing_only!`); the dev server and these tests run debug builds, with
/// them. Both take each handler's path and methods from its `#[utoipa::path]`: the same
/// routes, a path shared by several handlers and a path parameter included.
#[test]
fn release_builds_register_the_same_routes_without_their_openapi_operations() {
    use fn_contacts::{bulk, contacts};
    use fn_inbox::canned;
    let full = [
        utoipa_axum::routes!(bulk::upsert_contacts, bulk::delete_contacts),
        utoipa_axum::routes!(contacts::get_contact),
        utoipa_axum::routes!(canned::update_canned, canned::delete_canned),
    ];
    let lean = [
        wati_shared::routing_only!(bulk::upsert_contacts, bulk::delete_contacts),
        wati_shared::routing_only!(contacts::get_contact),
        wati_shared::routing_only!(canned::update_canned, canned::delete_canned),
    ];
    for ((_, full_paths, _), (lean_schemas, lean_paths, _)) in full.iter().zip(&lean) {
        let routes = paths_and_methods(full_paths);
        assert!(!routes.is_empty());
        assert_eq!(paths_and_methods(lean_paths), routes);
        assert!(lean_schemas.is_empty());
    }
    // The full form carries the request and response types' schemas; the release form none.
    assert!(!full[0].0.is_empty());
    let shared_path = paths_and_methods(&lean[0].1);
    assert_eq!(shared_path.len(), 2, "{shared_path:?}");
}
