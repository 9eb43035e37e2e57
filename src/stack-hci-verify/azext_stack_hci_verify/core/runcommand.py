# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Host facts collected through Arc Run Command: what came back, read into the same host-facts
document the local `probe` writes. Pure: no I/O, the reference time is passed in.

The script sent through Run Command (adapters/runcommand.py) runs the local probe's own scripts, each
in its own PowerShell process, and prints one line per probe:

    SHV1|<probe>|<exit code, or T when it timed out>|<duration ms>|<length>|<base64 of gzip of JSON>

where the JSON is {"out": stdout, "err": stderr}, then `SHV1|end|<number of probes>`. The lines come
largest first. Run Command keeps only the last 4,096 bytes of a script's output (the documented limit
of Run Command's output), so an output that is too long loses its beginning: the largest probes. A
line that is not whole (prefix, length, gzip or JSON wrong) is never read; its probe becomes Unknown
with reasonCode `output-truncated`, and the other probes still report. A missing end line means the
output was cut at its end: nothing from it is trusted more than its whole lines.
"""

import base64
import binascii
import gzip
import io
import json
import re
import zlib
from dataclasses import dataclass, field
from typing import NamedTuple, Optional

from . import vocabulary as v
from .hostprobe import (
    COMPLETED, PROBE_NAMES, PROBE_UNKNOWN, TIMED_OUT, ProbeRun, build_host_facts, excerpt, interpret)

LINE_PREFIX = "SHV1"
END_NAME = "end"
# Run Command returns at most the last 4,096 bytes of a script's output (the documented restriction of
# Run Command: "Output is limited to the last 4,096 bytes").
OUTPUT_LIMIT_BYTES = 4096
# Run Command on Arc-enabled servers needs Connected Machine agent 1.33 or later.
MIN_AGENT_VERSION = (1, 33)
SOURCE_RUN_COMMAND = "runCommand"
SOURCE_PROBE = "probe"

# Per-server outcomes of a collection.
COLLECTED = "Collected"
PARTIAL = "Partial"
FAILED = "Failed"

REASON_OUTPUT_TRUNCATED = "output-truncated"
REASON_MACHINE_DISCONNECTED = "machine-disconnected"
REASON_AGENT_TOO_OLD = "agent-too-old"
REASON_NO_MACHINE = "no-arc-machine"
REASON_FORBIDDEN = "run-command-forbidden"
REASON_SCRIPT_FAILED = "script-failed"
REASON_TIMEOUT = "run-command-timeout"
REASON_THROTTLED = "run-command-throttled"
REASON_SERVICE = "run-command-error"
REASON_INTERRUPTED = "interrupted"
REASON_NOT_DELETED = "run-command-not-deleted"
REASON_COLLECTED = "host-facts-collected"

PERMISSION_WRITE = "Microsoft.HybridCompute/machines/runCommands/write"
# The built-in role that grants runCommands/write (Run Command on Azure Arc-enabled servers, RBAC).
ROLE_RUN_COMMAND = "Azure Connected Machine Resource Administrator"
ACTION_GRANT_RUN_COMMAND = "Grant Run Command access"
ACTION_UPDATE_AGENT = "Update the Connected Machine agent"
ACTION_RECONNECT = "Reconnect the server to Azure Arc"
ACTION_COLLECT = "Collect host facts"
ACTION_RETRY = "Run it again"
ACTION_DELETE = "Delete the run command"
COMMAND_UPDATE_AGENT = ("msiexec.exe /i AzureConnectedMachineAgent.msi /qn   # the installer from "
                        "https://aka.ms/AzureConnectedMachineAgent")
COMMAND_AGENT_STATUS = "azcmagent show"

_LINE = re.compile(r"^SHV1\|(?P<name>[a-z0-9-]+)\|(?P<exit>-?\d+|T)\|(?P<ms>\d+)\|(?P<length>\d+)\|"
                   r"(?P<data>[A-Za-z0-9+/=]*)$")
_END = re.compile(r"^SHV1\|end\|(?P<count>\d+)$")
_MAX_INFLATED = 8 * 1024 * 1024


class ProbeOutput(NamedTuple):
    """One probe's run as the bundle reported it, with the attributes of the local runner's result
    (status, returncode, stdout, stderr, duration_ms, error), so hostprobe.interpret reads both alike."""
    stdout: str
    stderr: str
    status: str = COMPLETED
    returncode: Optional[int] = None
    duration_ms: int = 0
    error: Optional[str] = None


@dataclass(frozen=True)
class BundleOutput:
    """What a Run Command's output held: the probes whose line was whole, and whether the output was
    cut (lines missing at its start, or no end line)."""
    outputs: dict
    cut: bool
    end_seen: bool
    bytes: int


def read_bundle_output(text):
    """The BundleOutput of a Run Command's output text. Never raises: a line that is not whole is left out."""
    text = text or ""
    outputs, cut, end_seen, expected = {}, False, False, None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        end = _END.match(line)
        if end:
            end_seen, expected = True, int(end.group("count"))
            continue
        parsed = _read_line(line)
        if parsed is None:          # not whole: Run Command cut the output's beginning (or it was changed)
            cut = True
            continue
        name, output = parsed
        outputs[name] = output
    if not end_seen or (expected is not None and expected != len(outputs)):
        cut = True
    return BundleOutput(outputs, cut, end_seen, len(text.encode("utf-8")))


