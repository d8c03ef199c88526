//! Contact lists: create, list, get (member count), delete (with member clean-up, finished by
//! the sweep for large lists), members by id or phone, the 25-lists bound, and the
//! campaign-side member pages.

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashSet;
use wati_tests::shared::store::keys;
use wati_tests::*;

async fn members(t: &Tenant, list: &str, method: Method, body: Value) -> Value {
    t.request(
        method,
        &format!("/api/contact-lists/{list}/members"),
        Some(body),
    )
    .await
    .ok()
}

fn statuses(report: &Value) -> Vec<&str> {
    report["results"].strs("status")
}

/// The contact item's `lists` attribute, read raw.
async fn lists_on_contact(app: &TestApp, tenant_id: &str, contact_id: &str) -> Vec<String> {
    let mut lists = app
        .item(&keys::contacts_pk(tenant_id), &keys::contact_sk(contact_id))
        .await
        .remove("lists")
        .map(|v| v.as_ss().expect("a string set").clone())
        .unwrap_or_default();
    lists.sort();
    lists
}

#[tokio::test]
async fn lists_are_created_listed_fetched_and_deleted() {
    let (app, t) = TestApp::with_roomy_tenant("pro").await;
    let first = t.create_list(" January promo ").await;
    let second = t.create_list("VIPs").await;
    let third = t.create_list("Leads").await;

    let page = t.get_ok("/api/contact-lists").await;
    let names: Vec<&str> = page["lists"].strs("name");
    assert_eq!(
        names,
        vec!["Leads", "VIPs", "January promo"],
        "newest first"
    );
    let one = t.get_ok(&format!("/api/contact-lists/{first}")).await;
    assert_eq!(one["list"]["id"], first.as_str());
    assert_eq!(one["list"]["name"], "January promo");
    assert_eq!(one["list"]["memberCount"], 0);

    let p1 = t.get_ok("/api/contact-lists?limit=2").await;
    assert_eq!(p1["lists"].as_array().map(Vec::len), Some(2));
    let cursor = p1["nextCursor"].str();
    let p2 = t
        .get_ok(&format!("/api/contact-lists?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(p2["lists"][0]["id"], first.as_str());

    let Reply { status, body, .. } = t.delete(&format!("/api/contact-lists/{second}")).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({"id": second, "deleted": true, "membersRemoved": 0, "cleanupComplete": true})
        )
    );
    for (method, path) in [
        (Method::GET, format!("/api/contact-lists/{second}")),
        (Method::DELETE, format!("/api/contact-lists/{second}")),
        (Method::GET, format!("/api/contact-lists/{second}/members")),
    ] {
        t.request(method, &path, None).await.expect_body(
            StatusCode::NOT_FOUND,
            json!({"error": "Contact list not found"}),
        );
    }
    let page = t.get_ok("/api/contact-lists").await;
    let ids: Vec<&str> = page["lists"].strs("id");
    assert_eq!(ids, vec![third.as_str(), first.as_str()]);
    // No tombstone is left behind for an empty list.
    assert_eq!(app.count_partition(&keys::lists_pk(&t.id)).await, 2);
}

