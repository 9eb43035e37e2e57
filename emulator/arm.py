"""The ARM and Resource Graph surface, independent of HTTP plumbing.

:class:`ArmApi` turns ``(method, path, query, body)`` into a :class:`Reply`; ``server.py``
does the sockets, TLS, auth, faults and logging around it. Everything here is served from a
:class:`~emulator.store.ResourceStore` and is read-only, except nothing: ARM writes are not
emulated (they answer 405).

Routes (paths are matched case-insensitively; any ``api-version`` is accepted):

====================================================================  ==========================
``GET /subscriptions`` and ``/subscriptions/{s}``                      subscriptions
``GET /tenants``                                                       the one tenant
``GET /subscriptions/{s}/resourcegroups[/{rg}]``                       resource groups
``GET /subscriptions/{s}/providers[/{Namespace}]``                     provider registrations
``GET /subscriptions/{s}[/resourceGroups/{rg}]/resources?$filter=``    generic resource list
``GET {scope}/providers/{Namespace}/{type}``                           list by type (sub or RG)
``GET {resourceId}/{childType}``, ``{resourceId}/providers/{NS}/{t}``  child / extension lists
``GET {resourceId}``                                                   one resource
``HEAD`` on any of the above                                           204, or the GET's error
``POST /providers/Microsoft.ResourceGraph/resources``                  Resource Graph query
====================================================================  ==========================

Lists are paged: ``{"value": [...], "nextLink": "<absolute url with $skipToken>"}``, the last
page without ``nextLink``.
"""

import base64
import collections
import itertools
import json
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from . import armid, resourcegraph

# The identity the token endpoint issues tokens for; shown in AuthorizationFailed messages.
PRINCIPAL_OBJECT_ID = "d2b7e4a1-3c5f-4e8a-9b6d-7f1e0a2c4b58"
PRINCIPAL_APP_ID = "e8c1a5f3-7b2d-4f9e-8a6c-3d5b7f9e1a24"

NOT_FOUND_HELP = "For more details please go to https://aka.ms/ARMResourceNotFoundFix"

# Provider registrations: resource types ARM would list for these namespaces even when the
# fixtures hold none of them, with api-versions that az resource commands can choose from.
# The emulator accepts any api-version; these only have to look plausible.
KNOWN_PROVIDERS = {
    "microsoft.azurestackhci": ("Microsoft.AzureStackHCI", {
        "clusters": ["2026-10-01", "2025-10-01", "2025-09-15-preview", "2024-04-01", "2024-01-01",
                     "2023-08-01"],
        "clusters/arcSettings": ["2025-10-01", "2024-04-01", "2024-01-01", "2023-08-01"],
        "clusters/arcSettings/extensions": ["2025-10-01", "2024-04-01", "2024-01-01"],
        "clusters/updates": ["2025-10-01", "2024-04-01"],
        "virtualMachineInstances": ["2025-06-01-preview", "2025-04-01-preview",
                                    "2024-01-01", "2023-09-01-preview"],
        "virtualMachineInstances/guestAgents": ["2025-06-01-preview", "2024-01-01"],
        "virtualMachineInstances/hybridIdentityMetadata": ["2024-01-01"],
        "virtualMachineInstances/attestationStatus": ["2025-06-01-preview",
                                                      "2024-10-01-preview"],
    }),
    "microsoft.hybridcompute": ("Microsoft.HybridCompute", {
        "machines": ["2025-01-13", "2024-07-10", "2024-05-20-preview", "2022-12-27"],
        "machines/extensions": ["2025-01-13", "2024-07-10", "2022-12-27"],
        "machines/runCommands": ["2026-07-15", "2025-01-13", "2024-07-10"],
    }),
}
DEFAULT_API_VERSIONS = ["2024-01-01", "2023-01-01"]


@dataclass
class Reply:
    status: int
    body: Any  # JSON-serialisable
    headers: dict = field(default_factory=dict)


