# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Benchmark: the extension's commands against az's own generic commands, in one run.

    .venv/bin/python bench/run.py [--repeat 5] [--fleet-clusters 5000] [--skip-fleet] [--json]
                                  [--only clusters fleet check-group check-fleet probes api imports]
                                  [--load-vms 10000 100000] [--load-repeat 1] [--only-load]

Every comparison runs its commands the same number of times, interleaved, against one emulator, and
reports medians, the ratio ours/baseline and the requests each made (ARM, Resource Graph, token).
Figures are only meaningful as ratios within one run. The scenarios:

* cluster views: `show` on a cluster of 20 VMs and one of 500 against `az rest` GET of the cluster
  (one request, what the AAZ-based `az stack-hci cluster show` costs) and `az resource show`;
  `vm list` of the 500-VM cluster against `show` of the same cluster; `list -g` of 250 clusters
  against `az resource list`.
* fleet: `list --all-subscriptions` over 5,000 clusters x 3 nodes in 10 subscriptions against a
  bare `az rest` loop over the same Resource Graph pages, with the peak memory of each process.
* check of a group: `check -g` of the 250 clusters against `list -g` of the same group (one report of
  every cluster, server, VM and Trusted launch VM against the cluster rows): the same Resource Graph
  pages, plus the attestation status of each Trusted launch VM.
* check of a fleet: `check --all-subscriptions` over 5,000 clusters in 10 subscriptions, one of them with
  500 VMs, against `list --all-subscriptions` of the same fleet, with the requests of each.
