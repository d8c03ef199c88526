//! Contacts: bulk upsert (normalised, de-duplicated, tags merged, per-entry errors), listing
//! by tag / phone / name with cursors, edits that keep every copy consistent, delete
//! cascades, validation, tenant isolation and concurrency.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use std::collections::HashSet;
use wati_tests::shared::store::keys;
use wati_tests::*;

fn field<'a>(v: &'a Value, name: &str) -> Vec<&'a str> {
    v["contacts"].strs(name)
}

/// Follows `nextCursor` to the end; returns every contact's id, in order, and the pages.
async fn walk(t: &Tenant, path: &str) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}cursor={c}"),
            None => path.to_string(),
        };
        let page = t.get_ok(&url).await;
        pages += 1;
        ids.extend(field(&page, "id").into_iter().map(str::to_string));
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return (ids, pages),
        }
        assert!(pages < 100, "runaway pagination");
    }
}

#[tokio::test]
async fn the_spec_examples_work_with_a_wati_key() {
    let (_app, t) = TestApp::with_roomy_tenant("pro").await;
    let body = t
        .post(
            "/api/contacts",
            json!({
                "contacts": [
                    { "name": "Ali", "phone": "+923001234567", "tags": ["lead","jan26"] },
                    { "name": "Sara", "phone": "+923009876543", "tags": ["customer"] }
                ]
            }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!((&body["created"], &body["failed"]), (&json!(2), &json!(0)));
    let ids = ids_of(&body);

    let list = t.get_ok("/api/contacts").await;
    assert_eq!(field(&list, "name"), vec!["Sara", "Ali"], "newest first");
    assert_eq!(list["contacts"][1]["phone"], "923001234567");
    assert_eq!(list["contacts"][1]["tags"], json!(["jan26", "lead"]));
    assert_eq!(list["nextCursor"], Value::Null);

    let Reply { status, body, .. } = t.delete_json("/api/contacts", json!({ "ids": ids })).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"deleted": ids, "notFound": []}))
    );
    let list = t.get_ok("/api/contacts").await;
    assert_eq!(list["contacts"], json!([]));
}

#[tokio::test]
async fn bulk_upsert_normalises_merges_and_reports_each_entry() {
    let (_app, t) = TestApp::with_roomy_tenant("pro").await;
    let body = t
        .upsert_contacts(json!([
            {"name": "Ali", "phone": "+92 300 123-4567", "tags": ["Lead", "jan26"]},
            {"name": "Sara", "phone": "+923009876543", "tags": ["customer"]},
            {"phone": "923001234567", "tags": ["VIP"]},
            {"name": "Bad", "phone": "12"},
            {"name": 5, "phone": "1234567"},
            {"phone": "+923001112223", "tags": ["#nope"]},
            {"phone": "+923001112224", "email": "x@example.com"},
            "not an object",
            {"name": "Ali Khan", "phone": "(92) 300 1234567"}
        ]))
        .await;
    let r = &body["results"];
    let ali = r[0]["id"].string();
    assert_eq!(
        (
            &body["created"],
            &body["updated"],
            &body["unchanged"],
            &body["duplicates"],
            &body["failed"]
        ),
        (&json!(2), &json!(0), &json!(0), &json!(2), &json!(5)),
        "{body}"
    );
    assert_eq!(r[0]["status"], "created");
    assert_eq!(r[0]["phone"], "923001234567");
    assert_eq!(r[1]["status"], "created");
    assert_eq!(
        r[2],
        json!({"index": 2, "status": "duplicate", "id": ali, "phone": "923001234567", "duplicateOf": 0})
    );
    assert_eq!(r[8]["status"], "duplicate");
    let errors: Vec<(u64, &str)> = r
        .array()
        .iter()
        .filter(|e| e["status"] == "error")
        .map(|e| (e["index"].u64(), e["error"].str()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (3, "\"contacts[3].phone\" must be an E.164 number or local digits"),
            (4, "Invalid \"contacts[4].name\": invalid type: integer `5`, expected a string"),
            (5, "\"contacts[5].tags[0]\" must be 1-50 letters, digits, spaces or - _ . : /"),
            (6, "Invalid \"contacts[6].email\": unknown field `email`, expected one of `name`, `phone`, `tags`, `optedOut`"),
            (7, "Invalid \"contacts[7]\": invalid type: string \"not an object\", expected struct ContactInput"),
        ]
    );
    // The duplicates merged into the first entry: the last name, every tag.
    let c = t.get_ok(&format!("/api/contacts/{ali}")).await;
    assert_eq!(c["contact"]["name"], "Ali Khan");
    assert_eq!(c["contact"]["tags"], json!(["jan26", "lead", "vip"]));
    assert_eq!(c["contact"]["phone"], "923001234567");

    // Against stored contacts: tags merged (not replaced), a missing name keeps the name,
    // an identical entry changes nothing.
    let before = t.get_ok("/api/contacts?search=%2B923009876543").await;
    let body = t
        .upsert_contacts(json!([
            {"phone": "+923001234567", "tags": ["customer"]},
            {"name": "Sara", "phone": "923009876543", "tags": ["CUSTOMER"]},
            {"name": "", "phone": "923009876543"}
        ]))
        .await;
    assert_eq!(body["results"][0]["status"], "updated");
    assert_eq!(body["results"][0]["id"], ali.as_str());
    assert_eq!(body["results"][1]["status"], "unchanged");
    assert_eq!(body["results"][2]["status"], "duplicate");
    let c = t.get_ok(&format!("/api/contacts/{ali}")).await;
    assert_eq!(c["contact"]["name"], "Ali Khan");
    assert_eq!(
        c["contact"]["tags"],
        json!(["customer", "jan26", "lead", "vip"])
    );
    let after = t.get_ok("/api/contacts?search=923009876543").await;
    assert_eq!(before, after, "an unchanged contact is not rewritten");

    let customers = t.get_ok("/api/contacts?tag=Customer").await;
    let mut names = field(&customers, "name");
    names.sort();
    assert_eq!(names, vec!["Ali Khan", "Sara"]);
    // Tag copies carry the whole contact, current.
    let ali_copy = customers["contacts"]
        .array()
        .iter()
        .find(|c| c["id"] == ali.as_str())
        .cloned()
        .expect("Ali under the tag");
    assert_eq!(ali_copy, c["contact"]);
}

