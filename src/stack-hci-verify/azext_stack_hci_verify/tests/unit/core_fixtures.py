# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Shared inputs of the pure tests: ARM cluster documents, host-facts documents, VMs, and a reader
of the PowerShell literals the commands quote names in."""

import re
import unicodedata
from datetime import datetime, timedelta, timezone

from azext_stack_hci_verify.core import clusters
from azext_stack_hci_verify.core import vocabulary as v
from azext_stack_hci_verify.core.hostfacts import host_facts_from_document
from azext_stack_hci_verify.core.vmfacts import VmFacts

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=timezone.utc)
SUB = "11111111-1111-1111-1111-111111111111"
RG = "local-rg"
CLUSTER = "LocalCluster"
CLUSTER_ID = "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.AzureStackHCI/clusters/{}".format(
    SUB, RG, CLUSTER)
HV1 = "6f1c0001-2a7e-4c1d-9b3a-5e8d7c6b0001"

AE = v.BENEFIT_AZURE_EDITION
AVD = v.BENEFIT_AVD
ESU = v.BENEFIT_ESU

AE_2022 = "Windows Server 2022 Datacenter: Azure Edition"
W10_MS = "Windows 10 Enterprise multi-session"
W11_MS = "Windows 11 Enterprise multi-session"
WS2012R2 = "Windows Server 2012 R2 Datacenter"

_UNSET = object()


def iso(moment):
    """ARM's way: seven fraction digits and a Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def node_arc_id(name):
    return "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.HybridCompute/machines/{}".format(SUB, RG, name)


def arm_cluster(last_sync=_UNSET, imds="Enabled", capabilities=("ArcVmManagement", "LegacyOsSupport"),
                status="ConnectedRecently", connectivity="Connected", nodes=("NODE1", "NODE2"), reported=True,
                name=CLUSTER):
    """A Microsoft.AzureStackHCI/clusters body as ARM returns it; last sync 2 days before NOW by default."""
    if last_sync is _UNSET:
        last_sync = NOW - timedelta(days=2)
    properties = {"status": status, "connectivityStatus": connectivity,
                  "lastSyncTimestamp": iso(last_sync) if isinstance(last_sync, datetime) else last_sync}
    document = {"id": CLUSTER_ID.replace(CLUSTER, name), "name": name, "type": "Microsoft.AzureStackHCI/clusters",
                "location": "eastus", "properties": properties}
    if reported:
        properties["reportedProperties"] = {
            "clusterName": name, "imdsAttestation": imds,
            "supportedCapabilities": list(capabilities) if capabilities is not None else None,
            "nodes": [{"name": node, "id": index + 1, "ehcResourceId": node_arc_id(node)}
                      for index, node in enumerate(nodes)],
        }
    return document


def host_document(name="NODE1", status="Active", legacy="Enabled", imds="Enabled", expiration=_UNSET,
                  collected=_UNSET, cluster=CLUSTER, vms=(), rows=_UNSET):
    """A schema 1 host-facts document collected an hour before NOW, its certificate valid 20 more days."""
    if expiration is _UNSET:
        expiration = NOW + timedelta(days=20)
    if collected is _UNSET:
        collected = NOW - timedelta(hours=1)
    if rows is _UNSET:
        rows = [{"computerName": name, "status": status,
                 "expiration": iso(expiration) if isinstance(expiration, datetime) else expiration,
                 "legacyOsSupport": legacy}]
    return {"schemaVersion": 1, "computerName": name,
            "collectedAt": iso(collected) if isinstance(collected, datetime) else collected,
            "cluster": {"name": cluster, "registrationStatus": "Registered", "connectionStatus": "Connected",
                        "imdsAttestation": imds},
            "attestation": rows, "hostImdsSwitchPresent": True, "vms": list(vms)}


def host(document, source=None):
    return host_facts_from_document(document, source or "host-facts-{}.json".format(document.get("computerName")))


def host_vm(name="vm01", vm_id=HV1, os_name=AE_2022, version="10.0.20348.2402", gsi=True, exchange=True,
            nic=False, generation=2, state="Running"):
    return {"name": name, "vmId": vm_id, "generation": generation, "state": state, "guestServiceInterface": gsi,
            "dataExchange": exchange, "legacyNetworking": nic,
            "guestOs": {"name": os_name, "version": version} if os_name else None}


def evaluate(document, host_documents=(), now=NOW):
    facts = clusters.cluster_facts_from_arm(document)
    hosts = [item if not isinstance(item, dict) else host(item) for item in host_documents]
    return clusters.evaluate_cluster(facts, hosts, now)


def vm_facts(**overrides):
    """A VM on NODE1 that gets Active benefits through v2 on a healthy host unless told otherwise."""
    base = dict(name="vm01", vm_id=HV1, server="NODE1", generation=2, state="Running", guest_os_name=AE_2022,
                guest_os_version="10.0.20348.2402", data_exchange=True, guest_service_interface=True,
                legacy_networking=False,
                sources={"guestOsName": "host", "guestOsVersion": "host", "guestServiceInterface": "host",
                         "legacyNetworking": "host", "dataExchange": "host", "server": "host"})
    base.update(overrides)
    return VmFacts(**base)


def legacy_vm_facts(**overrides):
    """A Windows 10 multi-session VM (needs v1) with Active benefits on a healthy host unless told otherwise."""
    base = dict(guest_os_name=W10_MS, guest_os_version="10.0.19045.4291", guest_service_interface=False,
                legacy_networking=True)
    base.update(overrides)
    return vm_facts(**base)


def finding_codes(findings):
    return [item["reasonCode"] for item in findings]


# ----------------------------------------------------------------------------- PowerShell literals

_QUOTES = "'\u2018\u2019\u201a\u201b"
_CHAR = re.compile(r"\[char\]0x([0-9A-Fa-f]+)")


def read_single_quoted(text):
    """One PowerShell single-quoted literal from the start of `text`: (value, rest)."""
    assert text and text[0] in _QUOTES, text
    value, index = [], 1
    while True:
        assert index < len(text), "unterminated literal: {!r}".format(text)
        char = text[index]
        if char in _QUOTES:
            if index + 1 < len(text) and text[index + 1] in _QUOTES:
                value.append(char)
                index += 2
                continue
            return "".join(value), text[index + 1:]
        value.append(char)
        index += 1


def read_literal(text):
    """One PowerShell expression as powershell_literal writes it, from the start of `text`: (value, rest).
    Either a single-quoted literal or `( part + part ... )` of literals and [char]0xNNNN codes."""
    if not text.startswith("("):
        return read_single_quoted(text)
    value, rest = [], text[1:]
    while True:
        match = _CHAR.match(rest)
        if match:
            value.append(chr(int(match.group(1), 16)))
            rest = rest[match.end():]
        else:
            part, rest = read_single_quoted(rest)
            value.append(part)
        if rest.startswith(" + "):
            rest = rest[3:]
            continue
        assert rest.startswith(")"), rest
        return "".join(value), rest[1:]


def literal_value(literal):
    value, rest = read_literal(literal)
    assert rest == "", rest
    return value


def has_control(text):
    return any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in text or "")