* load: `check --all-subscriptions` over fleets of N VMs (10 a cluster, 10 subscriptions; --load-vms):
  the CPU time of the az process (from its own resource usage, so the emulator's time is not in it),
  its peak memory, the Resource Graph requests (ceil(rows/1000) per query) and every VM counted.
* load time: `python -X importtime` of the modules az imports to build its command table.
* probe budgets: how long, in real time, the IMDS probes take against silent, slow and dead endpoints,
  the host probe with one hanging script, and a whole `attest` run against a dead endpoint, each
  against its budget (the tests check the same budgets on injected clocks, never by timing).

* collect: `collect` on a cluster of 16 servers whose Run Command takes 2 s, against `collect` on a cluster
  of one server (one server's run), with the requests of each run command (create, polls, delete); then
  `check -g --collect` over 50 clusters x 2 servers against `check -g`, under the emulator's write throttle
  (ARM's: 200 writes, 10 a second), with the writes it refused.
* api: 100 `show` calls of different clusters through the Python API in one process, against `az ... show`
  processes (per call), with the token requests of the whole API process.

`--only` runs some of them: clusters, fleet, check-group, check-fleet, probes, api, imports, collect.
"""

import argparse
import contextlib
import json
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
sys.path.insert(0, REPO_ROOT)
sys.path.insert(1, os.path.join(REPO_ROOT, "src", "stack-hci-verify"))

from emulator import azenv  # noqa: E402  pylint: disable=wrong-import-position
from emulator.client import start_emulator  # noqa: E402  pylint: disable=wrong-import-position
from emulator.generate_fleet import generate_fleet  # noqa: E402  pylint: disable=wrong-import-position

LOAD_TIME_MODULES = ("azext_stack_hci_verify", "azext_stack_hci_verify._loader", "azext_stack_hci_verify.commands",
                     "azext_stack_hci_verify._params", "azext_stack_hci_verify._help",
                     "azext_stack_hci_verify._format", "azext_stack_hci_verify._validators")
LOAD_BUDGET_MS = 10.0
CASES = ("clusters", "fleet", "check-group", "check-fleet", "probes", "api", "imports", "installed-size", "collect")
INSTALLED_BUDGET_BYTES = 3 * 1024 * 1024
# Top-level packages az ships: a copy of one in the extension's folder would only be shadowed by az's.
SHIPPED_BY_AZ = ("azure", "msrest", "msrestazure", "requests", "urllib3", "certifi", "idna", "charset_normalizer",
                 "isodate", "typing_extensions", "cryptography", "cffi", "knack", "msal", "jwt", "six")
GRAPH_PATH = "/providers/Microsoft.ResourceGraph/resources"
GRAPH_API_VERSION = "2022-10-01"
GRAPH_PAGE = 1000
LOAD_VMS_PER_CLUSTER, LOAD_SUBSCRIPTIONS = 10, 10
VM = ("stack-hci", "vm-verification")


class Run:
    """One az invocation: wall seconds, peak resident memory (KiB) and the requests it made."""

    def __init__(self, seconds, max_rss_kib, requests, stdout):
        self.seconds, self.max_rss_kib, self.stdout = seconds, max_rss_kib, stdout
        self.token = sum(1 for r in requests if r["path"].startswith("/msi/"))
        self.graph = sum(1 for r in requests if GRAPH_PATH.lower() in r["path"].lower())
        self.arm = len(requests) - self.token - self.graph


def run(az_path, args, env, emulator, memory=False):
    """Run az once. `memory`: also measure the process's peak resident memory (GNU time's %M)."""
    emulator.clear_requests()
    command = [az_path, *args]
    if memory:
        command = ["/usr/bin/time", "-f", "maxrss-kib %M"] + command
    start = time.perf_counter()
    result = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit("az {} failed ({}):\n{}".format(" ".join(args), result.returncode, result.stderr.decode()))
    peak = None
    if memory:
        found = re.findall(rb"maxrss-kib (\d+)", result.stderr)
        peak = int(found[-1]) if found else None
    return Run(elapsed, peak, emulator.requests(), result.stdout)


class Measured:
    """Repeated runs of several commands, interleaved; medians and request counts."""

    def __init__(self, az_path, env, emulator, repeat):
        self.az_path, self.env, self.emulator, self.repeat = az_path, env, emulator, repeat

    def compare(self, commands):
        """commands: {label: callable() -> Run}. Returns {label: {median, samples, last run}}."""
        for command in commands.values():       # warm every command (command index, .pyc files)
            command()
        samples = {label: [] for label in commands}
        last = {}
        for _ in range(self.repeat):
            for label, command in commands.items():
                result = command()
                samples[label].append(result.seconds)
                last[label] = result
        return {label: {"median": statistics.median(values), "spread": (min(values), max(values)),
                        "run": last[label]} for label, values in samples.items()}

    def az(self, *args, memory=False):
        return lambda: run(self.az_path, list(args), self.env, self.emulator, memory=memory)


def row(name, ours, baseline, note=""):
    ratio = ours["median"] / baseline["median"]
    return {"name": name, "oursSeconds": round(ours["median"], 3), "baselineSeconds": round(baseline["median"], 3),
            "ratio": round(ratio, 2), "armRequests": ours["run"].arm, "graphRequests": ours["run"].graph,
            "tokenRequests": ours["run"].token, "baselineRequests": baseline["run"].arm + baseline["run"].graph,
            "note": note}


def cluster_views(measured, clusters):
    """show at 20 and 500 VMs against az rest and az resource show; vm list against show; list -g."""
    results = []
    for label, cluster_id in clusters:
        url = cluster_id + "?api-version=2024-04-01"
        timings = measured.compare({
            "show": measured.az(*VM, "show", "--ids", cluster_id, "-o", "json"),
            "rest": measured.az("rest", "--method", "get", "--url", url, "-o", "json"),
            "resource": measured.az("resource", "show", "--ids", cluster_id, "-o", "json"),
        })
        results.append(row("show ({})".format(label), timings["show"], timings["rest"], "baseline: az rest GET"))
        results.append(row("show ({})".format(label), timings["show"], timings["resource"],
                           "baseline: az resource show"))
    label, cluster_id = clusters[-1]
    group = ("-g", cluster_id.split("/")[4], "--subscription", cluster_id.split("/")[2])   # not the 20-VM one's
    timings = measured.compare({
        "vm list": measured.az(*VM, "vm", "list", "--cluster-ids", cluster_id, "-o", "json"),
        "show": measured.az(*VM, "show", "--ids", cluster_id, "-o", "json"),
    })
    results.append(row("vm list ({})".format(label), timings["vm list"], timings["show"],
                       "baseline: show of the same cluster"))
    timings = measured.compare({
        "list": measured.az(*VM, "list", *group, "-o", "json"),
        "resource": measured.az("resource", "list", *group, "--resource-type",
                                "Microsoft.AzureStackHCI/clusters", "-o", "json"),
    })
    results.append(row("list -g", timings["list"], timings["resource"], "baseline: az resource list"))
    return results


def pages(*rows):
    """Resource Graph requests of queries answering `rows` rows each, GRAPH_PAGE rows a request."""
    return sum(max(1, math.ceil(count / GRAPH_PAGE)) for count in rows)


def check_group(measured, cluster_id, clusters, vms):
    """check -g against list -g of the group of `cluster_id` (in its subscription)."""
    subscription, group = cluster_id.split("/")[2], cluster_id.split("/")[4]
    scope = ("-g", group, "--subscription", subscription)
    timings = measured.compare({
        "check": measured.az(*VM, "check", *scope, "-o", "json"),
        "list": measured.az(*VM, "list", *scope, "-o", "json"),
    })
    checked = json.loads(timings["check"]["run"].stdout)["totals"]
    if (checked["clusters"]["total"], checked["vms"]["total"]) != (clusters, vms):
        raise SystemExit("check -g read {} clusters and {} VMs, not {} and {}".format(
            checked["clusters"]["total"], checked["vms"]["total"], clusters, vms))
    result = row("check -g ({} clusters, {} VMs)".format(clusters, vms), timings["check"], timings["list"],
                 "baseline: list -g of the same group")
    result.update(expectedGraphRequests=pages(clusters, vms), baselineGraphRequests=timings["list"]["run"].graph)
    return result


API_SCRIPT = r"""
import json, os, sys, time, urllib.parse, urllib.request, ssl
from azure.core.credentials import AccessToken
from azext_stack_hci_verify.api import Verifier

class EmulatorIdentity:
    # A managed identity credential in a few lines (the App Service protocol the emulator speaks).
    def get_token(self, *scopes, **kwargs):
        resource = scopes[0][:-len("/.default")]
        url = os.environ["IDENTITY_ENDPOINT"] + "?" + urllib.parse.urlencode(
            {"api-version": "2019-08-01", "resource": resource})
        request = urllib.request.Request(url, headers={"X-IDENTITY-HEADER": os.environ["IDENTITY_HEADER"]})
        context = ssl.create_default_context(cafile=os.environ["REQUESTS_CA_BUNDLE"])
        with urllib.request.urlopen(request, context=context) as answer:
            body = json.load(answer)
        return AccessToken(body["access_token"], int(body["expires_on"]))

clusters = json.loads(sys.argv[2])
start = time.perf_counter()
verifier = Verifier(EmulatorIdentity(), subscription_id=clusters[0][0], arm_endpoint=sys.argv[1],
                    audience="https://management.core.windows.net/")
for subscription, group, name in clusters:
    verifier.show(name, group)
print(json.dumps({"seconds": time.perf_counter() - start, "tokens": verifier.token_requests}))
"""


def api_calls(measured, fleet, calls, az_calls):
    """`calls` show calls of different clusters through the Python API in one process, against `az_calls`
    `az ... show` processes; per call."""
    parts = [cluster["id"].split("/") for cluster in fleet["clusters"]]
    refs = [(part[2], part[4], part[8]) for part in parts]
    chosen = [refs[index % len(refs)] for index in range(calls)]
    env = dict(measured.env, PYTHONPATH=os.path.join(REPO_ROOT, "src", "stack-hci-verify"))
    python = os.path.join(os.path.dirname(measured.az_path), "python")
    measured.emulator.clear_requests()
    result = subprocess.run([python, "-c", API_SCRIPT, measured.emulator.base_url, json.dumps(chosen)], env=env,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit("the API run failed:\n" + result.stderr)
    api = json.loads(result.stdout)
    tokens = sum(1 for r in measured.emulator.requests() if r["path"].startswith("/msi/"))
    start = time.perf_counter()
    for subscription, group, name in chosen[:az_calls]:
        run(measured.az_path, list(VM) + ["show", "-n", name, "-g", group, "--subscription", subscription,
                                          "-o", "none"], measured.env, measured.emulator)
    az_seconds = (time.perf_counter() - start) / az_calls
    per_call = api["seconds"] / calls
    return {"name": "API show x{} in one process (per call)".format(calls), "oursSeconds": round(per_call, 3),
            "baselineSeconds": round(az_seconds, 3), "ratio": round(per_call / az_seconds, 3), "armRequests": None,
            "graphRequests": None, "tokenRequests": tokens, "baselineRequests": None,
            "note": "baseline: one `az ... show` process per call ({} runs)".format(az_calls)}


def check_fleet(args, az_path, scratch):
    """check --all-subscriptions against list --all-subscriptions of a fleet whose first cluster has 500 VMs."""
    directory = os.path.join(scratch, "check-fleet")
    generate_fleet(directory, args.fleet_clusters, 3, args.fleet_subscriptions, resource_groups=3,
                   reference_time="now", vms=args.fleet_vms, vm_clusters=1)
    with start_emulator(directory, os.path.join(scratch, "check-fleet-emulator"), page_size=GRAPH_PAGE) as emulator:
        env = azenv.prepare_az_home(emulator, os.path.join(scratch, "check-fleet-home"), az_path)
        azenv.install_extension(az_path, env, os.path.join(REPO_ROOT, "src", "stack-hci-verify"),
                                os.path.join(REPO_ROOT, ".cache"))
        measured = Measured(az_path, env, emulator, args.repeat)
        timings = measured.compare({
            "check": measured.az(*VM, "check", "--all-subscriptions", "-o", "json", memory=True),
            "list": measured.az(*VM, "list", "--all-subscriptions", "-o", "json", memory=True),
        })
    ours, baseline = timings["check"]["run"], timings["list"]["run"]
    result = row("check --all-subscriptions ({} clusters, {} subscriptions, {} VMs)".format(
        args.fleet_clusters, args.fleet_subscriptions, args.fleet_vms), timings["check"], timings["list"],
        "baseline: list --all-subscriptions of the same fleet")
    result.update(expectedGraphRequests=pages(args.fleet_clusters, args.fleet_vms),
                  baselineGraphRequests=baseline.graph, peakMemoryMiB=round((ours.max_rss_kib or 0) / 1024, 1),
                  baselinePeakMemoryMiB=round((baseline.max_rss_kib or 0) / 1024, 1))
    return result


def graph_query():
    """The fleet query `list --all-subscriptions` sends, as the extension builds it."""
    sys.path.insert(0, os.path.join(REPO_ROOT, "src", "stack-hci-verify"))
    from azext_stack_hci_verify.adapters.resourcegraph import clusters_query  # pylint: disable=import-outside-toplevel
    return clusters_query()


def rest_loop(measured, subscriptions):
    """The same Resource Graph pages fetched by `az rest`, one process a page; the summed Run."""
    def loop():
        total, peak, token, pages = 0.0, 0, None, 0
        while True:
            options = {"$top": GRAPH_PAGE, "resultFormat": "objectArray"}
            if token:
                options["$skipToken"] = token
            body = {"query": graph_query(), "subscriptions": subscriptions, "options": options}
            result = run(measured.az_path, ["rest", "--method", "post", "--url",
                                            "{}?api-version={}".format(GRAPH_PATH, GRAPH_API_VERSION),
                                            "--body", json.dumps(body), "-o", "json"], measured.env, measured.emulator,
                         memory=True)
            total += result.seconds
            peak = max(peak, result.max_rss_kib or 0)
            pages += 1
            token = json.loads(result.stdout).get("$skipToken")
            if not token:
                break
        summed = Run(total, peak, [], b"")
        summed.graph = pages
        return summed
    return loop


def fleet(args, az_path, scratch):
    """list --all-subscriptions over a large fleet against a bare az rest loop over the same pages."""
    directory = os.path.join(scratch, "big-fleet")
    manifest = generate_fleet(directory, args.fleet_clusters, 3, args.fleet_subscriptions, resource_groups=3,
                              reference_time="now")
    subscriptions = [item["subscriptionId"] for item in manifest["subscriptions"]]
    with start_emulator(directory, os.path.join(scratch, "fleet-emulator"), page_size=GRAPH_PAGE) as emulator:
        env = azenv.prepare_az_home(emulator, os.path.join(scratch, "fleet-home"), az_path)
        azenv.install_extension(az_path, env, os.path.join(REPO_ROOT, "src", "stack-hci-verify"),
                                os.path.join(REPO_ROOT, ".cache"))
        measured = Measured(az_path, env, emulator, max(3, args.repeat // 2))
        timings = measured.compare({
            "ours": measured.az(*VM, "list", "--all-subscriptions", "-o", "json", memory=True),
            "rest": rest_loop(measured, subscriptions),
        })
    ours, rest = timings["ours"]["run"], timings["rest"]["run"]
    expected = math.ceil(args.fleet_clusters / GRAPH_PAGE)
    result = row("list --all-subscriptions ({} clusters, {} subscriptions)".format(
        args.fleet_clusters, args.fleet_subscriptions), timings["ours"], timings["rest"],
        "baseline: az rest loop over the same {} pages".format(rest.graph))
    result.update(expectedGraphRequests=expected, peakMemoryMiB=round((ours.max_rss_kib or 0) / 1024, 1),
                  baselinePeakMemoryMiB=round((rest.max_rss_kib or 0) / 1024, 1))
    return result


@contextlib.contextmanager
def silent_endpoint():
    """A loopback port that completes the TCP handshake (the kernel's backlog) and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield "http://127.0.0.1:{}".format(listener.getsockname()[1])
    finally:
        listener.close()


def dead_endpoint():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return "http://127.0.0.1:{}".format(sock.getsockname()[1])


def timed(function):
    start = time.perf_counter()
    outcome = function()
    return time.perf_counter() - start, outcome


def budget_row(name, seconds, budget, outcome, at_least=0.0):
    """``at_least``: the probe must not give up before this (a slow answer is waited for)."""
    return {"name": name, "seconds": round(seconds, 3), "budgetSeconds": budget, "outcome": outcome,
            "withinBudget": at_least <= seconds <= budget}


def host_probe_runner(scratch, scenario):
    """A PowerShellRunner for the fake PowerShell replaying ``scenario``."""
    from azext_stack_hci_verify.adapters.powershell import PowerShellRunner
    fake = os.path.join(REPO_ROOT, "emulator", "fake_powershell")
    wrapper = os.path.join(scratch, "powershell")
    with open(wrapper, "w", encoding="utf-8") as handle:
        handle.write('#!/bin/sh\nexec "{}" "{}" "$@"\n'.format(sys.executable, os.path.join(fake, "fake-powershell")))
    os.chmod(wrapper, 0o755)
    return PowerShellRunner(wrapper, environ=dict(os.environ, FAKE_POWERSHELL_DATA=os.path.join(
        fake, "recordings", scenario)))


def probe_budgets(az_path, env, emulator, scratch):
    """DESIGN's probe budgets in real time: every endpoint dead costs about one timeout, a dead port one
    refusal, a slow answer is waited for up to the budget and no longer, one hanging host script costs
    one timeout, and `attest` against a dead endpoint answers in well under a minute."""
    from datetime import datetime, timezone
    from azext_stack_hci_verify.adapters import imds
    from azext_stack_hci_verify.adapters.host_probe import collect_host_facts
    slack = 0.5  # thread start-up and scheduling on a loaded machine
    rows = []
    with silent_endpoint() as a, silent_endpoint() as b, silent_endpoint() as c, silent_endpoint() as d:
        seconds, results = timed(lambda: imds.probe_endpoints([a, b, c, d, dead_endpoint()], timeout=1.0))
    rows.append(budget_row("IMDS probes: 4 silent, 1 dead endpoint, 1 s timeout", seconds, 1.0 + slack,
                           ",".join(r["reasonCode"] or "ok" for r in results)))
    seconds, fetched = timed(lambda: imds.fetch_attested_document(dead_endpoint(), timeout=5.0))
    rows.append(budget_row("IMDS fetch: dead port", seconds, slack, fetched.reason_code))
    emulator.set_imds_mode("slow", slow_seconds=10)
    try:
        seconds, fetched = timed(lambda: imds.fetch_attested_document(emulator.imds_url, timeout=1.0))
    finally:
        emulator.set_imds_mode("valid")
    rows.append(budget_row("IMDS fetch: slow answer, 1 s budget", seconds, 1.0 + slack, fetched.reason_code,
                           at_least=0.9))
    runner = host_probe_runner(scratch, "hang")
    seconds, document = timed(lambda: collect_host_facts(runner, now=datetime.now(timezone.utc), timeout=2))
    rows.append(budget_row("host probe: one script hangs, 2 s timeout", seconds, 2.0 + 4 * slack,
                           document["probeStatus"], at_least=1.9))
    command = [az_path, *VM, "attest", "--endpoint", dead_endpoint(), "-o", "json"]
    seconds, result = timed(lambda: subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                                   check=False))
    outcome = "exit {}, {}".format(result.returncode, json.loads(result.stdout or b"{}").get("reasonCode"))
    rows.append(budget_row("az attest: dead endpoint (whole az run)", seconds, 10.0, outcome))
    return rows


class Usage:
    """One az process measured by its own resource usage: CPU seconds (user + system, the emulator's
    time excluded), peak resident memory, wall seconds, and the requests it made."""

    def __init__(self, cpu, max_rss_kib, seconds, requests, stdout):
        self.cpu, self.max_rss_kib, self.seconds, self.stdout = cpu, max_rss_kib, seconds, stdout
        self.graph = sum(1 for r in requests if GRAPH_PATH.lower() in r["path"].lower())
        self.token = sum(1 for r in requests if r["path"].startswith("/msi/"))
        self.arm = len(requests) - self.graph - self.token


def measure(az_path, args, env, emulator, timeout=3600):
    """Run az once and read its resource usage from wait4 (CPU of the process and what it waited for)."""
    emulator.clear_requests()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen([az_path, *args], env=env, stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=err)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                raise SystemExit("az {} did not end within {} s".format(" ".join(args), timeout))
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        raise SystemExit("az {} failed ({}):\n{}".format(" ".join(args), process.returncode, stderr.decode()))
    return Usage(usage.ru_utime + usage.ru_stime, usage.ru_maxrss, elapsed, emulator.requests(), stdout)


CHECK_QUERY = "{vms: totals.vms.total, clusters: totals.clusters.total, findings: length(findings)}"


def load(args, az_path, scratch):
    """check --all-subscriptions over fleets of clusters x 10 VMs in 10 subscriptions, one per size in
    --load-vms: the az process's CPU time and peak memory, the Resource Graph requests against
    ceil(rows/1000) per query, and every VM counted. The CPU ratio between sizes shows how it grows."""
    results = []
    for vms in args.load_vms:
        clusters = vms // LOAD_VMS_PER_CLUSTER
        directory = os.path.join(scratch, "load-{}".format(vms))
        started = time.perf_counter()
        generate_fleet(directory, clusters, 2, LOAD_SUBSCRIPTIONS, resource_groups=3, vms=LOAD_VMS_PER_CLUSTER,
                       vm_clusters=clusters, reference_time="now")
        generated = time.perf_counter() - started
        with start_emulator(directory, os.path.join(scratch, "load-emulator-{}".format(vms)), page_size=GRAPH_PAGE,
                            timeout=1800) as emulator:
            env = azenv.prepare_az_home(emulator, os.path.join(scratch, "load-home-{}".format(vms)), az_path,
                                        login="profile")
            azenv.install_extension(az_path, env, os.path.join(REPO_ROOT, "src", "stack-hci-verify"),
                                    os.path.join(REPO_ROOT, ".cache"))
            command = [*VM, "check", "--all-subscriptions", "--query", CHECK_QUERY, "-o", "json"]
            runs = [measure(az_path, command, env, emulator) for _ in range(args.load_repeat)]
        best = min(runs, key=lambda usage: usage.cpu)
        counted = json.loads(best.stdout)
        results.append({
            "vms": vms, "clusters": clusters, "generateSeconds": round(generated, 1),
            "cpuSeconds": round(best.cpu, 2), "wallSeconds": round(best.seconds, 2),
            "peakMemoryMiB": round(best.max_rss_kib / 1024, 1), "graphRequests": best.graph,
            "expectedGraphRequests": math.ceil(clusters / GRAPH_PAGE) + math.ceil(vms / GRAPH_PAGE),
            "vmsCounted": counted["vms"], "clustersCounted": counted["clusters"], "runs": len(runs)})
    for smaller, larger in zip(results, results[1:]):
        larger["cpuRatio"] = round(larger["cpuSeconds"] / smaller["cpuSeconds"], 2)
        larger["sizeRatio"] = round(larger["vms"] / smaller["vms"], 2)
    return results


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


def installed_size(az_path, scratch):
    """`az extension add --source <the built wheel>` into an empty extension folder: its size (bytes of
    the files, and on disk), its files, and the top-level packages in it that az already ships."""
    wheel = azenv.build_wheel(os.path.join(REPO_ROOT, "src", "stack-hci-verify"), os.path.join(scratch, "size-wheel"))
    extensions = os.path.join(scratch, "size-extensions")
    env = dict(os.environ, AZURE_EXTENSION_DIR=extensions, AZURE_CONFIG_DIR=os.path.join(scratch, "size-config"),
               AZURE_CORE_COLLECT_TELEMETRY="false")
    azenv.run_az(az_path, ["extension", "add", "--source", wheel, "-y", "-o", "none"], env, check=True)
    folder = os.path.join(extensions, "stack-hci-verify")
    files = [os.path.join(path, name) for path, _, names in os.walk(folder) for name in names]
    size = sum(os.path.getsize(path) for path in files)
    disk = sum(os.stat(path).st_blocks * 512 for path in files)
    top = sorted(name for name in os.listdir(folder) if not name.endswith((".dist-info", ".whl")))
    return {"name": "installed extension folder", "bytes": size, "diskBytes": disk, "files": len(files),
            "bytecodeBytes": sum(os.path.getsize(path) for path in files if path.endswith(".pyc")),
            "packages": top, "shippedByAz": [name for name in top if name.lower() in SHIPPED_BY_AZ],
            "budgetBytes": INSTALLED_BUDGET_BYTES, "withinBudget": size <= INSTALLED_BUDGET_BYTES}


def run_command_log(requests):
    """{run command name: [methods]} of the runCommands requests in an emulator request log."""
    runs = {}
    for entry in requests:
        path = entry["path"].lower()
        if "/runcommands/" in path:
            runs.setdefault(path.rsplit("/", 1)[-1], []).append(entry["method"])
    return runs


def collect_case(args, az_path, scratch):
    """collect on a 16-server cluster with a 2 s run against collect on a 1-server cluster (one server's
    run), with the requests of each run command; then check -g --collect over 50 clusters x 2 servers
    against check -g, under the emulator's ARM-like write throttle (200 writes, 10 a second)."""
    directory = os.path.join(scratch, "collect-fleet")
    wide = generate_fleet(directory, 1, 16, 1, resource_groups=1, reference_time="now", server_recordings="ps7")
    single = generate_fleet(os.path.join(directory, "single"), 1, 1, 1, resource_groups=1, reference_time="now",
                            server_recordings="ps7", seed=1)
    group = generate_fleet(os.path.join(directory, "group"), args.collect_clusters, 2, 1, resource_groups=1,
                           reference_time="now", server_recordings="ps7", seed=2)
    machines = {}
    for manifest in (wide, single, group):
        machines.update(manifest["runCommand"]["machines"])
    results = []
    with start_emulator(directory, os.path.join(scratch, "collect-emulator"), page_size=100) as emulator:
        emulator.set_run_commands(machines=machines, delayMs=2000)
        env = azenv.prepare_az_home(emulator, os.path.join(scratch, "collect-home"), az_path)
        azenv.install_extension(az_path, env, os.path.join(REPO_ROOT, "src", "stack-hci-verify"),
                                os.path.join(REPO_ROOT, ".cache"))
        measured = Measured(az_path, env, emulator, max(1, min(args.repeat, 3)))
        timings = measured.compare({
            "16": measured.az(*VM, "collect", "--ids", wide["clusters"][0]["id"], "-o", "json"),
            "1": measured.az(*VM, "collect", "--ids", single["clusters"][0]["id"], "-o", "json"),
        })
        rows = json.loads(timings["16"]["run"].stdout)
        if len(rows) != 16 or {item["status"] for item in rows} != {"Collected"}:
            raise SystemExit("collect of 16 servers did not collect every server: {}".format(
                sorted({item["reasonCode"] for item in rows})))
        emulator.clear_requests()
        run(az_path, [*VM, "collect", "--ids", wide["clusters"][0]["id"], "-o", "json"], env, emulator)
        runs = run_command_log(emulator.requests())
        gets = max(methods.count("GET") for methods in runs.values())
        result = row("collect, 16 servers (2 s run each)", timings["16"], timings["1"],
                     "baseline: collect of 1 server")
        result.update(runSeconds=2.0, ratioToRun=round(timings["16"]["median"] / 2.0, 2),
                      runCommands=len(runs), maxPollsPerRun=gets,
                      requestsPerRun=max(len(methods) for methods in runs.values()),
                      everyRunDeleted=all(methods.count("DELETE") == 1 for methods in runs.values()))
        results.append(result)
        emulator.set_run_commands(delayMs=200)
        subscription = group["subscriptions"][0]["subscriptionId"]
        scope = ("-g", "rg-fleet-s01-g01", "--subscription", subscription)
        before = emulator.set_run_commands()["throttled"]
        checked = Measured(az_path, env, emulator, 1).compare({
            "collect": measured.az(*VM, "check", *scope, "--collect", "-o", "json"),
            "plain": measured.az(*VM, "check", *scope, "-o", "json"),
        })
        report = json.loads(checked["collect"]["run"].stdout)
        reasons = {finding["reasonCode"] for finding in report.get("findings") or []
                   if finding.get("source") == "runCommand"}
        result = row(f"check -g --collect ({args.collect_clusters} clusters x 2 servers)", checked["collect"],
                     checked["plain"], "baseline: check -g of the same group")
        result.update(throttledByEmulator=emulator.set_run_commands()["throttled"] - before,
                      collectReasons=sorted(reasons))
        results.append(result)
    return results


def cluster_fleet(scratch, args):
    """250 clusters x 4 nodes in one group; the first has 500 VMs; one more cluster with 20 VMs."""
    directory = os.path.join(scratch, "fleet")
    big = generate_fleet(directory, args.clusters, 4, 1, resource_groups=1, reference_time="now", vms=500,
                         vm_clusters=1)
    small = generate_fleet(os.path.join(directory, "small"), 1, 4, 1, resource_groups=1, reference_time="now",
                           vms=20, vm_clusters=1, seed=1)
    return big, small


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=250)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--fleet-clusters", type=int, default=5000)
    parser.add_argument("--fleet-subscriptions", type=int, default=10)
    parser.add_argument("--fleet-vms", type=int, default=500, help="VMs of the check fleet's first cluster")
    parser.add_argument("--skip-fleet", action="store_true", help="leave out the fleet and check-fleet cases")
    parser.add_argument("--api-calls", type=int, default=100, help="show calls of the Python API case")
    parser.add_argument("--api-az-calls", type=int, default=20, help="az show processes of its baseline")
    parser.add_argument("--only", nargs="+", choices=CASES, help="run only these cases (default: all)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--load-vms", type=int, nargs="*", default=[],
                        help="check --all-subscriptions over fleets of this many VMs (10 a cluster, 10 subscriptions), "
                             "e.g. --load-vms 10000 100000")
    parser.add_argument("--load-repeat", type=int, default=1, help="runs of each load size (the least CPU counts)")
    parser.add_argument("--only-load", action="store_true", help="run only the --load-vms scenario")
    parser.add_argument("--collect-clusters", type=int, default=50,
                        help="clusters (2 servers each) of the check -g --collect case")
    args = parser.parse_args(argv)
    cases = set(args.only or CASES)
    if args.skip_fleet:
        cases -= {"fleet", "check-fleet"}

    az_path = azenv.find_az(REPO_ROOT)
    if not az_path:
        raise SystemExit("az not found: run scripts/bootstrap")
    results, loads = [], []
    if args.only_load:
        cases = set()
    with tempfile.TemporaryDirectory(prefix="stack-hci-verify-bench-") as scratch:
        probes = []
        if cases & {"clusters", "check-group", "probes", "api"}:
            big, small = cluster_fleet(scratch, args)
            clusters = [("20 VMs", small["clusters"][0]["id"]), ("500 VMs", big["clusters"][0]["id"])]
            with start_emulator(os.path.join(scratch, "fleet"), os.path.join(scratch, "emulator"),
                                page_size=100) as emulator:
                env = azenv.prepare_az_home(emulator, os.path.join(scratch, "home"), az_path)
                azenv.install_extension(az_path, env, os.path.join(REPO_ROOT, "src", "stack-hci-verify"),
                                        os.path.join(REPO_ROOT, ".cache"))
                measured = Measured(az_path, env, emulator, args.repeat)
                if "clusters" in cases:
                    results.extend(cluster_views(measured, clusters))
                if "check-group" in cases:
                    results.append(check_group(measured, big["clusters"][0]["id"], len(big["clusters"]),
                                               sum(item["vms"] for item in big["clusters"])))
                if "probes" in cases:
                    probes = probe_budgets(az_path, env, emulator, scratch)
                if "api" in cases:
                    results.append(api_calls(measured, big, args.api_calls, args.api_az_calls))
        if "fleet" in cases:
            results.append(fleet(args, az_path, scratch))
        if "check-fleet" in cases:
            results.append(check_fleet(args, az_path, scratch))
        if "collect" in cases:
            results.extend(collect_case(args, az_path, scratch))
        if args.load_vms:
            loads = load(args, az_path, scratch)
        size = installed_size(az_path, scratch) if "installed-size" in cases else None
    python = os.path.join(os.path.dirname(az_path), "python")
    report = {"repeat": args.repeat, "commands": results, "probes": probes, "load": loads, "installed": size,
              "importTime": import_times(python if os.path.exists(python) else sys.executable)
              if "imports" in cases else []}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


def print_report(report):
    print("medians of {} interleaved runs; ratio = ours / baseline".format(report["repeat"]))
    for item in report["commands"]:
        print("{name:55} ours {oursSeconds:.3f}s  baseline {baselineSeconds:.3f}s  ratio {ratio:.2f}  "
              "requests ARM {armRequests} graph {graphRequests} token {tokenRequests} "
              "(baseline {baselineRequests})  {note}".format(**item))
        if "peakMemoryMiB" in item:
            print("{:55} peak memory {} MiB (baseline {} MiB)".format(
                "", item["peakMemoryMiB"], item["baselinePeakMemoryMiB"]))
        if "runCommands" in item:
            print("{:55} run commands {} ({} requests each at most, {} polls at most); every one deleted: {}".format(
                "", item["runCommands"], item["requestsPerRun"], item["maxPollsPerRun"], item["everyRunDeleted"]))
            print("{:55} wall / one run ({} s): {}".format("", item["runSeconds"], item["ratioToRun"]))
        if "throttledByEmulator" in item:
            print("{:55} writes the emulator throttled: {}; collection reasons: {}".format(
                "", item["throttledByEmulator"], ", ".join(item["collectReasons"])))
        if "expectedGraphRequests" in item:
            print("{:55} graph requests {} (pages: {}{})".format(
                "", item["graphRequests"], item["expectedGraphRequests"],
                "; baseline {}".format(item["baselineGraphRequests"]) if "baselineGraphRequests" in item else ""))
    for item in report["probes"]:
        print("{name:55} {seconds:.3f}s (budget {budgetSeconds:g}s, {outcome}){flag}".format(
            flag="" if item["withinBudget"] else "  OVER BUDGET", **item))
    for item in report["load"]:
        print("check --all-subscriptions, {vms:,} VMs in {clusters:,} clusters: CPU {cpuSeconds:.2f}s (wall "
              "{wallSeconds:.2f}s) peak memory {peakMemoryMiB} MiB; graph requests {graphRequests} (expected "
              "{expectedGraphRequests}); VMs counted {vmsCounted:,}".format(**item))
        if "cpuRatio" in item:
            print("{:55} CPU ratio {} for {} times the VMs".format("", item["cpuRatio"], item["sizeRatio"]))
    if report["installed"]:
        item = report["installed"]
        print(f"installed extension folder: {item['bytes'] / 2 ** 20:.2f} MiB in {item['files']} files "
              f"({item['bytecodeBytes'] / 2 ** 20:.2f} MiB of it bytecode pip compiled; "
              f"{item['diskBytes'] / 2 ** 20:.2f} MiB on disk), budget {item['budgetBytes'] / 2 ** 20:.0f} MiB"
              f"{'' if item['withinBudget'] else '  OVER BUDGET'}; packages {', '.join(item['packages'])}; "
              f"shipped by az: {', '.join(item['shippedByAz']) or 'none'}")
    for item in report["importTime"]:
        print("import {module:40} {cumulativeMs:6.2f} ms (budget {budgetMs:.0f} ms){flag}".format(
            flag="" if item["withinBudget"] else "  OVER BUDGET", **item))


if __name__ == "__main__":
    raise SystemExit(main())
