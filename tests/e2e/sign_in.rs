//! Users, invitations, sign-in and roles, through HTTP only.

use wati_tests::*;

const PASSWORD: &str = "correct horse battery";

/// Invites `email` with `role` through `by` (an admin's key or token): the member and the
/// invitation token.
async fn invite(by: &Api, email: &str, role: &str) -> (String, String) {
    let body = by.invite(email, role).await;
    assert_eq!(body["member"]["role"], role);
    let token = body["invitation"]["token"].string();
    assert!(body["invitation"]["url"]
        .str()
        .ends_with(&format!("/accept-invitation?token={token}")));
    (body["member"]["id"].string(), token)
}

async fn accept(app: &TestApp, token: &str) -> Value {
    app.accept_invitation(token, PASSWORD).await.ok()
}

/// A member of `t` with `role`, signed in: what accepting the invitation answered.
async fn joined(app: &TestApp, t: &Tenant, email: &str, role: &str) -> Value {
    let (_, token) = invite(t, email, role).await;
    accept(app, &token).await
}

#[tokio::test]
async fn invited_members_sign_in_with_the_power_of_their_role() {
    let (app, t) = TestApp::with_tenant("pro").await;
    let (manager_id, manager_token) = invite(&t, "Mgr@Acme.example", "manager").await;
    let (agent_id, agent_token) = invite(&t, "agent@acme.example", "agent").await;
    let listed = t.get_ok("/api/team").await;
    assert_eq!(listed["members"][0]["status"], "invited");

    // A short password is refused and leaves the invitation usable.
    app.accept_invitation(&agent_token, "short")
        .await
        .expect_error(
            StatusCode::BAD_REQUEST,
            "\"password\" must be at least 10 characters",
        );
    let manager = accept(&app, &manager_token).await;
    assert_eq!(manager["role"], "manager");
    assert_eq!(manager["tenant"]["id"], t.id.as_str());
    assert_eq!(manager["user"]["email"], "mgr@acme.example");
    assert_eq!(manager["tenants"][0]["role"], "manager");
    let agent = accept(&app, &agent_token).await;
    // An invitation is good once.
    app.accept_invitation(&agent_token, PASSWORD)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "Invalid or expired invitation");
    let listed = t.get_ok("/api/team").await;
    assert_eq!(listed["members"][0]["status"], "active");

    let agent_api = app.with_key(agent["token"].str());
    let manager_api = app.with_key(manager["token"].str());
    agent_api
        .create_key(json!({"name": "mine"}))
        .await
        .expect_error(StatusCode::FORBIDDEN, "This action needs the admin role");
    agent_api
        .get("/api/usage")
        .await
        .expect_error(StatusCode::FORBIDDEN, "This action needs the manager role");
    assert_eq!(
        agent_api.get_ok("/api/contacts").await["contacts"],
        json!([])
    );
    manager_api.get_ok("/api/usage").await;
    manager_api
        .create_key(json!({"name": "mine"}))
        .await
        .expect_error(StatusCode::FORBIDDEN, "This action needs the admin role");

    // A role change applies on the next request.
    t.patch(&format!("/api/team/{manager_id}"), json!({"role": "agent"}))
        .await
        .ok();
    manager_api
        .get("/api/usage")
        .await
        .expect_error(StatusCode::FORBIDDEN, "This action needs the manager role");

    // A removed member's token stops working at once, and the seat is free again.
    t.delete(&format!("/api/team/{agent_id}")).await.ok();
    agent_api.get("/api/contacts").await.expect_error(
        StatusCode::UNAUTHORIZED,
        "You are no longer a member of this tenant",
    );
    assert_eq!(t.usage().await["seats"]["used"], 1);

    // A suspended tenant stops its users too.
    app.admin()
        .patch(
            &format!("/api/admin/tenants/{}", t.id),
            json!({"suspended": true}),
        )
        .await
        .ok();
    assert_eq!(
        manager_api.status_of("/api/contacts").await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_ends_the_session() {
    let (app, t) = TestApp::with_tenant("pro").await;
    joined(&app, &t, "sara@acme.example", "manager").await;
    let first = app.login("SARA@acme.example", PASSWORD).await.ok();
    let anon = app.anonymous();
    let second = anon
        .post(
            "/api/auth/refresh",
            json!({"refreshToken": first["refreshToken"]}),
        )
        .await
        .ok();
    assert_ne!(second["refreshToken"], first["refreshToken"]);
    assert_eq!(second["role"], "manager");
    app.with_key(second["token"].str())
        .get_ok("/api/contacts")
        .await;
    // The used one again at once (a reload lost the answer): the same new token again.
    let repeated = anon
        .post(
            "/api/auth/refresh",
            json!({"refreshToken": first["refreshToken"]}),
        )
        .await
        .ok();
    assert_eq!(repeated["refreshToken"], second["refreshToken"]);
    let third = anon
        .post(
            "/api/auth/refresh",
            json!({"refreshToken": second["refreshToken"]}),
        )
        .await
        .ok();
    assert_ne!(third["refreshToken"], second["refreshToken"]);
    // Once its successor has been used, the old one is a stolen token: the whole session
    // ends, the newer tokens with it.
    anon.post(
        "/api/auth/refresh",
        json!({"refreshToken": first["refreshToken"]}),
    )
    .await
    .expect_error(
        StatusCode::UNAUTHORIZED,
        "Refresh token was already used: the session has been ended, sign in again",
    );
    anon.post(
        "/api/auth/refresh",
        json!({"refreshToken": third["refreshToken"]}),
    )
    .await
    .expect_error(StatusCode::UNAUTHORIZED, "Invalid refresh token");
    app.with_key(third["token"].str())
        .get("/api/contacts")
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "Session has ended: sign in again");

    // Logging out ends a session too.
    let again = app.login("sara@acme.example", PASSWORD).await.ok();
    let api = app.with_key(again["token"].str());
    assert_eq!(
        api.get_ok("/api/auth/me").await["user"]["email"],
        "sara@acme.example"
    );
    assert_eq!(
        api.post_empty("/api/auth/logout").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.status_of("/api/contacts").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.with_key("eyJhbGciOiJIUzI1NiJ9.e30.x")
            .status_of("/api/contacts")
            .await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_used_refresh_token_repeats_its_rotation_for_thirty_seconds_only() {
    let app =
        TestApp::start_with(TestOptions::default().clock(clock_at("2026-11-30T10:00:00Z"))).await;
    let t = app.tenant("pro").await;
    joined(&app, &t, "sara@acme.example", "manager").await;
    let first = app.login("sara@acme.example", PASSWORD).await.ok();
    let anon = app.anonymous();
    let refresh = |token: Value| {
        let anon = &anon;
        async move {
            anon.post("/api/auth/refresh", json!({ "refreshToken": token }))
                .await
        }
    };
    let second = refresh(first["refreshToken"].clone()).await.ok();
    app.clock.set(at("2026-11-30T10:00:30Z"));
    let repeated = refresh(first["refreshToken"].clone()).await.ok();
    assert_eq!(repeated["refreshToken"], second["refreshToken"]);
    app.clock.set(at("2026-11-30T10:00:31Z"));
    refresh(first["refreshToken"].clone()).await.expect_error(
        StatusCode::UNAUTHORIZED,
        "Refresh token was already used: the session has been ended, sign in again",
    );
    refresh(second["refreshToken"].clone())
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "Invalid refresh token");
}

#[tokio::test]
async fn a_reload_that_loses_a_switchs_answer_keeps_the_session_in_the_new_tenant() {
    let app = TestApp::start().await;
    let (a, b) = (app.tenant("pro").await, app.tenant("pro").await);
    let (_, token) = invite(&a, "amy@agency.example", "admin").await;
    accept(&app, &token).await;
    invite(&b, "amy@agency.example", "agent").await;
    let anon = app.anonymous();
    let creds = json!({"email": "amy@agency.example", "password": PASSWORD, "tenantId": a.id});
    let cookie_only = [("x-refresh-cookie", "only")];
    let signed = post_with(&anon, "/api/auth/login", creds, &cookie_only).await;
    let (c0, _) = refresh_cookie(&signed);
    let jar0 = format!("wati_refresh={c0}");
    let api = app.with_key(signed.ok()["token"].str());
    let switched = api
        .send(
            api.builder(Method::POST, "/api/auth/switch")
                .header("cookie", &jar0)
                .json(&json!({"tenantId": b.id})),
        )
        .await;
    let (c1, _) = refresh_cookie(&switched);
    assert_eq!(switched.ok()["tenant"]["id"], b.id.as_str());

    // The page reloaded before the switch's cookie arrived: the old one gets the same.
    let reloaded = post_with(&anon, "/api/auth/refresh", json!({}), &[("cookie", &jar0)]).await;
    assert_eq!(refresh_cookie(&reloaded).0, c1);
    let body = reloaded.ok();
    assert_eq!(
        (body["tenant"]["id"].str(), body["role"].str()),
        (b.id.as_str(), "agent")
    );

    // The new cookie moves on; the old one then ends the session.
    let jar1 = format!("wati_refresh={c1}");
    let next = post_with(&anon, "/api/auth/refresh", json!({}), &[("cookie", &jar1)]).await;
    assert_ne!(refresh_cookie(&next).0, c1);
    post_with(&anon, "/api/auth/refresh", json!({}), &[("cookie", &jar0)])
        .await
        .expect_error(
            StatusCode::UNAUTHORIZED,
            "Refresh token was already used: the session has been ended, sign in again",
        );
}

#[tokio::test]
async fn wrong_e_mail_and_wrong_password_look_the_same_and_ten_lock_the_e_mail() {
    let (app, t) = TestApp::with_tenant("pro").await;
    joined(&app, &t, "ali@acme.example", "agent").await;
    for (email, password) in [
        ("nobody@acme.example", PASSWORD),
        ("ali@acme.example", "not the password"),
    ] {
        app.login(email, password)
            .await
            .expect_error(StatusCode::UNAUTHORIZED, "Invalid e-mail or password");
    }
    for _ in 0..9 {
        app.login("ali@acme.example", "still not it!")
            .await
            .expect_error(StatusCode::UNAUTHORIZED, "Invalid e-mail or password");
    }
    // Locked now, even with the right password.
    let locked = app.login("ali@acme.example", PASSWORD).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{:?}",
        locked.body
    );
    let wait: u64 = locked.header("retry-after").parse().unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    // Another e-mail is not affected.
    app.login("nobody@acme.example", PASSWORD)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "Invalid e-mail or password");
}

