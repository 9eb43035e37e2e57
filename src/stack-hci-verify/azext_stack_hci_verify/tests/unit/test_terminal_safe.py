# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Names are data in `-o tsv` and `-o table`: the loader's output guard and _format.terminal_safe,
with knack's own tsv and table writers. A hypothesis property: no generated name, anywhere in any
command's result, changes the fields of a tsv line or puts a control character on the terminal."""

import re
from collections import OrderedDict
from types import SimpleNamespace

from hypothesis import given, settings, strategies as st
from knack.events import EVENT_INVOKER_FILTER_RESULT, EVENT_INVOKER_POST_PARSE_ARGS
from knack.output import CommandResultItem, format_table, format_tsv

from azext_stack_hci_verify import _loader as loader
from azext_stack_hci_verify import _format

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
HOSTILE = ["vm\tone", "clear\x1b[2Jscreen", "bell\x07", "back\rwards", "two\nlines", "nul\x00", "del\x7f",
           "c1\x9b31m", "rtl\u202eexe.txt", "sep\u2028line", "=HYPERLINK(\"x\")", "-1", "@cmd", "+1",
           "quote'\"", "back\\slash", "ünïcødé 名前", ""]


def tsv(result):
    return format_tsv(CommandResultItem(result))


def fields(text):
    return [line.count("\t") + 1 for line in text.split("\n")[:-1]]


def test_control_characters_become_escapes_and_the_rest_stays():
    assert _format.safe_text("vm\tone\x1b[2J\x07\r\n\u202e") == "vm\\tone\\x1b[2J\\x07\\r\\n\\u202e"
    assert _format.safe_text("back\\slash 名前 =1") == "back\\slash 名前 =1"
    assert _format.safe_text("\x9b\x85") == "\\x9b\\x85"


def test_the_result_is_copied_never_changed():
    result = [OrderedDict([("name", "a\tb"), ("servers", [{"name": "n\x1b"}])]), {"name": "c"}]
    safe = _format.terminal_safe(result)
    assert result[0]["name"] == "a\tb" and result[0]["servers"][0]["name"] == "n\x1b"
    assert safe[0]["name"] == "a\\tb" and safe[0]["servers"][0]["name"] == "n\\x1b"
    assert isinstance(safe[0], OrderedDict) and list(safe[0]) == ["name", "servers"]
    assert _format.terminal_safe({"a\x1b": 1, "n": None, "b": True}) == {"a\\x1b": 1, "n": None, "b": True}


def test_tsv_rows_of_a_list_get_the_same_fields_in_the_same_order():
    rows = [{"name": "a", "id": "1", "extra": "x"}, {"name": "b", "id": "2"}]
    assert fields(tsv(_format.terminal_safe(rows, tsv=True))) == [3, 3]
    assert tsv(_format.terminal_safe(rows, tsv=True)).split("\n")[1] == "None\t2\tb"
    ordered = [OrderedDict([("n", "a"), ("k", 1)]), OrderedDict([("k", 2), ("n", "b"), ("x", 3)])]
    assert tsv(_format.terminal_safe(ordered, tsv=True)) == "a\t1\tNone\nb\t2\t3\n"
    same = [{"name": "a"}, {"name": "b"}]
    assert _format.terminal_safe(same, tsv=True) == same


def test_a_name_of_every_kind_keeps_the_tsv_line_and_the_table_clean():
    rows = [{"name": name, "server": name, "status": "Active"} for name in HOSTILE]
    text = tsv(_format.terminal_safe(rows, tsv=True))
    assert fields(text) == [3] * len(HOSTILE) and not CONTROL.search(text.replace("\t", "").replace("\n", ""))
    table = format_table(CommandResultItem(_format.terminal_safe(rows), table_transformer=_format.transform_vm_list))
    assert not CONTROL.search(table.replace("\n", "")) and len(table.split("\n")) == len(HOSTILE) + 3


# ----------------------------------------------------------------------------------- the property

NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12) | st.sampled_from(HOSTILE)
KEYS = st.sampled_from(["name", "server", "cluster", "status", "reason", "command", "id", "findings", "vms"])
LEAVES = NAMES | st.none() | st.booleans() | st.integers(-5, 5)
JSON = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
                    max_leaves=12)


def benign(value):
    """The same structure with every string a plain one: what the tsv fields must be."""
    if isinstance(value, str):
        return "x"
    if isinstance(value, dict):
        return value.__class__((key, benign(item)) for key, item in value.items())
    if isinstance(value, list):
        return [benign(item) for item in value]
    return value


def shape_of(view):
    """A strategy of results shaped as `view` (a command's result) with names in every string."""
    if isinstance(view, str):
        return NAMES
    if isinstance(view, dict):
        return st.fixed_dictionaries({key: shape_of(item) for key, item in view.items()})
    if isinstance(view, list):
        return st.lists(shape_of(view[0]), min_size=1, max_size=4) if view else st.just([])
    return st.just(view)


FINDING = {"scope": "vm", "name": "n", "severity": "error", "reasonCode": "c", "reason": "r", "action": "a",
           "command": "c"}
VM = {"name": "n", "cluster": "c", "server": "s", "guestOs": "g", "osBuild": "b", "eligibleBenefit": "e",
      "benefitStatus": "Inactive benefits", "action": "a", "accessMethod": "v2", "command": "c", "reasonCode": "r",
      "reason": "r", "benefits": [{"benefit": "b", "status": "s"}], "readFrom": "resourceGraph"}
