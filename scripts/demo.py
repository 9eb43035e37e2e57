"""The body of scripts/demo: one emulator, one az home, a few commands printed as a user sees them."""

import datetime
import json
import os
import shlex
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
sys.path.insert(0, ROOT)

from emulator import azenv  # noqa: E402  pylint: disable=wrong-import-position
from emulator.client import start_emulator  # noqa: E402  pylint: disable=wrong-import-position
from emulator.store import parse_time, rebase_document  # noqa: E402  pylint: disable=wrong-import-position

FIXTURES = os.path.join(ROOT, "emulator", "fixtures", "sample-fleet")
HOST_FACTS = os.path.join(ROOT, "emulator", "fixtures", "host-facts", "AZL-PROD-01-N1.json")
EXTENSION = os.path.join(ROOT, "src", "stack-hci-verify")


def fresh_host_facts(directory):
    """The sample host-facts file, moved in time as the emulator moves the fleet (to now), so that it
    is as fresh as when it was collected beside the fixtures."""
    with open(os.path.join(FIXTURES, "_emulator.json"), encoding="utf-8") as handle:
        reference = parse_time(json.load(handle)["referenceTime"])
    seconds = round((datetime.datetime.now(datetime.timezone.utc) - reference).total_seconds())
    with open(HOST_FACTS, encoding="utf-8") as handle:
        document = rebase_document(json.load(handle), seconds)
    path = os.path.join(directory, os.path.basename(HOST_FACTS))
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
    return path


def main():
    az_path = azenv.find_az(ROOT)
    commands = [
        ["stack-hci", "vm-verification", "list", "-o", "table"],
        ["stack-hci", "vm-verification", "show", "-n", "{name}", "-g", "{group}", "-o", "table"],
        ["stack-hci", "vm-verification", "server", "list", "-n", "{name}", "-g", "{group}", "-o", "table"],
        ["stack-hci", "vm-verification", "show", "-n", "{name}", "-g", "{group}",
         "--query", "findings[].{severity:severity, name:name, action:action, runOn:runOn}", "-o", "table"],
        ["stack-hci", "vm-verification", "vm", "list", "-n", "hci-prod-01", "-g", "rg-hci-prod-eastus",
         "--host-facts", HOST_FACTS, "-o", "table"],
        ["stack-hci", "vm-verification", "attest", "-o", "table"],
    ]
    with tempfile.TemporaryDirectory(prefix="stack-hci-verify-demo-") as scratch:
        with start_emulator(FIXTURES, os.path.join(scratch, "emulator"), rebase_to="now") as emulator:
            print("Azure Local emulator on {} (sample fleet)".format(emulator.arm_url), flush=True)
            env = azenv.prepare_az_home(emulator, os.path.join(scratch, "home"), az_path)
            azenv.install_extension(az_path, env, EXTENSION, os.path.join(ROOT, ".cache"))
            env["AZURE_CORE_ONLY_SHOW_ERRORS"] = "true"
            name, group = pick_cluster(az_path, env)
            facts = fresh_host_facts(scratch)
            for args in commands:
                args = [arg.replace("{name}", name).replace("{group}", group) for arg in args]
                shown = [os.path.relpath(arg, ROOT) if arg == HOST_FACTS else arg for arg in args]
                args = [facts if arg == HOST_FACTS else arg for arg in args]
                print("\n$ az " + shlex.join(shown), flush=True)
                result = azenv.run_az(az_path, args, env, capture_output=False)
                if result.returncode not in (0,):
                    return result.returncode
    return 0


def pick_cluster(az_path, env):
    """The first cluster with something to fix, so the demo shows findings; else the first one."""
    result = azenv.run_az(az_path, ["stack-hci", "vm-verification", "list", "--query",
                                    "sort_by([], &length(findings))[-1].[name, resourceGroup]", "-o", "tsv"], env)
    if result.returncode != 0 or not result.stdout.strip():
        raise SystemExit("demo: could not list the sample clusters:\n" + result.stderr)
    name, group = result.stdout.split()
    return name, group


if __name__ == "__main__":
    raise SystemExit(main())
