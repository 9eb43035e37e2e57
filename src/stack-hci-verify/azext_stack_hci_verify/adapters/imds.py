# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""IMDS attested-document client: the standard library only, and the rules IMDS asks for.

* No proxy, ever: ``http.client`` connects to the address given and never reads
  ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` (unlike urllib and requests).
* ``Metadata: true``, no credentials, no ``X-Forwarded-For``; redirects are reported, not followed.
* A short connect timeout (2 s) and an overall time budget that bounds every attempt, read and
  retry; bodies are capped (64 KiB; a real response is about 4 KB).
* 429, 410 and 5xx are retried a bounded number of times inside the budget, honouring
  ``Retry-After`` when it fits in what is left.

Failures come back as a ``FetchResult`` with a stable ``reason_code``; nothing here raises for
network trouble.
"""

import email.utils
import errno
import http.client
import io
import os
import re
import secrets
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timezone
from typing import Callable, Optional
from urllib.parse import urlencode, urlsplit

HOST_IMDS_URL = "http://127.0.0.1:42542"  # the Azure Local host's attestation endpoint
VM_IMDS_URL = "http://169.254.169.253:80"  # legacy-OS VMs, over the host's internal switch
HOST_IMDS_ENV = "STACK_HCI_VERIFY_HOST_IMDS_URL"
VM_IMDS_ENV = "STACK_HCI_VERIFY_VM_IMDS_URL"

ATTESTED_PATH = "/metadata/attested/document"
DEFAULT_API_VERSION = "2018-10-01"
DEFAULT_CONNECT_TIMEOUT = 2.0
DEFAULT_TIMEOUT = 10.0
DEFAULT_PROBE_TIMEOUT = 5.0
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_NONCE_LENGTH = 10
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "stack-hci-verify"

_CHUNK = 8192
_MIN_BACKOFF = 0.25
_MAX_BACKOFF = 2.0
# What http.client refuses in a host or request target (it raises InvalidURL for these).
_BAD_URL_CHARS = re.compile(r"[\x00-\x20\x7f]")


def default_endpoints(environ=None):
    """``{"host": url, "vm": url}``: the real addresses unless the environment overrides them
    (``STACK_HCI_VERIFY_HOST_IMDS_URL``, ``STACK_HCI_VERIFY_VM_IMDS_URL``)."""
    environ = os.environ if environ is None else environ
    host = (environ.get(HOST_IMDS_ENV) or "").strip() or HOST_IMDS_URL
    vm = (environ.get(VM_IMDS_ENV) or "").strip() or VM_IMDS_URL
    return {"host": host, "vm": vm}


def new_nonce(length=DEFAULT_NONCE_LENGTH):
    """Random decimal digits (the IMDS documentation uses a 10-digit nonce)."""
    if length < 1:
        raise ValueError("nonce length must be at least 1")
    return "".join(secrets.choice("0123456789") for _ in range(length))


@dataclass
class FetchResult:  # pylint: disable=too-many-instance-attributes
    endpoint: str
    url: Optional[str]
    nonce: Optional[str]  # what was sent (None: no nonce parameter)
    status: Optional[int]  # last HTTP status, None when no response came back
    body: Optional[bytes]  # the last response body (also for errors), at most the cap
    latency_ms: float  # whole call, retries and waits included
    attempts: int
    reason_code: Optional[str] = None  # None when ok
    reason: Optional[str] = None

    @property
    def ok(self):
        return self.status == 200 and self.reason_code is None

    def to_dict(self):
        return {
            "endpoint": self.endpoint,
            "url": self.url,
            "nonce": self.nonce,
            "httpStatus": self.status,
            "latencyMs": self.latency_ms,
            "attempts": self.attempts,
            "reasonCode": self.reason_code,
            "reason": self.reason,
        }


@dataclass
class _Attempt:
    status: Optional[int] = None
    body: Optional[bytes] = None
    reason_code: Optional[str] = None
    reason: Optional[str] = None
    retry_after: Optional[float] = None


def _target(base_url, api_version, nonce):
    """(host, port, request-target) or raise ValueError."""
    parts = urlsplit(base_url.strip())
    if parts.scheme.lower() != "http":
        raise ValueError(f"IMDS is plain http; {base_url!r} is not an http:// URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("credentials in an IMDS URL are not allowed")
    if parts.query or parts.fragment:
        raise ValueError("the IMDS base URL must not carry a query or fragment")
    host = parts.hostname
    if not host:
        raise ValueError(f"{base_url!r} has no host")
    if _BAD_URL_CHARS.search(host) or _BAD_URL_CHARS.search(parts.path):
        raise ValueError(f"{base_url!r} holds spaces or control characters")
    port = parts.port  # ValueError for a bad port
    if port is None:
        port = 80
    elif port == 0:
        raise ValueError(f"{base_url!r}: port 0 is not a port to connect to")
    query = [("api-version", api_version)]
    if nonce:
        query.append(("nonce", nonce))
    return host, port, parts.path.rstrip("/") + ATTESTED_PATH + "?" + urlencode(query)


@dataclass
class _Clocks:
    monotonic: Callable[[], float]
    wall: Callable[[], float]
    sleep: Callable[[float], None]
    deadline: float = 0.0

    def left(self):
        return self.deadline - self.monotonic()


@dataclass
class _Target:
    host: str
    port: int
    path: str  # the request target: path and query
    max_bytes: int


def fetch_attested_document(base_url, *, nonce=None, api_version=DEFAULT_API_VERSION,  # pylint: disable=too-many-locals
                            connect_timeout=DEFAULT_CONNECT_TIMEOUT, timeout=DEFAULT_TIMEOUT,
                            max_attempts=DEFAULT_MAX_ATTEMPTS, max_bytes=MAX_RESPONSE_BYTES,
                            nonce_length=DEFAULT_NONCE_LENGTH, _sleep=time.sleep, _clock=time.monotonic,
                            _wall_clock=time.time):
    """GET ``{base_url}/metadata/attested/document?api-version=...&nonce=...``.

    ``nonce``: None generates ``nonce_length`` random digits; ``""`` sends no nonce (IMDS then
    puts a timestamp in its place). ``timeout`` is the budget for the whole call, retries and
    Retry-After waits included; ``connect_timeout`` bounds each TCP connect. ``_clock`` (monotonic)
    measures the budget, ``_wall_clock`` (seconds since the epoch) reads an HTTP-date Retry-After.
    """
    clocks = _Clocks(_clock, _wall_clock, _sleep)
    start = _clock()
    clocks.deadline = start + max(0.0, float(timeout))
    if nonce is None:
        nonce = new_nonce(nonce_length)
    nonce = nonce or None

    def result(attempts, attempt, url):
        return FetchResult(
            endpoint=base_url, url=url, nonce=nonce, status=attempt.status, body=attempt.body,
            latency_ms=round((_clock() - start) * 1000.0, 1), attempts=attempts,
            reason_code=attempt.reason_code, reason=attempt.reason)

    try:
        host, port, path = _target(base_url, api_version, nonce)
    except ValueError as exc:
        return result(0, _Attempt(reason_code="invalid-url", reason=str(exc)), None)
    url = f"http://{host if ':' not in host else '[' + host + ']'}:{port}{path}"
    attempts, attempt = _with_retries(_Target(host, port, path, max_bytes), clocks, connect_timeout,
                                      max(1, max_attempts), timeout)
    return result(attempts, attempt, url)


def _with_retries(target, clocks, connect_timeout, max_attempts, timeout):
    """(attempts made, last attempt): retry throttling, 410 and 5xx while the budget allows."""
    attempts = 0
    attempt = _Attempt(reason_code="timed-out", reason="the time budget was spent before the first attempt")
    while clocks.left() > 0:
        attempts += 1
        attempt = _request_once(target, min(connect_timeout, clocks.left()), clocks)
        if attempt.reason_code not in ("throttled", "gone", "server-error") or attempts >= max_attempts:
            break
        delay = attempt.retry_after if attempt.retry_after is not None else min(
            _MAX_BACKOFF, _MIN_BACKOFF * (2 ** (attempts - 1)))
        if delay >= clocks.left():
            attempt.reason = (attempt.reason or "") + (
                f"; not retried: waiting {delay:g} s would exceed the {timeout:g} s budget")
            break
        clocks.sleep(delay)
    return attempts, attempt


def _connect(conn, host, port, connect_timeout):
    """None once connected, else the failed attempt."""
    try:
        conn.connect()
    except (socket.timeout, TimeoutError):
        return _Attempt(reason_code="connect-timeout",
                        reason=f"no TCP connection to {host}:{port} within {connect_timeout:g} s")
    except ConnectionRefusedError:
        return _Attempt(reason_code="connection-refused",
                        reason=f"{host}:{port} refused the connection: nothing listens there")
    except OSError as exc:
        if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
            return _Attempt(reason_code="unreachable", reason=f"{host}:{port} is unreachable: {exc.strerror or exc}")
        return _Attempt(reason_code="connection-failed", reason=f"could not connect to {host}:{port}: {exc}")
    return None


def _request_once(target, connect_timeout, clocks):  # pylint: disable=too-many-return-statements
    host, port = target.host, target.port
    conn = http.client.HTTPConnection(host, port, timeout=max(0.001, connect_timeout))
    try:
        failed = _connect(conn, host, port, connect_timeout)
        if failed is not None:
            return failed
        # Kept here: http.client hands the socket to the response (and drops conn.sock) when the
        # server will close the connection.
        sock = conn.sock
        conn.sock = _DeadlineSocket(sock, clocks.deadline, clocks.monotonic)
        try:
            return _exchange(conn, sock, target, clocks)
        except (socket.timeout, TimeoutError):
            return _Attempt(reason_code="timed-out", reason=f"{host}:{port} did not answer within the time budget")
        except http.client.IncompleteRead:
            return _Attempt(reason_code="protocol-error", reason="the connection closed in the middle of the body")
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            return _Attempt(reason_code="connection-closed",
                            reason="the connection was closed without a complete reply from the server")
        except http.client.HTTPException as exc:
            return _Attempt(reason_code="protocol-error", reason=f"not a valid HTTP response: {type(exc).__name__}")
        except OSError as exc:
            return _Attempt(reason_code="connection-failed", reason=f"connection to {host}:{port} failed: {exc}")
    finally:
        conn.close()


def _exchange(conn, sock, target, clocks):
    def arm():
        left = clocks.left()
        if left <= 0:
            raise socket.timeout("time budget spent")
        sock.settimeout(left)

    arm()
    conn.putrequest("GET", target.path, skip_accept_encoding=True)
    conn.putheader("Metadata", "true")
    conn.putheader("Accept", "application/json")
    conn.putheader("User-Agent", USER_AGENT)
    conn.putheader("Connection", "close")
    conn.endheaders()
    arm()
    response = conn.getresponse()
    status = response.status
    if 300 <= status < 400:
        location = _CONTROL.sub("?", response.getheader("Location") or "?")[:200]
        return _Attempt(status=status, reason_code="redirect-refused",
                        reason=f"HTTP {status} redirect to {location} was not followed (IMDS never redirects)")
    declared = response.getheader("Content-Length")
    if declared and declared.strip().isdigit() and int(declared) > target.max_bytes:
        return _Attempt(status=status, reason_code="response-too-large",
                        reason=f"the response declares {int(declared)} bytes; the cap is {target.max_bytes}")
    body = _read_body(response, target.max_bytes, arm)
    if body is None:
        return _Attempt(status=status, reason_code="response-too-large",
                        reason=f"the response is larger than the {target.max_bytes}-byte cap")
    return _classify(status, body, response, clocks.wall())


def _read_body(response, max_bytes, arm):
    """The body, or None past ``max_bytes``."""
    chunks, size = [], 0
    while not response.isclosed():  # closed once a Content-Length body is complete
        arm()
        chunk = response.read(min(_CHUNK, max_bytes + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return None
    return b"".join(chunks)


class _DeadlineReader(io.RawIOBase):
    """The socket's reader, with every receive bounded by what is left of the budget.

    A socket timeout bounds one receive, not a whole read: without this a server trickling a
    byte at a time (status line, headers or body) would hold a read far past the budget."""

    def __init__(self, sock, deadline, clock):
        super().__init__()
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)  # holds a reference: the socket stays open
        self._deadline = deadline
        self._clock = clock

    def readable(self):
        return True

    def readinto(self, b):
        left = self._deadline - self._clock()
        if left <= 0:
            raise socket.timeout("time budget spent")
        self._sock.settimeout(left)
        return self._raw.readinto(b)

    def close(self):
        if not self.closed:
            self._raw.close()
        super().close()


def deadline_socket(sock, deadline, clock):
    """Wrap a connected socket so that every read is bounded by what is left until ``deadline``."""
    return _DeadlineSocket(sock, deadline, clock)


class _DeadlineSocket:
    """What http.client sees as the connection's socket: reads go through ``_DeadlineReader``."""

    def __init__(self, sock, deadline, clock):
        self._sock = sock
        self._deadline = deadline
        self._clock = clock

    def makefile(self, mode="r", buffering=None, **kwargs):  # pylint: disable=unused-argument
        if "r" not in mode:
            raise ValueError(f"unexpected makefile mode {mode!r}")
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline, self._clock), _CHUNK)

    def __getattr__(self, name):
        return getattr(self._sock, name)


def _classify(status, body, response, now):
    if status == 200:
        return _Attempt(status=status, body=body)
    excerpt = body_excerpt(body, response.getheader("Content-Type"))
    lowered = body[:512].decode("utf-8", "replace").lower()
    code, reason = _error_kind(status, lowered)
    if reason is None:
        reason = http_error_text(status, response.reason, excerpt)
    return _Attempt(status=status, body=body, reason_code=code, reason=reason,
                    retry_after=_retry_after(response.getheader("Retry-After"), now))


def _error_kind(status, lowered):
    """(reasonCode, fixed reason or None) for an IMDS error status."""
    if status == 400 and "metadata header" in lowered:
        return "missing-metadata-header", "HTTP 400: Required metadata header not specified"
    if status == 400 and "api-version" in lowered:
        return "api-version-invalid", "HTTP 400: the api-version is invalid or not supported"
    if status == 429:
        return "throttled", "HTTP 429: too many requests (IMDS allows about 5 per second)"
    if status == 410:
        return "gone", "HTTP 410: the endpoint is not ready yet (IMDS asks to retry for up to 70 s)"
    if 500 <= status < 600:
        return "server-error", None
    return ("bad-request" if status == 400 else "http-error"), None


_TAG = re.compile(r"<[^>]*>")
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def body_excerpt(body, content_type=None, limit=160):
    """The first line of an error body that a person would read, on one line: for HTML (a
    gateway's error page) the first line of its text, not its markup. Control characters never
    come through."""
    text = (body or b"")[:4096].decode("utf-8", "replace")
    is_html = "html" in (content_type or "").lower() or text.lstrip()[:1] == "<"
    if is_html:
        text = _TAG.sub("\n", _SCRIPT.sub("", text))
        text = text.replace("&nbsp;", " ").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    line = next((" ".join(_CONTROL.sub(" ", part).split()) for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[:limit] + "..."


def http_error_text(status, phrase, excerpt):
    """``HTTP 502 Bad Gateway: <first line of the body>``: what the server or a gateway said."""
    phrase = " ".join(_CONTROL.sub(" ", phrase or "").split())[:60]
    head = f"HTTP {status}" + (f" {phrase}" if phrase else "")
    return f"{head}: {excerpt}" if excerpt else f"{head} with an empty body"


def _retry_after(value, now):
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP-date read against
    ``now``, seconds since the epoch), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now)


def probe_endpoint(base_url, *, connect_timeout=DEFAULT_CONNECT_TIMEOUT, timeout=DEFAULT_PROBE_TIMEOUT,
                   api_version=DEFAULT_API_VERSION, nonce=None, max_attempts=1):
    """One attested-document request, summarised:
    ``{endpoint, reachable, httpStatus, latencyMs, reasonCode, reason}``.
    ``reachable`` is true when any HTTP response came back."""
    fetched = fetch_attested_document(base_url, nonce=nonce, api_version=api_version,
                                      connect_timeout=connect_timeout, timeout=timeout, max_attempts=max_attempts)
    return {
        "endpoint": base_url,
        "reachable": fetched.status is not None,
        "httpStatus": fetched.status,
        "latencyMs": fetched.latency_ms,
        "reasonCode": fetched.reason_code,
        "reason": fetched.reason,
    }


def probe_endpoints(base_urls, *, connect_timeout=DEFAULT_CONNECT_TIMEOUT, timeout=DEFAULT_PROBE_TIMEOUT,
                    api_version=DEFAULT_API_VERSION, max_workers=16):
    """``probe_endpoint`` for each URL, concurrently (results in input order): every endpoint
    dead together costs about one timeout, not one per endpoint."""
    urls = list(base_urls)
    if not urls:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(urls))),
                            thread_name_prefix="imds-probe") as pool:
        futures = [pool.submit(probe_endpoint, url, connect_timeout=connect_timeout, timeout=timeout,
                               api_version=api_version) for url in urls]
        return [future.result() for future in futures]