#[tokio::test]
async fn validation_errors_are_400s_naming_the_field() {
    let (app, t) = TestApp::with_roomy_tenant("pro").await;
    let id = t.contact_id("Ali", "+923001234567").await;
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"phone": format!("9230000{i:05}")}))
        .collect();
    let many_ids: Vec<String> = (0..1001).map(|i| format!("id-{i}")).collect();
    let twenty_one: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    let contact = format!("/api/contacts/{id}");
    let cases: Vec<(Method, String, Option<Value>, StatusCode, &str)> = vec![
        (Method::POST, "/api/contacts".into(), Some(json!({})), StatusCode::BAD_REQUEST,
            "Invalid request body: missing field `contacts` at line 1 column 2"),
        (Method::POST, "/api/contacts".into(), Some(json!({"contacts": []})), StatusCode::BAD_REQUEST,
            "\"contacts\" must not be empty"),
        (Method::POST, "/api/contacts".into(), Some(json!({"contacts": "x"})), StatusCode::BAD_REQUEST,
            "Invalid \"contacts\": invalid type: string \"x\", expected a sequence at line 1 column 15"),
        (Method::POST, "/api/contacts".into(), Some(json!({"contacts": many})), StatusCode::BAD_REQUEST,
            "\"contacts\" must hold at most 1000 contacts per request (got 1001): split the import"),
        (Method::GET, "/api/contacts?limit=0".into(), None, StatusCode::BAD_REQUEST,
            "\"limit\" must be between 1 and 100"),
        (Method::GET, "/api/contacts?limit=ten".into(), None, StatusCode::BAD_REQUEST,
            "Invalid \"limit\": invalid digit found in string"),
        (Method::GET, "/api/contacts?tag=vip&search=ali".into(), None, StatusCode::BAD_REQUEST,
            "Use either \"tag\" or \"search\", not both"),
        (Method::GET, "/api/contacts?tag=a%23b".into(), None, StatusCode::BAD_REQUEST,
            "\"tag\" must be 1-50 letters, digits, spaces or - _ . : /"),
        (Method::GET, "/api/contacts?search=%20".into(), None, StatusCode::BAD_REQUEST,
            "\"search\" must not be empty"),
        (Method::GET, "/api/contacts?cursor=bm90LWEtY3Vyc29y".into(), None, StatusCode::BAD_REQUEST,
            "Invalid \"cursor\""),
        (Method::DELETE, "/api/contacts".into(), Some(json!({"ids": []})), StatusCode::BAD_REQUEST,
            "\"ids\" must not be empty"),
        (Method::DELETE, "/api/contacts".into(), Some(json!({"ids": many_ids})), StatusCode::BAD_REQUEST,
            "\"ids\" must hold at most 1000 entries per request (got 1001)"),
        (Method::DELETE, "/api/contacts".into(), Some(json!({"ids": [1]})), StatusCode::BAD_REQUEST,
            "Invalid \"ids[0]\": invalid type: integer `1`, expected a string at line 1 column 9"),
        (Method::PATCH, contact.clone(), Some(json!({})), StatusCode::BAD_REQUEST,
            "Nothing to change: send \"name\", \"phone\", \"tags\", \"addTags\" or \"removeTags\""),
        (Method::PATCH, contact.clone(), Some(json!({"phone": "abc"})), StatusCode::BAD_REQUEST,
            "\"phone\" must be an E.164 number or local digits"),
        (Method::PATCH, contact.clone(), Some(json!({"name": "a\u{7}"})), StatusCode::BAD_REQUEST,
            "\"name\" must not contain control characters"),
        (Method::PATCH, contact.clone(), Some(json!({"tags": ["a"], "addTags": ["b"]})), StatusCode::BAD_REQUEST,
            "Send either \"tags\" (replaces every tag) or \"addTags\"/\"removeTags\", not both"),
        (Method::PATCH, contact.clone(), Some(json!({"addTags": twenty_one})), StatusCode::BAD_REQUEST,
            "\"addTags\": a contact can have at most 20 tags"),
        (Method::PATCH, contact.clone(), Some(json!({"removeTags": ["ok", ""]})), StatusCode::BAD_REQUEST,
            "\"removeTags[1]\" must be 1-50 letters, digits, spaces or - _ . : /"),
        (Method::PATCH, contact.clone(), Some(json!({"nickname": "x"})), StatusCode::BAD_REQUEST,
            "Invalid \"nickname\": unknown field `nickname`, expected one of `name`, `phone`, `tags`, `addTags`, `removeTags` at line 1 column 11"),
        (Method::PATCH, "/api/contacts/not-a-uuid".into(), Some(json!({"name": "x"})), StatusCode::NOT_FOUND,
            "Contact not found"),
        (Method::GET, "/api/contacts/0193a6f2-7c1e-7d4b-9a51-3f0c2b8e4d11".into(), None, StatusCode::NOT_FOUND,
            "Contact not found"),
        (Method::POST, "/api/contact-lists".into(), Some(json!({"name": " "})), StatusCode::BAD_REQUEST,
            "\"name\" must not be empty"),
        (Method::POST, "/api/contact-lists".into(), Some(json!({})), StatusCode::BAD_REQUEST,
            "Invalid request body: missing field `name` at line 1 column 2"),
        (Method::GET, "/api/contact-lists?limit=101".into(), None, StatusCode::BAD_REQUEST,
            "\"limit\" must be between 1 and 100"),
        (Method::GET, "/api/contact-lists/nope".into(), None, StatusCode::NOT_FOUND,
            "Contact list not found"),
        (Method::DELETE, "/api/contact-lists/nope".into(), None, StatusCode::NOT_FOUND,
            "Contact list not found"),
        (Method::GET, "/api/contact-lists/nope/members".into(), None, StatusCode::NOT_FOUND,
            "Contact list not found"),
        (Method::POST, "/api/contact-lists/nope/members".into(), Some(json!({"contactIds": [id]})), StatusCode::NOT_FOUND,
            "Contact list not found"),
        (Method::POST, "/api/contact-lists/nope/members".into(), Some(json!({})), StatusCode::BAD_REQUEST,
            "Send exactly one of \"contactIds\" or \"phones\""),
        (Method::DELETE, "/api/contact-lists/nope/members".into(), Some(json!({"contactIds": [], "phones": []})), StatusCode::BAD_REQUEST,
            "Send exactly one of \"contactIds\" or \"phones\""),
        (Method::POST, "/api/contact-lists/nope/members".into(), Some(json!({"phones": []})), StatusCode::BAD_REQUEST,
            "\"phones\" must not be empty"),
    ];
    for (method, path, body, want_status, want) in cases {
        let label = format!("{method} {path} {body:?}");
        let Reply {
            status, body: got, ..
        } = t.request(method, &path, body).await;
        assert_eq!(
            (status, got),
            (want_status, json!({ "error": want })),
            "{label}"
        );
    }
    // No key, no contacts.
    app.anonymous()
        .get("/api/contacts")
        .await
        .expect(StatusCode::UNAUTHORIZED);
    // Nothing above changed the contact.
    let c = t.get_ok(&contact).await;
    assert_eq!(c["contact"]["name"], "Ali");
}

