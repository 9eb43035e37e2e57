# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Fetching what a certificate points at: its issuer (AIA caIssuers) and its OCSP answer.

The rules:

* only ``http``/``https`` URLs, without credentials, on hosts of an allow-list (default:
  Microsoft's and DigiCert's PKI hosts, ``DEFAULT_HOSTS``);
* a mirror setting maps every URL onto a base URL of the user's choosing, the URL's path kept
  (sites without internet keep a mirror of the public PKI);
* redirects are followed only to the same host (at most ``MAX_REDIRECTS``), never to another;
* a connect timeout and an overall budget per fetch (default 5 s), a size cap (64 KiB);
* no proxy: connections go straight to the host or the mirror;
* issuers (DER, PEM or a PKCS#7 bundle) are cached in a directory, keyed by the URL and kept
  while the certificate is valid, so repeated runs and offline hosts need no fetch.

What comes back is data (``IssuerCandidate``, ``RevocationEvidence``) with a reason code when
nothing usable came back; nothing here raises for network trouble. A fetched certificate is only
a candidate: the verifier decides whether it chains to the trust roots.
"""

import hashlib
import http.client
import os
import socket
import ssl
import tempfile
import time
import warnings
from dataclasses import dataclass, replace
from datetime import timezone
from typing import Optional, Tuple
from urllib.parse import urljoin, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.utils import CryptographyDeprecationWarning

from ..attestation.errors import TrustBundleError
from ..attestation.evidence import SOURCE_CACHE, SOURCE_FETCHED, IssuerCandidate, RevocationEvidence
from ..attestation.trust import load_certificates
from .imds import body_excerpt, deadline_socket, http_error_text

DEFAULT_HOSTS = (
    "www.microsoft.com", "caissuers.microsoft.com", "oneocsp.microsoft.com", "ocsp.msocsp.com",
    "cacerts.digicert.com", "ocsp.digicert.com",
)
MIRROR_ENV = "STACK_HCI_VERIFY_PKI_MIRROR"
HOSTS_ENV = "STACK_HCI_VERIFY_PKI_HOSTS"
NO_FETCH_ENV = "STACK_HCI_VERIFY_NO_FETCH"
TIMEOUT_ENV = "STACK_HCI_VERIFY_PKI_TIMEOUT"
DEFAULT_TIMEOUT = 5.0
DEFAULT_CONNECT_TIMEOUT = 2.0
MAX_BYTES = 64 * 1024
MAX_REDIRECTS = 3
USER_AGENT = "stack-hci-verify"
CACHE_SUBDIR = os.path.join("stack-hci-verify", "pki-cache")
_CHUNK = 8192
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class PkiSettings:
    allowed_hosts: Tuple[str, ...] = DEFAULT_HOSTS
    mirror: Optional[str] = None
    timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    max_bytes: int = MAX_BYTES
    fetch_issuers: bool = True
    cache_dir: Optional[str] = None


def settings_from_environment(environ=None, *, cache_dir=None, no_fetch=False):
    """``PkiSettings`` from the environment: ``STACK_HCI_VERIFY_PKI_MIRROR`` (base URL),
    ``STACK_HCI_VERIFY_PKI_HOSTS`` (comma-separated; ``default`` stands for ``DEFAULT_HOSTS``),
    ``STACK_HCI_VERIFY_NO_FETCH`` (true: no AIA fetching), ``STACK_HCI_VERIFY_PKI_TIMEOUT``
    (seconds). Raises ``ValueError`` for a setting that cannot be used, naming it."""
    environ = os.environ if environ is None else environ
    mirror = (environ.get(MIRROR_ENV) or "").strip() or None
    if mirror:
        problem = _url_problem(mirror)
        if problem or urlsplit(mirror).query or urlsplit(mirror).fragment:
            raise ValueError(f"{MIRROR_ENV} '{mirror}' is not a base URL: "
                             f"{problem or 'a query or fragment is not allowed'}")
    timeout = DEFAULT_TIMEOUT
    if (environ.get(TIMEOUT_ENV) or "").strip():
        try:
            timeout = float(environ[TIMEOUT_ENV])
        except ValueError:
            timeout = -1.0
        if not 0 < timeout <= 60:
            raise ValueError(f"{TIMEOUT_ENV} '{environ[TIMEOUT_ENV]}' is not a number of seconds from 0 to 60")
    no_fetch = no_fetch or (environ.get(NO_FETCH_ENV) or "").strip().lower() in _TRUE
    return PkiSettings(allowed_hosts=_hosts(environ.get(HOSTS_ENV)), mirror=mirror, timeout=timeout,
                       connect_timeout=min(DEFAULT_CONNECT_TIMEOUT, timeout), fetch_issuers=not no_fetch,
                       cache_dir=cache_dir)


def _hosts(value):
    if not (value or "").strip():
        return DEFAULT_HOSTS
    hosts = []
    for item in value.split(","):
        item = item.strip().lower().rstrip(".")
        for host in (DEFAULT_HOSTS if item == "default" else (item,) if item else ()):
            if host not in hosts:
                hosts.append(host)
    return tuple(hosts)


# -- URLs -----------------------------------------------------------------------------------------

def _url_problem(url):
    """None for a usable http(s) URL without credentials; else what is wrong with it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return "only http and https URLs are fetched"
    if parts.username is not None or parts.password is not None:
        return "URLs with credentials are not fetched"
    if not parts.hostname:
        return "the URL has no host"
    if port == 0 or any(ord(ch) <= 0x20 or ord(ch) == 0x7f for ch in url):
        return "the URL holds a bad port, spaces or control characters"
    return None


def fetch_target(url, settings):
    """(URL to ask, None) for a URL the rules allow (mapped onto the mirror when one is set),
    or (None, (reason code, reason))."""
    problem = _url_problem(url)
    if problem:
        return None, ("url-not-allowed", f"{problem}: {url}")
    host = urlsplit(url).hostname.lower().rstrip(".")
    if host not in settings.allowed_hosts:
        return None, ("host-not-allowed", f"host '{host}' is not on the PKI allow-list "
                                          f"({', '.join(settings.allowed_hosts) or 'empty'})")
    if not settings.mirror:
        return url, None
    parts = urlsplit(url)
    path = parts.path + ("?" + parts.query if parts.query else "")
    return settings.mirror.rstrip("/") + (path if path.startswith("/") else "/" + path), None


# -- HTTP -----------------------------------------------------------------------------------------

@dataclass
class _Reply:
    status: Optional[int] = None
    body: Optional[bytes] = None
    url: Optional[str] = None
    reason_code: Optional[str] = None
    reason: Optional[str] = None


def http_fetch(url, settings, *, method="GET", body=None, content_type=None, clock=time.monotonic):
    """One fetch under the rules (redirects to the same host only). A ``_Reply``; never raises."""
    deadline = clock() + settings.timeout
    for _ in range(MAX_REDIRECTS + 1):
        reply = _once(url, settings, method, body, content_type, deadline=deadline, clock=clock)
        if reply.reason_code != "redirect":
            return reply
        location = urljoin(url, reply.reason)
        if _origin(location) != _origin(url) or _url_problem(location):
            return replace(reply, reason_code="redirect-refused",
                           reason=f"HTTP {reply.status} redirect from {url} to another host ({_short(location)}) "
                                  "was not followed")
        url = location
    return _Reply(url=url, reason_code="redirect-refused", reason=f"more than {MAX_REDIRECTS} redirects")


def _origin(url):
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        port = None
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _connection(url, timeout):
    parts = urlsplit(url)
    if parts.scheme.lower() == "https":
        return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                           context=ssl.create_default_context())
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)


