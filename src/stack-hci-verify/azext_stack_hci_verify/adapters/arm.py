# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""ARM reads through the command's azure-mgmt-core pipelines, read raw: the documents (dicts) come
back as ARM sent them, so that values a newer API version adds are kept; the core reads them. Lists
follow their nextLinks through adapters.paging (a repeated link and the bounds end a list; a link to
another host is refused before anything is sent).

Errors: a read that fails raises an errors.VerificationError whose message says what could not be read and why
and whose recommendation says what to do. Reads that are one part of a bigger answer (a cluster's
VMs) return their failures instead (`ReadFailure`), so the rest still comes back."""

import re
import shlex
from typing import List, NamedTuple, Optional

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from azext_stack_hci_verify import errors
from azext_stack_hci_verify._client_factory import (
    ARM_TIMEOUT_ENV, ARM_TIMEOUT_OPTION, ARM_TIMEOUT_SECTION, LIST_TIMEOUT_FACTOR)
from azext_stack_hci_verify.core.inventory import ArmVm, is_arc_server, is_cluster_vm

CLUSTER_TYPE = "Microsoft.AzureStackHCI/clusters"
# Instance reads run concurrently, at most this many at once.
MAX_CONCURRENT_READS = 8
# What the SDK raises for an ARM answer it does not like, or for no answer at all.
ARM_ERRORS = (HttpResponseError, ServiceRequestError, ServiceResponseError)

# The permission each read needs (what a 403 says is missing when ARM's message does not).
PERMISSION_CLUSTERS = "Microsoft.AzureStackHCI/clusters/read"
PERMISSION_MACHINES = "Microsoft.HybridCompute/machines/read"
PERMISSION_INSTANCES = "Microsoft.AzureStackHCI/virtualMachineInstances/read"
ACTION_GRANT_READ = "Grant read access"
_MAX_DETAIL = 200


class ArmRead(NamedTuple):
    """One ARM read, as its error messages name it."""
    what: str                   # "Cluster 'c' in resource group 'g'"
    scope: str                  # the resource or collection read
    permission: str             # the permission it needs
    if_missing: str = ""        # the recommendation when ARM answers 404
    timeout: Optional[float] = None
    service: str = "ARM"        # who answers: ARM, or Resource Graph (through ARM's endpoint)


class _Problem(NamedTuple):
    kind: str                   # a key of _ERRORS (the azclierror class az shows it as, or ThrottledError)
    message: str
    recommendation: str
    grant: Optional[tuple] = None   # (assignee, scope) of the role assignment that fixes a 403
    detail: Optional[dict] = None   # keyword arguments of the error: the permission, the Retry-After


class ReadFailure(NamedTuple):
    """A read that failed, reported in the result rather than ending the command."""
    error: object               # the errors.VerificationError, for when nothing else can be reported
    grant: Optional[tuple] = None   # (assignee, scope) when read access is missing

    @property
    def action(self):
        return ACTION_GRANT_READ if self.grant else None

    @property
    def command(self):
        return _grant_command(*self.grant) if self.grant else None

    @property
    def reason(self):
        return self.error.error_msg

    @property
    def recommendation(self):
        return " ".join(self.error.recommendations)


class ClusterReadError(Exception):
    """A cluster's document could not be read: its ReadFailure (raise `failure.error` to end the command)."""

    def __init__(self, failure):
        super().__init__(failure.reason)
        self.failure = failure


class ClusterVms(NamedTuple):
    """A cluster's Azure Local VMs as ARM has them, and the reads that failed: the list of Arc
    machines (then there are no VMs), or some of the VMs' instances."""
    vms: List[ArmVm]
    machines_failure: Optional[ReadFailure] = None
    instances_failure: Optional[ReadFailure] = None


# The api-versions of Microsoft.AzureStackHCI/clusters and Microsoft.HybridCompute/machines that
# azure-mgmt-azurestackhci and azure-mgmt-hybridcompute (the versions pinned in requirements-dev.txt)
# use; a unit test keeps them equal.
CLUSTER_API_VERSION = "2026-10-01"
# The api-version of the Azure Local VM resources (virtualMachineInstances, their attestationStatus, gallery
# images) that azure-mgmt-azurestackhcivm uses (the version pinned in requirements-dev.txt); a unit test keeps
# the two equal. They are read raw through the command's one pipeline: no SDK is imported for them.
INSTANCES_API_VERSION = "2025-06-01-preview"
INSTANCE_SUFFIX = "/providers/Microsoft.AzureStackHCI/virtualMachineInstances/default"
MACHINES_API_VERSION = "2026-07-15"