#[tokio::test]
async fn one_user_in_two_tenants_switches_and_an_admin_resets_a_password() {
    let app = TestApp::start().await;
    let (a, b) = (app.tenant("pro").await, app.tenant("pro").await);
    let (id_in_a, token) = invite(&a, "amy@agency.example", "admin").await;
    accept(&app, &token).await;
    // An existing user is added to another tenant as a member straight away.
    let (id_in_b, _) = invite(&b, "amy@agency.example", "agent").await;
    assert_eq!(id_in_a, id_in_b, "the same user");
    let signed = app.login("amy@agency.example", PASSWORD).await.ok();
    assert_eq!(signed["tenants"].array().len(), 2);
    let api = app.with_key(signed["token"].str());
    let switched = api
        .post("/api/auth/switch", json!({"tenantId": b.id}))
        .await
        .ok();
    assert_eq!(
        (switched["tenant"]["id"].str(), switched["role"].str()),
        (b.id.as_str(), "agent")
    );
    let in_b = app.with_key(switched["token"].str());
    in_b.create_key(json!({"name": "x"}))
        .await
        .expect_error(StatusCode::FORBIDDEN, "This action needs the admin role");
    let stranger = app.tenant("pro").await;
    api.post("/api/auth/switch", json!({"tenantId": stranger.id}))
        .await
        .expect_error(
            StatusCode::UNAUTHORIZED,
            "You are not a member of this tenant",
        );

    // Tenant A's admin (signed in) issues a reset link; the old password stops working.
    let in_a = app
        .anonymous()
        .post(
            "/api/auth/login",
            json!({"email": "amy@agency.example", "password": PASSWORD, "tenantId": a.id}),
        )
        .await
        .ok();
    let admin_a = app.with_key(in_a["token"].str());
    let reset = admin_a
        .post_empty(&format!("/api/team/{id_in_a}/password-reset"))
        .await
        .expect(StatusCode::CREATED);
    let new_password = "a brand new password";
    app.anonymous()
        .post(
            "/api/auth/reset-password",
            json!({"token": reset["token"], "password": new_password}),
        )
        .await
        .ok();
    app.login("amy@agency.example", PASSWORD)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "Invalid e-mail or password");
    assert_eq!(
        in_b.status_of("/api/contacts").await,
        StatusCode::UNAUTHORIZED
    );
    let fresh = app.login("amy@agency.example", new_password).await.ok();
    let fresh = app.with_key(fresh["token"].str());
    fresh
        .post(
            "/api/auth/password",
            json!({"currentPassword": "wrong one!!", "newPassword": "another new password"}),
        )
        .await
        .expect_error(
            StatusCode::BAD_REQUEST,
            "\"currentPassword\" is not the current password",
        );
}

