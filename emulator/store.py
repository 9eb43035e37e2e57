"""The emulator's resources: ARM JSON documents loaded from a fixture directory.

Fixture format (the only thing the emulator requires):

* Any number of ``*.json`` files at any depth under the fixture directory. Each file that
  holds a JSON object with ``id`` and ``type`` is one resource, and the object is exactly the
  body ARM returns for a GET of that resource. Keys are kept as they are (extra keys, lower-case
  ``type``, nulls). Other files (other JSON, READMEs, host-facts documents) are skipped with a
  warning on stderr.
* Subscriptions and resource groups are inferred from the resources' ids; a resource group's
  location is the location of its first resource (sorted by id).
* A document of type ``Microsoft.Resources/resourceGroups`` is served as that resource group
  (so an empty resource group can exist).
* Optional: ``_emulator.json`` at the top of the fixture directory, with any of
  ``referenceTime`` (ISO 8601: the "now" the fixtures were written for), ``tenantId``,
  ``subscriptions`` (``[{"subscriptionId", "displayName"}]``: display names, and subscriptions
  with no resources). It is read without a warning and is never served.

Time rebasing: fixtures describe a moment ("synced two days ago"). ``rebase`` shifts every
ISO 8601 timestamp string in every document by the same whole number of seconds so that the
fixtures' reference time becomes another moment (usually now). Fractions of seconds and the
zone suffix are kept exactly as written (7 fractional digits stay 7 digits).
"""

import datetime
import json
import os
import re
import sys
import threading
from dataclasses import dataclass, field

from . import armid

METADATA_FILE = "_emulator.json"
DEFAULT_TENANT_ID = "5a1d3c8e-9f2b-4b6a-8e7d-0c4f2a9b1e63"
DEFAULT_LOCATION = "eastus"

_TIMESTAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")


def warn(message):
    print(f"emulator: warning: {message}", file=sys.stderr, flush=True)


# -- timestamps ---------------------------------------------------------------------------


def parse_time(text):
    """Parse an ISO 8601 time (``Z``, offsets, up to 7+ fractional digits) as an aware datetime."""
    text = text.strip()
    match = _TIMESTAMP.match(text)
    if not match:
        raise ValueError(f"not an ISO 8601 date-time: {text!r}")
    date, clock, fraction, zone = match.groups()
    micro = int(((fraction or ".0")[1:] + "000000")[:6])
    base = datetime.datetime.fromisoformat(f"{date}T{clock}").replace(microsecond=micro)
    if zone in (None, "Z"):
        return base.replace(tzinfo=datetime.timezone.utc)
    sign = 1 if zone[0] == "+" else -1
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    offset = datetime.timedelta(hours=hours, minutes=minutes)
    return base.replace(tzinfo=datetime.timezone(sign * offset))


def shift_timestamp(text, seconds):
    """Shift one timestamp string by whole ``seconds``, keeping its fraction and zone as written."""
    match = _TIMESTAMP.match(text)
    if not match:
        return text
    date, clock, fraction, zone = match.groups()
    moved = datetime.datetime.fromisoformat(f"{date}T{clock}") + datetime.timedelta(
        seconds=seconds)
    return moved.strftime("%Y-%m-%dT%H:%M:%S") + (fraction or "") + (zone or "")


def rebase_document(value, seconds):
    """Return a copy of a JSON value with every ISO 8601 timestamp string shifted."""
    if isinstance(value, dict):
        return {key: rebase_document(item, seconds) for key, item in value.items()}
    if isinstance(value, list):
        return [rebase_document(item, seconds) for item in value]
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-":
        return shift_timestamp(value, seconds)
    return value


# -- resources ---------------------------------------------------------------------------


@dataclass
class Resource:
    """One fixture document and what its id says about it."""

    id: str
    document: dict
    type: str  # as the document spells it
    name: str
    parent: str  # id of the parent (subscription, resource group or resource)
    subscription_id: str
    resource_group: str  # None at subscription scope
    key: str = field(init=False)  # lower-case id
    type_key: str = field(init=False)
    parent_key: str = field(init=False)

    def __post_init__(self):
        self.key = self.id.lower()
        self.type_key = self.type.lower()
        self.parent_key = self.parent.lower()

    @property
    def top_level(self):
        """True if the parent is a subscription or resource group (not another resource)."""
        return armid.is_scope(self.parent)

    @property
    def location(self):
        return self.document.get("location")


