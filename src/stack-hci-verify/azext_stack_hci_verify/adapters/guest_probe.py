# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""`probe --guest`: what the VM itself sees of secure boot, its TPM, VBS and the Hyper-V devices.

Windows: fixed PowerShell scripts through the same runner as the host probe (Confirm-SecureBootUEFI,
Get-Tpm with Win32_Tpm's SpecVersion, Win32_DeviceGuard, Win32_OperatingSystem and
Win32_ComputerSystemProduct), all at once, each with a timeout.
Linux: sysfs and efivarfs read under a root path, `/` unless the setting STACK_HCI_VERIFY_GUEST_ROOT
names another (tests point it at a fake tree); with that setting the Linux reader is used on any
platform. The readings are interpreted by core/guest_readings.py.
"""

import os
import sys
from concurrent.futures import ThreadPoolExecutor

from azext_stack_hci_verify.core.guest_readings import SECURE_BOOT_VARIABLE, linux_document, windows_document
from azext_stack_hci_verify.core.guestfacts import finish_document, new_document
from azext_stack_hci_verify.core.timeutil import format_timestamp

from .host_probe import Probe, run_probe
from .powershell import find_powershell

GUEST_ROOT_SETTING = "STACK_HCI_VERIFY_GUEST_ROOT"
MAX_READ_BYTES = 4096

PROBE_INFO = Probe("guest-info", "Win32_OperatingSystem and Win32_ComputerSystemProduct", r"""
$os = Get-CimInstance -ClassName Win32_OperatingSystem
$product = Get-CimInstance -ClassName Win32_ComputerSystemProduct
[pscustomobject]@{ ComputerName = $env:COMPUTERNAME; Caption = $os.Caption; Version = $os.Version;
    UUID = [string]$product.UUID } | ConvertTo-Json @jsonOptions
""")

PROBE_SECURE_BOOT = Probe("guest-secureboot", "Confirm-SecureBootUEFI", r"""
try {
    [pscustomobject]@{ SecureBoot = [bool](Confirm-SecureBootUEFI); NotSupported = $false } |
        ConvertTo-Json @jsonOptions
} catch [System.PlatformNotSupportedException] {
    [pscustomobject]@{ SecureBoot = $false; NotSupported = $true } | ConvertTo-Json @jsonOptions
}
""")

PROBE_TPM = Probe("guest-tpm", "Get-Tpm and Win32_Tpm (vTPM present, ready, version)", r"""
$tpm = Get-Tpm
$spec = $null
if ($tpm.TpmPresent) {
    $spec = (Get-CimInstance -Namespace 'root/cimv2/Security/MicrosoftTpm' -ClassName Win32_Tpm).SpecVersion
}
[pscustomobject]@{ TpmPresent = [bool]$tpm.TpmPresent; TpmReady = [bool]$tpm.TpmReady; SpecVersion = $spec } |
    ConvertTo-Json @jsonOptions
""")

PROBE_VBS = Probe("guest-vbs", "Win32_DeviceGuard (virtualization-based security)", r"""
$guard = Get-CimInstance -Namespace 'root/Microsoft/Windows/DeviceGuard' -ClassName Win32_DeviceGuard
[pscustomobject]@{ VirtualizationBasedSecurityStatus = [int]$guard.VirtualizationBasedSecurityStatus } |
    ConvertTo-Json @jsonOptions
""")

WINDOWS_PROBES = (PROBE_INFO, PROBE_SECURE_BOOT, PROBE_TPM, PROBE_VBS)


def collect_windows(runner, now, timeout=60.0):
    """The guest-facts document from the Windows scripts; never raises."""
    with ThreadPoolExecutor(max_workers=len(WINDOWS_PROBES)) as pool:
        futures = [(probe, pool.submit(run_probe, runner, probe, None, timeout)) for probe in WINDOWS_PROBES]
        runs = {probe.name: future.result() for probe, future in futures}
    return windows_document(runs, format_timestamp(now))


# ----------------------------------------------------------------------------- Linux

def _read(root, relative, binary=False):
    """A small file under `root`, or None when it is absent or unreadable."""
    try:
        with open(os.path.join(root, relative), "rb") as handle:
            data = handle.read(MAX_READ_BYTES)
    except OSError:
        return None
    return data if binary else data.decode("utf-8", errors="replace").strip()


def _isdir(root, relative):
    return os.path.isdir(os.path.join(root, relative))


def _class_ids(root):
    devices = os.path.join(root, "sys", "bus", "vmbus", "devices")
    try:
        names = sorted(os.listdir(devices))
    except OSError:
        return []
    return [value for value in (_read(devices, os.path.join(name, "class_id")) for name in names) if value]


def linux_readings(root):
    """What the Linux guest probe reads, relative to `root` (see core/guest_readings.py)."""
    efivars = os.path.join("sys", "firmware", "efi", "efivars")
    tpm0 = os.path.join("sys", "class", "tpm", "tpm0")
    return {
        "efi": _isdir(root, os.path.join("sys", "firmware", "efi")),
        "efivars": _isdir(root, efivars),
        "secureBootVariable": _read(root, os.path.join(efivars, SECURE_BOOT_VARIABLE), binary=True),
        "tpmClass": _isdir(root, os.path.join("sys", "class", "tpm")),
        "tpm0": _isdir(root, tpm0),
        "tpmVersionMajor": _read(root, os.path.join(tpm0, "tpm_version_major")),
        "tpmCaps": os.path.exists(os.path.join(root, tpm0, "caps")),
        "vmbus": _isdir(root, os.path.join("sys", "bus", "vmbus")),
        "vmbusClassIds": _class_ids(root),
        "osRelease": _read(root, os.path.join("etc", "os-release")),
        "hostname": _read(root, os.path.join("proc", "sys", "kernel", "hostname"))
        or _read(root, os.path.join("etc", "hostname")),
        "productUuid": _read(root, os.path.join("sys", "class", "dmi", "id", "product_uuid")),
    }


def collect_linux(root, now):
    return linux_document(linux_readings(root), format_timestamp(now))


def collect_guest_facts(now, timeout=60.0, environ=None, platform=None):
    """The guest-facts document of the machine this runs on. Never raises."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    root = (environ.get(GUEST_ROOT_SETTING) or "").strip()
    if root or platform.startswith("linux"):
        return collect_linux(root or "/", now)
    runner = find_powershell(environ=environ, platform=platform) if platform == "win32" else None
    if runner is not None:
        return collect_windows(runner, now, timeout)
    document = new_document(format_timestamp(now), None)
    return finish_document(document, [{"probe": "guest", "status": "Unknown", "reasonCode": "unsupported-platform",
                                       "reason": "The guest probe reads Windows (PowerShell) or Linux (sysfs) "
                                                 f"guests; this is {platform}."}])
