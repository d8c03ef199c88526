//! Team Inbox members and the plan's seat cap.

use wati_tests::*;

#[tokio::test]
async fn seats_are_capped_exactly_and_a_removed_member_frees_one() {
    let (_app, t) = TestApp::with_tenant("starter").await;
    // Starter: 2 seats. Six parallel invitations: exactly two get in.
    let t = &t;
    let tries = (0..6).map(|i| async move {
        t.add_member(json!({"email": format!("agent{i}@acme.example"), "role": "agent"}))
            .await
    });
    let results = futures::future::join_all(tries).await;
    let added = created_within_cap(
        &results,
        2,
        "Team Inbox seat limit reached (2 on the starter plan)",
    );
    assert_eq!(
        t.usage().await["seats"],
        json!({"used": 2, "limit": 2, "resetsAt": null})
    );

    let list = t.get("/api/team").await.body;
    assert_eq!(list["members"].as_array().map(Vec::len), Some(2));
    let id = added[0]["member"]["id"].string();
    let removed = t
        .delete(&format!("/api/team/{id}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(removed["member"]["id"], id.as_str());
    assert_eq!(
        t.delete(&format!("/api/team/{id}")).await.status,
        StatusCode::NOT_FOUND
    );

    let Reply { status, body, .. } = t
        .add_member(json!({"email": "Manager@Acme.example", "name": "Sara", "role": "manager"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "the freed seat: {body}");
    assert_eq!(body["member"]["email"], "manager@acme.example");
    assert_eq!(body["member"]["role"], "manager");
}

#[tokio::test]
async fn bad_members_are_refused_and_teams_are_private() {
    let (app, t) = TestApp::with_tenant("pro").await;
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
        let Reply {
            status, body: res, ..
        } = t.add_member(body.clone()).await;
        assert_eq!(status.as_u16(), code, "{body}");
        assert!(
            res["error"].as_str().is_some_and(|e| e.contains(expected)),
            "{body}: {res}"
        );
    }
    let created = t
        .add_member(json!({"email": "ali@acme.example"}))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(created["member"]["role"], "agent", "the default role");
    t.add_member(json!({"email": "ALI@acme.example"}))
        .await
        .expect_error(
            StatusCode::CONFLICT,
            "\"email\" is already a member of this team",
        );

    let other = app.tenant("pro").await;
    let id = created["member"]["id"].str();
    assert_eq!(
        other.delete(&format!("/api/team/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let list = other.get("/api/team").await.body;
    assert_eq!(list["members"], json!([]));
    // The same e-mail may be on another tenant's team.
    other
        .add_member(json!({"email": "ali@acme.example"}))
        .await
        .expect(StatusCode::CREATED);
}