def send_json(client, method, url, params=None, body=None):
    """The JSON of the answer to one request through `client`'s azure-mgmt-core pipeline (the host
    check, authentication, the command's retry and deadline policies), read raw: no SDK model is
    built. Raises HttpResponseError for an answer other than 200, or one whose body is not JSON."""
    from azure.core.exceptions import DecodeError
    from azure.core.rest import HttpRequest
    from azure.mgmt.core.exceptions import ARMErrorFormat
    # adapters.arm_client.ArmClient (and generated clients) expose their pipeline as send_request; some
    # generated clients name it _send_request (same signature).
    send = getattr(client, "send_request", None) or client._send_request  # pylint: disable=protected-access
    response = send(HttpRequest(method, url, params=params, json=body))
    if response.status_code != 200:
        raise HttpResponseError(response=response, error_format=ARMErrorFormat)
    try:
        return response.json()
    except (ValueError, DecodeError) as ex:
        raise HttpResponseError(message="The answer is not JSON", response=response) from ex


def get_document(client, path, api_version):
    """The raw ARM document at `path`, through `client`'s azure-mgmt-core pipeline (send_json): a GET
    needs no SDK model, and importing the resource provider's SDK for one GET costs more than the
    request. Raises HttpResponseError."""
    return send_json(client, "GET", path, params={"api-version": api_version})


def _next_link_params(link, api_version):
    """The api-version to add to a nextLink that has none (ARM's links usually carry it)."""
    from urllib.parse import parse_qsl, urlsplit
    try:
        query = parse_qsl(urlsplit(link).query, keep_blank_values=True)
    except ValueError:
        return None
    return None if any(key.lower() == "api-version" for key, _ in query) else {"api-version": api_version}


def list_documents(client, path, api_version, read, seconds):
    """Every item of the ARM list at `path` (raw documents), page after page through its nextLinks
    (adapters.paging: a repeated link and the bounds end it; TrustedHostPolicy refuses a link to another
    host). A page that is not `{"value": [objects], "nextLink": URL or absent}` is an error. Raises
    HttpResponseError for a refused page and paging.PagingError."""
    from azext_stack_hci_verify.adapters import paging
    listing = paging.Listing("ARM", _lower_first(read.what), "nextLink", "items", seconds)
    items, done = [], [0]

    def fetch(link):
        params = {"api-version": api_version} if link is None else _next_link_params(link, api_version)
        page = send_json(client, "GET", link or path, params=params)
        problem = _list_page_problem(page)
        if problem:
            raise paging.wrong_shape(listing, problem, done[0], len(items))
        return page

    for page in paging.each_page(fetch, lambda page: page.get("nextLink") or None,
                                 lambda page: len(page["value"]), listing):
        done[0] += 1
        items.extend(page["value"])
    return items


def _list_page_problem(page):
    """What is wrong with a page of an ARM list, or None."""
    if not isinstance(page, dict):
        return "a page is not a JSON object"
    value = page.get("value")
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        return "a page's value is not a list of objects"
    link = page.get("nextLink")
    if link is not None and not isinstance(link, str):
        return "a page's nextLink is not a URL"
    return None


def get_cluster(conn, subscription_id, resource_group, name):
    """The cluster's ARM document, through `conn` (the command's connection: one token, one client)."""
    from urllib.parse import quote
    path = (f'/subscriptions/{quote(subscription_id, safe="")}/resourceGroups/{quote(resource_group, safe="")}'
            f'/providers/{CLUSTER_TYPE}/{quote(name, safe="")}')
    read = ArmRead(
        f"Cluster '{name}' in resource group '{resource_group}'",
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/{CLUSTER_TYPE}/{name}",
        PERMISSION_CLUSTERS,
        f"List the clusters you can see with `az stack-hci vm-verification list -g {resource_group}`.",
        conn.timeout)
    try:
        return get_document(conn.resourcegraph(), path, CLUSTER_API_VERSION)
    except ARM_ERRORS as ex:
        raise ClusterReadError(read_failure(ex, read)) from ex


