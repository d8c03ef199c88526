//! Local numbers (issue 16's "Done when", last part): with `defaultCountryCode` 92, a send to
//! `0300 1112233` goes to `923001112233` and a contact saved as `03001112244` is stored as
//! `923001112244`; every phone that comes in follows the same rule, numbers that cannot exist
//! are 400 naming their field, and without the setting nothing changes.

use wati_tests::*;

#[tokio::test]
async fn a_default_country_makes_every_local_number_international() {
    let (_app, t) = TestApp::with_tenant("pro").await;
    t.sandbox_device().await;

    // Without the setting, local digits are kept as given (as before).
    assert_eq!(
        t.get_ok("/api/settings/phone").await,
        json!({"defaultCountryCode": null})
    );
    let sent = t
        .send_message(json!({"to": "0300 1112233", "message": "as given"}))
        .await
        .ok();
    assert_eq!(sent["to"], "03001112233");

    // The setting: a calling code that exists, "+" allowed, 400 naming the field otherwise.
    for bad in ["abc", "999", "0", "1234"] {
        let body = json!({"defaultCountryCode": bad});
        t.put("/api/settings/phone", &body).await.expect_bad_request(
            "\"defaultCountryCode\" must be a country calling code such as \"92\" (Pakistan) or \"1\" (US, Canada)",
            &body,
        );
    }
    t.put("/api/settings/phone", json!({"country": "92"}))
        .await
        .error(StatusCode::BAD_REQUEST);
    let set = t
        .put("/api/settings/phone", json!({"defaultCountryCode": "+92"}))
        .await
        .ok();
    assert_eq!(set, json!({"defaultCountryCode": "92"}));
    assert_eq!(t.get_ok("/api/settings/phone").await, set);

    // Sends: the trunk prefix dropped, the answer shows the number used.
    let sent = t
        .send_message(json!({"to": "0300 1112233", "message": "Hi"}))
        .await
        .ok();
    assert_eq!(sent["to"], "923001112233");
    let message = t.message(sent["id"].str()).await;
    assert_eq!(message["peer"], "923001112233", "{message}");
    for same in ["+92 300 1112233", "923001112233", "0092 300 1112233"] {
        let sent = t
            .send_message(json!({"to": same, "message": "Hi"}))
            .await
            .ok();
        assert_eq!(sent["to"], "923001112233", "{same}");
    }
    // International numbers of other countries stay as they are, with or without "+".
    let uk = t
        .send_message(json!({"to": "447911123456", "message": "Hi"}))
        .await
        .ok();
    assert_eq!(uk["to"], "447911123456");
    // A number that cannot exist: 400 naming the field, nothing sent.
    let bad = json!({"to": "0300 12345", "message": "Hi"});
    t.send_message(bad.clone()).await.expect_bad_request(
        "\"to\" is not a valid phone number: 0300 12345 is neither a valid +92 number nor a valid international one",
        &bad,
    );

    // Contacts: stored international; a bad row is reported by its field, the rest saved.
    let report = t
        .upsert_contacts(json!([
            {"name": "Local", "phone": "03001112244"},
            {"name": "Nope", "phone": "0300 999"},
            {"name": "Same", "phone": "+92 300 1112244"}
        ]))
        .await;
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(report["duplicates"], 1, "{report}");
    assert_eq!(report["results"][0]["phone"], "923001112244");
    assert_eq!(
        report["results"][1]["error"],
        "\"contacts[1].phone\" is not a valid phone number: 0300 999 is neither a valid +92 number nor a valid international one"
    );
    let id = report["results"][0]["id"].string();
    let contact = t.get_ok(&format!("/api/contacts/{id}")).await;
    assert_eq!(contact["contact"]["phone"], "923001112244");
    let found = t.get_ok("/api/contacts?search=923001112244").await;
    assert_eq!(found["contacts"].as_array().map(Vec::len), Some(1));
    // An edit's phone too.
    let edited = t
        .patch(
            &format!("/api/contacts/{id}"),
            json!({"phone": "0300-111-2255"}),
        )
        .await
        .ok();
    assert_eq!(edited["contact"]["phone"], "923001112255");
    // A search by the local form finds it.
    let found = t.get_ok("/api/contacts?search=0300%20111225").await;
    assert_eq!(found["contacts"][0]["id"], id.as_str(), "{found}");
    t.patch(&format!("/api/contacts/{id}"), json!({"phone": "0300"}))
        .await
        .error(StatusCode::BAD_REQUEST);
    // List members by phone.
    let list = t.create_list("Locals").await;
    let added = t
        .post(
            &format!("/api/contact-lists/{list}/members"),
            json!({"phones": ["0300 1112255", "0300 1"]}),
        )
        .await
        .ok();
    assert_eq!(added["changed"], 1, "{added}");
    assert_eq!(added["failed"], 1, "{added}");

    // Campaign recipients.
    let created = t
        .create_campaign(json!({"name": "Local", "message": "Hi", "delaySeconds": 1,
            "recipients": [{"phone": "0300 1112266"}, {"phone": "03001112266"}]}))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(created["campaign"]["total"], 1);
    assert_eq!(created["campaign"]["duplicates"], 1);
    let listed = t.all_recipients(created["id"].str(), 10).await;
    assert_eq!(listed[0]["phone"], "923001112266");
    let bad = json!({"name": "Bad", "message": "Hi", "recipients": [{"phone": "0300 1112266"}, {"phone": "0300 77777"}]});
    let msg = t.create_campaign(bad).await.error(StatusCode::BAD_REQUEST);
    assert!(
        msg.starts_with("\"recipients[1].phone\" is not a valid phone number"),
        "{msg}"
    );

    // Turned off: as given again.
    t.put("/api/settings/phone", json!({"defaultCountryCode": null}))
        .await
        .ok();
    let sent = t
        .send_message(json!({"to": "0300 1112233", "message": "as given"}))
        .await
        .ok();
    assert_eq!(sent["to"], "03001112233");
}
