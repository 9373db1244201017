//! End-to-end tests: one binary, modules by topic. Each test that needs a server starts
//! its own `imadm server --dev` (see `harness`), so tests run in parallel and leave
//! nothing behind. Keyring tests want a Secret Service; see `keyring.rs`.
mod access;
mod alerts;
mod assets;
mod audit;
mod audit_pin;
mod audit_report;
mod audit_sinks;
mod audit_verify;
mod auth;
mod backup;
mod backup_files;
mod cli_output;
mod compliance;
mod database;
mod dev_data;
mod errors;
mod first_login;
mod gdpr;
mod hardening;
mod harness;
mod incident;
mod keyring;
mod keys;
mod lanying;
mod notify;
mod passkeys;
mod proxy;
mod rbac;
mod restore;
mod s3;
mod s3_lock;
mod terminal;
mod throttle;
mod users;
