#!/usr/bin/env python3
"""Recomputes, with botocore (AWS's own signer), the SigV4 signature of every request the aws driver makes.

s3rver does not check signatures, so this test sits a recording proxy between the driver and s3rver: the driver
talks to the proxy, the proxy forwards to s3rver and keeps the raw requests. For each one botocore builds the
canonical request from the method, the decoded path and query, and the headers the driver said it signed, and
must arrive at the same signature. The presigned URL is checked the same way with botocore's query signer.
"""
import base64
import hashlib
import http.client
import http.server
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zlib

import botocore.parsers
import botocore.session
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# s3rver knows only the key id S3RVER (it checks the id, not the signature).
ACCESS, SECRET, REGION = "S3RVER", "S3RVER", "us-west-2"
KEYS = ["sig/plain.json", "sig/with space.json", "sig/plus+sign.json", "sig/eq=uals&amp.json",
        "sig/ünïcödé/日本語.json", "sig/tilde~star*paren(1).json"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"port {port} did not open")


recorded = []
aborted = []
created = {}  # key path → UploadId s3rver gave

# ListMultipartUploads as S3 answers it, two pages: s3rver does not implement it (501), so the proxy answers. Each
# page is checked against botocore's model of the operation before it is served. An upload started minutes ago
# (a live server's) must be left alone; the ones started years ago are aborted.
RECENT = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 120))
UPLOADS_PAGES = [
    [("sig/backups/b1/b1.tar.gz", "old-1", "2020-01-01T00:00:00.000Z"),
     ("sig/backups/b2/b2.tar.gz", "live-2", RECENT)],
    [("sig/backups/a&b/a&b.tar.gz", "old-3", "2021-06-30T12:00:00.000Z")],
]


def uploads_page(number):
    uploads = UPLOADS_PAGES[number]
    truncated = number + 1 < len(UPLOADS_PAGES)
    body = ['<?xml version="1.0" encoding="UTF-8"?>',
            '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
            "<Bucket>arca</Bucket><Prefix>sig/backups/</Prefix><MaxUploads>1000</MaxUploads>",
            f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"]
    if truncated:
        body.append(f"<NextKeyMarker>{uploads[-1][0]}</NextKeyMarker>"
                    f"<NextUploadIdMarker>{uploads[-1][1]}</NextUploadIdMarker>")
    for key, upload_id, initiated in uploads:
        body.append(f"<Upload><Key>{key.replace('&', '&amp;')}</Key><UploadId>{upload_id}</UploadId>"
                    f"<Initiator><ID>x</ID><DisplayName>x</DisplayName></Initiator>"
                    f"<Owner><ID>x</ID><DisplayName>x</DisplayName></Owner>"
                    f"<StorageClass>STANDARD</StorageClass><Initiated>{initiated}</Initiated></Upload>")
    body.append("</ListMultipartUploadsResult>")
    xml = "".join(body).encode()
    model = botocore.session.get_session().get_service_model("s3").operation_model("ListMultipartUploads")
    parsed = botocore.parsers.create_parser("rest-xml").parse(
        {"body": xml, "headers": {}, "status_code": 200}, model.output_shape)
    assert [(u["Key"], u["UploadId"]) for u in parsed["Uploads"]] == [(k, i) for k, i, _ in uploads], parsed
    assert parsed["IsTruncated"] == truncated, parsed
    return xml


def make_proxy(upstream_port):
    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            recorded.append((self.command, self.path, dict(self.headers.items()), body))
            query = dict(urllib.parse.parse_qsl(self.path.partition("?")[2], keep_blank_values=True))
            if self.command == "GET" and "uploads" in query:
                assert query.get("prefix") == "sig/backups/", query
                # The second page is asked for with the markers of the first.
                page = 1 if query.get("key-marker") == "sig/backups/b2/b2.tar.gz" and \
                    query.get("upload-id-marker") == "live-2" else 0
                return self.answer(200, uploads_page(page))
            if self.command == "DELETE" and "uploadId" in query:
                aborted.append((urllib.parse.unquote(self.path.partition("?")[0]), query["uploadId"]))
                return self.answer(204, b"")
            conn = http.client.HTTPConnection("127.0.0.1", upstream_port)
            headers = {k: v for k, v in self.headers.items()}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            if self.command == "POST" and "uploads" in query:
                created[urllib.parse.unquote(self.path.partition("?")[0])] = \
                    data.decode().partition("<UploadId>")[2].partition("</UploadId>")[0]
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)) if self.command != "HEAD"
                             else resp.getheader("Content-Length", "0"))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            conn.close()

        def answer(self, status, data):
            self.send_response(status)
            if data:
                self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

    return Proxy