def get_machine(conn, machine_id):
    """An Arc machine's ARM document; raises the errors.VerificationError of a read that fails."""
    from urllib.parse import quote
    parts = machine_id.strip("/").split("/")
    path = "/" + "/".join(quote(part, safe="") for part in parts)
    read = ArmRead(f"Arc machine '{parts[-1]}'", machine_id, PERMISSION_MACHINES,
                   "Check the ID with `az connectedmachine list`.", conn.timeout)
    try:
        return get_document(conn.resourcegraph(), path, MACHINES_API_VERSION)
    except ARM_ERRORS as ex:
        raise translate_error(ex, read) from ex


def read_cluster(conn, subscription_id, resource_group, name):
    """(document, None), or (None, ReadFailure) when the cluster could not be read."""
    try:
        return get_cluster(conn, subscription_id, resource_group, name), None
    except ClusterReadError as ex:
        return None, ex.failure


def list_clusters(conn, subscription_id, resource_group=None):
    """Every cluster of the subscription or resource group (raw documents), following nextLink to the
    last page, through the command's one client (conn.resourcegraph()'s pipeline)."""
    from urllib.parse import quote
    scope = f"/subscriptions/{quote(subscription_id, safe='')}"
    if resource_group:
        scope += f"/resourceGroups/{quote(resource_group, safe='')}"
        read = ArmRead(f"The clusters of resource group '{resource_group}'",
                       f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}",
                       PERMISSION_CLUSTERS, "Check the name with `az group list`.", conn.timeout)
    else:
        read = ArmRead(f"The clusters of subscription '{subscription_id}'",
                       f"/subscriptions/{subscription_id}", PERMISSION_CLUSTERS,
                       "Check the subscription with `az account list`.", conn.timeout)
    try:
        return list_documents(conn.resourcegraph(), f"{scope}/providers/{CLUSTER_TYPE}",
                              CLUSTER_API_VERSION, read, LIST_TIMEOUT_FACTOR * conn.timeout)
    except ARM_ERRORS as ex:
        raise translate_error(ex, read) from ex


def read_cluster_vms(conn, cluster, machines=None):
    """The cluster's Azure Local VMs: Arc machines of kind HCI whose parentClusterResourceId is the
    cluster, each with its virtualMachineInstances/default. One paged list of the subscription's
    machines, then the instances concurrently (bounded). A list that cannot be read gives no VMs and
    a failure; an instance that cannot be read is reported on its VM (ArmVm.error) and counted in a
    failure; the others still come back. `machines`: the subscription's machines (list_machines), when
    already read for another cluster of it."""
    if machines is None:
        machines = list_machines(conn, cluster.subscription_id)
    if isinstance(machines, ReadFailure):
        return ClusterVms([], machines_failure=machines)
    servers = [ArmVm(machine, None, None) for machine in machines if is_arc_server(machine, cluster)]
    machines = [machine for machine in machines if is_cluster_vm(machine, cluster)]
    read = read_instances(conn, cluster.subscription_id, machines)
    return read._replace(vms=list(read.vms) + servers) if servers else read


def list_machines(conn, subscription_id):
    """Every Arc machine of the subscription (documents), or the ReadFailure of the list."""
    read = ArmRead(f"The Arc machines of subscription '{subscription_id}'",
                   f"/subscriptions/{subscription_id}", PERMISSION_MACHINES,
                   "Check the subscription with `az account show`.", conn.timeout)
    from urllib.parse import quote
    path = f"/subscriptions/{quote(subscription_id, safe='')}/providers/Microsoft.HybridCompute/machines"
    try:
        return list_documents(conn.resourcegraph(), path, MACHINES_API_VERSION, read,
                              LIST_TIMEOUT_FACTOR * conn.timeout)
    except ARM_ERRORS as ex:
        return read_failure(ex, read)


def read_instances(conn, subscription_id, machines, known=None):
    """The Azure Local VMs of these Arc machines: each machine with its virtualMachineInstances/default,
    read concurrently (bounded) with one client, except where `known` ({lower machine id: instance})
    already has it. An instance that cannot be read is reported on its VM and counted in a failure."""
    from concurrent.futures import ThreadPoolExecutor
    known = known or {}
    if not machines:
        return ClusterVms([])
    del subscription_id         # the machines' IDs name it
    timeout = conn.timeout
    missing = [machine for machine in machines if machine["id"].lower() not in known]
    failed = []

    def read_instance(machine):
        if machine["id"].lower() in known:
            return ArmVm(machine, known[machine["id"].lower()], None)
        try:
            return ArmVm(machine, get_document(conn.resourcegraph(), machine["id"] + INSTANCE_SUFFIX,
                                               INSTANCES_API_VERSION), None)
        except ARM_ERRORS as ex:
            instance_read = ArmRead(
                f"The Azure Local VM instance of '{machine.get('name')}'",
                f"{machine['id']}/providers/Microsoft.AzureStackHCI/virtualMachineInstances/default",
                PERMISSION_INSTANCES, timeout=timeout)
            failure = read_failure(ex, instance_read)
            failed.append(failure)
            return ArmVm(machine, None, _instance_error(failure))

    if len(missing) <= 1:
        vms = [read_instance(machine) for machine in machines]
    else:
        with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENT_READS, len(missing))) as pool:
            vms = list(pool.map(read_instance, machines))
    return ClusterVms(vms, instances_failure=_instances_failure(failed, len(vms)) if failed else None)


