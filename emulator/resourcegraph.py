"""A small, honest subset of Azure Resource Graph (KQL) over the fixture resources.

Supported query shape (keywords are case-insensitive, column names are not, as in KQL)::

    resources
    | where <condition> [and <condition>]...
    | project <column> [, <alias> = <column>]...
    | order by <column> [asc|desc] [, ...]        (also: sort by)
    | limit <n>                                   (also: take <n>)

* table: ``resources`` only.
* condition: ``<column> <op> <value>`` with op one of ``=~`` ``!~`` (case-insensitive equal /
  not equal), ``==`` ``!=`` (case-sensitive), ``in~`` ``!in~`` ``in`` ``!in`` (value is a
  parenthesised list of strings), ``contains`` ``!contains`` ``startswith`` (case-insensitive),
  and ``isnotnull(<column>)`` / ``isnull(<column>)`` / ``isnotempty(<column>)`` / ``isempty(<column>)``.
* column: a row column (``id``, ``name``, ``type``, ``tenantId``, ``kind``, ``location``,
  ``resourceGroup``, ``subscriptionId``, ``managedBy``, ``sku``, ``plan``, ``properties``,
  ``tags``, ``identity``, ``zones``, ``extendedLocation``) optionally followed by ``.key`` or
  ``['key']`` steps into dynamic values, e.g. ``properties.reportedProperties.imdsAttestation``,
  ``tags['env']``; ``tostring(<column>)`` is accepted and means the column.
* values: single- or double-quoted strings (no escapes), integers, ``true``/``false``.

Anything else (joins, summarize, extend, functions, ``or``) is rejected with an error that
names the unsupported part. Rows are built as Resource Graph builds them: ``type`` and
``resourceGroup`` are lower-case, absent string columns are ``""`` and absent dynamic
columns ``null``. Results are ordered by lower-case id unless ``order by`` says otherwise.
"""

import re

