# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Cluster and server facts, the rules that judge them, and the views the commands return.

Pure: ARM documents (dicts) and host facts in, plain dicts out. `now` is always a parameter.
"""

import re
from dataclasses import dataclass
from typing import Optional, Tuple

from . import vocabulary as v
from .timeutil import format_timestamp, parse_timestamp, whole_days
from .values import get_path as _get, short_name as _short

_NOT_REGISTERED = ("notyetregistered", "deregistered")
_RESOURCE_ID = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/", re.IGNORECASE)


# ----------------------------------------------------------------------------------- facts

@dataclass(frozen=True)
class NodeFacts:
    """A machine of the cluster as ARM's reportedProperties.nodes lists it."""
    name: str
    node_id: object = None
    arc_resource_id: Optional[str] = None
    os_name: Optional[str] = None
    os_version: Optional[str] = None


@dataclass(frozen=True)
class ClusterFacts:
    """What ARM says about one Microsoft.AzureStackHCI/clusters resource."""
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
    imds_attestation: object = None         # raw, as ARM sent it
    supported_capabilities: object = None   # raw, as ARM sent it
    nodes: Tuple[NodeFacts, ...] = ()
    isolated_vm_attestation_configuration: object = None


def cluster_facts_from_arm(document):
    """ClusterFacts from the body ARM returns for GET of a cluster (or one item of a list)."""
    resource_id = _get(document, "id") or ""
    match = _RESOURCE_ID.match(resource_id)
    reported = _get(document, "properties", "reportedProperties")
    nodes = []
    for index, node in enumerate(_get(reported, "nodes") or []):
        if not isinstance(node, dict):
            continue
        nodes.append(NodeFacts(
            name=str(_get(node, "name") or "node{}".format(index + 1)),
            node_id=_get(node, "id"),
            arc_resource_id=_get(node, "ehcResourceId"),
            os_name=_get(node, "osName"),
            os_version=_get(node, "osVersion"),
        ))
    last_sync_raw = _get(document, "properties", "lastSyncTimestamp")
    return ClusterFacts(
        id=resource_id,
        name=_get(document, "name") or resource_id.rsplit("/", 1)[-1],
        resource_group=match.group("rg") if match else None,
        subscription_id=match.group("sub") if match else None,
        location=_get(document, "location"),
        registration_status=_get(document, "properties", "status"),
        connectivity_status=_get(document, "properties", "connectivityStatus"),
        last_sync=parse_timestamp(last_sync_raw),
        last_sync_raw=last_sync_raw if isinstance(last_sync_raw, str) else None,
        has_reported_properties=isinstance(reported, dict) and bool(reported),
        imds_attestation=_get(reported, "imdsAttestation"),
        supported_capabilities=_get(reported, "supportedCapabilities"),
        nodes=tuple(nodes),
        isolated_vm_attestation_configuration=_get(document, "properties", "isolatedVmAttestationConfiguration"),
    )


# ----------------------------------------------------------------------------------- rules

@dataclass(frozen=True)
class Verdict:
    """A judged value with its reason and, where the user can act, the action and command."""
    value: str
    reason_code: str
    reason: str
    action: Optional[str] = None
    command: Optional[str] = None


@dataclass(frozen=True)
class ServerVerdict:
    name: str
    status: str
    status_source: str
    legacy_os_support: str
    last_sync: object
    expires_on: object
    reason_code: str
    reason: str
    action: Optional[str] = None
    command: Optional[str] = None


def host_status(imds_attestation):
    """hostStatus from reportedProperties.imdsAttestation (or the host's ImdsAttestation)."""
    if imds_attestation is None:
        return Verdict(v.UNKNOWN, "host-attestation-not-reported",
                       "The cluster has not reported imdsAttestation (it may not be registered yet).")
    text = str(imds_attestation).strip()
    if text.lower() == v.IMDS_ENABLED.lower():
        return Verdict(v.ON, "host-attestation-on", "Azure verification for VMs is on (imdsAttestation is Enabled).")
    if text.lower() == v.IMDS_DISABLED.lower():
        return Verdict(v.OFF, "host-attestation-off",
                       "Azure verification for VMs is off (imdsAttestation is Disabled); a sync with Azure renews it.",
                       v.ACTION_SYNC, v.COMMAND_SYNC)
    return Verdict(v.UNKNOWN, "host-attestation-unrecognized",
                   "imdsAttestation is '{}', a value this version does not know.".format(text))


