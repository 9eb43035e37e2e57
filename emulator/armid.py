"""Azure Resource Manager ids and request paths, parsed the way ARM reads them.

An ARM id is a scope followed by zero or more ``/providers/{Namespace}/{type}/{name}[/{type}/{name}]...``
groups. The last ``providers`` group decides the resource's type and parent:

* ``/subscriptions/s/resourceGroups/rg/providers/Microsoft.AzureStackHCI/clusters/c1``
  -> type ``Microsoft.AzureStackHCI/clusters``, parent ``/subscriptions/s/resourceGroups/rg``
* ``.../clusters/c1/arcSettings/default``
  -> type ``Microsoft.AzureStackHCI/clusters/arcSettings``, parent ``.../clusters/c1``
* ``.../machines/m1/providers/Microsoft.AzureStackHCI/virtualMachineInstances/default``
  (an extension resource) -> type ``Microsoft.AzureStackHCI/virtualMachineInstances``,
  parent ``.../machines/m1``

A request path with one segment less than an id (it ends in a type) names a collection: the
resources of that type directly under the parent, or, when the parent is a subscription or a
resource group, every top-level resource of that type in that scope.

All comparisons in ARM are case-insensitive; these helpers keep the caller's casing and leave
lower-casing to the callers that build keys.
"""

from dataclasses import dataclass
from typing import Optional


def segments(path):
    """Split an id or path into its non-empty segments."""
    return [part for part in path.split("/") if part]


def join(parts):
    return "/" + "/".join(parts)


@dataclass(frozen=True)
class Scope:
    """The subscription and resource group an id or path lives in."""

    subscription_id: Optional[str]
    resource_group: Optional[str]


def scope_of(path):
    """Return the :class:`Scope` of an id or path (fields are ``None`` when absent)."""
    parts = segments(path)
    subscription = resource_group = None
    if len(parts) >= 2 and parts[0].lower() == "subscriptions":
        subscription = parts[1]
        if len(parts) >= 4 and parts[2].lower() == "resourcegroups":
            resource_group = parts[3]
    return Scope(subscription, resource_group)


def is_scope(path):
    """True for ``/subscriptions/{s}`` and ``/subscriptions/{s}/resourceGroups/{rg}``."""
    parts = segments(path)
    if len(parts) == 2:
        return parts[0].lower() == "subscriptions"
    if len(parts) == 4:
        return parts[0].lower() == "subscriptions" and parts[2].lower() == "resourcegroups"
    return False


@dataclass(frozen=True)
class ParsedPath:
    """What the last ``providers`` group of a path says.

    ``kind`` is ``"resource"`` (the path ends in a name), ``"collection"`` (it ends in a
    type) or ``"namespace"`` (it ends right after ``providers/{Namespace}``).
    """

    kind: str
    namespace: str
    type: str  # full type, e.g. Microsoft.AzureStackHCI/clusters/arcSettings ('' for namespace)
    parent: str  # id of the parent (a scope or a resource)
    name: Optional[str]  # the resource name for kind == "resource"


def parse(path) -> Optional[ParsedPath]:
    """Parse a resource id or collection path; ``None`` if it has no ``providers`` group."""
    parts = segments(path)
    # The last "providers" that is followed by something is the one that counts. A
    # resource may be *named* "providers" in theory; ARM has the same ambiguity.
    index = None
    for position in range(len(parts) - 2, -1, -1):
        if parts[position].lower() == "providers":
            index = position
            break
    if index is None:
        return None
    namespace = parts[index + 1]
    rest = parts[index + 2:]
    scope_parts = parts[:index]
    if not rest:
        return ParsedPath("namespace", namespace, "", join(scope_parts) if scope_parts else "/",
                          None)
    type_names = rest[0::2]
    full_type = namespace + "/" + "/".join(type_names)
    if len(rest) % 2 == 0:
        name = rest[-1]
        parent_parts = scope_parts if len(rest) == 2 else parts[:-2]
        return ParsedPath("resource", namespace, full_type, join(parent_parts), name)
    parent_parts = scope_parts if len(rest) == 1 else parts[:-1]
    return ParsedPath("collection", namespace, full_type, join(parent_parts), None)


def relative_type(full_type):
    """``Microsoft.AzureStackHCI/clusters/arcSettings`` -> ``clusters/arcSettings``."""
    return full_type.split("/", 1)[1] if "/" in full_type else ""


def namespace_of(full_type):
    return full_type.split("/", 1)[0]
