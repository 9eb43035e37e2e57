# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""A fake of the pipeline's connection for the custom-functions tier: the one pipeline the adapters send
through (Resource Graph queries, ARM lists and GETs of clusters, machines, instances, attestation statuses
and images), answered from a fixture directory through the emulator's store and its Resource Graph
evaluator, with no network. Failures are set per operation; every call is recorded."""

import json
from types import SimpleNamespace

from emulator import resourcegraph as graph
from emulator.store import ResourceStore

from azure.core.exceptions import HttpResponseError

from .arm_fakes import http_error

INSTANCE_SUFFIX = "/providers/microsoft.azurestackhci/virtualmachineinstances/default"
ATTESTATION_SUFFIX = INSTANCE_SUFFIX + "/attestationstatus/default"


class _Answer:
    def __init__(self, document):
        self.http_response = SimpleNamespace(json=lambda: document)


class FakeConnection:
    """`fail`: {operation: exception} for operation one of graph-clusters, graph-vms, get:<name>,
    machines:<subscription>, instance:<vm name>, attestation:<vm name>, image:<image name>."""

    def __init__(self, directory=None, store=None, subscription_id=None):
        self.store = store or ResourceStore.from_directory(directory)
        self.fail = {}
        self.calls = []
        self.timeout = 20.0
        self.subscription_id = subscription_id
        self.credential = SimpleNamespace(token_requests=1, subscription_id=subscription_id)

    # -- the connection's surface
    def resourcegraph(self):
        return _Graph(self)

    # -- helpers
    def raise_for(self, operation):
        self.calls.append(operation)
        error = self.fail.get(operation)
        if error is not None:
            raise error

    def document(self, resource_id):
        found = self.store.get(resource_id)
        if found is None:
            raise http_error(404, {"error": {"code": "ResourceNotFound", "message": "not found"}})
        return found.document


class _Graph:
    """The Resource Graph client's pipeline as the adapters use it (send_json): the query POST, list GETs
    and document GETs, answered raw."""

    def __init__(self, conn):
        self.conn = conn

    def _query(self, body):
        kind = "graph-vms" if "hybridcompute/machines" in body["query"].lower() else "graph-clusters"
        self.conn.raise_for(kind)
        wanted = {sub.lower() for sub in body.get("subscriptions") or []}
        for group in body.get("managementGroups") or []:
            wanted.update(sub.lower() for sub in self.conn.store.management_groups.get(group, []))
        rows = [graph.resource_row(item, self.conn.store.tenant_id) for item in self.conn.store.all()
                if item.subscription_id.lower() in wanted]
        data = graph.run_query(graph.parse_query(body["query"]), rows)
        return {"data": data, "count": len(data), "totalRecords": len(data), "resultTruncated": "false"}

    def _list(self, path):
        parts = path.strip("/").split("/")
        subscription = parts[1]
        group = parts[3] if len(parts) > 3 and parts[2].lower() == "resourcegroups" else None
        if path.lower().endswith("/microsoft.hybridcompute/machines"):
            self.conn.raise_for("machines:" + subscription)
            kind = "microsoft.hybridcompute/machines"
        else:
            self.conn.raise_for("list-clusters:" + (group or subscription))
            kind = "microsoft.azurestackhci/clusters"
        return {"value": [dict(item.document) for item in self.conn.store.all()
                          if item.subscription_id.lower() == subscription.lower() and item.type.lower() == kind
                          and (group is None or (item.resource_group or "").lower() == group.lower())]}

    def _send_request(self, request):
        path = request.url.split("?")[0]
        try:
            if request.method == "POST":
                answer = self._query(json.loads(request.content))
            elif path.lower().endswith(("/providers/microsoft.hybridcompute/machines",
                                        "/providers/microsoft.azurestackhci/clusters")):
                answer = self._list(path)
            else:
                self.conn.raise_for(_operation(path))
                answer = self._document(path)
        except HttpResponseError as ex:
            return ex.response
        return SimpleNamespace(status_code=200, json=lambda: answer)

    send_request = _send_request

    def _document(self, path):
        lowered = path.lower()
        if "/galleryimages/" in lowered or "/marketplacegalleryimages/" in lowered:
            parts = path.strip("/").split("/")
            found = [item for item in self.conn.store.all() if item.name.lower() == parts[-1].lower()
                     and (item.resource_group or "").lower() == parts[3].lower()]
            if not found:
                raise http_error(404, {"error": {"code": "ResourceNotFound", "message": "not found"}})
            return found[0].document
        return self.conn.document(path)


def _operation(path):
    """The name a test fails a GET by: instance:<vm>, attestation:<vm>, image:<name> or get:<name>."""
    lowered = path.lower().rstrip("/")
    machine = path.split("/providers/Microsoft.AzureStackHCI/")[0].rsplit("/", 1)[-1]
    if lowered.endswith(ATTESTATION_SUFFIX):
        return "attestation:" + machine
    if lowered.endswith(INSTANCE_SUFFIX):
        return "instance:" + machine
    if "/galleryimages/" in lowered or "/marketplacegalleryimages/" in lowered:
        return "image:" + path.rstrip("/").rsplit("/", 1)[-1]
    return "get:" + path.rstrip("/").rsplit("/", 1)[-1]


def dump(path, document):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
