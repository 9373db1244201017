//! Signed audit reports, independent of HTTP: the report format and its streaming writer
//! (`report`), the streaming verifier of chain and checkpoints (`verify`), OpenSSH SSHSIG
//! signatures over report files (`sshsig`), OpenSSH allowed_signers files
//! (`allowed_signers`), pinning of the server's audit key (`pin`) and of the newest
//! checkpoint verified (`checkpoint`), and the files of a file audit sink (`sinkfile`).
//!
//! Commands in `commands/audit/` fetch from the server and drive these; everything here
//! works on readers, writers and parsed keys, so tests run it on synthetic chains.

pub mod allowed_signers;
pub mod checkpoint;
pub mod csv;
pub mod pin;
pub mod report;
pub mod sinkfile;
pub mod sshsig;
pub mod summary;
pub mod verify;

#[cfg(test)]
mod tests;

pub mod synth;

/// The SSHSIG namespace of report signatures (`ssh-keygen -Y verify -n imadm-audit`).
pub const NAMESPACE: &str = "imadm-audit";
