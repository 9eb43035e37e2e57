# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Each server's Azure verification status, from ARM and from the host's own report. Pure.

Certificates are renewed at every sync and are valid for 30 days (seed 000): ARM's
lastSyncTimestamp bounds a server's status, and a host row whose `expiration` has passed is
Expired whatever its `status` string says. Where ARM and a host file disagree, the newer
observation wins (ARM's lastSyncTimestamp against the file's collectedAt) and the disagreement is
kept. A stale file never makes a server Active.
"""

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Optional

from . import fixes
from . import vocabulary as v
from .timeutil import format_timestamp

NOT_ACTIVE = (v.SERVER_EXPIRED, v.SERVER_INACTIVE, v.SERVER_ERROR)


@dataclass(frozen=True)
class ServerVerdict:  # pylint: disable=too-many-instance-attributes
    name: str
    status: str
    status_source: str
    legacy_os_support: str
    last_sync: object
    expires_on: object
    reason_code: str
    reason: str
    observed_at: object = None      # when the observation behind it was made (ARM's last sync, a file's collectedAt)
    action: Optional[str] = None
    command: Optional[str] = None
    conflicts: tuple = ()


def describe_age(delta):
    """'3 days', '30 days and 1 minute', '45 minutes', 'less than a second': the largest unit and the
    next one that is not zero (what is left is cut, never rounded up), so an age past a limit never reads
    as the limit itself and a moment that has passed never reads as no time at all."""
    seconds = max(int(delta.total_seconds()), 0)
    units = [(seconds // 86400, "day"), (seconds % 86400 // 3600, "hour"), (seconds % 3600 // 60, "minute"),
             (seconds % 60, "second")]
    parts = [f"{count} {unit}{'' if count == 1 else 's'}" for count, unit in units if count]
    if parts:
        return " and ".join(parts[:2])
    return "less than a second" if delta > timedelta(0) else "0 seconds"


def from_arm(cluster_host, facts, node_name, legacy, now):
    """A server's status as far as ARM can tell. `cluster_host` is the cluster's ARM host verdict
    (clusters.host_status_from_arm); a cluster-level cause is every server's cause."""
    sync = credible(facts.last_sync, now)
    expires_on = sync + v.CERTIFICATE_LIFETIME if sync else None

    def verdict(status, code, reason, fix=(None, None)):
        return ServerVerdict(node_name, status, v.SOURCE_ARM, legacy, facts.last_sync, expires_on, code, reason,
                             facts.last_sync, *fix)

    if cluster_host.value == v.OFF:
        return verdict(v.SERVER_INACTIVE, cluster_host.reason_code, cluster_host.reason, fixes.sync_fix())
    if cluster_host.value != v.ON:
        status = v.SERVER_INACTIVE if cluster_host.reason_code == v.REASON_CLUSTER_NOT_REGISTERED else v.UNKNOWN
        return verdict(status, cluster_host.reason_code, cluster_host.reason,
                       (cluster_host.action, cluster_host.command))
    if facts.last_sync is None:
        reason = ("The cluster reports no lastSyncTimestamp" if facts.last_sync_raw is None else
                  f"The cluster's lastSyncTimestamp {facts.last_sync_raw!r} cannot be read")
        return verdict(v.UNKNOWN, "last-sync-unknown",
                       f"{reason}, so the expiry of {node_name}'s certificate cannot be told; the host's own report "
                       "says.", fixes.collect_fix(node_name))
    if facts.last_sync - now > v.CLOCK_SKEW_TOLERANCE:
        return verdict(v.UNKNOWN, v.REASON_CLOCK_SKEW,
                       f"The cluster's last sync {format_timestamp(facts.last_sync)} is "
                       f"{describe_age(facts.last_sync - now)} after the reference time {format_timestamp(now)}: a "
                       "clock is wrong, so the expiry "
                       "cannot be told; the host's own report says.", fixes.collect_fix(node_name))
    if now > expires_on:
        # Told from the expiry, not the age of the sync: "30 days ago" and "more than 30 days" would both be
        # true of a sync 30 days and half a second ago, and read as a contradiction.
        return verdict(v.SERVER_EXPIRED, "not-synced-30-days",
                       f"Its attestation certificate expired at {format_timestamp(expires_on)} "
                       f"({describe_age(now - expires_on)} ago): the cluster last synced with Azure at "
                       f"{format_timestamp(facts.last_sync)}, "
                       "and a certificate is valid for 30 days after the sync that renews it.",
                       fixes.sync_fix())
    return verdict(v.SERVER_ACTIVE, "active",
                   f"Synced with Azure {describe_age(max(now - facts.last_sync, timedelta(0)))} ago; attestation is "
                   f"valid until {format_timestamp(expires_on)}.")


