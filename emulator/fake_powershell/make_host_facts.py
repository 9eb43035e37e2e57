# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Writes the host-facts documents of the demo and the docs: `python make_host_facts.py [--check]`.

Each file in `emulator/fixtures/host-facts/` is what `az stack-hci vm-verification probe` prints on
that host: the real probe code (azext_stack_hci_verify.adapters.host_probe.collect_host_facts)
run against `fake-powershell` replaying one scenario of `recordings/`, collected at the sample
fleet's reference time. Run it after changing the recordings (make_recordings.py) or the probe.

How long each probe took (`probes[].durationMs`) differs from run to run; a file that differs from
the new document only there is left as it is, so running this again changes nothing. `--check`
writes nothing and exits 1 when a file is missing or out of date.
"""

import argparse
import json
import os
import sys
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FAKE_POWERSHELL = os.path.join(HERE, "fake-powershell")
RECORDINGS = os.path.join(HERE, "recordings")
OUT = os.path.join(REPO, "emulator", "fixtures", "host-facts")

# The sample fleet's reference time (emulator/fixtures/sample-fleet/_emulator.json).
COLLECTED_AT = datetime(2026, 11, 22, 12, 0, 0, tzinfo=timezone.utc)

# file name -> scenario replayed (see README.md beside this file)
DOCUMENTS = {
    "AZL-PROD-01-N1.json": "ps7",             # hci-prod-01: verification on, legacy OS support on
    "AZL-STORE-0017-N1.json": "ps51-legacy-off",  # hci-store-0017: legacy OS support off
}


def _collect(scenario):
    sys.path.insert(0, os.path.join(REPO, "src", "stack-hci-verify"))
    # pylint: disable=import-outside-toplevel
    from azext_stack_hci_verify.adapters.host_probe import collect_host_facts
    from azext_stack_hci_verify.adapters.powershell import PowerShellRunner

    class FakeRunner(PowerShellRunner):
        """Runs the fake with this interpreter, whatever python3 on PATH is."""

        def command_line(self, script):
            return [sys.executable] + super().command_line(script)

    environ = dict(os.environ, FAKE_POWERSHELL_DATA=os.path.join(RECORDINGS, scenario))
    environ.pop("FAKE_POWERSHELL_RECORD", None)
    document = collect_host_facts(FakeRunner(FAKE_POWERSHELL, environ), now=COLLECTED_AT)
    if document.get("probeStatus") != "Succeeded":
        raise SystemExit("scenario {}: the probe did not succeed: {}".format(scenario, document.get("reason")))
    return document


def _without_durations(document):
    copy = json.loads(json.dumps(document))
    for probe in copy.get("probes") or []:
        probe.pop("durationMs", None)
    return copy


def _text(document):
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for name, scenario in DOCUMENTS.items():
        path = os.path.join(OUT, name)
        document = _collect(scenario)
        current = None
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                current = json.load(handle)
        if current is not None and _without_durations(current) == _without_durations(document):
            print("{}: up to date ({})".format(name, scenario))
            continue
        stale.append(name)
        if args.check:
            print("{}: out of date; run make_host_facts.py".format(name))
            continue
        os.makedirs(OUT, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(_text(document))
        print("{}: written ({})".format(name, scenario))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
