//! The Team Inbox end to end: a customer's message opens a conversation, a manager assigns
//! it (a signed `conversation.assigned`), the agent replies through the send flow, notes
//! stay private, resolving and reopening; exact filters and counters that read one page;
//! agents see only their own; canned responses; snoozes ending on the minute job.

use crate::inbound::{env_with, new_wamid, CUSTOMER, PHONE_ID};
use std::time::Duration;
use wati_tests::webhooks::{verify_with_standardwebhooks, Answer, Receiver};
use wati_tests::*;

/// The tenant's conversations as `api` lists them with `query`.
async fn listed(api: &Api, query: &str) -> Vec<Value> {
    api.get_ok(&format!("/api/inbox/conversations{query}"))
        .await["conversations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn ids(list: &[Value]) -> Vec<String> {
    list.iter().map(|c| c["id"].string()).collect()
}

/// Waits until `query` lists exactly `want`. An inbound message writes the listing entries
/// right after the conversation, so the conversation can be read a moment before them.
async fn lists_eventually(api: &Api, query: &str, want: &[String]) {
    eventually(query, Duration::from_secs(10), || async {
        (ids(&listed(api, query).await) == want).then_some(())
    })
    .await
}

/// The counts of open and of snoozed conversations.
async fn open_and_snoozed(api: &Api) -> (Option<i64>, Option<i64>) {
    let counts = api.get_ok("/api/inbox/conversations/counts").await;
    (
        counts["open"]["all"].as_i64(),
        counts["snoozed"]["all"].as_i64(),
    )
}

#[tokio::test]
async fn a_customer_message_is_assigned_answered_resolved_and_reopened() {
    let e = env_with("pro", true, &[]).await;
    let (app, t, meta) = (&e.app, &e.tenant, &e.meta);
    let device = t.cloud_device(meta, PHONE_ID, "EAAGinbox").await;
    let receiver = Receiver::start(vec![], Answer::Status(200)).await;
    let secret = t
        .configure_webhook(&receiver.url, Some(json!(["conversation.assigned"])))
        .await;
    let manager = t.member(app, "manager").await;
    let (agent, agent_id) = t.member_as(app, "agent", "agent").await;

    // A customer writes: an open, unassigned conversation at the top of the list.
    app.from_meta(
        &t.id,
        &meta_text(PHONE_ID, &new_wamid(), "Where is my order?", now_ts()),
    )
    .await;
    let top = eventually("the conversation", Duration::from_secs(15), || async {
        listed(&manager, "?status=open&assignee=unassigned")
            .await
            .into_iter()
            .next()
    })
    .await;
    assert_eq!(top["peer"], CUSTOMER);
    assert_eq!(top["device_id"], device.as_str());
    assert_eq!(top["status"], "open");
    assert_eq!(top["assigned_to"], Value::Null);
    assert_eq!(top["unread_count"], 1);
    assert_eq!(top["last_message"]["text"], "Where is my order?");
    assert_eq!(top["last_message"]["direction"], "in");
    let id = top["id"].string();
    let counts = manager.get_ok("/api/inbox/conversations/counts").await;
    assert_eq!(
        counts["open"],
        json!({"mine": 0, "unassigned": 1, "all": 1})
    );
    // Agents see nothing unassigned.
    assert!(listed(&agent, "").await.is_empty());
    agent
        .get(&format!("/api/inbox/conversations/{id}"))
        .await
        .expect_error(StatusCode::NOT_FOUND, "Conversation not found");

    // The manager assigns it: the tenant's webhook gets a verifiable event.
    let assigned = manager
        .post(
            &format!("/api/inbox/conversations/{id}/assign"),
            json!({"userId": agent_id}),
        )
        .await
        .ok();
    assert_eq!(assigned["conversation"]["assigned_to"], agent_id.as_str());
    let hits = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(
        verify_with_standardwebhooks(&[(&hits[0], &secret)]),
        vec![Ok(())]
    );
    let event: Value = serde_json::from_str(&hits[0].body).expect("JSON");
    assert_eq!(event["event"], "conversation.assigned");
    assert_eq!(event["conversationId"], id.as_str());
    assert_eq!(event["deviceId"], device.as_str());
    assert_eq!(event["peer"], CUSTOMER);
    assert_eq!(event["assignedTo"], agent_id.as_str());
    assert_eq!(event["previousAssignee"], Value::Null);
    assert!(event["assignedBy"].is_string(), "{event}");
    // Agents may not assign.
    agent
        .post(
            &format!("/api/inbox/conversations/{id}/assign"),
            json!({"userId": null}),
        )
        .await
        .expect_error(StatusCode::FORBIDDEN, "This action needs the manager role");

    // The agent sees it now, and replies: the customer gets it through Meta.
    assert_eq!(
        ids(&listed(&agent, "?assignee=all").await),
        vec![id.clone()]
    );
    let before = meta.requests().len();
    let sent = agent
        .post(
            &format!("/api/inbox/conversations/{id}/messages"),
            json!({"text": "It ships today"}),
        )
        .await
        .ok();
    assert_eq!(sent["status"], "sent");
    let reply_id = sent["id"].string();
    let requests = meta.requests();
    assert_eq!(requests.len(), before + 1);
    assert_eq!(requests[before].body["text"]["body"], "It ships today");
    assert_eq!(requests[before].body["to"], CUSTOMER);
    let looked_up = t.message(&reply_id).await;
    assert_eq!(looked_up["id"], reply_id.as_str());
    assert_eq!(looked_up["status"], "sent");

    // A note: in the thread with its author, never sent.
    let note = agent
        .post(
            &format!("/api/inbox/conversations/{id}/messages"),
            json!({"text": "Customer is a VIP", "private": true}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(note["note"]["private"], true);
    assert_eq!(meta.requests().len(), before + 1, "notes never reach Meta");
    let thread = agent
        .get_ok(&format!("/api/inbox/conversations/{id}/messages"))
        .await;
    let entries = thread["messages"].as_array().cloned().unwrap_or_default();
    let texts: Vec<&str> = entries.iter().map(|m| m["text"].str()).collect();
    assert_eq!(
        texts,
        ["Customer is a VIP", "It ships today", "Where is my order?"]
    );
    assert_eq!(entries[0]["private"], true);
    assert_eq!(
        entries[0]["author"],
        json!({"type": "user", "id": agent_id})
    );
    assert_eq!(
        entries[1]["author"],
        json!({"type": "user", "id": agent_id})
    );
    assert_eq!(entries[1]["direction"], "out");
    assert_eq!(entries[2]["direction"], "in");
    assert_eq!(entries[2]["status"], "received");

    // Replying read the conversation and recorded the first response.
    let c = agent
        .get_ok(&format!("/api/inbox/conversations/{id}"))
        .await;
    assert_eq!(c["conversation"]["unread_count"], 0);
    assert_eq!(c["conversation"]["last_message"]["text"], "It ships today");
    assert!(c["conversation"]["first_response_seconds"].is_i64(), "{c}");

    // Resolved by the agent; a new customer message reopens it.
    let resolved = agent
        .post(
            &format!("/api/inbox/conversations/{id}/status"),
            json!({"status": "resolved"}),
        )
        .await
        .ok();
    assert_eq!(resolved["conversation"]["status"], "resolved");
    assert!(resolved["conversation"]["resolution_seconds"].is_i64());
    let counts = agent.get_ok("/api/inbox/conversations/counts").await;
    assert_eq!(counts["resolved"]["mine"], 1);
    assert_eq!(counts["open"]["mine"], 0);
    app.from_meta(
        &t.id,
        &meta_text(PHONE_ID, &new_wamid(), "One more question", now_ts()),
    )
    .await;
    let reopened = eventually("reopened", Duration::from_secs(15), || async {
        let c = agent
            .get_ok(&format!("/api/inbox/conversations/{id}"))
            .await;
        (c["conversation"]["status"] == "open").then_some(c)
    })
    .await;
    assert_eq!(reopened["conversation"]["unread_count"], 1);
    assert_eq!(reopened["conversation"]["assigned_to"], agent_id.as_str());
    assert_eq!(
        reopened["conversation"]["first_response_seconds"],
        Value::Null,
        "a new opening waits for its own first response"
    );
    let counts = manager.get_ok("/api/inbox/conversations/counts").await;
    assert_eq!(counts["open"]["all"], 1);
    assert_eq!(counts["resolved"]["all"], 0);
    lists_eventually(&manager, "?status=open", &[id]).await;
    assert!(listed(&manager, "?status=resolved").await.is_empty());

    // Analytics counted the inbox's figures: two openings, the agent's one reply as the
    // first response, and the agent's resolution.
    let inbox = manager.analytics("").await.body["inbox"].clone();
    assert_eq!(inbox["conversationsOpened"], 2, "{inbox}");
    assert_eq!(inbox["resolved"], 1, "{inbox}");
    assert!(inbox["medianFirstResponseSeconds"].is_i64(), "{inbox}");
    assert!(inbox["medianResolutionSeconds"].is_i64(), "{inbox}");
    let agents = inbox["agents"].as_array().cloned().unwrap_or_default();
    assert_eq!(agents.len(), 1, "{inbox}");
    assert_eq!(agents[0]["userId"], agent_id.as_str());
    assert_eq!(agents[0]["replies"], 1);
    assert_eq!(agents[0]["resolved"], 1);
    assert!(agents[0]["medianFirstResponseSeconds"].is_i64(), "{inbox}");
}

/// One conversation of the model the filters are checked against.
#[derive(Clone)]
struct Conv {
    id: String,
    peer: String,
    device: String,
    status: &'static str,
    assignee: Option<String>,
    labels: Vec<&'static str>,
}

/// One combination of the listing's filters.
struct Filter<'a> {
    status: Option<&'a str>,
    /// `unassigned` or a member's id.
    assignee: Option<&'a str>,
    device: Option<&'a str>,
    label: Option<&'a str>,
    /// A phone prefix.
    q: Option<&'a str>,
}

impl Filter<'_> {
    /// The model's conversations it lets through, in the listing's order (a search's:
    /// the phone's).
    fn expected(&self, model: &[Conv]) -> Vec<String> {
        let digits: Option<String> = self
            .q
            .map(|q| q.chars().filter(char::is_ascii_digit).collect());
        let mut out: Vec<&Conv> = model
            .iter()
            .filter(|c| self.status.is_none_or(|s| c.status == s))
            .filter(|c| match self.assignee {
                None => true,
                Some("unassigned") => c.assignee.is_none(),
                Some(u) => c.assignee.as_deref() == Some(u),
            })
            .filter(|c| self.device.is_none_or(|d| c.device == d))
            .filter(|c| self.label.is_none_or(|l| c.labels.contains(&l)))
            .filter(|c| digits.as_ref().is_none_or(|p| c.peer.starts_with(p)))
            .collect();
        if digits.is_some() {
            out.sort_by(|x, y| x.peer.cmp(&y.peer));
        }
        out.into_iter().map(|c| c.id.clone()).collect()
    }

    fn query(&self) -> String {
        let mut q = vec!["limit=100".to_string()];
        for (name, v) in [
            ("status", self.status),
            ("assignee", self.assignee),
            ("deviceId", self.device),
            ("label", self.label),
            (
                "q",
                self.q
                    .map(|q| q.replace('+', "%2B").replace(' ', "%20"))
                    .as_deref(),
            ),
        ] {
            if let Some(v) = v {
                q.push(format!("{name}={v}"));
            }
        }
        format!("?{}", q.join("&"))
    }

    /// Lists it as `m`: exactly the expected conversations, in one page read with one
    /// query of entries and one batch of conversations (none when empty). Returns the
    /// query and the expected ids.
    async fn check(&self, m: &Api, model: &[Conv]) -> (String, Vec<String>) {
        let (query, expected) = (self.query(), self.expected(model));
        let reply = m.get(&format!("/api/inbox/conversations{query}")).await;
        let calls = reply.count("x-aws-calls");
        let got = ids(reply.ok()["conversations"].as_array().unwrap());
        assert_eq!(got, expected, "{query}");
        let reads = if expected.is_empty() { 2 } else { 3 };
        assert_eq!(calls, reads, "key, entries, conversations: {query}");
        (query, expected)
    }
}

#[tokio::test]
async fn every_filter_lists_exactly_its_conversations_reading_one_page() {
    let (app, t) = TestApp::with_roomy_tenant("pro").await;
    let (_, a1) = t.member_as(&app, "a1", "agent").await;
    let (_, a2) = t.member_as(&app, "a2", "agent").await;
    let devices = [
        uuid::Uuid::now_v7().to_string(),
        uuid::Uuid::now_v7().to_string(),
    ];
    let statuses = ["open", "pending", "resolved", "open", "snoozed", "pending"];
    let assignees = [None, Some(a1.clone()), Some(a2.clone())];
    let label_sets: [Vec<&str>; 3] = [vec![], vec!["vip"], vec!["vip", "billing"]];
    let mut model: Vec<Conv> = Vec::new();
    let base = chrono::Utc::now() - chrono::Duration::minutes(30);
    for i in 0..18 {
        let device = devices[i % 2].clone();
        let peer = format!("92300{:07}", 1000 + i);
        let at = base + chrono::Duration::seconds(i as i64);
        app.record_customer_message(&t.id, &device, &peer, &new_wamid(), "hi", at, at)
            .await;
        let c = app.conversation(&t.id, &device, &peer).await;
        let conv = Conv {
            id: c.id.clone(),
            peer: peer.clone(),
            device,
            status: statuses[i % statuses.len()],
            assignee: assignees[i % 3].clone(),
            labels: label_sets[(i / 3) % 3].clone(),
        };
        let path = format!("/api/inbox/conversations/{}", conv.id);
        if let Some(a) = &conv.assignee {
            t.post(&format!("{path}/assign"), json!({"userId": a}))
                .await
                .ok();
        }
        let mut status = json!({"status": conv.status});
        if conv.status == "snoozed" {
            status["snoozedUntil"] = json!(iso(chrono::Utc::now() + chrono::Duration::hours(2)));
        }
        if conv.status != "open" {
            t.post(&format!("{path}/status"), status).await.ok();
        }
        if !conv.labels.is_empty() {
            t.put(&format!("{path}/labels"), json!({"labels": conv.labels}))
                .await
                .ok();
        }
        model.push(conv);
    }
    model.reverse(); // most recent activity first

    // Read as a manager: a signed-in member's authentication is always one call (an API
    // key's takes two when its rate-limit minute rolls over).
    let (m, _) = t.member_as(&app, "m1", "manager").await;
    // The baseline: what reading a page of two costs.
    let baseline = m.get("/api/inbox/conversations?limit=2").await;
    assert_eq!(
        baseline.count("x-aws-calls"),
        3,
        "key, entries, conversations"
    );
    let page_cost: f64 = baseline.header("x-aws-consumed-capacity").parse().unwrap();

    let status_filters = [
        None,
        Some("open"),
        Some("pending"),
        Some("resolved"),
        Some("snoozed"),
    ];
    let assignee_filters = [None, Some("unassigned".to_string()), Some(a1.clone())];
    let device_filters = [None, Some(devices[1].clone())];
    let label_filters = [None, Some("vip"), Some("billing")];
    for s in &status_filters {
        for a in &assignee_filters {
            for d in &device_filters {
                for l in &label_filters {
                    let filter = Filter {
                        status: *s,
                        assignee: a.as_deref(),
                        device: d.as_deref(),
                        label: *l,
                        q: None,
                    };
                    let (query, expected) = filter.check(&m, &model).await;
                    // A page of two of this filter reads what any page of two reads.
                    if expected.len() >= 2 {
                        let two = m
                            .get(
                                &format!("/api/inbox/conversations{query}")
                                    .replace("limit=100", "limit=2"),
                            )
                            .await;
                        let cost: f64 = two.header("x-aws-consumed-capacity").parse().unwrap();
                        assert_eq!(cost, page_cost, "{query} read more than its page");
                        assert_eq!(
                            ids(two.ok()["conversations"].as_array().unwrap()),
                            expected[..2]
                        );
                    }
                    // `q` with every other filter, the label too: exactly its
                    // conversations, in phone order, reading one page.
                    let search = Filter {
                        q: Some("+92 300 0001 0"),
                        ..filter
                    };
                    search.check(&m, &model).await;
                }
            }
        }
    }

    // Search: by phone prefix, within a status.
    let found = listed(&t, "?q=%2B92300000101&limit=100").await;
    let expected: Vec<String> = {
        let mut v: Vec<(String, String)> = model
            .iter()
            .enumerate()
            .map(|(j, c)| (format!("92300{:07}", 1000 + (17 - j)), c.id.clone()))
            .filter(|(p, _)| p.starts_with("92300000101"))
            .collect();
        v.sort();
        v.into_iter().map(|(_, id)| id).collect()
    };
    assert_eq!(ids(&found), expected);
    assert_eq!(found.len(), 8, "1010-1017");
    // `q` with a label, by phone and by name.
    let vip: Vec<String> = {
        let mut v: Vec<&Conv> = model.iter().filter(|c| c.labels.contains(&"vip")).collect();
        v.sort_by(|x, y| x.peer.cmp(&y.peer));
        v.into_iter().map(|c| c.id.clone()).collect()
    };
    assert_eq!(vip.len(), 12);
    assert_eq!(ids(&listed(&t, "?q=92&label=vip&limit=100").await), vip);
    assert!(listed(&t, "?q=zz&label=vip").await.is_empty());

    // The counters agree with the model.
    let counts = t.get_ok("/api/inbox/conversations/counts").await;
    for s in ["open", "pending", "resolved", "snoozed"] {
        let of = |f: &dyn Fn(&Conv) -> bool| model.iter().filter(|c| c.status == s && f(c)).count();
        assert_eq!(counts[s]["all"], of(&|_| true), "{s}");
        assert_eq!(
            counts[s]["unassigned"],
            of(&|c| c.assignee.is_none()),
            "{s}"
        );
        assert_eq!(counts[s]["mine"], 0, "an API key is nobody");
    }

    // Pages follow each other without repeats.
    let all = t
        .all_pages("/api/inbox/conversations?limit=5", "conversations")
        .await;
    assert_eq!(
        ids(&all),
        model.iter().map(|c| c.id.clone()).collect::<Vec<_>>()
    );

    // A filter value nothing could match is a mistake, not an empty page.
    for (query, error) in [
        (
            "?assignee=bob",
            "\"assignee\" must be me, unassigned, all or a member's id",
        ),
        (
            "?status=closed",
            "\"status\" must be open, pending, resolved, snoozed or all",
        ),
    ] {
        t.get(&format!("/api/inbox/conversations{query}"))
            .await
            .expect_error(StatusCode::BAD_REQUEST, error);
    }
}

#[tokio::test]
async fn agents_see_and_change_only_their_own_conversations() {
    let (app, t) = TestApp::with_roomy_tenant("pro").await;
    let (a1, a1_id) = t.member_as(&app, "a1", "agent").await;
    let (a2, _) = t.member_as(&app, "a2", "agent").await;
    let device = uuid::Uuid::now_v7().to_string();
    let now = chrono::Utc::now();
    let mut convs = Vec::new();
    for peer in ["923001110001", "923001110002"] {
        app.record_customer_message(&t.id, &device, peer, &new_wamid(), "hi", now, now)
            .await;
        convs.push(app.conversation(&t.id, &device, peer).await.id);
    }
    t.post(
        &format!("/api/inbox/conversations/{}/assign", convs[0]),
        json!({"userId": a1_id}),
    )
    .await
    .ok();
    // Whatever an agent asks for, the list is theirs.
    for query in ["", "?assignee=all", "?assignee=unassigned", "?status=open"] {
        assert_eq!(
            ids(&listed(&a1, query).await),
            vec![convs[0].clone()],
            "{query}"
        );
        assert!(listed(&a2, query).await.is_empty(), "{query}");
    }
    let counts = a2.get_ok("/api/inbox/conversations/counts").await;
    assert_eq!(
        counts["open"],
        json!({"mine": 0, "unassigned": 0, "all": 0})
    );
    let counts = a1.get_ok("/api/inbox/conversations/counts").await;
    assert_eq!(
        counts["open"],
        json!({"mine": 1, "unassigned": 0, "all": 1})
    );
    let theirs = format!("/api/inbox/conversations/{}", convs[0]);
    for (path, body) in [
        (format!("{theirs}/status"), json!({"status": "resolved"})),
        (format!("{theirs}/read"), json!({})),
        (
            format!("{theirs}/messages"),
            json!({"text": "hi", "private": true}),
        ),
    ] {
        a2.post(&path, body)
            .await
            .expect_error(StatusCode::NOT_FOUND, "Conversation not found");
    }
    a2.get(&format!("{theirs}/messages"))
        .await
        .expect_error(StatusCode::NOT_FOUND, "Conversation not found");
    a1.post(&format!("{theirs}/status"), json!({"status": "pending"}))
        .await
        .ok();
    // Assignments at once: each wins or is told who has it; the last winner holds it.
    let (_, a3) = t.member_as(&app, "a3", "agent").await;
    let other = format!("/api/inbox/conversations/{}", convs[1]);
    let who = [a1_id.clone(), a3.clone(), a1_id.clone(), a3.clone()];
    let assign = format!("{other}/assign");
    let replies =
        futures::future::join_all(who.iter().map(|u| t.post(&assign, json!({ "userId": u }))))
            .await;
    let mut winners = Vec::new();
    for (r, u) in replies.into_iter().zip(&who) {
        match r.status {
            StatusCode::OK => winners.push(u.clone()),
            StatusCode::CONFLICT => assert!(
                r.body["error"].str().contains("was just assigned to"),
                "{}",
                r.body
            ),
            s => panic!("{s}: {}", r.body),
        }
    }
    assert!(!winners.is_empty());
    let now_with = t.get_ok(&other).await["conversation"]["assigned_to"].string();
    assert!(winners.contains(&now_with), "{now_with} {winners:?}");

    // Assigning to someone outside the team is refused.
    t.post(
        &format!("{theirs}/assign"),
        json!({"userId": uuid::Uuid::new_v4().to_string()}),
    )
    .await
    .expect(StatusCode::BAD_REQUEST);
    t.post(&format!("{theirs}/assign"), json!({}))
        .await
        .expect_error(
            StatusCode::BAD_REQUEST,
            "\"userId\" is required (null to unassign)",
        );
}

#[tokio::test]
async fn canned_responses_are_filled_and_snoozes_end_on_the_minute_job() {
    let e = env_with("pro", true, &[]).await;
    let (app, t, meta) = (&e.app, &e.tenant, &e.meta);
    t.cloud_device(meta, PHONE_ID, "EAAGcanned").await;
    let created = t
        .post(
            "/api/inbox/canned-responses",
            json!({"shortcut": "/thanks", "text": "Thanks {{name}}, we will call {{phone}}"}),
        )
        .await
        .expect(StatusCode::CREATED);
    let canned_id = created["canned_response"]["id"].string();
    assert_eq!(created["canned_response"]["shortcut"], "thanks");
    t.post(
        "/api/inbox/canned-responses",
        json!({"shortcut": "thanks", "text": "again"}),
    )
    .await
    .expect(StatusCode::CONFLICT);
    let agent = t.member(app, "agent").await;
    let list = agent.get_ok("/api/inbox/canned-responses").await;
    assert_eq!(list["cannedResponses"].as_array().map(Vec::len), Some(1));
    agent
        .post(
            "/api/inbox/canned-responses",
            json!({"shortcut": "x", "text": "y"}),
        )
        .await
        .expect(StatusCode::FORBIDDEN);

    app.from_meta(&t.id, &meta_text(PHONE_ID, &new_wamid(), "Hello", now_ts()))
        .await;
    let id = eventually("the conversation", Duration::from_secs(15), || async {
        listed(t, "").await.first().map(|c| c["id"].string())
    })
    .await;
    let path = format!("/api/inbox/conversations/{id}");
    let before = meta.requests().len();
    let canned = || {
        t.builder(Method::POST, &format!("{path}/messages"))
            .header("idempotency-key", "canned-1")
            .json(&json!({"cannedResponseId": canned_id}))
    };
    let first = t.send(canned()).await;
    let again = t.send(canned()).await;
    assert_eq!(again.header("idempotent-replayed"), "true");
    assert_eq!(first.ok()["id"], again.ok()["id"]);
    assert_eq!(meta.requests().len(), before + 1, "sent once");
    let sent = &meta.requests()[before];
    assert_eq!(
        sent.body["text"]["body"],
        format!("Thanks Ali Raza, we will call +{CUSTOMER}")
    );

    // Snoozed for a moment; the minute job opens it again.
    let until = chrono::Utc::now() + chrono::Duration::seconds(2);
    let snoozed = t
        .post(
            &format!("{path}/status"),
            json!({"status": "snoozed", "snoozedUntil": iso(until)}),
        )
        .await
        .ok();
    assert_eq!(snoozed["conversation"]["status"], "snoozed");
    assert_eq!(ids(&listed(t, "?status=snoozed").await), vec![id.clone()]);
    t.post(&format!("{path}/status"), json!({"status": "snoozed"}))
        .await
        .expect_error(
            StatusCode::BAD_REQUEST,
            "\"snoozedUntil\" is required to snooze",
        );
    app.scheduler("minute").await;
    assert_eq!(
        t.get_ok(&path).await["conversation"]["status"],
        "snoozed",
        "not yet"
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    app.scheduler("minute").await;
    let c = t.get_ok(&path).await;
    assert_eq!(c["conversation"]["status"], "open");
    assert_eq!(c["conversation"]["snoozed_until"], Value::Null);
    assert!(listed(t, "?status=snoozed").await.is_empty());
    assert_eq!(open_and_snoozed(t).await, (Some(1), Some(0)));
}

#[tokio::test]
async fn round_robin_gives_new_conversations_to_agents_under_their_limit() {
    let (app, t) = TestApp::with_roomy_tenant("pro").await;
    let (_, a1) = t.member_as(&app, "a1", "agent").await;
    let (_, a2) = t.member_as(&app, "a2", "agent").await;
    let mut agents = [a1, a2];
    agents.sort();
    let settings = t
        .put(
            "/api/inbox/settings",
            json!({"autoAssign": "round_robin", "maxOpenPerAgent": 1}),
        )
        .await
        .ok();
    assert_eq!(
        settings["settings"],
        json!({"autoAssign": "round_robin", "maxOpenPerAgent": 1})
    );
    t.put("/api/inbox/settings", json!({"autoAssign": "sometimes"}))
        .await
        .expect(StatusCode::BAD_REQUEST);
    let device = t.sandbox_device().await;
    let _workers = app.spawn_workers();
    let mut assigned = Vec::new();
    for (i, from) in ["923005550001", "923005550002", "923005550003"]
        .into_iter()
        .enumerate()
    {
        t.sandbox_says(&device, from, "hello").await;
        let c = eventually("the conversation", Duration::from_secs(15), || async {
            let list = listed(&t, "?limit=100").await;
            (list.len() == i + 1).then(|| list[0].clone())
        })
        .await;
        let id = c["id"].string();
        // Auto-assignment follows the message: wait for it (or for it not to come).
        tokio::time::sleep(Duration::from_millis(700)).await;
        let now = t.get_ok(&format!("/api/inbox/conversations/{id}")).await;
        assigned.push(now["conversation"]["assigned_to"].clone());
    }
    assert_eq!(
        assigned,
        vec![json!(agents[0]), json!(agents[1]), Value::Null],
        "in turn, and nobody over the limit"
    );
}

/// The customer (the Cloud API fake's) writes "Hello" at `ts` to a tenant without
/// conversations: the conversation, as listed.
async fn first_conversation(app: &TestApp, t: &Tenant, ts: i64) -> Value {
    app.from_meta(&t.id, &meta_text(PHONE_ID, &new_wamid(), "Hello", ts))
        .await;
    eventually("the conversation", Duration::from_secs(15), || async {
        listed(t, "").await.into_iter().next()
    })
    .await
}

/// A text send through `/send` from `device` to `to`, answered 200: its AWS calls, round
/// trips and consumed capacity.
async fn send_cost(t: &Tenant, device: &str, to: &str, text: &str) -> (u32, u32, f64) {
    let r = t
        .send_message(json!({"to": to, "message": text, "deviceId": device}))
        .await;
    let calls = (r.count("x-aws-calls"), r.count("x-aws-sequential"));
    let capacity: f64 = r.header("x-aws-consumed-capacity").parse().unwrap();
    assert_eq!(r.ok()["status"], "sent");
    (calls.0, calls.1, capacity)
}

#[tokio::test]
async fn every_message_either_way_moves_the_conversations_last_message() {
    let e = env_with("pro", true, &[]).await;
    let (app, t, meta) = (&e.app, &e.tenant, &e.meta);
    let device = t.cloud_device(meta, PHONE_ID, "EAAGlast").await;
    let conversation = |id: String| async move {
        t.get_ok(&format!("/api/inbox/conversations/{id}")).await["conversation"].clone()
    };

    // The first message fills the contact (created by that same message).
    let first = first_conversation(app, t, now_ts() - 5).await;
    let id = first["id"].string();
    assert_eq!(first["contact"]["name"], "Ali Raza", "{first}");
    let contact = t
        .get_ok(&format!("/api/contacts/{}", first["contact"]["id"].str()))
        .await;
    assert_eq!(contact["contact"]["phone"], CUSTOMER, "{contact}");

    // An API send: the conversation's last message, in the listing too.
    t.send_message(json!({"to": CUSTOMER, "message": "From the API"}))
        .await
        .ok();
    let c = conversation(id.clone()).await;
    assert_eq!(
        c["last_message"],
        json!({"text": "From the API", "direction": "out", "type": "text", "at": c["last_message_at"]})
    );
    assert!(c["last_message_at"].str() >= first["last_message_at"].str());
    assert_eq!(first["last_activity_at"], first["last_message_at"]);
    assert_eq!(
        c["last_activity_at"], first["last_activity_at"],
        "a send outside the inbox leaves the conversation's place in the listing"
    );
    assert_eq!(
        c["unread_count"], 1,
        "a send outside the inbox does not read it"
    );
    assert_eq!(
        listed(t, "").await[0]["last_message"]["text"],
        "From the API"
    );

    // A media send, and a template (no 24-hour window read: the send reads the
    // conversations itself).
    t.post(
        "/api/public/v1/send-media",
        json!({"to": CUSTOMER, "type": "image", "url": "https://example.com/a.png", "caption": "A picture"}),
    )
    .await;
    e.meta.set_templates(
        "102290129340398",
        "EAAGlast",
        vec![
            json!({"name": "order_update", "language": "en_US", "status": "APPROVED",
                    "category": "UTILITY", "id": "id_order_update",
                    "components": [{"type": "BODY", "text": "Your order shipped"}]}),
        ],
    );
    t.post("/api/templates/sync", json!({"deviceId": device}))
        .await
        .ok();
    t.send_message(
        json!({"to": CUSTOMER, "template": {"name": "order_update", "language": "en_US"}}),
    )
    .await
    .ok();
    let c = conversation(id.clone()).await;
    assert_eq!(c["last_message"]["type"], "template", "{c}");
    assert_eq!(c["last_message"]["direction"], "out");

    // An automatic reply (a keyword rule) moves it too, after the customer's message.
    t.create_rule(
        json!({"keyword": "price", "match_type": "contains", "response": "Prices are on our site"}),
    )
    .await;
    app.from_meta(
        &t.id,
        &meta_text(PHONE_ID, &new_wamid(), "price?", now_ts()),
    )
    .await;
    let c = eventually("the automatic reply", Duration::from_secs(20), || async {
        let c = conversation(id.clone()).await;
        (c["last_message"]["text"] == "Prices are on our site").then_some(c)
    })
    .await;
    assert_eq!(c["last_message"]["direction"], "out");
    assert_eq!(c["unread_count"], 2);

    // What it costs: one more write, in the completion's round, for a customer with a
    // conversation on the device; nothing for one without.
    let sandbox = t.sandbox_device().await;
    let with = "923007770001";
    let now = chrono::Utc::now();
    app.record_customer_message(&t.id, &sandbox, with, &new_wamid(), "hi", now, now)
        .await;
    let mut costs = Vec::new();
    for to in ["923007770002", with, "923007770003", with] {
        costs.push(send_cost(t, &sandbox, to, "cost").await);
    }
    // A send's authentication may take a second call when its rate-limit minute rolls over.
    let calls = |i: usize| costs[i].0.min(costs[i + 2].0);
    let (without, with_conversation) = (calls(0), calls(1));
    assert_eq!(with_conversation, without + 1, "{costs:?}");
    assert_eq!(
        costs[1].1.min(costs[3].1),
        costs[0].1.min(costs[2].1),
        "no round trip added: {costs:?}"
    );
    let capacity = |i: usize| costs[i].2.min(costs[i + 2].2);
    let touch = capacity(1) - capacity(0);
    assert!(
        (0.9..=2.0).contains(&touch),
        "the conversation's one write: {costs:?}"
    );
    let sandboxed = app.conversation(&t.id, &sandbox, with).await;
    assert_eq!(
        sandboxed.last_message.and_then(|m| m.text).as_deref(),
        Some("cost")
    );
    println!("send costs (calls, round trips, capacity) without, with a conversation: {costs:?}");
}

#[tokio::test]
async fn ten_labels_fit_every_change_and_an_eleventh_is_refused() {
    let e = env_with("pro", true, &[]).await;
    let (app, t, meta) = (&e.app, &e.tenant, &e.meta);
    let device = t.cloud_device(meta, PHONE_ID, "EAAGlabels").await;
    let (_, agent) = t.member_as(app, "agent", "agent").await;
    let c = first_conversation(app, t, now_ts() - 10).await;
    let (id, contact_id) = (c["id"].string(), c["contact"]["id"].string());
    let path = format!("/api/inbox/conversations/{id}");
    t.post(&format!("{path}/assign"), json!({"userId": agent}))
        .await
        .ok();
    let eleven: Vec<String> = (0..11).map(|i| format!("l{i:02}")).collect();
    t.put(&format!("{path}/labels"), json!({"labels": eleven}))
        .await
        .expect_error(
            StatusCode::BAD_REQUEST,
            "A conversation has at most 10 labels",
        );
    let mut ten: Vec<String> = (0..9).map(|i| format!("l{i:02}")).collect();
    ten.push("VIP".into());
    let labelled = t
        .put(&format!("{path}/labels"), json!({"labels": ten}))
        .await
        .ok();
    let labels: Vec<String> = labelled["conversation"]["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.string())
        .collect();
    assert_eq!(labels.len(), 10);
    assert!(labels.contains(&"vip".to_string()));
    let until = chrono::Utc::now() + chrono::Duration::hours(1);
    t.post(
        &format!("{path}/status"),
        json!({"status": "snoozed", "snoozedUntil": iso(until)}),
    )
    .await
    .ok();
    assert_eq!(
        ids(&listed(t, "?status=snoozed&label=l05&q=%2B92").await),
        vec![id.clone()]
    );

    // The largest change: a message that reopens a snoozed conversation with ten labels
    // moves every entry, and the business renamed the contact meanwhile: one change.
    t.patch(
        &format!("/api/contacts/{contact_id}"),
        json!({"name": "Zara Khan"}),
    )
    .await
    .ok();
    app.from_meta(
        &t.id,
        &meta_text(PHONE_ID, &new_wamid(), "Any news?", now_ts()),
    )
    .await;
    let c = eventually("reopened and renamed", Duration::from_secs(20), || async {
        let c = t.get_ok(&path).await["conversation"].clone();
        (c["status"] == "open" && c["contact"]["name"] == "Zara Khan").then_some(c)
    })
    .await;
    assert_eq!(c["unread_count"], 2);
    assert_eq!(c["snoozed_until"], Value::Null);
    for label in &labels {
        let query = format!("?status=open&assignee={agent}&deviceId={device}&label={label}");
        lists_eventually(t, &query, std::slice::from_ref(&id)).await;
        let named = format!("?q=zara&status=open&label={label}");
        lists_eventually(t, &named, std::slice::from_ref(&id)).await;
    }
    assert!(listed(t, "?status=snoozed").await.is_empty());
    assert!(listed(t, "?status=snoozed&label=vip&q=%2B92")
        .await
        .is_empty());
    let found = format!("?q=zara&deviceId={device}&status=open");
    lists_eventually(t, &found, std::slice::from_ref(&id)).await;
    assert!(listed(t, "?q=ali").await.is_empty(), "the old name is gone");
    assert!(listed(t, "?q=ali&label=vip").await.is_empty());
    assert_eq!(open_and_snoozed(t).await, (Some(1), Some(0)));
}

/// Conversations whose search entries an older version wrote (per status × assignee, no
/// device) are found by `q` again after `wati-admin inbox reindex`, which removes the
/// older entries and writes listing entries that are missing; running it again changes
/// nothing.
#[tokio::test]
async fn the_reindex_brings_older_conversations_back_to_q_and_lost_entries_back() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let (app, t) = TestApp::with_tenant("pro").await;
    let device = t.sandbox_device().await;
    let _workers = app.spawn_workers();
    for from in ["923005550001", "923005550002"] {
        t.sandbox_says(&device, from, "hello").await;
    }
    eventually("both conversations", Duration::from_secs(15), || async {
        (listed(&t, "?limit=100").await.len() == 2).then_some(())
    })
    .await;
    let search = |partition: &str| format!("TENANT#{}#INBOXQ#{partition}", t.id);
    let mut older = Vec::new();
    for s in ["open", "*"] {
        for a in ["-", "*"] {
            older.push(search(&format!("{s}#{a}")));
            for d in [device.as_str(), "*"] {
                let pk = search(&format!("{s}#{a}#{d}"));
                for mut item in app.partition(&pk).await {
                    item.insert("PK".into(), AttributeValue::S(search(&format!("{s}#{a}"))));
                    app.put_raw(item).await;
                }
                app.delete_partition(&pk).await;
            }
        }
    }
    assert!(listed(&t, "?q=%2B923005550001").await.is_empty());
    assert_eq!(app.count_partition(&older[0]).await, 2, "the older form");
    // A listing partition whose entries a failed writer never wrote.
    let unassigned_here = format!("?status=open&assignee=unassigned&deviceId={device}");
    let listing = format!("TENANT#{}#INBOX#open#-#{device}#*", t.id);
    assert_eq!(app.count_partition(&listing).await, 2);
    app.delete_partition(&listing).await;
    assert!(listed(&t, &unassigned_here).await.is_empty());

    // `reindex-search` is the command's earlier name.
    for command in ["reindex", "reindex-search"] {
        let out = app
            .cli(&["inbox", command, "--tenant", &t.id])
            .await
            .unwrap();
        let out: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        assert_eq!(out["report"]["conversations"], 2, "{out}");
        assert_eq!(out["report"]["written"], 2, "{out}");
        let found = listed(&t, "?q=%2B923005550001").await;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["peer"], "923005550001");
        let open_here = format!("?q=92300555&status=open&deviceId={device}");
        assert_eq!(listed(&t, &open_here).await.len(), 2);
        for pk in &older {
            assert_eq!(app.count_partition(pk).await, 0, "{pk}");
        }
        assert_eq!(listed(&t, &unassigned_here).await.len(), 2);
    }
    let unknown = app
        .cli(&["inbox", "reindex-search", "--tenant", "no-such-tenant"])
        .await;
    assert!(unknown.is_err_and(|e| e.contains("no tenant")));
}

#[tokio::test]
async fn an_inbox_reply_is_held_to_the_window_and_the_daily_cap_and_a_refused_one_moves_nothing() {
    let e = env_with("pro", true, &[]).await;
    let (app, t, meta) = (&e.app, &e.tenant, &e.meta);
    t.cloud_device(meta, PHONE_ID, "EAAGheld").await;
    // The customer last wrote 25 hours ago: the conversation is there, its window closed.
    let first = first_conversation(app, t, now_ts() - 25 * 3600).await;
    let path = format!("/api/inbox/conversations/{}", first["id"].str());
    let refused = t
        .post(&format!("{path}/messages"), json!({"text": "Still there?"}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    let error = refused["error"].str();
    assert!(
        error.contains("more than 24 hours ago") && error.contains("template"),
        "{error}"
    );
    assert!(meta.requests().is_empty(), "nothing reached Meta");
    let c = t.get_ok(&path).await["conversation"].clone();
    assert_eq!(c["unread_count"], 1, "{c}");
    assert_eq!(c["last_message"], first["last_message"], "{c}");
    assert_eq!(c["first_response_seconds"], Value::Null, "{c}");
    assert_eq!(
        t.usage().await["messagesPerDay"]["used"],
        0,
        "no unit taken"
    );

    // A template is what reopens the talk; it counts as the first response.
    let sent = t
        .post(
            &format!("{path}/messages"),
            json!({"template": {"name": "order_update", "language": "en_US"}}),
        )
        .await
        .ok();
    assert_eq!(sent["status"], "sent", "{sent}");
    assert_eq!(meta.requests().len(), 1);
    assert_eq!(meta.requests()[0].body["type"], "template");
    let c = t.get_ok(&path).await["conversation"].clone();
    assert_eq!(c["unread_count"], 0, "{c}");
    assert_eq!(c["last_message"]["type"], "template", "{c}");
    assert!(c["first_response_seconds"].is_i64(), "{c}");
    assert!(
        c["last_activity_at"].str() > first["last_activity_at"].str(),
        "an inbox reply moves the conversation up the listing: {c}"
    );

    // At the daily cap: 409 naming the cap, nothing sent, the conversation as it was.
    app.set_limits(&t.id, json!({"messagesPerDay": 1})).await;
    let capped = t
        .post(
            &format!("{path}/messages"),
            json!({"template": {"name": "order_update", "language": "en_US"}}),
        )
        .await
        .expect(StatusCode::CONFLICT);
    assert!(
        capped["error"]
            .str()
            .starts_with("Daily outbound message limit reached"),
        "{capped}"
    );
    assert_eq!(meta.requests().len(), 1, "nothing more reached Meta");
    assert_eq!(t.get_ok(&path).await["conversation"], c);
}