#[tokio::test]
async fn a_jwt_costs_at_most_one_aws_call_more_than_an_api_key() {
    let (app, t) = TestApp::with_tenant("pro").await;
    let jwt = joined(&app, &t, "ops@acme.example", "admin").await["token"].string();
    let user = app.with_key(&jwt);
    // Warm both paths (the first request of an instance may read the signing key).
    t.get_ok("/api/contacts").await;
    user.get_ok("/api/contacts").await;
    for path in ["/api/contacts", "/api/team"] {
        let by_key = t.get(path).await;
        let by_jwt = user.get(path).await;
        let (k, j) = (by_key.count("x-aws-calls"), by_jwt.count("x-aws-calls"));
        assert!(j <= k + 1, "{path}: key {k} calls, JWT {j}");
        assert_eq!(by_key.body, by_jwt.body, "{path}");
    }
}

#[tokio::test]
async fn the_audit_log_names_each_change_and_its_actor_newest_first() {
    let (app, t) = TestApp::with_tenant("pro").await;
    let boss = joined(&app, &t, "boss@acme.example", "admin").await;
    let boss_id = boss["user"]["id"].string();
    let boss = app.with_key(boss["token"].str());
    let (agent_id, _) = invite(&boss, "new@acme.example", "agent").await;
    boss.patch(&format!("/api/team/{agent_id}"), json!({"role": "manager"}))
        .await
        .ok();
    t.delete(&format!("/api/keys/{}", t.key_id())).await.ok();
    app.admin()
        .patch(
            &format!("/api/admin/tenants/{}", t.id),
            json!({"plan": "agency"}),
        )
        .await
        .ok();
    for _ in 0..10 {
        app.login("new@acme.example", "not the password")
            .await
            .expect_error(StatusCode::UNAUTHORIZED, "Invalid e-mail or password");
    }
    // The tenant's only key is revoked: the admin reads the log signed in.
    let page = boss.get("/api/audit-log?limit=100").await;
    assert_eq!(
        page.count("x-aws-calls"),
        2,
        "the session read and one query"
    );
    let entries = page.body["entries"].array().clone();
    let seen: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["action"].str(), e["actor"]["type"].str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("signin.locked", "system"),
            ("tenant.updated", "platform"),
            ("key.revoked", "key"),
            ("member.role_changed", "user"),
            ("member.invited", "user"),
            ("member.invited", "key"),
        ]
    );
    assert_eq!(entries[1]["before"]["plan"], "pro");
    assert_eq!(entries[1]["after"]["plan"], "agency");
    assert_eq!(entries[3]["actor"]["id"], boss_id.as_str());
    assert_eq!(entries[3]["target"], format!("member:{agent_id}"));
    assert_eq!(
        (
            entries[3]["before"]["role"].str(),
            entries[3]["after"]["role"].str()
        ),
        ("agent", "manager")
    );
    // Paged: the same entries, a page at a time.
    assert_eq!(
        boss.all_pages("/api/audit-log?limit=2", "entries").await,
        entries
    );
}