#[tokio::test]
async fn members_are_added_and_removed_by_id_or_phone_with_exact_counts() {
    let (app, t) = TestApp::with_roomy_tenant("pro").await;
    let body = t
        .upsert_contacts(json!([{"name": "Ali", "phone": "+923001234567"},
               {"name": "Sara", "phone": "+923009876543"},
               {"name": "Omar", "phone": "+923005550000"}]))
        .await;
    let ids = ids_of(&body);
    let (ali, sara, omar) = (&ids[0], &ids[1], &ids[2]);
    let list = t.create_list("L").await;
    let unknown = "0193a6f2-7c1e-7d4b-9a51-3f0c2b8e4d11";

    let report = members(
        &t,
        &list,
        Method::POST,
        json!({"contactIds": [ali, sara, ali, unknown, "junk"]}),
    )
    .await;
    assert_eq!(
        statuses(&report),
        vec!["added", "added", "already_member", "not_found", "not_found"]
    );
    assert_eq!(
        (
            &report["changed"],
            &report["unchanged"],
            &report["notFound"],
            &report["failed"],
            &report["memberCount"]
        ),
        (&json!(2), &json!(1), &json!(2), &json!(0), &json!(2))
    );
    assert_eq!(
        report["results"][0],
        json!({"index": 0, "status": "added", "contactId": ali})
    );

    let report = members(
        &t,
        &list,
        Method::POST,
        json!({"phones": ["+92 300 555-0000", "12", "+923001111111", "923001234567"]}),
    )
    .await;
    assert_eq!(
        statuses(&report),
        vec!["added", "error", "not_found", "already_member"]
    );
    assert_eq!(report["results"][0]["contactId"], omar.as_str());
    assert_eq!(
        report["results"][1]["error"],
        "\"phones[1]\" must be an E.164 number or local digits"
    );
    assert_eq!(report["memberCount"], 3);

    let page = t
        .get_ok(&format!("/api/contact-lists/{list}/members?limit=2"))
        .await;
    assert_eq!(page["members"].as_array().map(Vec::len), Some(2));
    let first = &page["members"][0];
    assert_eq!(first["contactId"], ali.as_str(), "contact order");
    assert_eq!(
        (&first["name"], &first["phone"]),
        (&json!("Ali"), &json!("923001234567"))
    );
    assert!(first["addedAt"].as_str().is_some_and(|s| s.ends_with('Z')));
    let cursor = page["nextCursor"].str();
    let page = t
        .get_ok(&format!(
            "/api/contact-lists/{list}/members?limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(page["members"][0]["contactId"], omar.as_str());
    assert_eq!(lists_on_contact(&app, &t.id, ali).await, vec![list.clone()]);

    let report = members(
        &t,
        &list,
        Method::DELETE,
        json!({"contactIds": [ali, ali, unknown]}),
    )
    .await;
    assert_eq!(
        statuses(&report),
        vec!["removed", "not_member", "not_found"]
    );
    assert_eq!(report["memberCount"], 2);
    let report = members(
        &t,
        &list,
        Method::DELETE,
        json!({"phones": ["923001234567"]}),
    )
    .await;
    assert_eq!(statuses(&report), vec!["not_member"]);
    assert_eq!(
        lists_on_contact(&app, &t.id, ali).await,
        Vec::<String>::new()
    );
    let page = t
        .get_ok(&format!("/api/contact-lists/{list}/members"))
        .await;
    let left: Vec<&str> = page["members"].strs("contactId");
    assert_eq!(left, vec![sara.as_str(), omar.as_str()]);
    // The contact itself is untouched by leaving a list.
    let c = t.get_ok(&format!("/api/contacts/{ali}")).await;
    assert_eq!(c["contact"]["name"], "Ali");
    // Back in again.
    let report = members(&t, &list, Method::POST, json!({"contactIds": [ali]})).await;
    assert_eq!(
        (statuses(&report), &report["memberCount"]),
        (vec!["added"], &json!(3))
    );
}

#[tokio::test]
async fn a_contact_is_in_at_most_25_lists_and_deleted_lists_do_not_count() {
    let (app, t) = TestApp::with_roomy_tenant("pro").await;
    let ali = t.contact_id("Ali", "+923001234567").await;
    let mut lists = Vec::new();
    for i in 0..26 {
        lists.push(t.create_list(&format!("L{i}")).await);
    }
    for l in &lists[..25] {
        let r = members(&t, l, Method::POST, json!({"contactIds": [ali]})).await;
        assert_eq!(statuses(&r), vec!["added"]);
    }
    let r = members(&t, &lists[25], Method::POST, json!({"contactIds": [ali]})).await;
    assert_eq!(statuses(&r), vec!["error"]);
    assert_eq!(
        r["results"][0]["error"],
        "The contact is already in 25 lists"
    );
    assert_eq!(r["memberCount"], 0);

    // A list deleted behind the API's back (as if its clean-up had not reached this contact
    // yet) still sits in the contact's `lists`; it no longer counts.
    app.state
        .aws
        .dynamo
        .delete_item()
        .table_name(&app.state.config.table_name)
        .key(keys::PK, AttributeValue::S(keys::lists_pk(&t.id)))
        .key(keys::SK, AttributeValue::S(keys::list_sk(&lists[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(lists_on_contact(&app, &t.id, &ali).await.len(), 25);
    let r = members(&t, &lists[25], Method::POST, json!({"contactIds": [ali]})).await;
    assert_eq!(statuses(&r), vec!["added"], "{r}");
    let on_contact = lists_on_contact(&app, &t.id, &ali).await;
    assert_eq!(on_contact.len(), 25);
    assert!(!on_contact.contains(&lists[0]) && on_contact.contains(&lists[25]));
    assert_eq!(
        app.count_partition(&keys::list_members_pk(&t.id, &lists[0]))
            .await,
        0,
        "its member item went too"
    );

    // Deleting the contact empties all 25 lists in one go.
    let body = t
        .delete_json("/api/contacts", json!({"ids": [ali]}))
        .await
        .body;
    assert_eq!(body["deleted"], json!([ali]));
    for l in &lists[1..] {
        let list = t.get_ok(&format!("/api/contact-lists/{l}")).await;
        assert_eq!(list["list"]["memberCount"], 0, "{l}");
        assert_eq!(
            app.count_partition(&keys::list_members_pk(&t.id, l)).await,
            0
        );
    }
}

#[tokio::test]
async fn deleting_a_list_removes_its_members_and_a_large_one_is_finished_by_the_sweep() {
    let (app, t) = TestApp::with_roomy_tenant("pro").await;
    let ids = t.numbered_contacts(30, "+4477002").await;
    let keep = t.create_list("Keep").await;
    members(&t, &keep, Method::POST, json!({"contactIds": ids})).await;

    // A small list goes at once.
    let small = t.create_list("Small").await;
    members(&t, &small, Method::POST, json!({"contactIds": ids[..3]})).await;
    let Reply { status, body, .. } = t.delete(&format!("/api/contact-lists/{small}")).await;
    assert_eq!(
        (status, &body["membersRemoved"], &body["cleanupComplete"]),
        (StatusCode::OK, &json!(3), &json!(true))
    );
    assert_eq!(
        app.count_partition(&keys::list_members_pk(&t.id, &small))
            .await,
        0
    );
    assert_eq!(
        lists_on_contact(&app, &t.id, &ids[0]).await,
        vec![keep.clone()]
    );

    // A "large" one (a budget of 10 stands in for the request's 1,000) is gone at once, and
    // its members are removed a budget at a time.
    let large = t.create_list("Large").await;
    members(&t, &large, Method::POST, json!({"contactIds": ids})).await;
    let now = chrono::Utc::now();
    let store = &app.state.store;
    let d = store
        .delete_contact_list_within(&t.id, &large, now, 10)
        .await
        .unwrap()
        .expect("list not found");
    assert_eq!((d.members_removed, d.cleanup_complete), (10, false));
    assert_eq!(
        t.get(&format!("/api/contact-lists/{large}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.count_partition(&keys::list_members_pk(&t.id, &large))
            .await,
        20
    );

    // Meanwhile, contacts still naming the deleted list can be edited and deleted.
    let pending = ids[29].clone();
    assert!(lists_on_contact(&app, &t.id, &pending)
        .await
        .contains(&large));
    assert_eq!(
        t.patch(
            &format!("/api/contacts/{pending}"),
            json!({"name": "Renamed"})
        )
        .await
        .status,
        StatusCode::OK
    );
    let body = t
        .delete_json("/api/contacts", json!({"ids": [pending]}))
        .await
        .body;
    assert_eq!(body["deleted"], json!([pending]));
    let keep_list = t.get_ok(&format!("/api/contact-lists/{keep}")).await;
    assert_eq!(keep_list["list"]["memberCount"], 29);
    assert_eq!(
        app.count_partition(&keys::list_members_pk(&t.id, &large))
            .await,
        19
    );

    let r = store.sweep_deleted_lists(15).await.unwrap();
    assert_eq!(
        (r.members_removed, r.lists_finished, r.lists_pending),
        (15, 0, 1)
    );
    // The rest by the scheduled function, as the template wires it (every minute).
    let template = wati_tests::shared::Template::load(&template_path()).unwrap();
    let schedule = template
        .schedules()
        .into_iter()
        .find(|s| template.code_uri(&s.function) == Some("functions/contacts"))
        .expect("no schedule for functions/contacts");
    assert_eq!(schedule.expression, "rate(1 minute)");
    let sweep = app
        .server
        .functions
        .scheduled
        .get("functions/contacts")
        .cloned()
        .expect("no scheduled handler registered");
    sweep(json!({"detail-type": "Scheduled Event"}))
        .await
        .unwrap();
    let r = store.sweep_deleted_lists(100).await.unwrap();
    assert_eq!(r, Default::default(), "nothing left to do");
    assert_eq!(
        app.count_partition(&keys::list_members_pk(&t.id, &large))
            .await,
        0
    );
    for id in &ids[..29] {
        assert_eq!(
            lists_on_contact(&app, &t.id, id).await,
            vec![keep.clone()],
            "{id}"
        );
    }
    // Only the kept list is left in the lists partition (no tombstones).
    assert_eq!(app.count_partition(&keys::lists_pk(&t.id)).await, 1);
}

#[tokio::test]
async fn concurrent_member_changes_keep_the_count_exact() {
    let (app, t) = TestApp::with_roomy_tenant("pro").await;
    let ids = t.numbered_contacts(40, "+4477003").await;
    let list = t.create_list("Busy").await;
    // Four requests adding overlapping halves at once.
    let chunks = [&ids[0..20], &ids[10..30], &ids[20..40], &ids[0..40]];
    let adds = chunks.iter().map(|c| {
        let t = &t;
        let list = list.clone();
        let c = c.to_vec();
        async move { members(t, &list, Method::POST, json!({"contactIds": c})).await }
    });
    let reports = futures::future::join_all(adds).await;
    let added: u64 = reports.iter().map(|r| r["changed"].u64()).sum();
    let failed: u64 = reports.iter().map(|r| r["failed"].u64()).sum();
    assert_eq!((added, failed), (40, 0), "{reports:?}");
    let l = t.get_ok(&format!("/api/contact-lists/{list}")).await;
    assert_eq!(l["list"]["memberCount"], 40);

    // The campaign-side pages see each member once, with name and phone.
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = app
            .state
            .store
            .list_members_page(&t.id, &list, cursor.as_deref(), 15)
            .await
            .unwrap();
        pages += 1;
        for m in &page.members {
            assert!(m.name.starts_with('C') && m.phone.starts_with("4477003"));
            assert!(seen.insert(m.contact_id.clone()), "repeated member");
        }
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!((seen.len(), pages), (40, 3));
    let bad = app
        .state
        .store
        .list_members_page(&t.id, "another-list", Some("eyJQSyI6IngifQ"), 15)
        .await;
    assert!(bad.is_err());

    // Removing concurrently, with deletes of some of the same contacts in between.
    let removes = [&ids[0..25], &ids[15..40]].map(|c| {
        let t = &t;
        let list = list.clone();
        let c = c.to_vec();
        async move { members(t, &list, Method::DELETE, json!({"contactIds": c})).await }
    });
    let delete = async {
        t.delete_json("/api/contacts", json!({"ids": ids[10..20]}))
            .await
    };
    let (reports, deleted) = tokio::join!(futures::future::join_all(removes), delete);
    assert_eq!(deleted.status, StatusCode::OK);
    assert!(reports.iter().all(|r| r["failed"] == 0), "{reports:?}");
    let l = t.get_ok(&format!("/api/contact-lists/{list}")).await;
    assert_eq!(l["list"]["memberCount"], 0);
    assert_eq!(
        app.count_partition(&keys::list_members_pk(&t.id, &list))
            .await,
        0
    );
}