def _once(url, settings, method, body, content_type, *, deadline, clock):
    left = deadline - clock()
    if left <= 0:
        return _Reply(url=url, reason_code="timed-out", reason=f"no answer from {url} within {settings.timeout:g} s")
    conn = _connection(url, max(0.001, min(settings.connect_timeout, left)))
    try:
        return _exchange(conn, url, settings, (method, body, content_type), deadline, clock=clock)
    except (socket.timeout, TimeoutError):
        return _Reply(url=url, reason_code="timed-out", reason=f"no answer from {url} within {settings.timeout:g} s")
    except ConnectionRefusedError:
        return _Reply(url=url, reason_code="connection-refused", reason=f"{_host_port(url)} refused the connection")
    except (http.client.HTTPException, ssl.SSLError) as exc:
        return _Reply(url=url, reason_code="protocol-error",
                      reason=f"no valid HTTP answer from {url}: {type(exc).__name__}")
    except OSError as exc:
        return _Reply(url=url, reason_code="connection-failed",
                      reason=f"could not reach {_host_port(url)}: {_short(exc.strerror or exc)}")
    finally:
        conn.close()


def _exchange(conn, url, settings, request, deadline, *, clock):
    method, body, content_type = request
    conn.connect()
    conn.sock = deadline_socket(conn.sock, deadline, clock)
    conn.request(method, _request_target(url), body=body, headers=_headers(content_type))
    response = conn.getresponse()
    if 300 <= response.status < 400:
        location = response.getheader("Location")
        if not location:
            return _Reply(response.status, url=url, reason_code="redirect-refused",
                          reason=f"HTTP {response.status} from {url} without a Location")
        return _Reply(response.status, url=url, reason_code="redirect", reason=location)
    data = _read_capped(response, settings.max_bytes)
    if data is None:
        return _Reply(response.status, url=url, reason_code="response-too-large",
                      reason=f"the answer from {url} is larger than the {settings.max_bytes}-byte cap")
    if response.status != 200:
        excerpt = body_excerpt(data, response.getheader("Content-Type"))
        return _Reply(response.status, data, url, "http-error",
                      f"{http_error_text(response.status, response.reason, excerpt)} (from {url})")
    return _Reply(response.status, data, url)


