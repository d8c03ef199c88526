//! End-to-end tests against DynamoDB Local and moto (`make test` starts them).
//! One binary, one module per area, so the workspace links a single test executable.

mod admin;
mod api_keys;
mod cli;
mod lambda_events;
mod rate_limits;
mod routes;
mod webhooks;
mod workers;