ROW_COLUMNS = ("id", "name", "type", "tenantId", "kind", "location", "resourceGroup",
               "subscriptionId", "managedBy", "sku", "plan", "properties", "tags", "identity",
               "zones", "extendedLocation")

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<string>'[^']*'|"[^"]*")
    | (?P<number>-?\d+)
    | (?P<op>!in~|in~|!in\b|!contains\b|=~|!~|==|!=|\|)
    | (?P<punct>[(),=\[\].])
    | (?P<word>[A-Za-z_$][A-Za-z0-9_$]*)
    )""", re.VERBOSE)


_COMPARISONS = ("=~", "!~", "==", "!=", "in~", "!in~", "in", "!in", "contains", "!contains",
                "startswith")


class QueryError(ValueError):
    """The query is outside the supported subset (or malformed)."""


def resource_row(resource, tenant_id):
    """The Resource Graph row of a stored :class:`~emulator.store.Resource`."""
    doc = resource.document
    return {
        "id": resource.id,
        "name": doc.get("name") or resource.name,
        "type": resource.type.lower(),
        "tenantId": tenant_id,
        "kind": doc.get("kind") or "",
        "location": (doc.get("location") or "").lower(),
        "resourceGroup": (resource.resource_group or "").lower(),
        "subscriptionId": resource.subscription_id,
        "managedBy": doc.get("managedBy") or "",
        "sku": doc.get("sku"),
        "plan": doc.get("plan"),
        "properties": doc.get("properties"),
        "tags": doc.get("tags"),
        "identity": doc.get("identity"),
        "zones": doc.get("zones"),
        "extendedLocation": doc.get("extendedLocation"),
    }


# -- parsing ------------------------------------------------------------------------------


def _tokenize(text):
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise QueryError(f"cannot read the query at: {text[position:position + 30]!r}")
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "string":
            value = value[1:-1]
        tokens.append((kind, value))
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    return tokens


class _Parser:
    def __init__(self, text):
        self.tokens = _tokenize(text)
        self.position = 0

    def peek(self, offset=0):
        index = self.position + offset
        return self.tokens[index] if index < len(self.tokens) else (None, None)

    def take(self):
        token = self.peek()
        self.position += 1
        return token

    def at_word(self, *words):
        kind, value = self.peek()
        return kind == "word" and value.lower() in words

    def expect(self, kind, value=None):
        got_kind, got_value = self.take()
        if got_kind != kind or (value is not None and got_value.lower() != value):
            wanted = value or kind
            raise QueryError(f"expected {wanted!r}, found {got_value!r}")
        return got_value

    def parse(self):
        table = self.expect("word")
        if table.lower() != "resources":
            raise QueryError(f"unsupported table {table!r}: only 'resources' is emulated")
        stages = []
        while self.peek()[0] is not None:
            self.expect("op", "|")
            stages.append(self.stage())
        return stages

    def stage(self):
        kind, word = self.take()
        word = (word or "").lower()
        if kind == "word" and word == "where":
            conditions = [self.condition()]
            while self.at_word("and"):
                self.take()
                conditions.append(self.condition())
            if self.at_word("or"):
                raise QueryError("'or' is not supported; use 'in~ (...)'")
            return ("where", conditions)
        if kind == "word" and word == "project":
            columns = [self.projection()]
            while self.peek() == ("punct", ","):
                self.take()
                columns.append(self.projection())
            return ("project", columns)
        if kind == "word" and word in ("order", "sort"):
            self.expect("word", "by")
            keys = [self.order_key()]
            while self.peek() == ("punct", ","):
                self.take()
                keys.append(self.order_key())
            return ("order", keys)
        if kind == "word" and word in ("limit", "take"):
            return ("limit", int(self.expect("number")))
        raise QueryError(f"unsupported operator {word!r} (supported: where, project, "
                         "order by, limit/take)")

    def column(self):
        if self.at_word("tostring") and self.peek(1) == ("punct", "("):
            self.take()
            self.take()
            path = self.column()
            self.expect("punct", ")")
            return path
        name = self.expect("word")
        if name not in ROW_COLUMNS:
            raise QueryError(f"unknown column {name!r} (columns: {', '.join(ROW_COLUMNS)})")
        path = [name]
        while self.peek() in (("punct", "."), ("punct", "[")):
            if self.take()[1] == ".":
                path.append(self.expect("word"))
            else:
                path.append(self.expect("string"))
                self.expect("punct", "]")
        return tuple(path)

    def condition(self):
        if self.at_word("isnull", "isnotnull", "isempty", "isnotempty"):
            function = self.take()[1].lower()
            self.expect("punct", "(")
            path = self.column()
            self.expect("punct", ")")
            return (path, function, None)
        path = self.column()
        kind, op = self.take()
        op = (op or "").lower()
        if kind not in ("op", "word") or op not in _COMPARISONS:
            raise QueryError(f"unsupported comparison {op!r} (supported: "
                             f"{' '.join(_COMPARISONS)})")
        if op in ("in~", "!in~", "in", "!in"):
            self.expect("punct", "(")
            values = [self.literal()]
            while self.peek() == ("punct", ","):
                self.take()
                values.append(self.literal())
            self.expect("punct", ")")
            return (path, op, values)
        return (path, op, self.literal())

    def literal(self):
        kind, value = self.take()
        if kind == "string":
            return value
        if kind == "number":
            return int(value)
        if kind == "word" and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise QueryError(f"expected a literal value, found {value!r}")

    def projection(self):
        if self.peek()[0] == "word" and self.peek(1) == ("punct", "="):
            alias = self.take()[1]
            self.take()
            return (alias, self.column())
        path = self.column()
        return (path[-1], path)

    def order_key(self):
        path = self.column()
        descending = False
        if self.at_word("asc", "desc"):
            descending = self.take()[1].lower() == "desc"
        return (path, descending)


def parse_query(text):
    """Parse a query into stages; raise :class:`QueryError` outside the supported subset."""
    if not isinstance(text, str) or not text.strip():
        raise QueryError("the request has no query")
    return _Parser(text).parse()


# -- evaluation ---------------------------------------------------------------------------


def _lookup(row, path):
    value = row.get(path[0])
    for step in path[1:]:
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def _as_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _matches(row, condition):
    path, op, expected = condition
    value = _lookup(row, path)
    if op == "isnull":
        return value is None
    if op == "isnotnull":
        return value is not None
    if op == "isempty":
        return value is None or value == ""
    if op == "isnotempty":
        return value not in (None, "")
    text = _as_text(value)
    if op in ("in~", "!in~"):
        found = text.lower() in {_as_text(item).lower() for item in expected}
        return found if op == "in~" else not found
    if op in ("in", "!in"):
        found = text in {_as_text(item) for item in expected}
        return found if op == "in" else not found
    wanted = _as_text(expected)
    if op == "=~":
        return value is not None and text.lower() == wanted.lower()
    if op == "!~":
        return text.lower() != wanted.lower()
    if op == "==":
        return value is not None and text == wanted
    if op == "!=":
        return text != wanted
    if op == "contains":
        return wanted.lower() in text.lower()
    if op == "!contains":
        return wanted.lower() not in text.lower()
    if op == "startswith":
        return text.lower().startswith(wanted.lower())
    raise QueryError(f"unsupported comparison {op!r}")


def _sort_key(value):
    # Nulls first, then numbers, then text (case-insensitive), like a stable total order.
    if value is None:
        return (0, 0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, value, "")
    return (2, 0, _as_text(value).lower())


def run_query(stages, rows):
    """Apply parsed stages to rows (already in the default order)."""
    for kind, argument in stages:
        if kind == "where":
            rows = [row for row in rows if all(_matches(row, c) for c in argument)]
        elif kind == "project":
            rows = [{alias: _lookup(row, path) for alias, path in argument} for row in rows]
        elif kind == "order":
            for path, descending in reversed(argument):
                rows = sorted(rows, key=lambda row, p=path: _sort_key(_lookup(row, p)),
                              reverse=descending)
        elif kind == "limit":
            rows = rows[:argument]
    return rows


def to_table(rows):
    """Resource Graph's ``table`` result format: columns and rows of values."""
    columns = []
    for row in rows:
        for key, value in row.items():
            if key not in [c["name"] for c in columns]:
                kind = "string" if isinstance(value, str) else (
                    "integer" if isinstance(value, int) and not isinstance(value, bool)
                    else "object")
                columns.append({"name": key, "type": kind})
    names = [c["name"] for c in columns]
    return {"columns": columns, "rows": [[row.get(name) for name in names] for row in rows]}
