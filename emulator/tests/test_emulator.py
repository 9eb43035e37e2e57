"""Tests of the emulator: a real subprocess over real TLS, and a real az for the smoke tests."""

import base64
import filecmp
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from emulator import SAMPLE_FLEET, azenv
from emulator.client import EmulatorError, start_emulator
from emulator.generate_fleet import STATE_CYCLE, generate_fleet
from emulator.store import ResourceStore, rebase_document, shift_timestamp

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AZ_EMULATED = os.path.join(REPO, "scripts", "az-emulated")
CLUSTERS = "Microsoft.AzureStackHCI/clusters"
API = "?api-version=2024-04-01"


def sample_documents(kind=CLUSTERS):
    """The sample fleet's documents of one type, read straight from the files."""
    found = []
    for root, _, files in os.walk(SAMPLE_FLEET):
        for name in files:
            if name.endswith(".json") and name != "_emulator.json":
                with open(os.path.join(root, name), encoding="utf-8") as handle:
                    document = json.load(handle)
                if str(document.get("type", "")).lower() == kind.lower():
                    found.append(document)
    return sorted(found, key=lambda d: d["id"].lower())


SAMPLE_CLUSTERS = sample_documents()
SUB_A = SAMPLE_CLUSTERS[0]["id"].split("/")[2]
HEALTHY = next(d for d in SAMPLE_CLUSTERS if d["name"] == "hci-prod-01")
RG = HEALTHY["id"].split("/")[4]
MACHINE_ID = (f"/subscriptions/{SUB_A}/resourceGroups/{RG}/providers/Microsoft.HybridCompute/"
              "machines/vm-web-01")
VMI_ID = MACHINE_ID + "/providers/Microsoft.AzureStackHCI/virtualMachineInstances/default"


