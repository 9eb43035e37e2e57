# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""`vm list`, `vm show`, `show.vmSummary` and `probe` then `--host-facts`, through the real az, on the
sample fleet (its VMs cover every verdict) and the fake PowerShell."""

import json
import os

import pytest

from .conftest import REPO_ROOT, emulated_az, rebased

pytestmark = pytest.mark.e2e
SAMPLE_FLEET = os.path.join(REPO_ROOT, "emulator", "fixtures", "sample-fleet")
HOST_FACTS = os.path.join(REPO_ROOT, "emulator", "fixtures", "host-facts")
FAKE_POWERSHELL = os.path.join(REPO_ROOT, "emulator", "fake_powershell")
PROD = ("-n", "hci-prod-01", "-g", "rg-hci-prod-eastus")
CLUSTER = ("--cluster-name", "hci-prod-01", "-g", "rg-hci-prod-eastus")
N1 = os.path.join(HOST_FACTS, "AZL-PROD-01-N1.json")
VM = ("stack-hci", "vm-verification", "vm")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    fake = {"STACK_HCI_VERIFY_POWERSHELL": os.path.join(FAKE_POWERSHELL, "fake-powershell"),
            "FAKE_POWERSHELL_DATA": os.path.join(FAKE_POWERSHELL, "recordings", "ps7")}
    with emulated_az(tmp_path_factory, "fleet", SAMPLE_FLEET, login="profile", env=fake, rebase_to="now") as runner:
        yield runner


@pytest.fixture(scope="module")
def n1(tmp_path_factory):
    return rebased(N1, tmp_path_factory.mktemp("host-facts"))


def by_name(rows):
    return {row["name"]: row for row in rows}


def expected_verdicts(scenario):
    with open(os.path.join(FAKE_POWERSHELL, "recordings", scenario, "scenario.json"), encoding="utf-8") as handle:
        return json.load(handle)["expected"]


def test_vm_list_with_host_facts_gives_every_recorded_verdict(fleet, n1):
    rows = by_name(fleet.json(*VM, "list", *PROD, "--host-facts", n1))
    recorded = expected_verdicts("ps7")
    assert recorded and set(recorded) <= set(rows)
    for name, expected in recorded.items():
        for key, value in expected.items():
            assert rows[name][key] == value, (name, key, rows[name])
    assert rows["ae-web-02"]["command"] == \
        "Enable-VMIntegrationService -VMName 'ae-web-02' -Name \"Guest Service Interface\""
    # A running Generation 1 VM is stopped while the adapter is added, then started again.
    assert rows["avd-w10-02"]["command"] == ("Stop-VM -Name 'avd-w10-02'; Add-AzStackHCIVMAttestation -VMName "
                                             "'avd-w10-02'; Start-VM -Name 'avd-w10-02'")
    assert "powered off" in rows["avd-w10-02"]["reason"]
    assert {"fact": "guestServiceInterface", "source": "host"} in rows["ae-web-01"]["sources"]


def test_vm_list_from_arm_alone(fleet):
    rows = by_name(fleet.json(*VM, "list", *PROD))
    assert "AZL-PROD-01-N4" not in rows and "p02-app-01" not in rows     # a server, another cluster's VM
    assert rows["ae-sql-01"]["action"] == "Install updates"
    assert rows["ae-sql-01"]["command"].startswith("Install-AzConnectedMachinePatch -ResourceGroupName "
                                                   "'rg-hci-prod-eastus' -Name 'ae-sql-01'")
    assert rows["lnx-db-01"]["benefitStatus"] == "No applicable benefits"
    assert rows["ae-web-01"]["benefitStatus"] == "Unknown"            # Guest Service Interface is not in ARM
    assert rows["ae-web-01"]["action"] == "Collect host facts" and "probe" in rows["ae-web-01"]["command"]
    assert rows["ae-web-03"]["benefitStatus"] == "Unknown"
    assert any("could not be read" in error for error in rows["ae-web-03"]["readErrors"])


def test_status_filter_and_table(fleet, n1):
    rows = fleet.json(*VM, "list", *PROD, "--host-facts", n1, "--status", "inactive-benefits")
    assert rows and {row["benefitStatus"] for row in rows} == {"Inactive benefits"}
    assert fleet.json(*VM, "list", *PROD, "--host-facts", n1, "--status", "Inactive benefits") == rows
    table = fleet.run(*VM, "list", *PROD, "--host-facts", n1, "-o", "table")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == ["Name", "Server", "EligibleBenefit", "BenefitStatus", "Benefits",
                                                    "Action"]
    bad = fleet.run(*VM, "list", *PROD, "--status", "Broken")
    assert bad.returncode == 1 and "is not a benefit status" in bad.stderr and "Traceback" not in bad.stderr
    assert "active-benefits inactive-benefits unknown no-applicable-benefits" in bad.stderr


def test_vm_show_with_facts_and_sources(fleet, n1):
    view = fleet.json(*VM, "show", "-n", "avd-w11-01", *CLUSTER, "--host-facts", n1)
    assert view["benefitStatus"] == "Active benefits" and view["accessMethod"] == "v2"
    assert view["vmId"] and view["securityType"] == "TrustedLaunch"
    assert view["armResourceId"].endswith("/machines/avd-w11-01")
    assert any(conflict["fact"] == "guestOsName" for conflict in view["conflicts"])
    missing = fleet.run(*VM, "show", "-n", "nope", *CLUSTER)
    assert missing.returncode == 3 and "vm list" in missing.stderr


def test_show_vm_summary(fleet, n1):
    summary = fleet.json("stack-hci", "vm-verification", "show", *PROD, "--host-facts", n1)["vmSummary"]
    assert {row["offer"] for row in summary.pop("benefits")} >= {"update-manager", "machine-configuration"}
    rows = fleet.json(*VM, "list", *PROD, "--host-facts", n1)
    counts = {status: sum(1 for row in rows if row["benefitStatus"] == status)
              for status in ("Active benefits", "Inactive benefits", "Unknown", "No applicable benefits")}
    assert summary == {"activeBenefits": counts["Active benefits"], "inactiveBenefits": counts["Inactive benefits"],
                       "unknown": counts["Unknown"], "noApplicableBenefits": counts["No applicable benefits"],
                       "total": len(rows)}
    assert summary["activeBenefits"] >= 4


def test_probe_then_host_facts(fleet, tmp_path):
    result = fleet.run("stack-hci", "vm-verification", "probe", "-o", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["schemaVersion"] == 1 and document["computerName"] == "AZL-PROD-01-N1"
    assert {endpoint["name"] for endpoint in document["endpoints"]} == {"host", "vm"}
    assert all(endpoint["reachable"] for endpoint in document["endpoints"])
    path = tmp_path / "n1.json"
    path.write_text(result.stdout, encoding="utf-8")
    rows = by_name(fleet.json(*VM, "list", *PROD, "--host-facts", str(path)))
    assert rows["ae-web-02"]["action"] == "Turn on Guest Service Interface"
    assert rows["esu-sql-2012r2"]["benefitStatus"] == "Active benefits"


def test_probe_of_the_legacy_off_host_in_51_dialect(fleet, tmp_path):
    env = dict(fleet.env, FAKE_POWERSHELL_DATA=os.path.join(FAKE_POWERSHELL, "recordings", "ps51-legacy-off"))
    from emulator import azenv
    result = azenv.run_az(fleet.az_path, ["stack-hci", "vm-verification", "probe", "-o", "json"], env, timeout=120)
    assert result.returncode == 0, result.stderr
    path = tmp_path / "store.json"
    path.write_text(result.stdout, encoding="utf-8")
    view = fleet.json("stack-hci", "vm-verification", "show", "-n", "hci-store-0017", "-g", "rg-branch-retail",
                      "--subscription", "8c9e4d27-1a3b-4f6c-b2d8-5e7f9a0c1d42", "--host-facts", str(path))
    assert view["legacyOsSupport"] == "Off"
    rows = by_name(fleet.json(*VM, "list", "-n", "hci-store-0017", "-g", "rg-branch-retail",
                              "--subscription", "8c9e4d27-1a3b-4f6c-b2d8-5e7f9a0c1d42", "--host-facts", str(path)))
    assert rows["pos-w10-01"]["action"] == "Turn on legacy OS support"
    assert rows["pos-w10-01"]["command"] == "Enable-AzStackHCIAttestation"


def test_probe_passes_vm_names_as_data(fleet, tmp_path):
    record = tmp_path / "calls.jsonl"
    hostile = "x'; Remove-VM *; '"
    env = dict(fleet.env, FAKE_POWERSHELL_DATA=os.path.join(FAKE_POWERSHELL, "recordings", "hostile-names"),
               FAKE_POWERSHELL_RECORD=str(record))
    from emulator import azenv
    result = azenv.run_az(fleet.az_path, ["stack-hci", "vm-verification", "probe", "--vm-name", hostile,
                                          "-o", "json"], env, timeout=120)
    assert result.returncode == 0, result.stderr
    calls = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    vm_probes = [call for call in calls if call["data"] and "vmNames" in json.dumps(call["data"])]
    assert vm_probes and all(hostile in json.dumps(call["data"], ensure_ascii=False) or
                             hostile in str(call["data"]) for call in vm_probes)
    document = json.loads(result.stdout)
    assert [vm["name"] for vm in document["vms"]] == [hostile]


def test_probe_without_a_host(fleet):
    env = {key: value for key, value in fleet.env.items() if key != "STACK_HCI_VERIFY_POWERSHELL"}
    from emulator import azenv
    result = azenv.run_az(fleet.az_path, ["stack-hci", "vm-verification", "probe", "-o", "json"], env, timeout=120)
    assert result.returncode == 0 and "Traceback" not in result.stderr
    document = json.loads(result.stdout)
    assert "no Hyper-V host" in document["reason"]
    assert {probe["reasonCode"] for probe in document["probes"]} == {"no-hyperv-host"}


def test_show_survives_unreadable_vms(fleet):
    arm_only(fleet)
    fleet.emulator.add_fault(r"/providers/Microsoft.HybridCompute/machines$", status=403)
    try:
        view = fleet.json("stack-hci", "vm-verification", "show", *PROD)
    finally:
        fleet.emulator.clear_faults()
    assert view["hostStatus"] == "On" and view["vmSummary"] is None
    finding = [f for f in view["findings"] if f["reasonCode"] == "vms-not-readable"][0]
    assert "Microsoft.HybridCompute/machines" in finding["reason"]
    result = fleet.run(*VM, "list", *PROD)
    assert result.returncode == 0  # the fault is gone


@pytest.fixture(autouse=True)
def _no_faults_left(request):
    """Every fault a test adds to the fleet's emulator is gone when it ends, whatever happened."""
    yield
    if "fleet" in request.fixturenames:
        request.getfixturevalue("fleet").emulator.clear_faults()


