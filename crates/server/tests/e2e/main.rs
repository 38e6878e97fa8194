//! End-to-end tests over HTTP against real servers; one module per area.

// Tests state what they expect by unwrapping it.
#![allow(clippy::unwrap_used)]

mod auth;
mod backand_auth;
mod backand_bulk;
mod backand_common;
mod backand_deep;
mod backand_objects;
mod batches;
mod bigin;
mod bulk;
mod common;
mod copy;
mod diskfull;
mod durability;
mod errors;
mod events;
mod exports;
mod first_use;
mod fulcrum;
mod hardening;
mod hostile;
mod idempotency;
mod inspect;
mod instances;
mod jobs_common;
mod jobs_refusals;
mod jobs_runs;
mod limits;
mod pgdb;
mod query;
mod records;
mod relations;
mod relations_common;
mod relations_races;
mod relations_work;
mod salesforce_client;
mod salesforce_common;
mod salesforce_ingest;
mod salesforce_query;
mod schema;
mod soql;
mod sugar_bulk;
mod sugar_common;
mod sugar_links;
mod sugar_modules;
mod sugar_session;
mod system;
mod tls;
mod ui;
mod wire_details;
mod zoho;
mod zoho_lookups;
mod zoho_sdk;