#[tokio::test]
async fn another_tenants_contacts_and_lists_are_invisible() {
    let app = TestApp::start().await;
    let a = app.roomy_tenant("pro").await;
    let b = app.roomy_tenant("pro").await;
    let created = a
        .upsert_contacts(
            json!([{"name": "Ali", "phone": "+923001234567", "tags": ["vip"]},
               {"name": "Sara", "phone": "+923009876543", "tags": ["vip"]}]),
        )
        .await;
    let a_ids = ids_of(&created);
    let a_list = a.create_list("A's").await;
    let added = a.add_to_list(&a_list, &a_ids).await;
    assert_eq!(added["changed"], 2, "{added}");

    let not_found =
        |body: &Value, what: &str| assert_eq!(body, &json!({"error": format!("{what} not found")}));
    let id = &a_ids[0];
    for (method, path, body) in [
        (Method::GET, format!("/api/contacts/{id}"), None),
        (
            Method::PATCH,
            format!("/api/contacts/{id}"),
            Some(json!({"name": "Mine now"})),
        ),
    ] {
        let body = b
            .request(method, &path, body)
            .await
            .expect(StatusCode::NOT_FOUND);
        not_found(&body, "Contact");
    }
    for (method, path, body) in [
        (Method::GET, format!("/api/contact-lists/{a_list}"), None),
        (
            Method::GET,
            format!("/api/contact-lists/{a_list}/members"),
            None,
        ),
        (
            Method::POST,
            format!("/api/contact-lists/{a_list}/members"),
            Some(json!({"contactIds": [id]})),
        ),
        (
            Method::DELETE,
            format!("/api/contact-lists/{a_list}/members"),
            Some(json!({"contactIds": [id]})),
        ),
        (Method::DELETE, format!("/api/contact-lists/{a_list}"), None),
    ] {
        let Reply { status, body, .. } = b.request(method.clone(), &path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        not_found(&body, "Contact list");
    }
    let Reply { status, body, .. } = b.delete_json("/api/contacts", json!({"ids": a_ids})).await;
    assert_eq!((status, &body["deleted"]), (StatusCode::OK, &json!([])));
    assert_eq!(body["notFound"], json!(a_ids));
    for path in [
        "/api/contacts",
        "/api/contacts?tag=vip",
        "/api/contacts?search=92300",
        "/api/contacts?search=ali",
        "/api/contact-lists",
    ] {
        let page = b.get_ok(path).await;
        let items = page
            .get("contacts")
            .or_else(|| page.get("lists"))
            .cloned()
            .expect("contacts or lists");
        assert_eq!(items, json!([]), "{path}");
    }
    // B's own list cannot take A's contacts.
    let b_list = b.create_list("B's").await;
    let body = b
        .post(
            &format!("/api/contact-lists/{b_list}/members"),
            json!({"contactIds": [id], "phones": null}),
        )
        .await
        .body;
    assert_eq!(body["results"][0]["status"], "not_found", "{body}");
    assert_eq!(body["memberCount"], 0);
    // The same phone is a separate contact for B.
    let mine = b
        .upsert_contacts(json!([{"name": "B's Ali", "phone": "923001234567"}]))
        .await;
    assert_eq!(mine["results"][0]["status"], "created");
    assert_ne!(mine["results"][0]["id"], id.as_str());
    // A cursor of A's cannot page B's contacts.
    let page = a.get_ok("/api/contacts?limit=1").await;
    let cursor = page["nextCursor"].str();
    b.get(&format!("/api/contacts?cursor={cursor}"))
        .await
        .expect_body(
            StatusCode::BAD_REQUEST,
            json!({"error": "Invalid \"cursor\""}),
        );
    // And A still has everything.
    let a_page = a.get_ok("/api/contacts?tag=vip").await;
    assert_eq!(field(&a_page, "name").len(), 2);
    let l = a.get_ok(&format!("/api/contact-lists/{a_list}")).await;
    assert_eq!(l["list"]["memberCount"], 2);
}

#[tokio::test]
async fn listing_pages_with_cursors_and_searches_by_phone_or_name() {
    let (_app, t) = TestApp::with_roomy_tenant("pro").await;
    let names = [
        "Ali", "alina", "Sara", "Saad", "Sana", "Zed", "Ömer", "ali khan", "Bob", "Carla", "Dan",
        "Eve", "Fay", "Gus", "Hal", "Ivy", "Jo", "Kai", "Lu", "Mo", "Ned", "Oz", "Pia", "Quinn",
        "Ray",
    ];
    let entries: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let phone = if i < 5 {
                format!("+92 301 00000{i:02}")
            } else {
                format!("+44 7700 9000{i:02}")
            };
            json!({"name": n, "phone": phone})
        })
        .collect();
    t.upsert_contacts(json!(entries)).await;
    let (ids, pages) = walk(&t, "/api/contacts?limit=10").await;
    assert_eq!(ids.len(), 25);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 25, "no repeats");
    assert!(pages == 3 || pages == 4, "{pages}");
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(ids, sorted, "newest first (ids are UUIDv7)");

    // Phone prefix, in phone order; E.164 punctuation is fine.
    let page = t.get_ok("/api/contacts?search=%2B92%20301").await;
    assert_eq!(
        field(&page, "name"),
        vec!["Ali", "alina", "Sara", "Saad", "Sana"]
    );
    let (found, pages) = walk(&t, "/api/contacts?search=92301&limit=2").await;
    assert_eq!((found.len(), pages), (5, 3));
    let page = t.get_ok("/api/contacts?search=447700900005").await;
    assert_eq!(field(&page, "name"), vec!["Zed"]);
    let page = t.get_ok("/api/contacts?search=1").await;
    assert_eq!(page["contacts"], json!([]));

    // Name prefix, case-insensitive, in name order.
    let page = t.get_ok("/api/contacts?search=ALI").await;
    assert_eq!(field(&page, "name"), vec!["Ali", "ali khan", "alina"]);
    let page = t.get_ok("/api/contacts?search=sa").await;
    assert_eq!(field(&page, "name"), vec!["Saad", "Sana", "Sara"]);
    let page = t.get_ok("/api/contacts?search=%C3%B6").await;
    assert_eq!(field(&page, "name"), vec!["Ömer"]);
    let (found, _) = walk(&t, "/api/contacts?search=s&limit=1").await;
    assert_eq!(found.len(), 3);

    // A cursor belongs to its query: the phone search's cursor does not page another search.
    let page = t.get_ok("/api/contacts?search=92301&limit=2").await;
    let cursor = page["nextCursor"].string();
    for other in [
        "/api/contacts?search=44",
        "/api/contacts?search=ali",
        "/api/contacts?tag=vip",
        "/api/contacts",
    ] {
        let sep = if other.contains('?') { '&' } else { '?' };
        let Reply { status, body, .. } = t.get(&format!("{other}{sep}cursor={cursor}")).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::BAD_REQUEST,
                json!({"error": "Invalid \"cursor\""})
            ),
            "{other}"
        );
    }
}

