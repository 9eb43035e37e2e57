# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""How long one ARM request may take. azure-core retries throttling and transient errors, sleeps
for as long as a `Retry-After` asks, and waits 300 s for a response that never comes. Here one
request, its retries and the waits between them end within a deadline: a `Retry-After` that would
pass it is not waited for (the throttled answer comes back as it is, so the caller can say what ARM
asked), backoffs are cut to the time left, and every attempt's connect and read timeouts are too."""

import logging
import time

from azure.core.exceptions import ServiceResponseTimeoutError
from azure.core.pipeline.policies import RetryPolicy, SansIOHTTPPolicy

_DEADLINE = "stack_hci_verify_deadline"


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


# The SDKs log a traceback as a warning when an error body is not ARM's JSON (a gateway's HTML
# page): the error itself is reported, so that warning is shown with --debug only.
_FAILSAFE_LOGGERS = tuple("azure.mgmt.{}._utils.{}".format(package, module)
                          for package in ("azurestackhci", "azurestackhcivm", "hybridcompute", "resourcegraph")
                          for module in ("model_base", "serialization"))


class _FailsafeToDebug(logging.Filter):
    def filter(self, record):
        if record.levelno == logging.WARNING and "failsafe deserialization" in str(record.msg):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


_FAILSAFE_FILTER = _FailsafeToDebug()


def quiet_failsafe_warnings():
    for name in _FAILSAFE_LOGGERS:
        logger = logging.getLogger(name)
        if _FAILSAFE_FILTER not in logger.filters:
            logger.addFilter(_FAILSAFE_FILTER)
