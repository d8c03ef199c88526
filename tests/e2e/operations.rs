//! The template's operations: every function logs to a group with a retention and has its
//! alarms, every dead-letter queue alarms, and the table outlives the stack.

use serde_yaml::Value;
use wati_tests::*;

fn template() -> Value {
    let text = std::fs::read_to_string(template_path()).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

fn resources() -> serde_yaml::Mapping {
    template()["Resources"].as_mapping().unwrap().clone()
}

fn of_type<'a>(
    resources: &'a serde_yaml::Mapping,
    kind: &'a str,
) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
    resources
        .iter()
        .filter(move |(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(id, r)| (id.as_str().unwrap(), r))
}

/// The logical id an intrinsic (`!Ref X`, `!GetAtt X.Attr`) names.
fn target(v: &Value) -> String {
    match v {
        Value::Tagged(t) => t
            .value
            .as_str()
            .unwrap()
            .split('.')
            .next()
            .unwrap()
            .to_string(),
        other => panic!("not a Ref or GetAtt: {other:?}"),
    }
}

fn alarms_on(resources: &serde_yaml::Mapping, dimension: &str, id: &str) -> Vec<String> {
    of_type(resources, "AWS::CloudWatch::Alarm")
        .filter(|(_, a)| {
            a["Properties"]["Dimensions"]
                .as_sequence()
                .into_iter()
                .flatten()
                .any(|d| d["Name"].as_str() == Some(dimension) && target(&d["Value"]) == id)
        })
        .map(|(_, a)| {
            assert_eq!(
                target(&a["Properties"]["AlarmActions"][0]),
                "AlarmTopic",
                "{id}: alarms go to the topic"
            );
            a["Properties"]["MetricName"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn every_function_has_a_log_group_with_retention_and_alarms() {
    let resources = resources();
    let functions: Vec<(&str, &Value)> = of_type(&resources, "AWS::Serverless::Function").collect();
    assert!(functions.len() >= 14);
    for (id, f) in functions {
        let group = target(&f["Properties"]["LoggingConfig"]["LogGroup"]);
        let g = &resources[group.as_str()];
        assert_eq!(g["Type"].as_str(), Some("AWS::Logs::LogGroup"), "{id}");
        assert_eq!(
            target(&g["Properties"]["RetentionInDays"]),
            "LogRetentionDays",
            "{id}"
        );
        let mut metrics = alarms_on(&resources, "FunctionName", id);
        metrics.sort();
        assert_eq!(metrics, ["Errors", "Throttles"], "{id}");
    }
}

#[test]
fn every_dead_letter_queue_alarms() {
    let resources = resources();
    let dead_letter_queues: Vec<String> = of_type(&resources, "AWS::SQS::Queue")
        .filter_map(|(_, q)| {
            let policy = &q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"];
            (!policy.is_null()).then(|| target(policy))
        })
        .collect();
    assert!(dead_letter_queues.len() >= 4);
    for dlq in dead_letter_queues {
        assert_eq!(
            alarms_on(&resources, "QueueName", &dlq),
            ["ApproximateNumberOfMessagesVisible"],
            "{dlq}"
        );
    }
}

#[test]
fn the_table_outlives_the_stack() {
    let resources = resources();
    for (id, table) in of_type(&resources, "AWS::DynamoDB::Table") {
        assert_eq!(table["DeletionPolicy"].as_str(), Some("Retain"), "{id}");
        assert_eq!(
            table["UpdateReplacePolicy"].as_str(),
            Some("Retain"),
            "{id}"
        );
    }
}

/// Meta and WAHA call the webhook functions' own URLs (no API Gateway request per callback):
/// public (their bodies are signed), handed to devices through the settings function's
/// environment, and the API routes kept for devices configured before.
#[test]
fn providers_call_the_webhook_functions_urls() {
    let resources = resources();
    let env = &resources["SettingsFunction"]["Properties"]["Environment"]["Variables"];
    let routes = wati_tests::shared::Template::load(&template_path())
        .unwrap()
        .routes();
    for (function, var, route) in [
        (
            "CloudApiWebhookFunction",
            "CLOUD_API_WEBHOOK_BASE_URL",
            "/api/public/cloud-api-webhook/{tenantId}",
        ),
        (
            "GatewayWebhookFunction",
            "GATEWAY_WEBHOOK_BASE_URL",
            "/api/public/gateway-webhook/{tenantId}/{deviceId}",
        ),
    ] {
        let p = &resources[function]["Properties"];
        assert_eq!(
            p["FunctionUrlConfig"]["AuthType"].as_str(),
            Some("NONE"),
            "{function}"
        );
        let Value::Tagged(t) = &env[var] else {
            panic!("{var}: not a GetAtt")
        };
        assert_eq!(t.tag.to_string(), "!GetAtt", "{var}");
        assert_eq!(
            t.value.as_str(),
            Some(format!("{function}Url.FunctionUrl").as_str())
        );
        assert!(
            routes
                .iter()
                .any(|r| r.function == function && r.path == route),
            "{function}: the API route stays"
        );
    }
}

/// The public webhook URLs can be given reserved concurrency, off by default (an account
/// with a low concurrency limit could not deploy it).
#[test]
fn the_webhook_functions_reserve_concurrency_only_when_asked() {
    let template = template();
    let parameter = &template["Parameters"]["WebhookConcurrencyLimit"];
    assert_eq!(parameter["Default"].as_u64(), Some(0));
    assert_eq!(parameter["MinValue"].as_u64(), Some(0));
    let resources = resources();
    for function in ["CloudApiWebhookFunction", "GatewayWebhookFunction"] {
        let Value::Tagged(t) = &resources[function]["Properties"]["ReservedConcurrentExecutions"]
        else {
            panic!("{function}: no conditional ReservedConcurrentExecutions")
        };
        assert_eq!(t.tag.to_string(), "!If", "{function}");
        assert_eq!(
            t.value[0].as_str(),
            Some("HasWebhookConcurrencyLimit"),
            "{function}"
        );
    }
}

#[tokio::test]
async fn init_opens_the_dynamodb_connection_with_one_read_of_no_item() {
    let app = TestApp::start().await;
    let (warmed, log) = shared::services::record_aws_calls("init", app.state.store.warm_up()).await;
    warmed.expect("the warm-up read answers");
    assert_eq!(log.summary().operations, ["DynamoDB.GetItem"]);
}

/// What a CloudFront function of the template does with a viewer request (run in Node, whose
/// JavaScript is a superset of CloudFront's `cloudfront-js-2.0`).
fn viewer_request(function: &str, uri: &str, host: &str) -> serde_json::Value {
    let resources = resources();
    let code = resources[function]["Properties"]["FunctionCode"]
        .as_str()
        .unwrap_or_else(|| panic!("{function} has no FunctionCode"));
    let event = json!({"request": {"method": "GET", "uri": uri, "querystring": {},
        "headers": {"host": {"value": host}}, "cookies": {}}});
    let script = format!(
        "{code}\nprocess.stdout.write(JSON.stringify(handler(JSON.parse(process.argv[1]))));"
    );
    let out = std::process::Command::new("node")
        .args(["-e", &script, &event.to_string()])
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_api_behind_cloudfront_learns_the_dashboards_host() {
    let host = "d111111abcdef8.cloudfront.net";
    let request = viewer_request("DashboardForwardedHostFunction", "/api/team/invite", host);
    assert_eq!(request["headers"]["x-forwarded-host"]["value"], host);
    assert_eq!(request["uri"], "/api/team/invite");
    // And it is the function of the API's paths.
    let distribution = &resources()["DashboardDistribution"]["Properties"]["DistributionConfig"];
    let api = &distribution["CacheBehaviors"][0];
    assert_eq!(api["PathPattern"].as_str(), Some("/api/*"));
    let association = format!("{:?}", api["FunctionAssociations"][0]["FunctionARN"]);
    assert!(
        association.contains("DashboardForwardedHostFunction.FunctionMetadata.FunctionARN"),
        "{association}"
    );
}

#[test]
fn the_dashboards_own_paths_are_its_index_page() {
    let host = "d111111abcdef8.cloudfront.net";
    let app_path = viewer_request("DashboardSpaFunction", "/campaigns/123", host);
    assert_eq!(app_path["uri"], "/index.html");
    let file = viewer_request("DashboardSpaFunction", "/assets/index-3f2a.js", host);
    assert_eq!(file["uri"], "/assets/index-3f2a.js");
}
