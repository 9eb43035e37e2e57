# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Azure Resource Graph reads: the clusters of a fleet and the Azure Local VMs of one cluster or of a
fleet, each in one query paged by `$skipToken` (1,000 rows a page; the query itself has no `limit` or
`take`, which would end paging). Rows come back as ARM documents (`properties` nested; `type` and
`resourceGroup` lower case, as Resource Graph writes them), so the core reads them as it reads ARM.

A subscription or management group that refuses the query is reported (ScopeFailure) and the query
runs again without it; a truncated result is an error, never a partial answer. A cluster view whose
VMs Resource Graph cannot serve falls back to ARM (`read_cluster_vms`), and says so."""

import re
from typing import List, NamedTuple

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from azext_stack_hci_verify.adapters import arm
from azext_stack_hci_verify.core.benefits import SqlInstance
from azext_stack_hci_verify.core.inventory import ArmVm

PAGE_ROWS = 1000
GRAPH_PATH = "/providers/Microsoft.ResourceGraph/resources"
# The api-version azure-mgmt-resourcegraph (the version pinned in requirements-dev.txt) uses; a unit
# test keeps the two equal. Queries are sent through its client's pipeline and read raw.
GRAPH_API_VERSION = "2021-03-01"
# Subscriptions one query may name.
MAX_SUBSCRIPTIONS = 1000
CLUSTERS = "microsoft.azurestackhci/clusters"
MACHINES = "microsoft.hybridcompute/machines"
INSTANCES = "microsoft.azurestackhci/virtualmachineinstances"
SQL_INSTANCES = "microsoft.azurearcdata/sqlserverinstances"
# Kinds of Arc machine that are not VMs: the cluster's own servers.
SERVER_KIND = "AzureStackHCI"
INSTANCE_SUFFIX = "/providers/Microsoft.AzureStackHCI/virtualMachineInstances/default"
PERMISSION_GRAPH = "Microsoft.ResourceGraph/resources/read"
SOURCE_GRAPH, SOURCE_ARM = "resourceGraph", "arm"
# Resource Graph answers after which ARM is asked instead: the query or the type is not served there
# (400, 404, 501) or the caller may not use it (403). Throttling and outages are errors to report.
FALLBACK_STATUSES = (400, 403, 404, 501)
# What a Resource Graph request raises: an answer it does not like, or no answer.
GRAPH_ERRORS = (HttpResponseError, ServiceRequestError, ServiceResponseError)

_CLUSTER_COLUMNS = "id, name, type, kind, location, resourceGroup, subscriptionId, tags, properties"
_MACHINE_COLUMNS = "id, name, type, kind, location, resourceGroup, subscriptionId, tags, identity, properties"
_INSTANCE_COLUMNS = (("instanceId", "id"), ("instanceName", "name"), ("instanceType", "type"),
                     ("instanceProperties", "properties"), ("instanceExtendedLocation", "extendedLocation"))
# The Arc-enabled SQL Server instances on a machine (its containerResourceId): one row per instance.
_SQL_COLUMNS = (("sqlId", "id"), ("sqlInstanceName", "properties.instanceName"), ("sqlVersion", "properties.version"),
                ("sqlCurrentVersion", "properties.currentVersion"))
_INSTANCE_ALIASES = frozenset(alias for alias, _ in _INSTANCE_COLUMNS) | frozenset(alias for alias, _ in _SQL_COLUMNS)


class ScopeFailure(NamedTuple):
    """A subscription or management group the query could not read, and why (arm.ReadFailure)."""
    scope: str                  # "/subscriptions/<id>" or "/providers/Microsoft.Management/managementGroups/<name>"
    failure: object


class GraphRows(NamedTuple):
    rows: list
    unreadable: List[ScopeFailure]
    requests: int


# ----------------------------------------------------------------------------------- queries

def kql_string(value):
    """A KQL string literal: single quotes, with backslash, quote and line breaks escaped."""
    escaped = str(value).replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return f"'{escaped}'"


def clusters_query(resource_group=None):
    """Every Azure Local cluster in scope (of one resource group, when given), ordered by id (stable pages)."""
    where = f"type =~ {kql_string(CLUSTERS)}"
    if resource_group:
        where += f" and resourceGroup =~ {kql_string(resource_group)}"
    return f"resources | where {where} | project {_CLUSTER_COLUMNS} | order by id asc"


def vms_query(cluster_id=None, cluster_ids=None, cluster_prefix=None):
    """The VMs of one cluster, of the clusters named, of the clusters whose ids start with a prefix (a
    resource group's), or of every cluster in scope: the Arc machines whose parentClusterResourceId
    names a cluster, other than its servers (kind AzureStackHCI; a server of another kind is told by its
    id later): Azure Local VMs (kind HCI) and Arc-enabled servers on the cluster. Each is joined with its
    virtualMachineInstances/default (null columns when there is none) and with the Arc-enabled SQL
    Server instances on it (Microsoft.AzureArcData/sqlServerInstances by containerResourceId: one row
    per instance, null columns when none)."""
    where = f"type =~ {kql_string(MACHINES)} and kind !~ {kql_string(SERVER_KIND)}"
    parent = "tostring(properties.parentClusterResourceId)"
    if cluster_id:
        where += f" and {parent} =~ {kql_string(cluster_id)}"
    elif cluster_ids:
        where += f" and {parent} in~ ({', '.join((kql_string(item) for item in cluster_ids))})"
    elif cluster_prefix:
        where += f" and {parent} startswith {kql_string(cluster_prefix)}"
    else:
        where += " and isnotempty(tostring(properties.parentClusterResourceId))"
    instance_columns = ", ".join(f"{alias} = {column}" for alias, column in _INSTANCE_COLUMNS)
    sql_columns = ", ".join(f"{alias} = {column}" for alias, column in _SQL_COLUMNS)
    aliases = ", ".join(alias for alias, _ in _INSTANCE_COLUMNS + _SQL_COLUMNS)
    return (
        f"resources | where {where}"
        f" | extend instanceKey = tolower(strcat(id, {kql_string(INSTANCE_SUFFIX)})), sqlKey = tolower(id)"
        f" | join kind=leftouter (resources | where type =~ {kql_string(INSTANCES)}"
        f" | project instanceKey = tolower(id), {instance_columns}) on instanceKey"
        f" | join kind=leftouter (resources | where type =~ {kql_string(SQL_INSTANCES)}"
        f" | project sqlKey = tolower(tostring(properties.containerResourceId)), {sql_columns}) on sqlKey"
        f" | project {_MACHINE_COLUMNS}, {aliases} | order by id asc")


# ----------------------------------------------------------------------------------- rows

def vm_from_row(row):
    """ArmVm from a row of vms_query: the machine as ARM returns it, and its instance (None when the
    row has none). None for a row that names no machine."""
    if not isinstance(row, dict) or not isinstance(row.get("id"), str) or not row["id"]:
        return None
    machine = {key: value for key, value in row.items() if key not in _INSTANCE_ALIASES}
    instance = None
    if isinstance(row.get("instanceId"), str) and row["instanceId"]:
        instance = {column: row.get(alias) for alias, column in _INSTANCE_COLUMNS}
    sql = ()
    if isinstance(row.get("sqlId"), str) and row["sqlId"]:
        sql = (SqlInstance(row["sqlId"], _text(row.get("sqlInstanceName")), _text(row.get("sqlVersion")),
                           _text(row.get("sqlCurrentVersion"))),)
    return ArmVm(machine, instance, None, sql)


def _text(value):
    return value if isinstance(value, str) else None


def parent_cluster_key(machine):
    properties = machine.get("properties") if isinstance(machine, dict) else None
    parent = properties.get("parentClusterResourceId") if isinstance(properties, dict) else None
    return parent.lower() if isinstance(parent, str) else None


# ----------------------------------------------------------------------------------- paging

def _body(query, subscriptions, management_groups, skip_token):
    """The query request as Resource Graph reads it (azure-mgmt-resourcegraph's QueryRequest, as JSON)."""
    options = {"$top": PAGE_ROWS, "resultFormat": "objectArray", "allowPartialScopes": False}
    if skip_token:
        options["$skipToken"] = skip_token
    body = {"query": query, "options": options}
    if subscriptions:
        body["subscriptions"] = list(subscriptions)
    if management_groups:
        body["managementGroups"] = list(management_groups)
    return body


def _is_truncated(value):
    return str(value).lower() == "true" if value is not None else False


def _truncated_error(what):
    from azext_stack_hci_verify.errors import MalformedAnswerError
    return MalformedAnswerError(
        f"Resource Graph truncated its answer for {what} (resultTruncated); a partial fleet is not reported.",
        recommendation="Narrow the scope with --subscriptions, or run the command again later.")


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _kind(value):
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def answer_problem(answer):  # pylint: disable=too-many-return-statements
    """What is wrong with the shape of one Resource Graph answer (objectArray), or None: `data` a list
    of objects, `count` the number of them, `totalRecords` a count, `$skipToken` a string or absent."""
    if not isinstance(answer, dict):
        return f"the answer is {_kind(answer)}, not an object"
    if "data" not in answer:
        return "the answer has no data"
    data = answer["data"]
    if not isinstance(data, list):
        return f"its data is {_kind(data)}, not a list of rows"
    odd = [row for row in data if not isinstance(row, dict)]
    if odd:
        return f"its data holds {_kind(odd[0])} where a row should be"
    if not _is_count(answer.get("count")) or answer["count"] != len(data):
        return f"its count ({answer.get('count')}) is not the {len(data)} rows it holds"
    if not _is_count(answer.get("totalRecords")):
        return f"its totalRecords ({answer.get('totalRecords')}) is not a number of rows"
    token = answer.get("$skipToken")
    if token is not None and not isinstance(token, str):
        return f"its $skipToken is {_kind(token)}, not a string"
    return None


def _page_problem(answer, before):
    """What is wrong with a well-shaped answer given the `before` rows of the pages before it, or None."""
    data, total, token = answer["data"], answer["totalRecords"], answer.get("$skipToken")
    if before + len(data) > total:
        return f"it sent more rows than its totalRecords ({total:,})"
    if token and not data:
        return "it sent an empty page with a $skipToken"
    if token and before + len(data) >= total:
        return f"it sent a $skipToken after the last of its totalRecords ({total:,}) rows"
    if not token and before + len(data) != total:
        return f"its pages ended at {before + len(data):,} of its totalRecords ({total:,}) rows"
    return None


def share_strings(rows):
    """The rows with each string value that repeats among them held once (in place): a page of Resource
    Graph rows repeats types, states, locations, scopes, parent IDs and each VM's name four times, and a
    fleet holds 100,000 of them. Returns the rows."""
    memo = {}

    def share(value):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(item, str):
                value[key] = memo.setdefault(item, item)
            elif isinstance(item, (dict, list)):
                share(item)
    share(rows)
    return rows


def _list_seconds(client):
    from azext_stack_hci_verify._client_factory import DEFAULT_ARM_TIMEOUT, LIST_TIMEOUT_FACTOR
    return getattr(client, "stack_hci_verify_list_seconds", None) or LIST_TIMEOUT_FACTOR * DEFAULT_ARM_TIMEOUT


def query_pages(client, query, *, subscriptions=None, management_groups=None, on_page=None, what="the query"):
    """Every row of the query, page after page (`$skipToken`, adapters.paging: a repeated token and the
    bounds end it), each answer read raw (no SDK model) and checked: the wrong shape (answer_problem),
    more rows than `totalRecords`, a `$skipToken` on an empty page or after the last row, or an end before
    `totalRecords` rows is an error, never a partial answer. (rows, requests). `on_page(rows so far,
    total)` after each page. Raises the SDK's error for a refused request and an azclierror otherwise."""
    from azext_stack_hci_verify.adapters import paging
    listing = paging.Listing("Resource Graph", what, "$skipToken", "rows", _list_seconds(client))
    rows, done = [], [0]

    def fetch(token):
        answer = arm.send_json(client, "POST", GRAPH_PATH, params={"api-version": GRAPH_API_VERSION},
                               body=_body(query, subscriptions, management_groups, token))
        if isinstance(answer, dict) and _is_truncated(answer.get("resultTruncated")):
            raise _truncated_error(what)
        problem = answer_problem(answer)
        if problem:
            raise paging.wrong_shape(listing, problem, done[0], len(rows))
        return answer

    for answer in paging.each_page(fetch, lambda answer: answer.get("$skipToken") or None,
                                   lambda answer: len(answer["data"]), listing):
        problem = _page_problem(answer, len(rows))
        if problem:
            raise paging.wrong_shape(listing, problem, done[0], len(rows))
        done[0] += 1
        rows.extend(share_strings(answer["data"]))
        if on_page:
            on_page(len(rows), answer["totalRecords"])
    return rows, done[0]


_SCOPE = re.compile(r"scope '(?P<scope>[^']+)'", re.IGNORECASE)


def _denied_scope(ex, scopes):
    """The requested scope that ARM's 403 message names, if any."""
    text = getattr(getattr(ex, "error", None), "message", None) or str(ex)
    for match in _SCOPE.finditer(text):
        named = match.group("scope").rstrip("/").lower()
        for scope in scopes:
            if named == scope.lower() or named.startswith(scope.lower() + "/"):
                return scope
    return None


def _refused_scope(ex, scopes):
    """The scope a 403 refuses: the one its message names, or the only one asked for; else None."""
    if not scopes or not isinstance(ex, HttpResponseError) or getattr(ex, "status_code", None) != 403:
        return None
    return _denied_scope(ex, scopes) or (scopes[0] if len(scopes) == 1 else None)


def _scope_of(subscription=None, management_group=None):
    if subscription:
        return f"/subscriptions/{subscription}"
    return f"/providers/Microsoft.Management/managementGroups/{management_group}"


def graph_read(what, client=None):
    """A Resource Graph query as arm.translate_error names it."""
    return arm.ArmRead(what, "/", PERMISSION_GRAPH, timeout=getattr(client, "stack_hci_verify_arm_timeout", None),
                       service="Resource Graph")


def _scope_failure(ex, scope):
    read = arm.ArmRead(f"Resource Graph's view of '{scope}'", scope, PERMISSION_GRAPH,
                       "Check the scope with `az account list` or `az account management-group list`.")
    return ScopeFailure(scope, arm.read_failure(ex, read))


def query_scoped(client, query, *, subscriptions=None, management_groups=None, on_page=None, what="the query"):
    """query_pages over subscriptions or management groups; a scope that refuses (403) is taken out,
    reported in `unreadable`, and the query runs again over the others. GraphRows. Any other failure
    is an azclierror that says what Resource Graph answered (arm.translate_error)."""
    by_scope = {_scope_of(subscription=s): ("s", s) for s in subscriptions or []}
    by_scope.update({_scope_of(management_group=g): ("g", g) for g in management_groups or []})
    unreadable, requests = [], 0
    while True:
        subs = [value for kind, value in by_scope.values() if kind == "s"]
        groups = [value for kind, value in by_scope.values() if kind == "g"]
        try:
            rows, used = _query_chunked(client, query, subs, groups, on_page, what=what)
            return GraphRows(rows, unreadable, requests + used)
        except arm.ARM_ERRORS as ex:
            requests += 1
            scope = _refused_scope(ex, list(by_scope))
            if scope is None:
                raise arm.translate_error(ex, graph_read(what, client)) from ex
            unreadable.append(_scope_failure(ex, scope))
            del by_scope[scope]
            if not by_scope:
                return GraphRows([], unreadable, requests)


def _query_chunked(client, query, subscriptions, groups, on_page, *, what):
    """Subscriptions in chunks of MAX_SUBSCRIPTIONS (a query may name no more)."""
    if groups or len(subscriptions) <= MAX_SUBSCRIPTIONS:
        return query_pages(client, query, subscriptions=subscriptions or None, management_groups=groups or None,
                           on_page=on_page, what=what)
    rows, requests = [], 0
    for start in range(0, len(subscriptions), MAX_SUBSCRIPTIONS):
        chunk_rows, used = query_pages(client, query, subscriptions=subscriptions[start:start + MAX_SUBSCRIPTIONS],
                                       management_groups=None,
                                       on_page=on_page, what=what)
        rows.extend(chunk_rows)
        requests += used
    return rows, requests


# ----------------------------------------------------------------------------------- a cluster's VMs

def should_fall_back(ex):
    """True when ARM should be asked because Resource Graph cannot serve: it refused (403), does not
    know the query or type (400, 404, 501), or is not reachable. False for throttling and outages."""
    if isinstance(ex, ServiceRequestError):
        return True
    return isinstance(ex, HttpResponseError) and getattr(ex, "status_code", None) in FALLBACK_STATUSES


def fallback_reason(ex, what="the cluster's VMs"):
    """Why ARM was asked instead of Resource Graph."""
    status = getattr(ex, "status_code", None)
    code = getattr(getattr(ex, "error", None), "code", None)
    cause = " ".join(str(part) for part in (status, code) if part) or type(ex).__name__
    return f"Resource Graph could not serve {what} ({cause}); they were read from ARM."


def graph_error(ex, what, timeout=None):
    """A Resource Graph error that is not a reason to ask ARM (throttling, an outage) as the error to raise."""
    return arm.translate_error(ex, arm.ArmRead(what, "/", PERMISSION_GRAPH, timeout=timeout,
                                               service="Resource Graph"))
