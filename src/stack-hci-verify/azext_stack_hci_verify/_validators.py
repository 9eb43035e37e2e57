# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Argument checks that run before a command does; each error says what is wrong and the fix."""

import functools


def _as_az(function, *args):
    """Run a file reader; its error (azext_stack_hci_verify.errors) is raised as az's own class."""
    from azext_stack_hci_verify.errors import VerificationError, as_az_error
    try:
        return function(*args)
    except VerificationError as ex:
        raise as_az_error(ex) from None


def parse_cluster_ids(ids):
    """(subscription, resource group, name) for each --ids value; raises az's error on anything else."""
    from azext_stack_hci_verify.pipeline.scope import parse_cluster_ids as parse
    return _as_az(parse, ids)


def parse_vm_ids(ids):
    """The Arc machine ID when --ids names one Azure Local VM (Microsoft.HybridCompute/machines), else None."""
    from azext_stack_hci_verify.pipeline.scope import parse_vm_id
    return parse_vm_id(ids)


def resolve_vm_name(namespace):
    """vm show and trusted-launch show: -n/--name names the VM and --cluster-name its cluster. The 0.2
    spelling, -n CLUSTER --vm-name VM (az warns that --vm-name is deprecated), is read as it was meant:
    with --vm-name given and no --cluster-name, -n is the cluster's name."""
    from knack.log import get_logger
    legacy = getattr(namespace, "deprecated_vm_name", None)
    if hasattr(namespace, "deprecated_vm_name"):
        del namespace.deprecated_vm_name       # not an argument of the command function
    if not legacy:
        return
    named = getattr(namespace, "vm_name", None)
    if named and not getattr(namespace, "cluster_name", None):
        namespace.cluster_name = named
        get_logger(__name__).warning(
            "-n now names the VM, not the cluster: '%s' was read as --cluster-name because the deprecated "
            "--vm-name was given. Write -n %s --cluster-name %s.", named, legacy, named)
    namespace.vm_name = legacy


def validate_vm_reference(cmd, namespace):
    """vm show: -n/--name with a cluster (--ids, or --cluster-name with -g), or --ids naming the VM's Arc
    machine."""
    from azure.cli.core.azclierror import MutuallyExclusiveArgumentError
    del cmd
    resolve_vm_name(namespace)
    ids = getattr(namespace, "ids", None)
    if ids and parse_vm_ids(ids):
        if getattr(namespace, "vm_name", None):
            raise MutuallyExclusiveArgumentError(
                "--ids names the VM by its Arc machine ID; --name names it again.",
                recommendation="Drop --name, or give the cluster's ID with --ids.")
        return
    _validate_vm_cluster(namespace)
    _require_vm_name(namespace, "Name it with --name/-n, or give its Arc machine ID with --ids.")


def validate_trusted_launch_vm(cmd, namespace):
    """trusted-launch show: -n/--name with its cluster (--cluster-name with -g, or the cluster's --ids)."""
    del cmd
    resolve_vm_name(namespace)
    _validate_vm_cluster(namespace)
    _require_vm_name(namespace, "Name it with --name/-n.")


def _require_vm_name(namespace, recommendation):
    from azure.cli.core.azclierror import RequiredArgumentMissingError
    if not getattr(namespace, "vm_name", None):
        raise RequiredArgumentMissingError("No VM was named.", recommendation=recommendation)


def _validate_vm_cluster(namespace):
    """The cluster of a command about one VM: --ids, or --cluster-name with --resource-group."""
    _validate_cluster(namespace, "--cluster-name")


def validate_cluster_reference(cmd, namespace):
    """Either --ids, or --cluster-name with --resource-group."""
    del cmd
    _validate_cluster(namespace, "--cluster-name/-n")


def _validate_cluster(namespace, name_option):
    from azure.cli.core.azclierror import MutuallyExclusiveArgumentError, RequiredArgumentMissingError
    ids = getattr(namespace, "ids", None)
    name = getattr(namespace, "cluster_name", None)
    group = getattr(namespace, "resource_group_name", None)
    group_given = bool(group) and not getattr(group, "is_default", False)
    if ids:
        if name or group_given:
            raise MutuallyExclusiveArgumentError(
                "--ids and --cluster-name/--resource-group were both given.",
                recommendation="Use either --ids or --cluster-name/--resource-group, not both.")
        parse_cluster_ids(ids)
        return
    if name and not group:
        raise RequiredArgumentMissingError(
            f"--resource-group/-g is required with {name_option}.",
            recommendation="Give both, or give the cluster's ID with --ids.")
    if not name:
        raise RequiredArgumentMissingError(
            "No cluster was named.",
            recommendation=f"Name the cluster with {name_option} and --resource-group/-g, or give its ID with "
                           "--ids.")


