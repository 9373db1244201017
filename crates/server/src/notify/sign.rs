//! The signatures receivers check, each exactly as its vendor documents it. Worked
//! examples: `tests/vectors/notify/signatures.json` (computed by the Python script beside
//! it, and the Standard Webhooks reference library's own test).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Standard Webhooks (`webhook-signature`): `v1,` and the base64 of
/// HMAC-SHA256(key, `{id}.{timestamp}.{body}`), `key` being the bytes of the
/// `whsec_<base64>` secret and `timestamp` Unix seconds (`webhook-timestamp`).
pub fn standard_webhooks(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mac = hmac_sha256(
        key,
        &[
            id.as_bytes(),
            b".",
            timestamp.to_string().as_bytes(),
            b".",
            body,
        ],
    );
    format!("v1,{}", STANDARD.encode(mac))
}

/// DingTalk custom robot (加签): base64 of HMAC-SHA256(key = secret, message =
/// `{timestamp}\n{secret}`), `timestamp` in milliseconds. Sent URL-encoded as the query
/// parameters `timestamp` and `sign`.
pub fn dingtalk(secret: &[u8], timestamp_ms: i64) -> String {
    let mac = hmac_sha256(
        secret,
        &[timestamp_ms.to_string().as_bytes(), b"\n", secret],
    );
    STANDARD.encode(mac)
}

/// Feishu / Lark custom bot (签名校验): base64 of HMAC-SHA256(key = `{timestamp}\n{secret}`,
/// message = empty), `timestamp` in seconds. Sent as `timestamp` (a string) and `sign` in
/// the JSON body.
pub fn feishu(secret: &[u8], timestamp_s: i64) -> String {
    let mut key = timestamp_s.to_string().into_bytes();
    key.push(b'\n');
    key.extend_from_slice(secret);
    let mac = hmac_sha256(&key, &[]);
    zeroize::Zeroize::zeroize(&mut key);
    STANDARD.encode(mac)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Vec<Value> {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/vectors/notify/signatures.json"
        );
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    #[test]
    fn signers_match_the_worked_examples() {
        let mut seen = std::collections::BTreeMap::new();
        for v in vectors() {
            let s = |k: &str| v[k].as_str().unwrap().to_owned();
            let ts = v["timestamp"].as_i64().unwrap();
            let kind = s("kind");
            match kind.as_str() {
                "webhook" => {
                    let key = STANDARD
                        .decode(s("secret").strip_prefix("whsec_").unwrap())
                        .unwrap();
                    assert_eq!(
                        standard_webhooks(&key, &s("id"), ts, s("body").as_bytes()),
                        s("signature"),
                        "{v}"
                    );
                }
                "dingtalk" => {
                    let sign = dingtalk(s("secret").as_bytes(), ts);
                    assert_eq!(sign, s("sign"), "{v}");
                    // As it goes into the query string.
                    let mut u =
                        url::Url::parse("https://x.example/robot/send?access_token=t").unwrap();
                    u.query_pairs_mut().append_pair("sign", &sign);
                    assert!(
                        u.as_str()
                            .ends_with(&format!("&sign={}", s("sign_urlencoded"))),
                        "{u}"
                    );
                }
                "feishu" => assert_eq!(feishu(s("secret").as_bytes(), ts), s("sign"), "{v}"),
                other => panic!("unknown kind {other}"),
            }
            *seen.entry(kind).or_insert(0) += 1;
        }
        assert_eq!(seen.len(), 3, "{seen:?}");
    }
}
