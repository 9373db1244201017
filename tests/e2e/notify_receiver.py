#!/usr/bin/env python3
"""A notification receiver for the e2e tests: HTTPS on 127.0.0.1, one path per kind
(/webhook, /dingtalk, /feishu, /slack, /wecom). It checks each signature itself, with
Python's hmac/hashlib/base64 as each vendor documents it (independently of imadm's code),
answers 500 to the first FAIL_FIRST requests of each path and while the file DOWN exists,
then what the vendor answers on success, and logs every request as one JSON line to LOG.

Environment: CERT, KEY (PEM), LOG, PORT_FILE (written once listening), FAIL_FIRST,
DOWN (a path), WEBHOOK_SECRET (whsec_...), DINGTALK_SECRET, FEISHU_SECRET.
"""
import base64
import hashlib
import hmac
import json
import os
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ENV = os.environ
FAIL_FIRST = int(ENV.get("FAIL_FIRST", "0"))
seen = {}
lock = threading.Lock()


def b64hmac(key, msg):
    return base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()


def check(kind, headers, query, body, now):
    """(valid, why) for one request."""
    if kind == "webhook":
        msg_id, ts = headers.get("webhook-id"), headers.get("webhook-timestamp")
        sigs = (headers.get("webhook-signature") or "").split(" ")
        if not msg_id or not ts:
            return False, "missing webhook-id or webhook-timestamp"
        if abs(now - int(ts)) > 300:
            return False, "timestamp outside the 5-minute tolerance"
        key = base64.b64decode(ENV["WEBHOOK_SECRET"][len("whsec_"):])
        want = "v1," + b64hmac(key, msg_id.encode() + b"." + ts.encode() + b"." + body)
        return (want in sigs), "webhook-signature mismatch"
    if kind == "dingtalk":
        ts, sign = query.get("timestamp", [None])[0], query.get("sign", [None])[0]
        if not ts or not sign:
            return False, "missing timestamp or sign"
        if abs(now * 1000 - int(ts)) > 3600 * 1000:
            return False, "timestamp more than an hour off"
        secret = ENV["DINGTALK_SECRET"].encode()
        want = b64hmac(secret, ts.encode() + b"\n" + secret)
        return (sign == want), "sign mismatch"
    if kind == "feishu":
        doc = json.loads(body)
        ts, sign = doc.get("timestamp"), doc.get("sign")
        if not isinstance(ts, str) or not sign:
            return False, "missing timestamp (a string) or sign"
        if abs(now - int(ts)) > 3600:
            return False, "timestamp more than an hour off"
        want = b64hmac((ts + "\n" + ENV["FEISHU_SECRET"]).encode(), b"")
        return (sign == want), "sign mismatch"
    return True, ""


OK = {
    "webhook": (b"", "text/plain"),
    "slack": (b"ok", "text/plain"),
    "dingtalk": (b'{"errcode":0,"errmsg":"ok"}', "application/json"),
    "wecom": (b'{"errcode":0,"errmsg":"ok"}', "application/json"),
    "feishu": (b'{"code":0,"msg":"success","data":{}}', "application/json"),
}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        now = time.time()
        url = urllib.parse.urlsplit(self.path)
        kind = url.path.strip("/")
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        valid, why = check(kind, self.headers, urllib.parse.parse_qs(url.query), body, now)
        with lock:
            n = seen.get(kind, 0) + 1
            seen[kind] = n
        down = ENV.get("DOWN") and os.path.exists(ENV["DOWN"])
        if not valid:
            code = 401
        elif n <= FAIL_FIRST or down:
            code = 500
        else:
            code = 200
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        rec = {"t": now, "kind": kind, "n": n, "answer": code, "valid": valid,
               "why": "" if valid else why, "id": self.headers.get("webhook-id"), "body": doc}
        with lock, open(ENV["LOG"], "a") as f:
            f.write(json.dumps(rec) + "\n")
        payload, ctype = OK.get(kind, (b"", "text/plain")) if code == 200 else (b"try later", "text/plain")
        self.send_response(code)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(ENV["CERT"], ENV["KEY"])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(ENV["PORT_FILE"] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(ENV["PORT_FILE"] + ".tmp", ENV["PORT_FILE"])
srv.serve_forever()
