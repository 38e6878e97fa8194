//! Salesforce Bulk API 2.0: ingest and query jobs on sluice's jobs and exports.

// Until the query jobs call it.
#[allow(dead_code)]
pub mod soql;
