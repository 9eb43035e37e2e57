# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""A cluster's verdict: host status, legacy OS support, every server, and the findings to act on.

Pure: ClusterFacts and host evidence in, verdicts and plain dicts out. `now` is always a parameter.
Every status other than On / Active carries an action and a command, and a finding.
"""

import re
from dataclasses import dataclass, replace
from typing import Optional

from . import fixes
from . import servers as srv
from . import vocabulary as v
from .clusterfacts import ClusterFacts, NodeFacts, cluster_facts_from_arm
from .hostevidence import NO_EVIDENCE, select_host_facts
from .hostprereqs import server_findings as host_prerequisite_findings
from .timeutil import format_timestamp, whole_days
from .values import short_name as _short

__all__ = ["ClusterFacts", "NodeFacts", "cluster_facts_from_arm", "evaluate_cluster", "cluster_view",
           "host_status", "legacy_os_support_from_capabilities"]

# Registration statuses (properties.status) that say the system is not registered with Azure.
_NOT_REGISTERED = ("notyetregistered", "deregistered", "notspecified")


@dataclass(frozen=True)
class Verdict:
    """A judged value with its reason and, where the user can act, the action and command."""
    value: str
    reason_code: str
    reason: str
    action: Optional[str] = None
    command: Optional[str] = None
    observed_at: object = None


# ----------------------------------------------------------------------------------- host status

def host_status(imds_attestation, where="imdsAttestation", observed_at=None):
    """hostStatus from a reported imdsAttestation value (ARM's, or a host's ImdsAttestation)."""
    if imds_attestation is None:
        return Verdict(v.UNKNOWN, "host-attestation-not-reported",
                       f"No {where} was reported; it arrives with the cluster's next sync with Azure.",
                       *fixes.sync_fix(), observed_at=observed_at)
    text = str(imds_attestation).strip()
    if text.lower() == v.IMDS_ENABLED.lower():
        return Verdict(v.ON, "host-attestation-on",
                       f"Azure verification for VMs is on ({where} is Enabled).", observed_at=observed_at)
    if text.lower() == v.IMDS_DISABLED.lower():
        return Verdict(v.OFF, "host-attestation-off",
                       f"Azure verification for VMs is off ({where} is Disabled). It is on by default on a registered, "
                       "deployed system: check the host prerequisites that \"Azure verification for VMs on Azure "
                       "Local\" lists (all machines online, registered and deployed; Hyper-V installed), then sync "
                       "with Azure.", *fixes.sync_fix(),
                       observed_at=observed_at)
    return Verdict(v.UNKNOWN, v.REASON_UNRECOGNIZED_VALUE,
                   f"{where} is '{text}', a value this version does not know; a newer version of the extension may.",
                   *fixes.update_fix(), observed_at=observed_at)


def is_registered(facts):
    status = (facts.registration_status or "").replace(" ", "").lower()
    return status not in _NOT_REGISTERED


def host_status_from_arm(facts):
    """hostStatus as ARM alone tells it, with the cluster-level cause when it is not On."""
    if facts.problems:
        return Verdict(v.UNKNOWN, v.REASON_MALFORMED_RESOURCE,
                       f"ARM's document of this cluster cannot be read as this version expects "
                       f"({'; '.join(facts.problems)}).", *fixes.update_fix(), observed_at=facts.last_sync)
    if not is_registered(facts):
        return Verdict(v.UNKNOWN, v.REASON_CLUSTER_NOT_REGISTERED,
                       f"The system is not registered with Azure (registration status "
                       f"'{facts.registration_status or 'none'}'); Azure verification for VMs starts once its machines "
                       "are registered and the system is deployed.",
                       v.ACTION_REGISTER,
                       fixes.register_with_azure(facts.subscription_id, facts.resource_group, facts.location))
    return host_status(facts.imds_attestation, "reportedProperties.imdsAttestation", facts.last_sync)


def _host_status_from_files(evidence, servers=()):
    """hostStatus from the host-facts files: On only when every file reports it on; a stale file
    never makes it On (it is collected again on the servers of the stale files; `servers`, the
    cluster's, for a file that names none). None when no file reports it."""
    reported = [doc for doc in evidence.documents if doc.imds_attestation is not None]
    if not reported:
        return None, ()
    verdicts = [(doc, host_status(doc.imds_attestation, f"ImdsAttestation in '{doc.source}'",
                                  doc.collected_at)) for doc in reported]
    values = sorted({verdict.value for _, verdict in verdicts})
    conflicts = ()
    if len({doc.imds_attestation.strip().lower() for doc in reported}) > 1:
        conflicts = ({"fact": "imdsAttestation", "values": [
            {"source": doc.source, "computerName": doc.computer_name, "value": doc.imds_attestation}
            for doc in reported]},)
    observed = min((doc.collected_at for doc in reported if doc.collected_at), default=None)
    for value in (v.OFF, v.UNKNOWN):
        if value in values:
            chosen = next(verdict for _, verdict in verdicts if verdict.value == value)
            return Verdict(chosen.value, chosen.reason_code, chosen.reason, chosen.action, chosen.command,
                           observed), conflicts
    stale = [doc for doc in reported if evidence.is_stale(doc)]
    if stale:
        where = [doc.computer_name for doc in stale]
        where = tuple(servers) if not all(where) else where
        return Verdict(v.UNKNOWN, v.REASON_HOST_FACTS_STALE,
                       f'Only stale host-facts files ({", ".join(doc.source for doc in stale)}) report Azure '
                       'verification on; they cannot vouch for it now. '
                       f"Collect them again on {fixes.probe_where(servers=where)}.",
                       *fixes.collect_fix(servers=where), observed), conflicts
    return Verdict(v.ON, "host-attestation-on",
                   "Every host-facts file reports ImdsAttestation Enabled.", observed_at=observed), conflicts


def _newer_host_status(arm, files, now):
    """The newer of ARM's and the files' host status; their disagreement as a conflict. A time after
    the reference time is no observation time (a clock is wrong)."""
    if files is None:
        return arm, ()
    arm_time = srv.credible(arm.observed_at, now)
    if arm.reason_code in (v.REASON_MALFORMED_RESOURCE, v.REASON_CLUSTER_NOT_REGISTERED):
        chosen = arm
    elif arm_time is None or (files.observed_at is not None and files.observed_at >= arm_time):
        chosen = files
    else:
        chosen = arm
    if arm.value == files.value:
        return chosen, ()
    return chosen, ({"fact": "hostStatus", "arm": arm.value, "host": files.value,
                     "armObservedAt": format_timestamp(arm.observed_at),
                     "hostObservedAt": format_timestamp(files.observed_at),
                     "chosen": "host" if chosen is files else "arm"},)


# ----------------------------------------------------------------------------------- legacy OS support

def legacy_os_support_from_capabilities(capabilities, servers=()):
    """legacyOsSupport from reportedProperties.supportedCapabilities: On when a token known to mean
    legacy OS support is listed; otherwise Unknown (the values are undocumented, so absence proves
    nothing), and the probe on each of `servers` (the cluster's) says. See
    vocabulary.LEGACY_OS_CAPABILITY_MARKERS."""
    if isinstance(capabilities, list):
        for token in capabilities:
            normalized = re.sub(r"[^a-z0-9]", "", str(token).lower())
            if any(marker in normalized for marker in v.LEGACY_OS_CAPABILITY_MARKERS):
                return Verdict(v.ON, "legacy-os-support-on",
                               f"supportedCapabilities lists legacy OS support ('{token}').")
    said = "supportedCapabilities does not list it" if isinstance(capabilities, list) else \
        "the cluster reports no supportedCapabilities"
    return Verdict(v.UNKNOWN, "legacy-os-support-unknown",
                   f"Whether legacy OS support is on cannot be told from ARM ({said}; the values are undocumented and "
                   "the portal does not show it); the host's own report says: run the probe on "
                   f"{fixes.probe_where(servers=servers)}.",
                   *fixes.collect_fix(servers=servers))


def _legacy_for_cluster(servers, arm_legacy):
    """The cluster's legacyOsSupport from each server's: Off when any server has it off (the command
    turns it on there), On when every server has it on, else ARM's."""
    off = [server.name for server in servers if server.legacy_os_support == v.OFF]
    on = [server.name for server in servers if server.legacy_os_support == v.ON]
    if off:
        whole = not on and len(off) == len(servers)
        command = fixes.enable_legacy_os_support() if whole else "; ".join(
            fixes.enable_legacy_os_support(name) for name in sorted(off))
        return Verdict(v.OFF, "legacy-os-support-off",
                       'Legacy OS support is off on '
                       f'{", ".join(sorted(off))}{"" if whole else " (a machine added later is enabled on its own)"}.',
                       v.ACTION_TURN_ON_LEGACY_OS_SUPPORT, command)
    if servers and len(on) == len(servers):
        return Verdict(v.ON, "legacy-os-support-on", "Legacy OS support is on on every server.")
    return arm_legacy


# ----------------------------------------------------------------------------------- servers

def _host_rows(evidence):
    """{server: (row, document)} from the files, the newest file's row for each server."""
    rows = {}
    for document in evidence.documents:          # oldest first: newer files overwrite
        for row in document.attestation:
            rows[_short(row.computer_name)] = (row, document)
    return rows


def _server_legacy(row, document, evidence, arm_legacy):
    if row is None or row.legacy_os_support == v.UNKNOWN:
        return arm_legacy.value
    if row.legacy_os_support == v.ON and evidence.is_stale(document):
        return v.UNKNOWN
    return row.legacy_os_support


def _node_names(facts):
    return tuple(node.name for node in facts.nodes)


def _server_names(facts, rows):
    """(name, key) of every server: ARM's nodes in ARM's order, then the ones only the files report."""
    names = [(node.name, _short(node.name)) for node in facts.nodes]
    known = {key for _, key in names}
    names += sorted(((row.computer_name, key) for key, (row, _) in rows.items() if key not in known),
                    key=lambda item: item[1])
    return names, known


def evaluate_servers(facts, arm_host, evidence, arm_legacy, now):
    """One verdict per server: ARM's nodes and the servers the files report, the newer observation
    winning for each."""
    rows = _host_rows(evidence)
    names, known = _server_names(facts, rows)
    verdicts = []
    for name, key in names:
        row, document = rows.get(key, (None, None))
        legacy = _server_legacy(row, document, evidence, arm_legacy)
        host = srv.from_host(row, document, evidence.is_stale(document), facts.last_sync, legacy, now=now) \
            if row is not None else None
        verdicts.append(srv.newer(srv.from_arm(arm_host, facts, name, legacy, now) if key in known else None,
                                  host, now))
    return verdicts


# ----------------------------------------------------------------------------------- the cluster

@dataclass(frozen=True)
class ClusterVerdict:  # pylint: disable=too-many-instance-attributes
    facts: ClusterFacts
    host: Verdict
    legacy: Verdict
    servers: tuple
    expires_on: object
    findings: tuple
    evaluated_at: object
    evidence: object = NO_EVIDENCE   # hostevidence.HostEvidence
    conflicts: tuple = ()

    @property
    def host_facts(self):
        """The host-facts documents the verdict was made with."""
        return self.evidence.documents


def evaluate_cluster(facts, host_facts, now, evidence=None):
    """Judge a cluster at `now`: host status, legacy OS support, every server, and the findings.

    `host_facts`: HostFacts documents; only the ones of this cluster are used (the others become
    findings). `evidence`: an already bound HostEvidence (hostevidence.bind_host_facts), instead."""
    if evidence is None:
        evidence = select_host_facts(facts, host_facts, now)
    arm_host = host_status_from_arm(facts)
    files_host, file_conflicts = _host_status_from_files(evidence, _node_names(facts))
    host, host_conflicts = _newer_host_status(arm_host, files_host, now)
    arm_legacy = legacy_os_support_from_capabilities(facts.supported_capabilities, _node_names(facts))
    servers = tuple(evaluate_servers(facts, arm_host, evidence, arm_legacy, now))
    legacy = _legacy_for_cluster(servers, arm_legacy)
    credible_sync = srv.credible(facts.last_sync, now)
    expires_on = credible_sync + v.CERTIFICATE_LIFETIME if credible_sync else None
    verdict = ClusterVerdict(facts=facts, host=host, legacy=legacy, servers=servers, expires_on=expires_on,
                             findings=(), evaluated_at=now, evidence=evidence,
                             conflicts=tuple(file_conflicts) + tuple(host_conflicts))
    return replace(verdict, findings=tuple(_findings(verdict, now)))


def finding(scope, name, severity, code, reason, *fix):
    """A finding; `fix`: its (action, command), as fixes.* return them, or nothing."""
    action, command = fix or (None, None)
    return {"scope": scope, "name": name, "severity": severity, "reasonCode": code, "reason": reason,
            "action": action, **fixes.fix_fields(command)}


def _host_finding(verdict):
    host = verdict.host
    if host.value == v.ON:
        return None
    severity = v.SEVERITY_ERROR if host.value == v.OFF or host.reason_code in (
        v.REASON_CLUSTER_NOT_REGISTERED, "host-attestation-not-reported") else v.SEVERITY_WARNING
    return finding("cluster", verdict.facts.name, severity, host.reason_code, host.reason, host.action, host.command)


def _server_findings(verdict, now):
    for server in verdict.servers:
        if server.status != v.SERVER_ACTIVE:
            if server.reason_code == verdict.host.reason_code and server.status_source == v.SOURCE_ARM:
                continue            # the cluster-level finding already says it
            severity = v.SEVERITY_ERROR if server.status in srv.NOT_ACTIVE else v.SEVERITY_WARNING
            yield finding("server", server.name, severity, server.reason_code,
                          f"{server.name}: {server.status}. {server.reason}",
                          server.action, server.command)
        elif server.expires_on is not None and server.expires_on - now <= v.EXPIRY_WARNING_WINDOW:
            yield finding("server", server.name, v.SEVERITY_WARNING, "attestation-expiring",
                          f"{server.name}: attestation expires {format_timestamp(server.expires_on)} (in "
                          f"{srv.describe_age(server.expires_on - now)}) unless the cluster syncs with Azure.",
                          *fixes.sync_fix())


def _findings(verdict, now):
    facts = verdict.facts
    host = _host_finding(verdict)
    if host:
        yield host
    yield from _server_findings(verdict, now)
    yield from host_prerequisite_findings(verdict.evidence, verdict.servers)
    if is_registered(facts) and not facts.problems and not verdict.servers:
        yield finding("cluster", facts.name, v.SEVERITY_WARNING, "no-servers-reported",
                      "The cluster reports no servers; they are listed after a sync with Azure.", *fixes.sync_fix())
    connectivity = facts.connectivity_status
    if is_registered(facts) and connectivity and connectivity.lower() != "connected":
        yield finding("cluster", facts.name, v.SEVERITY_WARNING, "not-connected",
                      f"Connectivity status is '{connectivity}'; attestation renews only when the cluster syncs with "
                      "Azure.", *fixes.sync_fix())
    legacy = verdict.legacy
    if legacy.value == v.OFF:
        yield finding("cluster", facts.name, v.SEVERITY_WARNING, legacy.reason_code,
                      legacy.reason + " VMs that use v1 (Windows 10 multi-session, ESU) need it.",
                      legacy.action, legacy.command)
    elif legacy.value == v.UNKNOWN:
        yield finding("cluster", facts.name, v.SEVERITY_INFO, legacy.reason_code,
                      legacy.reason + " Only VMs that use v1 (Windows 10 multi-session, ESU) need it.",
                      legacy.action, legacy.command)
    yield from verdict.evidence.ignored
    yield from verdict.evidence.findings


# ----------------------------------------------------------------------------------- views

server_view = srv.server_view


def cluster_view(verdict, vm_summary=None, extra_findings=()):
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
        "reasonCode": verdict.host.reason_code,
        "reason": verdict.host.reason,
        "servers": [server_view(server) for server in verdict.servers],
        "vmSummary": vm_summary,
        "findings": list(verdict.findings) + list(extra_findings),
        "conflicts": [dict(conflict) for conflict in verdict.conflicts],
        "hostFacts": [document.source for document in verdict.evidence.documents],
        "evaluatedAt": format_timestamp(verdict.evaluated_at),
    }


_VIEW_KEYS = ("name", "id", "resourceGroup", "subscriptionId", "hostStatus", "imdsAttestation", "legacyOsSupport",
              "supportedCapabilities", "registrationStatus", "connectivityStatus", "lastSync", "attestationExpiresOn",
              "daysUntilExpiry", "reasonCode", "reason", "servers", "vmSummary", "findings", "conflicts", "hostFacts",
              "evaluatedAt")
