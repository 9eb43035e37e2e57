"""Tests of the emulator's Arc Run Command (emulator/runcommands.py): a run replays the machine's
recordings through the fake PowerShell, completes after its delay, is deleted and listed; the faults
on demand; the write throttle."""

import base64
import time

import pytest

from emulator import SAMPLE_FLEET
from emulator.client import start_emulator

MACHINE = ("/subscriptions/3f2b8c1e-6d4a-4e7b-9c15-2a8d0e6f7b31/resourceGroups/rg-hci-prod-eastus/providers/"
           "Microsoft.HybridCompute/machines/AZL-PROD-01-N2")
API = "?api-version=2026-07-15"


def script():
    """A bundle of one probe, as the extension sends it (the fake reads the embedded -EncodedCommand text)."""
    encoded = base64.b64encode("# probe: host-info\nGet-Something".encode("utf-16-le")).decode("ascii")
    return f"# probe-bundle: test\n$probes = @(\n'host-info={encoded}'\n)\n"


@pytest.fixture(scope="module", name="emu")
def fixture_emu():
    handle = start_emulator(SAMPLE_FLEET, in_process=True)
    yield handle
    handle.stop()


@pytest.fixture(autouse=True)
def _reset(emu):
    emu.set_run_commands(modes={}, delayMs=100, writesPerSecond=10, writeBurst=200)
    yield
    emu.clear_faults()


def create(emu, name="rc1", machine=MACHINE):
    return emu.request("PUT", f"{machine}/runCommands/{name}{API}",
                       body={"location": "eastus", "properties": {"source": {"script": script()}}})


def wait_done(emu, name="rc1", seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, headers, body = emu.request("GET", f"{MACHINE}/runCommands/{name}{API}")
        assert status == 200
        view = body["properties"]["instanceView"]
        if view["executionState"] != "Running":
            return view
        assert float(headers["Retry-After"]) > 0
        time.sleep(0.05)
    raise AssertionError("the run did not finish")


def test_a_run_replays_the_machines_recordings_and_is_deleted(emu):
    status, _, _ = create(emu)
    assert status == 201
    view = wait_done(emu)
    assert view["executionState"] == "Succeeded" and view["exitCode"] == 0
    assert view["output"].startswith("SHV1|host-info|0|") and view["output"].rstrip().endswith("SHV1|end|1")
    assert [item["name"] for item in emu.run_commands(MACHINE)] == ["rc1"]
    status, _, _ = emu.request("DELETE", f"{MACHINE}/runCommands/rc1{API}")
    assert status == 200 and emu.run_commands(MACHINE) == []


def test_fail_and_cut_modes(emu):
    emu.set_run_commands(modes={"AZL-PROD-01-N2": "fail"})
    create(emu, "rc2")
    view = wait_done(emu, "rc2")
    assert view["executionState"] == "Failed" and view["exitCode"] == 1 and view["error"]
    emu.set_run_commands(modes={"*": "cut"})
    create(emu, "rc3")
    view = wait_done(emu, "rc3")
    assert "SHV1|end|1" in view["output"] and not view["output"].startswith("SHV1|")
    for name in ("rc2", "rc3"):
        emu.request("DELETE", f"{MACHINE}/runCommands/{name}{API}")


def test_machine_modes_change_the_machine_document(emu):
    emu.set_run_commands(modes={"AZL-PROD-01-N2": "old-agent"})
    _, _, machine = emu.request("GET", MACHINE + API)
    assert machine["properties"]["agentVersion"].startswith("1.30")
    emu.set_run_commands(modes={"AZL-PROD-01-N2": "disconnected"})
    status, _, body = create(emu, "rc4")
    assert status == 409 and body["error"]["code"] == "MachineNotConnected"


def test_writes_over_the_bucket_are_throttled(emu):
    emu.set_run_commands(writesPerSecond=0.5, writeBurst=1)
    first, _, _ = create(emu, "rc5")
    second, headers, body = create(emu, "rc6")
    assert first == 201 and second == 429 and float(headers["Retry-After"]) > 0
    assert body["error"]["code"] == "SubscriptionRequestsThrottled"
    emu.set_run_commands(writesPerSecond=None)
    emu.request("DELETE", f"{MACHINE}/runCommands/rc5{API}")
    assert emu.run_commands(MACHINE) == []
