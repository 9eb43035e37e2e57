# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The host-facts parser and the timestamp reader."""

import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, strategies as st

from azext_stack_hci_verify.core import vocabulary as v
from azext_stack_hci_verify.core.hostfacts import HostFacts, HostFactsError, parse_host_facts
from azext_stack_hci_verify.core.timeutil import format_timestamp, parse_timestamp

GOOD = {
    "schemaVersion": 1, "collectedAt": "2026-11-20T10:00:00Z", "computerName": "NODE1",
    "cluster": {"name": "LocalCluster", "registrationStatus": "Registered", "connectionStatus": "Connected",
                "imdsAttestation": "Enabled"},
    "attestation": [{"computerName": "NODE1", "status": "Active", "expiration": "2026-12-15T10:00:00Z",
                     "legacyOsSupport": "Enabled"}],
    "hostImdsSwitchPresent": True,
    "vms": [{"name": "vm01", "vmId": "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "generation": 2}],
    "someFutureField": {"ignored": True},
}


def test_good_document():
    facts = parse_host_facts(json.dumps(GOOD), "node1.json")
    assert facts.computer_name == "NODE1" and facts.imds_attestation == "Enabled"
    assert facts.attestation[0].status == v.SERVER_ACTIVE and facts.attestation[0].legacy_os_support == v.ON
    assert facts.attestation[0].expiration == datetime(2026, 12, 15, 10, tzinfo=timezone.utc)
    assert facts.vms[0]["name"] == "vm01" and facts.host_imds_switch_present is True


def test_powershell_51_dialect():
    row = {"computerName": "NODE1", "status": 2, "expiration": "\\/Date(1765792800000)\\/", "legacyOsSupport": 0}
    document = dict(GOOD, attestation=row)
    facts = parse_host_facts(json.dumps(document), "node1.json")
    row = facts.attestation[0]
    assert row.status == v.SERVER_EXPIRED and row.legacy_os_support == v.OFF
    assert format_timestamp(row.expiration) == "2025-12-15T10:00:00Z"


def test_nulls_are_allowed():
    document = {"schemaVersion": 1, "computerName": None, "collectedAt": None, "cluster": None,
                "attestation": None, "hostImdsSwitchPresent": None, "vms": None}
    facts = parse_host_facts(json.dumps(document), "x.json")
    assert facts.attestation == () and facts.vms == () and facts.imds_attestation is None


@pytest.mark.parametrize("text, fragment", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must hold a JSON object"),
    ('{"cluster": {}}', "has no schemaVersion"),
    ('{"schemaVersion": 2}', "schemaVersion 2"),
    ('{"schemaVersion": "1"}', 'schemaVersion "1"'),
    ('{"schemaVersion": true}', "schemaVersion true"),
    ('{"schemaVersion": 1, "cluster": []}', "field 'cluster' must be an object"),
    ('{"schemaVersion": 1, "attestation": "Active"}', "field 'attestation' must be a list"),
    ('{"schemaVersion": 1, "attestation": [{"status": "Active"}]}', "attestation[0] has no computerName"),
    ('{"schemaVersion": 1, "attestation": [3]}', "attestation[0] must be an object"),
    ('{"schemaVersion": 1, "attestation": [{"computerName": "N", "expiration": "soon"}]}', "not a timestamp"),
    ('{"schemaVersion": 1, "vms": [{"generation": 2}]}', "vms[0] has neither a name nor a vmId"),
    ('{"schemaVersion": 1, "vms": 7}', "field 'vms' must be a list"),
    ('{"schemaVersion": 1, "hostImdsSwitchPresent": "yes"}', "hostImdsSwitchPresent"),
    ('{"schemaVersion": 1, "collectedAt": "yesterday"}', "collectedAt"),
    # A JSON number is no timestamp (never read as epoch seconds): the probe writes dates as text.
    ('{"schemaVersion": 1, "collectedAt": 1763632800}', "field 'collectedAt' is a number, not a timestamp"),
    ('{"schemaVersion": 1, "collectedAt": 1763632800.5}', "field 'collectedAt' is a number, not a timestamp"),
    ('{"schemaVersion": 1, "collectedAt": true}', "field 'collectedAt' is a boolean, not a timestamp"),
    ('{"schemaVersion": 1, "collectedAt": {"value": "x"}}', "field 'collectedAt' is an object, not a timestamp"),
    ('{"schemaVersion": 1, "attestation": [{"computerName": "N", "expiration": 1765792800}]}',
     "attestation[0].expiration is a number, not a timestamp"),
    ('{"schemaVersion": 1, "attestation": [{"computerName": "N", "expiration": 0}]}',
     "attestation[0].expiration is a number, not a timestamp"),
    ('{"schemaVersion": 1, "attestation": [{"computerName": "N", "expiration": ["2026-12-15"]}]}',
     "attestation[0].expiration is a list, not a timestamp"),
])
def test_bad_documents_say_why(text, fragment):
    with pytest.raises(HostFactsError) as info:
        parse_host_facts(text, "bad.json")
    assert fragment in str(info.value)


def _containers(children):
    return st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                     _containers, max_leaves=20)


@given(st.text(max_size=200))
def test_parser_raises_only_host_facts_error_on_any_text(text):
    try:
        facts = parse_host_facts(text, "fuzz.json")
    except HostFactsError as error:
        assert str(error)
    else:
        assert isinstance(facts, HostFacts) and facts.source == "fuzz.json"


@given(st.dictionaries(st.sampled_from(["cluster", "attestation", "vms", "collectedAt", "computerName",
                                        "hostImdsSwitchPresent", "other"]), _JSON, max_size=6))
def test_parser_raises_only_host_facts_error_on_any_schema1_shape(fields):
    document = dict(fields, schemaVersion=1)
    try:
        facts = parse_host_facts(json.dumps(document), "fuzz.json")
    except HostFactsError as error:
        assert str(error)
    else:
        assert isinstance(facts, HostFacts) and facts.source == "fuzz.json"


@pytest.mark.parametrize("text, expected", [
    ("2026-11-20T08:15:42.1234567Z", "2026-11-20T08:15:42Z"),
    ("2026-11-20T08:15:42Z", "2026-11-20T08:15:42Z"),
    ("2026-11-20T08:15:42", "2026-11-20T08:15:42Z"),
    ("2026-11-20 08:15:42+01:00", "2026-11-20T07:15:42Z"),
    ("2026-11-20T08:15:42.5-0500", "2026-11-20T13:15:42Z"),
    ("2026-11-20T08:15Z", "2026-11-20T08:15:00Z"),
    ("\\/Date(1700000000000)\\/", "2023-11-14T22:13:20Z"),
    ("/Date(1700000000000)/", "2023-11-14T22:13:20Z"),
    ("11/19/25 18:53:30 -0000", "2025-11-19T18:53:30Z"),
    ("11/19/2025 6:53:30 PM", "2025-11-19T18:53:30Z"),
    ("", None), ("soon", None), (None, None), ("2026-13-45T00:00:00Z", None),
])
def test_parse_timestamp(text, expected):
    assert format_timestamp(parse_timestamp(text)) == expected


@pytest.mark.parametrize("value", [1763632800, 1763632800.25, 0, -1, 1763632800000, True, False])
def test_a_number_is_not_a_timestamp(value):
    # ARM, PowerShell and the probe write dates as text; a number is malformed, never epoch seconds.
    assert parse_timestamp(value) is None


@given(st.one_of(st.text(max_size=40), st.integers(), st.floats(), st.none(), st.booleans()))
def test_parse_timestamp_never_raises(value):
    result = parse_timestamp(value)
    assert result is None or result.tzinfo is not None
