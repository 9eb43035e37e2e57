# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The steps of `check` around the pure report (core/report.py): read and judge every cluster of
the scope with its servers, VMs and their Trusted launch posture, build the report, write the JUnit
and Markdown files asked for, and ask for exit status 1 when a finding matches --fail-on (the report
is printed either way).

`checked_clusters` is the one place where the scope decides how clusters are read: by name or ID
from ARM (one cluster that cannot be read is a finding, the others still come back), every cluster
of a resource group, or the fleet of some subscriptions through Resource Graph (fleet.py)."""

from dataclasses import dataclass
from typing import Optional

from azext_stack_hci_verify.core.report import CheckedCluster

READ_SEVERITY = "warning"


@dataclass
class CheckRequest:
    """The options of `check`, as the validators left them."""

    cluster_name: Optional[str] = None
    resource_group: Optional[str] = None
    ids: Optional[list] = None
    subscriptions: Optional[list] = None
    all_subscriptions: bool = False
    management_groups: Optional[list] = None
    host_facts: Optional[list] = None      # HostFacts documents
    guest_facts: Optional[list] = None     # GuestFacts documents
    fail_on: tuple = ()                    # core.report levels
    junit: Optional[str] = None
    summary: Optional[str] = None

    @property
    def fleet(self):
        return bool(self.subscriptions or self.all_subscriptions or self.management_groups)


def check(cmd, request, now):
    """The check command: the report view; the process exits 1 after printing it when a finding
    matches --fail-on."""
    from azext_stack_hci_verify._exit_status import exit_after_output
    from azext_stack_hci_verify.adapters.files import append_text_file, write_text_file
    from azext_stack_hci_verify.core.report import build_report
    from azext_stack_hci_verify.core.report_render import render_junit, render_markdown
    scope, checked = checked_clusters(cmd, request, now)
    report = build_report(checked, request.fail_on, now, scope=scope)
    if request.junit:
        write_text_file(request.junit, render_junit(report), "JUnit file")
    if request.summary:
        append_text_file(request.summary, render_markdown(report), "Summary file")
    exit_after_output(cmd.cli_ctx, report.exit_code)
    return report.to_dict()


def checked_clusters(cmd, request, now):
    """(scope, CheckedClusters) of the request's scope, each judged at `now`."""
    if request.fleet:
        return _fleet_clusters(cmd, request, now)
    from azext_stack_hci_verify.custom import _command_credential
    credential = _command_credential(cmd, _refs(cmd, request) if request.ids or request.cluster_name else [])
    verdicts, unreadable, scope = _cluster_verdicts(cmd, request, now, credential)
    return scope, [_check_cluster(cmd, verdict, request.guest_facts, credential) for verdict in verdicts] + \
        unreadable


# ----------------------------------------------------------------------------- by name, ID or group

def _cluster_verdicts(cmd, request, now, credential):
    """(ClusterVerdicts, CheckedClusters of the clusters that could not be read, scope). Named clusters
    are read as `show` reads them: one that cannot be read is a CheckedCluster with its finding, and
    when none can be read the first error ends the command."""
    from azext_stack_hci_verify.core.clusters import cluster_facts_from_arm
    from azext_stack_hci_verify.custom import _evaluate_all, evaluate_clusters
    if request.ids or request.cluster_name:
        refs, failures = _refs(cmd, request), []
        verdicts = _evaluate_all(cmd, refs, request.host_facts, now, credential, failures)
        unreadable = [unreadable_cluster(ref, error) for ref, error in failures]
        scope = {"kind": "clusters", "clusters": len(refs)}
    else:
        documents, scope = _read_group(cmd, request, credential)
        verdicts, unreadable = evaluate_clusters([cluster_facts_from_arm(d) for d in documents],
                                                 request.host_facts, now), []
    return verdicts, unreadable, dict(scope, trustedLaunch=True)


def _read_group(cmd, request, credential):
    from azure.cli.core.commands.client_factory import get_subscription_id
    from azext_stack_hci_verify.adapters import arm
    subscription = get_subscription_id(cmd.cli_ctx)
    documents = arm.list_clusters(cmd.cli_ctx, subscription, request.resource_group, credential=credential)
    return documents, {"kind": "resourceGroup", "subscriptionId": subscription, "resourceGroup": request.resource_group}


def _refs(cmd, request):
    from azure.cli.core.commands.client_factory import get_subscription_id
    from azext_stack_hci_verify._validators import parse_cluster_ids
    if request.ids:
        return parse_cluster_ids(request.ids)
    return [(get_subscription_id(cmd.cli_ctx), request.resource_group, request.cluster_name)]


# What to do about a cluster that cannot be read, by the error's class.
_UNREADABLE_ACTIONS = {"ForbiddenError": "Grant read access", "ResourceNotFoundError": "Check the cluster's name",
                       "UnauthorizedError": "Sign in again"}


