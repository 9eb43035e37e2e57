# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Arc Run Command on the emulator's machines (Microsoft.HybridCompute/machines/{m}/runCommands/{name}).

A PUT starts a job that runs the submitted script through the fake PowerShell
(emulator/fake_powershell/fake-powershell) with the recordings assigned to that machine, so the
emulator never knows the expected answer; the run completes after `delayMs` (or when the script
ends, if later). GET answers the resource with its `instanceView` (executionState, exitCode,
output, error, times); while running it sends `Retry-After` with the seconds left. DELETE removes
it (and stops the job); a list shows what is left.

Which recordings a machine replays: `runCommand.machines` in the fixture directory's
`_emulator.json` (or `POST /_emulator/runcommands`), keyed by machine name (case-insensitive):
`{"recordings": "<scenario directory under fake_powershell/recordings, or an absolute path>",
"computerName": "<name host-info reports instead>", "vms": false}` (`vms: false`: the VM probes
report no VMs, for a server whose VMs run elsewhere). A machine with no entry fails its runs with
exit code 1 and says so on stderr.

Faults on demand (settings `modes`, by machine name or `*`): `fail` (exit code 1, an error on
stderr), `hang` (never finishes), `cut` (the output is cut to its last `outputLimit` bytes, the
limit Run Command documents; 4,096 by default and always applied), `old-agent` and `disconnected`
(the machine document is changed to say so). `writesPerSecond`/`writeBurst`: a token bucket per
subscription for PUT and DELETE on runCommands (ARM's: 10 a second, 200 at most; null turns it off);
beyond it, 429 with Retry-After. `throttled` in the settings counts the writes it refused.
"""

import base64
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE_POWERSHELL = os.path.join(HERE, "fake_powershell", "fake-powershell")
RECORDINGS = os.path.join(HERE, "fake_powershell", "recordings")
OUTPUT_LIMIT = 4096
# The write throttle is ARM's: a bucket of 200 writes per subscription, refilled at 10 a second.
_DEFAULTS = {"delayMs": 200, "outputLimit": OUTPUT_LIMIT, "modes": {}, "machines": {},
             "writesPerSecond": 10, "writeBurst": 200}


def _now_text():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class RunCommands:
    """The run commands of every machine, and the settings of the fake that runs them."""

    def __init__(self, settings=None):
        self._lock = threading.Lock()
        self.jobs = {}                  # lower run command id -> job dict
        self.settings = dict(_DEFAULTS)
        self.settings.update(settings or {})
        self._buckets = {}              # lower subscription -> (tokens, at)
        self.created = 0
        self.throttled_writes = 0

    # ---- settings

    def set(self, body):
        body = body or {}
        unknown = set(body) - set(_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown run command settings: {sorted(unknown)}")
        with self._lock:
            self.settings.update(body)
        return self.get_settings()

    def get_settings(self):
        with self._lock:
            return dict(self.settings, throttled=self.throttled_writes, created=self.created)

    def _mode(self, machine_name):
        modes = self.settings.get("modes") or {}
        lowered = {str(key).lower(): value for key, value in modes.items()}
        return lowered.get(machine_name.lower()) or lowered.get("*")

    def machine_view(self, document):
        """The machine document as served: changed by the `old-agent` / `disconnected` modes."""
        mode = self._mode(str(document.get("name") or ""))
        if mode not in ("old-agent", "disconnected"):
            return document
        changed = dict(document)
        properties = dict(changed.get("properties") or {})
        if mode == "old-agent":
            properties["agentVersion"] = "1.30.02203.718"
        else:
            properties["status"] = "Disconnected"
        changed["properties"] = properties
        return changed

    # ---- throttle

    def throttled(self, subscription):
        """Seconds to wait when a write of `subscription` is over the bucket, else None (and a token taken)."""
        rate = self.settings.get("writesPerSecond")
        if not rate:
            return None
        burst = float(self.settings.get("writeBurst") or 1)
        with self._lock:
            now = time.monotonic()
            tokens, at = self._buckets.get(subscription.lower(), (burst, now))
            tokens = min(burst, tokens + (now - at) * rate)
            if tokens < 1:
                self._buckets[subscription.lower()] = (tokens, now)
                self.throttled_writes += 1
                return (1 - tokens) / rate
            self._buckets[subscription.lower()] = (tokens - 1, now)
            return None

    # ---- the resources

    def put(self, machine, run_command_id, name, body):
        script = (((body or {}).get("properties") or {}).get("source") or {}).get("script")
        if not isinstance(script, str) or not script:
            return 400, {"error": {"code": "InvalidParameter", "message": "properties.source.script is required."}}
        mode = self._mode(str(machine.get("name") or ""))
        job = {"id": run_command_id, "name": name, "machine": machine, "script": script, "mode": mode,
               "state": "Running", "started": time.monotonic(), "startTime": _now_text(), "endTime": None,
               "exitCode": None, "output": "", "error": "", "result": None, "process": None,
               "location": (body or {}).get("location") or machine.get("location"),
               "timeoutInSeconds": ((body or {}).get("properties") or {}).get("timeoutInSeconds")}
        with self._lock:
            previous = self.jobs.get(run_command_id.lower())
            self.jobs[run_command_id.lower()] = job
            self.created += 1
        if previous is not None:
            _stop(previous)
        if mode != "hang":
            threading.Thread(target=self._run, args=(job,), daemon=True).start()
        return (200 if previous is not None else 201), self.document(job), {
            "Retry-After": f"{max(self.settings.get('delayMs', 0) / 1000.0, 0.05):.2f}"}

    def _run(self, job):
        machine_name = str(job["machine"].get("name") or "")
        environment = dict(os.environ)
        environment.pop("STACK_HCI_VERIFY_PROBE_DATA", None)
        assignment = self._assignment(machine_name)
        if assignment is None:
            job["result"] = (1, "", f"The emulator assigns no recordings to machine '{machine_name}' "
                                    "(runCommand.machines in _emulator.json).\n")
            return
        environment["FAKE_POWERSHELL_DATA"] = assignment["directory"]
        for key, variable in (("computerName", "FAKE_POWERSHELL_COMPUTERNAME"),):
            if assignment.get(key):
                environment[variable] = assignment[key]
        if assignment.get("vms") is False:
            environment["FAKE_POWERSHELL_NO_VMS"] = "1"
        encoded = base64.b64encode(job["script"].encode("utf-16-le")).decode("ascii")
        try:
            process = subprocess.Popen(  # pylint: disable=consider-using-with
                [sys.executable, FAKE_POWERSHELL, "-NoProfile", "-NonInteractive", "-EncodedCommand", encoded],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment)
        except OSError as error:
            job["result"] = (1, "", f"fake PowerShell could not start: {error}\n")
            return
        job["process"] = process
        stdout, stderr = process.communicate()
        job["result"] = (process.returncode, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"))

    def _assignment(self, machine_name):
        machines = {str(key).lower(): value for key, value in (self.settings.get("machines") or {}).items()}
        entry = machines.get(machine_name.lower())
        if not isinstance(entry, dict) or not entry.get("recordings"):
            return None
        directory = entry["recordings"]
        if not os.path.isabs(directory):
            directory = os.path.join(RECORDINGS, directory)
        return dict(entry, directory=directory)

    def _advance(self, job):
        """Finish the job when its delay has passed and its script has ended."""
        if job["state"] != "Running" or job["mode"] == "hang":
            return None
        left = self.settings.get("delayMs", 0) / 1000.0 - (time.monotonic() - job["started"])
        if job["result"] is None or left > 0:
            return max(left, 0.05)
        code, output, error = job["result"]
        if job["mode"] == "fail":
            code, error = 1, ("Get-AzureStackHCI : The term 'Get-AzureStackHCI' failed with an injected error.\n"
                              "At line:1 char:1\n")
        limit = int(self.settings.get("outputLimit") or OUTPUT_LIMIT)
        if job["mode"] == "cut":
            limit = min(limit, max(1, len(output.encode("utf-8")) // 2))
        data = output.encode("utf-8")
        if len(data) > limit:
            output = data[-limit:].decode("utf-8", "replace")
        job.update(state="Succeeded" if code == 0 else "Failed", exitCode=code, output=output, error=error[-limit:],
                   endTime=_now_text())
        return None

    def get(self, run_command_id):
        with self._lock:
            job = self.jobs.get(run_command_id.lower())
        if job is None:
            return None, {}
        left = self._advance(job)
        headers = {"Retry-After": f"{left:.2f}"} if left is not None else {}
        if job["mode"] == "hang":
            headers = {"Retry-After": "1"}
        return self.document(job), headers

    def delete(self, run_command_id):
        with self._lock:
            job = self.jobs.pop(run_command_id.lower(), None)
        if job is not None:
            _stop(job)
        return job is not None

    def list(self, machine_id):
        prefix = machine_id.lower().rstrip("/") + "/runcommands/"
        with self._lock:
            jobs = [job for key, job in self.jobs.items() if key.startswith(prefix)]
        return [self.document(job) for job in jobs]

    @staticmethod
    def document(job):
        return {
            "id": job["id"], "name": job["name"], "type": "Microsoft.HybridCompute/machines/runCommands",
            "location": job["location"],
            "properties": {
                "source": {"script": job["script"]}, "asyncExecution": True,
                "timeoutInSeconds": job["timeoutInSeconds"], "provisioningState": "Succeeded",
                "instanceView": {
                    "executionState": job["state"], "executionMessage":
                        "RunCommand script execution completed" if job["state"] != "Running" else "",
                    "exitCode": job["exitCode"], "output": job["output"], "error": job["error"],
                    "startTime": job["startTime"], "endTime": job["endTime"], "statuses": []}}}


def _stop(job):
    process = job.get("process")
    if process is not None and process.poll() is None:
        try:
            process.kill()
        except OSError:
            pass