#[tokio::test]
async fn the_openapi_document_states_both_credentials_and_each_role() {
    let app = TestApp::start().await;
    let doc = app.anonymous().get_ok("/api/openapi.json").await;
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["apiKey"]["bearerFormat"], "wati_…");
    assert_eq!(schemes["userJwt"]["bearerFormat"], "JWT");
    let contacts = &doc["paths"]["/api/contacts"];
    assert_eq!(
        contacts["get"]["security"],
        json!([{"apiKey": []}, {"userJwt": []}])
    );
    assert_eq!(contacts["get"]["x-required-role"], "agent");
    assert_eq!(contacts["post"]["x-required-role"], "manager");
    assert_eq!(
        doc["paths"]["/api/keys"]["post"]["x-required-role"],
        "admin"
    );
    assert_eq!(
        doc["paths"]["/api/auth/login"]["post"]["security"],
        Value::Null
    );
    assert_eq!(
        doc["paths"]["/api/auth/me"]["get"]["security"],
        json!([{"userJwt": []}])
    );
    assert_eq!(
        doc["paths"]["/api/admin/tenants"]["get"]["security"],
        json!([{"platformAdmin": []}, {"userJwt": []}])
    );
}

/// `POST path` with a JSON body and extra headers, without credentials.
async fn post_with(api: &Api, path: &str, body: Value, headers: &[(&str, &str)]) -> Reply {
    let mut req = api
        .builder(Method::POST, path)
        .header("content-type", "application/json")
        .body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    api.send(req).await
}

