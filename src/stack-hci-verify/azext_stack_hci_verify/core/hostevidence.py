# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Which host-facts files speak for a cluster, how old they are, and where they disagree. Pure.

A host-facts file belongs to one system: it applies only to the cluster whose name it carries and
whose servers include its computerName; any other file is reported and ignored. Facts have an age:
a file collected more than 30 days before the reference time (or with no collection time, or one
in the future) is stale and can fail a check but never pass one. Nothing here depends on the order
in which the files were given: files are taken in order of collection time, then name.
"""

from dataclasses import dataclass
from datetime import datetime, timezone

from . import vocabulary as v
from .fixes import probe_command
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


def _cluster_names(facts):
    return {name.lower() for name in (facts.name, facts.reported_cluster_name) if name}


def _document_cluster_names(document):
    raw = document.document.get("cluster") if isinstance(document.document, dict) else None
    names = {document.cluster_name}
    if isinstance(raw, dict) and isinstance(raw.get("clusterName"), str):
        names.add(raw["clusterName"])
    return {name.lower() for name in names if name}


def belongs_to(facts, document):
    """(True, None) when the file is this cluster's, else (False, why)."""
    file_clusters = _document_cluster_names(document)
    computer = _short(document.computer_name)
    nodes = _names(facts)
    if file_clusters and not file_clusters & _cluster_names(facts):
        return False, "it was collected on a server of cluster '{}', not '{}'".format(
            document.cluster_name or sorted(file_clusters)[0], facts.name)
    if computer and nodes and computer not in nodes:
        return False, "its computer {} is not a server of cluster '{}' ({})".format(
            document.computer_name, facts.name, ", ".join(sorted(node.name for node in facts.nodes)))
    if not file_clusters and not (computer and nodes):
        return False, "it names no cluster and its computer cannot be matched to a server of '{}'".format(facts.name)
    return True, None


def _finding(severity, code, reason, action=None, command=None, name=None):
    return {"scope": "hostFacts", "name": name, "severity": severity, "reasonCode": code, "reason": reason,
            "action": action, "command": command}


def _age_finding(document, now):
    """A finding when the document cannot vouch for anything green at `now`; None when it is fresh."""
    collect = (v.ACTION_COLLECT_HOST_FACTS, probe_command(document.computer_name))
    where = document.computer_name or "its server"
    if document.collected_at is None:
        return _finding(v.SEVERITY_WARNING, v.REASON_HOST_FACTS_STALE,
                        "Host facts file '{}' has no collectedAt, so its age cannot be told; it is used only for "
                        "what is off. Collect it again on {}.".format(document.source, where), *collect,
                        name=document.source)
    if document.collected_at - now > v.CLOCK_SKEW_TOLERANCE:
        return _finding(v.SEVERITY_WARNING, v.REASON_CLOCK_SKEW,
                        "Host facts file '{}' was collected at {}, after the reference time {}: a clock is wrong. "
                        "It is used only for what is off.".format(
                            document.source, format_timestamp(document.collected_at), format_timestamp(now)),
                        *collect, name=document.source)
    if now - document.collected_at > v.HOST_FACTS_MAX_AGE:
        return _finding(v.SEVERITY_WARNING, v.REASON_HOST_FACTS_STALE,
                        "Host facts file '{}' was collected at {}, more than 30 days before {}; it can show what is "
                        "off but not vouch for what is on. Collect it again on {}.".format(
                            document.source, format_timestamp(document.collected_at), format_timestamp(now), where),
                        *collect, name=document.source)
    return None


def select_host_facts(facts, host_facts, now):
    """The HostEvidence of cluster `facts` among the given host-facts documents."""
    documents, ignored, findings, stale, foreign = [], [], [], set(), []
    for document in sorted(host_facts or (), key=_order):
        ok, why = belongs_to(facts, document)
        if not ok:
            foreign.append(document)
            ignored.append(_finding(
                v.SEVERITY_WARNING, "host-facts-other-system",
                "Host facts file '{}' was ignored: {}. Pass each cluster its own servers' files.".format(
                    document.source, why), name=document.source))
            continue
        documents.append(document)
        age = _age_finding(document, now)
        if age is not None:
            stale.add(id(document))
            findings.append(age)
    return HostEvidence(tuple(documents), frozenset(stale), tuple(ignored), tuple(findings), tuple(foreign))


def bind_host_facts(clusters, host_facts, now):
    """A HostEvidence for each ClusterFacts of one command. A file that belongs to one of the
    clusters is not reported as foreign on the others; a file that belongs to none is reported once,
    on the first cluster."""
    bound = [select_host_facts(facts, host_facts, now) for facts in clusters]
    placed = {id(document) for evidence in bound for document in evidence.documents}
    reported = set()
    result = []
    for evidence in bound:
        ignored, foreign = [], []
        for item, document in zip(evidence.ignored, evidence.foreign):
            if id(document) in placed or id(document) in reported:
                continue
            reported.add(id(document))
            ignored.append(item)
            foreign.append(document)
        result.append(HostEvidence(evidence.documents, evidence.stale, tuple(ignored), evidence.findings,
                                   tuple(foreign)))
    return result
