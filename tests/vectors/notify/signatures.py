#!/usr/bin/env python3
"""Writes signatures.json: worked examples of the notification signers, computed with
Python's own hmac/hashlib/base64 (independent of imadm's Rust code), each algorithm as
its vendor documents it:

- Standard Webhooks (generic webhook): v1,base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")),
  key = base64-decoded part after "whsec_". The first vector is the one the Standard
  Webhooks reference libraries publish in their tests (expected signature
  v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=); this script must reproduce it.
- DingTalk custom robot: base64(HMAC-SHA256(key=secret, msg=f"{timestamp_ms}\\n{secret}")),
  then URL-encoded into the query (&timestamp=...&sign=...).
- Feishu / Lark custom bot: base64(HMAC-SHA256(key=f"{timestamp_s}\\n{secret}", msg=b"")),
  sent as "timestamp" and "sign" in the JSON body.

Run: python3 tests/vectors/notify/signatures.py > tests/vectors/notify/signatures.json
"""
import base64
import hashlib
import hmac
import json
import urllib.parse


def b64(b):
    return base64.b64encode(b).decode()


def standard_webhooks(secret, msg_id, ts, body):
    key = base64.b64decode(secret[len("whsec_"):])
    return "v1," + b64(hmac.new(key, f"{msg_id}.{ts}.{body}".encode(), hashlib.sha256).digest())


def dingtalk(secret, ts_ms):
    return b64(hmac.new(secret.encode(), f"{ts_ms}\n{secret}".encode(), hashlib.sha256).digest())


def feishu(secret, ts_s):
    return b64(hmac.new(f"{ts_s}\n{secret}".encode(), b"", hashlib.sha256).digest())


vectors = []
for secret, msg_id, ts, body in [
    ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
     '{"test": 2432232314}'),
    ("whsec_" + b64(bytes(range(64))), "imadm_srv_alert7_open", 1764000000,
     '{"version":"4","status":"firing","note":"caf\u00e9 \u2713"}'),
]:
    vectors.append({"kind": "webhook", "secret": secret, "id": msg_id, "timestamp": ts,
                    "body": body, "signature": standard_webhooks(secret, msg_id, ts, body)})
for secret, ts in [("secret", 1700000000000), ("this is secret", 1700000000000),
                   ("SEC5a3ecf88f2b3eb50db30ecfc00f53033ac909c99bf7f88fd612bda89d7f3a9dc",
                    1599360473123)]:
    sign = dingtalk(secret, ts)
    vectors.append({"kind": "dingtalk", "secret": secret, "timestamp": ts, "sign": sign,
                    "sign_urlencoded": urllib.parse.quote_plus(sign)})
# The second key is longer than SHA-256's 64-byte block: HMAC hashes it first.
for secret, ts in [("demo-secret", 1599360473), ("SEC" + "x" * 70, 1599360473)]:
    vectors.append({"kind": "feishu", "secret": secret, "timestamp": ts, "sign": feishu(secret, ts)})

assert vectors[0]["signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", vectors[0]
print(json.dumps(vectors, indent=2, ensure_ascii=False))
