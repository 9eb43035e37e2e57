# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Command functions: the only code that knows az's `cmd`. Each turns its arguments into a scope and
a connection, runs the one pipeline (azext_stack_hci_verify.pipeline) and returns a projection of
the judged model, so that every command and scope gives a resource the same answer."""

import functools
from datetime import datetime, timezone


def _az_errors(function):
    """az shows the pipeline's errors (azext_stack_hci_verify.errors) as its own azclierror classes."""
    @functools.wraps(function)
    def command(*args, **kwargs):
        from azext_stack_hci_verify.errors import VerificationError, as_az_error
        try:
            return function(*args, **kwargs)
        except VerificationError as ex:
            raise as_az_error(ex) from ex
    return command


def _now():
    return datetime.now(timezone.utc)


# ----------------------------------------------------------------------------------- scope and connection

def _current_subscription(cmd):
    from azure.cli.core.commands.client_factory import get_subscription_id
    return get_subscription_id(cmd.cli_ctx)


def _scope(cmd, cluster_name=None, resource_group_name=None, ids=None, subscriptions=None, all_subscriptions=False,
           management_groups=None):
    """The pipeline's Scope of the arguments (the validators made sure there is at most one)."""
    from azext_stack_hci_verify._validators import parse_cluster_ids
    from azext_stack_hci_verify.pipeline.scope import Scope
    if ids:
        return Scope.of_clusters(parse_cluster_ids(ids))
    if cluster_name:
        return Scope.of_clusters([(_current_subscription(cmd), resource_group_name, cluster_name)])
    if management_groups:
        return Scope.of_management_groups(management_groups)
    if subscriptions or all_subscriptions:
        return Scope.of_subscriptions(_resolve_subscriptions(cmd.cli_ctx, subscriptions, all_subscriptions),
                                      all_subscriptions=bool(all_subscriptions))
    if resource_group_name:
        return Scope.of_group(_current_subscription(cmd), resource_group_name)
    return Scope.of_subscriptions([_current_subscription(cmd)])


def _resolve_subscriptions(cli_ctx, subscriptions=None, all_subscriptions=False):
    """Subscription ids: the ones named (ids, or names of signed-in subscriptions), or with
    all_subscriptions every enabled subscription of the signed-in account's tenant."""
    from azure.cli.core._profile import Profile
    cached = Profile(cli_ctx=cli_ctx).load_cached_subscriptions()
    if subscriptions:
        by_name = {str(sub.get("name", "")).lower(): sub["id"] for sub in cached}
        resolved = [by_name.get(str(value).lower(), value) for value in subscriptions]
        return list(dict.fromkeys(value.strip() for value in resolved))
    current = next((sub for sub in cached if sub.get("isDefault")), None)
    tenant = current.get("tenantId") if current else None
    return [sub["id"] for sub in cached if str(sub.get("state", "Enabled")).lower() == "enabled"
            and (tenant is None or sub.get("tenantId") == tenant)]


def _connection(cmd, scope):
    """The command's connection: az's client factory with one credential (one token request)."""
    from azext_stack_hci_verify._client_factory import AzConnection
    from azext_stack_hci_verify.adapters.credential import CommandCredential
    first = scope.subscriptions[0] if scope.subscriptions else None
    return AzConnection(cmd.cli_ctx, CommandCredential(cmd.cli_ctx, first))


class _Progress:
    """Progress of the Resource Graph pages on stderr through az's progress support, only when stderr is
    a terminal and --only-show-errors is not set."""

    def __init__(self, cli_ctx):
        import sys
        self.controller = None
        if cli_ctx is not None and not getattr(cli_ctx, "only_show_errors", False) and sys.stderr.isatty():
            self.controller = cli_ctx.get_progress_controller(det=True)

    def reporter(self, what):
        if self.controller is None:
            return None

        def report(done, total):
            self.controller.add(message="Reading {} from Resource Graph: {}".format(what, done), value=done,
                                total_val=max(total or done, done, 1))
        return report

    def end(self):
        if self.controller is not None:
            self.controller.end()


def _model(cmd, scope, host_facts=None, guest_facts=None, trusted_launch=False, warn=True):
    """The judged model of the scope. With `warn`, what the result does not show as a row (facts files
    that applied to nothing, clusters or subscriptions that could not be read) is also a warning."""
    from azext_stack_hci_verify import pipeline
    model = pipeline.evaluate(_connection(cmd, scope), scope, host_facts or (), guest_facts or (), _now(),
                              trusted_launch=trusted_launch, progress=_Progress(cmd.cli_ctx))
    if warn:
        from knack.log import get_logger
        logger = get_logger(__name__)
        for finding in model.ignored_files:
            logger.warning("%s", finding["reason"])
        for item in model.unreadable:
            logger.warning("%s", item.finding["reason"])
    return model


# ----------------------------------------------------------------------------------- clusters and servers

@_az_errors
def show_cluster_verification(cmd, cluster_name=None, resource_group_name=None, ids=None, host_facts=None):
    """One cluster (or, with several --ids, each): host status, legacy OS support, servers, VM summary
    and findings. The same view as its row of `list`."""
    from azext_stack_hci_verify.pipeline.projections import cluster_rows
    rows = cluster_rows(_model(cmd, _scope(cmd, cluster_name, resource_group_name, ids), host_facts))
    return rows[0] if len(rows) == 1 else rows


