# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The ARM pipeline's deadline: azure-core's retry policy with a fake transport and a fake clock,
so that nothing here sleeps or depends on how fast it runs."""

import pytest
from azure.core.exceptions import ServiceResponseError, ServiceResponseTimeoutError
from azure.core.pipeline import Pipeline
from azure.core.pipeline.transport import HttpRequest, HttpResponse, HttpTransport

from azext_stack_hci_verify.adapters import arm_pipeline


class Clock:
    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now


class FakeResponse(HttpResponse):
    def __init__(self, request, status, headers=None):
        super().__init__(request, None)
        self.status_code = status
        self.headers = headers or {}
        self.reason = "fake"

    def body(self):
        return b""


class FakeTransport(HttpTransport):
    """Answers from a script: (seconds the answer takes, status or an exception, headers)."""

    def __init__(self, clock, script):
        self.clock = clock
        self.script = list(script)
        self.sent = []
        self.slept = []

    def send(self, request, **kwargs):
        self.sent.append(kwargs)
        takes, answer, headers = self.script.pop(0) if self.script else (0, 200, {})
        read_timeout = kwargs.get("read_timeout")
        if read_timeout is not None and takes > read_timeout:
            self.clock.now += read_timeout
            raise ServiceResponseError("read timed out")
        self.clock.now += takes
        return FakeResponse(request, answer, headers)

    def sleep(self, duration):
        self.slept.append(duration)
        self.clock.now += duration

    def open(self):
        pass

    def close(self):
        pass

    def __exit__(self, *args):
        pass


@pytest.fixture(name="clock")
def fixture_clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(arm_pipeline.time, "monotonic", clock.monotonic)
    return clock


def run(clock, script, timeout=20.0):
    transport = FakeTransport(clock, script)
    policies = [arm_pipeline.DeadlineRetryPolicy(timeout=timeout),
                arm_pipeline.DeadlinePolicy(connection_timeout=10.0, read_timeout=timeout)]
    pipeline = Pipeline(transport, policies=policies)
    start = clock.now
    try:
        response = pipeline.run(HttpRequest("GET", "https://127.0.0.1/x"))
        return transport, response.http_response.status_code, clock.now - start
    except ServiceResponseTimeoutError:
        return transport, "timeout", clock.now - start
    except ServiceResponseError:
        return transport, "no answer", clock.now - start


def test_retry_after_longer_than_the_deadline_is_not_waited_for(clock):
    transport, status, _ = run(clock, [(0, 429, {"Retry-After": "120"})])
    assert status == 429 and transport.slept == [] and len(transport.sent) == 1


def test_short_retry_after_is_waited_for_then_retried(clock):
    transport, status, _ = run(clock, [(0, 429, {"Retry-After": "2"}), (0, 200, {})])
    assert status == 200 and transport.slept == [2.0] and len(transport.sent) == 2


def test_each_attempt_waits_no_longer_than_the_time_left(clock):
    transport, status, elapsed = run(clock, [(15, 503, {}), (60, 200, {})])
    assert status in ("timeout", "no answer") and elapsed <= 20.0
    assert transport.sent[0]["read_timeout"] == 20.0 and transport.sent[0]["connection_timeout"] == 10.0
    assert transport.sent[1]["read_timeout"] <= 5.0


def test_a_hung_server_ends_at_the_deadline(clock):
    transport, status, elapsed = run(clock, [(300, 200, {})] * 10, timeout=3.0)
    assert status in ("timeout", "no answer") and elapsed <= 3.0
    assert all(kwargs["read_timeout"] <= 3.0 for kwargs in transport.sent)
