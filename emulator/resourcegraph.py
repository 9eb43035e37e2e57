"""A small, honest subset of Azure Resource Graph (KQL) over the fixture resources.

Supported query shape (keywords are case-insensitive, column names are not, as in KQL)::

    resources
    | where <condition> [and <condition>]...
    | extend <name> = <expression> [, ...]
    | join [kind=leftouter|inner] (resources | <stages>...) on <column>
    | project <column> [, <alias> = <expression>]...
    | order by <column> [asc|desc] [, ...]        (also: sort by)
    | limit <n>                                   (also: take <n>)

* table: ``resources`` only (also inside a join).
* expression: a column path, a literal, or ``tolower(e)``, ``toupper(e)``, ``tostring(e)``,
  ``strcat(e, ...)`` of expressions.
* condition: ``<expression> <op> <value>`` with op one of ``=~`` ``!~`` (case-insensitive equal /
  not equal), ``==`` ``!=`` (case-sensitive), ``in~`` ``!in~`` ``in`` ``!in`` (value is a
  parenthesised list of strings), ``contains`` ``!contains`` ``startswith`` (case-insensitive),
  and ``isnotnull(e)`` / ``isnull(e)`` / ``isnotempty(e)`` / ``isempty(e)``.
* column: a row column (``id``, ``name``, ``type``, ``tenantId``, ``kind``, ``location``,
  ``resourceGroup``, ``subscriptionId``, ``managedBy``, ``sku``, ``plan``, ``properties``,
  ``tags``, ``identity``, ``zones``, ``extendedLocation``) or one an earlier ``extend``,
  ``project`` or ``join`` made, optionally followed by ``.key`` or ``['key']`` steps into dynamic
  values, e.g. ``properties.reportedProperties.imdsAttestation``, ``tags['env']``.
* join: rows of the left side whose ``<column>`` equals (case-sensitively, as in KQL) the right
  side's; the right side's columns are added, a name the left already has gets the suffix ``1``
  (as KQL does); ``leftouter`` keeps unmatched left rows with nulls on the right.
* values: single- or double-quoted strings (backslash escapes ``\\ \' \" \n \r \t``),
  integers, ``true``/``false``.

Anything else (summarize, mv-expand, other functions, ``or``, other join kinds) is rejected
with an error that names the unsupported part. Rows are built as Resource Graph builds them:
``type`` and ``resourceGroup`` are lower-case, absent string columns are ``""`` and absent
dynamic columns ``null``. Results are ordered by lower-case id unless ``order by`` says
otherwise.
"""

import json
import re

ROW_COLUMNS = ("id", "name", "type", "tenantId", "kind", "location", "resourceGroup",
               "subscriptionId", "managedBy", "sku", "plan", "properties", "tags", "identity",
               "zones", "extendedLocation")

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
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

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "'": "'", '"': '"'}
_FUNCTIONS = ("tolower", "toupper", "tostring", "strcat")
_JOIN_KINDS = ("leftouter", "inner")


def _unescape(text):
    return re.sub(r"\\(.)", lambda match: _ESCAPES.get(match.group(1), match.group(1)), text)


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
            value = _unescape(value[1:-1])
        tokens.append((kind, value))
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    return tokens