class ArmError(Exception):
    """An ARM error response: ``{"error": {"code": ..., "message": ...}}``."""

    def __init__(self, status, code, message, headers=None, details=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.details = details

    def reply(self):
        error = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return Reply(self.status, {"error": error}, dict(self.headers))


# -- error bodies shared with fault injection --------------------------------------------


def resource_not_found(path):
    """ARM's 404 for a missing resource at ``path``."""
    parsed = armid.parse(path)
    scope = armid.scope_of(path)
    if parsed is None or parsed.kind != "resource":
        return ArmError(404, "NotFound", f"The requested resource '{path}' was not found.")
    parts = armid.segments(path)
    last_providers = max(i for i, p in enumerate(parts) if p.lower() == "providers")
    described = "/".join(parts[last_providers + 1:])
    where = (f"under resource group '{scope.resource_group}'" if scope.resource_group
             else f"under subscription '{scope.subscription_id}'")
    return ArmError(404, "ResourceNotFound",
                    f"The Resource '{described}' {where} was not found. {NOT_FOUND_HELP}")


def authorization_failed(method, path):
    """ARM's 403 AuthorizationFailed for ``method`` on ``path``."""
    action = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write",
              "DELETE": "delete"}.get(method.upper(), "action")
    parsed = armid.parse(path)
    scope = path
    lowered = [p.lower() for p in armid.segments(path)]
    if lowered[:3] == ["providers", "microsoft.resourcegraph", "resources"]:
        operation = "Microsoft.ResourceGraph/resources/read"
        scope = "/"
    elif parsed is not None and parsed.kind in ("resource", "collection"):
        operation = f"{parsed.type}/{action}"
        if parsed.kind == "collection":
            scope = parsed.parent
    elif len(lowered) >= 4 and lowered[2] == "resourcegroups":
        operation = f"Microsoft.Resources/subscriptions/resourceGroups/{action}"
    else:
        operation = f"Microsoft.Resources/subscriptions/{action}"
    return ArmError(
        403, "AuthorizationFailed",
        f"The client '{PRINCIPAL_OBJECT_ID}' with object id '{PRINCIPAL_OBJECT_ID}' does not "
        f"have authorization to perform action '{operation}' over scope '{scope}' or the scope "
        "is invalid. If access was recently granted, please refresh your credentials.")


def fault_error(status, method, path, retry_after=None):
    """The default ARM error body for an injected fault of ``status``."""
    scope = armid.scope_of(path)
    if status == 403:
        return authorization_failed(method, path)
    if status == 404:
        return resource_not_found(path)
    if status == 429:
        wait = retry_after if retry_after is not None else 1
        return ArmError(429, "SubscriptionRequestsThrottled",
                        f"Number of 'read' requests for subscription '{scope.subscription_id}' "
                        f"actor '{PRINCIPAL_OBJECT_ID}' exceeded. Please try again after "
                        f"'{wait}' seconds after additional tries.")
    if status == 503:
        return ArmError(503, "ServiceUnavailable",
                        "The service is temporarily unavailable. Please retry the request.")
    if status == 500:
        return ArmError(500, "InternalServerError",
                        "Encountered internal server error. (injected by the emulator)")
    return ArmError(status, "EmulatedFault", f"Injected fault: HTTP {status} for {path}.")


# -- paging --------------------------------------------------------------------------------


def encode_skip_token(offset):
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def decode_skip_token(token):
    try:
        padded = token + "=" * (-len(token) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
        kind, _, number = text.partition(":")
        if kind != "offset" or not number.isdigit():
            raise ValueError(token)
        return int(number)
    except (ValueError, UnicodeDecodeError):
        raise ArmError(400, "InvalidSkipToken",
                       f"The skip token '{token}' is not valid for this request.") from None


def encode_graph_token(result_id, offset):
    """A Resource Graph ``$skipToken``: the kept result it continues and the offset there."""
    return base64.urlsafe_b64encode(f"graph:{result_id}:{offset}".encode()).decode().rstrip("=")


def decode_graph_token(token):
    """(result id, offset) of a Resource Graph token; (None, offset) of an ARM-style one."""
    try:
        text = base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode()).decode()
        kind, _, rest = text.partition(":")
        if kind == "graph":
            result_id, _, offset = rest.partition(":")
            if result_id.isdigit() and offset.isdigit():
                return int(result_id), int(offset)
    except (ValueError, UnicodeDecodeError, TypeError, AttributeError):
        pass
    if not isinstance(token, str):
        raise ArmError(400, "InvalidSkipToken", f"The skip token '{token}' is not valid for this request.")
    return None, decode_skip_token(token)