def botocore_signature(method, raw_path, headers, body):
    auth_header = headers["Authorization"]
    assert auth_header.startswith("AWS4-HMAC-SHA256 "), auth_header
    fields = dict(part.strip().split("=", 1) for part in auth_header[len("AWS4-HMAC-SHA256 "):].split(","))
    signed = fields["SignedHeaders"].split(";")
    for required in ("host", "x-amz-content-sha256", "x-amz-date"):
        assert required in signed, f"{method} {raw_path}: {required} not signed ({signed})"
    lower = {k.lower(): v for k, v in headers.items()}
    for name in lower:
        # Everything that matters to S3 must be covered by the signature.
        if name.startswith("x-amz-"):
            assert name in signed, f"{method} {raw_path}: header {name} is sent but not signed"
    assert fields["Credential"] == f"{ACCESS}/{lower['x-amz-date'][:8]}/{REGION}/s3/aws4_request", fields
    assert lower["x-amz-content-sha256"] == hashlib.sha256(body).hexdigest(), f"{method} {raw_path}: payload hash"
    path, _, query = raw_path.partition("?")
    params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    req = AWSRequest(method=method, url="http://" + lower["host"] + path,
                     headers={k: lower[k] for k in signed if k != "host"}, data=body, params=params)
    req.context["timestamp"] = lower["x-amz-date"]
    auth = S3SigV4Auth(Credentials(ACCESS, SECRET), "s3", REGION)
    canonical = auth.canonical_request(req)
    expected = auth.signature(auth.string_to_sign(req, canonical), req)
    return fields["Signature"], expected, canonical


def signed_headers(headers):
    auth = {k.lower(): v for k, v in headers.items()}["authorization"]
    return auth.partition("SignedHeaders=")[2].partition(",")[0].split(";")


def check_object_lock():
    """objectLockMode/objectLockRetention: S3 wants the mode and retain-until date on the single PUT and on
    CreateMultipartUpload, and Content-MD5 (the MD5 of exactly the bytes sent) on the PUT and on every part; all
    of them signed (the signatures themselves were checked with botocore above)."""
    now = time.time()
    lock = [(m, p, {k.lower(): v for k, v in h.items()}, b) for m, p, h, b in recorded if "/sig/lock/" in p]
    puts = [(p, h, b) for m, p, h, b in lock if m == "PUT"]
    assert len(puts) == 3, [p for p, _, _ in puts]  # one small object, two parts
    for p, h, body in puts:
        want = base64.b64encode(hashlib.md5(body).digest()).decode()
        assert h.get("content-md5") == want, (p, h.get("content-md5"), want)
        assert "content-md5" in signed_headers(h), (p, signed_headers(h))
    starts = [(p, h) for m, p, h, _ in lock if (m == "PUT" and "?" not in p) or (m == "POST" and p.endswith("?uploads="))]
    assert len(starts) == 2, [p for p, _ in starts]
    for p, h in starts:
        assert h.get("x-amz-object-lock-mode") == "COMPLIANCE", (p, h)
        until = h.get("x-amz-object-lock-retain-until-date", "")
        # botocore's own timestamp parser; 30 days ahead of the request, give or take the test's run time.
        parsed = botocore.parsers.DEFAULT_TIMESTAMP_PARSER(until).timestamp()
        assert abs(parsed - (now + 30 * 86400)) < 600, (p, until)
        for name in ("x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date"):
            assert name in signed_headers(h), (p, name, signed_headers(h))
    # Parts carry the checksum, not the lock (S3 refuses lock headers on UploadPart).
    parts = [h for m, p, h, _ in lock if m == "PUT" and "partNumber=" in p]
    assert len(parts) == 2 and all("x-amz-object-lock-mode" not in h for h in parts)


