# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The policies every ARM client of the extension is built with (_client_factory._arm_client).

Where a request may go: TrustedHostPolicy runs before every attempt, after redirects and before the
bearer token is added, and refuses any URL that is not HTTPS on the configured ARM host (a
`nextLink`, a `Location` or `Azure-AsyncOperation` the service hands back, a redirect): the request
is not sent, and the error names the host. It is the one place where URLs are checked.

How long one ARM request may take: azure-core retries throttling and transient errors, sleeps for as
long as a `Retry-After` asks, and waits 300 s for a response that never comes. Here one request, its
retries and the waits between them end within a deadline: a `Retry-After` that would pass it is not
waited for (the throttled answer comes back as it is, so the caller can say what ARM asked), backoffs
are cut to the time left, and every attempt's connect and read timeouts are too. A `Retry-After` that
is neither a number nor an HTTP date is ignored (the default backoff applies)."""

import email.utils
import math
import time
from datetime import datetime, timezone
from urllib.parse import urlsplit

from azure.core.exceptions import ServiceResponseTimeoutError
from azure.core.pipeline.policies import RetryPolicy, SansIOHTTPPolicy

from azext_stack_hci_verify.errors import ServiceError

_DEADLINE = "stack_hci_verify_deadline"
_RETRY_HEADERS = (("retry-after", 1.0), ("retry-after-ms", 0.001), ("x-ms-retry-after-ms", 0.001))


def retry_after_seconds(headers, now=None):
    """The seconds a `Retry-After` (or `retry-after-ms`, `x-ms-retry-after-ms`) header asks to wait: a
    number of seconds or an HTTP date. None when there is none, or when it is neither (never raises)."""
    if not headers:
        return None
    lowered = {str(key).lower(): value for key, value in headers.items()}
    for name, unit in _RETRY_HEADERS:
        value = lowered.get(name)
        if value is None or not str(value).strip():
            continue
        text = str(value).strip()
        try:
            seconds = float(text) * unit
        except ValueError:
            seconds = _seconds_until(text, now) if unit == 1.0 else None
        if seconds is not None and math.isfinite(seconds):
            return max(0.0, seconds)
    return None


def _seconds_until(http_date, now=None):
    try:
        moment = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - (now or datetime.now(timezone.utc))).total_seconds()


class UntrustedUrlError(ServiceError):
    """A URL the service handed back (nextLink, Location, a redirect) that is not HTTPS on the
    configured ARM host. Nothing was sent to it."""

    def __init__(self, url, trusted):
        self.url = url
        self.host = _printable(_netloc(url)) or "(none)"
        self.scheme = _printable(_scheme(url)) or "(none)"
        super().__init__(
            f"ARM's answer led to host '{self.host}' over {self.scheme}; this command sends requests, and its "
            f"credentials, only to the configured ARM host '{trusted}' over HTTPS, so nothing was sent there.",
            recommendation="This is an error of ARM or of a proxy on the way, not of your resources. Check the "
                           "cloud's ARM endpoint (`az cloud show --query endpoints.resourceManager`) and any proxy "
                           "(HTTPS_PROXY), then run the command again.")


def _printable(text):
    return "".join(char if char.isprintable() else f"\\x{ord(char):02x}" if ord(char) < 256
                   else f"\\u{ord(char):04x}" for char in str(text))[:200]


def _scheme(url):
    try:
        return urlsplit(str(url)).scheme.lower()
    except ValueError:
        return ""


def _netloc(url):
    """host[:port] of a URL, as it names it (lower case), without any user information."""
    try:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}" if port is not None else host


def _origin(url):
    """(host, port) with HTTPS's default port; None for a URL that cannot be read."""
    try:
        parts = urlsplit(str(url))
        return ((parts.hostname or "").lower().rstrip("."), parts.port or 443)
    except ValueError:
        return None


class TrustedHostPolicy(SansIOHTTPPolicy):
    """Refuses, before it is sent and before the bearer token is added, any request that is not HTTPS
    on the host (and port) of `endpoint`, the cloud's ARM endpoint. Put it in `per_retry_policies`:
    it then sees every attempt, redirects and nextLinks included."""

    def __init__(self, endpoint):
        super().__init__()
        self.endpoint = endpoint
        self.origin = _origin(endpoint)
        self.trusted = _netloc(endpoint) or str(endpoint)

    def allows(self, url):
        return _scheme(url) == "https" and self.origin is not None and bool(self.origin[0]) \
            and _origin(url) == self.origin

    def on_request(self, request):
        url = request.http_request.url
        if not self.allows(url):
            raise UntrustedUrlError(url, self.trusted)


class DeadlineRetryPolicy(RetryPolicy):
    """azure-core's RetryPolicy with a deadline of `timeout` seconds over all attempts of a request."""

    def send(self, request):
        request.context[_DEADLINE] = time.monotonic() + self.timeout
        return super().send(request)

    def configure_retries(self, options):
        settings = super().configure_retries(options)
        settings["deadline"] = time.monotonic() + settings["timeout"]
        return settings

    def is_retry(self, settings, response):
        if not super().is_retry(settings, response):
            return False
        retry_after = self.get_retry_after(response)
        return not retry_after or retry_after < settings["deadline"] - time.monotonic()

    def get_retry_after(self, response):
        """azure-core's, but a header that is neither a number nor an HTTP date is no Retry-After."""
        return retry_after_seconds(getattr(response.http_response, "headers", None))

    def sleep(self, settings, transport, response=None):
        if response is not None and self.get_retry_after(response):
            super().sleep(settings, transport, response=response)   # shorter than the time left: is_retry
            return
        backoff = min(self.get_backoff_time(settings), settings["deadline"] - time.monotonic())
        if backoff > 0:
            transport.sleep(backoff)


class DeadlinePolicy(SansIOHTTPPolicy):
    """Runs before every attempt (after the retry policy): no attempt may wait past the deadline."""

    def __init__(self, connection_timeout, read_timeout):
        super().__init__()
        self.connection_timeout = connection_timeout
        self.read_timeout = read_timeout

    def on_request(self, request):
        deadline = request.context.get(_DEADLINE)
        if deadline is None:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise ServiceResponseTimeoutError("No answer from ARM before the deadline")
        options = request.context.options
        options["connection_timeout"] = min(self.connection_timeout, left)
        options["read_timeout"] = min(self.read_timeout, left)
