//! The Team Inbox's listing and search entries, written after the conversation's
//! transaction with single writes that carry the conversation's version: two writers
//! interleaved leave the newest state's entries; the leftovers of older states are skipped
//! and removed by the page that reads them; what a customer message writes.

use crate::inbound::{env_with, new_wamid, CUSTOMER};
use std::collections::BTreeMap;
use wati_tests::shared::services::record_aws_calls;
use wati_tests::shared::store::keys::{inbox_name_sk, inbox_phone_sk, inbox_pk, inbox_search_pk};
use wati_tests::shared::store::{inbox_rules as rules, Conversation, ConversationStatus};
use wati_tests::*;

type Entries = BTreeMap<(String, String), Option<u64>>;

/// The conversation's entries as its state says they are: (PK, SK) of every listing and
/// search entry.
fn expected_keys(c: &Conversation) -> Vec<(String, String)> {
    let (status, assignee) = (c.status.as_str(), c.assigned_to.as_deref());
    let mut out: Vec<(String, String)> =
        rules::partitions_of(status, assignee, &c.device_id, &c.labels)
            .into_iter()
            .map(|p| {
                (
                    inbox_pk(&c.tenant_id, &p),
                    rules::activity_sk(c.listed(), &c.id),
                )
            })
            .collect();
    for p in rules::search_partitions_of(status, assignee, &c.device_id, &c.labels) {
        let pk = inbox_search_pk(&c.tenant_id, &p);
        out.push((pk.clone(), inbox_phone_sk(&c.peer, &c.id)));
        if let Some(name) = c.search_name() {
            out.push((pk, inbox_name_sk(&name, &c.id)));
        }
    }
    out
}

/// Every entry (and the version that wrote it) in the partitions any of `states` has.
async fn entries_of(app: &TestApp, states: &[&Conversation]) -> Entries {
    let mut pks: Vec<String> = states
        .iter()
        .flat_map(|c| expected_keys(c))
        .map(|(pk, _)| pk)
        .collect();
    pks.sort();
    pks.dedup();
    let mut out = Entries::new();
    for pk in pks {
        for item in app.partition(&pk).await {
            let text = |a: &str| item[a].as_s().unwrap().clone();
            let version = item
                .get("version")
                .map(|v| v.as_n().unwrap().parse::<u64>().unwrap());
            out.insert((text("PK"), text("SK")), version);
        }
    }
    out
}

