"""Injected faults: make chosen requests fail, or slow, on demand.

A fault is added over the control API (``POST /_emulator/faults``) as::

    {"pattern": "<regex searched in the request path, case-insensitive>",
     "method": "GET" | null,          # null: any method
     "status": 429 | 500 | 503 | 403 | 404 | ... | null,   # null: no error, only the delay
     "retryAfter": seconds | "text" | null,  # sent as the Retry-After header (text as it is:
                                       # an HTTP date, or junk)
     "count": N | null,                # fire N times, then the fault is gone; null: forever
     "delayMs": N | null,              # sleep before answering (error or normal answer)
     "body": {...} | "text" | null,    # null: an ARM-shaped error body for the status
     "contentType": "text/html" | null} # the answer's Content-Type; null: application/json

A gateway's HTML error page is ``{"status": 502, "body": "<html>...", "contentType": "text/html"}``;
a per-path 403 is a ``pattern`` that matches one path only (``.../virtualMachineInstances/default$``);
a hung ARM is a ``delayMs`` longer than the client waits.

The first fault (in the order they were added) that matches a request fires. Faults apply to
every route except the control API itself, including the token endpoint and Resource Graph.
"""

import itertools
import re
import threading
from dataclasses import dataclass
from typing import Any, Optional

_ALLOWED_KEYS = {"pattern", "method", "status", "retryAfter", "count", "delayMs", "body", "contentType"}


@dataclass
class Fault:
    id: int
    pattern: str
    method: Optional[str]
    status: Optional[int]
    retry_after: Any
    count: Optional[int]  # remaining firings; None = forever
    delay_ms: Optional[int]
    body: Any
    content_type: Optional[str] = None
    fired: int = 0

    def __post_init__(self):
        self._regex = re.compile(self.pattern, re.IGNORECASE)

    def matches(self, method, path):
        if self.method and self.method.upper() != method.upper():
            return False
        return self._regex.search(path) is not None

    def to_dict(self):
        return {"id": self.id, "pattern": self.pattern, "method": self.method,
                "status": self.status, "retryAfter": self.retry_after, "count": self.count,
                "delayMs": self.delay_ms, "body": self.body, "contentType": self.content_type,
                "fired": self.fired}


def fault_from_json(payload, fault_id):
    """Validate a control-API fault description; raise ``ValueError`` with what is wrong."""
    if not isinstance(payload, dict):
        raise ValueError("a fault is a JSON object")
    unknown = set(payload) - _ALLOWED_KEYS
    if unknown:
        raise ValueError(f"unknown fault keys: {', '.join(sorted(unknown))} "
                         f"(allowed: {', '.join(sorted(_ALLOWED_KEYS))})")
    pattern = payload.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise ValueError("'pattern' (a regular expression on the path) is required")
    try:
        re.compile(pattern)
    except re.error as error:
        raise ValueError(f"'pattern' is not a valid regular expression: {error}") from None
    status, delay = payload.get("status"), payload.get("delayMs")
    if status is None and delay is None:
        raise ValueError("a fault needs a 'status', a 'delayMs', or both")
    if status is not None and (not isinstance(status, int) or not 400 <= status <= 599):
        raise ValueError("'status' must be an HTTP error status (400-599)")
    retry_after = payload.get("retryAfter")
    if isinstance(retry_after, str) and (not retry_after.strip() or any(c in retry_after for c in "\r\n")):
        raise ValueError("'retryAfter' as text must be one line (an HTTP date, or any junk to send as it is)")
    for key in ("count", "delayMs") + (() if isinstance(retry_after, str) else ("retryAfter",)):
        value = payload.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or value < 0):
            raise ValueError(f"'{key}' must be a non-negative number or null")
    count = payload.get("count")
    if count is not None and (count != int(count) or count < 1):
        raise ValueError("'count' must be a positive integer or null")
    content_type = payload.get("contentType")
    if content_type is not None and (not isinstance(content_type, str) or not content_type.strip()
                                     or any(c in content_type for c in "\r\n")):
        raise ValueError("'contentType' must be a one-line media type or null")
    return Fault(id=fault_id, pattern=pattern, method=payload.get("method"), status=status,
                 retry_after=payload.get("retryAfter"),
                 count=None if count is None else int(count), delay_ms=delay,
                 body=payload.get("body"), content_type=content_type)


class FaultSet:
    """The active faults. Thread-safe: matching and counting down happen under one lock."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []
        self._ids = itertools.count(1)

    def add(self, payload):
        with self._lock:
            fault = fault_from_json(payload, next(self._ids))
            self._faults.append(fault)
            return fault

    def clear(self):
        with self._lock:
            self._faults.clear()

    def list(self):
        with self._lock:
            return [fault.to_dict() for fault in self._faults]

    def take(self, method, path):
        """Return a snapshot of the first matching fault and count it down, or ``None``."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.fired += 1
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count == 0:
                            self._faults.remove(fault)
                    return fault.to_dict()
        return None
