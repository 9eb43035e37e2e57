# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Reading timestamps as ARM, PowerShell and the host services write them, and writing ours."""

import re
from datetime import datetime, timedelta, timezone

_ISO = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)"
    r"(?:[.,](?P<fraction>\d+))?\s*(?P<tz>Z|z|[+-]\d{2}:?\d{2})?$")
# Windows PowerShell 5.1 ConvertTo-Json: "\/Date(1700000000000)\/" or "/Date(1700000000000+0100)/".
_MS_DATE = re.compile(r"^\\?/Date\((?P<ms>-?\d+)(?P<offset>[+-]\d{4})?\)\\?/$")
# US-style dates some services and cmdlets emit: "11/19/2025 18:53:30", "11/19/25 6:53:30 PM -0000".
_US_FORMATS = (
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%y %H:%M:%S", "%m/%d/%y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S %z", "%m/%d/%y %H:%M:%S %z", "%m/%d/%Y %I:%M:%S %p %z", "%m/%d/%y %I:%M:%S %p %z",
)


def parse_timestamp(value):
    """Return an aware UTC datetime for `value`, or None when it is absent or unreadable.

    Accepts ISO 8601 with any number of fraction digits (ARM writes seven), with or without an
    offset (none means UTC), `\\/Date(ms)\\/`, US-style dates, and datetimes. A JSON number is not
    a timestamp: ARM, PowerShell and the probe all write dates as text, so a number is a malformed
    value (seconds? milliseconds? since when?) and is never guessed at; callers that read documents
    name it as a field of the wrong type.
    """
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    return _parse_iso(text) or _parse_ms_date(text) or _parse_us(text)


def _parse_iso(text):
    match = _ISO.match(text)
    if not match:
        return None
    clock = match.group("time")
    if len(clock) == 5:
        clock += ":00"
    fraction = (match.group("fraction") or "")[:6].ljust(6, "0")
    tz = match.group("tz") or "+00:00"
    if tz in ("Z", "z"):
        tz = "+00:00"
    elif ":" not in tz:
        tz = tz[:3] + ":" + tz[3:]
    try:
        parsed = datetime.fromisoformat(f"{match.group('date')}T{clock}.{fraction}{tz}")
    except ValueError:
        return None
    return parsed.astimezone(timezone.utc)


def _parse_ms_date(text):
    match = _MS_DATE.match(text)
    if not match:
        return None
    try:
        return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=int(match.group("ms")))
    except OverflowError:
        return None


def _parse_us(text):
    for fmt in _US_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)
    return None


def format_timestamp(moment):
    """ISO 8601 in UTC with a `Z`, to the second; None stays None."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def whole_days(delta):
    """Whole days in `delta`, rounded towards minus infinity (1.5 days -> 1, -0.5 days -> -1)."""
    return delta // timedelta(days=1)