#[tokio::test]
async fn contacts_by_tag_read_only_the_page_asked_for() {
    // A manual clock keeps the rate window still, so the call count is exact.
    let app = TestApp::start_with(TestOptions {
        clock: Clock::manual(chrono::Utc::now()),
        ..Default::default()
    })
    .await;
    let t = app.roomy_tenant("pro").await;
    let entries: Vec<Value> = (0..400)
        .map(|i| {
            let tags = if i % 20 == 7 { json!(["vip", "other"]) } else { json!(["other"]) };
            json!({"name": format!("Contact {i:03}"), "phone": format!("+4477009{i:05}"), "tags": tags})
        })
        .collect();
    let body = t.upsert_contacts(json!(entries)).await;
    assert_eq!(body["created"], 400);

    let Reply {
        status,
        headers,
        body: page,
    } = t.get("/api/contacts?tag=vip&limit=10").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(field(&page, "id").len(), 10);
    assert!(page["contacts"]
        .array()
        .iter()
        .all(|c| c["tags"] == json!(["other", "vip"])));
    assert_eq!(
        header(&headers, "x-aws-calls"),
        "2",
        "authentication + one Query"
    );
    let (all_vip, _) = walk(&t, "/api/contacts?tag=vip&limit=10").await;
    assert_eq!(all_vip.len(), 20);

    // The Query behind it reads exactly the 10 items it returns.
    let out = app
        .state
        .aws
        .dynamo
        .query()
        .table_name(&app.state.config.table_name)
        .key_condition_expression("PK = :pk AND begins_with(SK, :p)")
        .expression_attribute_values(":pk", AttributeValue::S(keys::tag_pk(&t.id, "vip")))
        .expression_attribute_values(":p", AttributeValue::S(keys::CONTACT_PREFIX.into()))
        .scan_index_forward(false)
        .consistent_read(true)
        .limit(10)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    assert_eq!((out.scanned_count, out.count), (10, 10));
    let units = out
        .consumed_capacity
        .and_then(|c| c.capacity_units)
        .expect("the consumed capacity");
    assert!(
        units <= 2.0,
        "10 small items are at most a couple of read units, got {units}"
    );

    // The campaign-side API walks the same audience in pages, oldest first.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = app
            .state
            .store
            .contacts_page_by_tag(&t.id, "vip", cursor.as_deref(), 7)
            .await
            .unwrap();
        assert!(page.members.len() <= 7);
        seen.extend(page.members);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 20);
    assert!(seen
        .iter()
        .all(|m| m.name.starts_with("Contact ") && m.phone.starts_with("4477009")));
    let mut sorted: Vec<String> = seen.iter().map(|m| m.contact_id.clone()).collect();
    sorted.sort();
    assert_eq!(
        sorted,
        seen.iter()
            .map(|m| m.contact_id.clone())
            .collect::<Vec<_>>()
    );
    let mut all_sorted = all_vip.clone();
    all_sorted.sort();
    assert_eq!(sorted, all_sorted);
    // A cursor of another tag or tenant is refused.
    let page = app
        .state
        .store
        .contacts_page_by_tag(&t.id, "vip", None, 3)
        .await
        .unwrap();
    let c = page.next_cursor.expect("a next page");
    assert!(app
        .state
        .store
        .contacts_page_by_tag(&t.id, "other", Some(&c), 3)
        .await
        .is_err());
    assert!(app
        .state
        .store
        .contacts_page_by_tag("other-tenant", "vip", Some(&c), 3)
        .await
        .is_err());
}