def validate_host_facts(cmd, namespace):
    """Read and check every --host-facts file now, so a bad file fails before any ARM call."""
    del cmd
    paths = getattr(namespace, "host_facts", None)
    if not paths:
        return
    flat = []
    for item in paths:
        flat.extend(item if isinstance(item, list) else [item])
    from azext_stack_hci_verify.adapters.files import load_host_facts
    namespace.host_facts = _as_az(load_host_facts, flat)


def validate_attest(cmd, namespace):
    """--at is a time, --endpoint an http URL, --nonce plain text, and --document excludes fetching."""
    from urllib.parse import urlsplit
    from azure.cli.core.azclierror import InvalidArgumentValueError, MutuallyExclusiveArgumentError
    from azext_stack_hci_verify.core.timeutil import parse_timestamp
    del cmd
    if namespace.at is not None:
        moment = parse_timestamp(namespace.at)
        if moment is None:
            raise InvalidArgumentValueError(
                f"--at '{namespace.at}' is not a time.",
                recommendation="Use ISO 8601, e.g. 2025-11-19T13:46:40Z.")
        namespace.at = moment
    if namespace.document and namespace.endpoint:
        raise MutuallyExclusiveArgumentError(
            "Use --document to verify a saved document or --endpoint to fetch one, not both.")
    if namespace.endpoint:
        parts = urlsplit(namespace.endpoint)
        if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/") or parts.query:
            raise InvalidArgumentValueError(
                f"--endpoint '{namespace.endpoint}' must be the endpoint's base URL, e.g. http://127.0.0.1:42542 "
                "(IMDS speaks plain HTTP; the path and query are added).")
    if namespace.nonce is not None:
        import re
        if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", namespace.nonce):
            raise InvalidArgumentValueError(
                "--nonce must be 1 to 64 letters, digits or '-' (IMDS echoes it back), e.g. 1234567890.")
    if namespace.timeout is not None and not 0 < namespace.timeout <= 300:
        raise InvalidArgumentValueError("--timeout must be between 0 and 300 seconds.")


# --status values as they are typed: Windows Admin Center's benefit statuses without spaces. The output
# keeps Windows Admin Center's words (core.vocabulary.BENEFIT_STATUSES).
STATUS_CHOICES = ("active-benefits", "inactive-benefits", "unknown", "no-applicable-benefits")


def _status_key(text):
    """A benefit status as it may be typed, reduced to letters: 'inactive-benefits', 'InactiveBenefits',
    'INACTIVE_BENEFITS' and 'Inactive benefits' are one key."""
    return "".join(char for char in str(text).lower() if char.isalnum())


def validate_vm_status(cmd, namespace):
    """--status values are the benefit statuses Windows Admin Center shows, written without spaces
    (inactive-benefits) or as they are shown ("Inactive benefits"), in any case."""
    from azure.cli.core.azclierror import InvalidArgumentValueError
    from azext_stack_hci_verify.core.vocabulary import BENEFIT_STATUSES
    del cmd
    values = getattr(namespace, "status", None)
    if not values:
        return
    by_key = {_status_key(status): status for status in BENEFIT_STATUSES}
    chosen = []
    for value in values:
        status = by_key.get(_status_key(value))
        if status is None:
            raise InvalidArgumentValueError(
                f"--status '{value}' is not a benefit status.",
                recommendation=f"Use one or more of: {' '.join(STATUS_CHOICES)}.")
        chosen.append(status)
    namespace.status = chosen


def validate_probe(cmd, namespace):
    from azure.cli.core.azclierror import InvalidArgumentValueError
    del cmd
    if namespace.timeout is not None and not 0 < namespace.timeout <= 600:
        raise InvalidArgumentValueError("--timeout must be between 0 and 600 seconds.")


def validate_guest_facts(cmd, namespace):
    """Read and check every --guest-facts file now, so a bad file fails before any ARM call."""
    del cmd
    paths = getattr(namespace, "guest_facts", None)
    if not paths:
        return
    flat = []
    for item in paths:
        flat.extend(item if isinstance(item, list) else [item])
    from azext_stack_hci_verify.adapters.files import load_guest_facts as _load
    load_guest_facts = functools.partial(_as_az, _load)
    namespace.guest_facts = load_guest_facts(flat)


def validate_guest_probe(cmd, namespace):
    """--guest probes the VM this runs in: --vm-name (host VMs) does not go with it."""
    from azure.cli.core.azclierror import MutuallyExclusiveArgumentError
    del cmd
    if getattr(namespace, "guest", False) and getattr(namespace, "vm_names", None):
        raise MutuallyExclusiveArgumentError(
            "--vm-name selects VMs on a host; --guest probes the VM this runs in.",
            recommendation="Run `az stack-hci vm-verification probe --guest` inside each VM, without --vm-name.")


