//! Wire types shared by the `imadm` CLI and the `imadm` reference server.
//!
//! Everything that crosses the network is defined here exactly once: the Lanying
//! `{code, message, data}` envelope, the error codes (Lanying's own plus our admin
//! extension's), the permission catalogue, and the request/response bodies of the
//! admin API. The server derives its OpenAPI document from these types (utoipa), and
//! the CLI deserialises responses into them, so a change here is a change to the
//! contract and both sides see it at compile time.

pub mod access;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod codes;
pub mod im;
pub mod incident;
pub mod notify;
pub mod permissions;
pub mod sinks;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Header carrying the Lanying application id.
pub const HEADER_APP_ID: &str = "app_id";
/// Header carrying the bearer credential (Lanying's name for it).
pub const HEADER_ACCESS_TOKEN: &str = "access-token";
/// Header carrying the step-up of a sensitive action: a TOTP code; `web` to ask for a
/// passkey approval in the browser (answered with code 50034 and `data.approval`); or the
/// one-use token such an approval gave, for the same request sent again.
pub const HEADER_OTP: &str = "x-imadm-otp";
/// Header the server sets on every response so a request can be found in its logs.
pub const HEADER_REQUEST_ID: &str = "x-request-id";

/// Lanying's response envelope. `code` is 200 on success; any other value is an error
/// code from [`codes`], with a human `message`. Lanying answers business errors with
/// HTTP 200; our `/admin/` extension also sets a matching HTTP status.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Envelope<T> {
    pub code: i32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Absent (never `null`) when there is nothing to carry: Lanying's document types
    /// `data` per endpoint and has no `null`.
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
}

impl<T> Envelope<T> {
    pub fn ok(data: T) -> Self {
        Envelope {
            code: codes::OK,
            message: String::new(),
            data: Some(data),
        }
    }
}

/// The error envelope of the Lanying routes (`/user/*`, `/group/*`, `/message/*`):
/// answered with HTTP 200 like Lanying, and without `data`, whose type Lanying's document
/// fixes per endpoint (a boolean, a list, ...). Our [`ErrorDetail`] fields sit beside
/// `code` and `message` instead, where Lanying's clients ignore them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LanyingError {
    pub code: i32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(flatten)]
    pub detail: ErrorDetail,
}

/// Error details the admin extension may attach in `data` of an error envelope (and,
/// on the Lanying routes, beside `code`: see [`LanyingError`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Seconds until a locked account may try again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// What the caller can do about it, in one sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// With code 50034: where to approve the request with a passkey, and the device code
    /// to poll `/admin/auth/device/token` with (the request was sent with `x-imadm-otp:
    /// web`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Box<auth::DeviceAuthorization>>,
}

/// `GET /admin/server-info`: what this server is and what it offers. Its presence is how
/// the CLI tells our server from a plain Lanying deployment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ServerInfo {
    pub name: String,
    pub version: String,
    /// Stable identifier of this server's data dir, generated at init.
    pub server_id: String,
    pub app_id: String,
    /// Feature names of the admin API this server implements, e.g. `auth.mfa`.
    pub api_features: Vec<String>,
    /// OpenSSH-format public key the server signs audit checkpoints with (later issue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_public_key: Option<String>,
}

/// Deserializers for integer fields that also take an integral JSON float (`90.0`): JSON
/// Schema's `integer` admits them, so a client may send one.
pub mod lenient {
    use serde::Deserializer;
    use serde::de::{Error, SeqAccess, Visitor};

    struct Int;

    impl<'de> Visitor<'de> for Int {
        type Value = i128;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an integer")
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<i128, E> {
            Ok(v.into())
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<i128, E> {
            Ok(v.into())
        }
        fn visit_f64<E: Error>(self, v: f64) -> Result<i128, E> {
            if v.fract() == 0.0 && v.abs() < 1e19 {
                Ok(v as i128)
            } else {
                Err(E::custom(format!("{v} is not an integer")))
            }
        }
    }

    struct Elem<T>(T);

    impl<'de> serde::Deserialize<'de> for Elem<i64> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            i64(d).map(Elem)
        }
    }

    pub fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let v = d.deserialize_any(Int)?;
        u64::try_from(v).map_err(|_| D::Error::custom(format!("{v} is out of range")))
    }

    pub fn u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let v = d.deserialize_any(Int)?;
        u32::try_from(v).map_err(|_| D::Error::custom(format!("{v} is out of range")))
    }

    pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let v = d.deserialize_any(Int)?;
        i64::try_from(v).map_err(|_| D::Error::custom(format!("{v} is out of range")))
    }

    pub fn vec_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
        struct List;
        impl<'de> Visitor<'de> for List {
            type Value = Vec<i64>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of integers")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<i64>, A::Error> {
                let mut out = Vec::new();
                while let Some(Elem(v)) = seq.next_element::<Elem<i64>>()? {
                    out.push(v);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(List)
    }
}

/// A unix timestamp in seconds. Plain integers keep the wire format trivial to script.
pub type UnixTime = i64;
