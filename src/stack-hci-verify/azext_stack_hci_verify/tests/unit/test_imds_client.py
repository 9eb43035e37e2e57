# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The IMDS HTTP client against the emulator's IMDS server and small loopback servers.

Only 127.0.0.1 is used: a "dead" endpoint is a loopback port bound then closed (refused at
once); a "blackhole" accepts connections and never answers (times out).

Time budgets are checked on the client's injected clock and sleep (``FakeTime``), never by timing
the test: how long the calls take in real time is measured by the benchmark (bench/run.py).
"""

import contextlib
import datetime as dt
import http.client
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from azext_stack_hci_verify.adapters import imds as client
from azext_stack_hci_verify.attestation import Status, load_pem_bundle, verify_attested_document
from emulator import imds


class FakeTime:
    """The client's injected clock and sleep. Time moves only when the client sleeps, and by ``step``
    seconds at every reading of the clock, so that a budget runs out after a known number of readings
    whatever the machine is doing."""

    def __init__(self, step=0.0):
        self.now, self.step, self.waits = 0.0, step, []

    def monotonic(self):
        value = self.now
        self.now += self.step
        return value

    def sleep(self, seconds):
        self.waits.append(seconds)
        self.now += seconds

    def fetch(self, url, **kwargs):
        return client.fetch_attested_document(url, _clock=self.monotonic, _sleep=self.sleep, **kwargs)


# Each reading of the clock is a quarter of a second: a 1 s budget is spent after four readings.
STEP = 0.25


# -- servers ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    server, info = imds.create_imds_server(tmp_path_factory.mktemp("imds"))
    imds.serve_in_thread(server)
    with open(info["trustBundle"], "rb") as handle:
        info["roots"] = load_pem_bundle(handle.read())
    with open(info["intermediates"], "rb") as handle:
        info["intermediateCerts"] = load_pem_bundle(handle.read())
    info["port"] = server.server_address[1]
    yield info
    server.shutdown()
    server.server_close()


def _control(info, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", info["port"], timeout=5)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def set_mode(info, mode, count=None, **extra):
    status, body = _control(info, "POST", imds.MODE_PATH, dict(mode=mode, count=count, **extra))
    assert status == 200, body
    return body


def request_log(info):
    return _control(info, "GET", imds.REQUESTS_PATH)[1]


@pytest.fixture(autouse=True)
def _reset(request):
    if "emulator" in request.fixturenames:
        info = request.getfixturevalue("emulator")
        set_mode(info, "valid", slowSeconds=5.0)
        _control(info, "DELETE", imds.REQUESTS_PATH)
    yield


def _raw_get(info, target, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", info["port"], timeout=5)
    try:
        conn.request("GET", target, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def dead_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def blackhole():
    """Accepts connections, reads nothing, answers nothing."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(32)
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for sock in held:
            sock.close()
        listener.close()


@contextlib.contextmanager
def scripted(responses):
    """A loopback HTTP server answering each request with the next (status, headers, body)."""
    queue = list(responses)
    seen = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            seen.append(self.path)
            status, headers, body = queue.pop(0) if len(queue) > 1 else queue[0]
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


# -- the happy path ---------------------------------------------------------------------------

def test_fetch_and_verify(emulator):
    fetched = client.fetch_attested_document(emulator["imdsUrl"])
    assert fetched.ok and fetched.status == 200 and fetched.attempts == 1
    assert re.fullmatch(r"\d{10}", fetched.nonce)
    result = verify_attested_document(fetched.body, trust_roots=emulator["roots"],
                                      intermediates=emulator["intermediateCerts"], expected_nonce=fetched.nonce,
                                      allowed_signers=[emulator["allowedSigner"]], at=dt.datetime.now(dt.timezone.utc))
    assert result.status is Status.PASSED, result.to_dict()


def test_request_shape(emulator):
    fetched = client.fetch_attested_document(emulator["imdsUrl"], nonce="12345", api_version="2021-02-01")
    assert fetched.ok
    entry = request_log(emulator)[-1]
    assert entry["target"] == "/metadata/attested/document?api-version=2021-02-01&nonce=12345"
    headers = {k.lower(): v for k, v in entry["headers"].items()}
    assert headers["metadata"] == "true"
    for forbidden in ("x-forwarded-for", "authorization", "proxy-authorization", "cookie"):
        assert forbidden not in headers


