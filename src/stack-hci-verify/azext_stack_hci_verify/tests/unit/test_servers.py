# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""A server's status from ARM and from the host's own report, judged at a reference time, and the
newer of the two."""

from datetime import timedelta

import pytest

from azext_stack_hci_verify.core import clusters, servers, vocabulary as v
from azext_stack_hci_verify.core.hostfacts import NodeAttestation, normalize_node_status
from azext_stack_hci_verify.core.timeutil import format_timestamp

from .core_fixtures import NOW, arm_cluster, host, host_document


def arm_facts(**kwargs):
    return clusters.cluster_facts_from_arm(arm_cluster(**kwargs))


def from_arm(node="NODE1", **kwargs):
    facts = arm_facts(**kwargs)
    return servers.from_arm(clusters.host_status_from_arm(facts), facts, node, v.ON, NOW)


def row(status="Active", expiration=NOW + timedelta(days=20), name="NODE1"):
    return NodeAttestation(name, servers_status(status), status, expiration, v.ON)


def servers_status(raw):
    return normalize_node_status(raw)


def from_host(status="Active", expiration=NOW + timedelta(days=20), stale=False, collected=NOW - timedelta(hours=1)):
    document = host(host_document("NODE1", status=status, collected=collected))
    return servers.from_host(row(status, expiration), document, stale, None, v.ON, now=NOW)


# ----------------------------------------------------------------------------- from ARM

def test_arm_active_within_30_days():
    verdict = from_arm()
    assert (verdict.status, verdict.status_source, verdict.action, verdict.command) == (
        v.SERVER_ACTIVE, v.SOURCE_ARM, None, None)
    assert verdict.expires_on == verdict.last_sync + timedelta(days=30)


def test_arm_expired_after_30_days():
    verdict = from_arm(last_sync=NOW - timedelta(days=31))
    assert (verdict.status, verdict.action, verdict.command) == (v.SERVER_EXPIRED, v.ACTION_SYNC, v.COMMAND_SYNC)


def test_arm_host_off_makes_the_server_inactive_with_sync():
    verdict = from_arm(imds="Disabled")
    assert (verdict.status, verdict.action, verdict.command) == (v.SERVER_INACTIVE, v.ACTION_SYNC, v.COMMAND_SYNC)


@pytest.mark.parametrize("last_sync", ["garbage", None])
def test_arm_unreadable_or_absent_last_sync_is_unknown_with_an_action(last_sync):
    verdict = from_arm(last_sync=last_sync)
    assert verdict.status == v.UNKNOWN and verdict.action and verdict.command and verdict.reason_code
    if last_sync:
        assert repr(last_sync) in verdict.reason or last_sync in verdict.reason


def test_arm_last_sync_in_the_future_is_clock_skew_not_active():
    verdict = from_arm(last_sync=NOW + timedelta(days=365 * 70))
    assert (verdict.status, verdict.reason_code) == (v.UNKNOWN, v.REASON_CLOCK_SKEW)
    assert verdict.action and verdict.command


def test_arm_last_sync_a_minute_ahead_is_tolerated():
    assert from_arm(last_sync=NOW + timedelta(minutes=1)).status == v.SERVER_ACTIVE


def test_arm_30_days_and_a_minute_is_not_30_days_ago():
    verdict = from_arm(last_sync=NOW - timedelta(days=30, minutes=1))
    assert verdict.status == v.SERVER_EXPIRED
    assert "30 days ago" not in verdict.reason


@pytest.mark.parametrize("past", [timedelta(microseconds=1), timedelta(milliseconds=500), timedelta(seconds=1),
                                  timedelta(minutes=1), timedelta(days=10)])
def test_arm_expired_reason_is_true_however_small_the_excess(past):
    last_sync = NOW - timedelta(days=30) - past
    verdict = from_arm(last_sync=last_sync)
    assert verdict.status == v.SERVER_EXPIRED
    assert "30 days ago" not in verdict.reason and "0 seconds" not in verdict.reason
    assert "expired at {}".format(format_timestamp(last_sync + timedelta(days=30))) in verdict.reason
    assert "{} ago".format(servers.describe_age(past)) in verdict.reason
    assert "last synced with Azure at {}".format(format_timestamp(last_sync)) in verdict.reason


@pytest.mark.parametrize("delta", [timedelta(microseconds=1), timedelta(milliseconds=999)])
def test_describe_age_under_a_second_is_not_zero(delta):
    assert servers.describe_age(delta) == "less than a second"


def test_describe_age_of_nothing_is_zero_seconds():
    assert servers.describe_age(timedelta(0)) == "0 seconds"


def test_host_row_expired_under_a_second_ago_says_so():
    verdict = from_host(expiration=NOW - timedelta(milliseconds=300))
    assert verdict.status == v.SERVER_EXPIRED
    assert "less than a second ago" in verdict.reason and "0 seconds" not in verdict.reason


def test_describe_age_never_rounds_a_passed_limit_back_onto_it():
    assert servers.describe_age(timedelta(days=30, minutes=1)) != "30 days"


@pytest.mark.parametrize("delta, text", [
    (timedelta(days=3), "3 days"), (timedelta(days=1), "1 day"), (timedelta(days=30, hours=2), "30 days and 2 hours"),
    (timedelta(minutes=45), "45 minutes"), (timedelta(hours=1), "1 hour"),
])
def test_describe_age(delta, text):
    assert servers.describe_age(delta) == text


# ----------------------------------------------------------------------------- from the host

def test_host_active_row():
    verdict = from_host()
    assert (verdict.status, verdict.status_source, verdict.action) == (v.SERVER_ACTIVE, v.SOURCE_HOST, None)


@pytest.mark.parametrize("status", ["Active", "Expired"])
def test_host_row_past_its_expiration_is_expired_whatever_its_status_says(status):
    verdict = from_host(status, expiration=NOW - timedelta(days=10))
    assert (verdict.status, verdict.action, verdict.command) == (v.SERVER_EXPIRED, v.ACTION_SYNC, v.COMMAND_SYNC)
    assert "(in -" not in verdict.reason and "10 days ago" in verdict.reason


@pytest.mark.parametrize("status", ["Inactive", "Error", "Expired"])
def test_host_rows_that_are_not_active(status):
    verdict = from_host(status)
    assert (verdict.status, verdict.action, verdict.command) == (status, v.ACTION_SYNC, v.COMMAND_SYNC)


def test_a_stale_active_row_cannot_make_the_server_active():
    verdict = from_host("Active", stale=True, collected=NOW - timedelta(days=60))
    assert verdict.status != v.SERVER_ACTIVE
    assert verdict.reason_code == v.REASON_HOST_FACTS_STALE and verdict.action and verdict.command


def test_a_stale_row_still_shows_what_is_off():
    assert from_host("Error", stale=True, collected=NOW - timedelta(days=60)).status == v.SERVER_ERROR


@pytest.mark.parametrize("status", ["Pending", "Frozen", 9])
def test_a_status_this_version_does_not_know_is_unknown_naming_it(status):
    verdict = from_host(status)
    assert (verdict.status, verdict.reason_code) == (v.UNKNOWN, v.REASON_UNRECOGNIZED_VALUE)
    assert str(status) in verdict.reason and verdict.action and verdict.command


def test_a_row_without_a_status_is_unknown_with_an_action():
    verdict = from_host(None)
    assert verdict.status == v.UNKNOWN and verdict.action and verdict.command


@pytest.mark.parametrize("raw, expected", [
    (0, v.SERVER_INACTIVE), (1, v.SERVER_ACTIVE), (2, v.SERVER_EXPIRED), (3, v.SERVER_ERROR), (9, v.UNKNOWN),
    ("Error", v.SERVER_ERROR), ("active", v.SERVER_ACTIVE), ("2", v.SERVER_EXPIRED), ("Frozen", v.UNKNOWN),
    (None, v.UNKNOWN), (True, v.UNKNOWN),
])
def test_host_status_values_as_powershell_writes_them(raw, expected):
    assert servers_status(raw) == expected


# ----------------------------------------------------------------------------- the newer observation

def _arm(status, observed):
    return servers.ServerVerdict("NODE1", status, v.SOURCE_ARM, v.ON, observed, None, "x", "arm says",
                                 observed_at=observed)


def _host(status, observed):
    return servers.ServerVerdict("NODE1", status, v.SOURCE_HOST, v.ON, None, None, "y", "host says",
                                 observed_at=observed)


def test_newer_takes_the_newer_observation_and_lists_the_disagreement():
    arm, host_verdict = _arm(v.SERVER_ACTIVE, NOW - timedelta(days=2)), _host(v.SERVER_ERROR, NOW - timedelta(hours=1))
    chosen = servers.newer(arm, host_verdict)
    assert chosen.status == v.SERVER_ERROR and chosen.status_source == v.SOURCE_HOST
    assert len(chosen.conflicts) == 1
    conflict = chosen.conflicts[0]
    assert (conflict["arm"], conflict["host"]) == (v.SERVER_ACTIVE, v.SERVER_ERROR)

    arm, host_verdict = _arm(v.SERVER_ACTIVE, NOW - timedelta(hours=1)), _host(v.SERVER_ERROR, NOW - timedelta(days=2))
    chosen = servers.newer(arm, host_verdict)
    assert chosen.status == v.SERVER_ACTIVE and chosen.status_source == v.SOURCE_ARM and chosen.conflicts


def test_newer_without_a_disagreement_lists_none():
    chosen = servers.newer(_arm(v.SERVER_ACTIVE, NOW - timedelta(days=2)), _host(v.SERVER_ACTIVE, NOW))
    assert chosen.conflicts == ()


def test_newer_with_one_side_missing():
    only = _arm(v.SERVER_ACTIVE, NOW)
    assert servers.newer(only, None) is only and servers.newer(None, only) is only


def test_an_undated_observation_loses_to_a_dated_one():
    chosen = servers.newer(_arm(v.SERVER_EXPIRED, NOW - timedelta(days=40)), _host(v.SERVER_ACTIVE, None))
    assert chosen.status == v.SERVER_EXPIRED


def test_server_view_fields():
    view = servers.server_view(from_arm(last_sync=NOW - timedelta(days=40)))
    assert (view["name"], view["status"], view["statusSource"], view["action"], view["command"]) == (
        "NODE1", v.SERVER_EXPIRED, v.SOURCE_ARM, v.ACTION_SYNC, v.COMMAND_SYNC)
    assert view["reasonCode"] and view["reason"] and view["conflicts"] == []
