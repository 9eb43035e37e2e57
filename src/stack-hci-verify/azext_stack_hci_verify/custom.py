# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Command functions: gather facts through the adapters, judge them with the core, return views."""

from datetime import datetime, timezone

from azext_stack_hci_verify.core.clusters import (
    cluster_facts_from_arm, cluster_view, evaluate_cluster, server_view, unreadable_cluster_view)


def _now():
    return datetime.now(timezone.utc)


def _cluster_refs(cmd, cluster_name, resource_group_name, ids):
    from azure.cli.core.commands.client_factory import get_subscription_id
    from azext_stack_hci_verify._validators import parse_cluster_ids
    if ids:
        return parse_cluster_ids(ids)
    return [(get_subscription_id(cmd.cli_ctx), resource_group_name, cluster_name)]


def _command_credential(cmd, refs):
    """The command's one credential (one token request, whatever the number of clients and threads)."""
    from azext_stack_hci_verify.adapters.credential import CommandCredential
    return CommandCredential(cmd.cli_ctx, refs[0][0] if refs else None)


def _evaluate_all(cmd, refs, host_facts, now, credential=None, unreadable=None):
    """Judge each cluster of the command. Each takes only the host-facts files of its own system;
    a file of no cluster here is reported (once) and ignored. With several clusters, one whose
    document cannot be read is a warning (and, when `unreadable` is a list, an entry of it: the
    subscription, group, name and error) while the others still come back; when none can be read,
    or there is only one, its error is the answer."""
    from azext_stack_hci_verify.adapters import resourcegraph
    resourcegraph.prefetch_cluster_vms(cmd.cli_ctx, refs, credential)
    clusters, failures = _read_clusters(cmd, refs, credential)
    if unreadable is not None:
        unreadable.extend(failures)
    return evaluate_clusters(clusters, host_facts, now)


def evaluate_clusters(clusters, host_facts, now):
    """The verdict of each ClusterFacts, each with only its own system's host facts."""
    from azext_stack_hci_verify.core.hostevidence import bind_host_facts
    bound = bind_host_facts(clusters, host_facts or [], now)
    return [evaluate_cluster(facts, None, now, evidence=evidence) for facts, evidence in zip(clusters, bound)]


def _read_clusters(cmd, refs, credential):
    from knack.log import get_logger
    from azure.cli.core.azclierror import AzCLIError
    from azext_stack_hci_verify.adapters import arm
    clusters, failures = [], []
    for ref in refs:
        try:
            clusters.append(cluster_facts_from_arm(arm.get_cluster(cmd.cli_ctx, *ref, credential=credential)))
        except AzCLIError as ex:
            if len(refs) == 1:
                raise
            get_logger(__name__).warning("%s", ex.error_msg)
            failures.append((ref, ex))
    if not clusters:
        raise failures[0][1]
    return clusters, failures


def _judge_vms(cmd, verdict, credential=None):
    """The cluster's VMs with the host facts its verdict was made with, and how they were read
    (resourcegraph.VmRead: its vms are an arm.ClusterVms with machines_failure and instances_failure;
    its source and fallback_reason say whether ARM was asked instead of Resource Graph)."""
    from azext_stack_hci_verify.adapters import arm, resourcegraph
    from azext_stack_hci_verify.core.inventory import judge_vms
    if verdict.facts.subscription_id:
        read = resourcegraph.read_cluster_vms(cmd.cli_ctx, verdict.facts, credential)
    else:
        read = resourcegraph.VmRead(arm.ClusterVms([]), resourcegraph.SOURCE_GRAPH)
    return judge_vms(verdict, read.vms.vms), read


def _read_finding(verdict, code, reason, failure):
    from azext_stack_hci_verify.core.vocabulary import SEVERITY_WARNING
    return {"scope": "cluster", "name": verdict.facts.name, "severity": SEVERITY_WARNING, "reasonCode": code,
            "reason": reason, "action": failure.action, "command": failure.command}