def _request_target(url):
    parts = urlsplit(url)
    return (parts.path or "/") + ("?" + parts.query if parts.query else "")


def _headers(content_type):
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*", "Connection": "close"}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def _read_capped(response, max_bytes):
    declared = response.getheader("Content-Length")
    if declared and declared.strip().isdigit() and int(declared) > max_bytes:
        return None
    chunks, size = [], 0
    while True:
        chunk = response.read(min(_CHUNK, max_bytes + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return None


def _host_port(url):
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def _short(value, limit=160):
    text = str(value)
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[:limit] + "..."


# -- issuers --------------------------------------------------------------------------------------

def parse_issuer_certificates(data):
    """Certificates from DER, PEM or a PKCS#7 bundle (``.p7c``); ValueError when none."""
    try:
        return load_certificates(data)
    except TrustBundleError as first:
        for loader in (pkcs7.load_der_pkcs7_certificates, pkcs7.load_pem_pkcs7_certificates):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                    certs = loader(bytes(data))
            except ValueError:
                continue
            if certs:
                return certs
        raise ValueError(f"neither a DER or PEM certificate nor a PKCS#7 bundle ({first})") from None


def fetch_issuer(url, settings, *, now, clock=time.monotonic):
    """The issuer certificate(s) at an AIA caIssuers ``url``: from the cache when a valid copy is
    there, else fetched (and cached); None when fetching is off and the cache has no copy.
    ``now``: the current time (aware), for the cache."""
    cache = IssuerCache(settings.cache_dir) if settings.cache_dir else None
    cached = cache.get(url, now) if cache else None
    if cached:
        return IssuerCandidate(url, SOURCE_CACHE, tuple(cached))
    if not settings.fetch_issuers:
        return None
    target, refusal = fetch_target(url, settings)
    if refusal:
        return IssuerCandidate(url, SOURCE_FETCHED, reason_code=refusal[0], reason=refusal[1])
    reply = http_fetch(target, settings, clock=clock)
    if reply.reason_code:
        return IssuerCandidate(url, SOURCE_FETCHED, fetched_from=target, reason_code=reply.reason_code,
                               reason=reply.reason)
    try:
        certs = parse_issuer_certificates(reply.body)
    except ValueError as exc:
        return IssuerCandidate(url, SOURCE_FETCHED, fetched_from=target, reason_code="not-a-certificate",
                               reason=f"the answer from {reply.url} is not a certificate: {_short(exc)}")
    if cache:
        cache.put(url, certs)
    return IssuerCandidate(url, SOURCE_FETCHED, tuple(certs), fetched_from=target)


def fetch_ocsp(url, request_der, settings, *, clock=time.monotonic):
    """POST an OCSP request to ``url`` (an AIA OCSP URL) under the rules; ``RevocationEvidence``."""
    target, refusal = fetch_target(url, settings)
    if refusal:
        return RevocationEvidence(url, reason_code=refusal[0], reason=refusal[1])
    reply = http_fetch(target, settings, method="POST", body=request_der,
                       content_type="application/ocsp-request", clock=clock)
    if reply.reason_code:
        return RevocationEvidence(url, fetched_from=target, reason_code=reply.reason_code, reason=reply.reason)
    return RevocationEvidence(url, response=reply.body, fetched_from=target)


class IssuerCache:
    """Issuer certificates by the URL they were fetched from, as PEM files in ``directory``.
    An entry is used while every certificate in it is valid; an expired entry is removed."""

    def __init__(self, directory):
        self.directory = directory

    def path(self, url):
        return os.path.join(self.directory, hashlib.sha256(url.encode("utf-8")).hexdigest()[:40] + ".pem")

    def get(self, url, now):
        try:
            with open(self.path(url), "rb") as handle:
                certs = load_certificates(handle.read())
        except (OSError, TrustBundleError):
            return None
        if any(_not_after(cert) < now for cert in certs):
            self._remove(url)
            return None
        return certs

    def put(self, url, certs):
        """Best effort: a cache that cannot be written only costs a fetch next time."""
        data = b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs)
        try:
            os.makedirs(self.directory, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".entry-")
            with os.fdopen(handle, "wb") as output:
                output.write(data)
            os.replace(temporary, self.path(url))
        except OSError:
            pass

    def _remove(self, url):
        try:
            os.remove(self.path(url))
        except OSError:
            pass


def _not_after(cert):
    value = getattr(cert, "not_valid_after_utc", None)
    return value if value is not None else cert.not_valid_after.replace(tzinfo=timezone.utc)


def default_cache_dir(config_dir):
    """Where issuers are cached: under the az configuration directory (None: not cached)."""
    return os.path.join(config_dir, CACHE_SUBDIR) if config_dir else None