def query_value(query, name):
    """Last value of a query parameter, matched case-insensitively (``$skipToken``/``$skiptoken``)."""
    wanted = name.lower()
    found = None
    for key, value in query:
        if key.lower() == wanted:
            found = value
    return found


# -- generic resource list $filter ------------------------------------------------------

_FILTER_CLAUSE = re.compile(r"^\s*(\w+)\s+eq\s+'([^']*)'\s*$", re.IGNORECASE)
_FILTER_FIELDS = {"resourcetype", "resourcegroup", "name", "location", "tagname", "tagvalue"}


def parse_resource_filter(text):
    """Parse ``$filter`` of the generic resource list: ``field eq 'value'`` joined by ``and``.

    Fields: resourceType, resourceGroup, name, location, tagName, tagValue (case-insensitive).
    """
    if not text:
        return {}
    clauses = {}
    for clause in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = _FILTER_CLAUSE.match(clause)
        if not match or match.group(1).lower() not in _FILTER_FIELDS:
            raise ArmError(400, "InvalidFilterInQueryString",
                           f"The $filter '{text}' could not be parsed. The emulator supports "
                           "\"<field> eq '<value>'\" clauses joined by 'and', with field one of "
                           "resourceType, resourceGroup, name, location, tagName, tagValue.")
        clauses[match.group(1).lower()] = match.group(2)
    return clauses


def _filter_matches(resource, clauses):
    doc = resource.document
    for key, wanted in clauses.items():
        if key == "resourcetype" and resource.type.lower() != wanted.lower():
            return False
        if key == "resourcegroup" and (resource.resource_group or "").lower() != wanted.lower():
            return False
        if key == "name" and str(doc.get("name", "")).lower() != wanted.lower():
            return False
        if key == "location" and str(doc.get("location", "")).lower() != wanted.lower():
            return False
    tags = {str(k).lower(): v for k, v in (doc.get("tags") or {}).items()}
    if "tagname" in clauses:
        if clauses["tagname"].lower() not in tags:
            return False
        if "tagvalue" in clauses and tags[clauses["tagname"].lower()] != clauses["tagvalue"]:
            return False
    return True


def generic_resource(resource, expand=()):
    """The shape ARM's ``/resources`` list returns for one resource (no ``properties``).

    ``expand``: lower-case names from ``$expand``; ``createdTime`` and ``changedTime`` come
    from ``systemData``, ``provisioningState`` from ``properties`` (when the fixture has them).
    """
    doc = resource.document
    item = {"id": resource.id, "name": doc.get("name") or resource.name, "type": resource.type}
    for key in ("kind", "location", "extendedLocation", "managedBy", "sku", "plan",
                "identity", "zones", "tags", "systemData"):
        if doc.get(key) is not None:
            item[key] = doc[key]
    system_data = doc.get("systemData") or {}
    properties = doc.get("properties") or {}
    for name, value in (("createdTime", system_data.get("createdAt")),
                        ("changedTime", system_data.get("lastModifiedAt")),
                        ("provisioningState", properties.get("provisioningState"))):
        if name.lower() in expand and value is not None:
            item[name] = value
    return item


# -- the API ------------------------------------------------------------------------------


#: Resource Graph settings (control API ``POST /_emulator/graph``): subscriptions and management
#: groups whose queries are refused (403), resource types not indexed (their rows are absent, as
#: in a Resource Graph that does not have them), a truncated answer for every query, and the
#: management groups (name -> subscription ids; also ``managementGroups`` in ``_emulator.json``).
GRAPH_DEFAULTS = {"forbiddenSubscriptions": [], "forbiddenManagementGroups": [],
                  "unindexedTypes": [], "truncate": False, "managementGroups": {}}