def _write(directory, relative, document):
    path = os.path.join(directory, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(document if isinstance(document, str) else json.dumps(document))


@pytest.fixture(scope="module")
def fixtures_dir(tmp_path_factory):
    """The sample fleet plus child, extension and nested resources, and files to skip."""
    directory = str(tmp_path_factory.mktemp("fixtures") / "fleet")
    shutil.copytree(SAMPLE_FLEET, directory)
    _write(directory, "extra/machine.json", {
        "id": MACHINE_ID, "name": "vm-web-01", "type": "Microsoft.HybridCompute/machines",
        "location": "eastus", "kind": "HCI", "properties": {"provisioningState": "Succeeded"}})
    _write(directory, "extra/deep/vmi.json", {
        "id": VMI_ID, "name": "default", "type": "Microsoft.AzureStackHCI/virtualMachineInstances",
        "extendedLocation": {"type": "CustomLocation", "name": "/subscriptions/x/cl"},
        "properties": {"securityProfile": {"enableTPM": True, "securityType": "TrustedLaunch",
                                           "uefiSettings": {"secureBootEnabled": True}}}})
    _write(directory, "extra/deep/attestation.json", {
        "id": VMI_ID + "/attestationStatus/default", "name": "default",
        "type": "Microsoft.AzureStackHCI/virtualMachineInstances/attestationStatus",
        "properties": {"attestSecureBootEnabled": "Enabled"}})
    _write(directory, "extra/arc.json", {
        "id": HEALTHY["id"] + "/arcSettings/default", "name": "default",
        "type": "Microsoft.AzureStackHCI/clusters/arcSettings",
        "properties": {"aggregateState": "Connected"}})
    _write(directory, "extra/host-facts.json", {"schemaVersion": 1, "computerName": "NODE1"})
    _write(directory, "extra/broken.json", "{not json")
    return directory


@pytest.fixture(scope="module")
def emu(fixtures_dir):
    handle = start_emulator(fixtures_dir, page_size=2)
    yield handle
    handle.stop()


@pytest.fixture(autouse=True)
def _clean(request):
    yield
    if "emu" in request.fixturenames:
        handle = request.getfixturevalue("emu")
        handle.clear_faults()


def get(emu, path, **kwargs):
    return emu.request("GET", path, **kwargs)


def collect(emu, path):
    """Follow nextLinks; return (items, pages)."""
    items, pages, url = [], 0, path
    while url:
        status, _, body = get(emu, url)
        assert status == 200, body
        items += body["value"]
        pages += 1
        url = body.get("nextLink")
        if url:
            assert url.startswith(emu.base_url + "/"), url
    return items, pages


# -- process, TLS, token -----------------------------------------------------------------------


def test_info_file_and_handle(emu):
    with open(os.path.join(emu.workdir, "emulator.json"), encoding="utf-8") as handle:
        info = json.load(handle)
    assert info == emu.info
    assert emu.arm_url.startswith("https://127.0.0.1:") and emu.arm_url.endswith("/")
    assert emu.identity_endpoint == emu.arm_url + "msi/token"
    assert emu.control_url == emu.arm_url + "_emulator"
    assert os.path.isfile(emu.ca_bundle)
    assert SUB_A in emu.subscriptions and len(emu.subscriptions) == 2
    assert info["imdsUrl"].startswith("http://127.0.0.1:") and info["pid"] == emu.process.pid
    assert os.path.isfile(info["imdsTrustBundle"]) and os.path.isfile(info["imdsIntermediates"])


def test_tls_is_trusted_with_the_ca_only(emu):
    strict = ssl.create_default_context(cafile=emu.ca_bundle)
    strict.verify_flags |= getattr(ssl, "VERIFY_X509_STRICT", 0)
    with urllib.request.urlopen(emu.control_url, context=strict, timeout=10) as response:
        assert response.status == 200
    with pytest.raises(urllib.error.URLError) as caught:
        urllib.request.urlopen(emu.control_url, context=ssl.create_default_context(), timeout=10)
    assert isinstance(caught.value.reason, ssl.SSLCertVerificationError)


def test_server_certificate_extensions(emu):
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    with open(os.path.join(emu.workdir, "server.pem"), "rb") as handle:
        leaf, ca = x509.load_pem_x509_certificates(handle.read())
    assert str(leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
               .get_values_for_type(x509.IPAddress)[0]) == "127.0.0.1"
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest


def test_token_endpoint(emu):
    path = "/msi/token?api-version=2019-08-01&resource=https://management.core.windows.net/"
    status, _, body = get(emu, path, token=None,
                          headers={"X-IDENTITY-HEADER": emu.identity_header, "Metadata": "true"})
    assert status == 200
    assert body["token_type"] == "Bearer"
    assert body["resource"] == "https://management.core.windows.net/"
    assert isinstance(body["expires_on"], str) and int(body["expires_on"]) > time.time()
    payload = body["access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["tid"] == emu.tenant_id
    assert {"oid", "appid", "iat", "exp"} <= set(claims)
    assert get(emu, path, token=None, headers={"X-IDENTITY-HEADER": "wrong"})[0] == 401
    assert get(emu, "/msi/token?api-version=2019-08-01", token=None,
               headers={"X-IDENTITY-HEADER": emu.identity_header})[0] == 400


def test_bearer_required_and_arm_headers(emu):
    status, _, body = get(emu, "/subscriptions" + API, token=None)
    assert status == 401 and body["error"]["code"] == "AuthenticationFailed"
    status, headers, _ = get(emu, "/subscriptions" + API,
                             headers={"x-ms-correlation-request-id": "corr-1"})
    lowered = {k.lower(): v for k, v in headers.items()}
    assert status == 200
    assert lowered["x-ms-request-id"]
    assert lowered["x-ms-correlation-request-id"] == "corr-1"
    assert lowered["content-type"].startswith("application/json")


# -- ARM reads ---------------------------------------------------------------------------------


def test_subscriptions_and_resource_groups(emu):
    subs, _ = collect(emu, "/subscriptions" + API)
    assert {s["subscriptionId"] for s in subs} == set(emu.subscriptions)
    assert all(s["state"] == "Enabled" and s["tenantId"] == emu.tenant_id and s["displayName"]
               for s in subs)
    status, _, sub = get(emu, f"/subscriptions/{SUB_A}" + API)
    assert status == 200 and sub["subscriptionId"] == SUB_A
    groups, _ = collect(emu, f"/subscriptions/{SUB_A}/resourcegroups" + API)
    assert RG in {g["name"] for g in groups}
    status, _, group = get(emu, f"/subscriptions/{SUB_A}/resourceGroups/{RG.upper()}" + API)
    assert status == 200 and group["name"] == RG and group["location"] == HEALTHY["location"]


def test_resource_get_is_case_insensitive(emu):
    status, _, body = get(emu, HEALTHY["id"].upper() + API)
    assert status == 200 and body == HEALTHY
    lower = next(d for d in SAMPLE_CLUSTERS if d["type"] != CLUSTERS)  # lower-case type kept
    assert get(emu, lower["id"] + API)[2]["type"] == lower["type"]


@pytest.mark.parametrize("path, code", [
    (f"/subscriptions/{{sub}}/resourceGroups/{{rg}}/providers/{CLUSTERS}/missing",
     "ResourceNotFound"),
    (f"/subscriptions/{{sub}}/resourceGroups/no-such-rg/providers/{CLUSTERS}/x",
     "ResourceGroupNotFound"),
    ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/x",
     "SubscriptionNotFound"),
    (f"/subscriptions/{{sub}}/resourceGroups/{{rg}}/providers/{CLUSTERS}/missing/arcSettings",
     "ParentResourceNotFound"),
])
def test_not_found_shapes(emu, path, code):
    status, _, body = get(emu, path.format(sub=SUB_A, rg=RG) + API)
    assert status == 404
    assert body["error"]["code"] == code and body["error"]["message"]
    if code == "ResourceNotFound":
        assert body["error"]["message"].startswith(
            f"The Resource '{CLUSTERS}/missing' under resource group '{RG}' was not found.")


def test_list_by_type_pages_at_subscription_and_group_scope(emu):
    clusters, pages = collect(emu, f"/subscriptions/{SUB_A}/providers/{CLUSTERS}" + API)
    expected = [d for d in SAMPLE_CLUSTERS if d["id"].split("/")[2] == SUB_A]
    assert [c["id"] for c in clusters] == [d["id"] for d in expected]
    assert pages == (len(expected) + 1) // 2  # page size 2
    in_group, _ = collect(emu, f"/subscriptions/{SUB_A}/resourceGroups/{RG}/providers/"
                               f"{CLUSTERS.lower()}" + API)
    assert {c["id"] for c in in_group} == {d["id"] for d in expected if d["id"].split("/")[4] == RG}


def test_last_page_has_no_next_link_and_bad_token_is_400(emu):
    status, _, body = get(emu, f"/subscriptions/{SUB_A}/resourceGroups/rg-hci-dev/providers/"
                               f"{CLUSTERS}" + API)
    assert status == 200 and "nextLink" not in body
    status, _, body = get(emu, f"/subscriptions/{SUB_A}/providers/{CLUSTERS}{API}&$skipToken=zz")
    assert status == 400 and body["error"]["code"] == "InvalidSkipToken"


def test_child_extension_and_nested_resources(emu):
    status, _, body = get(emu, MACHINE_ID + "/providers/Microsoft.AzureStackHCI/"
                                            "virtualMachineInstances" + API)
    assert status == 200 and [r["id"] for r in body["value"]] == [VMI_ID]
    status, _, body = get(emu, VMI_ID + "/attestationStatus/default" + API)
    assert status == 200 and body["properties"]["attestSecureBootEnabled"] == "Enabled"
    status, _, body = get(emu, HEALTHY["id"] + "/arcSettings" + API)
    assert status == 200 and [r["name"] for r in body["value"]] == ["default"]
    # an extension resource is not a top-level resource of its resource group
    status, _, body = get(emu, f"/subscriptions/{SUB_A}/resourceGroups/{RG}/providers/"
                               "Microsoft.AzureStackHCI/virtualMachineInstances" + API)
    assert status == 200 and body["value"] == []


def test_providers(emu):
    status, _, body = get(emu, f"/subscriptions/{SUB_A}/providers/microsoft.azurestackhci" + API)
    assert status == 200 and body["namespace"] == "Microsoft.AzureStackHCI"
    types = {t["resourceType"]: t for t in body["resourceTypes"]}
    assert {"clusters", "clusters/arcSettings", "virtualMachineInstances",
            "virtualMachineInstances/attestationStatus"} <= set(types)
    assert all(t["apiVersions"] for t in types.values())
    providers, _ = collect(emu, f"/subscriptions/{SUB_A}/providers" + API)
    assert "Microsoft.HybridCompute" in {p["namespace"] for p in providers}
    status, _, body = get(emu, f"/subscriptions/{SUB_A}/providers/Microsoft.Nothing" + API)
    assert status == 404 and body["error"]["code"] == "InvalidResourceNamespace"


def test_generic_resource_list_filter_and_paging(emu):
    url = (f"/subscriptions/{SUB_A}/resources{API}&$filter=resourceType eq "
           f"'{CLUSTERS.upper()}' and resourceGroup eq '{RG.upper()}'"
           "&$expand=createdTime,changedTime,provisioningState")
    items, _ = collect(emu, url)
    assert sorted(i["name"] for i in items) == sorted(
        d["name"] for d in SAMPLE_CLUSTERS if d["id"].split("/")[4] == RG)
    assert all("properties" not in i and i["provisioningState"] == "Succeeded" for i in items)
    everything, pages = collect(emu, f"/subscriptions/{SUB_A}/resourceGroups/{RG}/resources" + API)
    assert pages > 1
    assert MACHINE_ID in {i["id"] for i in everything}
    assert VMI_ID not in {i["id"] for i in everything}  # proxy resources (no location) are not listed
    status, _, body = get(emu, f"/subscriptions/{SUB_A}/resources{API}&$filter=substringof('x',name)")
    assert status == 400 and body["error"]["code"] == "InvalidFilterInQueryString"


# -- Resource Graph ------------------------------------------------------------------------------


def graph(emu, query, **options):
    body = {"subscriptions": emu.subscriptions, "query": query, "options": options}
    return emu.request("POST", "/providers/Microsoft.ResourceGraph/resources"
                               "?api-version=2024-04-01", body=body)


def test_resource_graph_paging(emu):
    query = f"resources | where type =~ '{CLUSTERS}' | project id, name"
    rows, token, pages = [], None, 0
    while True:
        options = {"$top": 2}
        if token:
            options["$skipToken"] = token
        status, _, body = graph(emu, query, **options)
        assert status == 200, body
        assert body["totalRecords"] == len(SAMPLE_CLUSTERS) and body["count"] == len(body["data"])
        assert body["resultTruncated"] == "false" and body["facets"] == []
        rows += body["data"]
        pages += 1
        token = body.get("$skipToken")
        if not token:
            break
    assert [r["id"] for r in rows] == [d["id"] for d in SAMPLE_CLUSTERS]
    assert pages == (len(SAMPLE_CLUSTERS) + 1) // 2


def test_resource_graph_rows_and_filters(emu):
    status, _, body = graph(emu, f"resources | where type =~ '{CLUSTERS}' | where resourceGroup "
                                 f"=~ '{RG.upper()}' | where id =~ '{HEALTHY['id'].upper()}'")
    assert status == 200 and body["count"] == 1
    row = body["data"][0]
    assert row["type"] == CLUSTERS.lower() and row["resourceGroup"] == RG.lower()
    assert row["subscriptionId"] == SUB_A and row["tenantId"] == emu.tenant_id
    assert row["properties"] == HEALTHY["properties"]
    status, _, body = graph(emu, "resources | where type in~ ('microsoft.hybridcompute/machines') "
                                 "and properties.provisioningState == 'Succeeded' "
                                 "| project id, state = properties.provisioningState")
    machines = sample_documents("Microsoft.HybridCompute/machines") + [{"id": MACHINE_ID}]
    assert status == 200 and sorted(body["data"], key=lambda row: row["id"].lower()) == [
        {"id": d["id"], "state": "Succeeded"} for d in sorted(machines, key=lambda d: d["id"].lower())]
    status, _, body = graph(emu, f"resources | where type =~ '{CLUSTERS}'", resultFormat="table")
    assert status == 200 and "columns" in body["data"] and len(body["data"]["rows"]) == len(
        SAMPLE_CLUSTERS)


def test_resource_graph_subscription_scope_and_unsupported_query(emu):
    body = {"subscriptions": [SUB_A], "query": f"resources | where type =~ '{CLUSTERS}'"}
    status, _, result = emu.request("POST", "/providers/Microsoft.ResourceGraph/resources", body=body)
    assert status == 200 and {r["subscriptionId"] for r in result["data"]} == {SUB_A}
    status, _, result = graph(emu, "resources | summarize count() by type")
    assert status == 400 and result["error"]["code"] == "BadRequest"
    assert "summarize" in result["error"]["message"]


# -- faults and the request log -------------------------------------------------------------------


def test_429_with_retry_after_then_success(emu):
    fault = emu.add_fault(r"/clusters/hci-prod-01$", status=429, retry_after=3, count=1)
    assert fault["id"] and emu.faults()[0]["pattern"] == r"/clusters/hci-prod-01$"
    status, headers, body = get(emu, HEALTHY["id"] + API)
    assert status == 429 and headers["Retry-After"] == "3"
    assert body["error"]["code"] == "SubscriptionRequestsThrottled"
    assert get(emu, HEALTHY["id"] + API)[0] == 200
    assert emu.faults() == []


def test_403_looks_like_authorization_failed(emu):
    emu.add_fault("/providers/Microsoft.AzureStackHCI/clusters", status=403, method="GET")
    status, _, body = get(emu, HEALTHY["id"] + API)
    assert status == 403 and body["error"]["code"] == "AuthorizationFailed"
    message = body["error"]["message"]
    assert "does not have authorization to perform action " \
           "'Microsoft.AzureStackHCI/clusters/read'" in message
    assert f"over scope '{HEALTHY['id']}'" in message
    # a method filter: other methods are not faulted
    assert graph(emu, "resources | limit 1")[0] == 200


def test_fault_count_exhaustion_and_custom_body(emu):
    emu.add_fault("/subscriptions$", status=503, count=2, body={"error": {"code": "Custom"}})
    assert [get(emu, "/subscriptions" + API)[0] for _ in range(3)] == [503, 503, 200]
    emu.add_fault("/subscriptions$", status=500, count=1)
    status, _, body = get(emu, "/subscriptions" + API)
    assert status == 500 and body["error"]["code"] == "InternalServerError"


def test_delay_only_fault_serves_normally(emu):
    fault = emu.add_fault("/subscriptions$", delay_ms=300, count=1)
    emu.clear_requests()
    status, _, body = get(emu, "/subscriptions" + API)
    assert status == 200 and body["value"]
    # The request log says which fault delayed the answer and how long the emulator held it.
    [entry] = emu.requests()
    assert (entry["status"], entry["fault"]) == (200, fault["id"]) and entry["durationMs"] >= 300


def test_bad_fault_is_rejected(emu):
    with pytest.raises(EmulatorError, match="status"):
        emu.add_fault("/x")
    with pytest.raises(EmulatorError, match="regular expression"):
        emu.add_fault("(", status=500)


def test_request_log(emu):
    emu.clear_requests()
    get(emu, f"/subscriptions/{SUB_A}?api-version=2022-12-01")
    graph(emu, "resources | limit 1")
    log = emu.requests()
    assert [(r["method"], r["status"]) for r in log] == [("GET", 200), ("POST", 200)]
    first = log[0]
    assert first["path"] == f"/subscriptions/{SUB_A}"
    assert first["query"] == {"api-version": "2022-12-01"} and first["apiVersion"] == "2022-12-01"
    assert abs(first["time"] - time.time()) < 60
    assert log[1]["body"]["query"] == "resources | limit 1"
    emu.clear_requests()
    assert emu.requests() == []


def test_put_and_delete_resources_at_run_time(emu):
    document = dict(HEALTHY, id=HEALTHY["id"] + "-copy", name="hci-prod-01-copy")
    assert emu.put_resources(document) == [document["id"]]
    assert get(emu, document["id"] + API)[0] == 200
    assert emu.delete_resource(document["id"]) == 1
    assert get(emu, document["id"] + API)[0] == 404


# -- store, generator, lifecycle ---------------------------------------------------------------


def test_store_skips_non_resources_with_a_warning(fixtures_dir, capsys):
    store = ResourceStore.from_directory(fixtures_dir)
    warnings = capsys.readouterr().err
    assert "host-facts.json" in warnings and "broken.json" in warnings
    assert store.get(VMI_ID) is not None
    assert store.reference_time is not None


def test_timestamps_rebase_keeps_their_format():
    assert shift_timestamp("2026-11-20T08:15:42.1234567Z", 86400) == "2026-11-21T08:15:42.1234567Z"
    assert shift_timestamp("2026-11-20T08:15:42+02:00", -60) == "2026-11-20T08:14:42+02:00"
    assert shift_timestamp("10.0.25398.1189", 60) == "10.0.25398.1189"
    assert rebase_document({"a": ["2026-01-01T00:00:00Z"]}, 3600) == {"a": ["2026-01-01T01:00:00Z"]}


def test_generator_is_deterministic(tmp_path):
    first = generate_fleet(str(tmp_path / "a"), clusters=23, nodes=3, subscriptions=4, seed=7)
    second = generate_fleet(str(tmp_path / "b"), clusters=23, nodes=3, subscriptions=4, seed=7)
    assert first == second
    comparison = filecmp.dircmp(tmp_path / "a", tmp_path / "b")
    assert not comparison.diff_files and not comparison.left_only and not comparison.right_only
    assert [c["state"] for c in first["clusters"]] == [STATE_CYCLE[i % 10] for i in range(23)]
    store = ResourceStore.from_directory(str(tmp_path / "a"))
    assert len(store.all()) == 23 and len(store.subscriptions()) == 4
    nodes = store.all()[0].document["properties"]["reportedProperties"]["nodes"]
    assert len(nodes) == 3 and nodes[0]["ehcResourceId"].startswith("/subscriptions/")
    third = generate_fleet(str(tmp_path / "c"), clusters=23, nodes=3, subscriptions=4, seed=8)
    assert third["clusters"][0]["id"] != first["clusters"][0]["id"]


def test_generator_command_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "emulator.generate_fleet", "--out",
                             str(tmp_path), "--clusters", "3", "--nodes", "2"],
                            capture_output=True, text=True, cwd=REPO, check=True)
    assert json.loads(result.stdout)["clusters"] == 3