def _fallback_finding(verdict, read):
    """The finding that names the fallback to ARM, when there was one."""
    from azext_stack_hci_verify.core.vocabulary import SEVERITY_INFO
    return {"scope": "cluster", "name": verdict.facts.name, "severity": SEVERITY_INFO,
            "reasonCode": "resource-graph-fallback", "reason": read.fallback_reason, "action": None, "command": None}


def _cluster_view_with_vms(cmd, verdict, credential=None):
    """The cluster's view with its VM summary. VM reads that failed are findings on it: without the
    list of Arc machines there is no summary; unreadable instances are counted."""
    from azext_stack_hci_verify.core.inventory import vm_findings, vm_summary
    judged, graph_read = _judge_vms(cmd, verdict, credential)
    read = graph_read.vms
    if read.machines_failure:
        view = cluster_view(verdict, extra_findings=vm_findings(judged))
        view["findings"].append(_read_finding(
            verdict, "vms-not-readable", "The VM summary is missing: {}".format(read.machines_failure.reason),
            read.machines_failure))
    else:
        view = cluster_view(verdict, vm_summary=vm_summary(judged), extra_findings=vm_findings(judged))
    if read.instances_failure:
        view["findings"].append(_read_finding(verdict, "vm-instances-not-readable", read.instances_failure.reason,
                                              read.instances_failure))
    if graph_read.fallback_reason:
        view["findings"].append(_fallback_finding(verdict, graph_read))
    view["vmsReadFrom"] = graph_read.source
    return view


def show_cluster_verification(cmd, cluster_name=None, resource_group_name=None, ids=None, host_facts=None):
    now = _now()
    views = []
    refs = _cluster_refs(cmd, cluster_name, resource_group_name, ids)
    credential = _command_credential(cmd, refs)
    unreadable = []
    for verdict in _evaluate_all(cmd, refs, host_facts, now, credential, unreadable):
        views.append(_cluster_view_with_vms(cmd, verdict, credential))
    if unreadable:
        from azext_stack_hci_verify.check_flow import unreadable_finding
        views.extend(unreadable_cluster_view(*ref, unreadable_finding(ref[2], error), now)
                     for ref, error in unreadable)
    return views[0] if len(views) == 1 else views


def list_cluster_verification(cmd, resource_group_name=None, subscriptions=None, all_subscriptions=False,
                              management_groups=None):
    """The clusters of a resource group or the subscription (ARM), or of a fleet (Resource Graph: every
    cluster of --subscriptions, --all-subscriptions or --management-groups, with its VM summary)."""
    from azure.cli.core.commands.client_factory import get_subscription_id
    from azext_stack_hci_verify.adapters import arm
    now = _now()
    if subscriptions or all_subscriptions or management_groups:
        from azext_stack_hci_verify import fleet
        return fleet.evaluate_fleet(cmd, subscriptions=subscriptions, all_subscriptions=all_subscriptions,
                                    management_groups=management_groups, now=now).cluster_views()
    documents = arm.list_clusters(cmd.cli_ctx, get_subscription_id(cmd.cli_ctx), resource_group_name)
    views = [cluster_view(evaluate_cluster(cluster_facts_from_arm(document), [], now)) for document in documents]
    return sorted(views, key=lambda view: ((view["resourceGroup"] or "").lower(), (view["name"] or "").lower()))


def list_server_verification(cmd, cluster_name=None, resource_group_name=None, ids=None, host_facts=None):
    now = _now()
    rows = []
    refs = _cluster_refs(cmd, cluster_name, resource_group_name, ids)
    for verdict in _evaluate_all(cmd, refs, host_facts, now):
        for server in verdict.servers:
            row = server_view(server)
            row["cluster"] = verdict.facts.name
            rows.append(row)
    return rows