class ArmApi:
    """Answers ARM and Resource Graph requests from a store.

    ``base_url`` is the emulator's ``https://127.0.0.1:PORT`` (no trailing slash); it is used
    to build absolute ``nextLink`` URLs.
    """

    GRAPH_PAGE_MAX = 1000

    def __init__(self, store, base_url, page_size=100):
        if page_size < 1:
            raise ValueError("page size must be at least 1")
        self.graph = {"forbiddenSubscriptions": set(), "forbiddenManagementGroups": set(),
                      "unindexedTypes": set(), "truncate": False,
                      "managementGroups": dict(getattr(store, "management_groups", None) or {})}
        self.store = store
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.hostile = None             # emulator.hostile.Hostile, when the server has one
        self.runcommands = None         # emulator.runcommands.RunCommands, when the server has one
        self._graph_cache = collections.OrderedDict()  # query results kept for their $skipToken
        self._graph_lock = threading.Lock()
        self._graph_ids = itertools.count(1)

    # ---- entry point

    def handle(self, method, path, query, body):
        """``query`` is a list of ``(name, value)`` pairs; ``body`` the parsed JSON or None."""
        method = method.upper()
        try:
            if method == "HEAD":  # existence checks (az group exists): 204 or the GET's error
                reply = self._route("GET", path, query, body)
                return Reply(204, None, reply.headers) if reply.status == 200 else reply
            return self._route(method, path, query, body)
        except ArmError as error:
            return error.reply()

    def _route(self, method, path, query, body):
        parts = armid.segments(path)
        low = [p.lower() for p in parts]
        if low == ["providers", "microsoft.resourcegraph", "resources"]:
            if method != "POST":
                raise self._method_not_allowed(method, path)
            return self.resource_graph(body)
        if "runcommands" in low[-2:] and self.runcommands is not None:
            return self._run_commands(method, path, parts, low, body)
        if method != "GET":
            raise self._method_not_allowed(method, path)
        if low == ["tenants"]:
            return self._paged(path, query, [self.tenant_document()])
        if not low or low[0] != "subscriptions":
            raise ArmError(404, "NotFound", f"The emulator does not serve '{path}'.")
        if len(low) == 1:
            return self._paged(path, query, [self.subscription_document(sub_id, name)
                                             for sub_id, name in self.store.subscriptions()])
        subscription = self.store.subscription(parts[1])
        if subscription is None:
            raise ArmError(404, "SubscriptionNotFound",
                           f"The subscription '{parts[1]}' could not be found.")
        sub_id = subscription[0]
        if len(low) == 2:
            return Reply(200, self.subscription_document(*subscription))
        if low[2] == "resourcegroups":
            if len(low) == 3:
                return self._paged(path, query, self.store.resource_groups(sub_id))
            group = self.store.resource_group(sub_id, parts[3])
            if group is None:
                raise ArmError(404, "ResourceGroupNotFound",
                               f"Resource group '{parts[3]}' could not be found.")
            if len(low) == 4:
                return Reply(200, group)
            if len(low) == 5 and low[4] == "resources":
                return self.generic_list(group["id"], path, query)
        elif low[2] == "resources" and len(low) == 3:
            return self.generic_list(f"/subscriptions/{sub_id}", path, query)
        elif low[2] == "providers" and len(low) == 3:
            return self._paged(path, query, self.providers(sub_id))
        elif low[2] == "providers" and len(low) == 4:
            return Reply(200, self.provider(sub_id, parts[3]))
        return self.resource_path(path, query)

    def _run_commands(self, method, path, parts, low, body):
        """machines/{m}/runCommands[/{name}]: served by emulator.runcommands."""
        at = len(low) - 1 if low[-1] == "runcommands" else len(low) - 2
        machine_id = "/".join(parts[:at])
        if not machine_id.startswith("/"):
            machine_id = "/" + machine_id
        machine = self.store.get(machine_id)
        if machine is None or low[at - 2:at] != ["machines", machine_id.rsplit("/", 1)[-1].lower()]:
            raise ArmError(404, "ParentResourceNotFound",
                           f"Can not perform requested operation on nested resource. Parent resource "
                           f"'{machine_id.rsplit('/', 1)[-1]}' not found.")
        document = self.runcommands.machine_view(machine.document)
        if at == len(low) - 1:
            if method != "GET":
                raise self._method_not_allowed(method, path)
            return Reply(200, {"value": self.runcommands.list(document["id"])})
        run_id = f"{document['id']}/runCommands/{parts[-1]}"
        if method in ("PUT", "DELETE"):
            wait = self.runcommands.throttled(parts[1] if len(parts) > 1 else "")
            if wait is not None:
                raise ArmError(429, "SubscriptionRequestsThrottled",
                               f"Number of 'write' requests for subscription '{parts[1]}' actor "
                               f"'{PRINCIPAL_OBJECT_ID}' exceeded. Please try again after '{wait:.2f}' seconds.",
                               headers={"Retry-After": f"{max(wait, 0.01):.2f}"})
        if method == "PUT":
            properties = document.get("properties") or {}
            if str(properties.get("status") or "").lower() != "connected":
                raise ArmError(409, "MachineNotConnected",
                               f"The machine '{document.get('name')}' is not connected; run commands need a "
                               "connected machine.")
            status, answer, *headers = self.runcommands.put(document, run_id, parts[-1], body)
            return Reply(status, answer, headers[0] if headers else {})
        if method == "GET":
            answer, headers = self.runcommands.get(run_id)
            if answer is None:
                raise resource_not_found(run_id)
            return Reply(200, answer, headers)
        if method == "DELETE":
            return Reply(200 if self.runcommands.delete(run_id) else 204, None)
        raise self._method_not_allowed(method, path)

    @staticmethod
    def _method_not_allowed(method, path):
        return ArmError(405, "MethodNotAllowed",
                        f"The emulator does not support {method} on '{path}': ARM resources are "
                        "read-only here (use the control API to change fixtures).")

    # ---- documents

    def tenant_document(self):
        tenant = self.store.tenant_id
        return {"id": f"/tenants/{tenant}", "tenantId": tenant, "tenantCategory": "Home",
                "displayName": "Azure Local emulator", "defaultDomain": "emulator.invalid",
                "domains": ["emulator.invalid"], "tenantType": "AAD"}

    def subscription_document(self, subscription_id, display_name):
        return {
            "id": f"/subscriptions/{subscription_id}",
            "authorizationSource": "RoleBased",
            "managedByTenants": [],
            "subscriptionId": subscription_id,
            "tenantId": self.store.tenant_id,
            "displayName": display_name or f"Emulated subscription {subscription_id[:8]}",
            "state": "Enabled",
            "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01",
                                     "quotaId": "PayAsYouGo_2014-09-01",
                                     "spendingLimit": "Off"},
        }

    def providers(self, subscription_id):
        namespaces = {key: None for key in KNOWN_PROVIDERS}
        namespaces.update({key: None for key in self.store.namespaces()})
        return [self.provider(subscription_id, key) for key in sorted(namespaces)]

    def provider(self, subscription_id, namespace):
        key = namespace.lower()
        canonical, known_types = KNOWN_PROVIDERS.get(key, (None, {}))
        from_fixtures = self.store.namespaces().get(key)
        if canonical is None and from_fixtures is None:
            raise ArmError(404, "InvalidResourceNamespace",
                           f"The resource namespace '{namespace}' is invalid.")
        canonical = canonical or from_fixtures["namespace"]
        types = {}  # lower relative type -> [relative type, locations, api versions]
        for relative, versions in known_types.items():
            types[relative.lower()] = [relative, set(), versions]
        for lowered, (relative, locations) in (from_fixtures or {"types": {}})["types"].items():
            entry = types.setdefault(lowered, [relative, set(), DEFAULT_API_VERSIONS])
            entry[1] |= locations
        resource_types = []
        for lowered in sorted(types):
            relative, locations, versions = types[lowered]
            resource_types.append({
                "resourceType": relative,
                "locations": sorted(locations) or ["East US"],
                "apiVersions": list(versions),
                "defaultApiVersion": next((v for v in versions if "preview" not in v),
                                          versions[0]),
                "capabilities": "None",
            })
        return {"id": f"/subscriptions/{subscription_id}/providers/{canonical}",
                "namespace": canonical, "registrationState": "Registered",
                "registrationPolicy": "RegistrationRequired", "resourceTypes": resource_types}

    # ---- lists and resources

    def generic_list(self, scope_id, path, query):
        clauses = parse_resource_filter(query_value(query, "$filter"))
        expand = {part.strip().lower() for part in (query_value(query, "$expand") or "").split(",")}
        rows = [generic_resource(r, expand) for r in self.store.in_scope(scope_id)
                if r.location and _filter_matches(r, clauses)]
        return self._paged(path, query, rows)

    def resource_path(self, path, query):
        parsed = armid.parse(path)
        if parsed is None or parsed.kind == "namespace":
            raise ArmError(404, "NotFound", f"The emulator does not serve '{path}'.")
        scope = armid.scope_of(path)
        if scope.subscription_id is None:
            raise ArmError(404, "NotFound", f"The emulator does not serve '{path}'.")
        if parsed.kind == "resource":
            resource = self.store.get(path)
            if resource is not None:
                if self.runcommands is not None and resource.type_key == "microsoft.hybridcompute/machines":
                    return Reply(200, self.runcommands.machine_view(resource.document))
                return Reply(200, resource.document)
            self._require_parent(parsed)
            raise resource_not_found(path)
        self._require_parent(parsed)
        children = self.store.children(parsed.parent, parsed.type)
        return self._paged(path, query, [r.document for r in children])

    def _require_parent(self, parsed):
        if armid.is_scope(parsed.parent) or self.store.get(parsed.parent) is not None:
            return
        parent = armid.parse(parsed.parent)
        name = parent.name if parent is not None else parsed.parent
        raise ArmError(404, "ParentResourceNotFound",
                       f"Can not perform requested operation on nested resource. Parent "
                       f"resource '{name}' not found.")

    def _link(self, path, query, offset=None):
        """The URL of the list at ``path`` with ``query``; with ``offset``, of its page from there."""
        kept = [(k, v) for k, v in query if k.lower() != "$skiptoken"]
        if offset is not None:
            kept.append(("$skipToken", encode_skip_token(offset)))
        return (self.base_url + urllib.parse.quote(path) + "?"
                + urllib.parse.urlencode(kept, quote_via=urllib.parse.quote))

    def _paged(self, path, query, items):
        token = query_value(query, "$skipToken")
        offset = decode_skip_token(token) if token else 0
        end = offset + self.page_size
        body = {"value": items[offset:end]}
        link = self._link(path, query, end) if end < len(items) else None
        if self.hostile is not None:
            link = self.hostile.next_link(path, link, self._link(path, query, offset if token else None),
                                          self._link(path, query, end))
        if link:
            body["nextLink"] = link
        return Reply(200, body)

    # ---- Resource Graph

    def resource_graph(self, body):
        if not isinstance(body, dict):
            raise self._graph_error("The request body must be a JSON object with a 'query'.")
        try:
            stages = resourcegraph.parse_query(body.get("query"))
        except resourcegraph.QueryError as error:
            raise self._graph_error(f"Unsupported or invalid query: {error}. The emulator "
                                    "supports 'resources | where ... | extend ... | join kind="
                                    "leftouter (...) on key | project ... | order by ... | limit N' "
                                    "(see emulator/resourcegraph.py).") from None
        options = body.get("options") or {}
        top = options.get("$top")
        if top is not None and (not isinstance(top, int) or top < 1):
            raise self._graph_error("options.$top must be a positive integer.")
        page = min(top or self.GRAPH_PAGE_MAX, self.GRAPH_PAGE_MAX)
        token = options.get("$skipToken")
        wanted = self._graph_scope(body)
        settings = self.graph
        signature = json.dumps([body.get("query"), sorted(wanted), sorted(settings["unindexedTypes"])])
        cached, offset = self._graph_cached(token, signature) if token else (None, None)
        if offset is None:
            offset = decode_skip_token(token) if token else int(options.get("$skip") or 0)
        if cached is None:
            tenant = self.store.tenant_id
            rows = [resourcegraph.resource_row(r, tenant) for r in self.store.all()
                    if r.subscription_id.lower() in wanted
                    and r.type_key not in settings["unindexedTypes"]]
            cached = self._graph_keep(signature, resourcegraph.run_query(stages, rows))
        result_id, rows = cached
        chunk = rows[offset:offset + page]
        truncated = settings["truncate"]
        fmt = str(options.get("resultFormat") or "objectArray")
        result = {"totalRecords": len(rows), "count": len(chunk),
                  "data": resourcegraph.to_table(chunk) if fmt.lower() == "table" else chunk,
                  "facets": [], "resultTruncated": "true" if truncated else "false"}
        if offset + page < len(rows) and not truncated:
            result["$skipToken"] = encode_graph_token(result_id, offset + page)
        if self.hostile is not None:
            result.update(_offset=offset, _page=page)
            result = self.hostile.graph_answer(result, lambda at: encode_graph_token(result_id, at))
        return Reply(200, result)

    # A query's result is kept for the pages its $skipToken names, so that each page costs its own
    # rows, not the query again (Resource Graph keeps a query's result for its continuation too).
    GRAPH_CACHE_ENTRIES = 8

    def _graph_keep(self, signature, rows):
        with self._graph_lock:
            result_id = next(self._graph_ids)
            self._graph_cache[result_id] = (signature, rows)
            while len(self._graph_cache) > self.GRAPH_CACHE_ENTRIES:
                self._graph_cache.popitem(last=False)
        return result_id, rows

    def _graph_cached(self, token, signature):
        """((result id, rows), offset) of a token that names a kept result of the same query and
        scope; (None, offset) for one whose result is gone or another query's; (None, None) for an
        offset-only token."""
        result_id, offset = decode_graph_token(token)
        if result_id is None:
            return None, None
        with self._graph_lock:
            kept = self._graph_cache.get(result_id)
            if kept is not None and kept[0] == signature:
                self._graph_cache.move_to_end(result_id)
                return (result_id, kept[1]), offset
        return None, offset

    def _graph_scope(self, body):
        """Lower-case ids of the subscriptions the query reads: the ones named, the ones of the
        management groups named, or (neither) every subscription the caller may read. A named
        subscription or management group the caller may not read is a 403 naming it."""
        settings = self.graph
        subscriptions = body.get("subscriptions") or []
        groups = body.get("managementGroups") or body.get("managementGroupId") or []
        groups = [groups] if isinstance(groups, str) else groups
        for subscription in subscriptions:
            if str(subscription).lower() in settings["forbiddenSubscriptions"]:
                raise self._graph_forbidden(f"/subscriptions/{subscription}")
        for group in groups:
            if str(group).lower() in settings["forbiddenManagementGroups"]:
                raise self._graph_forbidden(
                    f"/providers/Microsoft.Management/managementGroups/{group}")
        known = {str(name).lower(): members for name, members in
                 settings["managementGroups"].items()}
        wanted = {str(s).lower() for s in subscriptions}
        for group in groups:
            if str(group).lower() not in known:
                raise ArmError(404, "ManagementGroupNotFound",
                               f"The management group '{group}' was not found.")
            wanted |= {str(s).lower() for s in known[str(group).lower()]
                       if str(s).lower() not in settings["forbiddenSubscriptions"]}
        if not subscriptions and not groups:
            wanted = {sub.lower() for sub, _ in self.store.subscriptions()
                      if sub.lower() not in settings["forbiddenSubscriptions"]}
        return wanted

    def set_graph(self, body):
        """Change the Resource Graph settings (see GRAPH_DEFAULTS); keys left out are kept."""
        if not isinstance(body, dict) or set(body) - set(GRAPH_DEFAULTS):
            raise ValueError(f"graph settings take the keys {', '.join(GRAPH_DEFAULTS)}")
        for key in ("forbiddenSubscriptions", "forbiddenManagementGroups", "unindexedTypes"):
            if key in body:
                self.graph[key] = {str(value).lower() for value in body[key] or []}
        if "truncate" in body:
            self.graph["truncate"] = bool(body["truncate"])
        if "managementGroups" in body:
            self.graph["managementGroups"] = dict(body["managementGroups"] or {})
        return self.graph_settings()

    def graph_settings(self):
        return {key: sorted(value) if isinstance(value, set) else value
                for key, value in self.graph.items()}

    @staticmethod
    def _graph_forbidden(scope):
        return ArmError(
            403, "AuthorizationFailed",
            f"The client '{PRINCIPAL_OBJECT_ID}' with object id '{PRINCIPAL_OBJECT_ID}' does not "
            "have authorization to perform action 'Microsoft.ResourceGraph/resources/read' over "
            f"scope '{scope}' or the scope is invalid. If access was recently granted, please "
            "refresh your credentials.")

    @staticmethod
    def _graph_error(detail):
        return ArmError(400, "BadRequest", detail,
                        details=[{"code": "InvalidQuery", "message": detail}])


def parse_json_body(raw):
    """Parse a request body as JSON (``None`` for an empty body); raise ArmError if invalid."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise ArmError(400, "InvalidRequestContent",
                       "The request content was invalid and could not be deserialized.") from None