def _instance_error(failure):
    """One VM's instance error, short: it goes into that VM's reason."""
    message = failure.reason.rstrip(".")
    return message[0].lower() + message[1:] if message else message


def _instances_failure(failed, total):
    """One failure for every instance read that failed: how many, and the first one's cause. When
    each was a 403 for the same identity, the grant is on the scope they share."""
    first = failed[0]
    error = first.error.__class__(
        f"{len(failed)} of {total} Azure Local VM instances (virtualMachineInstances/default) could not be read; their "
        f"verdicts rest on the Arc machine and host facts only. First: {first.reason}",
        recommendation=first.recommendation or None)
    grants = [failure.grant for failure in failed]
    assignees = {grant[0] for grant in grants if grant}
    if None in grants or len(assignees) != 1:
        return ReadFailure(error)
    return ReadFailure(error, (assignees.pop(), _common_scope([grant[1] for grant in grants])))


def _common_scope(scopes):
    """The narrowest of resource group, subscription or root that holds every scope."""
    if len({scope.lower() for scope in scopes}) == 1:
        return scopes[0]
    parts = [scope.split("/") for scope in scopes]
    common = 0
    for segments in zip(*parts):
        if len({segment.lower() for segment in segments}) != 1:
            break
        common += 1
    length = next((length for length in (5, 3) if common >= length), 1)   # /subscriptions/s/resourceGroups/g
    return "/".join(parts[0][:length]) or "/"


def _grant_command(assignee, scope):
    return f"az role assignment create --assignee {assignee} --role Reader --scope {shlex.quote(scope)}"


def read_failure(ex, read):
    """An SDK error as a ReadFailure: the errors.VerificationError and, for a 403, the grant that fixes it."""
    problem = _describe(ex, read)
    return ReadFailure(_as_error(problem), problem.grant)


def translate_error(ex, read):
    """An azure-core error (an ARM answer, or no answer) as an errors.VerificationError: one line saying what could
    not be read and why, and the fix in its recommendation."""
    return _as_error(_describe(ex, read))


_ERRORS = {"ResourceNotFoundError": errors.NotFoundError, "ForbiddenError": errors.PermissionDeniedError,
           "UnauthorizedError": errors.AuthenticationError, "AzureResponseError": errors.ServiceError,
           "AzureConnectionError": errors.NoAnswerError, "ThrottledError": errors.ThrottledError}


def _as_error(problem):
    return _ERRORS[problem.kind](problem.message, recommendation=problem.recommendation, **(problem.detail or {}))


def _describe(ex, read):
    if not isinstance(ex, HttpResponseError):       # no answer: refused, reset, timed out
        return _no_answer(ex, read)
    status = getattr(ex, "status_code", None)
    code = _error_code(ex) or str(status or "no status")
    if status == 403:
        return _forbidden(ex, read, code)
    if status == 404:
        return _Problem("ResourceNotFoundError", f"{read.what} was not found ({code}).", read.if_missing)
    if status == 401:
        return _Problem("UnauthorizedError", f"{read.service} rejected the credentials reading "
                                             f"{_lower_first(read.what)} ({code}).", "Run `az login` again.")
    if status == 429:
        return _throttled(ex, read)
    return _Problem("AzureResponseError",
                    f"{read.service} answered {_status_text(ex)} reading {_lower_first(read.what)}: {_detail(ex)}",
                    f"This is an error of {read.service} or a gateway on the way, not of your resources; run the "
                    "command again later.")


