//! The dev server's SQS side behaves like Lambda's event source mapping: batches in,
//! partial batch failures left on the queue, redrive to the DLQ after maxReceiveCount.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures::FutureExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wati_tests::shared::{poll_once, SqsHandler};
use wati_tests::*;

/// A worker that records what it saw and fails every message whose body is "poison".
fn echo_worker(seen: Arc<Mutex<Vec<String>>>) -> SqsHandler {
    Arc::new(move |event: SqsEvent| {
        let seen = seen.clone();
        async move {
            let mut response = SqsBatchResponse::default();
            for record in event.records {
                let body = record.body.unwrap_or_default();
                if let Ok(mut s) = seen.lock() {
                    s.push(body.clone());
                }
                if body == "poison" {
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = record.message_id.unwrap_or_default();
                    response.batch_item_failures.push(failure);
                }
            }
            response
        }
        .boxed()
    })
}

#[tokio::test]
async fn partial_failures_are_redelivered_then_dead_lettered() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let handler = echo_worker(seen.clone());
    let registered = handler.clone();
    let app = TestApp::start_with(TestOptions {
        template: workspace_root().join("tests/fixtures/worker-template.yaml"),
        visibility_timeout: Some(1),
        extra_functions: Some(Box::new(move |_, f| {
            f.sqs.insert("tests/echo-worker".into(), registered);
        })),
        ..Default::default()
    })
    .await;
    let queue = app
        .server
        .stack
        .queues
        .get("EchoQueue")
        .cloned()
        .expect("no queue");
    let dlq = app
        .server
        .stack
        .queues
        .get("EchoDeadLetterQueue")
        .cloned()
        .expect("no DLQ");
    // The template's environment reaches the functions with local names.
    let env = app.server.template_env();
    assert_eq!(env.get("ECHO_QUEUE_URL"), Some(&queue.url));
    assert_eq!(
        env.get("TABLE_NAME").map(String::as_str),
        Some(app.state.config.table_name.as_str())
    );

    let sqs = &app.state.aws.sqs;
    for body in ["first", "poison", "second"] {
        sqs.send_message()
            .queue_url(&queue.url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    // Poll like the dev server does until the queue is drained (poison: twice, then DLQ).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let n = poll_once(sqs, &queue.url, &queue.arn, 10, true, &handler)
            .await
            .unwrap();
        let poisoned = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|b| *b == "poison")
            .count();
        if n == 0 && poisoned >= 2 {
            // One more look after the visibility timeout: it must not come back a third time.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            poll_once(sqs, &queue.url, &queue.arn, 10, true, &handler)
                .await
                .unwrap();
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "queue never drained: {:?}",
            seen.lock().map(|s| s.clone())
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.iter().filter(|b| *b == "first").count(),
        1,
        "successes are deleted: {seen:?}"
    );
    assert_eq!(
        seen.iter().filter(|b| *b == "second").count(),
        1,
        "{seen:?}"
    );
    assert_eq!(
        seen.iter().filter(|b| *b == "poison").count(),
        2,
        "maxReceiveCount 2: {seen:?}"
    );
    let dead = sqs
        .receive_message()
        .queue_url(&dlq.url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let bodies: Vec<String> = dead
        .messages
        .expect("the dead-letter queue has messages")
        .into_iter()
        .filter_map(|m| m.body)
        .collect();
    assert_eq!(bodies, vec!["poison".to_string()]);
}

#[tokio::test]
async fn an_sqs_event_fixture_is_read_as_lambda_delivers_it() {
    let event = sqs_fixture("sqs-batch.json", &[]);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let response = echo_worker(seen.clone())(event).await;
    assert_eq!(
        failed_ids(&response),
        ["22222222-2222-4222-8222-222222222222"]
    );
    let json = serde_json::to_value(SqsBatchResponse::default()).expect("JSON");
    assert_eq!(
        json,
        json!({"batchItemFailures": []}),
        "Lambda's partial-batch response shape"
    );
}