def legacy_os_support_from_capabilities(capabilities):
    """legacyOsSupport from reportedProperties.supportedCapabilities (see LEGACY_OS_CAPABILITY_MARKERS)."""
    if not isinstance(capabilities, list):
        return Verdict(v.UNKNOWN, "capabilities-not-reported",
                       "The cluster has not reported supportedCapabilities.")
    for token in capabilities:
        normalized = re.sub(r"[^a-z0-9]", "", str(token).lower())
        if any(marker in normalized for marker in v.LEGACY_OS_CAPABILITY_MARKERS):
            return Verdict(v.ON, "legacy-os-support-on",
                           "supportedCapabilities lists legacy OS support ('{}').".format(token))
    return Verdict(v.OFF, "legacy-os-support-off",
                   "supportedCapabilities does not list legacy OS support.",
                   v.ACTION_TURN_ON_LEGACY_OS_SUPPORT, v.COMMAND_ENABLE_LEGACY_OS_SUPPORT)


def legacy_os_support_from_hosts(attestations):
    """legacyOsSupport from Get-AzureStackHCIAttestation rows: On only when every row is On."""
    values = [row.legacy_os_support for row in attestations]
    if not values:
        return None
    if all(value == v.ON for value in values):
        return Verdict(v.ON, "legacy-os-support-on", "The host reports legacy OS support Enabled on every server.")
    off = sorted(row.computer_name for row in attestations if row.legacy_os_support == v.OFF)
    if off:
        return Verdict(v.OFF, "legacy-os-support-off",
                       "The host reports legacy OS support Disabled on {}.".format(", ".join(off)),
                       v.ACTION_TURN_ON_LEGACY_OS_SUPPORT, v.COMMAND_ENABLE_LEGACY_OS_SUPPORT)
    return Verdict(v.UNKNOWN, "legacy-os-support-unrecognized",
                   "The host reports a legacy OS support value this version does not know.")


def is_registered(facts):
    status = (facts.registration_status or "").replace(" ", "").lower()
    return facts.has_reported_properties and status not in _NOT_REGISTERED


def server_status_from_arm(facts, node_name, legacy, now):
    """A server's verification status as far as ARM can tell (certificates live 30 days from a sync)."""
    expires_on = facts.last_sync + v.CERTIFICATE_LIFETIME if facts.last_sync else None

    def verdict(status, code, reason, action=None, command=None):
        return ServerVerdict(node_name, status, v.SOURCE_ARM, legacy, facts.last_sync, expires_on,
                             code, reason, action, command)

    if not is_registered(facts):
        return verdict(v.UNKNOWN, "cluster-not-registered",
                       "The cluster is not registered with Azure (status '{}'), so it reports no attestation."
                       .format(facts.registration_status or "unknown"))
    attestation = host_status(facts.imds_attestation)
    if attestation.value == v.OFF:
        return verdict(v.SERVER_INACTIVE, "host-attestation-off",
                       "Azure verification for VMs is off on the cluster (imdsAttestation is Disabled).",
                       v.ACTION_SYNC, v.COMMAND_SYNC)
    if attestation.value == v.UNKNOWN:
        return verdict(v.UNKNOWN, attestation.reason_code, attestation.reason)
    if facts.last_sync is None:
        return verdict(v.UNKNOWN, "last-sync-unknown",
                       "The cluster reports no readable lastSyncTimestamp ({!r}), so expiry cannot be told."
                       .format(facts.last_sync_raw))
    if now > expires_on:
        return verdict(v.SERVER_EXPIRED, "not-synced-30-days",
                       "Last sync with Azure was {} days ago; attestation certificates expire 30 days after a sync."
                       .format(whole_days(now - facts.last_sync)), v.ACTION_SYNC, v.COMMAND_SYNC)
    return verdict(v.SERVER_ACTIVE, "active",
                   "Synced with Azure {} days ago; attestation is valid until {}."
                   .format(max(whole_days(now - facts.last_sync), 0), format_timestamp(expires_on)))