def from_host(row, document, stale, last_sync, legacy, *, now):
    """A server's status as the host's Get-AzureStackHCIAttestation reported it, judged at `now`."""
    def verdict(status, code, reason, fix=(None, None)):
        return ServerVerdict(row.computer_name, status, v.SOURCE_HOST, legacy, last_sync, row.expiration, code,
                             reason, document.collected_at, *fix)

    said = f"The host-facts file '{document.source}' reports {_quoted(row.raw_status)}"
    if row.status == v.UNKNOWN:
        if row.raw_status is None:
            return verdict(v.UNKNOWN, "host-status-not-reported",
                           f"The host-facts file '{document.source}' lists {row.computer_name} with no status.",
                           fixes.collect_fix(row.computer_name))
        return verdict(v.UNKNOWN, v.REASON_UNRECOGNIZED_VALUE,
                       f"{said}, a status this version does not know.", fixes.update_fix())
    if row.expiration is not None and now > row.expiration and row.status in (v.SERVER_ACTIVE, v.SERVER_EXPIRED):
        return verdict(v.SERVER_EXPIRED, "certificate-expired",
                       f"{said}, but its certificate expired at {format_timestamp(row.expiration)} "
                       f"({describe_age(now - row.expiration)} ago); a sync renews it.",
                       fixes.sync_fix())
    if row.status in NOT_ACTIVE:
        return verdict(row.status, "host-reports-" + row.status.lower(),
                       f"{said}; a sync with Azure renews the certificate.", fixes.sync_fix())
    if stale:
        return verdict(v.UNKNOWN, v.REASON_HOST_FACTS_STALE,
                       f"{said}, but the file is stale (see its finding), so it cannot vouch that the server is Active "
                       "now.", fixes.collect_fix(row.computer_name))
    until = f" until {format_timestamp(row.expiration)}" if row.expiration else ""
    return verdict(v.SERVER_ACTIVE, "active", f"{said}, valid{until}.")


def _quoted(raw):
    return f"status '{raw}'" if raw is not None else "no status"


def credible(moment, now):
    """An observation time, or None when it is later than the reference time (a clock is wrong)."""
    if moment is None or now is None or moment - now <= v.CLOCK_SKEW_TOLERANCE:
        return moment
    return None


def newer(arm, host, now=None):
    """The verdict of the newer observation (ties go to the host, which sees itself); the other's
    disagreement, if any, is kept in `conflicts`."""
    if host is None:
        return arm
    if arm is None:
        return host
    host_time, arm_time = credible(host.observed_at, now), credible(arm.observed_at, now)
    if host_time is None and arm_time is not None:
        chosen, other = arm, host
    elif arm_time is None or host_time >= arm_time:
        chosen, other = host, arm
    else:
        chosen, other = arm, host
    if chosen.status == other.status:
        return chosen
    conflict = {"fact": "status", "arm": arm.status, "host": host.status,
                "armObservedAt": format_timestamp(arm_time), "hostObservedAt": format_timestamp(host_time),
                "chosen": chosen.status_source}
    return replace(chosen, conflicts=chosen.conflicts + (conflict,))


def server_view(server):
    return {
        "name": server.name,
        "status": server.status,
        "statusSource": server.status_source,
        "legacyOsSupport": server.legacy_os_support,
        "lastSync": format_timestamp(server.last_sync),
        "expiresOn": format_timestamp(server.expires_on),
        "action": server.action,
        **fixes.fix_fields(server.command),
        "reasonCode": server.reason_code,
        "reason": server.reason,
        "conflicts": [dict(conflict) for conflict in server.conflicts],
    }