@_az_errors
def list_cluster_verification(cmd, resource_group_name=None, subscriptions=None, all_subscriptions=False,
                              management_groups=None, host_facts=None):
    """Every cluster of a resource group, the current subscription or a fleet (Resource Graph), each as
    `show` shows it; then a row for each subscription or management group that could not be read."""
    from azext_stack_hci_verify.pipeline.projections import cluster_rows
    scope = _scope(cmd, None, resource_group_name, None, subscriptions, all_subscriptions, management_groups)
    return cluster_rows(_model(cmd, scope, host_facts))


@_az_errors
def list_server_verification(cmd, cluster_name=None, resource_group_name=None, ids=None, host_facts=None,
                             subscriptions=None, all_subscriptions=False, management_groups=None):
    """Each server of the scope's clusters: status and the command that fixes it."""
    from azext_stack_hci_verify.pipeline.projections import server_rows
    scope = _scope(cmd, cluster_name, resource_group_name, ids, subscriptions, all_subscriptions, management_groups)
    return server_rows(_model(cmd, scope, host_facts))


# ----------------------------------------------------------------------------------- VMs

@_az_errors
def list_vm_verification(cmd, cluster_name=None, resource_group_name=None, ids=None, host_facts=None, status=None,
                         subscriptions=None, all_subscriptions=False, management_groups=None):
    """One row per VM of the scope's clusters: eligible benefit, benefit status, action and command."""
    from azext_stack_hci_verify.pipeline.projections import vm_rows
    scope = _scope(cmd, cluster_name, resource_group_name, ids, subscriptions, all_subscriptions, management_groups)
    model = _model(cmd, scope, host_facts)
    _warn_unread_vms(model)
    rows = vm_rows(model)
    if not rows:
        _raise_if_nothing(model)        # one cluster, no VM list and no host facts: the read error is the answer
    return [view for judged, view in rows if not status or judged.verdict.benefit_status in status]


def _warn_unread_vms(model):
    from knack.log import get_logger
    for judged in model.clusters:
        for finding in judged.read_findings:
            if finding["reasonCode"] in ("vms-not-readable", "vm-instances-not-readable"):
                get_logger(__name__).warning("Cluster '%s': %s", judged.name, finding["reason"])


@_az_errors
def show_vm_verification(cmd, vm_name=None, cluster_name=None, resource_group_name=None, ids=None, host_facts=None):
    """One VM, with the facts it was judged on, where each came from, and its Trusted launch row."""
    from azext_stack_hci_verify.pipeline.projections import vm_rows
    scope, machine_id = _vm_scope(cmd, cluster_name, resource_group_name, ids)

    def this_vm(machine):       # the Trusted launch reads of the VM shown only
        if machine_id:
            return str(machine.get("id", "")).lower() == machine_id.lower()
        return str(machine.get("name", "")).lower() == (vm_name or "").lower()

    model = _model(cmd, scope, host_facts, trusted_launch=this_vm)
    rows = vm_rows(model, detail=True)
    found = _pick_vm(rows, vm_name, machine_id, lambda item: (item[0].facts.name, item[0].machine_id))
    if found is not None:
        return found[1]
    _raise_unread(model)
    raise _no_such_vm(vm_name or machine_id, scope, "vm list")


def _vm_scope(cmd, cluster_name, resource_group_name, ids):
    """(Scope, machine id or None): --ids may name the clusters, or one VM by its Arc machine ID."""
    from azext_stack_hci_verify._validators import parse_vm_ids
    from azext_stack_hci_verify.pipeline.scope import Scope
    machine = parse_vm_ids(ids) if ids else None
    if machine is None:
        return _scope(cmd, cluster_name, resource_group_name, ids), None
    return Scope.of_clusters([_parent_cluster(cmd, machine)]), machine


def _parent_cluster(cmd, machine_id):
    """(subscription, group, name) of the cluster an Arc machine (an Azure Local VM) belongs to."""
    from azure.cli.core.azclierror import InvalidArgumentValueError
    from azext_stack_hci_verify.adapters import arm
    from azext_stack_hci_verify._validators import parse_cluster_ids
    from azext_stack_hci_verify.pipeline.scope import Scope
    conn = _connection(cmd, Scope.of_subscriptions([machine_id.split("/")[2]]))
    document = arm.get_machine(conn, machine_id)
    parent = ((document or {}).get("properties") or {}).get("parentClusterResourceId")
    if not isinstance(parent, str) or not parent:
        raise InvalidArgumentValueError(
            "'{}' is not an Azure Local VM: its Arc machine names no parent cluster.".format(machine_id),
            recommendation="Give the ID of an Azure Local VM's Arc machine, or use --vm-name with -n and -g.")
    return parse_cluster_ids([parent])[0]