def server_status_from_host(row, last_sync, legacy_fallback):
    """A server's status as the host's Get-AzureStackHCIAttestation reported it."""
    legacy = row.legacy_os_support if row.legacy_os_support != v.UNKNOWN else legacy_fallback
    status = row.status
    if status == v.SERVER_ACTIVE:
        return ServerVerdict(row.computer_name, status, v.SOURCE_HOST, legacy, last_sync, row.expiration,
                             "active", "The host reports Azure verification Active.")
    if status in (v.SERVER_EXPIRED, v.SERVER_INACTIVE):
        return ServerVerdict(row.computer_name, status, v.SOURCE_HOST, legacy, last_sync, row.expiration,
                             "host-reports-" + status.lower(),
                             "The host reports Azure verification {}; a sync with Azure renews it.".format(status),
                             v.ACTION_SYNC, v.COMMAND_SYNC)
    if status == v.SERVER_ERROR:
        return ServerVerdict(row.computer_name, status, v.SOURCE_HOST, legacy, last_sync, row.expiration,
                             "host-reports-error",
                             "The host reports an attestation error (for example a stale signing key); "
                             "a sync with Azure renews the certificate.", v.ACTION_SYNC, v.COMMAND_SYNC)
    return ServerVerdict(row.computer_name, v.UNKNOWN, v.SOURCE_HOST, legacy, last_sync, row.expiration,
                         "host-status-unrecognized",
                         "The host reports status {!r}, a value this version does not know.".format(row.raw_status))


def evaluate_servers(facts, host_facts, legacy, now):
    """One verdict per server: ARM's nodes, with the host's own report winning where there is one."""
    rows = {}
    for document in host_facts:
        for row in document.attestation:
            rows[_short(row.computer_name)] = row
    verdicts = []
    seen = set()
    for node in facts.nodes:
        key = _short(node.name)
        seen.add(key)
        if key in rows:
            verdicts.append(server_status_from_host(rows[key], facts.last_sync, legacy.value))
        else:
            verdicts.append(server_status_from_arm(facts, node.name, legacy.value, now))
    for key, row in rows.items():
        if key not in seen:
            verdicts.append(server_status_from_host(row, facts.last_sync, legacy.value))
    return verdicts


def host_facts_for_cluster(facts, host_facts):
    """The host-facts documents that speak of this cluster's servers (by computer name, domain
    ignored). Used when one command judges several clusters; with one cluster every file applies."""
    nodes = {_short(node.name) for node in facts.nodes}
    chosen = []
    for document in host_facts:
        names = {_short(document.computer_name)} | {_short(row.computer_name) for row in document.attestation}
        if nodes & names:
            chosen.append(document)
    return chosen


@dataclass(frozen=True)
class ClusterVerdict:
    facts: ClusterFacts
    host: Verdict
    legacy: Verdict
    servers: tuple
    expires_on: object
    findings: tuple
    evaluated_at: object
    host_facts: tuple               # the HostFacts documents the verdict was made with


def evaluate_cluster(facts, host_facts, now):
    """Judge a cluster: host status, legacy OS support, every server, and the findings to act on."""
    host = host_status(facts.imds_attestation)
    host_reported = [document for document in host_facts if document.imds_attestation is not None]
    if host_reported:
        host = host_status(host_reported[0].imds_attestation)
    legacy = legacy_os_support_from_capabilities(facts.supported_capabilities)
    from_hosts = legacy_os_support_from_hosts([row for document in host_facts for row in document.attestation])
    if from_hosts is not None:
        legacy = from_hosts
    servers = tuple(evaluate_servers(facts, host_facts, legacy, now))
    expires_on = facts.last_sync + v.CERTIFICATE_LIFETIME if facts.last_sync else None
    return ClusterVerdict(
        facts=facts, host=host, legacy=legacy, servers=servers, expires_on=expires_on,
        findings=tuple(_findings(facts, host, legacy, servers, now)),
        evaluated_at=now, host_facts=tuple(host_facts))