MACHINES_LIST = r"/subscriptions/[^/]+/providers/Microsoft.HybridCompute/machines$"
INSTANCES = r"/virtualMachineInstances/default$"
GRAPH = r"/providers/Microsoft.ResourceGraph/resources$"


def arm_only(fleet):
    """Resource Graph refuses, so the cluster's VMs are read from ARM (the path these tests fault)."""
    fleet.emulator.add_fault(GRAPH, status=403)


def error_lines(result):
    return [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]


def test_vm_list_without_the_machines_list_keeps_the_host_facts_vms(fleet, n1):
    arm_only(fleet)
    fleet.emulator.add_fault(MACHINES_LIST, status=403)
    result = fleet.run(*VM, "list", *PROD, "--host-facts", n1, "-o", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows and all(any("Microsoft.HybridCompute/machines/read" in error for error in row["readErrors"])
                        for row in rows)
    assert "Microsoft.HybridCompute/machines/read" in result.stderr and "clusters/read" not in result.stderr
    assert "Traceback" not in result.stderr


def test_vm_list_without_the_machines_list_or_host_facts_names_the_permission(fleet):
    arm_only(fleet)
    fleet.emulator.add_fault(MACHINES_LIST, status=403)
    result = fleet.run(*VM, "list", *PROD)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = error_lines(result)
    assert len(errors) == 1 and "Microsoft.HybridCompute/machines/read" in errors[0]
    assert "Microsoft.AzureStackHCI/clusters/read" not in result.stderr
    assert "az role assignment create" in result.stderr and "Reader" in result.stderr


def test_show_without_the_machines_list_says_what_to_grant(fleet):
    arm_only(fleet)
    fleet.emulator.add_fault(MACHINES_LIST, status=403)
    view = fleet.json("stack-hci", "vm-verification", "show", *PROD)
    finding = [f for f in view["findings"] if f["reasonCode"] == "vms-not-readable"][0]
    assert "Microsoft.HybridCompute/machines/read" in finding["reason"]
    assert finding["action"] == "Grant read access"
    assert finding["command"].startswith("az role assignment create ") and "--role Reader" in finding["command"]


def test_show_counts_the_instances_it_could_not_read(fleet, n1):
    arm_only(fleet)
    fleet.emulator.add_fault(INSTANCES, status=403)
    view = fleet.json("stack-hci", "vm-verification", "show", *PROD, "--host-facts", n1)
    findings = [f for f in view["findings"] if f["reasonCode"] == "vm-instances-not-readable"]
    assert len(findings) == 1
    reason = findings[0]["reason"]
    total = len([r for r in fleet.emulator.requests() if r["path"].lower().endswith("virtualmachineinstances/default")
                 and r["status"] == 403])
    assert total and reason.startswith("{0} of {0} Azure Local VM instances".format(total)), reason
    assert "Microsoft.AzureStackHCI/virtualMachineInstances/read" in reason
    assert findings[0]["action"] == "Grant read access" and findings[0]["command"]
    assert view["vmSummary"]["total"] >= total


def test_long_retry_after_is_not_waited_for(fleet):
    fleet.emulator.clear_requests()
    fleet.emulator.add_fault(r"/clusters/hci-prod-01$", status=429, retry_after=120)
    result = fleet.run("stack-hci", "vm-verification", "show", *PROD)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = error_lines(result)
    assert len(errors) == 1 and "120 seconds" in errors[0] and "Retry-After" in errors[0]
    assert "STACK_HCI_VERIFY_ARM_TIMEOUT" in result.stderr
    asked = [r for r in fleet.emulator.requests() if r["path"].endswith("/clusters/hci-prod-01")]
    assert len(asked) == 1          # answered at once, not slept on and asked again


def test_hung_arm_ends_with_a_clear_error(fleet):
    from emulator import azenv
    fleet.emulator.add_fault(r"/clusters/hci-prod-01$", delay_ms=6000)
    env = dict(fleet.env, STACK_HCI_VERIFY_ARM_TIMEOUT="1")
    result = azenv.run_az(fleet.az_path, ["stack-hci", "vm-verification", "show", *PROD], env, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = error_lines(result)
    assert len(errors) == 1 and "no answer" in errors[0] and "1 seconds" in errors[0], result.stderr
    assert "STACK_HCI_VERIFY_ARM_TIMEOUT" in result.stderr


def test_bad_arm_timeout_setting_is_named(fleet):
    from emulator import azenv
    env = dict(fleet.env, STACK_HCI_VERIFY_ARM_TIMEOUT="soon")
    result = azenv.run_az(fleet.az_path, ["stack-hci", "vm-verification", "show", *PROD], env, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "STACK_HCI_VERIFY_ARM_TIMEOUT" in error_lines(result)[0] and "'soon'" in result.stderr


GATEWAY_PAGE = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
                "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n")


@pytest.mark.parametrize("content_type", ["text/html", None])
def test_gateway_html_page_is_reported_as_the_gateway_said(fleet, content_type):
    fleet.emulator.add_fault(r"/clusters/hci-prod-01$", status=502, body=GATEWAY_PAGE, content_type=content_type)
    result = fleet.run("stack-hci", "vm-verification", "show", *PROD)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = error_lines(result)
    assert len(errors) == 1 and "502" in errors[0] and "502 Bad Gateway" in errors[0], result.stderr
    assert "JSON" not in result.stderr and "<html>" not in result.stderr
