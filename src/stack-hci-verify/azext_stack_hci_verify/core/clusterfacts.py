# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""What ARM says about one Microsoft.AzureStackHCI/clusters resource, read as it comes. Pure.

Real documents differ from the spec: keys in any case, absent or null values, lower-case types.
A field of the wrong JSON type (a number for `status`, a string for `supportedCapabilities`, junk
in `nodes`) never raises: it is left out and named in `problems`, which the rules turn into a
`malformed-resource` finding on that cluster alone.
"""

import re
from dataclasses import dataclass
from typing import Optional, Tuple

from .timeutil import parse_timestamp
from .values import get_path as _get, json_kind as _kind

_RESOURCE_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/providers/[^/]+/[^/]+/(?P<name>[^/]+)",
    re.IGNORECASE)


@dataclass(frozen=True)
class NodeFacts:
    """A machine of the cluster as ARM's reportedProperties.nodes lists it."""
    name: str
    node_id: object = None
    arc_resource_id: Optional[str] = None
    os_name: Optional[str] = None
    os_version: Optional[str] = None


@dataclass(frozen=True)
class ClusterFacts:  # pylint: disable=too-many-instance-attributes
    """What ARM says about one cluster. Raw values are kept as ARM sent them; `problems` names
    the fields that had the wrong type (their values are None here)."""
    id: str
    name: str
    resource_group: Optional[str]
    subscription_id: Optional[str]
    location: Optional[str] = None
    registration_status: Optional[str] = None
    connectivity_status: Optional[str] = None
    last_sync: object = None                # datetime or None
    last_sync_raw: Optional[str] = None
    has_reported_properties: bool = False
    reported_cluster_name: Optional[str] = None
    imds_attestation: object = None         # raw, as ARM sent it
    supported_capabilities: object = None   # raw, as ARM sent it
    nodes: Tuple[NodeFacts, ...] = ()
    isolated_vm_attestation_configuration: object = None
    problems: Tuple[str, ...] = ()


class _Reader:
    """Reads typed fields and records the ones of the wrong type."""

    def __init__(self):
        self.problems = []

    def text(self, document, *path, label=None):
        value = _get(document, *path)
        if value is None or isinstance(value, str):
            return value.strip() if isinstance(value, str) and value.strip() else None
        self.problems.append(f"{label or '.'.join(path)} is {_kind(value)}, not a string")
        return None

    def obj(self, document, *path, label=None):
        value = _get(document, *path)
        if value is None or isinstance(value, dict):
            return value
        self.problems.append(f"{label or '.'.join(path)} is {_kind(value)}, not an object")
        return None

    def items(self, document, *path, label=None):
        value = _get(document, *path)
        if value is None or isinstance(value, list):
            return value
        self.problems.append(f"{label or '.'.join(path)} is {_kind(value)}, not a list")
        return None


def _nodes(reader, reported):
    """Nodes as ARM lists them: objects with a name, or plain server names. Anything else is junk."""
    nodes, junk = [], 0
    for node in (reader.items(reported, "nodes", label="reportedProperties.nodes") or []):
        if isinstance(node, str) and node.strip():
            nodes.append(NodeFacts(name=node.strip()))
        elif isinstance(node, dict) and isinstance(_get(node, "name"), str) and _get(node, "name").strip():
            arc_id = _get(node, "ehcResourceId")
            nodes.append(NodeFacts(
                name=_get(node, "name").strip(),
                node_id=_get(node, "id"),
                arc_resource_id=arc_id if isinstance(arc_id, str) else None,
                os_name=_get(node, "osName") if isinstance(_get(node, "osName"), str) else None,
                os_version=_get(node, "osVersion") if isinstance(_get(node, "osVersion"), str) else None))
        else:
            junk += 1
    if junk:
        reader.problems.append(f'reportedProperties.nodes has {junk} entr{"y" if junk == 1 else "ies"} that '
                               f'{"is" if junk == 1 else "are"} no server')
    return tuple(nodes)


def _capabilities(reader, reported):
    value = _get(reported, "supportedCapabilities")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        reader.problems.append('reportedProperties.supportedCapabilities is '
                               f'{_kind(value) if not isinstance(value, list) else "a list with non-string entries"}, '
                               'not a list of strings')
        return None
    return value


def _last_sync(reader, document):
    """(datetime or None, the raw text). ARM writes the timestamp as text: anything else (a number,
    which could be seconds or milliseconds since any epoch, a boolean, an object) is a problem, never
    guessed at. Text that is not a timestamp is kept raw for the servers' reason."""
    raw = _get(document, "properties", "lastSyncTimestamp")
    if raw is not None and not isinstance(raw, str):
        reader.problems.append(f"properties.lastSyncTimestamp is {_kind(raw)}, not a timestamp")
        return None, None
    return parse_timestamp(raw), raw


def cluster_facts_from_arm(document):
    """ClusterFacts from the body ARM returns for GET of a cluster (or one item of a list). Never raises."""
    reader = _Reader()
    if not isinstance(document, dict):
        reader.problems.append(f"the document is {_kind(document)}, not an object")
        document = {}
    resource_id = reader.text(document, "id") or ""
    match = _RESOURCE_ID.match(resource_id)
    name = reader.text(document, "name") or (match.group("name") if match else "") or resource_id.rsplit("/", 1)[-1]
    reader.obj(document, "properties")
    reported = reader.obj(document, "properties", "reportedProperties", label="properties.reportedProperties")
    imds = _get(reported, "imdsAttestation")
    if imds is not None and not isinstance(imds, str):
        reader.problems.append(f"reportedProperties.imdsAttestation is {_kind(imds)}, not a string")
        imds = None
    last_sync, last_sync_raw = _last_sync(reader, document)
    location = _get(document, "location")
    return ClusterFacts(
        id=resource_id,
        name=name,
        resource_group=match.group("rg") if match else None,
        subscription_id=match.group("sub") if match else None,
        location=location if isinstance(location, str) else None,
        registration_status=reader.text(document, "properties", "status", label="properties.status"),
        connectivity_status=reader.text(document, "properties", "connectivityStatus",
                                        label="properties.connectivityStatus"),
        last_sync=last_sync,
        last_sync_raw=last_sync_raw,
        has_reported_properties=isinstance(reported, dict) and bool(reported),
        reported_cluster_name=reader.text(reported, "clusterName", label="reportedProperties.clusterName"),
        imds_attestation=imds,
        supported_capabilities=_capabilities(reader, reported),
        nodes=_nodes(reader, reported),
        isolated_vm_attestation_configuration=_get(document, "properties", "isolatedVmAttestationConfiguration"),
        problems=tuple(reader.problems),
    )
