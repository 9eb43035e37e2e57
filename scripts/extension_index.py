# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Writes an extension index (index.json, the format of azure-cli-extensions' src/index.json) for
the wheels given, so that az installs and updates the extension by name from wherever the wheels and
the index are published:

    python scripts/extension_index.py --base-url https://example.org/az/ dist/stack_hci_verify-*.whl
    az config set extension.index_url=https://example.org/az/index.json
    az extension add --name stack-hci-verify

Each entry carries the wheel's URL (base URL + file name), its SHA-256 digest and its metadata (the
wheel's METADATA and azext_metadata.json). Entries of an existing index.json in the output directory
are kept unless a wheel of the same file name replaces them."""

import argparse
import email.parser
import hashlib
import json
import os
import sys
import zipfile

EXTENSION = "stack-hci-verify"


def wheel_metadata(path):
    """The index's `metadata` of one wheel: its METADATA fields, as azure-cli-extensions lists them,
    and the extension's azext_metadata.json."""
    with zipfile.ZipFile(path) as wheel:
        names = wheel.namelist()
        metadata_name = next(name for name in names if name.endswith(".dist-info/METADATA"))
        message = email.parser.Parser().parsestr(wheel.read(metadata_name).decode("utf-8"))
        azext_name = next((name for name in names if name.endswith("/azext_metadata.json")), None)
        azext = json.loads(wheel.read(azext_name)) if azext_name else {}
    metadata = dict(azext)
    metadata.update({
        "classifiers": message.get_all("Classifier") or [],
        "extensions": {"python.details": {"document_names": {"description": "DESCRIPTION.rst"},
                                          "contacts": [{"name": message.get("Author", ""),
                                                        "role": "author"}]}},
        "generator": "bdist_wheel",
        "license": message.get("License-Expression") or message.get("License") or "",
        "metadata_version": "2.0",
        "name": message["Name"],
        "summary": message.get("Summary", ""),
        "version": message["Version"],
    })
    requires = [item for item in message.get_all("Requires-Dist") or [] if "extra ==" not in item]
    if requires:
        metadata["run_requires"] = [{"requires": requires}]
    return metadata


def index_entry(path, base_url):
    with open(path, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    name = os.path.basename(path)
    return {"downloadUrl": base_url.rstrip("/") + "/" + name, "filename": name,
            "metadata": wheel_metadata(path), "sha256Digest": digest}


def write_index(wheels, base_url, out_path):
    """Writes (or updates) the index at `out_path`; returns it."""
    index = {"extensions": {}, "formatVersion": "1"}
    if os.path.exists(out_path):
        with open(out_path, encoding="utf-8") as handle:
            index = json.load(handle)
    entries = index.setdefault("extensions", {}).setdefault(EXTENSION, [])
    for wheel in wheels:
        entry = index_entry(wheel, base_url)
        entries[:] = [item for item in entries if item.get("filename") != entry["filename"]] + [entry]
    entries.sort(key=lambda item: [int(part) if part.isdigit() else part
                                   for part in item["metadata"]["version"].split(".")])
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(index, handle, indent=4, sort_keys=True)
        handle.write("\n")
    return index


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("wheels", nargs="+", help="the extension's wheels")
    parser.add_argument("--base-url", required=True,
                        help="where the wheels are published (each URL is this plus the wheel's file name)")
    parser.add_argument("--out", help="the index to write (default: index.json beside the first wheel)")
    options = parser.parse_args(argv)
    out = options.out or os.path.join(os.path.dirname(os.path.abspath(options.wheels[0])), "index.json")
    write_index(options.wheels, options.base_url, out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
