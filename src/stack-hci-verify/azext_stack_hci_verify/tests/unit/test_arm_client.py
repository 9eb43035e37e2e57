# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The one ARM client: what it sends through azure-mgmt-core's pipeline, with a fake transport."""

import json

import pytest
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import HttpResponse, HttpTransport
from azure.core.rest import HttpRequest

from azext_stack_hci_verify.adapters import arm, arm_pipeline
from azext_stack_hci_verify.adapters.arm_client import ArmClient

ENDPOINT = "https://127.0.0.1:8443"


class Answer(HttpResponse):
    def __init__(self, request, status, body):
        super().__init__(request, None)
        self.status_code = status
        self.headers = {"Content-Type": "application/json"}
        self.reason = "fake"
        self._body = json.dumps(body).encode()
        self.content_type = "application/json"

    def body(self):
        return self._body

    def json(self):
        return json.loads(self._body)


class Recorder(HttpTransport):
    def __init__(self, status=200, body=None):
        self.requests = []
        self.status = status
        self.answer = body if body is not None else {"value": []}

    def send(self, request, **kwargs):
        self.requests.append(request)
        return Answer(request, self.status, self.answer)

    def open(self):
        pass

    def close(self):
        pass

    def __exit__(self, *args):
        pass


class Credential:
    def __init__(self):
        self.scopes = []

    def get_token(self, *scopes, **kwargs):
        self.scopes.append(scopes)
        return AccessToken("secret-token", 4102444800)


def test_a_path_is_sent_to_the_endpoint_with_the_token_and_the_extension_in_the_user_agent():
    transport, credential = Recorder(body={"value": [1]}), Credential()
    client = ArmClient(credential, ENDPOINT + "/", credential_scopes=["https://management.core.windows.net//.default"],
                       transport=transport)
    answer = arm.send_json(client, "GET", "/subscriptions/s1/resourceGroups", params={"api-version": "2022-09-01"})
    assert answer == {"value": [1]}
    sent = transport.requests[0]
    assert sent.url == f"{ENDPOINT}/subscriptions/s1/resourceGroups?api-version=2022-09-01"
    assert sent.headers["Authorization"] == "Bearer secret-token"
    assert "stack-hci-verify" in sent.headers["User-Agent"]
    assert credential.scopes == [("https://management.core.windows.net//.default",)]


def test_a_post_carries_its_json_body():
    transport = Recorder(body={"data": [], "totalRecords": 0})
    client = ArmClient(Credential(), ENDPOINT, transport=transport)
    arm.send_json(client, "POST", "/providers/Microsoft.ResourceGraph/resources",
                  params={"api-version": "2024-04-01"}, body={"query": "resources"})
    assert json.loads(transport.requests[0].body) == {"query": "resources"}


def test_the_trusted_host_policy_keeps_the_token_from_another_host():
    transport = Recorder()
    client = ArmClient(Credential(), ENDPOINT, transport=transport,
                       per_retry_policies=[arm_pipeline.TrustedHostPolicy(ENDPOINT)])
    with pytest.raises(arm_pipeline.UntrustedUrlError):
        client.send_request(HttpRequest("GET", "https://elsewhere.example/subscriptions"))
    assert not transport.requests


def test_an_error_answer_is_an_http_response_error():
    from azure.core.exceptions import HttpResponseError
    client = ArmClient(Credential(), ENDPOINT, transport=Recorder(status=403, body={"error": {"code": "Denied"}}))
    with pytest.raises(HttpResponseError):
        arm.send_json(client, "GET", "/subscriptions/s1", params={"api-version": "2022-09-01"})


def test_a_credential_is_required():
    with pytest.raises(ValueError):
        ArmClient(None, ENDPOINT)
