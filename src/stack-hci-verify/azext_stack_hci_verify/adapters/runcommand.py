# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Arc Run Command (Microsoft.HybridCompute/machines/runCommands): the script sent to a server, and the
raw ARM requests that create, read and delete a run command, through the command's one pipeline
(adapters.arm: only HTTPS to the ARM host, the deadline and retry policies). No SDK model is built.

The script is fixed by the extension, never user text, and carries nothing secret: it runs the local
probe's own scripts (adapters/host_probe.PROBES, the same text `probe` runs), each in its own
PowerShell process exactly as the local runner starts it (-EncodedCommand), and prints what each wrote
in the line format that core/runcommand.py reads.
"""

from dataclasses import dataclass
from typing import Optional
from urllib.parse import quote

from azure.core.exceptions import HttpResponseError

from azext_stack_hci_verify.core.runcommand import LINE_PREFIX

from . import host_trusted_launch
from .host_probe import PROBES as HOST_PROBES, PROBE_TIMEOUT_SECONDS
from .powershell import encode_command

# Every probe `probe` runs on a host: the host-facts probes, then the Trusted launch ones.
PROBES = tuple(HOST_PROBES) + tuple(host_trusted_launch.PROBES)

# The api-version azure-mgmt-hybridcompute (the version pinned in requirements-dev.txt) uses for
# machines/runCommands; a unit test keeps them equal.
RUN_COMMANDS_API_VERSION = "2026-07-15"
MACHINES_API_VERSION = "2026-07-15"
BUNDLE_MARKER = "# probe-bundle: stack-hci-verify host probe"

_BUNDLE_TEMPLATE = r"""{marker}
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$probeTimeoutMs = {timeout_ms}
$powerShell = (Get-Process -Id $PID).Path
$probes = @(
{entries}
)
$lines = foreach ($entry in $probes) {{
    $name, $encoded = $entry.Split('=', 2)
    $info = New-Object System.Diagnostics.ProcessStartInfo
    $info.FileName = $powerShell
    $info.Arguments = "-NoLogo -NoProfile -NonInteractive -OutputFormat Text -EncodedCommand $encoded"
    $info.UseShellExecute = $false
    $info.CreateNoWindow = $true
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    $info.StandardOutputEncoding = New-Object System.Text.UTF8Encoding $false
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    $process = [System.Diagnostics.Process]::Start($info)
    $stdout = $process.StandardOutput.ReadToEndAsync()
    $stderr = $process.StandardError.ReadToEndAsync()
    if ($process.WaitForExit($probeTimeoutMs)) {{ $process.WaitForExit(); $exit = [string]$process.ExitCode }}
    else {{ try {{ $process.Kill() }} catch {{ }}; $exit = 'T' }}
    $json = @{{ out = $stdout.Result; err = $stderr.Result }} | ConvertTo-Json -Compress
    $payload = [System.Text.Encoding]::UTF8.GetBytes($json)
    $buffer = New-Object System.IO.MemoryStream
    $gzip = New-Object System.IO.Compression.GZipStream($buffer, [System.IO.Compression.CompressionMode]::Compress)
    $gzip.Write($payload, 0, $payload.Length)
    $gzip.Close()
    $data = [Convert]::ToBase64String($buffer.ToArray())
    '{prefix}|' + $name + '|' + $exit + '|' + $watch.ElapsedMilliseconds + '|' + $data.Length + '|' + $data
}}
# Largest first: Run Command keeps the end of the output, so a cut costs the largest probes only.
$lines | Sort-Object Length -Descending | ForEach-Object {{ [Console]::Out.WriteLine($_) }}
[Console]::Out.WriteLine('{prefix}|end|' + $probes.Count)
"""


def bundle_script(probe_timeout=PROBE_TIMEOUT_SECONDS, names=None):
    """The PowerShell script sent through Run Command: the host probes (all, or those `names`), each as the
    local `probe` runs it."""
    chosen = [probe for probe in PROBES if names is None or probe.name in names]
    entries = ",\n".join(f"'{probe.name}={encode_command(probe.script)}'" for probe in chosen)
    return _BUNDLE_TEMPLATE.format(marker=BUNDLE_MARKER, timeout_ms=int(probe_timeout * 1000), entries=entries,
                                   prefix=LINE_PREFIX)


def probe_descriptions():
    """{probe name: what it runs}, for the reasons of probes that did not come back."""
    return {probe.name: probe.description for probe in PROBES}


def add_trusted_launch(document, bundle, descriptions):
    """The `trustedLaunch` object of a collected document, from the Trusted launch probes' lines, as the
    local `probe` adds it (a probe whose line did not come back whole is Unknown, output-truncated)."""
    from azext_stack_hci_verify.core.runcommand import probe_run
    runs = {probe.name: probe_run(bundle, probe.name, descriptions) for probe in host_trusted_launch.PROBES}
    return host_trusted_launch.add_to_document(document, runs)


# ----------------------------------------------------------------------------- the requests

@dataclass(frozen=True)
class Answer:
    """An ARM answer: status, its JSON body (or None) and its headers (lower-case names)."""
    status: int
    body: Optional[object]
    headers: dict


def _path(resource_id):
    return "/" + "/".join(quote(part, safe="") for part in resource_id.strip("/").split("/"))


def send(client, method, url, *, params=None, body=None, ok=(200,)):
    """One request through `client`'s pipeline; an Answer for a status in `ok`, else HttpResponseError
    (the pipeline has already retried throttling and transient errors within its deadline)."""
    from azure.core.exceptions import DecodeError
    from azure.core.rest import HttpRequest
    from azure.mgmt.core.exceptions import ARMErrorFormat
    send_request = getattr(client, "send_request", None) or client._send_request  # pylint: disable=protected-access
    response = send_request(HttpRequest(method, url, params=params, json=body))
    if response.status_code not in ok:
        raise HttpResponseError(response=response, error_format=ARMErrorFormat)
    try:
        data = response.json() if response.text() else None
    except (ValueError, DecodeError):
        data = None
    return Answer(response.status_code, data, {str(k).lower(): v for k, v in response.headers.items()})


class RunCommandClient:
    """Create, read and delete run commands on Arc machines, through one ARM client's pipeline."""

    def __init__(self, client):
        self.client = client

    def machine(self, machine_id):
        return send(self.client, "GET", _path(machine_id), params={"api-version": MACHINES_API_VERSION}).body

    def create(self, machine_id, name, *, location, script, timeout_seconds):
        body = {"location": location, "properties": {
            "source": {"script": script}, "asyncExecution": True, "timeoutInSeconds": int(timeout_seconds),
            "parameters": [], "protectedParameters": []}}
        return send(self.client, "PUT", f"{_path(machine_id)}/runCommands/{quote(name, safe='')}",
                    params={"api-version": RUN_COMMANDS_API_VERSION}, body=body, ok=(200, 201))

    def get(self, machine_id, name):
        return send(self.client, "GET", f"{_path(machine_id)}/runCommands/{quote(name, safe='')}",
                    params={"api-version": RUN_COMMANDS_API_VERSION})

    def delete(self, machine_id, name):
        return send(self.client, "DELETE", f"{_path(machine_id)}/runCommands/{quote(name, safe='')}",
                    params={"api-version": RUN_COMMANDS_API_VERSION}, ok=(200, 202, 204))

    def list(self, machine_id):
        answer = send(self.client, "GET", f"{_path(machine_id)}/runCommands",
                      params={"api-version": RUN_COMMANDS_API_VERSION})
        return list((answer.body or {}).get("value") or [])
