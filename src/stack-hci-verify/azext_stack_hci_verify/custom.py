# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Command functions: gather facts through the adapters, judge them with the core, return views."""

from datetime import datetime, timezone

from azext_stack_hci_verify.core.clusters import cluster_facts_from_arm, cluster_view, evaluate_cluster, server_view


def _now():
    return datetime.now(timezone.utc)


def _cluster_refs(cmd, cluster_name, resource_group_name, ids):
    from azure.cli.core.commands.client_factory import get_subscription_id
    from azext_stack_hci_verify._validators import parse_cluster_ids
    if ids:
        return parse_cluster_ids(ids)
    return [(get_subscription_id(cmd.cli_ctx), resource_group_name, cluster_name)]


def _evaluate(cmd, ref, host_facts, now):
    from azext_stack_hci_verify.adapters import arm
    subscription_id, resource_group, name = ref
    document = arm.get_cluster(cmd.cli_ctx, subscription_id, resource_group, name)
    return evaluate_cluster(cluster_facts_from_arm(document), host_facts or [], now)


def show_cluster_verification(cmd, cluster_name=None, resource_group_name=None, ids=None, host_facts=None):
    now = _now()
    views = [cluster_view(_evaluate(cmd, ref, host_facts, now))
             for ref in _cluster_refs(cmd, cluster_name, resource_group_name, ids)]
    return views[0] if len(views) == 1 else views


def list_cluster_verification(cmd, resource_group_name=None):
    from azure.cli.core.commands.client_factory import get_subscription_id
    from azext_stack_hci_verify.adapters import arm
    now = _now()
    documents = arm.list_clusters(cmd.cli_ctx, get_subscription_id(cmd.cli_ctx), resource_group_name)
    views = [cluster_view(evaluate_cluster(cluster_facts_from_arm(document), [], now)) for document in documents]
    return sorted(views, key=lambda view: ((view["resourceGroup"] or "").lower(), (view["name"] or "").lower()))


def list_server_verification(cmd, cluster_name=None, resource_group_name=None, ids=None, host_facts=None):
    now = _now()
    rows = []
    for ref in _cluster_refs(cmd, cluster_name, resource_group_name, ids):
        verdict = _evaluate(cmd, ref, host_facts, now)
        for server in verdict.servers:
            row = server_view(server)
            row["cluster"] = verdict.facts.name
            rows.append(row)
    return rows


TRUST_BUNDLE_ENV = "STACK_HCI_VERIFY_TRUST_BUNDLE"
INTERMEDIATES_ENV = "STACK_HCI_VERIFY_INTERMEDIATES"


def _trust(trust_bundle, intermediates):
    """Trust roots and intermediates: the options, else their environment settings, else the
    CA bundle that ships with the environment (certifi) and no intermediates."""
    import os
    from azext_stack_hci_verify.adapters.files import load_certificate_file
    trust_bundle = trust_bundle or os.environ.get(TRUST_BUNDLE_ENV) or None
    intermediates = intermediates or os.environ.get(INTERMEDIATES_ENV) or None
    if trust_bundle:
        roots, roots_source = load_certificate_file(trust_bundle, "Trust bundle"), trust_bundle
    else:
        import certifi
        roots, roots_source = load_certificate_file(certifi.where(), "CA bundle"), "certifi"
    extra = load_certificate_file(intermediates, "Intermediates file") if intermediates else []
    return roots, roots_source, extra


def attest_document(target="host", endpoint=None, nonce=None, document=None, trust_bundle=None,
                    intermediates=None, allowed_signers=None, at=None, timeout=10.0):
    """Fetch (or read) an attested document and verify it: signature, signer, chain, nonce, expiry."""
    from azext_stack_hci_verify.adapters import imds
    from azext_stack_hci_verify.adapters.files import read_small_file
    from azext_stack_hci_verify.attestation.verify import DEFAULT_ALLOWED_SIGNERS, verify_attested_document
    from azext_stack_hci_verify.core.timeutil import format_timestamp

    reference_time = at or _now()
    roots, roots_source, extra = _trust(trust_bundle, intermediates)
    signers = tuple(allowed_signers) if allowed_signers else tuple(DEFAULT_ALLOWED_SIGNERS)
    source = {"target": target, "endpoint": None, "document": document, "httpStatus": None, "latencyMs": None,
              "attempts": None, "nonceSent": None}
    if document:
        body = read_small_file(document, "Attested document file")
        expected_nonce = nonce
    else:
        url = endpoint or imds.default_endpoints()[target]
        fetched = imds.fetch_attested_document(url, nonce=nonce, timeout=timeout)
        source.update({"endpoint": url, "httpStatus": fetched.status, "latencyMs": round(fetched.latency_ms, 1),
                       "attempts": fetched.attempts, "nonceSent": fetched.nonce})
        if not fetched.ok:
            return _attestation_view({
                "status": "Unknown", "reasonCode": fetched.reason_code,
                "reason": "The attested document could not be fetched from {}: {}".format(url, fetched.reason),
                "document": None, "signer": None, "checks": []}, source, roots_source, signers, reference_time)
        body = fetched.body
        expected_nonce = fetched.nonce
    result = verify_attested_document(body, trust_roots=roots, intermediates=extra, allowed_signers=signers,
                                      expected_nonce=expected_nonce or None, at=reference_time)
    view = _attestation_view(result.to_dict(), source, roots_source, signers, reference_time)
    view["evaluatedAt"] = format_timestamp(reference_time)
    return view


def _attestation_view(result, source, roots_source, signers, reference_time):
    from azext_stack_hci_verify.core.timeutil import format_timestamp
    return {
        "status": result.get("status"),
        "reasonCode": result.get("reasonCode"),
        "reason": result.get("reason"),
        "source": source,
        "trust": {"roots": roots_source, "allowedSigners": list(signers)},
        "document": result.get("document"),
        "signer": result.get("signer"),
        "checks": result.get("checks") or [],
        "evaluatedAt": format_timestamp(reference_time),
    }