def test_in_process_emulator_and_rebase(tmp_path):
    with start_emulator(SAMPLE_FLEET, workdir=str(tmp_path), in_process=True,
                        rebase_to="2027-01-01T12:00:00Z") as handle:
        status, _, body = get(handle, HEALTHY["id"] + API)
        assert status == 200
        assert body["properties"]["lastSyncTimestamp"] == "2027-01-01T08:15:42.1234567Z"
        assert handle.info["referenceTime"] == "2027-01-01T12:00:00Z"
    assert not os.path.exists(tmp_path / "emulator.json")


def test_sigterm_stops_cleanly_and_bad_fixtures_fail_fast(tmp_path):
    handle = start_emulator(SAMPLE_FLEET, workdir=str(tmp_path / "w"))
    handle.stop()
    assert handle.process.returncode == 0
    assert not os.path.exists(tmp_path / "w" / "emulator.json")
    # Fails as soon as the process exits, not when the wait for it runs out.
    with pytest.raises(EmulatorError, match="exited with status") as raised:
        start_emulator(str(tmp_path / "missing"), timeout=20)
    assert "fixture directory not found" in str(raised.value) and "not ready after" not in str(raised.value)


# -- the real az ---------------------------------------------------------------------------------

AZ = azenv.find_az(REPO)