def _read_line(line):
    match = _LINE.match(line)
    if not match or len(match.group("data")) != int(match.group("length")):
        return None
    try:
        raw = base64.b64decode(match.group("data"), validate=True)
        inflated = _inflate(raw)
        payload = json.loads(inflated.decode("utf-8"))
    except (binascii.Error, OSError, EOFError, zlib.error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict):
        return None
    out, err = payload.get("out"), payload.get("err")
    out = out if isinstance(out, str) else ""
    err = err if isinstance(err, str) else ""
    duration = int(match.group("ms"))
    if match.group("exit") == "T":
        return match.group("name"), ProbeOutput(out, err, status=TIMED_OUT, duration_ms=duration,
                                                error="did not finish in time")
    return match.group("name"), ProbeOutput(out, err, returncode=int(match.group("exit")), duration_ms=duration)


def _inflate(raw):
    with gzip.GzipFile(fileobj=io.BytesIO(raw)) as handle:
        data = handle.read(_MAX_INFLATED + 1)
    if len(data) > _MAX_INFLATED:
        raise ValueError("too large")
    return data


@dataclass(frozen=True)
class _Described:
    name: str
    description: str


def collected_document(bundle, *, now, descriptions, cluster_id, machine_id, run_command_name, vm_names=None):
    """The host-facts document (schema 1) from a BundleOutput, as `probe` writes it, plus where it came
    from: `source` runCommand, `collection` {clusterResourceId, machineResourceId, runCommandName,
    outputBytes, outputCut}, and `cluster.azureResourceUri` set to the cluster it was collected for when
    the host did not report one. A probe whose line did not come back whole is Unknown with reasonCode
    output-truncated. `descriptions`: {probe name: what it runs}, for the reasons."""
    runs = [(name, probe_run(bundle, name, descriptions)) for name in PROBE_NAMES]
    document = build_host_facts(runs, now, vm_names)
    cluster = document.get("cluster")
    if isinstance(cluster, dict) and not cluster.get("azureResourceUri"):
        cluster["azureResourceUri"] = cluster_id
    elif cluster is None:
        document["cluster"] = {"name": None, "registrationStatus": None, "connectionStatus": None,
                               "imdsAttestation": None, "azureResourceUri": cluster_id}
    document["source"] = SOURCE_RUN_COMMAND
    document["collection"] = {"clusterResourceId": cluster_id, "machineResourceId": machine_id,
                              "runCommandName": run_command_name, "outputBytes": bundle.bytes,
                              "outputCut": bundle.cut}
    return document


def probe_run(bundle, name, descriptions):
    """The ProbeRun of one probe of a bundle: its output read as the local probe reads it, or Unknown with
    reasonCode output-truncated when its line did not come back whole."""
    label = _Described(name, descriptions.get(name, name))
    output = bundle.outputs.get(name)
    if output is None:
        return ProbeRun(name, PROBE_UNKNOWN, (), REASON_OUTPUT_TRUNCATED, _truncated_reason(label))
    return interpret(label, output)


def _truncated_reason(label):
    return (f"{label.description}: its output did not come back whole (Run Command returns only the last "
            f"{OUTPUT_LIMIT_BYTES:,} bytes of a script's output), so it was not read; run `az stack-hci "
            f"vm-verification probe` on the server and pass the file with --host-facts.")


# ----------------------------------------------------------------------------- the machine first

def agent_version(text):
    """(major, minor) of a Connected Machine agent version such as '1.58.03228.2572'; None if unreadable."""
    match = re.match(r"^\s*(\d+)\.(\d+)", str(text or ""))
    return (int(match.group(1)), int(match.group(2))) if match else None


def machine_problem(machine, server):
    """Why Run Command cannot be used on this Arc machine (a ServerCollection that failed), or None.
    Read before anything is created: a disconnected machine is never waited on."""
    properties = (machine or {}).get("properties") or {}
    status = str(properties.get("status") or "")
    machine_id = (machine or {}).get("id")
    if status.lower() != "connected":
        shown = status or "no status"
        return failed(server, machine_id, REASON_MACHINE_DISCONNECTED,
                      f"Arc machine '{server}' is {shown}, not Connected: Run Command cannot reach it, so its host "
                      "facts were not collected.",
                      ACTION_RECONNECT, COMMAND_AGENT_STATUS)
    version = agent_version(properties.get("agentVersion"))
    if version is None or version < MIN_AGENT_VERSION:
        found = properties.get("agentVersion") or "not reported"
        return failed(server, machine_id, REASON_AGENT_TOO_OLD,
                      f"Arc machine '{server}' runs Connected Machine agent {found}; Run Command needs "
                      f"{MIN_AGENT_VERSION[0]}.{MIN_AGENT_VERSION[1]} or later.",
                      ACTION_UPDATE_AGENT, COMMAND_UPDATE_AGENT)
    return None


