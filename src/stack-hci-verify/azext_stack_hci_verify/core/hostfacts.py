# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The host-facts document (schema 1): what `probe` collects on a host and `--host-facts` reads back.

Pure: text in, typed facts out. Unknown fields are ignored; a document of another schema version
or of the wrong shape raises HostFactsError with a sentence that says what is wrong.
"""

import json
from dataclasses import dataclass, field
from typing import Optional, Tuple

from . import vocabulary as v
from .timeutil import parse_timestamp
from .values import json_kind as _json_kind, text_value as _text

SCHEMA_VERSION = 1

_NODE_STATUS_BY_NUMBER = dict(enumerate(v.NODE_STATUS_ENUM))
_LEGACY_BY_NUMBER = dict(enumerate((v.OFF, v.ON)))   # AttestationLegacyOsSupport {Disabled, Enabled}


class HostFactsError(ValueError):
    """A host-facts document that cannot be used; the message says why."""


@dataclass(frozen=True)
class NodeAttestation:
    """One row of Get-AzureStackHCIAttestation."""
    computer_name: str
    status: str                     # a vocabulary server status, Unknown for values we do not know
    raw_status: object
    expiration: object              # datetime or None
    legacy_os_support: str          # On / Off / Unknown


@dataclass(frozen=True)
class HostFacts:  # pylint: disable=too-many-instance-attributes
    """Facts one host reported about itself, its cluster and its VMs."""
    source: str
    computer_name: Optional[str]
    collected_at: object            # datetime or None
    cluster_name: Optional[str] = None
    cluster_resource_id: Optional[str] = None     # cluster.azureResourceUri: the ARM id of its system
    registration_status: Optional[str] = None
    connection_status: Optional[str] = None
    imds_attestation: Optional[str] = None
    attestation: Tuple[NodeAttestation, ...] = ()
    host_imds_switch_present: Optional[bool] = None
    vms: Tuple[dict, ...] = ()
    document: dict = field(default_factory=dict, compare=False, repr=False)


def normalize_node_status(raw):
    """A Get-AzureStackHCIAttestation Status (name or number) as vocabulary; Unknown otherwise."""
    if isinstance(raw, bool):
        return v.UNKNOWN
    if isinstance(raw, int):
        return _NODE_STATUS_BY_NUMBER.get(raw, v.UNKNOWN)
    if isinstance(raw, str):
        text = raw.strip()
        if text.isdigit():
            return _NODE_STATUS_BY_NUMBER.get(int(text), v.UNKNOWN)
        for status in (v.SERVER_ACTIVE, v.SERVER_EXPIRED, v.SERVER_INACTIVE, v.SERVER_ERROR):
            if text.lower() == status.lower():
                return status
    return v.UNKNOWN


def normalize_legacy_os_support(raw):
    """AttestationLegacyOsSupport (Enabled/Disabled, 1/0, true/false) as On / Off / Unknown."""
    if isinstance(raw, bool):
        return v.ON if raw else v.OFF
    if isinstance(raw, int):
        return _LEGACY_BY_NUMBER.get(raw, v.UNKNOWN)
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in ("enabled", "on", "true", "1"):
            return v.ON
        if text in ("disabled", "off", "false", "0"):
            return v.OFF
    return v.UNKNOWN


def parse_host_facts(text, source):
    """Parse a host-facts document. `source` names it in errors (usually the file name)."""
    try:
        document = json.loads(text)
    except ValueError as ex:
        raise HostFactsError(f"is not valid JSON ({ex})") from None
    except RecursionError:
        raise HostFactsError("is nested too deeply to be a host-facts document") from None
    return host_facts_from_document(document, source)


def host_facts_from_document(document, source):
    if not isinstance(document, dict):
        raise HostFactsError(f"must hold a JSON object, not {_json_kind(document)}")
    version = document.get("schemaVersion")
    if version is None:
        raise HostFactsError("has no schemaVersion; it is not a host-facts document")
    if isinstance(version, bool) or version != SCHEMA_VERSION:
        raise HostFactsError(f"has schemaVersion {json.dumps(version)}, but this extension reads schema "
                             f"{SCHEMA_VERSION}")
    cluster = _optional(document, "cluster", dict)
    attestation = document.get("attestation")
    if isinstance(attestation, dict):          # PowerShell writes a single object, not a list of one
        attestation = [attestation]
    if attestation is not None and not isinstance(attestation, list):
        raise HostFactsError(f"field 'attestation' must be a list of objects, not {_json_kind(attestation)}")
    vms = document.get("vms")
    if isinstance(vms, dict):
        vms = [vms]
    if vms is not None and not isinstance(vms, list):
        raise HostFactsError(f"field 'vms' must be a list of objects, not {_json_kind(vms)}")
    switch = document.get("hostImdsSwitchPresent")
    if switch is not None and not isinstance(switch, bool):
        raise HostFactsError("field 'hostImdsSwitchPresent' must be true, false or null")
    computer_name = _optional(document, "computerName", str)
    collected_at = _timestamp(document.get("collectedAt"), "field 'collectedAt'")
    cluster = cluster or {}
    return HostFacts(
        source=source,
        computer_name=computer_name,
        collected_at=collected_at,
        cluster_name=_text(cluster.get("name")),
        cluster_resource_id=_text(cluster.get("azureResourceUri")),
        registration_status=_text(cluster.get("registrationStatus")),
        connection_status=_text(cluster.get("connectionStatus")),
        imds_attestation=_text(cluster.get("imdsAttestation")),
        attestation=tuple(_node_attestation(item, index) for index, item in enumerate(attestation or [])),
        host_imds_switch_present=switch,
        vms=tuple(_vm(item, index) for index, item in enumerate(vms or [])),
        document=document,
    )


def _node_attestation(item, index):
    if not isinstance(item, dict):
        raise HostFactsError(f"attestation[{index}] must be an object, not {_json_kind(item)}")
    name = item.get("computerName")
    if not isinstance(name, str) or not name.strip():
        raise HostFactsError(f"attestation[{index}] has no computerName")
    expiration = _timestamp(item.get("expiration"), f"attestation[{index}].expiration")
    return NodeAttestation(
        computer_name=name.strip(),
        status=normalize_node_status(item.get("status")),
        raw_status=item.get("status"),
        expiration=expiration,
        legacy_os_support=normalize_legacy_os_support(item.get("legacyOsSupport")),
    )


def _timestamp(raw, label):
    """A timestamp field: None when absent or empty; the probe writes dates as text, so a value of
    another JSON type (a number is no epoch guess) or text that is no timestamp is an error."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise HostFactsError(f"{label} is {_json_kind(raw)}, not a timestamp: {_excerpt(raw)}")
    moment = parse_timestamp(raw)
    if moment is None:
        raise HostFactsError(f"{label} is not a timestamp: {_excerpt(raw)}")
    return moment


def _excerpt(value, limit=80):
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _vm(item, index):
    if not isinstance(item, dict):
        raise HostFactsError(f"vms[{index}] must be an object, not {_json_kind(item)}")
    if not isinstance(item.get("name"), str) and not isinstance(item.get("vmId"), str):
        raise HostFactsError(f"vms[{index}] has neither a name nor a vmId")
    return item


def _optional(document, key, kind):
    value = document.get(key)
    if value is not None and not isinstance(value, kind):
        raise HostFactsError(f"field '{key}' must be {_KIND_NAMES[kind]}, not {_json_kind(value)}")
    return value


_KIND_NAMES = {dict: "an object", list: "a list", str: "a string"}