@pytest.fixture(name="az_installed")
def az_installed_fixture():
    """The tests of the real az fail, never skip, where az is missing."""
    if AZ is None:
        pytest.fail("az is not installed; run scripts/bootstrap")


needs_az = pytest.mark.usefixtures("az_installed")


def az_emulated(*args):
    return subprocess.run([sys.executable, AZ_EMULATED, "--no-extension", "--", *args],
                          capture_output=True, text=True, cwd="/", timeout=120, check=False)


@needs_az
def test_az_resource_list_and_show():
    group = "rg-hci-prod-eastus"
    result = az_emulated("resource", "list", "-g", group, "--resource-type", CLUSTERS, "-o", "json")
    assert result.returncode == 0, result.stderr
    assert sorted(r["name"] for r in json.loads(result.stdout)) == sorted(
        d["name"] for d in SAMPLE_CLUSTERS if d["id"].split("/")[4] == group)
    result = az_emulated("resource", "show", "--ids", HEALTHY["id"], "-o", "json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["id"] == HEALTHY["id"]
    assert shown["properties"]["reportedProperties"]["imdsAttestation"] == "Enabled"


@needs_az
def test_az_sees_faults_and_login_profile(emu, tmp_path):
    env = azenv.prepare_az_home(emu, str(tmp_path / "home"), AZ, login="profile")
    emu.add_fault(r"/clusters/hci-prod-01$", status=429, retry_after=0, count=1)
    emu.clear_requests()
    result = azenv.run_az(AZ, ["resource", "show", "--ids", HEALTHY["id"], "--query", "name",
                               "-o", "tsv"], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hci-prod-01"
    statuses = [r["status"] for r in emu.requests() if r["path"].endswith("/hci-prod-01")]
    assert statuses == [429, 200]  # azure-core retried after Retry-After
    emu.add_fault(r"/clusters/hci-prod-01$", status=404, count=1)
    result = azenv.run_az(AZ, ["resource", "show", "--ids", HEALTHY["id"]], env)
    assert result.returncode == 3 and "ResourceNotFound" in result.stderr


DUMMY_SETUP = """
from setuptools import setup, find_packages
setup(name='emulator-dummy', version='0.0.1', packages=find_packages(),
      package_data={'azext_emulator_dummy': ['azext_metadata.json']})
"""
DUMMY_INIT = """
from azure.cli.core import AzCommandsLoader

def hello():
    return {'hello': 'emulator'}

class Loader(AzCommandsLoader):
    def load_command_table(self, args):
        from azure.cli.core.commands import CliCommandType
        with self.command_group('emulator-dummy', CliCommandType(
                operations_tmpl='azext_emulator_dummy#{}')) as group:
            group.command('hello', 'hello')
        return self.command_table

COMMAND_LOADER_CLS = Loader
"""


@needs_az
def test_install_extension_builds_once_then_uses_the_cache(emu, tmp_path, monkeypatch):
    source = tmp_path / "src" / "emulator-dummy"
    _write(str(source), "setup.py", DUMMY_SETUP)
    _write(str(source), "azext_emulator_dummy/__init__.py", DUMMY_INIT)
    _write(str(source), "azext_emulator_dummy/azext_metadata.json", {"azext.minCliCoreVersion": "2.0.0"})
    cache = tmp_path / "cache"
    env = azenv.prepare_az_home(emu, str(tmp_path / "home1"), AZ, login="profile")
    assert azenv.install_extension(AZ, env, str(source), str(cache)) == ["emulator-dummy"]
    assert not (source / "build").exists()  # the source tree is left as it was
    result = azenv.run_az(AZ, ["emulator-dummy", "hello", "-o", "json"], env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"hello": "emulator"}
    env2 = azenv.prepare_az_home(emu, str(tmp_path / "home2"), AZ, login=None)

    def no_second_build(*args, **kwargs):
        raise AssertionError("built the wheel again instead of copying the cached install")
    monkeypatch.setattr(azenv, "build_wheel", no_second_build)
    assert azenv.install_extension(AZ, env2, str(source), str(cache)) == ["emulator-dummy"]
    assert len(os.listdir(cache / "extensions")) == 1
