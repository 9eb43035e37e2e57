# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The report of `check`: every cluster, server and VM judged, one finding list, totals by status,
and the verdict of `--fail-on` on it. Pure: verdicts in, plain dicts and an exit status out.

Each resource judged is an `Item` (its scope, resource ID, name, status and findings). A finding is
the dict the other commands show, with the resource ID, cluster and status of what it is about. A
`--fail-on` level matches findings either by the status of their resource (`expired`, `inactive`,
`unknown`, `off`) or by their severity (`error`, `warning`, `any`); the command fails (exit 1) when
one finding matches.
"""

from dataclasses import dataclass
from typing import Optional

from . import vocabulary as v
from .fixes import display_name, fix_fields
from .benefits import INACTIVE as BENEFIT_INACTIVE, UNKNOWN as BENEFIT_UNKNOWN
from .inventory import bulk_fixes, vm_findings
from .servers import NOT_ACTIVE
from .timeutil import format_timestamp
from .values import short_name as _short

# Scopes of findings and items.
SCOPE_CLUSTER = "cluster"
SCOPE_SERVER = "server"
SCOPE_VM = "vm"
SCOPE_BENEFIT = "benefit"                    # a benefit row of a VM beyond its WAC benefit (core.benefits)
SCOPE_TRUSTED_LAUNCH = "trustedLaunch"
SCOPE_HOST_FACTS = "hostFacts"
SCOPE_SUBSCRIPTION = "subscription"          # a subscription or management group that could not be read
SCOPE_MANAGEMENT_GROUP = "managementGroup"
_SCOPE_ORDER = (SCOPE_SUBSCRIPTION, SCOPE_MANAGEMENT_GROUP, SCOPE_CLUSTER, SCOPE_HOST_FACTS, SCOPE_SERVER, SCOPE_VM,
                SCOPE_BENEFIT, SCOPE_TRUSTED_LAUNCH)
_SEVERITY_ORDER = (v.SEVERITY_ERROR, v.SEVERITY_WARNING, v.SEVERITY_INFO)

# Trusted launch statuses (core/trusted_launch.py) as finding severities.
_TL_SEVERITY = {"Failed": v.SEVERITY_ERROR, "Warning": v.SEVERITY_WARNING, "Unknown": v.SEVERITY_WARNING,
                "Not applicable": v.SEVERITY_INFO}

# --fail-on levels. Status levels match a finding by the (scope, status) of its resource.
_STATUS_LEVELS = {
    "off": ((SCOPE_CLUSTER, v.OFF),),
    "expired": ((SCOPE_SERVER, v.SERVER_EXPIRED),),
    "inactive": ((SCOPE_SERVER, v.SERVER_INACTIVE), (SCOPE_VM, v.BENEFITS_INACTIVE)),
    "unknown": ((SCOPE_CLUSTER, v.UNKNOWN), (SCOPE_SERVER, v.UNKNOWN), (SCOPE_VM, v.BENEFITS_UNKNOWN),
                (SCOPE_TRUSTED_LAUNCH, "Unknown")),
    # The benefit rows beyond a VM's WAC benefit (core.benefits) have levels of their own, so that gates
    # on `inactive` and `unknown` keep their meaning; `warning` and `any` match them by severity.
    "benefit-inactive": ((SCOPE_BENEFIT, BENEFIT_INACTIVE),),
    "benefit-unknown": ((SCOPE_BENEFIT, BENEFIT_UNKNOWN),),
}
# Severity levels match a finding of that severity or a more severe one; `any` matches every finding.
_SEVERITY_LEVELS = {
    "error": (v.SEVERITY_ERROR,),
    "warning": (v.SEVERITY_ERROR, v.SEVERITY_WARNING),
}
LEVEL_ANY = "any"
FAIL_ON_LEVELS = tuple(_STATUS_LEVELS) + tuple(_SEVERITY_LEVELS) + (LEVEL_ANY,)
# What the test results (JUnit) count as a failure when --fail-on is not given.
DEFAULT_TEST_LEVELS = ("warning",)

EXIT_OK = 0
EXIT_FAIL_ON_MATCHED = 1


def parse_levels(values):
    """The --fail-on levels, lower-cased, in the order of FAIL_ON_LEVELS; raises ValueError naming
    the first value that is not a level. Values may also be comma-separated."""
    chosen = set()
    for value in values or ():
        for part in str(value).split(","):
            level = part.strip().lower()
            if not level:
                continue
            if level not in FAIL_ON_LEVELS:
                raise ValueError(part.strip())
            chosen.add(level)
    return tuple(level for level in FAIL_ON_LEVELS if level in chosen)


def matches(finding, levels):
    """True when the finding matches one of the --fail-on levels."""
    for level in levels:
        if level == LEVEL_ANY:
            return True
        if level in _SEVERITY_LEVELS and finding.get("severity") in _SEVERITY_LEVELS[level]:
            return True
        if (finding.get("scope"), finding.get("status")) in _STATUS_LEVELS.get(level, ()):
            return True
    return False


# ----------------------------------------------------------------------------- what was judged

@dataclass(frozen=True)
class CheckedCluster:
    """One cluster as `check` judged it: its verdict (None when ARM's document could not be read),
    its VMs (inventory.JudgedVm), their Trusted launch verdicts (trusted_launch.VmVerdict) and the
    findings of reads that failed. A subscription or management group that could not be read is one
    too, with its scope and its finding."""
    resource_id: Optional[str]
    name: Optional[str]
    verdict: object = None
    vms: tuple = ()
    trusted_launch: tuple = ()
    findings: tuple = ()
    scope: str = SCOPE_CLUSTER


@dataclass(frozen=True)
class Item:
    """A resource judged: one test case of the JUnit report."""
    scope: str
    resource_id: Optional[str]
    name: Optional[str]
    cluster: Optional[str]
    status: Optional[str]
    findings: tuple


def _augment(finding, item_scope, resource_id, cluster, status):
    scope = finding.get("scope") or item_scope
    augmented = {"scope": scope, "resourceId": resource_id, "name": finding.get("name"), "cluster": cluster,
                 "status": status if scope == item_scope else finding.get("status"),
                 "severity": finding.get("severity"), "reasonCode": finding.get("reasonCode"),
                 "reason": finding.get("reason"), "action": finding.get("action"), "command": finding.get("command"),
                 "runOn": finding.get("runOn"), "learnMore": finding.get("learnMore")}
    for key in ("benefit", "offer", "bulkCommand", "server") + _PROVENANCE:
        if finding.get(key) is not None:
            augmented[key] = finding[key]
    return augmented


# Where host facts collected through Run Command came from, kept on their findings.
_PROVENANCE = ("source", "collectedAt")


def _server_finding(server):
    """The finding of a server that is not Active (the cluster's findings leave out the servers
    whose cause is the cluster's own; a gate judges each server)."""
    severity = v.SEVERITY_ERROR if server.status in NOT_ACTIVE else v.SEVERITY_WARNING
    return {"scope": SCOPE_SERVER, "name": server.name, "severity": severity, "reasonCode": server.reason_code,
            "reason": f"{display_name(server.name)}: {server.status}. {server.reason}",
            "action": server.action, **fix_fields(server.command)}


def _server_items(checked):
    verdict = checked.verdict
    ids = {_short(node.name): node.arc_resource_id for node in verdict.facts.nodes}
    items = []
    for server in verdict.servers:
        own = [finding for finding in verdict.findings
               if finding.get("scope") == SCOPE_SERVER and finding.get("name") == server.name]
        if server.status != v.SERVER_ACTIVE and not own:
            own = [_server_finding(server)]
        resource_id = ids.get(_short(server.name))
        items.append(Item(SCOPE_SERVER, resource_id, server.name, checked.name, server.status,
                          tuple(_augment(f, SCOPE_SERVER, resource_id, checked.name, server.status) for f in own)))
    return items


def _vm_items(checked):
    """The VMs and their benefit findings."""
    items = []
    bulk = bulk_fixes(checked.vms)
    for judged in checked.vms:
        status = judged.verdict.benefit_status
        findings = vm_findings([judged], bulk)
        items.append(Item(SCOPE_VM, judged.machine_id, judged.facts.name, checked.name, status, tuple(
            _augment(f, SCOPE_VM, judged.machine_id, checked.name, status) for f in findings)))
    return items


def _trusted_launch_findings(verdict):
    """A finding for each Trusted launch check that is Failed, Warning or Unknown; a Standard VM's one
    finding (not created as a Trusted launch VM; that is chosen at creation) is info, as everywhere."""
    findings = []
    for result in verdict.checks:
        severity = _TL_SEVERITY.get(result.status)
        if severity is None:
            continue
        findings.append({"scope": SCOPE_TRUSTED_LAUNCH, "name": verdict.vm.name, "severity": severity,
                         "reasonCode": result.reason_code,
                         "reason": f"{display_name(verdict.vm.name)}: Trusted launch check {result.check} is "
                                   f"{result.status}. {result.reason}",
                         "action": result.action, **fix_fields(result.command)})
    return findings


def _trusted_launch_items(checked):
    items = []
    for verdict in checked.trusted_launch:
        resource_id = verdict.vm.machine_id
        items.append(Item(SCOPE_TRUSTED_LAUNCH, resource_id, verdict.vm.name, checked.name, verdict.status, tuple(
            _augment(f, SCOPE_TRUSTED_LAUNCH, resource_id, checked.name, verdict.status)
            for f in _trusted_launch_findings(verdict))))
    return items


def items_of(checked):
    """The Items of one CheckedCluster: the cluster (its findings, the host-facts files' and the
    failed reads'), then its servers, VMs and their Trusted launch verdicts."""
    verdict = checked.verdict
    if checked.scope != SCOPE_CLUSTER:
        return [Item(checked.scope, checked.resource_id, checked.name, None, None, tuple(
            _augment(f, checked.scope, checked.resource_id, None, None) for f in checked.findings))]
    status = verdict.host.value if verdict is not None else v.UNKNOWN
    own = [finding for finding in (verdict.findings if verdict is not None else ())
           if finding.get("scope") != SCOPE_SERVER] + list(checked.findings)
    cluster = Item(SCOPE_CLUSTER, checked.resource_id, checked.name, checked.name, status,
                   tuple(_augment(f, SCOPE_CLUSTER, checked.resource_id, checked.name, status) for f in own))
    if verdict is None:
        return [cluster]
    return [cluster] + _server_items(checked) + _vm_items(checked) + _trusted_launch_items(checked)


# ----------------------------------------------------------------------------- totals

def _count(items, scope, statuses, fold=v.UNKNOWN):
    """{camelCase status: count} for the items of one scope; statuses this version does not know
    count under `fold`."""
    counts = dict.fromkeys(statuses, 0)
    total = 0
    for item in items:
        if item.scope != scope:
            continue
        total += 1
        counts[item.status if item.status in counts else fold] += 1
    result = {"total": total}
    result.update({_camel(status): count for status, count in counts.items()})
    return result


def _camel(text):
    words = text.replace(":", " ").split()
    return words[0].lower() + "".join(word[:1].upper() + word[1:] for word in words[1:])


def totals(items, findings):
    """Counts by status: clusters by hostStatus, servers by status, VMs by benefitStatus, Trusted
    launch by status; findings by severity."""
    severities = {severity: 0 for severity in _SEVERITY_ORDER}
    for finding in findings:
        if finding.get("severity") in severities:
            severities[finding["severity"]] += 1
    return {
        "clusters": _count(items, SCOPE_CLUSTER, (v.ON, v.OFF, v.UNKNOWN)),
        "servers": _count(items, SCOPE_SERVER, v.SERVER_STATUSES),
        "vms": _count(items, SCOPE_VM, v.BENEFIT_STATUSES, fold=v.BENEFITS_UNKNOWN),
        "trustedLaunch": _count(items, SCOPE_TRUSTED_LAUNCH,
                                ("Passed", "Failed", "Warning", "Unknown", "Not applicable")),
        "findings": dict({"total": len(findings)}, **severities),
    }


# ----------------------------------------------------------------------------- the report

def _finding_order(finding):
    severity = finding.get("severity")
    scope = finding.get("scope")
    return (_SEVERITY_ORDER.index(severity) if severity in _SEVERITY_ORDER else len(_SEVERITY_ORDER),
            (finding.get("cluster") or "").lower(),
            _SCOPE_ORDER.index(scope) if scope in _SCOPE_ORDER else len(_SCOPE_ORDER),
            str(finding.get("name") or "").lower())


@dataclass(frozen=True)
class CheckReport:
    """What `check` found, and the verdict of its --fail-on levels on it."""
    items: tuple
    findings: tuple           # every finding, most severe first, each with "matched"
    fail_on: tuple
    evaluated_at: object
    scope: dict

    @property
    def matched(self):
        return sum(1 for finding in self.findings if finding["matched"])

    @property
    def exit_code(self):
        return EXIT_FAIL_ON_MATCHED if self.fail_on and self.matched else EXIT_OK

    @property
    def test_levels(self):
        """The levels the test results are judged by: --fail-on's, else DEFAULT_TEST_LEVELS."""
        return self.fail_on or DEFAULT_TEST_LEVELS

    def to_dict(self):
        return {
            "failed": self.exit_code != EXIT_OK,
            "exitCode": self.exit_code,
            "failOn": list(self.fail_on),
            "matchedFindings": self.matched,
            "scope": dict(self.scope),
            "evaluatedAt": format_timestamp(self.evaluated_at),
            "totals": totals(self.items, self.findings),
            "findings": [dict(finding) for finding in self.findings],
        }


def build_report(checked_clusters, fail_on, now, scope=None):
    """The CheckReport of CheckedClusters (in any order; the report is sorted) for the --fail-on
    levels (parse_levels) at the reference time `now`."""
    ordered = sorted(checked_clusters, key=lambda c: ((c.name or "").lower(), (c.resource_id or "").lower()))
    items = tuple(item for checked in ordered for item in items_of(checked))
    findings = [dict(finding, matched=matches(finding, fail_on)) for item in items for finding in item.findings]
    findings.sort(key=_finding_order)
    return CheckReport(items=items, findings=tuple(findings), fail_on=tuple(fail_on), evaluated_at=now,
                       scope=dict(scope or {}))
