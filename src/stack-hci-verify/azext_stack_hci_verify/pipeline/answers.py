# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""What each read command answers: the pipeline run for its scope and the projection it returns, with
the errors that end it (azext_stack_hci_verify.errors). The az command functions and the Python API
call these same functions, so `-o json` and the API return the same objects.

Each takes a connection, a Scope, the reference time and the facts files, and `warn(text)`: how the
caller tells what the result shows no row for (facts files that applied to nothing, what could not be
read). None of them knows az."""

from azext_stack_hci_verify.errors import InvalidInputError, NotFoundError

from . import evaluate
from . import projections as views
from .scope import CLUSTERS, Scope


def _model(conn, scope, now, *, host_facts=(), guest_facts=(), reads_trusted_launch=False, progress=None, warn=None,
           collect=None):
    model = evaluate(conn, scope, host_facts=host_facts or (), guest_facts=guest_facts or (), now=now,
                     trusted_launch=reads_trusted_launch, progress=progress, collect=collect)
    if warn is not None:
        for finding in model.ignored_files:
            warn(finding["reason"])
        for item in model.unreadable:
            warn(item.finding["reason"])
    return model


def clusters(conn, scope, now, *, host_facts=(), progress=None, warn=None, collect=None):
    """`list` (and `show`): every cluster's view, then a row for each that could not be read."""
    return views.cluster_rows(_model(conn, scope, now, host_facts=host_facts, progress=progress, warn=warn,
                                     collect=collect))


def cluster(conn, scope, now, *, host_facts=(), progress=None, warn=None, collect=None):
    """`show`: the view of the one cluster named (a list when several were)."""
    rows = clusters(conn, scope, now, host_facts=host_facts, progress=progress, warn=warn, collect=collect)
    return rows[0] if len(rows) == 1 else rows


def servers(conn, scope, now, *, host_facts=(), progress=None, warn=None, collect=None):
    """`server list`: each server of the scope's clusters."""
    return views.server_rows(_model(conn, scope, now, host_facts=host_facts, progress=progress, warn=warn,
                                    collect=collect))


def vms(conn, scope, now, *, host_facts=(), status=None, progress=None, warn=None, collect=None):
    """`vm list`: one row per VM, only those whose benefit status is in `status` when given. One cluster
    whose VM list could not be read, with no host facts to show instead: its read error."""
    model = _model(conn, scope, now, host_facts=host_facts, progress=progress, warn=warn, collect=collect)
    for judged in model.clusters:
        if judged.vms_failure is not None and warn is not None:
            warn(f"Cluster '{judged.name}': {judged.vms_failure.reason}")
    rows = views.vm_rows(model)
    if not rows:
        _raise_if_unread(model)
    return [view for judged, view in rows if not status or judged.verdict.benefit_status in status]


def vm(conn, scope, now, *, vm_name=None, machine_id=None, host_facts=(), warn=None, collect=None):
    """`vm show`: one VM, by name or by Arc machine ID, with its facts and its Trusted launch row (read
    for this VM only)."""
    def this_vm(machine):
        if machine_id:
            return str(machine.get("id", "")).lower() == machine_id.lower()
        return str(machine.get("name", "")).lower() == (vm_name or "").lower()

    model = _model(conn, scope, now, host_facts=host_facts, reads_trusted_launch=this_vm, warn=warn, collect=collect)
    found = pick_vm(views.vm_rows(model, detail=True), vm_name, machine_id,
                    lambda item: (item[0].facts.name, item[0].machine_id))
    if found is not None:
        return found[1]
    _raise_if_unread(model)
    raise no_such_vm(vm_name or machine_id, scope, "vm list")


def trusted_launch(conn, scope, now, *, host_facts=(), guest_facts=(), progress=None, warn=None, collect=None):
    """`trusted-launch list`: each Azure Local VM's Trusted launch row."""
    model = _model(conn, scope, now, host_facts=host_facts, guest_facts=guest_facts, reads_trusted_launch=True,
                   progress=progress, warn=warn, collect=collect)
    if scope.kind == CLUSTERS and len(model.clusters) == 1:
        _raise_if_unread(model)
    return [row for _, row in views.trusted_launch_rows(model)]