#[tokio::test]
async fn edits_keep_phones_unique_and_every_copy_current() {
    let (app, t) = TestApp::with_roomy_tenant("pro").await;
    let body = t
        .upsert_contacts(
            json!([{"name": "Ali", "phone": "+923001234567", "tags": ["a", "b"]},
               {"name": "Sara", "phone": "+923009876543"}]),
        )
        .await;
    let ids = ids_of(&body);
    let (ali, sara) = (ids[0].clone(), ids[1].clone());
    let list_id = t.create_list("L").await;
    t.add_to_list(&list_id, std::slice::from_ref(&ali)).await;

    let path = format!("/api/contacts/{ali}");
    let patch = |body: Value| t.patch(&path, body);
    let body = patch(json!({"name": "Ali Khan", "phone": "+92 300 7654321", "addTags": ["C"], "removeTags": ["a", "zz"]})).await.expect(StatusCode::OK);
    let c = body["contact"].clone();
    assert_eq!(
        (&c["name"], &c["phone"], &c["tags"]),
        (
            &json!("Ali Khan"),
            &json!("923007654321"),
            &json!(["b", "c"])
        )
    );
    assert_eq!(
        t.get_ok(&format!("/api/contacts/{ali}")).await["contact"],
        c
    );

    // Tag copies: gone from `a`, present and current under `b` and `c`.
    assert_eq!(t.get_ok("/api/contacts?tag=a").await["contacts"], json!([]));
    for tag in ["b", "c"] {
        assert_eq!(
            t.get_ok(&format!("/api/contacts?tag={tag}")).await["contacts"],
            json!([c]),
            "{tag}"
        );
    }
    // Phone claim moved; the old phone is free.
    assert_eq!(
        t.get_ok("/api/contacts?search=923001234567").await["contacts"],
        json!([])
    );
    assert_eq!(
        t.get_ok("/api/contacts?search=923007654321").await["contacts"],
        json!([c])
    );
    // Name index follows.
    assert_eq!(
        field(&t.get_ok("/api/contacts?search=ali%20k").await, "id"),
        vec![ali.as_str()]
    );
    // List membership copy follows.
    let members = t
        .get_ok(&format!("/api/contact-lists/{list_id}/members"))
        .await;
    assert_eq!(members["members"][0]["name"], "Ali Khan");
    assert_eq!(members["members"][0]["phone"], "923007654321");
    let page = app
        .state
        .store
        .list_members_page(&t.id, &list_id, None, 10)
        .await
        .unwrap();
    assert_eq!(
        (
            page.members[0].name.as_str(),
            page.members[0].phone.as_str()
        ),
        ("Ali Khan", "923007654321")
    );

    // Another contact's phone: 409 naming it, nothing changed.
    let Reply { status, body, .. } = patch(json!({"phone": "923009876543", "name": "Thief"})).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::CONFLICT,
            json!({"error": format!("\"phone\" 923009876543 already belongs to contact {sara}")})
        )
    );
    assert_eq!(
        t.get_ok(&format!("/api/contacts/{ali}")).await["contact"],
        c
    );
    // The freed phone can be taken by a new contact.
    let body = t
        .upsert_contacts(json!([{"name": "New", "phone": "923001234567"}]))
        .await;
    assert_eq!(body["results"][0]["status"], "created");

    // Replace tags, clear the name.
    let body = patch(json!({"tags": [], "name": ""}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (&body["contact"]["tags"], &body["contact"]["name"]),
        (&json!([]), &json!(""))
    );
    assert_eq!(t.get_ok("/api/contacts?tag=b").await["contacts"], json!([]));
    assert!(!field(&t.get_ok("/api/contacts?search=ali").await, "id").contains(&ali.as_str()));
    // The same phone again (as typed differently) is no change at all.
    let Reply {
        status,
        body: again,
        ..
    } = patch(json!({"phone": "+92 300 765 4321"})).await;
    assert_eq!(
        (status, &again["contact"]),
        (StatusCode::OK, &body["contact"])
    );
}

