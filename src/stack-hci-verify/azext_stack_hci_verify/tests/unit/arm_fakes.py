# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""ARM answers for tests that need azure-core errors without a network: a fake response and the
errors made from it."""

import json

from azure.core.exceptions import HttpResponseError
from azure.mgmt.core.exceptions import ARMErrorFormat

OBJECT_ID = "d2b7e4a1-3c5f-4e8a-9b6d-7f1e0a2c4b58"


class FakeResponse:
    """Enough of an azure-core HTTP response for HttpResponseError."""

    def __init__(self, status, body="", headers=None, reason="", content_type="application/json"):
        self.status_code = status
        self.reason = reason
        self.headers = dict(headers or {}, **{"Content-Type": content_type})
        self.content_type = content_type
        self._body = body if isinstance(body, str) else json.dumps(body)
        self.request = None

    def text(self, encoding=None):
        del encoding
        return self._body

    def body(self):
        return self._body.encode("utf-8")


def http_error(status, body="", **kwargs):
    return HttpResponseError(response=FakeResponse(status, body, **kwargs), error_format=ARMErrorFormat)


def arm_body(code, message):
    return {"error": {"code": code, "message": message}}


def denied(action, scope):
    """The body of ARM's 403 for `action` over `scope`."""
    return arm_body("AuthorizationFailed",
                    "The client '{0}' with object id '{0}' does not have authorization to perform action '{1}' "
                    "over scope '{2}' or the scope is invalid.".format(OBJECT_ID, action, scope))
