# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Running fixed PowerShell scripts on a Hyper-V host.

Scripts are constants of the calling module; they are passed with `-EncodedCommand` (base64 of
UTF-16LE), not on stdin: `-Command -` runs stdin line by line, so a statement spread over lines
needs an extra blank line and the text goes through the console code page. Data (VM names) never
becomes script text: it travels as JSON in the environment variable PROBE_DATA_VARIABLE, which the
script reads with ConvertFrom-Json.

Which PowerShell: the executable named by the setting STACK_HCI_VERIFY_POWERSHELL (tests and the
demo point it at a fake), else, on Windows only, `pwsh` then `powershell.exe` on PATH. Elsewhere
there is no Hyper-V host to probe and find_powershell returns None.
"""

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Optional

from azext_stack_hci_verify.core.hostprobe import COMPLETED, NOT_STARTED, TIMED_OUT

POWERSHELL_SETTING = "STACK_HCI_VERIFY_POWERSHELL"
PROBE_DATA_VARIABLE = "STACK_HCI_VERIFY_PROBE_DATA"


@dataclass(frozen=True)
class PowerShellResult:
    """What one run produced. `status`: COMPLETED (see returncode), TIMED_OUT or NOT_STARTED."""
    status: str
    returncode: Optional[int]
    stdout: str
    stderr: str
    duration_ms: int
    error: Optional[str] = None


def encode_command(script):
    """The value for -EncodedCommand: base64 of the script in UTF-16LE."""
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


class PowerShellRunner:
    """Runs a script in a fresh `-NoProfile -NonInteractive` PowerShell process, with a timeout."""

    def __init__(self, executable, environ=None):
        self.executable = executable
        self._environ = dict(os.environ if environ is None else environ)

    def __repr__(self):
        return f"PowerShellRunner({self.executable!r})"

    def command_line(self, script):
        return [self.executable, "-NoLogo", "-NoProfile", "-NonInteractive", "-OutputFormat", "Text",
                "-EncodedCommand", encode_command(script)]

    def run(self, script, data=None, timeout=60.0):
        """Run `script`; `data` (JSON-serializable) is handed over in PROBE_DATA_VARIABLE. Never raises
        for a failing or hanging PowerShell: the result says what happened."""
        env = dict(self._environ)
        env.pop(PROBE_DATA_VARIABLE, None)
        if data is not None:
            env[PROBE_DATA_VARIABLE] = json.dumps(data, ensure_ascii=True)
        started = time.monotonic()
        options = {}
        if sys.platform == "win32":
            options["creationflags"] = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        else:
            options["start_new_session"] = True   # so a timeout can end the whole process group
        try:
            process = subprocess.Popen(  # pylint: disable=consider-using-with
                self.command_line(script), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, env=env, **options)
        except (OSError, ValueError) as ex:
            return PowerShellResult(NOT_STARTED, None, "", "", _elapsed_ms(started),
                                    f"{self.executable} could not be started: {ex}")
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            stdout, stderr = _drain(process)
            return PowerShellResult(TIMED_OUT, None, _decode(stdout), _decode(stderr), _elapsed_ms(started),
                                    f"did not finish within {timeout:g} s")
        return PowerShellResult(COMPLETED, process.returncode, _decode(stdout), _decode(stderr), _elapsed_ms(started))


def _kill(process):
    try:
        if sys.platform != "win32":
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    except OSError:
        pass


def _drain(process):
    try:
        return process.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        return b"", b""


def _decode(data):
    return (data or b"").decode("utf-8-sig", errors="replace")


def _elapsed_ms(started):
    return int(round((time.monotonic() - started) * 1000))


def find_powershell(environ=None, platform=None, which=shutil.which):
    """The PowerShellRunner to probe this host with, or None when there is no Hyper-V host here."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    chosen = (environ.get(POWERSHELL_SETTING) or "").strip()
    if chosen:
        return PowerShellRunner(chosen, environ)
    if platform != "win32":
        return None
    for name in ("pwsh", "powershell.exe", "powershell"):
        found = which(name)
        if found:
            return PowerShellRunner(found, environ)
    return None