def test_no_nonce_gets_a_timestamp(emulator):
    fetched = client.fetch_attested_document(emulator["imdsUrl"], nonce="")
    assert fetched.ok and fetched.nonce is None
    assert "nonce=" not in request_log(emulator)[-1]["target"]
    result = verify_attested_document(fetched.body, trust_roots=emulator["roots"],
                                      intermediates=emulator["intermediateCerts"], at=dt.datetime.now(dt.timezone.utc))
    assert re.fullmatch(r"\d{8}-\d{6}", result.document.nonce)


def test_nonce_length_is_a_parameter(emulator):
    assert len(client.fetch_attested_document(emulator["imdsUrl"], nonce_length=32).nonce) == 32


@pytest.mark.parametrize("mode, status, reason_code", [
    ("valid", Status.PASSED, "verified"),
    ("tampered", Status.FAILED, "signature-invalid"),
    ("wrong-nonce", Status.FAILED, "nonce-mismatch"),
    ("expired", Status.FAILED, "document-expired"),
    ("signer-not-allowed", Status.FAILED, "signer-not-allowed"),
    ("untrusted-chain", Status.UNKNOWN, "chain-untrusted"),
    ("bag-confusion", Status.FAILED, "bag-confusion"),
])
def test_document_modes_over_http(emulator, mode, status, reason_code):
    set_mode(emulator, mode, count=1)
    fetched = client.fetch_attested_document(emulator["imdsUrl"])
    assert fetched.ok
    result = verify_attested_document(fetched.body, trust_roots=emulator["roots"],
                                      intermediates=emulator["intermediateCerts"], expected_nonce=fetched.nonce,
                                      at=dt.datetime.now(dt.timezone.utc))
    assert (result.status, result.reason_code) == (status, reason_code)
    assert client.fetch_attested_document(emulator["imdsUrl"]).ok  # count=1: back to valid


# -- what the IMDS server enforces ------------------------------------------------------------

def test_server_requires_metadata_header(emulator):
    status, body = _raw_get(emulator, "/metadata/attested/document?api-version=2018-10-01")
    assert status == 400 and "Required metadata header not specified" in body


def test_server_requires_api_version(emulator):
    status, body = _raw_get(emulator, "/metadata/attested/document", {"Metadata": "true"})
    assert status == 400 and "api-version is invalid or was not specified" in body
    fetched = client.fetch_attested_document(emulator["imdsUrl"], api_version="")
    assert (fetched.status, fetched.reason_code, fetched.attempts) == (400, "api-version-invalid", 1)


def test_server_rejects_duplicate_parameters(emulator):
    status, _ = _raw_get(emulator, "/metadata/attested/document?api-version=2018-10-01&nonce=1&nonce=2",
                         {"Metadata": "true"})
    assert status == 400


def test_server_rejects_x_forwarded_for(emulator):
    status, _ = _raw_get(emulator, "/metadata/attested/document?api-version=2018-10-01",
                         {"Metadata": "true", "X-Forwarded-For": "10.0.0.1"})
    assert status == 400


def test_mode_endpoint_validates(emulator):
    assert _control(emulator, "POST", imds.MODE_PATH, {"mode": "nonsense"})[0] == 400
    assert _control(emulator, "POST", imds.MODE_PATH, {"mode": "valid", "count": 0})[0] == 400
    assert _control(emulator, "GET", imds.MODE_PATH)[1]["mode"] == "valid"


# -- HTTP failure modes -----------------------------------------------------------------------

def test_missing_header_mode(emulator):
    set_mode(emulator, "missing-header")
    fetched = client.fetch_attested_document(emulator["imdsUrl"])
    assert (fetched.ok, fetched.status, fetched.reason_code, fetched.attempts) == (
        False, 400, "missing-metadata-header", 1)
    assert b"Required metadata header" in fetched.body


