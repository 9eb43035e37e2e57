# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Reading the files users give: host facts, attested documents, certificate bundles."""

import os

from azext_stack_hci_verify.errors import FileAccessError, InvalidInputError

from azext_stack_hci_verify.core.hostfacts import HostFactsError, parse_host_facts

MAX_HOST_FACTS_BYTES = 16 * 1024 * 1024
MAX_DOCUMENT_BYTES = 1024 * 1024
_COLLECT = ("Give the path of a host-facts file written on the host by "
            "`az stack-hci vm-verification probe -o json > FILE`.")


def load_host_facts(paths):
    """Parse each host-facts file; a missing or malformed one raises an error naming the file."""
    documents = []
    for path in paths:
        data = read_small_file(path, "Host facts file", limit=MAX_HOST_FACTS_BYTES, recommendation=_COLLECT)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("utf-16")      # Windows PowerShell 5.1 `>` writes UTF-16 LE
            except UnicodeDecodeError:
                raise InvalidInputError(f"Host facts file '{path}' is not UTF-8 or UTF-16 text.",
                                        recommendation=_COLLECT) from None
        try:
            documents.append(parse_host_facts(text, source=os.path.basename(path)))
        except HostFactsError as ex:
            raise InvalidInputError(f"Host facts file '{path}' {ex}.",
                                    recommendation=_COLLECT) from None
    return documents


def load_guest_facts(paths):
    """Parse each guest-facts file; a missing or malformed one raises an error naming the file."""
    from azext_stack_hci_verify.core.guestfacts import GuestFactsError, parse_guest_facts
    documents = []
    for path in paths:
        data = read_small_file(path, "Guest facts file", recommendation="Give the path of a file written by "
                               "`az stack-hci vm-verification probe --guest -o json > FILE` inside the VM.")
        try:
            text = data.decode("utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else data.decode("utf-8-sig")
            documents.append(parse_guest_facts(text, source=os.path.basename(path)))
        except UnicodeDecodeError:
            raise InvalidInputError(f"Guest facts file '{path}' is not UTF-8 or UTF-16 text.") from None
        except GuestFactsError as ex:
            raise InvalidInputError(f"Guest facts file '{path}' {ex}.") from None
    return documents


def read_small_file(path, what, limit=MAX_DOCUMENT_BYTES, recommendation=None):
    """The bytes of a user-given file (host facts, an attested document, a PEM bundle), with errors
    that name it; `recommendation` says what file to give instead."""
    try:
        with open(os.path.expanduser(path), "rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise FileAccessError(f"{what} '{path}' does not exist.", recommendation=recommendation) from None
    except IsADirectoryError:
        raise FileAccessError(f"{what} '{path}' is a directory.",
                              recommendation=recommendation or "Give a file.") from None
    except OSError as ex:
        raise FileAccessError(f"{what} '{path}' cannot be read: {ex.strerror}.",
                              recommendation=recommendation) from None
    if len(data) > limit:
        raise InvalidInputError(f"{what} '{path}' is larger than {limit // 1024} KiB.",
                                recommendation=recommendation)
    return data


def load_certificate_file(path, what):
    """Certificates of a PEM bundle or DER file; errors name the file."""
    from azext_stack_hci_verify.attestation.errors import TrustBundleError
    from azext_stack_hci_verify.attestation.trust import load_certificates
    data = read_small_file(path, what, limit=MAX_HOST_FACTS_BYTES)
    try:
        return load_certificates(data)
    except TrustBundleError as ex:
        raise InvalidInputError(f"{what} '{path}' holds no usable certificate ({ex}).") from None


def check_writable(path, what, option):
    """Raise unless `path` can be written: not a directory, its folder exists and may be written, and
    an existing file may be written. Checked before the command reads anything."""
    fix = f"Give {option} a file path in a folder that exists and that you can write to."
    if not str(path).strip():
        raise FileAccessError(f"{what} path is empty.", recommendation=fix)
    target = os.path.expanduser(path)
    folder = os.path.dirname(os.path.abspath(target))
    if os.path.isdir(target):
        raise FileAccessError(f"{what} '{path}' is a directory.", recommendation=fix)
    if not os.path.isdir(folder):
        raise FileAccessError(f"{what} '{path}' cannot be written: folder '{folder}' does not exist.",
                              recommendation=fix)
    if not os.access(target if os.path.exists(target) else folder, os.W_OK):
        raise FileAccessError(f"{what} '{path}' cannot be written: permission denied.",
                              recommendation=fix)


def write_text_file(path, text, what, append=False):
    """Write (or append) UTF-8 text; an error names the file."""
    try:
        with open(os.path.expanduser(path), "a" if append else "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except OSError as ex:
        raise FileAccessError(f"{what} '{path}' cannot be written: {ex.strerror or ex}.",
                              recommendation="Give a file path in a folder you can write to.") from None


def append_text_file(path, text, what):
    """Append UTF-8 text (a job summary file gathers what each step adds)."""
    write_text_file(path, text, what, append=True)