def _no_answer(ex, read):
    patience = _patience(read)
    cause = "timed out" if "timeout" in type(ex).__name__.lower() or "timed out" in str(ex).lower() else \
        _first_line(str(ex)) or type(ex).__name__
    return _Problem(
        "AzureConnectionError",
        f"{read.service} gave no answer reading {_lower_first(read.what)} within {patience} ({cause}).",
        f"Check the network path to ARM and run the command again; to wait longer, set {ARM_TIMEOUT_ENV} or `az config "
        f"set {ARM_TIMEOUT_SECTION}.{ARM_TIMEOUT_OPTION}=SECONDS`.")


def _throttled(ex, read):
    retry_after = _retry_after(ex)
    if retry_after is not None:
        message = (f"{read.service} throttled reading {_lower_first(read.what)} and asked to wait "
                   f"{_seconds(retry_after)} (Retry-After); this command waits at "
                   f"most {_patience(read)} for one request.")
        wait = f"Run the command again in {_seconds(retry_after)}"
    else:
        message = (f"{read.service} kept throttling reading {_lower_first(read.what)} ({_error_code(ex) or 429}): "
                   f"{_detail(ex)}")
        wait = "Run the command again later"
    return _Problem("ThrottledError", message,
                    f"{wait}, or let it wait longer with {ARM_TIMEOUT_ENV} or `az config set "
                    f"{ARM_TIMEOUT_SECTION}.{ARM_TIMEOUT_OPTION}=SECONDS`.",
                    detail={"retry_after": retry_after})


_DENIED = re.compile(r"perform action '(?P<action>[^']+)' over scope '(?P<scope>[^']+)'", re.IGNORECASE)
_OBJECT_ID = re.compile(r"object id '(?P<id>[0-9A-Fa-f-]{36})'", re.IGNORECASE)


def _forbidden(ex, read, code):
    """The permission ARM says is missing (else the one the read needs), the scope, and the role
    assignment that grants it."""
    text = _error_message(ex) or ""
    denied = _DENIED.search(text)
    permission = denied.group("action") if denied else read.permission
    scope = denied.group("scope") if denied else read.scope
    object_id = _OBJECT_ID.search(text)
    grant = (object_id.group("id") if object_id else "<object-id>", scope)
    return _Problem(
        "ForbiddenError",
        f"Access denied reading {_lower_first(read.what)}: the signed-in identity lacks '{permission}' on scope "
        f"'{scope}' ({code}).",
        f"Ask an owner of the scope for a role with {permission} (for example Reader): `{_grant_command(*grant)}`; or "
        "choose another subscription with --subscription.",
        grant, {"permission": permission})


def _patience(read):
    return f"{read.timeout:g} seconds" if read.timeout is not None else "its timeout"


def _lower_first(text):
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _error_code(ex):
    error = getattr(ex, "error", None)
    return getattr(error, "code", None) if error is not None else None


def _error_message(ex):
    error = getattr(ex, "error", None)
    return getattr(error, "message", None) if error is not None else None


def _status_text(ex):
    status = getattr(ex, "status_code", None)
    reason = getattr(ex, "reason", None)
    return f"{status} {reason}".strip() if reason else str(status or "an error")


def _detail(ex):
    """ARM's error message; for a body that is not an ARM error (a gateway's HTML page) its first
    line of text, never a JSON parser's complaint."""
    message = _error_message(ex) if _error_code(ex) else None
    if message:
        return _clip(_first_line(message))
    text = _body_text(getattr(ex, "response", None))
    line = _first_line(re.sub(r"<[^>]*>", " ", text)) if text else ""
    return _clip(line) if line else "an empty answer"


def _body_text(response):
    if response is None:
        return ""
    try:
        return response.text()
    except (ValueError, TypeError, AttributeError):
        return ""


def _first_line(text):
    for line in text.splitlines():
        line = " ".join(line.split())
        if line:
            return line
    return ""


def _clip(text):
    return text if len(text) <= _MAX_DETAIL else text[:_MAX_DETAIL - 3] + "..."


def _retry_after(ex):
    """The seconds the answer's Retry-After asked for (a number or an HTTP date), or None."""
    from azext_stack_hci_verify.adapters.arm_pipeline import retry_after_seconds
    response = getattr(ex, "response", None)
    return retry_after_seconds(getattr(response, "headers", None) or {})


def _seconds(seconds):
    """'2.5 seconds', '120 seconds', '3600 seconds' (an HTTP date's wait is rounded to the second)."""
    return f"{seconds:g} seconds" if seconds < 10 else f"{seconds:.0f} seconds"