SERVER = {"name": "n", "status": "Active", "statusSource": "arm", "legacyOsSupport": "On", "lastSync": "t",
          "expiresOn": "t", "action": "a", "command": "c"}
CLUSTER = {"name": "n", "id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.AzureStackHCI/clusters/n",
           "resourceGroup": "g", "hostStatus": "On", "legacyOsSupport": "On", "servers": [SERVER],
           "lastSync": "t", "daysUntilExpiry": 3, "vmSummary": {"total": 1}, "findings": [FINDING]}
TRUSTED = {"name": "n", "securityType": "TrustedLaunch", "secureBoot": "On", "vtpm": "On", "vtpmStateTransfer": "s",
           "guestAttestation": {"healthStatus": "h"}, "imageSource": "i", "status": "s", "action": "a",
           "command": "c", "checks": [{"check": "c", "status": "s", "reasonCode": "r", "action": "a", "command": "c"}]}
CHECK = {"findings": [dict(FINDING, cluster="c", matched=True)], "totals": {"vms": {"total": 1}},
         "clusters": [CLUSTER], "vms": [VM]}
COMMANDS = {  # each command's result, as its view functions shape it
    "show": (CLUSTER, _format.transform_cluster_show), "list": ([CLUSTER], _format.transform_cluster_list),
    "server list": ([SERVER], _format.transform_server_list), "vm list": ([VM], _format.transform_vm_list),
    "vm show": (VM, _format.transform_vm_show),
    "trusted-launch list": ([TRUSTED], _format.transform_trusted_launch_list),
    "trusted-launch show": (TRUSTED, _format.transform_trusted_launch_show), "check": (CHECK, _format.transform_check),
}


def assert_safe_tsv(result):
    text = tsv(_format.terminal_safe(result, tsv=True))
    assert fields(text) == fields(tsv(_format.terminal_safe(benign(result), tsv=True)))
    assert not CONTROL.search(text) and "\r" not in text


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_no_string_anywhere_changes_a_tsv_line(result):
    assert_safe_tsv(result)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(COMMANDS)).flatmap(lambda command: st.tuples(st.just(command),
                                                                           shape_of(COMMANDS[command][0]))))
def test_no_name_changes_the_tsv_or_table_line_of_any_command(case):
    command, result = case
    assert_safe_tsv(result)
    for query in (lambda value: value, lambda value: [value] if isinstance(value, dict) else value):
        assert_safe_tsv(query(result))
    table = format_table(CommandResultItem(_format.terminal_safe(result), table_transformer=COMMANDS[command][1]))
    assert not CONTROL.search(table.replace("\n", ""))


# ----------------------------------------------------------------------------------- the loader's hook

class FakeCli:
    """The events knack raises, the way az raises them."""

    def __init__(self, output):
        self.handlers = {}
        self.invocation = SimpleNamespace(data={"output": output})

    def register_event(self, name, handler):
        self.handlers.setdefault(name, []).append(handler)

    def unregister_event(self, name, handler):
        self.handlers[name].remove(handler)

    def raise_event(self, name, **kwargs):
        for handler in list(self.handlers.get(name, [])):
            handler(self, **kwargs)


def run(output, command, result, query=None):
    cli = FakeCli(output)
    loader._guard_output(cli)  # pylint: disable=protected-access
    loader._guard_output(cli)  # pylint: disable=protected-access  # once per process, however often loaded
    if query:      # knack registers --query's filter when the arguments are parsed, before this hook runs
        cli.register_event(EVENT_INVOKER_POST_PARSE_ARGS, lambda cli, **_: cli.register_event(
            EVENT_INVOKER_FILTER_RESULT, lambda cli, event_data, **_: event_data.update(result=query(
                event_data["result"]))))
        cli.handlers[EVENT_INVOKER_POST_PARSE_ARGS].reverse()
    cli.raise_event(EVENT_INVOKER_POST_PARSE_ARGS, command=command, args=None)
    event_data = {"result": result}
    cli.raise_event(EVENT_INVOKER_FILTER_RESULT, event_data=event_data)
    return event_data["result"], cli


def test_tsv_and_table_of_this_extension_are_made_safe_and_json_is_exact():
    rows = [{"name": "a\tb"}]
    assert run("tsv", "stack-hci vm-verification vm list", rows)[0] == [{"name": "a\\tb"}]
    assert run("table", "stack-hci vm-verification show", rows)[0] == [{"name": "a\\tb"}]
    for output in ("json", "jsonc", "yaml", "yamlc", "none"):
        assert run(output, "stack-hci vm-verification vm list", rows)[0] is rows
    assert run("tsv", "stack-hci cluster list", rows)[0] is rows           # the stack-hci extension's own
    assert run("tsv", "stack-hci vm-verification-other", rows)[0] is rows


def test_the_query_sees_exact_names_and_its_answer_is_made_safe():
    rows = [{"name": "a\tb"}, {"name": "c"}]
    picked, _ = run("tsv", "stack-hci vm-verification check",
                    rows, query=lambda result: [row["name"] for row in result if row["name"] == "a\tb"])
    assert picked == ["a\\tb"]