def check_presigned(url):
    parts = urllib.parse.urlsplit(url)
    params = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    got = params.pop("X-Amz-Signature")
    req = AWSRequest(method="GET", url=urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")))
    req.context["timestamp"] = params["X-Amz-Date"]
    auth = S3SigV4QueryAuth(Credentials(ACCESS, SECRET), "s3", REGION, expires=int(params["X-Amz-Expires"]))
    auth._modify_request_before_signing(req)
    canonical = auth.canonical_request(req)
    expected = auth.signature(auth.string_to_sign(req, canonical), req)
    assert got == expected, f"presigned URL signature {got} != botocore {expected}\n{canonical}"


def main():
    source, build = os.environ["ARCA_SOURCE_DIR"], os.environ["ARCA_BUILD_DIR"]
    with tempfile.TemporaryDirectory() as tmp:
        s3_port, proxy_port = free_port(), free_port()
        env = dict(os.environ, NODE_OPTIONS="--openssl-legacy-provider")
        os.makedirs(tmp + "/data")
        server = subprocess.Popen([source + "/node_modules/.bin/s3rver", "-d", tmp + "/data", "-a", "127.0.0.1",
                                   "-p", str(s3_port), "--silent"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_port(s3_port)
            conn = http.client.HTTPConnection("127.0.0.1", s3_port)
            # s3rver takes a Host of "arca.localhost" as the bucket "arca.localhost" (CNAME style).
            for bucket in ("/arca", "/arca.localhost"):
                conn.request("PUT", bucket)
                response = conn.getresponse()
                assert response.status == 200, response.read()
                response.read()
            proxy = http.server.ThreadingHTTPServer(("127.0.0.1", proxy_port), make_proxy(s3_port))
            threading.Thread(target=proxy.serve_forever, daemon=True).start()
            creds = tmp + "/credentials"
            with open(creds, "w") as f:
                f.write(f"[default]\naws_access_key_id = {ACCESS}\naws_secret_access_key = {SECRET}\n")
            out = subprocess.run([build + "/src/store/sigv4_client", f"http://127.0.0.1:{proxy_port}",
                                  f"http://localhost:{proxy_port}", creds] + KEYS,
                                 capture_output=True, text=True, timeout=120)
            assert out.returncode == 0, out.stderr
            presigned, listed = out.stdout.split()
            assert int(listed) == len(KEYS), f"listed {listed} of {len(KEYS)} keys"
            proxy.shutdown()
        finally:
            os.killpg(server.pid, 15)
            server.wait()

    kinds = set()
    for method, raw_path, headers, body in recorded:
        got, expected, canonical = botocore_signature(method, raw_path, headers, body)
        assert got == expected, f"{method} {raw_path}: signature {got} != botocore {expected}\n{canonical}"
        query = raw_path.partition("?")[2]
        kinds.add(method + (" " + "&".join(sorted(k for k, _ in urllib.parse.parse_qsl(query, True))) if query else ""))
    # Every kind of request was seen and checked, including paging and multipart.
    for kind in ["PUT", "HEAD", "GET", "DELETE", "POST uploads", "PUT partNumber&uploadId", "POST uploadId",
                 "GET prefix&uploads", "GET key-marker&prefix&upload-id-marker&uploads", "DELETE uploadId",
                 "GET list-type&max-keys&prefix", "GET continuation-token&list-type&max-keys&prefix",
                 "GET delimiter&list-type&max-keys&prefix"]:
        assert kind in kinds, f"no {kind!r} request was made; saw {sorted(kinds)}"
    vhost = [(m, p) for m, p, h, _ in recorded if h.get("Host", "").startswith("arca.localhost:")]
    assert ("PUT", "/sig/vhost%20key.json") in vhost and ("GET", "/sig/vhost%20key.json") in vhost, vhost
    # Keys travel RFC 3986-encoded in the path.
    paths = {urllib.parse.unquote(p.partition("?")[0]) for _, p, h, _ in recorded if h.get("Host", "").startswith("127.")}
    for key in KEYS:
        assert "/arca/" + key in paths, key
    raw = {p.partition("?")[0] for _, p, _, _ in recorded}
    assert "/arca/sig/plus%2Bsign.json" in raw and "/arca/sig/with%20space.json" in raw, sorted(raw)
    # SSE and storage class go on uploads and are signed (checked above via the x-amz- rule).
    uploads = [h for m, p, h, _ in recorded if m == "PUT" and "?" not in p and p.startswith("/arca/")]
    assert len(uploads) >= len(KEYS)
    assert all(h.get("x-amz-server-side-encryption") == "AES256" for h in uploads)
    assert all(h.get("x-amz-storage-class") == "STANDARD_IA" for h in uploads)
    # CRC32 checksums: on the single PUT and on each part, matching the bytes sent.
    crc_puts = [(h, b) for m, p, h, b in recorded if m == "PUT" and "/sig/crc/" in p]
    assert len(crc_puts) == 3, len(crc_puts)  # one small object, two parts
    for h, body in crc_puts:
        want = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
        assert h.get("x-amz-checksum-crc32") == want, (h.get("x-amz-checksum-crc32"), want)
    creates = [h for m, p, h, _ in recorded if m == "POST" and p.endswith("?uploads=") and "/sig/crc/" in p]
    assert creates and creates[0].get("x-amz-checksum-algorithm") == "CRC32"
    check_object_lock()
    # Start-up cleaning aborted the uploads of years ago, the "&" key decoded from the XML, and not the live one.
    # And the upload whose body broke was aborted with the UploadId s3rver gave it.
    broken = "/arca/sig/broken upload.bin"
    assert created.get(broken), created
    assert sorted(aborted) == sorted([("/arca/sig/backups/a&b/a&b.tar.gz", "old-3"),
                                      ("/arca/sig/backups/b1/b1.tar.gz", "old-1"), (broken, created[broken])]), aborted
    check_presigned(presigned)
    print(f"ok: {len(recorded)} requests and one presigned URL agree with botocore")


if __name__ == "__main__":
    main()