#[tokio::test]
async fn deleting_contacts_removes_their_tags_phone_and_memberships() {
    let (app, t) = TestApp::with_roomy_tenant("pro").await;
    let entries: Vec<Value> = (0..60)
        .map(|i| json!({"name": format!("C{i}"), "phone": format!("+4477001{i:05}"), "tags": ["x", "y"]}))
        .collect();
    let body = t.upsert_contacts(json!(entries)).await;
    let ids = ids_of(&body);
    let mut lists = Vec::new();
    for name in ["L1", "L2"] {
        let id = t.create_list(name).await;
        let added = t.add_to_list(&id, &ids).await;
        assert_eq!(
            (&added["changed"], &added["memberCount"]),
            (&json!(60), &json!(60)),
            "{added}"
        );
        lists.push(id);
    }

    let unknown = "0193a6f2-7c1e-7d4b-9a51-3f0c2b8e4d11";
    let mut request = ids[..50].to_vec();
    request.extend([ids[0].clone(), unknown.to_string(), "garbage".to_string()]);
    let Reply {
        status,
        headers,
        body,
    } = t
        .delete_json("/api/contacts", json!({"ids": request}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["deleted"], json!(ids[..50]));
    assert_eq!(body["notFound"], json!([unknown, "garbage"]));
    // 50 contacts x 7 items (contact, phone, 2 tags, 2 memberships... ) packed, not one by one.
    let calls: u32 = header(&headers, "x-aws-calls").parse().expect("a number");
    assert!(calls <= 10, "{calls} AWS calls for 50 deletions");

    for id in &ids[..50] {
        assert_eq!(
            t.get(&format!("/api/contacts/{id}")).await.status,
            StatusCode::NOT_FOUND
        );
    }
    for tag in ["x", "y"] {
        let (left, _) = walk(&t, &format!("/api/contacts?tag={tag}&limit=100")).await;
        assert_eq!(left.len(), 10, "{tag}");
    }
    for l in &lists {
        let list = t.get_ok(&format!("/api/contact-lists/{l}")).await;
        assert_eq!(list["list"]["memberCount"], 10);
        let (members, _) = {
            let m = t
                .get_ok(&format!("/api/contact-lists/{l}/members?limit=100"))
                .await;
            (m["members"].array().clone(), ())
        };
        let member_ids: HashSet<&str> = members.iter().map(|m| m["contactId"].str()).collect();
        assert_eq!(member_ids, ids[50..].iter().map(String::as_str).collect());
    }
    assert_eq!(
        t.get_ok("/api/contacts?search=447700100000").await["contacts"],
        json!([])
    );
    // Nothing of theirs is left in the table (raw check of every partition they used).
    let mut partitions = vec![
        keys::contacts_pk(&t.id),
        keys::phones_pk(&t.id),
        keys::tag_pk(&t.id, "x"),
        keys::tag_pk(&t.id, "y"),
    ];
    partitions.extend(lists.iter().map(|l| keys::list_members_pk(&t.id, l)));
    for pk in partitions {
        assert_eq!(app.count_partition(&pk).await, 10, "{pk}");
    }
    // The phones are free again.
    let body = t.upsert_contacts(json!([{"phone": "+447700100000"}])).await;
    assert_eq!(body["results"][0]["status"], "created");
    // Deleting again: not found.
    let body = t
        .delete_json("/api/contacts", json!({"ids": [ids[0]]}))
        .await
        .body;
    assert_eq!(body, json!({"deleted": [], "notFound": [ids[0]]}));
}

#[tokio::test]
async fn concurrent_upserts_of_one_phone_make_one_contact_with_every_tag() {
    let (_app, t) = TestApp::with_roomy_tenant("pro").await;
    let t = &t;
    let requests = (0..8).map(|i| async move {
        t.upsert_contacts(
            json!([{"name": "Ali", "phone": "+923001234567", "tags": [format!("t{i}")]}]),
        )
        .await
    });
    let bodies = futures::future::join_all(requests).await;
    let created = bodies
        .iter()
        .filter(|b| b["results"][0]["status"] == "created")
        .count();
    assert_eq!(created, 1, "{bodies:?}");
    let ids: HashSet<&str> = bodies
        .iter()
        .filter_map(|b| b["results"][0]["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 1);
    let page = t.get_ok("/api/contacts").await;
    assert_eq!(page["contacts"].as_array().map(Vec::len), Some(1));
    let tags: Vec<String> = (0..8).map(|i| format!("t{i}")).collect();
    assert_eq!(page["contacts"][0]["tags"], json!(tags));
    for tag in &tags {
        assert_eq!(
            field(&t.get_ok(&format!("/api/contacts?tag={tag}")).await, "id").len(),
            1
        );
    }
}

#[tokio::test]
async fn a_thousand_contacts_in_one_request_and_again_as_updates() {
    let (_app, t) = TestApp::with_roomy_tenant("pro").await;
    let entries: Vec<Value> = (0..1000)
        .map(|i| json!({"name": format!("Bulk {i}"), "phone": format!("+1555{i:07}"), "tags": ["bulk"]}))
        .collect();
    let started = std::time::Instant::now();
    let Reply {
        status,
        headers,
        body,
    } = t.post("/api/contacts", json!({"contacts": entries})).await;
    let first = started.elapsed();
    assert_eq!(
        (status, &body["created"], &body["failed"]),
        (StatusCode::OK, &json!(1000), &json!(0))
    );
    let calls: u32 = header(&headers, "x-aws-calls").parse().expect("a number");
    // Authentication, 10 batch reads of phones, then one transaction per contact.
    assert!((1011..=1013).contains(&calls), "{calls}");
    let sequential: u32 = header(&headers, "x-aws-sequential")
        .parse()
        .expect("a number");
    assert!(
        sequential < 200,
        "bounded concurrency: {sequential} sequential calls for {calls}"
    );

    let entries: Vec<Value> = (0..1000)
        .map(|i| json!({"phone": format!("1555{i:07}"), "tags": if i % 2 == 0 { json!(["even"]) } else { json!(["bulk"]) }}))
        .collect();
    let started = std::time::Instant::now();
    let body = t.upsert_contacts(json!(entries)).await;
    let second = started.elapsed();
    assert_eq!(
        (&body["updated"], &body["unchanged"]),
        (&json!(500), &json!(500))
    );
    let (evens, _) = walk(&t, "/api/contacts?tag=even&limit=100").await;
    assert_eq!(evens.len(), 500);
    eprintln!("1,000 contacts: created in {first:?}, upserted again in {second:?}");
}
