//! A reader for the parts of `template.yaml` the local stack needs, with just enough of
//! CloudFormation's intrinsic functions (`Ref`, `GetAtt`, `If`, `Equals`, `Not`, `Sub`) to
//! resolve environment variables against local resource names.

use serde_yaml::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("reading {0}: {1}")]
    Io(String, std::io::Error),
    #[error("parsing the template: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub kind: String,
    pub properties: Value,
    pub metadata: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Route {
    pub method: String,
    pub path: String,
    /// Logical id of the function that serves it.
    pub function: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSubscription {
    pub function: String,
    /// Logical id of the queue.
    pub queue: String,
    pub batch_size: i32,
    pub report_batch_item_failures: bool,
    /// `ScalingConfig.MaximumConcurrency`: how many batches may run at once.
    pub max_concurrency: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleEvent {
    pub function: String,
    pub name: String,
    /// `rate(…)` or `cron(…)`.
    pub expression: String,
    /// The JSON the function receives, when the template sets `Input`.
    pub input: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub resources: BTreeMap<String, Resource>,
    parameters: BTreeMap<String, Option<String>>,
    conditions: BTreeMap<String, Value>,
    globals_env: BTreeMap<String, Value>,
    /// `Globals.Function.MemorySize`.
    globals_memory: Option<f64>,
}

/// A tag-aware view of an intrinsic function: `!Ref X` and `{"Ref": X}` alike.
fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_string(),
            &t.value,
        )),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, v) = m.iter().next()?;
            let k = k.as_str()?;
            (k == "Ref" || k == "Condition" || k.starts_with("Fn::"))
                .then(|| (k.trim_start_matches("Fn::").to_string(), v))
        }
        _ => None,
    }
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_mapping()?.get(key)
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| TemplateError::Io(path.display().to_string(), e))?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let doc: Value = serde_yaml::from_str(text)?;
        let mapping = |key: &str| -> BTreeMap<String, Value> {
            get(&doc, key)
                .and_then(Value::as_mapping)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.clone())))
                        .collect()
                })
                .unwrap_or_default()
        };
        let resources = mapping("Resources")
            .into_iter()
            .map(|(id, r)| {
                let kind = get(&r, "Type")
                    .and_then(Value::as_str)
                    .ok_or_else(|| TemplateError::Invalid(format!("resource {id} has no Type")))?
                    .to_string();
                Ok((
                    id,
                    Resource {
                        kind,
                        properties: get(&r, "Properties").cloned().unwrap_or(Value::Null),
                        metadata: get(&r, "Metadata").cloned().unwrap_or(Value::Null),
                    },
                ))
            })
            .collect::<Result<BTreeMap<_, _>, TemplateError>>()?;
        let parameters = mapping("Parameters")
            .into_iter()
            .map(|(k, v)| (k, get(&v, "Default").and_then(scalar)))
            .collect();
        let globals_env = get(&doc, "Globals")
            .and_then(|g| get(g, "Function"))
            .and_then(|f| get(f, "Environment"))
            .and_then(|e| get(e, "Variables"))
            .and_then(Value::as_mapping)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.clone())))
                    .collect()
            })
            .unwrap_or_default();
        let globals_memory = get(&doc, "Globals")
            .and_then(|g| get(g, "Function"))
            .and_then(|f| get(f, "MemorySize"))
            .and_then(Value::as_f64);
        Ok(Template {
            resources,
            parameters,
            conditions: mapping("Conditions"),
            globals_env,
            globals_memory,
        })
    }

    pub fn resources_of<'a>(
        &'a self,
        kind: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Resource)> + 'a {
        self.resources
            .iter()
            .filter(move |(_, r)| r.kind == kind)
            .map(|(id, r)| (id.as_str(), r))
    }

    pub fn functions(&self) -> impl Iterator<Item = (&str, &Resource)> + '_ {
        self.resources_of("AWS::Serverless::Function")
    }

    /// A function's memory size in MB: its own, else the globals' (Lambda's default, 128,
    /// without either).
    pub fn memory_mb(&self, function: &str) -> f64 {
        self.resources
            .get(function)
            .and_then(|f| get(&f.properties, "MemorySize"))
            .and_then(Value::as_f64)
            .or(self.globals_memory)
            .unwrap_or(128.0)
    }

    /// Whether a function has its own URL (`FunctionUrlConfig`): callers of that URL reach it
    /// without API Gateway.
    pub fn has_function_url(&self, function: &str) -> bool {
        self.resources
            .get(function)
            .and_then(|f| get(&f.properties, "FunctionUrlConfig"))
            .is_some()
    }

    /// The folder of a function's crate, e.g. `functions/admin`.
    pub fn code_uri(&self, function: &str) -> Option<&str> {
        self.resources
            .get(function)
            .and_then(|r| get(&r.properties, "CodeUri"))
            .and_then(Value::as_str)
    }

    fn events(&self) -> Vec<(String, String, String, Value)> {
        let mut out = Vec::new();
        for (id, f) in self.functions() {
            let Some(events) = get(&f.properties, "Events").and_then(Value::as_mapping) else {
                continue;
            };
            for (name, ev) in events {
                let kind = get(ev, "Type").and_then(Value::as_str).unwrap_or_default();
                out.push((
                    id.to_string(),
                    name.as_str().unwrap_or_default().to_string(),
                    kind.to_string(),
                    get(ev, "Properties").cloned().unwrap_or(Value::Null),
                ));
            }
        }
        out
    }

    pub fn routes(&self) -> Vec<Route> {
        let mut routes: Vec<Route> = self
            .events()
            .into_iter()
            .filter(|(_, _, kind, _)| kind == "HttpApi")
            .filter_map(|(function, _, _, p)| {
                Some(Route {
                    method: get(&p, "Method")?.as_str()?.to_ascii_uppercase(),
                    path: get(&p, "Path")?.as_str()?.to_string(),
                    function,
                })
            })
            .collect();
        routes.sort();
        routes
    }

    pub fn queue_subscriptions(&self) -> Vec<QueueSubscription> {
        self.events()
            .into_iter()
            .filter(|(_, _, kind, _)| kind == "SQS")
            .filter_map(|(function, _, _, p)| {
                let queue = get(&p, "Queue").and_then(|q| self.referenced_resource(q))?;
                Some(QueueSubscription {
                    function,
                    queue,
                    batch_size: get(&p, "BatchSize").and_then(Value::as_i64).unwrap_or(10) as i32,
                    report_batch_item_failures: get(&p, "FunctionResponseTypes")
                        .and_then(Value::as_sequence)
                        .is_some_and(|s| {
                            s.iter()
                                .any(|t| t.as_str() == Some("ReportBatchItemFailures"))
                        }),
                    max_concurrency: get(&p, "ScalingConfig")
                        .and_then(|c| get(c, "MaximumConcurrency"))
                        .and_then(Value::as_i64)
                        .and_then(|n| i32::try_from(n).ok()),
                })
            })
            .collect()
    }

    pub fn schedules(&self) -> Vec<ScheduleEvent> {
        self.events()
            .into_iter()
            .filter(|(_, _, kind, _)| kind == "Schedule" || kind == "ScheduleV2")
            .filter_map(|(function, name, _, p)| {
                Some(ScheduleEvent {
                    function,
                    name,
                    expression: get(&p, "Schedule")
                        .or_else(|| get(&p, "ScheduleExpression"))?
                        .as_str()?
                        .to_string(),
                    input: get(&p, "Input").and_then(Value::as_str).map(str::to_string),
                })
            })
            .collect()
    }

    /// The logical id a `!Ref X` / `!GetAtt X.Attr` points at.
    pub fn referenced_resource(&self, v: &Value) -> Option<String> {
        let (f, arg) = intrinsic(v)?;
        let id = match f.as_str() {
            "Ref" => arg.as_str()?.to_string(),
            "GetAtt" => match arg {
                Value::String(s) => s.split('.').next()?.to_string(),
                Value::Sequence(s) => s.first()?.as_str()?.to_string(),
                _ => return None,
            },
            _ => return None,
        };
        self.resources.contains_key(&id).then_some(id)
    }

    /// A function's environment (globals, then its own), resolved with `resolve` for
    /// references to resources. Variables that resolve to `AWS::NoValue` are left out.
    pub fn environment(
        &self,
        function: &str,
        resolve: &dyn Fn(&str, Option<&str>) -> Option<String>,
    ) -> BTreeMap<String, String> {
        let mut vars = self.globals_env.clone();
        if let Some(own) = self
            .resources
            .get(function)
            .and_then(|f| get(&f.properties, "Environment"))
            .and_then(|e| get(e, "Variables"))
            .and_then(Value::as_mapping)
        {
            for (k, v) in own {
                if let Some(k) = k.as_str() {
                    vars.insert(k.to_string(), v.clone());
                }
            }
        }
        vars.into_iter()
            .filter_map(|(k, v)| Some((k, self.eval(&v, resolve)?)))
            .collect()
    }

    /// Evaluates a value to a string. `resolve(logical_id, attribute)` names local resources.
    pub fn eval(
        &self,
        v: &Value,
        resolve: &dyn Fn(&str, Option<&str>) -> Option<String>,
    ) -> Option<String> {
        if let Some(s) = scalar(v) {
            return Some(s);
        }
        let (f, arg) = intrinsic(v)?;
        match f.as_str() {
            "Ref" => {
                let name = arg.as_str()?;
                match name {
                    "AWS::NoValue" => None,
                    "AWS::Region" => Some("us-east-1".into()),
                    "AWS::AccountId" => Some("123456789012".into()),
                    "AWS::StackName" => Some("wati-local".into()),
                    "AWS::URLSuffix" => Some("amazonaws.com".into()),
                    _ if self.parameters.contains_key(name) => Some(
                        self.parameters
                            .get(name)
                            .cloned()
                            .flatten()
                            .unwrap_or_default(),
                    ),
                    _ => resolve(name, None),
                }
            }
            "GetAtt" => {
                let (id, attr) = match arg {
                    Value::String(s) => s
                        .split_once('.')
                        .map(|(a, b)| (a.to_string(), b.to_string()))?,
                    Value::Sequence(s) => (
                        s.first()?.as_str()?.to_string(),
                        s.get(1)?.as_str()?.to_string(),
                    ),
                    _ => return None,
                };
                resolve(&id, Some(&attr))
            }
            "If" => {
                let s = arg.as_sequence()?;
                let branch = if self.condition(s.first()?.as_str()?, resolve)? {
                    s.get(1)?
                } else {
                    s.get(2)?
                };
                self.eval(branch, resolve)
            }
            "Sub" => {
                let mut text = arg.as_str()?.to_string();
                while let Some(start) = text.find("${") {
                    let end = start + text[start..].find('}')?;
                    let name = &text[start + 2..end];
                    let value = match name.split_once('.') {
                        Some((id, attr)) => resolve(id, Some(attr))?,
                        None => self.eval(
                            &Value::Tagged(Box::new(serde_yaml::value::TaggedValue {
                                tag: serde_yaml::value::Tag::new("Ref"),
                                value: Value::String(name.to_string()),
                            })),
                            resolve,
                        )?,
                    };
                    text.replace_range(start..=end, &value);
                }
                Some(text)
            }
            _ => None,
        }
    }

    fn condition(
        &self,
        name: &str,
        resolve: &dyn Fn(&str, Option<&str>) -> Option<String>,
    ) -> Option<bool> {
        let cond = self.conditions.get(name)?;
        self.eval_condition(cond, resolve)
    }

    fn eval_condition(
        &self,
        v: &Value,
        resolve: &dyn Fn(&str, Option<&str>) -> Option<String>,
    ) -> Option<bool> {
        let (f, arg) = intrinsic(v)?;
        let items = || arg.as_sequence().cloned().unwrap_or_default();
        match f.as_str() {
            "Equals" => {
                let s = items();
                Some(
                    self.eval(s.first()?, resolve).unwrap_or_default()
                        == self.eval(s.get(1)?, resolve).unwrap_or_default(),
                )
            }
            "Not" => Some(!self.eval_condition(items().first()?, resolve)?),
            "And" => items()
                .iter()
                .map(|c| self.eval_condition(c, resolve))
                .collect::<Option<Vec<_>>>()
                .map(|v| v.into_iter().all(|b| b)),
            "Or" => items()
                .iter()
                .map(|c| self.eval_condition(c, resolve))
                .collect::<Option<Vec<_>>>()
                .map(|v| v.into_iter().any(|b| b)),
            "Condition" => self.condition(arg.as_str()?, resolve),
            _ => None,
        }
    }

    /// Parameter defaults, for tests and tools.
    pub fn parameter_default(&self, name: &str) -> Option<String> {
        self.parameters.get(name).cloned().flatten()
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A plain lookup from logical id to a string, e.g. for tests.
pub fn resolver_from(
    map: HashMap<String, String>,
) -> impl Fn(&str, Option<&str>) -> Option<String> {
    move |id, attr| match attr {
        None => map.get(id).cloned(),
        Some(a) => map.get(&format!("{id}.{a}")).cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = r#"
Parameters:
  Origins: {Type: String, Default: ""}
  Level: {Type: String, Default: info}
Conditions:
  HasOrigins: !Not [!Equals [!Ref Origins, ""]]
Globals:
  Function:
    Environment:
      Variables:
        TABLE_NAME: !Ref Table
        LEVEL: !Ref Level
        ORIGINS: !If [HasOrigins, !Ref Origins, !Ref AWS::NoValue]
        URL: !Sub "https://${Api}.example/${Queue.QueueName}"
Resources:
  Table: {Type: AWS::DynamoDB::Table, Properties: {}}
  Queue: {Type: AWS::SQS::Queue, Properties: {}}
  Api: {Type: AWS::Serverless::HttpApi}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/x
      Environment: {Variables: {OWN: "1", QUEUE_URL: !Ref Queue}}
      Events:
        A: {Type: HttpApi, Properties: {Method: get, Path: "/a/{id}"}}
        Q: {Type: SQS, Properties: {Queue: !GetAtt Queue.Arn, BatchSize: 5, FunctionResponseTypes: [ReportBatchItemFailures], ScalingConfig: {MaximumConcurrency: 3}}}
        S: {Type: Schedule, Properties: {Schedule: rate(1 minute), Input: '{"job":"minute"}'}}
"#;

    #[test]
    fn reads_routes_queues_schedules_and_environment() {
        let t = Template::parse(T).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.code_uri("Fn"), Some("functions/x"));
        assert_eq!(
            t.routes(),
            vec![Route {
                method: "GET".into(),
                path: "/a/{id}".into(),
                function: "Fn".into()
            }]
        );
        assert_eq!(
            t.queue_subscriptions(),
            vec![QueueSubscription {
                function: "Fn".into(),
                queue: "Queue".into(),
                batch_size: 5,
                report_batch_item_failures: true,
                max_concurrency: Some(3)
            }]
        );
        assert_eq!(t.schedules()[0].expression, "rate(1 minute)");
        assert_eq!(
            t.schedules()[0].input.as_deref(),
            Some(r#"{"job":"minute"}"#)
        );
        let names: HashMap<String, String> = [
            ("Table", "t-Table"),
            ("Queue", "http://q/t-Queue"),
            ("Queue.QueueName", "t-Queue"),
            ("Api", "local"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let env = t.environment("Fn", &resolver_from(names));
        assert_eq!(env.get("TABLE_NAME").map(String::as_str), Some("t-Table"));
        assert_eq!(env.get("LEVEL").map(String::as_str), Some("info"));
        assert_eq!(env.get("ORIGINS"), None, "AWS::NoValue drops the variable");
        assert_eq!(
            env.get("URL").map(String::as_str),
            Some("https://local.example/t-Queue")
        );
        assert_eq!(
            env.get("QUEUE_URL").map(String::as_str),
            Some("http://q/t-Queue")
        );
        assert_eq!(env.get("OWN").map(String::as_str), Some("1"));
    }
}