class _Parser:
    def __init__(self, text):
        self.tokens = _tokenize(text)
        self.position = 0
        self.columns = set(ROW_COLUMNS)  # the columns the current stage can name

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
        if got_kind != kind or (value is not None and (got_value or "").lower() != value):
            wanted = value or kind
            raise QueryError(f"expected {wanted!r}, found {got_value!r}")
        return got_value

    def parse(self):
        stages = self.pipeline()
        if self.peek()[0] is not None:
            raise QueryError(f"unexpected {self.peek()[1]!r} after the query")
        return stages

    def pipeline(self):
        """``resources | stage | ...`` up to the end or a closing parenthesis."""
        table = self.expect("word")
        if table.lower() != "resources":
            raise QueryError(f"unsupported table {table!r}: only 'resources' is emulated")
        self.columns = set(ROW_COLUMNS)
        stages = []
        while self.peek()[0] is not None and self.peek() != ("punct", ")"):
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
        if kind == "word" and word in ("project", "extend"):
            columns = self.assignments(required=word == "extend")
            names = {alias for alias, _ in columns}
            self.columns = names if word == "project" else self.columns | names
            return (word, columns)
        if kind == "word" and word == "join":
            return self.join()
        if kind == "word" and word in ("order", "sort"):
            self.expect("word", "by")
            keys = [self.order_key()]
            while self.peek() == ("punct", ","):
                self.take()
                keys.append(self.order_key())
            return ("order", keys)
        if kind == "word" and word in ("limit", "take"):
            return ("limit", int(self.expect("number")))
        raise QueryError(f"unsupported operator {word!r} (supported: where, extend, join, "
                         "project, order by, limit/take)")

    def assignments(self, required):
        columns = [self.assignment(required)]
        while self.peek() == ("punct", ","):
            self.take()
            columns.append(self.assignment(required))
        return columns

    def assignment(self, required):
        if self.peek()[0] == "word" and self.peek(1) == ("punct", "="):
            alias = self.take()[1]
            self.take()
            return (alias, self.expression())
        if required:
            raise QueryError(f"expected '<name> = <expression>', found {self.peek()[1]!r}")
        expression = self.expression()
        if expression[0] != "column":
            raise QueryError("a computed column needs a name: '<name> = <expression>'")
        return (expression[1][-1], expression)

    def join(self):
        join_kind = "innerunique"
        if self.at_word("kind"):
            self.take()
            self.expect("punct", "=")
            join_kind = self.expect("word").lower()
        if join_kind not in _JOIN_KINDS:
            raise QueryError(f"unsupported join kind {join_kind!r} (supported: "
                             f"{', '.join(_JOIN_KINDS)})")
        left_columns = self.columns
        self.expect("punct", "(")
        right = self.pipeline()
        right_columns = self.columns
        self.expect("punct", ")")
        self.expect("word", "on")
        key = self.expect("word")
        if key not in left_columns or key not in right_columns:
            raise QueryError(f"join key {key!r} must be a column of both sides")
        self.columns = left_columns | {_joined_name(name, left_columns) for name in right_columns}
        return ("join", (join_kind, right, key, tuple(sorted(right_columns))))

    def expression(self):
        kind, value = self.peek()
        if kind == "word" and value.lower() in _FUNCTIONS and self.peek(1) == ("punct", "("):
            self.take()
            self.take()
            arguments = [self.expression()]
            while self.peek() == ("punct", ","):
                self.take()
                arguments.append(self.expression())
            self.expect("punct", ")")
            if value.lower() != "strcat" and len(arguments) != 1:
                raise QueryError(f"{value}() takes one argument")
            return ("call", value.lower(), tuple(arguments))
        if kind in ("string", "number") or (kind == "word" and value.lower() in ("true", "false")):
            return ("literal", self.literal())
        if kind == "word" and self.peek(1) == ("punct", "("):
            raise QueryError(f"unsupported function {value!r} (supported: {', '.join(_FUNCTIONS)})")
        return ("column", self.column())

    def column(self):
        name = self.expect("word")
        if name not in self.columns:
            raise QueryError(f"unknown column {name!r} (columns: {', '.join(sorted(self.columns))})")
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
            expression = self.expression()
            self.expect("punct", ")")
            return (expression, function, None)
        expression = self.expression()
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
            return (expression, op, values)
        return (expression, op, self.literal())

    def literal(self):
        kind, value = self.take()
        if kind == "string":
            return value
        if kind == "number":
            return int(value)
        if kind == "word" and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise QueryError(f"expected a literal value, found {value!r}")

    def order_key(self):
        path = self.column()
        descending = False
        if self.at_word("asc", "desc"):
            descending = self.take()[1].lower() == "desc"
        return (path, descending)


def _joined_name(name, left_columns):
    return name + "1" if name in left_columns else name


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
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return "" if value is None else str(value)


def _evaluate(row, expression):
    kind = expression[0]
    if kind == "column":
        return _lookup(row, expression[1])
    if kind == "literal":
        return expression[1]
    _, function, arguments = expression
    values = [_evaluate(row, argument) for argument in arguments]
    if function == "strcat":
        return "".join(_as_text(value) for value in values)
    text = _as_text(values[0])
    return {"tolower": text.lower(), "toupper": text.upper(), "tostring": text}[function]


def _matches(row, condition):
    expression, op, expected = condition
    value = _evaluate(row, expression)
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


def _join(rows, argument, base):
    join_kind, right_stages, key, right_columns = argument
    index = {}
    for right in run_query(right_stages, base):
        index.setdefault(_as_text(right.get(key)), []).append(right)
    left_columns = set(rows[0]) if rows else set()
    joined = []
    for row in rows:
        value = row.get(key)
        matches = index.get(_as_text(value), []) if value is not None else []
        if join_kind == "innerunique":
            matches = matches[:1]
        if not matches and join_kind == "leftouter":
            matches = [{}]
        for right in matches:
            combined = dict(row)
            for name in right_columns:
                combined[_joined_name(name, left_columns)] = right.get(name)
            joined.append(combined)
    return joined


def run_query(stages, rows, base=None):
    """Apply parsed stages to rows (already in the default order). ``base``: the rows a join's
    right side reads (default: ``rows``)."""
    base = rows if base is None else base
    for kind, argument in stages:
        if kind == "where":
            rows = [row for row in rows if all(_matches(row, c) for c in argument)]
        elif kind == "project":
            rows = [{alias: _evaluate(row, expression) for alias, expression in argument}
                    for row in rows]
        elif kind == "extend":
            rows = [dict(row, **{alias: _evaluate(row, expression) for alias, expression in argument})
                    for row in rows]
        elif kind == "join":
            rows = _join(rows, argument, base)
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
