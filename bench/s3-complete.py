#!/usr/bin/env python3
"""bench/s3-complete.py: the S3 server's share of a backup upload, without imadm.

Starts s3s-fs (target/tools/bin/s3s-fs, or S3S_FS) on 127.0.0.1 over a temp dir under
TMPDIR (the same file system as bench/backup.sh's), then, BENCH_RUNS times (default 3):
uploads BENCH_MIB MiB (default 1024) as PART_MIB MiB parts (default 8, PARALLEL at once,
default 2, as imadm does) with UNSIGNED-PAYLOAD, and times CompleteMultipartUpload alone.
Prints the seconds of each phase (median, min-max). Needs botocore (awscli's, target/venv).
With S3_URL=http://KEY:SECRET@127.0.0.1:PORT (what scripts/ceph-rgw.sh start prints) it
uses that server instead, in a bucket "bench" it creates.

  target/venv/bin/python bench/s3-complete.py
  S3_URL=$(scripts/ceph-rgw.sh start /tmp/rgw) PARALLEL=3 target/venv/bin/python bench/s3-complete.py
"""
import concurrent.futures
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

import botocore.config
import botocore.session

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = int(os.environ.get("BENCH_MIB", "1024"))
PART = int(os.environ.get("PART_MIB", "8")) << 20
PARALLEL = int(os.environ.get("PARALLEL", "2"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
S3S_FS = os.environ.get("S3S_FS", os.path.join(ROOT, "target/tools/bin/s3s-fs"))


def main():
    tmp = tempfile.mkdtemp(prefix="imadm-s3-complete-")
    os.makedirs(os.path.join(tmp, "bench"))
    given = os.environ.get("S3_URL")
    if given:
        u = urllib.parse.urlsplit(given)
        port, access, secret, server = u.port, u.username, u.password, None
    else:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        access, secret = "bench", "bench-secret"
        server = subprocess.Popen(
            [S3S_FS, "--host", "127.0.0.1", "--port", str(port), "--access-key", access,
             "--secret-key", secret, tmp],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.05)
        client = botocore.session.get_session().create_client(
            "s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
            aws_access_key_id=access, aws_secret_access_key=secret,
            config=botocore.config.Config(
                s3={"addressing_style": "path", "payload_signing_enabled": False},
                max_pool_connections=PARALLEL))
        if given:
            client.create_bucket(Bucket="bench")
        data = os.urandom(PART)
        count = (MIB << 20) // PART
        uploads, completes = [], []
        for run in range(RUNS):
            key = f"run-{run}.age"
            up = client.create_multipart_upload(Bucket="bench", Key=key)["UploadId"]
            t0 = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
                etags = list(pool.map(
                    lambda n: client.upload_part(Bucket="bench", Key=key, UploadId=up,
                                                 PartNumber=n, Body=data)["ETag"],
                    range(1, count + 1)))
            t1 = time.monotonic()
            client.complete_multipart_upload(
                Bucket="bench", Key=key, UploadId=up,
                MultipartUpload={"Parts": [{"ETag": e, "PartNumber": n + 1}
                                           for n, e in enumerate(etags)]})
            t2 = time.monotonic()
            uploads.append(t1 - t0)
            completes.append(t2 - t1)
            if given:
                client.delete_object(Bucket="bench", Key=key)
            else:
                os.remove(os.path.join(tmp, "bench", key))
            subprocess.run(["sync"], check=True)
        size = count * PART
        for name, xs in (("upload of the parts", uploads),
                         ("CompleteMultipartUpload", completes)):
            m = statistics.median(xs)
            print(f"{name}: {m:.2f} s ({min(xs):.2f}-{max(xs):.2f}), "
                  f"{size / m / 1e6:.0f} MB/s of {size} bytes, {count} parts of {PART >> 20} MiB")
    finally:
        if server:
            server.kill()
            server.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
