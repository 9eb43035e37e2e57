# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""`collect` and `--collect` through the real az, against the emulator's Arc Run Command, which runs the
submitted script through the fake PowerShell with each machine's recordings: the documents equal what
the local `probe` writes from the same recordings, the VMs ARM alone leaves Unknown become definite,
every fault is a per-server result with its fix, and no run command is left on any machine."""

import json
import os
import re
import signal
import subprocess
import time

import pytest

from .conftest import REPO_ROOT, emulated_az

pytestmark = pytest.mark.e2e
SAMPLE_FLEET = os.path.join(REPO_ROOT, "emulator", "fixtures", "sample-fleet")
FAKE_POWERSHELL = os.path.join(REPO_ROOT, "emulator", "fake_powershell")
PROD = ("-n", "hci-prod-01", "-g", "rg-hci-prod-eastus")
COLLECT = ("stack-hci", "vm-verification", "collect")
MACHINES = "/subscriptions/3f2b8c1e-6d4a-4e7b-9c15-2a8d0e6f7b31/resourceGroups/rg-hci-prod-eastus/providers/" \
           "Microsoft.HybridCompute/machines/"
SERVERS = ("AZL-PROD-01-N1", "AZL-PROD-01-N2", "AZL-PROD-01-N3", "AZL-PROD-01-N4")
# What the collected and the local document may differ in: when and how they were taken.
_TAKEN = ("collectedAt", "source", "collection", "endpoints")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    fake = {"STACK_HCI_VERIFY_POWERSHELL": os.path.join(FAKE_POWERSHELL, "fake-powershell"),
            "FAKE_POWERSHELL_DATA": os.path.join(FAKE_POWERSHELL, "recordings", "ps7")}
    with emulated_az(tmp_path_factory, "collect", SAMPLE_FLEET, login="profile", env=fake,
                     rebase_to="now") as runner:
        yield runner


@pytest.fixture(autouse=True)
def _fresh(fleet):
    fleet.emulator.clear_faults()
    fleet.emulator.set_run_commands(modes={}, delayMs=200)
    yield
    fleet.emulator.clear_faults()
    fleet.emulator.set_run_commands(modes={}, delayMs=200)
    assert nothing_left(fleet), "a run command was left on a machine"


def nothing_left(fleet):
    return all(not fleet.emulator.run_commands(MACHINES + server) for server in SERVERS)


def comparable(document):
    kept = {key: value for key, value in document.items() if key not in _TAKEN}
    kept["probes"] = [{key: value for key, value in probe.items() if key != "durationMs"}
                      for probe in document.get("probes") or []]
    return kept


def by_server(rows):
    return {row["server"]: row for row in rows}


def test_collect_returns_what_the_local_probe_writes(fleet, tmp_path):
    rows = by_server(fleet.json(*COLLECT, *PROD, "--output-dir", str(tmp_path)))
    assert sorted(rows) == list(SERVERS)
    assert {row["status"] for row in rows.values()} == {"Collected"}
    local = fleet.run("stack-hci", "vm-verification", "probe", "-o", "json")
    assert local.returncode == 0, local.stderr
    collected = rows["AZL-PROD-01-N1"]["hostFacts"]
    assert comparable(collected) == comparable(json.loads(local.stdout))
    assert collected["source"] == "runCommand" and collected["collectedAt"]
    assert collected["cluster"]["azureResourceUri"].lower().endswith("/clusters/hci-prod-01")
    assert rows["AZL-PROD-01-N2"]["hostFacts"]["computerName"] == "AZL-PROD-01-N2"
    written = sorted(os.listdir(tmp_path))
    assert written == [f"hci-prod-01-{server}.json" for server in SERVERS]
    assert all(row["runCommandsDeleted"] for row in rows.values())
    # N1's output is larger than Run Command's 4,096 bytes: what came back cut was run again on its own.
    assert len(rows["AZL-PROD-01-N1"]["runCommands"]) == 2


def test_requests_per_server_are_bounded(fleet):
    fleet.emulator.clear_requests()
    fleet.json(*COLLECT, *PROD)
    log = [entry for entry in fleet.emulator.requests() if "/runcommands" in entry["path"].lower()]
    runs = {entry["path"].rsplit("/", 1)[-1] for entry in log if entry["method"] == "PUT"}
    assert len(runs) == 5                                   # N1 twice, the others once
    for name in runs:
        mine = [entry for entry in log if entry["path"].endswith(name)]
        methods = [entry["method"] for entry in mine]
        assert methods.count("PUT") == 1 and methods.count("DELETE") == 1
        assert methods.count("GET") <= 3, methods           # the emulator's 0.2 s run, its Retry-After honoured


def test_show_collect_makes_the_unknown_vms_definite(fleet):
    before = fleet.json("stack-hci", "vm-verification", "vm", "list", *PROD)
    needed = [row["name"] for row in before if row["reasonCode"] == "host-facts-needed"]
    assert needed, "ARM alone should leave VMs needing host facts"
    after = {row["name"]: row for row in fleet.json("stack-hci", "vm-verification", "vm", "list", *PROD, "--collect")}
    with open(os.path.join(FAKE_POWERSHELL, "recordings", "ps7", "scenario.json"), encoding="utf-8") as handle:
        expected = json.load(handle)["expected"]
    recorded = [name for name in needed if name in expected]
    assert len(recorded) >= 5
    for name in recorded:           # the VMs the servers' recordings report on
        assert after[name]["reasonCode"] != "host-facts-needed", after[name]
        assert after[name]["benefitStatus"] == expected[name]["benefitStatus"], name
        assert after[name]["reasonCode"] == expected[name]["reasonCode"], name
    # ae-web-03 has no instance in ARM and no recording on any server: it stays Unknown, and says why.
    still = [name for name, row in after.items() if row["reasonCode"] == "host-facts-needed"]
    assert still == sorted(set(needed) - set(recorded))
    show = fleet.json("stack-hci", "vm-verification", "show", *PROD, "--collect")
    collected = [f for f in show["findings"] if f["reasonCode"] == "host-facts-collected"]
    assert sorted(f["name"] for f in collected) == list(SERVERS)
    assert all(f["source"] == "runCommand" and f["collectedAt"] for f in collected)


def test_vm_show_says_where_the_host_facts_came_from(fleet):
    view = fleet.json("stack-hci", "vm-verification", "vm", "show", *PROD, "--vm-name", "ae-web-02", "--collect")
    assert view["action"] == "Turn on Guest Service Interface"
    assert {item["collectedBy"] for item in view["hostFacts"]} == {"runCommand"}
    assert all(item["collectedAt"] for item in view["hostFacts"])


def test_each_fault_is_a_per_server_result(fleet):
    fleet.emulator.set_run_commands(modes={"AZL-PROD-01-N2": "disconnected", "AZL-PROD-01-N3": "old-agent",
                                           "AZL-PROD-01-N4": "fail"})
    rows = by_server(fleet.json(*COLLECT, *PROD))
    assert rows["AZL-PROD-01-N1"]["status"] == "Collected"
    assert rows["AZL-PROD-01-N2"]["reasonCode"] == "machine-disconnected"
    assert rows["AZL-PROD-01-N2"]["runCommands"] == []                  # read first, nothing created
    assert rows["AZL-PROD-01-N3"]["reasonCode"] == "agent-too-old"
    assert "1.33" in rows["AZL-PROD-01-N3"]["reason"]
    assert rows["AZL-PROD-01-N3"]["action"] == "Update the Connected Machine agent"
    failed = rows["AZL-PROD-01-N4"]
    assert failed["reasonCode"] == "script-failed" and "exit code 1" in failed["reason"]
    assert "Get-AzureStackHCI" in failed["reason"]                      # stderr's first lines


def test_forbidden_names_the_permission_and_the_role(fleet):
    fleet.emulator.add_fault(r"/runCommands/", method="PUT", status=403)
    result = fleet.run(*COLLECT, *PROD, "-o", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert {row["reasonCode"] for row in rows} == {"run-command-forbidden"}
    assert all("Microsoft.HybridCompute/machines/runCommands/write" in row["reason"] for row in rows)
    assert all("Azure Connected Machine Resource Administrator" in row["command"] for row in rows)


def test_throttled_creates_are_retried_not_reported(fleet):
    fleet.emulator.add_fault(r"/runCommands/", method="PUT", status=429, retry_after=0, count=3)
    rows = fleet.json(*COLLECT, *PROD)
    assert {row["status"] for row in rows} == {"Collected"}


def test_a_run_that_never_finishes_times_out_and_is_deleted(fleet):
    fleet.emulator.set_run_commands(modes={"*": "hang"})
    started = time.monotonic()
    rows = fleet.json(*COLLECT, *PROD, "--timeout", "2")
    assert time.monotonic() - started < 60
    assert {row["reasonCode"] for row in rows} == {"run-command-timeout"}
    assert all(row["runCommandsDeleted"] for row in rows)


def test_cut_output_is_never_judged(fleet):
    fleet.emulator.set_run_commands(modes={"AZL-PROD-01-N1": "cut"})
    rows = by_server(fleet.json(*COLLECT, *PROD))
    n1 = rows["AZL-PROD-01-N1"]
    assert n1["status"] == "Partial" and n1["reasonCode"] == "output-truncated"
    document = n1["hostFacts"]
    cut = [probe["probe"] for probe in document["probes"] if probe["reasonCode"] == "output-truncated"]
    assert cut and "4,096" in next(p["reason"] for p in document["probes"] if p["probe"] == cut[0])
    assert document["collection"]["outputCut"] is True
    if "get-vmkvp" in cut:
        assert all(vm["guestOs"] is None for vm in document["vms"] or [])


def test_ctrl_c_deletes_what_was_created(fleet):
    fleet.emulator.set_run_commands(modes={"*": "hang"})
    fleet.emulator.clear_requests()
    from emulator import azenv
    process = subprocess.Popen(  # pylint: disable=consider-using-with
        [fleet.az_path, *COLLECT, *PROD, "-o", "json"], env=fleet.env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, start_new_session=True)
    del azenv
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        puts = [e for e in fleet.emulator.requests() if e["method"] == "PUT" and "/runcommands/" in e["path"].lower()]
        if len(puts) >= len(SERVERS):
            break
        time.sleep(0.2)
    assert not nothing_left(fleet), "the run commands should exist while they run"
    os.killpg(process.pid, signal.SIGINT)
    process.communicate(timeout=60)
    assert nothing_left(fleet)


@pytest.mark.parametrize("args, words", [
    (("--timeout", "0"), "--timeout 0 is out of range"),
    (("--parallel", "0"), "--parallel 0 is out of range"),
])
def test_bad_arguments_are_one_line_errors(fleet, args, words):
    result = fleet.run(*COLLECT, *PROD, *args)
    assert result.returncode != 0
    assert words in result.stderr and "Traceback" not in result.stderr


def test_timeout_without_collect_is_refused(fleet):
    result = fleet.run("stack-hci", "vm-verification", "show", *PROD, "--timeout", "5")
    assert result.returncode != 0 and "--timeout applies to --collect only" in result.stderr


def test_a_group_collects_every_cluster_and_names_servers_without_a_machine(fleet):
    rows = fleet.json(*COLLECT, "-g", "rg-hci-prod-eastus")
    clusters = {row["cluster"] for row in rows}
    assert clusters == {"hci-prod-01", "hci-prod-02"}
    missing = [row for row in rows if row["cluster"] == "hci-prod-02"]
    assert missing and {row["reasonCode"] for row in missing} == {"no-arc-machine"}
    assert all(row["command"] and row["action"] for row in missing)
    assert {row["status"] for row in rows if row["cluster"] == "hci-prod-01"} == {"Collected"}


def test_debug_never_prints_the_token(fleet):
    result = fleet.run(*COLLECT, *PROD, "--debug", "-o", "json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "runCommands" in result.stderr                    # the requests are in the debug log...
    assert "Bearer ey" not in result.stderr                  # ...their credentials are not
    assert not re.search(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}", result.stderr)   # no JWT anywhere


def test_trusted_launch_collect_reads_igvmagent_on_every_server(fleet):
    """vTPM state transfer needs IgvmAgent on every machine of the system: only the hosts can say."""
    group = ("-g", "rg-hci-trusted")
    before = fleet.json("stack-hci", "vm-verification", "trusted-launch", "list", *group)
    after = fleet.json("stack-hci", "vm-verification", "trusted-launch", "list", *group, "--collect")
    isolated = [row["name"] for row in before if row["securityType"] == "TrustedLaunch"]
    assert isolated and {row["vtpmStateTransfer"] for row in before if row["name"] in isolated} == {"Unknown"}
    assert {row["vtpmStateTransfer"] for row in after if row["name"] in isolated} == {"Passed"}
