//! Runs the system outside AWS, driven by `template.yaml` itself:
//! - [`template`] reads the SAM template (routes, queues, schedules, environment);
//! - [`bootstrap`] creates its table, queues, DLQs and secrets on DynamoDB Local and moto;
//! - [`routing`] picks the function for a request the way API Gateway does;
//! - [`devserver`] serves every function's Router under the template's paths, polls the
//!   template's queues into the worker handlers and ticks its schedules;
//! - [`assets`] serves the dashboard's built files at `/` (what CloudFront does in AWS);
//! - [`functions`] maps each template function (by `CodeUri`) to its Rust implementation;
//! - [`openapi`] merges every function's OpenAPI document into the one `meta` serves.

pub mod admin_cli;
pub mod assets;
pub mod bootstrap;
pub mod devserver;
pub mod functions;
pub mod local;
pub mod openapi;
pub mod routing;
pub mod template;
pub mod user_cli;