def make_resource(document, origin="<document>"):
    """Build a :class:`Resource` from an ARM document; raise ``ValueError`` if it is not one."""
    if not isinstance(document, dict):
        raise ValueError(f"{origin}: not a JSON object")
    rid, rtype = document.get("id"), document.get("type")
    if not isinstance(rid, str) or not isinstance(rtype, str) or not rid or not rtype:
        raise ValueError(f"{origin}: no 'id' and 'type' (not an ARM resource document)")
    parsed = armid.parse(rid)
    scope = armid.scope_of(rid)
    if parsed is None or parsed.kind != "resource" or scope.subscription_id is None:
        raise ValueError(f"{origin}: id {rid!r} is not a resource id under a subscription")
    if parsed.type.lower() != rtype.lower():
        warn(f"{origin}: type {rtype!r} does not match the type in its id ({parsed.type})")
    return Resource(id=rid, document=document, type=rtype,
                    name=document.get("name") or parsed.name, parent=parsed.parent,
                    subscription_id=scope.subscription_id, resource_group=scope.resource_group)


class ResourceStore:
    """Thread-safe, case-insensitive index of resources, subscriptions and resource groups."""

    RESOURCE_GROUP_TYPE = "microsoft.resources/resourcegroups"

    def __init__(self, tenant_id=DEFAULT_TENANT_ID, reference_time=None):
        self.tenant_id = tenant_id
        self.reference_time = reference_time  # datetime or None
        self._lock = threading.RLock()
        self._resources = {}  # lower id -> Resource
        self._group_documents = {}  # (lower sub, lower rg) -> explicit resource group document
        self._subscription_names = {}  # lower sub -> (subscriptionId, displayName)
        self._sorted = None  # cache: resources sorted by lower id
        self.management_groups = {}  # name -> [subscription id] (Resource Graph scope)
        self.run_command = {}  # runCommand settings of _emulator.json (emulator.runcommands)

    # ---- loading

    @classmethod
    def from_directory(cls, directory):
        """Load every ``**/*.json`` under ``directory`` (see the module docstring)."""
        directory = os.path.abspath(directory)
        if not os.path.isdir(directory):
            raise FileNotFoundError(f"fixture directory not found: {directory}")
        metadata = {}
        metadata_path = os.path.join(directory, METADATA_FILE)
        if os.path.isfile(metadata_path):
            with open(metadata_path, encoding="utf-8") as handle:
                metadata = json.load(handle)
        reference = metadata.get("referenceTime")
        store = cls(tenant_id=metadata.get("tenantId") or DEFAULT_TENANT_ID,
                    reference_time=parse_time(reference) if reference else None)
        for entry in metadata.get("subscriptions") or []:
            store.add_subscription(entry["subscriptionId"], entry.get("displayName"))
        store.management_groups = dict(metadata.get("managementGroups") or {})
        store.run_command = dict(metadata.get("runCommand") or {})
        for path in _json_files(directory):
            if os.path.abspath(path) == metadata_path:
                continue
            relative = os.path.relpath(path, directory)
            try:
                with open(path, encoding="utf-8-sig") as handle:
                    document = json.load(handle)
                store.put(document, origin=relative)
            except (OSError, ValueError) as error:  # json.JSONDecodeError is a ValueError
                warn(f"skipped {relative}: {error}")
        return store

    def add_subscription(self, subscription_id, display_name=None):
        with self._lock:
            key = subscription_id.lower()
            known = self._subscription_names.get(key)
            if known is None or display_name:
                self._subscription_names[key] = (
                    known[0] if known else subscription_id,
                    display_name or (known[1] if known else None))

    def put(self, document, origin="<document>"):
        """Add or replace one ARM document. Returns the :class:`Resource` (or the RG document)."""
        if isinstance(document, dict) and str(document.get("type", "")).lower() == \
                self.RESOURCE_GROUP_TYPE:
            scope = armid.scope_of(document.get("id") or "")
            if not scope.resource_group:
                raise ValueError(f"{origin}: resource group id expected, got {document.get('id')!r}")
            with self._lock:
                self.add_subscription(scope.subscription_id)
                self._group_documents[(scope.subscription_id.lower(),
                                       scope.resource_group.lower())] = document
            return document
        resource = make_resource(document, origin)
        with self._lock:
            if resource.key in self._resources and origin != "<control>":
                warn(f"{origin}: duplicate id {resource.id}; the later document wins")
            self._resources[resource.key] = resource
            self._sorted = None
            self.add_subscription(resource.subscription_id)
        return resource

    def delete(self, resource_id):
        """Remove a resource (and everything below it). Returns how many were removed."""
        prefix = resource_id.lower().rstrip("/")
        with self._lock:
            doomed = [key for key in self._resources
                      if key == prefix or key.startswith(prefix + "/")]
            for key in doomed:
                del self._resources[key]
            self._sorted = None
            return len(doomed)

    def rebase(self, target):
        """Shift every timestamp so that the fixtures' reference time becomes ``target``."""
        if self.reference_time is None:
            raise ValueError("cannot rebase: the fixtures declare no referenceTime "
                             f"(add it to {METADATA_FILE} or pass --reference-time)")
        seconds = round((target - self.reference_time).total_seconds())
        with self._lock:
            for resource in self._resources.values():
                resource.document = rebase_document(resource.document, seconds)
            for key, document in list(self._group_documents.items()):
                self._group_documents[key] = rebase_document(document, seconds)
            self.reference_time = self.reference_time + datetime.timedelta(seconds=seconds)
        return seconds

    # ---- queries

    def all(self):
        """Every resource, sorted by lower-case id (the order all lists use)."""
        with self._lock:
            if self._sorted is None:
                self._sorted = sorted(self._resources.values(), key=lambda r: r.key)
            return self._sorted

    def get(self, resource_id):
        with self._lock:
            return self._resources.get(resource_id.lower().rstrip("/"))

    def subscriptions(self):
        """``[(subscriptionId, displayName)]`` sorted by id."""
        with self._lock:
            return [self._subscription_names[key] for key in sorted(self._subscription_names)]

    def subscription(self, subscription_id):
        with self._lock:
            return self._subscription_names.get(subscription_id.lower())

    def resource_groups(self, subscription_id):
        """ARM documents of the resource groups of a subscription, sorted by name."""
        sub = subscription_id.lower()
        groups = {}
        with self._lock:
            for (group_sub, group_key), document in self._group_documents.items():
                if group_sub == sub:
                    groups[group_key] = document
            for resource in self.all():
                if resource.subscription_id.lower() != sub or not resource.resource_group:
                    continue
                group_key = resource.resource_group.lower()
                if group_key not in groups:
                    groups[group_key] = self._inferred_group(resource)
        return [groups[key] for key in sorted(groups)]

    def resource_group(self, subscription_id, name):
        for document in self.resource_groups(subscription_id):
            if document.get("name", "").lower() == name.lower():
                return document
        return None

    def _inferred_group(self, resource):
        sub = self._subscription_names[resource.subscription_id.lower()][0]
        return {
            "id": f"/subscriptions/{sub}/resourceGroups/{resource.resource_group}",
            "name": resource.resource_group,
            "type": "Microsoft.Resources/resourceGroups",
            "location": resource.location or DEFAULT_LOCATION,
            "properties": {"provisioningState": "Succeeded"},
        }

    def children(self, parent_id, full_type):
        """Resources of ``full_type`` listed at ``parent_id``.

        Under a subscription or resource group: every top-level resource of that type in the
        scope (a subscription list includes all its resource groups). Under a resource: its
        direct children (nested or extension resources) of that type.
        """
        type_key = full_type.lower()
        parent_key = parent_id.lower().rstrip("/")
        if armid.is_scope(parent_id):
            prefix = parent_key + "/"
            return [r for r in self.all() if r.type_key == type_key and r.top_level
                    and r.key.startswith(prefix)]
        return [r for r in self.all() if r.type_key == type_key and r.parent_key == parent_key]

    def in_scope(self, scope_id):
        """All resources under a subscription or resource group."""
        prefix = scope_id.lower().rstrip("/") + "/"
        return [r for r in self.all() if r.key.startswith(prefix)]

    def namespaces(self):
        """``{lower namespace: {"namespace": canonical, "types": {lower rel type: (rel type,
        set of locations)}}}`` for every namespace that has fixtures."""
        result = {}
        for resource in self.all():
            namespace = armid.namespace_of(resource.type)
            relative = armid.relative_type(resource.type)
            entry = result.setdefault(namespace.lower(), {"namespace": namespace, "types": {}})
            known = entry["types"].setdefault(relative.lower(), (relative, set()))
            if resource.location:
                known[1].add(resource.location)
        return result


def _json_files(directory):
    found = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
        found.extend(os.path.join(root, name) for name in sorted(files)
                     if name.lower().endswith(".json"))
    return found
