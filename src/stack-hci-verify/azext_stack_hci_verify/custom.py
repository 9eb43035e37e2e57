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


def _scope(cmd, *, cluster_name=None, resource_group_name=None, ids=None, subscriptions=None, all_subscriptions=False,
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
        return Scope.of_subscriptions(_resolve_subscriptions(cmd.cli_ctx, subscriptions),
                                      all_subscriptions=bool(all_subscriptions))
    if resource_group_name:
        return Scope.of_group(_current_subscription(cmd), resource_group_name)
    return Scope.of_subscriptions([_current_subscription(cmd)])


def _resolve_subscriptions(cli_ctx, subscriptions=None):
    """Subscription ids: the ones named (ids, or names of signed-in subscriptions), or else every enabled
    subscription of the signed-in account's tenant."""
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
            self.controller.add(message=f"Reading {what} from Resource Graph: {done}", value=done,
                                total_val=max(total or done, done, 1))
        return report

    def end(self):
        if self.controller is not None:
            self.controller.end()


def _context(cmd, scope):
    """The connection, reference time and warning channel of a command over `scope`."""
    from knack.log import get_logger
    logger = get_logger(__name__)
    return {"conn": _connection(cmd, scope), "now": _now(), "warn": lambda text: logger.warning("%s", text)}


def _collect(cmd, collect, timeout, parallel=None):
    """The pipeline's CollectRequest for --collect (None without it), with progress on a terminal."""
    if not collect:
        return None
    from azext_stack_hci_verify.pipeline.collect import CollectRequest, CollectSettings
    settings = CollectSettings()
    changes = {key: value for key, value in (("timeout", timeout), ("parallel", parallel)) if value is not None}
    if changes:
        from dataclasses import replace
        settings = replace(settings, **changes)
    return CollectRequest(settings, _CollectProgress(cmd.cli_ctx).report)


class _CollectProgress:  # pylint: disable=too-few-public-methods
    """Servers done / total on stderr, only when stderr is a terminal and --only-show-errors is not set."""

    def __init__(self, cli_ctx):
        import sys
        self.controller = None
        if cli_ctx is not None and not getattr(cli_ctx, "only_show_errors", False) and sys.stderr.isatty():
            self.controller = cli_ctx.get_progress_controller(det=True)

    def report(self, done, total):
        if self.controller is None:
            return
        self.controller.add(message=f"Collecting host facts through Run Command: {done}/{total} servers",
                            value=done, total_val=max(total, 1))
        if done >= total:
            self.controller.end()


@_az_errors
def collect_host_facts(cmd, cluster_name=None, resource_group_name=None, *, ids=None, timeout=None, output_dir=None,
                       parallel=None):
    """Run the host probe on every server of the cluster (or of every cluster of the group) through Arc Run
    Command and return one row per server with its host-facts document; --output-dir also writes each
    document as <cluster>-<server>.json."""
    from azext_stack_hci_verify.pipeline import answers
    scope = _scope(cmd, cluster_name=cluster_name, resource_group_name=resource_group_name, ids=ids)
    rows = answers.collected(scope=scope, collect=_collect(cmd, True, timeout, parallel), **_context(cmd, scope))
    if output_dir:
        _write_collected(rows, output_dir)
    return rows


def _write_collected(rows, output_dir):
    import json
    import os
    import re
    from azext_stack_hci_verify.adapters.files import write_text_file
    for row in rows:
        if row.get("hostFacts") is None:
            continue
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", f"{row['cluster']}-{row['server']}")
        path = os.path.join(os.path.expanduser(output_dir), f"{stem}.json")
        write_text_file(path, json.dumps(row["hostFacts"], indent=2, sort_keys=True) + "\n", "Host-facts file")
        row["file"] = path


# ----------------------------------------------------------------------------------- clusters and servers

@_az_errors
def show_cluster_verification(cmd, cluster_name=None, resource_group_name=None, *, ids=None, host_facts=None,
                              collect=False, timeout=None):
    """One cluster (or, with several --ids, each): host status, legacy OS support, servers, VM summary
    and findings. The same view as its row of `list`."""
    from azext_stack_hci_verify.pipeline import answers
    scope = _scope(cmd, cluster_name=cluster_name, resource_group_name=resource_group_name, ids=ids)
    return answers.cluster(scope=scope, host_facts=host_facts or (), collect=_collect(cmd, collect, timeout),
                           **_context(cmd, scope))


@_az_errors
def list_cluster_verification(cmd, *, resource_group_name=None, subscriptions=None, all_subscriptions=False,
                              management_groups=None, host_facts=None):
    """Every cluster of a resource group, the current subscription or a fleet (Resource Graph), each as
    `show` shows it; then a row for each subscription or management group that could not be read."""
    from azext_stack_hci_verify.pipeline import answers
    scope = _scope(cmd, cluster_name=None, resource_group_name=resource_group_name, ids=None,
                   subscriptions=subscriptions, all_subscriptions=all_subscriptions,
                   management_groups=management_groups)
    return answers.clusters(scope=scope, host_facts=host_facts or (), progress=_Progress(cmd.cli_ctx),
                            **_context(cmd, scope))


@_az_errors
def list_server_verification(cmd, *, cluster_name=None, resource_group_name=None, cluster_ids=None, host_facts=None,
                             subscriptions=None, all_subscriptions=False, management_groups=None, collect=False,
                             timeout=None):
    """Each server of the scope's clusters: status and the command that fixes it."""
    from azext_stack_hci_verify.pipeline import answers
    scope = _scope(cmd, cluster_name=cluster_name, resource_group_name=resource_group_name, ids=cluster_ids,
                   subscriptions=subscriptions, all_subscriptions=all_subscriptions,
                   management_groups=management_groups)
    return answers.servers(scope=scope, host_facts=host_facts or (), progress=_Progress(cmd.cli_ctx),
                           collect=_collect(cmd, collect, timeout), **_context(cmd, scope))


# ----------------------------------------------------------------------------------- VMs

@_az_errors
def list_vm_verification(cmd, *, cluster_name=None, resource_group_name=None, cluster_ids=None, host_facts=None,
                         status=None, subscriptions=None, all_subscriptions=False, management_groups=None,
                         collect=False, timeout=None):
    """One row per VM of the scope's clusters: eligible benefit, benefit status, action and command."""
    from azext_stack_hci_verify.pipeline import answers
    scope = _scope(cmd, cluster_name=cluster_name, resource_group_name=resource_group_name, ids=cluster_ids,
                   subscriptions=subscriptions, all_subscriptions=all_subscriptions,
                   management_groups=management_groups)
    return answers.vms(scope=scope, host_facts=host_facts or (), status=status, progress=_Progress(cmd.cli_ctx),
                       collect=_collect(cmd, collect, timeout), **_context(cmd, scope))


@_az_errors
def show_vm_verification(cmd, *, vm_name=None, cluster_name=None, resource_group_name=None, ids=None, host_facts=None,
                         collect=False, timeout=None):
    """One VM, with the facts it was judged on, where each came from, and its Trusted launch row. --ids
    may name the VM's Arc machine instead of its cluster."""
    from azext_stack_hci_verify.pipeline import answers
    from azext_stack_hci_verify.pipeline.scope import Scope, parse_vm_id
    machine_id = parse_vm_id(ids) if ids else None
    if machine_id is None:
        scope = _scope(cmd, cluster_name=cluster_name, resource_group_name=resource_group_name, ids=ids)
    else:
        scope = answers.parent_cluster(_connection(cmd, Scope.of_subscriptions([machine_id.split("/")[2]])),
                                       machine_id)
    return answers.vm(scope=scope, vm_name=vm_name, machine_id=machine_id, host_facts=host_facts or (),
                      collect=_collect(cmd, collect, timeout), **_context(cmd, scope))


# ----------------------------------------------------------------------------------- Trusted launch

@_az_errors
def list_trusted_launch(cmd, *, cluster_name=None, resource_group_name=None, cluster_ids=None, host_facts=None,
                        guest_facts=None, subscriptions=None, all_subscriptions=False, management_groups=None,
                        collect=False, timeout=None):
    """One row per Azure Local VM: security type, secure boot, vTPM, state transfer, attestation, image,
    the status made from its checks, its reasonCode, action and command, and its findings."""
    from azext_stack_hci_verify.pipeline import answers
    scope = _scope(cmd, cluster_name=cluster_name, resource_group_name=resource_group_name, ids=cluster_ids,
                   subscriptions=subscriptions, all_subscriptions=all_subscriptions,
                   management_groups=management_groups)
    return answers.trusted_launch(scope=scope, host_facts=host_facts or (), guest_facts=guest_facts or (),
                                  progress=_Progress(cmd.cli_ctx), collect=_collect(cmd, collect, timeout),
                                  **_context(cmd, scope))


@_az_errors
def show_trusted_launch(cmd, vm_name=None, *, cluster_name=None, resource_group_name=None, ids=None, host_facts=None,
                        guest_facts=None, collect=False, timeout=None):
    """One VM with every check, and the cluster-level checks it depends on."""
    from azext_stack_hci_verify.pipeline import answers
    scope = _scope(cmd, cluster_name=cluster_name, resource_group_name=resource_group_name, ids=ids)
    return answers.trusted_launch_vm(scope=scope, vm_name=vm_name, host_facts=host_facts or (),
                                     guest_facts=guest_facts or (), collect=_collect(cmd, collect, timeout),
                                     **_context(cmd, scope))


# ----------------------------------------------------------------------------------- check

@_az_errors
def check_verification(cmd, *, cluster_name=None, resource_group_name=None, ids=None, subscriptions=None,
                       all_subscriptions=False, management_groups=None, host_facts=None, guest_facts=None,
                       fail_on=None, junit=None, summary=None, collect=False, timeout=None):
    """Judge every cluster, server and VM of the scope (and each VM's Trusted launch posture) and
    return one report. Exits 1 after printing it when a finding matches --fail-on; else 0."""
    from azext_stack_hci_verify.pipeline import answers
    scope = _scope(cmd, cluster_name=cluster_name, resource_group_name=resource_group_name, ids=ids,
                   subscriptions=subscriptions, all_subscriptions=all_subscriptions,
                   management_groups=management_groups)
    report = answers.check(scope=scope, host_facts=host_facts or (), guest_facts=guest_facts or (),
                           fail_on=fail_on or (), progress=_Progress(cmd.cli_ctx),
                           collect=_collect(cmd, collect, timeout), **_context(cmd, scope))
    return _finish_check(cmd, report, junit, summary)


def _finish_check(cmd, report, junit, summary):
    """Write the JUnit file and the Markdown summary (appended) when asked for, ask for the exit status
    after the output, and return the report."""
    from azext_stack_hci_verify import _exit_status
    from azext_stack_hci_verify.adapters.files import append_text_file, write_text_file
    from azext_stack_hci_verify.core.report_render import render_junit, render_markdown
    if junit:
        write_text_file(junit, render_junit(report), "JUnit file")
    if summary:
        append_text_file(summary, render_markdown(report), "Summary file")
    _exit_status.exit_after_output(cmd.cli_ctx, report.exit_code)
    return report.to_dict()


# ----------------------------------------------------------------------------------- host and document

@_az_errors
def attest_document(cmd, *, target="host", endpoint=None, nonce=None, document=None, trust_bundle=None,
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
