# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Benchmark: the extension's commands against az's own generic commands, in one run.

    .venv/bin/python bench/run.py [--clusters 300] [--nodes 4] [--repeat 7] [--page-size 100]

Each pair runs the same number of times, interleaved, against one emulator; the report gives
medians, the ratio extension/baseline, and the ARM requests each command made. It also measures
`python -X importtime` of the modules az imports to build its command table. Figures are only
meaningful as ratios within one run.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
sys.path.insert(0, REPO_ROOT)

from emulator import azenv  # noqa: E402  pylint: disable=wrong-import-position
from emulator.client import start_emulator  # noqa: E402  pylint: disable=wrong-import-position
from emulator.generate_fleet import generate_fleet  # noqa: E402  pylint: disable=wrong-import-position

LOAD_TIME_MODULES = ("azext_stack_hci_verify", "azext_stack_hci_verify.commands",
                     "azext_stack_hci_verify._params", "azext_stack_hci_verify._help",
                     "azext_stack_hci_verify._format", "azext_stack_hci_verify._validators")
LOAD_BUDGET_MS = 10.0


def timed(az_path, args, env, emulator):
    emulator.clear_requests()
    start = time.perf_counter()
    result = azenv.run_az(az_path, args, env)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit("az {} failed ({}):\n{}".format(" ".join(args), result.returncode, result.stderr))
    arm = [r for r in emulator.requests() if not r["path"].startswith("/msi/")]
    return elapsed, len(arm)


def compare(name, ours, baseline, az_path, env, emulator, repeat):
    samples = {"ours": [], "baseline": []}
    requests = {}
    timed(az_path, ours, env, emulator)        # warm both (command index, pyc files)
    timed(az_path, baseline, env, emulator)
    for _ in range(repeat):
        for key, args in (("ours", ours), ("baseline", baseline)):
            elapsed, count = timed(az_path, args, env, emulator)
            samples[key].append(elapsed)
            requests[key] = count
    ours_median = statistics.median(samples["ours"])
    baseline_median = statistics.median(samples["baseline"])
    return {"name": name, "command": "az " + " ".join(ours), "baseline": "az " + " ".join(baseline),
            "medianSeconds": round(ours_median, 3), "baselineMedianSeconds": round(baseline_median, 3),
            "ratio": round(ours_median / baseline_median, 2),
            "armRequests": requests["ours"], "baselineArmRequests": requests["baseline"]}


def import_times(python):
    """Cumulative import time (ms) of each load-time module, azure.cli.core and knack already loaded."""
    code = "import azure.cli.core, knack.help_files\n" + "\n".join("import " + m for m in LOAD_TIME_MODULES)
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO_ROOT, "src", "stack-hci-verify"))
    best = {}
    for _ in range(5):
        result = subprocess.run([python, "-X", "importtime", "-c", code], capture_output=True, text=True,
                                env=env, check=True)
        for line in result.stderr.splitlines():
            match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
            if match and match.group(4) in LOAD_TIME_MODULES:
                cumulative_ms = int(match.group(2)) / 1000.0
                module = match.group(4)
                best[module] = min(best.get(module, cumulative_ms), cumulative_ms)
    return [{"module": m, "cumulativeMs": round(best.get(m, 0.0), 2), "budgetMs": LOAD_BUDGET_MS,
             "withinBudget": best.get(m, 0.0) <= LOAD_BUDGET_MS} for m in LOAD_TIME_MODULES]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=300)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)

    az_path = azenv.find_az(REPO_ROOT)
    if not az_path:
        raise SystemExit("az not found: run scripts/bootstrap")
    with tempfile.TemporaryDirectory(prefix="stack-hci-verify-bench-") as scratch:
        fleet = os.path.join(scratch, "fleet")
        manifest = generate_fleet(fleet, args.clusters, args.nodes, 1, resource_groups=1, reference_time="now")
        first = manifest["clusters"][0]["id"]
        parts = first.split("/")
        group, name = parts[4], parts[-1]
        with start_emulator(fleet, os.path.join(scratch, "emulator"), page_size=args.page_size) as emulator:
            env = azenv.prepare_az_home(emulator, os.path.join(scratch, "home"), az_path)
            azenv.install_extension(az_path, env, os.path.join(REPO_ROOT, "src", "stack-hci-verify"),
                                    os.path.join(REPO_ROOT, ".cache"))
            results = [
                compare("show", ["stack-hci", "vm-verification", "show", "-n", name, "-g", group, "-o", "json"],
                        ["resource", "show", "--ids", first, "-o", "json"], az_path, env, emulator, args.repeat),
                compare("list", ["stack-hci", "vm-verification", "list", "-g", group, "-o", "json"],
                        ["resource", "list", "-g", group, "--resource-type", "Microsoft.AzureStackHCI/clusters",
                         "-o", "json"], az_path, env, emulator, args.repeat),
            ]
    python = os.path.join(os.path.dirname(az_path), "python")
    report = {"clusters": args.clusters, "nodesPerCluster": args.nodes, "pageSize": args.page_size,
              "repeat": args.repeat, "commands": results,
              "importTime": import_times(python if os.path.exists(python) else sys.executable)}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print("{} clusters x {} nodes, page size {}, {} runs each (medians)".format(
            args.clusters, args.nodes, args.page_size, args.repeat))
        for item in results:
            print("{name:5} ours {medianSeconds:.3f}s ({armRequests} ARM requests)  "
                  "baseline {baselineMedianSeconds:.3f}s ({baselineArmRequests} ARM requests)  "
                  "ratio {ratio}".format(**item))
        for item in report["importTime"]:
            print("import {module:40} {cumulativeMs:6.2f} ms (budget {budgetMs:.0f} ms){flag}".format(
                flag="" if item["withinBudget"] else "  OVER BUDGET", **item))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
