# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""What the guest probes read, interpreted into a guest-facts document. Pure.

Linux readings (adapters/guest_probe.py reads them under a root path): `efi` and `efivars` (the
directories exist), `secureBootVariable` (bytes of SecureBoot-8be4df61-..., None when absent),
`tpmClass`, `tpm0` (the directories exist), `tpmVersionMajor` (text or None), `tpmCaps` (the TPM
1.2 `caps` file exists), `vmbus` (the bus exists), `vmbusClassIds` (class_id of each device),
`osRelease`, `hostname`, `productUuid` (text or None).

Windows: the rows of the fixed PowerShell scripts (Confirm-SecureBootUEFI, Get-Tpm with Win32_Tpm,
Win32_DeviceGuard, Win32_OperatingSystem with Win32_ComputerSystemProduct).
"""

from .guestfacts import finish_document, new_document, secure_boot_from_efivar, tpm_version_text, vbs_text
from .values import bool_value as _bool, get_path as _get, guid_value as _guid, text_value as _text

KVP_CLASS_ID = "a9a0f4e7-5a45-4d96-b827-8a841e8c03e6"
GSI_CLASS_ID = "34d14be3-dee4-41c8-9ae7-6b174977c192"
SECURE_BOOT_VARIABLE = "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"


def _probe(name, ok, reason):
    return {"probe": name, "status": "Succeeded" if ok else "Unknown",
            "reasonCode": None if ok else "not-readable", "reason": reason}


def _linux_secure_boot(readings):
    if not readings.get("efi"):
        return False, _probe("secure-boot", True, "No /sys/firmware/efi: the guest booted without UEFI.")
    data = readings.get("secureBootVariable")
    if data is not None:
        value = secure_boot_from_efivar(data)
        if value is None:
            return None, _probe("secure-boot", False, "The SecureBoot variable is not 5 bytes with 0 or 1 last.")
        return value, _probe("secure-boot", True, f"SecureBoot variable: {'on' if value else 'off'}.")
    if readings.get("efivars"):
        return False, _probe("secure-boot", True, "UEFI without a SecureBoot variable: secure boot is off.")
    return None, _probe("secure-boot", False, "efivarfs is not mounted at /sys/firmware/efi/efivars.")


def _linux_tpm(readings):
    if not readings.get("tpmClass") or not readings.get("tpm0"):
        return {"present": False, "ready": None, "version": None}, _probe("tpm", True, "No TPM device (tpm0).")
    version = tpm_version_text(readings.get("tpmVersionMajor"))
    if version is None and readings.get("tpmCaps"):
        version = "1.2"
    reason = f"tpm0, version {version or 'not reported (kernel before 5.5?)'}."
    return {"present": True, "ready": None, "version": version}, _probe("tpm", True, reason)


def _linux_vmbus(readings):
    if not readings.get("vmbus"):
        return None, _probe("vmbus", False, "No /sys/bus/vmbus: not a Hyper-V guest, or its VMBus driver is "
                                            "not loaded.")
    ids = {_guid(value) for value in readings.get("vmbusClassIds") or ()}
    return ({"dataExchange": KVP_CLASS_ID in ids, "guestServiceInterface": GSI_CLASS_ID in ids},
            _probe("vmbus", True, f"{len(ids)} VMBus devices."))


def os_release(text):
    values = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def linux_document(readings, now_text):
    document = new_document(now_text, "Linux")
    document["secureBoot"], secure_probe = _linux_secure_boot(readings)
    document["tpm"], tpm_probe = _linux_tpm(readings)
    document["hyperV"], vmbus_probe = _linux_vmbus(readings)
    release = os_release(readings.get("osRelease"))
    document["os"].update(name=release.get("PRETTY_NAME") or release.get("NAME"),
                          version=release.get("VERSION_ID"))
    document["computerName"] = _text(readings.get("hostname"))
    document["smbiosUuid"] = _guid(readings.get("productUuid"))
    return finish_document(document, [secure_probe, tpm_probe, vmbus_probe])


def _first(run):
    return run.rows[0] if run is not None and run.ok and run.rows else None


def windows_document(runs, now_text):
    """The document from ProbeRuns (by probe name) of the Windows guest scripts."""
    document = new_document(now_text, "Windows")
    info = _first(runs.get("guest-info")) or {}
    document["computerName"] = _text(_get(info, "ComputerName"))
    document["smbiosUuid"] = _guid(_get(info, "UUID"))
    document["os"].update(name=_text(_get(info, "Caption")), version=_text(_get(info, "Version")))
    secure = _first(runs.get("guest-secureboot"))
    if secure is not None:
        document["secureBoot"] = False if _get(secure, "NotSupported") else _bool(_get(secure, "SecureBoot"))
    tpm = _first(runs.get("guest-tpm"))
    if tpm is not None:
        present = _bool(_get(tpm, "TpmPresent"))
        document["tpm"] = {"present": present, "ready": _bool(_get(tpm, "TpmReady")) if present else None,
                           "version": tpm_version_text(_get(tpm, "SpecVersion")) if present else None}
    vbs = _first(runs.get("guest-vbs"))
    if vbs is not None:
        document["vbs"] = vbs_text(_get(vbs, "VirtualizationBasedSecurityStatus"))
    return finish_document(document, [run.to_dict() for run in runs.values()])
