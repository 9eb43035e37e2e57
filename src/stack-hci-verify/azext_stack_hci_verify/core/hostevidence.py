# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Which host-facts files speak for a cluster, how old they are, and where they disagree. Pure.

A host-facts file belongs to one system, identified by its ARM resource id: a file that carries the
id (cluster.azureResourceUri, which `probe` records) applies to that cluster only; a file without one
applies only when its cluster name and computerName match exactly one cluster in scope. Any other
file is reported and ignored: fleets built from one template repeat names, and names alone never
bind. Facts have an age:
a file collected more than 30 days before the reference time (or with no collection time, or one
in the future) is stale and can fail a check but never pass one. Nothing here depends on the order
in which the files were given: files are taken in order of collection time, then name.
"""

from dataclasses import dataclass
from datetime import datetime, timezone

from . import vocabulary as v
from .fixes import fix_fields, probe_command, probe_where
from .timeutil import format_timestamp
from .values import short_name as _short

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class HostEvidence:
    """The host-facts files that apply to one cluster, judged at one reference time."""
    documents: tuple        # HostFacts that apply, oldest first (ties by source name)
    stale: frozenset        # id() of the documents that are stale
    ignored: tuple          # findings for files that belong to another system or cannot be placed
    findings: tuple         # findings about the files that apply (stale, clock skew)
    foreign: tuple = ()     # the ignored files, one for each of `ignored`

    def is_stale(self, document):
        return document is not None and id(document) in self.stale

    def fresh(self):
        return tuple(document for document in self.documents if not self.is_stale(document))


NO_EVIDENCE = HostEvidence((), frozenset(), (), ())


def _order(document):
    return (document.collected_at or _EPOCH, document.source or "", document.computer_name or "")


def _names(facts):
    names = {_short(node.name) for node in facts.nodes}
    return {name for name in names if name}


def _same_id(first, second):
    return bool(first) and bool(second) and first.strip().rstrip("/").lower() == second.strip().rstrip("/").lower()


def _matches_by_name(facts, document):
    """True when a file that names no resource id names this cluster (its Azure resource name) and one
    of its servers. A cluster that reports no servers yet (not registered) is matched by name alone."""
    if not document.cluster_name or not facts.name or document.cluster_name.lower() != facts.name.lower():
        return False
    nodes = _names(facts)
    return not nodes or _short(document.computer_name) in nodes


def candidates(clusters, document):
    """The clusters a host-facts file may belong to: the one its cluster.azureResourceUri names, else
    those whose Azure name and servers match its cluster name and computerName."""
    if document.cluster_resource_id:
        return [facts for facts in clusters if _same_id(facts.id, document.cluster_resource_id)]
    if not document.cluster_name:       # names no cluster: its computer must be a server of exactly one
        computer = _short(document.computer_name)
        return [facts for facts in clusters if computer and computer in _names(facts)]
    return [facts for facts in clusters if _matches_by_name(facts, document)]


def _unbound_reason(clusters, document, found):
    """Why a file binds to no cluster of the scope."""
    if len(found) > 1:
        ids = ", ".join(sorted(facts.id for facts in found))
        return (f"it names no cluster resource id, and cluster '{document.cluster_name}' with server "
                f"{document.computer_name} matches {len(found)} clusters here ({ids}); names alone never bind a file. "
                "Collect it again with `az stack-hci vm-verification probe`, which records cluster.azureResourceUri, "
                "or narrow the scope to one cluster")
    if document.cluster_resource_id:
        return f"it belongs to cluster {document.cluster_resource_id}, which is not among the clusters read here"
    if not document.cluster_name:
        return "it names no cluster, so it cannot be placed"
    names = {facts.name.lower() for facts in clusters if facts.name}
    if document.cluster_name.lower() in names:
        return f"its computer {document.computer_name} is not a server of cluster '{document.cluster_name}'"
    return (f"it was collected on a server of cluster '{document.cluster_name}', which is not among the clusters read "
            "here")


def _finding(severity, code, reason, *fix, name=None):
    action, command = fix or (None, None)
    return {"scope": "hostFacts", "name": name, "severity": severity, "reasonCode": code, "reason": reason,
            "action": action, **fix_fields(command)}


def _age_finding(document, now, servers=()):
    """A finding when the document cannot vouch for anything green at `now`; None when it is fresh.
    It is collected again on its computer, or, when it names none, on each of `servers` (its cluster's)."""
    collect = (v.ACTION_COLLECT_HOST_FACTS, probe_command(document.computer_name, servers))
    where = probe_where(document.computer_name, servers)
    if document.collected_at is None:
        return _finding(v.SEVERITY_WARNING, v.REASON_HOST_FACTS_STALE,
                        f"Host facts file '{document.source}' has no collectedAt, so its age cannot be told; it is "
                        f"used only for what is off. Collect it again on {where}.", *collect,
                        name=document.source)
    if document.collected_at - now > v.CLOCK_SKEW_TOLERANCE:
        return _finding(v.SEVERITY_WARNING, v.REASON_CLOCK_SKEW,
                        f"Host facts file '{document.source}' was collected at "
                        f"{format_timestamp(document.collected_at)}, after the reference time {format_timestamp(now)}: "
                        "a clock is wrong. It is used only for what is off.",
                        *collect, name=document.source)
    if now - document.collected_at > v.HOST_FACTS_MAX_AGE:
        return _finding(v.SEVERITY_WARNING, v.REASON_HOST_FACTS_STALE,
                        f"Host facts file '{document.source}' was collected at "
                        f"{format_timestamp(document.collected_at)}, more than 30 days before {format_timestamp(now)}; "
                        f"it can show what is off but not vouch for what is on. Collect it again on {where}.",
                        *collect, name=document.source)
    return None


@dataclass(frozen=True)
class HostBinding:
    """Each cluster's HostEvidence, in the order of the clusters, and the files that bind to none
    (their findings, scope hostFacts, one per file)."""
    evidence: tuple
    ignored: tuple
    ignored_documents: tuple = ()


def _evidence(documents, now, servers=()):
    stale, findings = set(), []
    for document in documents:
        age = _age_finding(document, now, servers)
        if age is not None:
            stale.add(id(document))
            findings.append(age)
    return HostEvidence(tuple(documents), frozenset(stale), (), tuple(findings))


def bind_host_facts(clusters, host_facts, now):
    """Bind host-facts files to the clusters in scope (ClusterFacts): a file that names its cluster's
    resource id belongs to that cluster only; one without applies only when its cluster name and
    computerName match exactly one cluster here. One file never applies to two clusters; a file that
    binds to none is an ignored finding. The result does not depend on the order of the files. HostBinding."""
    clusters = list(clusters)
    placed = [[] for _ in clusters]
    ignored, ignored_documents = [], []
    for document in sorted(host_facts or (), key=_order):
        found = candidates(clusters, document)
        if len(found) == 1:
            placed[next(index for index, facts in enumerate(clusters) if facts is found[0])].append(document)
            continue
        ignored_documents.append(document)
        code = "host-facts-ambiguous" if len(found) > 1 else "host-facts-other-system"
        ignored.append(_finding(
            v.SEVERITY_WARNING, code, f"Host facts file '{document.source}' was ignored: "
                                      f"{_unbound_reason(clusters, document, found)}.", name=document.source))
    return HostBinding(tuple(_evidence(documents, now, [node.name for node in facts.nodes])
                             for facts, documents in zip(clusters, placed)), tuple(ignored),
                       tuple(ignored_documents))


def select_host_facts(facts, host_facts, now):
    """The HostEvidence of one cluster among the given host-facts documents, with the files that are
    not its own among `ignored`."""
    binding = bind_host_facts([facts], host_facts, now)
    evidence = binding.evidence[0]
    return HostEvidence(evidence.documents, evidence.stale, binding.ignored, evidence.findings,
                        binding.ignored_documents)
