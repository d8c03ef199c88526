//! Orchestration over the store and the adapters: what a route or a worker asks for.
//! Each service has typed errors of its own and takes narrow inputs; none knows HTTP.

pub mod analytics;
pub mod audit;
pub mod auth;
pub mod campaigns;
pub mod contact_jobs;
pub mod events;
pub mod gateway;
pub mod inbound;
pub mod inbox;
pub mod media;
pub mod phones;
pub mod sending;
pub mod statuses;
pub mod templates;
pub mod webhooks;