fn ids(v: &Value) -> Vec<String> {
    v["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].string())
        .collect()
}

/// `c` changed to `status`, one version on.
fn with_status(c: &Conversation, status: ConversationStatus) -> Conversation {
    let mut next = c.clone();
    next.status = status;
    next.version = c.version + 1;
    next
}

/// Open (v1) → pending (writer 1) → open (writer 2), where writer 1 stores its state first
/// but writes its entries last, after writer 2 has written all of its own: writer 2's
/// entries all stay (writer 1's deletes yield to their newer version), writer 1's pending
/// entries are left over, and a page that reads one skips it and removes it.
#[tokio::test]
async fn interleaved_writers_leave_the_newest_states_entries_and_reads_remove_the_rest() {
    let (app, t) = TestApp::with_tenant("pro").await;
    let device = uuid::Uuid::now_v7().to_string();
    let peer = "923007770001";
    let at = chrono::Utc::now() - chrono::Duration::minutes(5);
    app.record_customer_message(&t.id, &device, peer, &new_wamid(), "hi", at, at)
        .await;
    let store = &app.state.store;
    let v1 = app.conversation(&t.id, &device, peer).await;
    assert_eq!(
        entries_of(&app, &[&v1]).await.len(),
        16,
        "8 listing, 8 search"
    );

    // Writer 1: its transaction only, for now.
    let v2 = with_status(&v1, ConversationStatus::Pending);
    assert!(store.commit_conversation(&v1, &v2).await.unwrap());
    // Writer 2 reads writer 1's state and does everything.
    let read = app.conversation(&t.id, &device, peer).await;
    assert_eq!(read.version, v2.version);
    let v3 = with_status(&read, ConversationStatus::Open);
    assert!(store.save_conversation(&read, &v3).await.unwrap());
    // Writer 1, late: its entries.
    store.write_entries(Some(&v1), &v2).await.unwrap();

    let found = entries_of(&app, &[&v1, &v2, &v3]).await;
    let newest = expected_keys(&v3);
    for key in &newest {
        let version = found.get(key).unwrap_or_else(|| panic!("{key:?} is gone"));
        assert!(
            version.is_some_and(|v| v <= v3.version),
            "{key:?}: {version:?}"
        );
    }
    // The open-only entries are writer 2's (writer 1's deletes yielded to them).
    let open_only = (
        inbox_pk(
            &t.id,
            &rules::partition("open", "-", rules::ANY, rules::ANY),
        ),
        rules::activity_sk(v3.listed(), &v3.id),
    );
    assert_eq!(found[&open_only], Some(v3.version));
    let leftovers: Vec<_> = found
        .keys()
        .filter(|k| !newest.contains(k))
        .cloned()
        .collect();
    let pending_only: Vec<_> = expected_keys(&v2)
        .into_iter()
        .filter(|k| !newest.contains(k))
        .collect();
    assert_eq!(
        leftovers.len(),
        8,
        "writer 1's pending entries, listing and search"
    );
    assert_eq!(
        leftovers.iter().collect::<std::collections::BTreeSet<_>>(),
        pending_only.iter().collect()
    );
    assert!(leftovers.iter().all(|k| found[k] == Some(v2.version)));

    // Reading: the leftover is skipped (a short page) and removed, once.
    let pending_pk = inbox_pk(
        &t.id,
        &rules::partition("pending", rules::ANY, rules::ANY, rules::ANY),
    );
    assert_eq!(app.count_partition(&pending_pk).await, 1);
    let page = t.get_ok("/api/inbox/conversations?status=pending").await;
    assert!(ids(&page).is_empty(), "{page}");
    assert_eq!(app.count_partition(&pending_pk).await, 0);
    let search = t
        .get_ok("/api/inbox/conversations?status=pending&q=92300777")
        .await;
    assert!(ids(&search).is_empty(), "{search}");
    let search_pk = inbox_search_pk(
        &t.id,
        &rules::search_partition("pending", rules::ANY, rules::ANY, rules::ANY),
    );
    assert_eq!(app.count_partition(&search_pk).await, 0);
    // The newest state lists as it should.
    let open = t.get_ok("/api/inbox/conversations?status=open").await;
    assert_eq!(ids(&open), vec![v3.id.clone()]);
    let searched = t
        .get_ok("/api/inbox/conversations?status=open&q=92300777")
        .await;
    assert_eq!(ids(&searched), vec![v3.id.clone()]);

    // Every other page that reads a leftover removes it: then exactly the newest state's
    // entries are there.
    for a in ["unassigned", "all"] {
        for d in [None, Some(device.as_str())] {
            let dq = d.map(|d| format!("&deviceId={d}")).unwrap_or_default();
            let listing = t
                .get_ok(&format!(
                    "/api/inbox/conversations?status=pending&assignee={a}{dq}"
                ))
                .await;
            assert!(ids(&listing).is_empty());
            let q = t
                .get_ok(&format!(
                    "/api/inbox/conversations?status=pending&assignee={a}{dq}&q=923"
                ))
                .await;
            assert!(ids(&q).is_empty());
        }
    }
    let left = entries_of(&app, &[&v1, &v2, &v3]).await;
    assert_eq!(
        left.keys().cloned().collect::<Vec<_>>(),
        {
            let mut n = newest.clone();
            n.sort();
            n
        },
        "exactly the newest state's entries"
    );
}

/// Changes to one conversation sent at once through HTTP (status, labels, assignment):
/// once the pages that read them have run, exactly the final state's entries are there.
#[tokio::test]
async fn concurrent_changes_leave_exactly_the_final_states_entries() {
    let (app, t) = TestApp::with_roomy_tenant("pro").await;
    let (_, agent) = t.member_as(&app, "a1", "agent").await;
    let device = uuid::Uuid::now_v7().to_string();
    let peer = "923007770002";
    let at = chrono::Utc::now() - chrono::Duration::minutes(5);
    app.record_customer_message(&t.id, &device, peer, &new_wamid(), "hi", at, at)
        .await;
    let v1 = app.conversation(&t.id, &device, peer).await;
    let path = format!("/api/inbox/conversations/{}", v1.id);
    let mut states = vec![v1.clone()];
    for round in 0..3 {
        let status = ["pending", "resolved", "open"][round];
        let labels = [vec!["vip"], vec!["billing", "vip"], vec![]][round].clone();
        let (status_path, labels_path, assign_path) = (
            format!("{path}/status"),
            format!("{path}/labels"),
            format!("{path}/assign"),
        );
        let assignee = if round == 1 {
            Value::Null
        } else {
            json!(agent)
        };
        let (s, l, a) = tokio::join!(
            t.post(&status_path, json!({ "status": status })),
            t.put(&labels_path, json!({ "labels": labels })),
            t.post(&assign_path, json!({ "userId": assignee })),
        );
        s.ok();
        l.ok();
        // Two assignments never race here: only a 409 from a lost race would be wrong.
        a.ok();
        let c = app.conversation(&t.id, &device, peer).await;
        assert_eq!(c.status.as_str(), status);
        assert_eq!(
            c.labels,
            labels.iter().map(|l| l.to_string()).collect::<Vec<_>>()
        );
        states.push(c);
    }
    let last = states.last().unwrap().clone();
    let refs: Vec<&Conversation> = states.iter().collect();
    let found = entries_of(&app, &refs).await;
    let newest = expected_keys(&last);
    for key in &newest {
        assert!(found.contains_key(key), "{key:?} is missing");
    }
    // Whatever else is there is an older state's: every page of the earlier states'
    // filters shows nothing of it and removes it.
    for c in &states[..states.len() - 1] {
        for s in [c.status.as_str(), "all"] {
            for l in c.labels.iter().map(String::as_str).chain([""]) {
                let label = if l.is_empty() {
                    String::new()
                } else {
                    format!("&label={l}")
                };
                for a in ["all", "unassigned", agent.as_str()] {
                    for q in ["", "&q=923"] {
                        let query = format!("?status={s}&assignee={a}{label}{q}&limit=100");
                        let page = t.get_ok(&format!("/api/inbox/conversations{query}")).await;
                        let expected = if (s == "all" || s == last.status.as_str())
                            && (l.is_empty() || last.labels.iter().any(|x| x == l))
                            && (a == "all"
                                || Some(a) == last.assigned_to.as_deref()
                                || (a == "unassigned" && last.assigned_to.is_none()))
                        {
                            vec![last.id.clone()]
                        } else {
                            vec![]
                        };
                        assert_eq!(ids(&page), expected, "{query}");
                    }
                }
            }
        }
    }
    let found = entries_of(&app, &refs).await;
    let extra: Vec<_> = found.keys().filter(|k| !newest.contains(k)).collect();
    // Device partitions are only read with a device: the reads above did not reach them.
    assert!(
        extra.iter().all(|k| k.0.contains(&device)),
        "left over outside device partitions: {extra:?}"
    );
}

/// What a customer message writes: its transaction holds the message and the
/// conversation (2 WCU each); the 8 listing entries per label set move with single writes
/// (8 puts and 8 deletes, 1 WCU each); the search entries do not move.
#[tokio::test]
async fn a_customer_message_moves_its_entries_with_single_writes() {
    let (app, t) = TestApp::with_tenant("pro").await;
    let device = uuid::Uuid::now_v7().to_string();
    let mut costs = Vec::new();
    for (i, labels) in [vec![], vec!["vip"], vec!["vip", "billing"]]
        .into_iter()
        .enumerate()
    {
        let peer = format!("92300888000{i}");
        let at = chrono::Utc::now() - chrono::Duration::minutes(5);
        app.record_customer_message(&t.id, &device, &peer, &new_wamid(), "hi", at, at)
            .await;
        let c = app.conversation(&t.id, &device, &peer).await;
        if !labels.is_empty() {
            t.put(
                &format!("/api/inbox/conversations/{}/labels", c.id),
                json!({ "labels": labels }),
            )
            .await
            .ok();
        }
        let later = at + chrono::Duration::minutes(1);
        let (_, log) = record_aws_calls(
            "inbound",
            app.record_customer_message(&t.id, &device, &peer, &new_wamid(), "more", later, later),
        )
        .await;
        let calls = log.calls();
        let of = |op: &str| calls.iter().filter(|c| c.operation == op).count();
        let items: usize = calls
            .iter()
            .filter(|c| c.operation == "TransactWriteItems")
            .filter_map(|c| c.items)
            .sum();
        assert_eq!(items, 2, "the message and the conversation");
        let moved = 8 * (1 + labels.len());
        assert_eq!(of("PutItem"), moved, "{labels:?}");
        assert_eq!(of("DeleteItem"), moved, "{labels:?}");
        let wcu = 2 * items + of("PutItem") + of("DeleteItem");
        costs.push(wcu);
        let c = app.conversation(&t.id, &device, &peer).await;
        let found = entries_of(&app, &[&c]).await;
        let mine: Vec<_> = found.keys().filter(|k| k.1.contains(&c.id)).collect();
        let mut expected = expected_keys(&c);
        expected.sort();
        assert_eq!(mine, expected.iter().collect::<Vec<_>>());
    }
    assert_eq!(costs, vec![20, 36, 52]);
    println!("WCU of a customer message with 0, 1, 2 labels: {costs:?}");
}

/// An attempt stored a customer's first message and died before writing the conversation's
/// entries: nothing lists it, until the job's redelivery takes the message over and
/// writes them.
#[tokio::test]
async fn a_redelivery_writes_the_entries_a_dead_attempt_left_unwritten() {
    let e = env_with("pro", false, &[]).await;
    let (app, t) = (&e.app, &e.tenant);
    let device = t.sandbox_device().await;
    let worker = fn_inbound_worker::Worker::new(app.state.clone());
    let (wamid, ts) = (new_wamid(), now_ts());
    let at = chrono::DateTime::from_timestamp(ts, 0).unwrap();
    app.record_customer_message(
        &t.id,
        &device,
        CUSTOMER,
        &wamid,
        "hello there",
        at,
        chrono::Utc::now() - chrono::Duration::minutes(5),
    )
    .await;
    let c = app.conversation(&t.id, &device, CUSTOMER).await;
    for (pk, _) in expected_keys(&c) {
        app.delete_partition(&pk).await;
    }
    assert!(ids(&t.get_ok("/api/inbox/conversations").await).is_empty());

    let job = json!({"job": "message", "tenantId": t.id, "deviceId": device, "provider": "sandbox",
        "message": {"from": CUSTOMER, "id": wamid, "timestamp": ts.to_string(), "type": "text",
                    "text": {"body": "hello there"}},
        "receivedAt": ts});
    let res = worker.handle(sqs_json_event(&[job])).await;
    assert!(res.batch_item_failures.is_empty());
    let found = entries_of(app, &[&c]).await;
    let mut expected = expected_keys(&c);
    expected.sort();
    assert_eq!(found.keys().cloned().collect::<Vec<_>>(), expected);
    for query in ["", "?status=open&assignee=unassigned", "?q=92300"] {
        let page = t.get_ok(&format!("/api/inbox/conversations{query}")).await;
        assert_eq!(ids(&page), vec![c.id.clone()], "{query}");
    }
}
