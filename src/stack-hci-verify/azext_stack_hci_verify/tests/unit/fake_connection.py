# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""A fake of the pipeline's connection for the custom-functions tier: the SDK clients' surface that
the adapters use (Resource Graph `resources` and plain GETs, machines list, instance, attestation and
image GETs), answered from a fixture directory through the emulator's store and its Resource Graph
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

    def client(self, kind, subscription_id):
        return _Client(self, kind, subscription_id)

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
                self.conn.raise_for("get:" + path.rstrip("/").rsplit("/", 1)[-1])
                answer = self.conn.document(path)
        except HttpResponseError as ex:
            return ex.response
        return SimpleNamespace(status_code=200, json=lambda: answer)

    send_request = _send_request


class _Client:
    def __init__(self, conn, kind, subscription_id):
        self.conn, self.kind, self.subscription_id = conn, kind, subscription_id
        self.machines = SimpleNamespace(list_by_subscription=self._machines)
        self.clusters = SimpleNamespace(list_by_resource_group=self._clusters_of_group,
                                        list_by_subscription=self._clusters)
        self.virtual_machine_instances = SimpleNamespace(get=self._instance)
        self.attestation_statuses = SimpleNamespace(get=self._attestation)
        self.gallery_images = SimpleNamespace(get=self._image)
        self.marketplace_gallery_images = SimpleNamespace(get=self._image)

    def _of_type(self, kind, group=None):
        return [dict(item.document) for item in self.conn.store.all()
                if item.subscription_id.lower() == self.subscription_id.lower() and item.type.lower() == kind
                and (group is None or (item.resource_group or "").lower() == group.lower())]

    def _machines(self):
        self.conn.raise_for("machines:" + self.subscription_id)
        return self._of_type("microsoft.hybridcompute/machines")

    def _clusters(self):
        self.conn.raise_for("list-clusters:" + self.subscription_id)
        return self._of_type("microsoft.azurestackhci/clusters")

    def _clusters_of_group(self, group):
        self.conn.raise_for("list-clusters:" + group)
        return self._of_type("microsoft.azurestackhci/clusters", group)

    def _instance(self, resource_uri, cls):
        self.conn.raise_for("instance:" + resource_uri.rstrip("/").rsplit("/", 1)[-1])
        return cls(_Answer(self.conn.document("/" + resource_uri + INSTANCE_SUFFIX)), None, {})

    def _attestation(self, resource_uri, cls):
        self.conn.raise_for("attestation:" + resource_uri.rstrip("/").rsplit("/", 1)[-1])
        return cls(_Answer(self.conn.document("/" + resource_uri + ATTESTATION_SUFFIX)), None, {})

    def _image(self, group, name, cls):
        self.conn.raise_for("image:" + name)
        found = [item for item in self.conn.store.all() if item.name.lower() == name.lower()
                 and (item.resource_group or "").lower() == group.lower()]
        if not found:
            raise http_error(404, {"error": {"code": "ResourceNotFound", "message": "not found"}})
        return cls(_Answer(found[0].document), None, {})


def dump(path, document):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
