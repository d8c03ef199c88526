//! End-to-end tests against DynamoDB Local and moto (`make test` starts them).
//! One binary, one module per area, so the workspace links a single test executable.

mod admin;
mod api_keys;
mod cli;
mod devices;
mod lambda_events;
mod media;
mod rate_limits;
mod routes;
mod sandbox;
mod sending;
mod workers;