def unreadable_finding(name, error):
    """The error finding of a cluster whose ARM document could not be read: the reason, an action by
    the kind of error, and the command from the error's recommendation."""
    recommendation = " ".join(getattr(error, "recommendations", None) or [])
    return {"scope": "cluster", "name": name, "severity": "error", "reasonCode": "cluster-not-readable",
            "reason": error.error_msg, "action": _UNREADABLE_ACTIONS.get(type(error).__name__, "Run it again"),
            "command": _backquoted(recommendation)}


def unreadable_cluster(ref, error):
    """CheckedCluster of a cluster whose ARM document could not be read: its one error finding."""
    from azext_stack_hci_verify.adapters.arm import CLUSTER_TYPE
    subscription, group, name = ref
    finding = unreadable_finding(name, error)
    resource_id = "/subscriptions/{}/resourceGroups/{}/providers/{}/{}".format(subscription, group, CLUSTER_TYPE, name)
    return CheckedCluster(resource_id, name, findings=(finding,))


def _backquoted(text):
    """The first `command` quoted in a recommendation, if any."""
    parts = (text or "").split("`")
    return parts[1] if len(parts) >= 3 and parts[1].strip() else None


def _check_cluster(cmd, verdict, guest_facts, credential):
    """CheckedCluster of one judged cluster: its VMs, read as `show` reads them (Resource Graph, ARM
    where it cannot serve), and their Trusted launch posture. VM reads that fail are findings."""
    from azure.cli.core.azclierror import AzCLIError
    from azext_stack_hci_verify.custom import _judge_vms
    facts = verdict.facts
    try:
        judged, graph_read = _judge_vms(cmd, verdict, credential)
    except AzCLIError as ex:
        finding = _read_finding(facts.name, "vms-not-readable", ex.error_msg, None, None)
        return CheckedCluster(facts.id, facts.name, verdict, findings=(finding,))
    read = graph_read.vms
    findings = [_read_finding(facts.name, code, failure.reason, failure.action, failure.command)
                for code, failure in (("vms-not-readable", read.machines_failure),
                                      ("vm-instances-not-readable", read.instances_failure)) if failure is not None]
    if graph_read.fallback_reason:
        findings.append(dict(_read_finding(facts.name, "resource-graph-fallback", graph_read.fallback_reason, None,
                                           None), severity="info"))
    return CheckedCluster(facts.id, facts.name, verdict, tuple(judged),
                          tuple(_trusted_launch(cmd, verdict, read.vms, guest_facts, credential)), tuple(findings))


def _read_finding(cluster, code, reason, action, command):
    return {"scope": "cluster", "name": cluster, "severity": READ_SEVERITY, "reasonCode": code, "reason": reason,
            "action": action, "command": command}


def _trusted_launch(cmd, verdict, arm_vms, guest_facts, credential=None):
    """Trusted launch verdicts of the cluster's Azure Local VMs (those ARM has), judged with the
    cluster's own fresh host facts."""
    from azext_stack_hci_verify.adapters import arm_trusted_launch
    from azext_stack_hci_verify.core.trusted_launch import vm_facts_from_arm
    from azext_stack_hci_verify.core.trusted_launch_checks import judge_vms
    from azext_stack_hci_verify.core.trusted_launch_hosts import evaluate_cluster
    vms = [vm_facts_from_arm(item.machine, item.instance, item.error) for item in arm_vms]
    if not vms:
        return []
    context = evaluate_cluster(verdict.facts, verdict.evidence.fresh())
    attestations, images = arm_trusted_launch.read_trusted_launch(cmd.cli_ctx, verdict.facts.subscription_id, vms,
                                                                  credential)
    return judge_vms(vms, attestations, images, context, guest_facts or [])


# ----------------------------------------------------------------------------- the fleet

def _fleet_clusters(cmd, request, now):
    """(scope, CheckedClusters) of subscriptions read with Resource Graph. Its VM rows carry no
    Trusted launch reads, so Trusted launch is not evaluated here (scope.trustedLaunch false)."""
    from azext_stack_hci_verify import fleet
    scan = fleet.evaluate_fleet(cmd, subscriptions=request.subscriptions, all_subscriptions=request.all_subscriptions,
                                management_groups=request.management_groups, host_facts=request.host_facts, now=now,
                                with_vms=True)
    checked = [CheckedCluster(cluster.verdict.facts.id, cluster.verdict.facts.name, cluster.verdict,
                              tuple(cluster.vms)) for cluster in scan.clusters]
    for failure in scan.unreadable:
        finding = fleet.unreadable_view(failure, now)["findings"][0]
        checked.append(CheckedCluster(failure.scope, finding["name"], findings=(finding,), scope=finding["scope"]))
    kind = "allSubscriptions" if request.all_subscriptions else \
        "subscriptions" if request.subscriptions else "managementGroups"
    scope = {"kind": kind, "subscriptions": list(request.subscriptions or []),
             "managementGroups": list(request.management_groups or []), "resourceGraphRequests": scan.requests,
             "trustedLaunch": False}
    return scope, checked
