# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The signed JSON inside an attested document."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from ..core.timeutil import format_timestamp, parse_timestamp

# IMDS writes "11/19/25 18:53:30 -0000". Other forms (ISO 8601, no offset) are accepted because
# what Azure Local's host writes is not documented ("an almost identical payload"); IMDS times
# are UTC, so a form without an offset is read as UTC.


class MalformedContentError(ValueError):
    pass


@dataclass
class AttestedDocument:  # pylint: disable=too-many-instance-attributes
    raw: dict
    vm_id: Optional[str]
    subscription_id: Optional[str]
    sku: Optional[str]
    nonce: Optional[str]
    license_type: Optional[str]
    plan: Optional[dict]
    created_on_text: Optional[str]
    expires_on_text: Optional[str]
    created_on: Optional[datetime]  # aware UTC, None when absent or unreadable
    expires_on: Optional[datetime]


def parse_imds_time(text):
    """Aware UTC datetime for an IMDS time string (`11/19/25 18:53:30 -0000`, ISO 8601), or None."""
    return parse_timestamp(text) if isinstance(text, str) else None


iso_utc = format_timestamp


def _text(value):
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def parse_document_content(content):
    """Parse the eContent bytes. Raises ``MalformedContentError`` when it is not a JSON object."""
    try:
        text = bytes(content).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedContentError(f"the signed content is not UTF-8: {exc.reason}") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise MalformedContentError(f"the signed content is not JSON: {str(exc)[:120]}") from None
    if not isinstance(data, dict):
        raise MalformedContentError(f"the signed content is JSON {type(data).__name__}, not an object")

    stamp = data.get("timeStamp")
    stamp = stamp if isinstance(stamp, dict) else {}
    created_text, expires_text = _text(stamp.get("createdOn")), _text(stamp.get("expiresOn"))
    plan = data.get("plan")
    if isinstance(plan, dict):
        plan = {key: _text(plan.get(key)) for key in ("name", "product", "publisher")}
    else:
        plan = None
    return AttestedDocument(
        raw=data,
        vm_id=_text(data.get("vmId")),
        subscription_id=_text(data.get("subscriptionId")),
        sku=_text(data.get("sku")),
        nonce=_text(data.get("nonce")),
        license_type=_text(data.get("licenseType")),
        plan=plan,
        created_on_text=created_text,
        expires_on_text=expires_text,
        created_on=parse_imds_time(created_text),
        expires_on=parse_imds_time(expires_text),
    )