def test_throttled_then_success(emulator):
    set_mode(emulator, "throttled", count=1)
    clock = FakeTime()
    fetched = clock.fetch(emulator["imdsUrl"], timeout=5)
    assert fetched.ok and fetched.attempts == 2
    assert clock.waits == [1.0] and fetched.latency_ms == 1000.0  # honoured Retry-After: 1


def test_throttled_gives_up_within_budget(emulator):
    set_mode(emulator, "throttled")
    clock = FakeTime()
    fetched = clock.fetch(emulator["imdsUrl"], timeout=1.5)
    assert (fetched.status, fetched.reason_code) == (429, "throttled")
    assert fetched.attempts == 2 and clock.waits == [1.0]  # a second wait of 1 s would not fit in the 0.5 s left
    assert "not retried" in fetched.reason and fetched.latency_ms <= 1500


def test_server_error_retried_then_success(emulator):
    set_mode(emulator, "server-error", count=2)
    fetched = client.fetch_attested_document(emulator["imdsUrl"], timeout=5)
    assert fetched.ok and fetched.attempts == 3


def test_server_error_attempts_are_bounded(emulator):
    set_mode(emulator, "server-error")
    fetched = client.fetch_attested_document(emulator["imdsUrl"], timeout=5, max_attempts=2)
    assert (fetched.status, fetched.reason_code, fetched.attempts) == (500, "server-error", 2)
    assert len(request_log(emulator)) == 2


def assert_stopped_at_the_budget(fetched, budget):
    """Gave up because the budget was spent (not before), and stopped within two readings of the clock."""
    assert (fetched.status, fetched.reason_code, fetched.attempts) == (None, "timed-out", 1), fetched
    assert budget * 1000 <= fetched.latency_ms <= (budget + 2 * STEP) * 1000, fetched.latency_ms


def test_slow_endpoint_times_out_within_budget(emulator):
    set_mode(emulator, "slow", slowSeconds=5)
    fetched = FakeTime(STEP).fetch(emulator["imdsUrl"], timeout=1.0)
    assert_stopped_at_the_budget(fetched, 1.0)
    assert "did not answer within the time budget" in fetched.reason


def test_proxy_variables_are_ignored(emulator, monkeypatch):
    proxy = f"http://127.0.0.1:{dead_port()}"
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    fetched = client.fetch_attested_document(emulator["imdsUrl"])
    assert fetched.ok, fetched.reason
    # origin-form target: the request went straight to the server, not through a proxy
    assert request_log(emulator)[-1]["target"].startswith("/metadata/attested/document?")


# -- dead, silent and misbehaving endpoints ---------------------------------------------------

def test_dead_port_is_refused_fast():
    clock = FakeTime(STEP)
    fetched = clock.fetch(f"http://127.0.0.1:{dead_port()}", timeout=5)
    assert (fetched.status, fetched.reason_code, fetched.attempts) == (None, "connection-refused", 1)
    assert clock.waits == []  # not retried, nothing waited for


def test_blackhole_times_out_within_budget():
    with blackhole() as url:
        fetched = FakeTime(STEP).fetch(url, timeout=1.0)
    assert_stopped_at_the_budget(fetched, 1.0)


