//! Alert notifications: the channels of `imadm server --notify-config` (generic webhook,
//! Slack, DingTalk, WeCom, Feishu/Lark). Submodules: `config` (the file: its checks, the
//! 0600 rule, secrets from the file or the environment), `sign` (each receiver's
//! signature, exactly as its vendor documents it).

pub mod config;
pub mod sign;