# ----------------------------------------------------------------------------- per-server outcome

@dataclass
class ServerCollection:  # pylint: disable=too-many-instance-attributes
    """One server's collection: Collected (every probe reported), Partial (some probes Unknown: see the
    document), or Failed (no document: reasonCode, reason, action and command say why and what to do)."""
    server: str
    machine_id: Optional[str]
    status: str
    reason_code: Optional[str] = None
    reason: Optional[str] = None
    action: Optional[str] = None
    command: Optional[str] = None
    document: Optional[dict] = None
    run_command: Optional[str] = None
    deleted: Optional[bool] = None
    duration_ms: int = 0
    run_commands: list = field(default_factory=list)

    def to_dict(self):
        return {"server": self.server, "machineResourceId": self.machine_id, "status": self.status,
                "reasonCode": self.reason_code, "reason": self.reason, "action": self.action,
                "command": self.command, "runCommands": list(self.run_commands), "runCommandsDeleted": self.deleted,
                "durationMs": self.duration_ms, "collectedAt": (self.document or {}).get("collectedAt"),
                "probeStatus": (self.document or {}).get("probeStatus")}


# pylint: disable-next=too-many-positional-arguments
def failed(server, machine_id, code, reason, action=None, command=None):
    return ServerCollection(server, machine_id, FAILED, code, reason, action, command)


def from_document(server, machine_id, document):
    """The outcome of a server whose output was read: Collected, or Partial naming what is Unknown."""
    if document.get("probeStatus") == "Succeeded":
        return ServerCollection(server, machine_id, COLLECTED, REASON_COLLECTED,
                                f"Host facts of '{server}' were collected through Run Command at "
                                f"{document.get('collectedAt')}.", document=document)
    cut = (document.get("collection") or {}).get("outputCut")
    code = REASON_OUTPUT_TRUNCATED if cut else document.get("reasonCode")
    reason = (f"Part of the output of '{server}' did not come back whole (Run Command keeps only the last "
              f"{OUTPUT_LIMIT_BYTES:,} bytes); those facts are Unknown. {document.get('reason') or ''}").strip() \
        if cut else f"'{server}': {document.get('reason')}"
    return ServerCollection(server, machine_id, PARTIAL, code, reason, ACTION_COLLECT,
                            f"az stack-hci vm-verification probe   # on {server}", document=document)


def instance_view_outcome(server, machine_id, instance_view):
    """(ServerCollection or None, output text): None when the script ran to the end with exit code 0, so
    that its output is read; else the Failed outcome that says why (stderr's first lines)."""
    view = instance_view or {}
    state = str(view.get("executionState") or "Unknown")
    exit_code = view.get("exitCode")
    if state == "Succeeded" and exit_code in (0, None):
        return None, view.get("output") or ""
    if state == "TimedOut":
        return failed(server, machine_id, REASON_TIMEOUT,
                      f"The probe on '{server}' did not finish within the run command's time limit.",
                      ACTION_RETRY, "--timeout SECONDS"), ""
    first = _first_lines(view.get("error")) or _first_lines(view.get("executionMessage")) or "no error text"
    return failed(server, machine_id, REASON_SCRIPT_FAILED,
                  f"The probe on '{server}' ended {state} with exit code {exit_code}: {first}",
                  ACTION_COLLECT, f"az stack-hci vm-verification probe   # on {server}"), ""


def _first_lines(text, count=3):
    lines = [" ".join(line.split()) for line in str(text or "").splitlines() if line.strip()]
    return excerpt(" / ".join(lines[:count]), 300) if lines else ""


def forbidden(server, machine_id, assignee=None):
    scope = machine_id or "<machine id>"
    return failed(server, machine_id, REASON_FORBIDDEN,
                  f"Access denied creating a run command on '{server}': the signed-in identity lacks "
                  f"'{PERMISSION_WRITE}' (the built-in role '{ROLE_RUN_COMMAND}' grants it).",
                  ACTION_GRANT_RUN_COMMAND,
                  f"az role assignment create --assignee {assignee or '<object-id>'} --role "
                  f"\"{ROLE_RUN_COMMAND}\" --scope {scope}")


def summary(outcomes):
    """Counts of a collection's outcomes by status."""
    counts = {COLLECTED: 0, PARTIAL: 0, FAILED: 0}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return {"collected": counts[COLLECTED], "partial": counts[PARTIAL], "failed": counts[FAILED],
            "total": len(outcomes)}


def finding(cluster_name, outcome):
    """The cluster finding of one server's collection (info when collected, warning otherwise)."""
    severity = v.SEVERITY_INFO if outcome.status == COLLECTED else v.SEVERITY_WARNING
    return {"scope": "server", "name": outcome.server, "severity": severity, "reasonCode": outcome.reason_code,
            "reason": outcome.reason, "action": outcome.action, "command": outcome.command,
            "source": SOURCE_RUN_COMMAND, "cluster": cluster_name,
            "collectedAt": (outcome.document or {}).get("collectedAt")}