def _finding(severity, code, reason, action=None, command=None):
    return {"severity": severity, "reasonCode": code, "reason": reason, "action": action, "command": command}


def _findings(facts, host, legacy, servers, now):
    if not is_registered(facts):
        yield _finding(v.SEVERITY_WARNING, "cluster-not-registered",
                       "The cluster is not registered with Azure (status '{}'); Azure verification for VMs "
                       "starts once it is registered and deployed.".format(facts.registration_status or "unknown"))
    elif host.value == v.OFF:
        yield _finding(v.SEVERITY_ERROR, host.reason_code, host.reason, host.action, host.command)
    elif host.value == v.UNKNOWN:
        yield _finding(v.SEVERITY_WARNING, host.reason_code, host.reason)
    for server in servers:
        if server.status in (v.SERVER_EXPIRED, v.SERVER_INACTIVE, v.SERVER_ERROR):
            yield _finding(v.SEVERITY_ERROR, server.reason_code,
                           "{}: {} ({})".format(server.name, server.status, server.reason),
                           server.action, server.command)
        elif server.status == v.SERVER_ACTIVE and server.expires_on is not None \
                and server.expires_on - now <= v.EXPIRY_WARNING_WINDOW:
            yield _finding(v.SEVERITY_WARNING, "attestation-expiring",
                           "{}: attestation expires {} (in {} days) unless the cluster syncs with Azure."
                           .format(server.name, format_timestamp(server.expires_on),
                                   whole_days(server.expires_on - now)), v.ACTION_SYNC, v.COMMAND_SYNC)
    if is_registered(facts) and not facts.nodes and not servers:
        yield _finding(v.SEVERITY_WARNING, "no-servers-reported", "The cluster reports no servers.")
    connectivity = facts.connectivity_status
    if is_registered(facts) and connectivity and connectivity.lower() != "connected":
        yield _finding(v.SEVERITY_WARNING, "not-connected",
                       "Connectivity status is '{}'; attestation renews only when the cluster syncs with Azure."
                       .format(connectivity), v.ACTION_SYNC, v.COMMAND_SYNC)
    if legacy.value == v.UNKNOWN:
        yield _finding(v.SEVERITY_INFO, legacy.reason_code,
                       legacy.reason + " Legacy OS support is needed only by VMs that use v1 (REST) access; "
                       "run `az stack-hci vm-verification probe` on a host and pass --host-facts to know.")


# ----------------------------------------------------------------------------------- views

def server_view(server):
    return {
        "name": server.name,
        "status": server.status,
        "statusSource": server.status_source,
        "legacyOsSupport": server.legacy_os_support,
        "lastSync": format_timestamp(server.last_sync),
        "expiresOn": format_timestamp(server.expires_on),
        "action": server.action,
        "command": server.command,
        "reasonCode": server.reason_code,
        "reason": server.reason,
    }


def cluster_view(verdict, vm_summary=None):
    facts = verdict.facts
    days = whole_days(verdict.expires_on - verdict.evaluated_at) if verdict.expires_on else None
    return {
        "name": facts.name,
        "id": facts.id,
        "resourceGroup": facts.resource_group,
        "subscriptionId": facts.subscription_id,
        "hostStatus": verdict.host.value,
        "imdsAttestation": facts.imds_attestation,
        "legacyOsSupport": verdict.legacy.value,
        "supportedCapabilities": facts.supported_capabilities,
        "registrationStatus": facts.registration_status,
        "connectivityStatus": facts.connectivity_status,
        "lastSync": format_timestamp(facts.last_sync),
        "attestationExpiresOn": format_timestamp(verdict.expires_on),
        "daysUntilExpiry": days,
        "servers": [server_view(server) for server in verdict.servers],
        "vmSummary": vm_summary,
        "findings": list(verdict.findings),
        "hostFacts": [document.source for document in verdict.host_facts],
        "evaluatedAt": format_timestamp(verdict.evaluated_at),
    }
