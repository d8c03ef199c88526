//! End-to-end tests against DynamoDB Local and moto (`make test` starts them).
//! One binary, one module per area, so the workspace links a single test executable.

// Helpers beside the tests state expectations with unwrap/expect as the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod ai_client;
mod analytics;
mod api_keys;
mod auto_replies;
mod campaigns;
mod cli;
mod consent;
mod contact_csv;
mod contact_lists;
mod contacts;
mod devices;
mod external_identity;
mod gateway;
mod inbound;
mod inbox;
mod inbox_entries;
mod lambda_events;
mod local_numbers;
mod media;
mod media_store;
mod operations;
mod plan_limits;
mod quotas;
mod rate_limits;
mod requests;
mod roles;
mod routes;
mod sandbox;
mod sending;
mod sign_in;
mod super_admin;
mod team;
mod templates;
mod webhooks;
mod workers;
mod working_hours;
