//! End-to-end tests (placeholder until the harness lands).
mod assets;
mod cli_output;