/// The `wati_refresh` cookie a reply sets: its value and its whole `Set-Cookie` line.
fn refresh_cookie(reply: &Reply) -> (String, String) {
    let line = reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("wati_refresh="))
        .unwrap_or_else(|| panic!("no refresh cookie in {:?}", reply.headers))
        .to_string();
    let value = line["wati_refresh=".len()..]
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    (value, line)
}

#[tokio::test]
async fn the_dashboard_keeps_the_refresh_token_in_an_http_only_cookie() {
    let (app, t) = TestApp::with_tenant("pro").await;
    joined(&app, &t, "sara@acme.example", "manager").await;
    let anon = app.anonymous();
    let creds = json!({"email": "sara@acme.example", "password": PASSWORD});

    // An API client gets the token in the body, and the cookie as well.
    let plain = post_with(&anon, "/api/auth/login", creds.clone(), &[]).await;
    let (plain_cookie, _) = refresh_cookie(&plain);
    assert_eq!(plain.clone().ok()["refreshToken"].str(), plain_cookie);

    // The dashboard asks for the cookie alone: no script ever sees the refresh token.
    let signed = post_with(
        &anon,
        "/api/auth/login",
        creds.clone(),
        &[("x-refresh-cookie", "only")],
    )
    .await;
    let (cookie, line) = refresh_cookie(&signed);
    assert!(line.contains("; Path=/api/auth; Max-Age=2592000; HttpOnly; SameSite=Strict"));
    assert!(!line.contains("Secure"), "plain HTTP here: {line}");
    let body = signed.ok();
    assert_eq!(body.get("refreshToken"), None);
    assert_eq!(body["role"], "manager");

    // A reload: the cookie alone gives new tokens (and a new cookie, the old one used up).
    let jar = format!("other=1; wati_refresh={cookie}");
    let refreshed = post_with(&anon, "/api/auth/refresh", json!({}), &[("cookie", &jar)]).await;
    let (next, _) = refresh_cookie(&refreshed);
    assert_ne!(next, cookie);
    let body = refreshed.ok();
    assert_eq!(
        body.get("refreshToken"),
        None,
        "a cookie session stays in the cookie"
    );
    app.with_key(body["token"].str())
        .get_ok("/api/contacts")
        .await;
    // Once the new cookie has been used, the old one ends the session.
    let jar_next = format!("wati_refresh={next}");
    post_with(
        &anon,
        "/api/auth/refresh",
        json!({}),
        &[("cookie", &jar_next)],
    )
    .await
    .ok();
    post_with(&anon, "/api/auth/refresh", json!({}), &[("cookie", &jar)])
        .await
        .expect_error(
            StatusCode::UNAUTHORIZED,
            "Refresh token was already used: the session has been ended, sign in again",
        );
    // Neither a body token nor a cookie.
    post_with(&anon, "/api/auth/refresh", json!({}), &[])
        .await
        .expect_error(StatusCode::BAD_REQUEST, "\"refreshToken\" is required");

    // Behind HTTPS (CloudFront → API Gateway) the cookie is Secure; signing out clears it.
    let secure = post_with(
        &anon,
        "/api/auth/login",
        creds,
        &[("x-refresh-cookie", "only"), ("x-forwarded-proto", "https")],
    )
    .await;
    let (_, line) = refresh_cookie(&secure);
    assert!(line.ends_with("; SameSite=Strict; Secure"), "{line}");
    let token = secure.ok()["token"].string();
    let me = app.with_key(&token);
    let out = me
        .send(
            me.builder(Method::POST, "/api/auth/logout")
                .header("x-forwarded-proto", "https"),
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let (cleared, line) = refresh_cookie(&out);
    assert_eq!(cleared, "");
    assert!(
        line.contains("Max-Age=0") && line.contains("Secure"),
        "{line}"
    );
}

#[tokio::test]
async fn an_invitation_made_through_the_dashboards_origin_links_to_it() {
    let (_app, t) = TestApp::with_tenant("pro").await;
    // CloudFront passes the viewer's host on as X-Forwarded-Host (template.yaml).
    let reply = t
        .send(
            t.builder(Method::POST, "/api/team")
                .header("x-forwarded-host", "d111111abcdef8.cloudfront.net")
                .header("x-forwarded-proto", "https")
                .json(&json!({"email": "lee@acme.example", "role": "agent"})),
        )
        .await
        .expect(StatusCode::CREATED);
    let url = reply["invitation"]["url"].str();
    assert!(
        url.starts_with("https://d111111abcdef8.cloudfront.net/accept-invitation?token="),
        "{url}"
    );
}