_SCOPES = ("Use -n and -g for one cluster, -g for a resource group, --cluster-ids (--ids in check) for clusters by "
           "ID, --subscriptions for "
           "some subscriptions, --all-subscriptions for every one, --management-groups, or nothing for the current "
           "subscription.")


def validate_scope(cmd, namespace):
    """One scope for a read command: --ids; --cluster-name with --resource-group; --resource-group alone
    (every cluster of the group); --subscriptions, --all-subscriptions or --management-groups (a fleet);
    or nothing (every cluster of the current subscription)."""
    from azure.cli.core.azclierror import MutuallyExclusiveArgumentError, RequiredArgumentMissingError
    del cmd
    ids_option = "--cluster-ids" if hasattr(namespace, "cluster_ids") else "--ids"
    ids = getattr(namespace, "cluster_ids", None) or getattr(namespace, "ids", None)
    name = getattr(namespace, "cluster_name", None)
    group = getattr(namespace, "resource_group_name", None)
    group_given = bool(group) and not getattr(group, "is_default", False)
    fleet = _fleet_options(namespace)
    given = [option for option, value in ((ids_option, ids), ("--cluster-name/--resource-group", name or group_given))
             if value] + fleet
    if len(given) > 1:
        raise MutuallyExclusiveArgumentError(
            f"Give one scope, not {' and '.join(given)}.", recommendation=_SCOPES)
    if fleet:
        namespace.resource_group_name = None      # a configured default group does not narrow a fleet
        return
    if ids:
        parse_cluster_ids(ids)
        return
    if name and not group:
        raise RequiredArgumentMissingError(
            "--resource-group/-g is required with --cluster-name/-n.",
            recommendation=f"Give both -n and -g, or give the cluster's ID with {ids_option}.")


def validate_check_outputs(cmd, namespace):
    """--fail-on levels are known (any case, space- or comma-separated); --junit and --summary can be
    written, checked before anything is read."""
    from azure.cli.core.azclierror import InvalidArgumentValueError
    from azext_stack_hci_verify.core.report import FAIL_ON_LEVELS, parse_levels
    del cmd
    try:
        namespace.fail_on = parse_levels(getattr(namespace, "fail_on", None))
    except ValueError as ex:
        raise InvalidArgumentValueError(
            f"--fail-on '{ex}' is not a level.",
            recommendation=f"Use one or more of: {', '.join(FAIL_ON_LEVELS)}.") from None
    from azext_stack_hci_verify.adapters.files import check_writable
    for option, attribute, what in (("--junit", "junit", "JUnit file"), ("--summary", "summary", "Summary file")):
        path = getattr(namespace, attribute, None)
        if path is not None:
            _as_az(check_writable, path, what, option)


def _fleet_options(namespace):
    return [option for option, attribute in (("--subscriptions", "subscriptions"),
                                             ("--all-subscriptions", "all_subscriptions"),
                                             ("--management-groups", "management_groups"))
            if getattr(namespace, attribute, None)]


def validate_collect(cmd, namespace):
    """--timeout is a positive number of seconds (at most a day), --parallel 1 to 64, and --output-dir a
    folder (made when missing); checked before anything is read or created."""
    from azure.cli.core.azclierror import InvalidArgumentValueError, RequiredArgumentMissingError
    del cmd
    timeout = getattr(namespace, "timeout", None)
    if timeout is not None and not 0 < timeout <= 86400:
        raise InvalidArgumentValueError(f"--timeout {timeout:g} is out of range: give 1 to 86400 seconds.")
    parallel = getattr(namespace, "parallel", None)
    if parallel is not None and not 1 <= parallel <= 64:
        raise InvalidArgumentValueError(f"--parallel {parallel} is out of range: give 1 to 64 servers at once.")
    if timeout is not None and hasattr(namespace, "collect") and not namespace.collect:
        raise RequiredArgumentMissingError("--timeout applies to --collect only.",
                                           recommendation="Add --collect, or leave --timeout out.")
    directory = getattr(namespace, "output_dir", None)
    if directory:
        import os
        path = os.path.expanduser(directory)
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as ex:
            raise InvalidArgumentValueError(f"--output-dir '{directory}' cannot be used: {ex.strerror or ex}.",
                                            recommendation="Give a folder you can write to.") from None
        if not os.access(path, os.W_OK):
            raise InvalidArgumentValueError(f"--output-dir '{directory}' is not writable.",
                                            recommendation="Give a folder you can write to.")
