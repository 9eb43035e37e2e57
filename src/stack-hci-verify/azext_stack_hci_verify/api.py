# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The Python API: the answers of `az stack-hci vm-verification` for governance scripts, with any
azure-core credential and no az.

    from azure.identity import DefaultAzureCredential
    from azext_stack_hci_verify.api import Verifier

    verifier = Verifier(DefaultAzureCredential(), subscription_id="<subscription>")
    result = verifier.check(all_subscriptions=True, fail_on=["expired"])
    if result.failed:
        ...

Each method returns exactly what `-o json` prints for the same arguments (plain dicts and lists),
because it runs the same pipeline and answers as the command (azext_stack_hci_verify.pipeline).
Errors are the exceptions of azext_stack_hci_verify.errors, re-exported here; each carries the
recommendation the command shows. Importing this module imports nothing from az or knack.

API version: API_VERSION. It changes its major number only when a method or a returned field is
removed or changes meaning."""

import logging
from datetime import datetime, timezone
from typing import NamedTuple

from azext_stack_hci_verify.errors import (
    AuthenticationError, FileAccessError, InvalidInputError, MalformedAnswerError, NoAnswerError, NotFoundError,
    PermissionDeniedError, ServiceError, ThrottledError, VerificationError)

__all__ = ["API_VERSION", "CLOUDS", "CheckResult", "Verifier", "AuthenticationError", "FileAccessError",
           "InvalidInputError", "MalformedAnswerError", "NoAnswerError", "NotFoundError", "PermissionDeniedError",
           "ServiceError", "ThrottledError", "VerificationError"]

API_VERSION = "1.0"

# ARM endpoint and token audience of each cloud, by az's cloud names.
CLOUDS = {
    "AzureCloud": ("https://management.azure.com", "https://management.core.windows.net/"),
    "AzureUSGovernment": ("https://management.usgovcloudapi.net", "https://management.core.usgovcloudapi.net/"),
    "AzureChinaCloud": ("https://management.chinacloudapi.cn", "https://management.core.chinacloudapi.cn/"),
}
SUBSCRIPTIONS_API_VERSION = "2022-12-01"

_LOGGER = logging.getLogger("azext_stack_hci_verify")


class CheckResult(NamedTuple):
    """What `check` returns: the report (as `-o json` prints it), whether the gate failed, and the exit
    status the command would end with."""
    report: dict
    failed: bool
    exit_code: int
    junit: str
    markdown: str


class Verifier:
    """`credential`: any azure-core TokenCredential (azure.identity.DefaultAzureCredential(), a managed
    identity, a service principal ...). `subscription_id`: the subscription of `show` and of a scope
    given by resource group or by nothing, as az's current subscription is. `cloud`: AzureCloud,
    AzureUSGovernment or AzureChinaCloud (the ARM endpoint and the token audience follow it), or give
    `arm_endpoint` (and `audience`) yourself. `timeout`: seconds one request may take, retries included.
    One token is asked for per audience and kept while it is valid, for every call of this Verifier."""

    def __init__(self, credential, *, subscription_id=None, cloud="AzureCloud", arm_endpoint=None, audience=None,
                 timeout=20.0, now=None):
        from azext_stack_hci_verify.adapters.connection import ArmConnection
        if arm_endpoint is None:
            if cloud not in CLOUDS:
                raise InvalidInputError(f"Cloud '{cloud}' is not known.",
                                        recommendation=f'Use one of {", ".join(CLOUDS)}, or give arm_endpoint and '
                                                       'audience.')
            arm_endpoint, default_audience = CLOUDS[cloud]
        else:
            default_audience = CLOUDS.get(cloud, CLOUDS["AzureCloud"])[1] if audience is None and \
                arm_endpoint.rstrip("/") == CLOUDS.get(cloud, ("",))[0] else arm_endpoint
        if not timeout or timeout <= 0:
            raise InvalidInputError("timeout must be a number of seconds above 0.")
        self.subscription_id = subscription_id
        self._now = now
        self._conn = ArmConnection(credential, arm_endpoint, audience or default_audience, timeout, subscription_id)

    # ------------------------------------------------------------------------------------ plumbing

    @property
    def token_requests(self):
        """How many tokens this Verifier has asked its credential for."""
        return self._conn.credential.token_requests

    def _time(self):
        return self._now() if callable(self._now) else datetime.now(timezone.utc)

    def _current(self):
        if not self.subscription_id:
            raise InvalidInputError("No subscription was given.",
                                    recommendation="Give Verifier(..., subscription_id=...), or name the clusters "
                                                   "by resource ID, or name subscriptions.")
        return self.subscription_id

    # pylint: disable-next=too-many-return-statements
    def _scope(self, *, name=None, resource_group=None, ids=None, subscriptions=None, all_subscriptions=False,
               management_groups=None):
        from azext_stack_hci_verify.pipeline.scope import Scope, parse_cluster_ids
        given = sum(bool(value) for value in (ids, name, subscriptions, all_subscriptions, management_groups))
        if given > 1 or (resource_group and given and not name):
            raise InvalidInputError("Give one scope.", recommendation="Name one cluster (name and resource_group), "
                                    "clusters by ids, a resource_group, subscriptions, all_subscriptions or "
                                    "management_groups.")
        if name and not resource_group:
            raise InvalidInputError("resource_group is required with name.")
        if ids:
            return Scope.of_clusters(parse_cluster_ids([ids] if isinstance(ids, str) else ids))
        if name:
            return Scope.of_clusters([(self._current(), resource_group, name)])
        if management_groups:
            return Scope.of_management_groups(list(management_groups))
        if subscriptions:
            return Scope.of_subscriptions(list(subscriptions))
        if all_subscriptions:
            return Scope.of_subscriptions(self._all_subscriptions(), all_subscriptions=True)
        if resource_group:
            return Scope.of_group(self._current(), resource_group)
        return Scope.of_subscriptions([self._current()])

    def _all_subscriptions(self):
        """Every enabled subscription the credential can see (ARM's subscription list)."""
        from azext_stack_hci_verify.adapters import arm
        read = arm.ArmRead("The subscriptions", "/", "Microsoft.Resources/subscriptions/read",
                           timeout=self._conn.timeout)
        try:
            items = arm.list_documents(self._conn.resourcegraph(), "/subscriptions", SUBSCRIPTIONS_API_VERSION, read,
                                       30 * self._conn.timeout)
        except arm.ARM_ERRORS as ex:
            raise arm.translate_error(ex, read) from ex
        return [item["subscriptionId"] for item in items
                if str(item.get("state", "Enabled")).lower() == "enabled" and item.get("subscriptionId")]

    def _context(self):
        return {"conn": self._conn, "now": self._time(), "warn": lambda text: _LOGGER.warning("%s", text)}

    # ------------------------------------------------------------------------------------ the commands

    def show(self, name, resource_group, host_facts=()):
        """`az stack-hci vm-verification show -n NAME -g GROUP`: the cluster's view."""
        from azext_stack_hci_verify.pipeline import answers
        return answers.cluster(scope=self._scope(name=name, resource_group=resource_group),
                               host_facts=_host_facts(host_facts),
                               **self._context())

    def collect(self, name=None, resource_group=None, ids=None, timeout=None, parallel=None):
        """`az stack-hci vm-verification collect`: the host facts of every server of the cluster (or of every
        cluster of the group) through Arc Run Command, one row per server; nothing is left on the servers."""
        from dataclasses import replace
        from azext_stack_hci_verify.pipeline import answers
        from azext_stack_hci_verify.pipeline.collect import CollectRequest, CollectSettings
        changes = {key: value for key, value in (("timeout", timeout), ("parallel", parallel)) if value is not None}
        request = CollectRequest(replace(CollectSettings(), **changes))
        scope = self._scope(name=name, resource_group=resource_group, ids=ids)
        return answers.collected(scope=scope, collect=request, **self._context())

    def list(self, resource_group=None, subscriptions=None, all_subscriptions=False, management_groups=None,
             host_facts=()):
        """`list`: every cluster of a resource group, the subscription, some subscriptions or a fleet."""
        from azext_stack_hci_verify.pipeline import answers
        scope = self._scope(name=None, resource_group=resource_group, ids=None, subscriptions=subscriptions,
                            all_subscriptions=all_subscriptions, management_groups=management_groups)
        return answers.clusters(scope=scope, host_facts=_host_facts(host_facts), **self._context())

    def servers(self, name=None, resource_group=None, *, ids=None, subscriptions=None, all_subscriptions=False,
                management_groups=None, host_facts=()):
        """`server list`."""
        from azext_stack_hci_verify.pipeline import answers
        scope = self._scope(name=name, resource_group=resource_group, ids=ids, subscriptions=subscriptions,
                            all_subscriptions=all_subscriptions, management_groups=management_groups)
        return answers.servers(scope=scope, host_facts=_host_facts(host_facts), **self._context())

    def vms(self, name=None, resource_group=None, *, ids=None, subscriptions=None, all_subscriptions=False,
            management_groups=None, host_facts=(), status=None):
        """`vm list` (`status`: benefit statuses to keep, as Windows Admin Center names them)."""
        from azext_stack_hci_verify.pipeline import answers
        scope = self._scope(name=name, resource_group=resource_group, ids=ids, subscriptions=subscriptions,
                            all_subscriptions=all_subscriptions, management_groups=management_groups)
        return answers.vms(scope=scope, host_facts=_host_facts(host_facts), status=_statuses(status),
                           **self._context())

    def vm(self, vm_name=None, name=None, resource_group=None, *, ids=None, machine_id=None, host_facts=()):
        """`vm show`: one VM by name on a cluster (name and resource_group, or the cluster's ids), or by its
        Arc machine ID."""
        from azext_stack_hci_verify.pipeline import answers
        if machine_id:
            scope = answers.parent_cluster(self._conn, machine_id)
        else:
            if not vm_name:
                raise InvalidInputError("No VM was named.", recommendation="Give vm_name, or machine_id.")
            scope = self._scope(name=name, resource_group=resource_group, ids=ids)
        return answers.vm(scope=scope, vm_name=vm_name, machine_id=machine_id, host_facts=_host_facts(host_facts),
                          **self._context())

    def trusted_launch(self, name=None, resource_group=None, *, ids=None, subscriptions=None, all_subscriptions=False,
                       management_groups=None, host_facts=(), guest_facts=()):
        """`trusted-launch list`."""
        from azext_stack_hci_verify.pipeline import answers
        scope = self._scope(name=name, resource_group=resource_group, ids=ids, subscriptions=subscriptions,
                            all_subscriptions=all_subscriptions, management_groups=management_groups)
        return answers.trusted_launch(scope=scope, host_facts=_host_facts(host_facts),
                                      guest_facts=_guest_facts(guest_facts), **self._context())

    def trusted_launch_vm(self, vm_name, name=None, resource_group=None, *, ids=None, host_facts=(), guest_facts=()):
        """`trusted-launch show`."""
        from azext_stack_hci_verify.pipeline import answers
        return answers.trusted_launch_vm(scope=self._scope(name=name, resource_group=resource_group, ids=ids),
                                         vm_name=vm_name,
                                         host_facts=_host_facts(host_facts), guest_facts=_guest_facts(guest_facts),
                                         **self._context())

    def check(self, name=None, resource_group=None, *, ids=None, subscriptions=None, all_subscriptions=False,
              management_groups=None, host_facts=(), guest_facts=(), fail_on=()):
        """`check`: the report, whether a finding matched `fail_on` (levels: off, expired, inactive, unknown,
        error, warning, any), and the JUnit XML and Markdown summary the command writes. CheckResult."""
        from azext_stack_hci_verify.core import report_render
        from azext_stack_hci_verify.pipeline import answers
        report = answers.check(
            scope=self._scope(name=name, resource_group=resource_group, ids=ids, subscriptions=subscriptions,
                              all_subscriptions=all_subscriptions, management_groups=management_groups),
            host_facts=_host_facts(host_facts), guest_facts=_guest_facts(guest_facts), fail_on=_levels(fail_on),
            **self._context())
        return CheckResult(report.to_dict(), report.exit_code != 0, report.exit_code,
                           report_render.render_junit(report), report_render.render_markdown(report))

    def attest(self, document=None, *, endpoint=None, target="host", nonce=None, trust_bundle=None, intermediates=None,
               allowed_signers=None, at=None, timeout=10.0, no_fetch=False, check_revocation=False, cache_dir=None):
        """`attest`: fetch (or read) an attested document and verify it. The view; its status is Passed
        only when every check passed."""
        from azext_stack_hci_verify import attest_flow
        request = attest_flow.AttestRequest(
            target=target, endpoint=endpoint, nonce=nonce, document=document, trust_bundle=trust_bundle,
            intermediates=intermediates, allowed_signers=allowed_signers, at=at, timeout=timeout, no_fetch=no_fetch,
            check_revocation=check_revocation)
        return attest_flow.attestation(request, self._time(), cache_dir)


def _levels(values):
    from azext_stack_hci_verify.core.report import FAIL_ON_LEVELS, parse_levels
    try:
        return parse_levels([values] if isinstance(values, str) else values)
    except ValueError as ex:
        raise InvalidInputError(f"fail_on '{ex}' is not a level.",
                                recommendation=f"Use one or more of: {', '.join(FAIL_ON_LEVELS)}.") from None


def _host_facts(values):
    """HostFacts from file paths (or already parsed documents)."""
    from azext_stack_hci_verify.adapters.files import load_host_facts
    paths = [value for value in values or () if isinstance(value, str)]
    return [value for value in values or () if not isinstance(value, str)] + load_host_facts(paths)


def _guest_facts(values):
    from azext_stack_hci_verify.adapters.files import load_guest_facts
    paths = [value for value in values or () if isinstance(value, str)]
    return [value for value in values or () if not isinstance(value, str)] + load_guest_facts(paths)


def _statuses(values):
    """Benefit statuses as Windows Admin Center names them, in any case."""
    from azext_stack_hci_verify.core.vocabulary import BENEFIT_STATUSES
    if not values:
        return None
    by_lower = {status.lower(): status for status in BENEFIT_STATUSES}
    chosen = []
    for value in [values] if isinstance(values, str) else values:
        status = by_lower.get(" ".join(str(value).split()).lower())
        if status is None:
            raise InvalidInputError(f"'{value}' is not a benefit status.",
                                    recommendation=f"Use one or more of: {', '.join(BENEFIT_STATUSES)}.")
        chosen.append(status)
    return chosen