def attest_document(cmd, target="host", endpoint=None, nonce=None, document=None, trust_bundle=None,
                    intermediates=None, allowed_signers=None, at=None, timeout=10.0, no_fetch=False,
                    check_revocation=False):
    """Fetch (or read) an attested document and verify it: signature, signer, chain, nonce, expiry and,
    when asked, revocation. Exits 0 only when the result is Passed (the result is printed either way)."""
    from azext_stack_hci_verify import attest_flow
    request = attest_flow.AttestRequest(
        target=target, endpoint=endpoint, nonce=nonce, document=document, trust_bundle=trust_bundle,
        intermediates=intermediates, allowed_signers=allowed_signers, at=at, timeout=timeout, no_fetch=no_fetch,
        check_revocation=check_revocation)
    return attest_flow.attest(cmd.cli_ctx, request, _now())


def _vm_views(cmd, verdict, detail=False, credential=None):
    """The views of the cluster's VMs. When ARM's list of its VMs could not be read, the VMs the
    host facts give still come back, each saying so in its readErrors, with a warning on stderr; the
    failure is returned for when there is nothing else to report. Each view says where its VM was
    read from (readFrom: resourceGraph or arm)."""
    from knack.log import get_logger
    judged, graph_read = _judge_vms(cmd, verdict, credential)
    read = graph_read.vms
    for failure in (read.machines_failure, read.instances_failure):
        if failure:
            get_logger(__name__).warning("Cluster '%s': %s %s", verdict.facts.name, failure.reason,
                                         failure.recommendation)
    if graph_read.fallback_reason:
        get_logger(__name__).info("Cluster '%s': %s", verdict.facts.name, graph_read.fallback_reason)
    views = []
    for item in judged:
        view = item.view(detail=detail)
        if read.machines_failure and item.machine_id is None:
            view.setdefault("readErrors", []).append(
                "ARM's Azure Local VMs could not be read, so this verdict rests on host facts only: {}".format(
                    read.machines_failure.reason))
        if item.machine_id is not None:
            view["readFrom"] = "resourceGraph" if item.machine_id.lower() in graph_read.from_graph else "arm"
        views.append((item, view))
    return views, read.machines_failure


def list_vm_verification(cmd, cluster_name=None, resource_group_name=None, ids=None, host_facts=None, status=None,
                         subscriptions=None, all_subscriptions=False, management_groups=None):
    """One row per VM of the cluster (or, with --subscriptions, --all-subscriptions or --management-groups,
    of every cluster of the fleet): eligible benefit, benefit status, action and the command."""
    now = _now()
    if subscriptions or all_subscriptions or management_groups:
        return _fleet_vm_rows(cmd, subscriptions, all_subscriptions, management_groups, host_facts, status, now)
    views, failures = _clusters_vm_views(cmd, _cluster_refs(cmd, cluster_name, resource_group_name, ids),
                                         host_facts, now)
    if failures and not views:
        raise failures[0].error      # nothing to report: the read that failed is the answer
    return [view for judged, view in views if not status or judged.verdict.benefit_status in status]


def _clusters_vm_views(cmd, refs, host_facts, now, detail=False):
    """(judged VM, view) of every cluster's VMs, with one credential for the command, and the reads
    that failed."""
    views, failures = [], []
    credential = _command_credential(cmd, refs)
    for verdict in _evaluate_all(cmd, refs, host_facts, now, credential):
        cluster_views, failure = _vm_views(cmd, verdict, detail=detail, credential=credential)
        views.extend(cluster_views)
        failures.extend([failure] if failure else [])
    return views, failures


def _fleet_vm_rows(cmd, subscriptions, all_subscriptions, management_groups, host_facts, status, now):
    """Every VM of the fleet, each judged against its own cluster; a scope that could not be read is
    a warning on stderr (the rows are VMs)."""
    from knack.log import get_logger
    from azext_stack_hci_verify import fleet
    scan = fleet.evaluate_fleet(cmd, subscriptions=subscriptions, all_subscriptions=all_subscriptions,
                                management_groups=management_groups, host_facts=host_facts, now=now)
    for failure in scan.unreadable:
        get_logger(__name__).warning("%s %s", failure.failure.reason, failure.failure.recommendation)
    return [view for judged, view in scan.vm_views() if not status or judged.verdict.benefit_status in status]