def trusted_launch_vm(conn, scope, now, vm_name, *, host_facts=(), guest_facts=(), warn=None, collect=None):
    """`trusted-launch show`: one VM with every check and its cluster's checks."""
    model = _model(conn, scope, now, host_facts=host_facts, guest_facts=guest_facts, reads_trusted_launch=True,
                   warn=warn, collect=collect)
    if len(model.clusters) == 1:
        _raise_if_unread(model)
    found = pick_vm(views.trusted_launch_rows(model), vm_name, None,
                    lambda item: (item[0].vm.name, item[0].vm.machine_id))
    if found is None:
        raise no_such_vm(vm_name, scope, "trusted-launch list")
    return views.trusted_launch_detail(model, found[0])


def check(conn, scope, now, *, host_facts=(), guest_facts=(), fail_on=(), progress=None, warn=None, collect=None):
    """`check`: the core.report.CheckReport of everything in the scope for the --fail-on levels."""
    model = _model(conn, scope, now, host_facts=host_facts, guest_facts=guest_facts, reads_trusted_launch=True,
                   progress=progress, warn=warn, collect=collect)
    return views.check_report(model, tuple(fail_on or ()))


def collected(conn, scope, now, collect, warn=None):
    """`collect`: one row per server of the scope's clusters, with its host-facts document (the schema
    `probe` writes) when it could be collected, else why not and what to do."""
    from .collect import collect as run_collection
    from .read import read_scope
    snapshot = read_scope(conn, scope)
    if warn is not None:
        for _, failure in snapshot.unreadable_clusters:
            warn(failure.reason)
    if scope.kind == CLUSTERS and not snapshot.clusters and snapshot.unreadable_clusters:
        raise snapshot.unreadable_clusters[0][1].error
    collection = run_collection(conn, [read.facts for read in snapshot.clusters], now=now, settings=collect.settings,
                                progress=collect.progress)
    return views.collection_rows(collection)


def parent_cluster(conn, machine_id):
    """The Scope of the cluster an Arc machine (an Azure Local VM) belongs to."""
    from azext_stack_hci_verify.adapters import arm
    from .scope import parse_cluster_ids
    document = arm.get_machine(conn, machine_id)
    parent = ((document or {}).get("properties") or {}).get("parentClusterResourceId")
    if not isinstance(parent, str) or not parent:
        raise InvalidInputError(
            f"'{machine_id}' is not an Azure Local VM: its Arc machine names no parent cluster.",
            recommendation="Give the ID of an Azure Local VM's Arc machine, or name the VM with -n and its cluster "
                           "with --cluster-name and -g.")
    return Scope.of_clusters(parse_cluster_ids([parent]))


def pick_vm(items, vm_name, machine_id, key):
    """The one item whose VM is named `vm_name` (or has Arc machine `machine_id`); an error when the name
    is ambiguous, listing the candidates' resource IDs."""
    if machine_id:
        return next((item for item in items if (key(item)[1] or "").lower() == machine_id.lower()), None)
    found = [item for item in items if (key(item)[0] or "").lower() == (vm_name or "").lower()]
    if len(found) > 1:
        ids = [key(item)[1] or f"(host only: {key(item)[0]})" for item in found]
        raise InvalidInputError(
            f"{len(found)} VMs are named '{vm_name}' here: {', '.join(ids)}.",
            recommendation="Choose one by its Arc machine ID: --ids <one of the IDs above>.")
    return found[0] if found else None


def _raise_if_unread(model):
    """When the VM list of a cluster could not be read, its error is why a VM was not found."""
    for judged in model.clusters:
        if judged.vms_failure is not None:
            raise judged.vms_failure.error


def no_such_vm(vm_name, scope, command):
    _, resource_group, name = scope.clusters[0] if scope.clusters else (None, None, None)
    return NotFoundError(
        f"VM '{vm_name}' was not found on cluster '{name}' (resource group '{resource_group}').",
        recommendation=f"List its VMs with `az stack-hci vm-verification {command} -n {name} -g {resource_group}`.")
