//! Team Inbox members and the plan's seat cap.

use wati_tests::*;

async fn add(app: &TestApp, key: &str, body: Value) -> (StatusCode, Value) {
    let (status, _, body) = parts(
        app.req(Method::POST, "/api/team", Some(key))
            .json(&body)
            .send()
            .await,
    )
    .await;
    (status, body)
}

#[tokio::test]
async fn seats_are_capped_exactly_and_a_removed_member_frees_one() {
    let app = TestApp::start().await;
    let t = app.create_tenant("starter").await;
    // Starter: 2 seats. Six parallel invitations: exactly two get in.
    let (app_ref, key) = (&app, t.key.as_str());
    let tries = (0..6).map(|i| async move {
        add(
            app_ref,
            key,
            json!({"email": format!("agent{i}@acme.example"), "role": "agent"}),
        )
        .await
    });
    let results = futures::future::join_all(tries).await;
    let added: Vec<&Value> = results
        .iter()
        .filter(|r| r.0 == StatusCode::CREATED)
        .map(|r| &r.1)
        .collect();
    assert_eq!(added.len(), 2);
    for (status, body) in results.iter().filter(|r| r.0 != StatusCode::CREATED) {
        assert_eq!(*status, StatusCode::CONFLICT);
        assert_eq!(
            body["error"],
            "Team Inbox seat limit reached (2 on the starter plan)"
        );
    }
    let (_, _, usage) = parts(
        app.req(Method::GET, "/api/usage", Some(&t.key))
            .send()
            .await,
    )
    .await;
    assert_eq!(
        usage["seats"],
        json!({"used": 2, "limit": 2, "resetsAt": null})
    );

    let (_, _, list) = parts(app.req(Method::GET, "/api/team", Some(&t.key)).send().await).await;
    assert_eq!(list["members"].as_array().map(Vec::len), Some(2));
    let id = added[0]["member"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (status, _, removed) = parts(
        app.req(Method::DELETE, &format!("/api/team/{id}"), Some(&t.key))
            .send()
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(removed["member"]["id"], id.as_str());
    let (status, _, _) = parts(
        app.req(Method::DELETE, &format!("/api/team/{id}"), Some(&t.key))
            .send()
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = add(
        &app,
        &t.key,
        json!({"email": "Manager@Acme.example", "name": "Sara", "role": "manager"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "the freed seat: {body}");
    assert_eq!(body["member"]["email"], "manager@acme.example");
    assert_eq!(body["member"]["role"], "manager");
}

#[tokio::test]
async fn bad_members_are_refused_and_teams_are_private() {
    let app = TestApp::start().await;
    let t = app.create_tenant("pro").await;
    for (body, code, expected) in [
        (
            json!({"email": "not-an-email"}),
            400,
            "\"email\" must be an e-mail address",
        ),
        (
            json!({"email": "a@b.example", "role": "owner"}),
            400,
            "Invalid \"role\"",
        ),
        (
            json!({"email": "a@b.example", "name": " "}),
            400,
            "\"name\" must not be empty",
        ),
        (json!({}), 400, "missing field `email`"),
    ] {
        let (status, res) = add(&app, &t.key, body.clone()).await;
        assert_eq!(status.as_u16(), code, "{body}");
        assert!(
            res["error"].as_str().is_some_and(|e| e.contains(expected)),
            "{body}: {res}"
        );
    }
    let (status, created) = add(&app, &t.key, json!({"email": "ali@acme.example"})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["member"]["role"], "agent", "the default role");
    let (status, res) = add(&app, &t.key, json!({"email": "ALI@acme.example"})).await;
    assert_eq!(
        (status, res["error"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("\"email\" is already a member of this team")
        )
    );

    let other = app.create_tenant("pro").await;
    let id = created["member"]["id"].as_str().unwrap_or_default();
    let (status, _, _) = parts(
        app.req(Method::DELETE, &format!("/api/team/{id}"), Some(&other.key))
            .send()
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, _, list) = parts(
        app.req(Method::GET, "/api/team", Some(&other.key))
            .send()
            .await,
    )
    .await;
    assert_eq!(list["members"], json!([]));
    // The same e-mail may be on another tenant's team.
    let (status, _) = add(&app, &other.key, json!({"email": "ali@acme.example"})).await;
    assert_eq!(status, StatusCode::CREATED);
}