def show_vm_verification(cmd, vm_name, cluster_name=None, resource_group_name=None, ids=None, host_facts=None):
    """One VM, with the facts it was judged on and where each came from."""
    from azure.cli.core.azclierror import ResourceNotFoundError
    refs = _cluster_refs(cmd, cluster_name, resource_group_name, ids)
    views, failures = _clusters_vm_views(cmd, refs, host_facts, _now(), detail=True)
    for judged, view in views:
        if (judged.facts.name or "").lower() == vm_name.lower():
            return view
    if failures:
        raise failures[0].error      # the VM may well be there: say why it could not be seen
    _, resource_group, name = refs[0]
    raise ResourceNotFoundError(
        "VM '{}' was not found on cluster '{}' (resource group '{}').".format(vm_name, name, resource_group),
        recommendation="List its VMs with `az stack-hci vm-verification vm list -n {} -g {}`.".format(
            name, resource_group))


def probe_host(vm_names=None, timeout=60.0, guest=False):
    """Probe the host this runs on: Get-AzureStackHCI, attestation, VMs, integration services, legacy
    OS networking, guest OS, and the attested-document endpoints. Prints the host-facts document.
    With --guest, probe the VM this runs in instead (probe_guest)."""
    from concurrent.futures import ThreadPoolExecutor
    from azext_stack_hci_verify.adapters import host_probe, host_trusted_launch, imds
    from azext_stack_hci_verify.adapters.powershell import find_powershell
    if guest:
        return probe_guest(timeout=timeout)
    endpoints = imds.default_endpoints()
    runner = find_powershell()
    with ThreadPoolExecutor(max_workers=3) as pool:
        checks = pool.submit(imds.probe_endpoints, [endpoints["host"], endpoints["vm"]])
        trusted_launch = pool.submit(host_trusted_launch.collect, runner, timeout=timeout)
        document = host_probe.collect_host_facts(runner, now=_now(), vm_names=vm_names, timeout=timeout)
        results = checks.result()
    document["endpoints"] = [dict(result, name=name) for name, result in zip(("host", "vm"), results)]
    host_trusted_launch.add_to_document(document, trusted_launch.result())
    return document


def _trusted_launch_context(cmd, ref, host_facts, credential):
    """(cluster facts, host evidence, ClusterTrustedLaunch) of one cluster. Only this system's host
    facts count, and only fresh ones: a stale file cannot vouch for a check."""
    from azext_stack_hci_verify.adapters import arm
    from azext_stack_hci_verify.core.hostevidence import select_host_facts
    from azext_stack_hci_verify.core.trusted_launch_hosts import evaluate_cluster as evaluate_tl_cluster
    facts = cluster_facts_from_arm(arm.get_cluster(cmd.cli_ctx, *ref, credential=credential))
    evidence = select_host_facts(facts, host_facts or [], _now())
    return facts, evidence, evaluate_tl_cluster(facts, evidence.fresh())


def _trusted_launch_cluster(cmd, ref, host_facts, guest_facts, credential=None):
    """(ClusterTrustedLaunch, VM verdicts, findings about the facts files) of one cluster: ARM's cluster,
    its VMs with their instances (one Resource Graph query, as `show`), attestation statuses and images,
    judged with the host and guest facts given; host-facts files of another system or stale, and
    guest-facts files that match no VM, are the findings. `credential`: the command's one credential."""
    from azext_stack_hci_verify.adapters import arm_trusted_launch, resourcegraph
    from azext_stack_hci_verify.core.trusted_launch_checks import judge_vms
    resourcegraph.prefetch_cluster_vms(cmd.cli_ctx, [ref], credential)
    facts, evidence, context = _trusted_launch_context(cmd, ref, host_facts, credential)
    vms = _arm_vms(cmd, facts, credential)
    attestations, images = arm_trusted_launch.read_trusted_launch(cmd.cli_ctx, ref[0], vms, credential)
    return (context, judge_vms(vms, attestations, images, context, guest_facts or []),
            list(evidence.ignored + evidence.findings) + _unmatched_guest_findings(vms, guest_facts))