@contextlib.contextmanager
def rendezvous(count):
    """Answers (HTTP 404) only once ``count`` connections are open at the same time."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(32)
    held, stop = [], threading.Event()

    def serve():
        listener.settimeout(0.1)
        while not stop.is_set() and len(held) < count:
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue
        for conn in held:
            try:
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()


def test_probe_endpoints_run_concurrently(emulator):
    # The meeting point answers only when four probes are connected at once: probed one after another,
    # the first would time out waiting for the others.
    with rendezvous(4) as meeting:
        urls = [meeting, meeting, f"http://127.0.0.1:{dead_port()}", meeting, emulator["imdsUrl"], meeting]
        results = client.probe_endpoints(urls, timeout=5.0)
    assert [r["endpoint"] for r in results] == urls
    assert [r["reasonCode"] for r in results] == ["http-error", "http-error", "connection-refused", "http-error",
                                                  None, "http-error"]
    assert [r["reachable"] for r in results] == [True, True, False, True, True, True]
    assert [r["httpStatus"] for r in results] == [404, 404, None, 404, 200, 404]
    assert list(results[0]) == ["endpoint", "reachable", "httpStatus", "latencyMs", "reasonCode", "reason"]


def test_redirect_is_not_followed(emulator):
    target = emulator["imdsUrl"] + "/metadata/attested/document?api-version=2018-10-01"
    with scripted([(302, {"Location": target, "Content-Length": "0"}, b"")]) as (url, seen):
        fetched = client.fetch_attested_document(url)
    assert (fetched.status, fetched.reason_code, fetched.attempts) == (302, "redirect-refused", 1)
    assert len(seen) == 1 and request_log(emulator) == []


def test_response_too_large_by_content_length():
    with scripted([(200, {"Content-Length": "100000"}, b"x" * 100000)]) as (url, _):
        fetched = client.fetch_attested_document(url)
    assert (fetched.reason_code, fetched.body) == ("response-too-large", None)


def test_response_too_large_without_content_length():
    with scripted([(200, {}, b"x" * 100000)]) as (url, _):
        fetched = client.fetch_attested_document(url, max_bytes=4096)
    assert fetched.reason_code == "response-too-large"


def test_gone_is_retried():
    body = json.dumps({"encoding": "pkcs7", "signature": "AAAA"}).encode()
    script = [(410, {"Content-Length": "0"}, b""), (200, {"Content-Length": str(len(body))}, body)]
    with scripted(script) as (url, seen):
        fetched = client.fetch_attested_document(url, timeout=5)
    assert fetched.ok and fetched.attempts == 2 and fetched.body == body and len(seen) == 2


def test_retry_after_beyond_budget_is_not_waited_for():
    clock = FakeTime()
    with scripted([(429, {"Retry-After": "30", "Content-Length": "0"}, b"")]) as (url, seen):
        fetched = clock.fetch(url, timeout=2)
    assert (fetched.reason_code, fetched.attempts, len(seen)) == ("throttled", 1, 1)
    assert clock.waits == []
    assert "not retried" in fetched.reason


def test_retry_after_http_date_reads_the_injected_wall_clock():
    # The date is 3 s after the injected "now": the client waits 3 s (on its injected sleep), not
    # whatever the machine's clock would make of a date in 2001.
    header = "Sat, 01 Sep 2001 00:00:03 GMT"
    now = dt.datetime(2001, 9, 1, tzinfo=dt.timezone.utc).timestamp()
    waits = []
    script = [(503, {"Retry-After": header, "Content-Length": "0"}, b""), (503, {"Content-Length": "0"}, b"")]
    with scripted(script) as (url, _):
        fetched = client.fetch_attested_document(url, timeout=8, max_attempts=2, _sleep=waits.append,
                                                 _wall_clock=lambda: now)
    assert waits == [3.0] and fetched.attempts == 2


def test_retry_after_parsing():
    assert client._retry_after("7", 0) == 7.0  # pylint: disable=protected-access
    assert client._retry_after("Sat, 01 Sep 2001 00:00:10 GMT", 999_302_400.0) == 10.0  # noqa
    assert client._retry_after("Sat, 01 Sep 2001 00:00:10 GMT", 999_302_500.0) == 0.0
    assert client._retry_after("soon", 0) is None


def test_gateway_html_error_page_shows_status_and_first_line():
    page = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
            b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n")
    with scripted([(502, {"Content-Type": "text/html", "Content-Length": str(len(page))}, page)]) as (url, _):
        fetched = client.fetch_attested_document(url, max_attempts=1)
    assert fetched.reason_code == "server-error"
    assert fetched.reason == "HTTP 502 Bad Gateway: 502 Bad Gateway"
    assert "JSON" not in fetched.reason and "<" not in fetched.reason


def test_error_bodies_never_carry_control_characters():
    body = b"line one\x1b[31m red\x07\nline two"
    with scripted([(404, {"Content-Length": str(len(body))}, body)]) as (url, _):
        fetched = client.fetch_attested_document(url)
    assert fetched.reason == "HTTP 404 Not Found: line one [31m red"


def test_other_http_errors_are_not_retried():
    with scripted([(404, {"Content-Length": "9"}, b"not found")]) as (url, seen):
        fetched = client.fetch_attested_document(url)
    assert (fetched.status, fetched.reason_code, fetched.attempts) == (404, "http-error", 1)


def test_garbage_instead_of_http():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer():
        conn, _ = listener.accept()
        conn.recv(4096)
        conn.sendall(b"SSH-2.0-OpenSSH\r\n")
        conn.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        fetched = client.fetch_attested_document(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=2)
    finally:
        thread.join(2)
        listener.close()
    assert fetched.reason_code == "protocol-error"


@pytest.mark.parametrize("url", ["https://127.0.0.1:42542", "ftp://x", "http://", "http://u:p@127.0.0.1:1",
                                 "http://127.0.0.1:99999", "http://127.0.0.1:1/?q=1", "127.0.0.1:42542"])
def test_invalid_urls(url):
    fetched = client.fetch_attested_document(url)
    assert (fetched.reason_code, fetched.attempts, fetched.status) == ("invalid-url", 0, None)


@pytest.mark.parametrize("url", ["http://exa mple.com", "http://127.0.0.1:1/a b"])
def test_urls_http_client_refuses_are_invalid_url(url):
    # http.client raised InvalidURL out of fetch_attested_document (or after connecting).
    fetched = client.fetch_attested_document(url, timeout=1)
    assert (fetched.reason_code, fetched.attempts, fetched.status) == ("invalid-url", 0, None)


def test_port_zero_is_not_port_80():
    fetched = client.fetch_attested_document("http://127.0.0.1:0", timeout=1)
    assert (fetched.reason_code, fetched.attempts) == ("invalid-url", 0)


@pytest.mark.parametrize("head", [b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 4000\r\n\r\n"])
def test_trickling_server_is_cut_at_the_budget(head):
    # A socket timeout bounds each receive, not the whole read: one byte every 0.2 s used to
    # keep the client reading the status line, headers or body far past its budget.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def trickle():
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(head)
            for _ in range(25):  # at most 5 s, so that a regression fails instead of hanging
                if stop.is_set():
                    return
                try:
                    conn.sendall(b"x")
                except OSError:
                    return
                time.sleep(0.2)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        # The real clock: the bytes keep coming in real time. Without a deadline on the whole read,
        # the client would read to the end of the trickle and not time out.
        fetched = client.fetch_attested_document(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=1)
    finally:
        stop.set()
        thread.join(2)
        listener.close()
    assert (fetched.status, fetched.reason_code) == (None, "timed-out")


def test_base_url_path_prefix(emulator):
    fetched = client.fetch_attested_document(emulator["imdsUrl"] + "/")
    assert fetched.ok


# -- defaults ---------------------------------------------------------------------------------

def test_default_endpoints():
    assert client.default_endpoints({}) == {"host": "http://127.0.0.1:42542", "vm": "http://169.254.169.253:80"}
    assert client.default_endpoints({client.HOST_IMDS_ENV: " http://127.0.0.1:5000 ",
                                     client.VM_IMDS_ENV: ""}) == {
        "host": "http://127.0.0.1:5000", "vm": "http://169.254.169.253:80"}
    assert client.default_endpoints({client.VM_IMDS_ENV: "http://127.0.0.1:6000"})["vm"] == "http://127.0.0.1:6000"


def test_new_nonce():
    assert re.fullmatch(r"\d{10}", client.new_nonce())
    assert re.fullmatch(r"\d{32}", client.new_nonce(32))
    assert len({client.new_nonce() for _ in range(50)}) > 45
    with pytest.raises(ValueError):
        client.new_nonce(0)


def test_fetch_result_to_dict(emulator):
    data = client.fetch_attested_document(emulator["imdsUrl"], nonce="42").to_dict()
    assert list(data) == ["endpoint", "url", "nonce", "httpStatus", "latencyMs", "attempts", "reasonCode", "reason"]
    assert data["httpStatus"] == 200 and data["nonce"] == "42"