def _pick_vm(items, vm_name, machine_id, key):
    """The one item whose VM is named `vm_name` (or has Arc machine `machine_id`); an error when the name
    is ambiguous."""
    from azure.cli.core.azclierror import InvalidArgumentValueError
    if machine_id:
        return next((item for item in items if (key(item)[1] or "").lower() == machine_id.lower()), None)
    found = [item for item in items if (key(item)[0] or "").lower() == (vm_name or "").lower()]
    if len(found) > 1:
        ids = [key(item)[1] or "(host only: {})".format(key(item)[0]) for item in found]
        raise InvalidArgumentValueError(
            "{} VMs are named '{}' here: {}.".format(len(found), vm_name, ", ".join(ids)),
            recommendation="Choose one by its Arc machine ID: --ids <one of the IDs above>.")
    return found[0] if found else None


def _raise_unread(model):
    """When the VM list of a cluster could not be read, its error is why a VM was not found."""
    for judged in model.clusters:
        if judged.vms_failure is not None:
            raise judged.vms_failure.error


def _no_such_vm(vm_name, scope, command):
    from azure.cli.core.azclierror import ResourceNotFoundError
    subscription, resource_group, name = scope.clusters[0] if scope.clusters else (None, None, None)
    del subscription
    return ResourceNotFoundError(
        "VM '{}' was not found on cluster '{}' (resource group '{}').".format(vm_name, name, resource_group),
        recommendation="List its VMs with `az stack-hci vm-verification {} -n {} -g {}`.".format(
            command, name, resource_group))


# ----------------------------------------------------------------------------------- Trusted launch

@_az_errors
def list_trusted_launch(cmd, cluster_name=None, resource_group_name=None, ids=None, host_facts=None,
                        guest_facts=None, subscriptions=None, all_subscriptions=False, management_groups=None):
    """One row per Azure Local VM: security type, secure boot, vTPM, state transfer, attestation, image,
    the status made from its checks, its reasonCode, action and command, and its findings."""
    from azext_stack_hci_verify.pipeline.projections import trusted_launch_rows
    scope = _scope(cmd, cluster_name, resource_group_name, ids, subscriptions, all_subscriptions, management_groups)
    model = _model(cmd, scope, host_facts, guest_facts, trusted_launch=True)
    _raise_if_nothing(model)
    return [row for _, row in trusted_launch_rows(model)]


def _raise_if_nothing(model):
    """A single cluster whose VM list could not be read: its error is the answer."""
    if len(model.clusters) == 1 and not model.clusters[0].vms_read and model.scope.kind == "clusters":
        _raise_unread(model)


@_az_errors
def show_trusted_launch(cmd, vm_name, cluster_name=None, resource_group_name=None, ids=None, host_facts=None,
                        guest_facts=None):
    """One VM with every check, and the cluster-level checks it depends on."""
    from azext_stack_hci_verify.pipeline.projections import trusted_launch_detail, trusted_launch_rows
    scope = _scope(cmd, cluster_name, resource_group_name, ids)
    model = _model(cmd, scope, host_facts, guest_facts, trusted_launch=True)
    _raise_if_nothing(model)
    found = _pick_vm(trusted_launch_rows(model), vm_name, None, lambda item: (item[0].vm.name, item[0].vm.machine_id))
    if found is None:
        raise _no_such_vm(vm_name, scope, "trusted-launch list")
    return trusted_launch_detail(model, found[0])


# ----------------------------------------------------------------------------------- check

@_az_errors
def check_verification(cmd, cluster_name=None, resource_group_name=None, ids=None, subscriptions=None,
                       all_subscriptions=False, management_groups=None, host_facts=None, guest_facts=None,
                       fail_on=None, junit=None, summary=None):
    """Judge every cluster, server and VM of the scope (and each VM's Trusted launch posture) and
    return one report. Exits 1 after printing it when a finding matches --fail-on; else 0."""
    from azext_stack_hci_verify import _exit_status
    from azext_stack_hci_verify.pipeline.projections import check_report
    scope = _scope(cmd, cluster_name, resource_group_name, ids, subscriptions, all_subscriptions, management_groups)
    report = check_report(_model(cmd, scope, host_facts, guest_facts, trusted_launch=True), tuple(fail_on or ()))
    _write_outputs(report, junit, summary)
    _exit_status.exit_after_output(cmd.cli_ctx, report.exit_code)
    return report.to_dict()


def _write_outputs(report, junit, summary):
    """The JUnit file and the Markdown summary (appended), when asked for."""
    from azext_stack_hci_verify.adapters.files import append_text_file, write_text_file
    from azext_stack_hci_verify.core.report_render import render_junit, render_markdown
    if junit:
        write_text_file(junit, render_junit(report), "JUnit file")
    if summary:
        append_text_file(summary, render_markdown(report), "Summary file")


# ----------------------------------------------------------------------------------- host and document

@_az_errors
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


@_az_errors
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


@_az_errors
def probe_guest(timeout=60.0):
    """Probe the VM this runs in (secure boot, TPM, VBS, Hyper-V VMBus devices); prints a guest-facts
    document for --guest-facts."""
    from azext_stack_hci_verify.adapters import guest_probe
    return guest_probe.collect_guest_facts(now=_now(), timeout=timeout)
