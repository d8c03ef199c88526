//! The role matrix: every tenant route, called by an agent, a manager and an admin, answers
//! as `docs/roles.md` says.

use std::collections::BTreeSet;
use wati_tests::shared::Template;
use wati_tests::*;

const ROLES: [&str; 3] = ["agent", "manager", "admin"];

/// `(method, path, least role)` for each row of the table in `docs/roles.md`.
fn table() -> Vec<(String, String, &'static str)> {
    let doc_path = template_path().parent().unwrap().join("docs/roles.md");
    let doc = std::fs::read_to_string(doc_path).unwrap();
    doc.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let route = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let (method, path) = route.split_once(' ')?;
            let least = ROLES
                .into_iter()
                .zip(&cells[2..5])
                .find(|(_, c)| **c == "yes")?
                .0;
            Some((method.to_string(), path.to_string(), least))
        })
        .collect()
}

#[tokio::test]
async fn every_route_answers_every_role_as_this_table_says() {
    let (app, t) = TestApp::with_tenant("pro").await;
    let rows = table();
    let documented: BTreeSet<(String, String)> = rows
        .iter()
        .map(|(m, p, _)| (m.clone(), p.clone()))
        .collect();
    let tenant_routes: BTreeSet<(String, String)> = Template::load(&template_path())
        .unwrap()
        .routes()
        .into_iter()
        .filter(|r| {
            let open = [
                "/api/admin",
                "/api/auth",
                "/api/public/cloud-api-webhook",
                "/api/public/gateway-webhook",
            ]
            .iter()
            .any(|p| r.path.starts_with(p));
            !open && r.method != "OPTIONS" && r.path != "/health" && r.path != "/api/openapi.json"
        })
        .map(|r| (r.method, r.path))
        .collect();
    assert_eq!(documented, tenant_routes, "docs/roles.md vs template.yaml");

    let mut callers = Vec::new();
    for role in ROLES {
        callers.push((role, t.member(&app, role).await));
    }
    for (method, path, least) in &rows {
        let concrete = path
            .split('/')
            .map(|s| if s.starts_with('{') { "probe-id" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        for (i, (role, api)) in callers.iter().enumerate() {
            let body = (m != Method::GET).then(|| json!({}));
            let Reply { status, body, .. } = api.request(m.clone(), &concrete, body).await;
            let allowed = ROLES.iter().position(|r| r == least).unwrap() <= i;
            let what = format!("{role} on {method} {path}: {status} {body}");
            if allowed {
                assert!(
                    status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
                    "{what}"
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
                assert_eq!(
                    body["error"],
                    format!("This action needs the {least} role"),
                    "{what}"
                );
            }
        }
    }
}
