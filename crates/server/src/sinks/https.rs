//! The HTTPS sink: each batch POSTed as one JSON document, signed per the Standard
//! Webhooks specification (<https://www.standardwebhooks.com>):
//!
//! ```text
//! webhook-id: imadm_<server_id>_<first seq>-<last seq>
//! webhook-timestamp: <unix seconds of this attempt>
//! webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>
//!
//! {"schema_version":1,"kind":"imadm-audit-batch","server_id":"…","first_seq":57,
//!  "last_seq":60,"prev_hash":"…","events":[{event 57},…,{event 60}]}
//! ```
//!
//! The key is the base64 part of the `whsec_…` secret in the environment variable the
//! spec names. Events are exactly as `audit export` writes them. Any 2xx answer
//! acknowledges the batch; anything else (or no answer) is retried with the same id and
//! body, a new timestamp and signature. A receiver drops what it already has by `seq`.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{Batch, Sign, Transport};

const TIMEOUT: Duration = Duration::from_secs(30);

pub struct Https {
    /// Built on the sink's own thread at its first delivery: a blocking client may be
    /// neither built nor dropped inside the server's async runtime, where the sinks are
    /// prepared.
    client: Option<reqwest::blocking::Client>,
    ca: Option<Vec<reqwest::Certificate>>,
    url: String,
    key: Zeroizing<Vec<u8>>,
}

impl Https {
    /// `secret`: the `whsec_…` value (or its base64 part alone); `ca`: the PEM file of
    /// the CA to trust instead of the system's.
    pub fn new(url: &str, secret: &str, ca: Option<&std::path::Path>) -> Result<Https, String> {
        let key = decode_secret(secret)?;
        let ca = ca
            .map(|ca| {
                let pem = std::fs::read(ca)
                    .map_err(|e| format!("cannot read CA file {}: {e}", ca.display()))?;
                reqwest::Certificate::from_pem_bundle(&pem)
                    .map_err(|e| format!("bad PEM in {}: {e}", ca.display()))
            })
            .transpose()?;
        Ok(Https {
            client: None,
            ca,
            url: url.to_owned(),
            key,
        })
    }

    fn client(&mut self) -> Result<&reqwest::blocking::Client, String> {
        if self.client.is_none() {
            let mut b = reqwest::blocking::Client::builder()
                .https_only(true)
                .timeout(TIMEOUT)
                .connect_timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("imadm-audit-sink/", env!("CARGO_PKG_VERSION")));
            if let Some(certs) = &self.ca {
                b = b.tls_certs_only(certs.clone());
            }
            self.client = Some(b.build().map_err(|e| format!("HTTPS client: {e}"))?);
        }
        Ok(self.client.as_ref().expect("built above"))
    }
}

impl Transport for Https {
    fn deliver(&mut self, batch: &Batch, sign: &dyn Sign) -> Result<(), String> {
        let (Some(first), Some(last)) = (batch.events.first(), batch.events.last()) else {
            return Ok(());
        };
        let id = format!("imadm_{}_{}-{}", sign.server_id(), first.seq, last.seq);
        let body = body(batch, sign.server_id())?;
        let ts = crate::now();
        let signature = signature(&self.key, &id, ts, &body);
        let url = self.url.clone();
        let resp = self
            .client()?
            .post(&url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .map_err(|e| format!("POST {url}: {}", error_chain(&e)))?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("POST {} answered HTTP {status}", self.url))
        }
    }
}

/// The batch document (see the module documentation).
pub fn body(batch: &Batch, server_id: &str) -> Result<Vec<u8>, String> {
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        schema_version: u32,
        kind: &'static str,
        server_id: &'a str,
        first_seq: u64,
        last_seq: u64,
        prev_hash: &'a str,
        events: &'a [imadm_api::audit::AuditEvent],
    }
    serde_json::to_vec(&Doc {
        schema_version: 1,
        kind: "imadm-audit-batch",
        server_id,
        first_seq: batch.events.first().map_or(0, |e| e.seq),
        last_seq: batch.events.last().map_or(0, |e| e.seq),
        prev_hash: &batch.prev_hash,
        events: &batch.events,
    })
    .map_err(|e| e.to_string())
}

/// `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// The signing key of a `whsec_<base64>` secret (the prefix may be left out).
pub fn decode_secret(secret: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    let b64 = secret
        .trim()
        .strip_prefix("whsec_")
        .unwrap_or(secret.trim());
    let key = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| "the secret is not whsec_ followed by base64".to_owned())?,
    );
    if key.len() < 16 {
        return Err(
            "the secret is too short: use at least 16 random bytes (24 to 64 is usual)".into(),
        );
    }
    Ok(key)
}

/// reqwest's error with its causes ("error sending request" alone says little).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of the Standard Webhooks specification (its test vector).
    #[test]
    fn signature_matches_the_standard_webhooks_test_vector() {
        let key = decode_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            signature(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert_eq!(
            *decode_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
            *key
        );
        assert!(decode_secret("whsec_not base64!").is_err());
        assert!(decode_secret("whsec_c2hvcnQ=").is_err());
    }

    #[test]
    fn the_body_carries_the_events_as_exported() {
        let events = crate::sinks::tests::chain(3);
        let b = crate::sinks::tests::batch(&events, 1, 3);
        let doc = String::from_utf8(body(&b, "srv").unwrap()).unwrap();
        let lines: Vec<String> = events[1..]
            .iter()
            .map(|e| serde_json::to_string(e).unwrap())
            .collect();
        assert_eq!(
            doc,
            format!(
                "{{\"schema_version\":1,\"kind\":\"imadm-audit-batch\",\"server_id\":\"srv\",\"first_seq\":2,\"last_seq\":3,\"prev_hash\":\"{}\",\"events\":[{}]}}",
                events[0].hash,
                lines.join(",")
            )
        );
    }
}