def _unmatched_guest_findings(vms, guest_facts):
    """Guest-facts files that match no VM here: findings, each also a warning on stderr."""
    from knack.log import get_logger
    from azext_stack_hci_verify.core.guestfacts import unmatched_guests
    ignored = unmatched_guests(vms, guest_facts or [])
    for finding in ignored:
        get_logger(__name__).warning("%s", finding["reason"])
    return ignored


def _arm_vms(cmd, facts, credential=None):
    """The cluster's VMs as TrustedLaunchVms; a machines list that cannot be read ends the command with its
    error."""
    from azext_stack_hci_verify.adapters import resourcegraph
    from azext_stack_hci_verify.core.trusted_launch import vm_facts_from_arm
    read = resourcegraph.read_cluster_vms(cmd.cli_ctx, facts, credential).vms
    if read.machines_failure is not None:
        raise read.machines_failure.error
    return [vm_facts_from_arm(item.machine, item.instance, item.error) for item in read.vms]


def list_trusted_launch(cmd, cluster_name=None, resource_group_name=None, ids=None, host_facts=None,
                        guest_facts=None):
    """One row per Azure Local VM: security type, secure boot, vTPM, state transfer, attestation, image,
    the status made from its checks, and the findings with their commands."""
    from azext_stack_hci_verify.core.trusted_launch import vm_row
    rows = []
    refs = _cluster_refs(cmd, cluster_name, resource_group_name, ids)
    credential = _command_credential(cmd, refs)
    for ref in refs:
        _, verdicts, _ = _trusted_launch_cluster(cmd, ref, host_facts, guest_facts, credential)
        rows.extend(vm_row(verdict) for verdict in verdicts)
    return rows


def show_trusted_launch(cmd, vm_name, cluster_name=None, resource_group_name=None, ids=None, host_facts=None,
                        guest_facts=None):
    """One VM with every check, and the cluster-level checks it depends on."""
    from azext_stack_hci_verify.core.trusted_launch import vm_detail
    refs = _cluster_refs(cmd, cluster_name, resource_group_name, ids)
    credential = _command_credential(cmd, refs)
    for ref in refs:
        context, verdicts, file_findings = _trusted_launch_cluster(cmd, ref, host_facts, guest_facts, credential)
        found = next((item for item in verdicts if (item.vm.name or "").lower() == vm_name.lower()), None)
        if found is not None:
            return vm_detail(found, dict(context.to_dict(), factsFindings=file_findings))
    raise _no_such_vm(vm_name, refs[0])


def _no_such_vm(vm_name, ref):
    from azure.cli.core.azclierror import ResourceNotFoundError
    _, resource_group, name = ref
    return ResourceNotFoundError(
        "VM '{}' is not an Azure Local VM of cluster '{}' (resource group '{}').".format(vm_name, name, resource_group),
        recommendation="List the cluster's VMs with `az stack-hci vm-verification trusted-launch list -n {} -g {}`."
        .format(name, resource_group))


def probe_guest(timeout=60.0):
    """Probe the VM this runs in (secure boot, TPM, VBS, Hyper-V VMBus devices); prints a guest-facts
    document for --guest-facts."""
    from azext_stack_hci_verify.adapters import guest_probe
    return guest_probe.collect_guest_facts(now=_now(), timeout=timeout)


def check_verification(cmd, cluster_name=None, resource_group_name=None, ids=None, subscriptions=None,
                       all_subscriptions=False, management_groups=None, host_facts=None, guest_facts=None,
                       fail_on=None, junit=None, summary=None):
    """Judge every cluster, server and VM of the scope (and each VM's Trusted launch posture) and
    return one report. Exits 1 after printing it when a finding matches --fail-on; else 0."""
    from azext_stack_hci_verify import check_flow
    request = check_flow.CheckRequest(
        cluster_name=cluster_name, resource_group=resource_group_name, ids=ids, subscriptions=subscriptions,
        all_subscriptions=bool(all_subscriptions), management_groups=management_groups, host_facts=host_facts,
        guest_facts=guest_facts, fail_on=tuple(fail_on or ()), junit=junit, summary=summary)
    return check_flow.check(cmd, request, _now())
