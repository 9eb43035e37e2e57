# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The errors of the reads and files, shared by az's commands and the Python API. Imports nothing.

Each error is one line saying what went wrong (`message`) and what to do (`recommendation`). az's
command functions show each as the azclierror class named by its `az_kind`; the Python API raises
them as they are (azext_stack_hci_verify.api re-exports them)."""


class VerificationError(Exception):
    """Base class: what could not be done, and the fix."""
    az_kind = "AzCLIError"

    def __init__(self, message, recommendation=None):
        super().__init__(message)
        self.message = message
        self.recommendation = recommendation or None

    # The names azclierror uses, so that code written for either reads both.
    @property
    def error_msg(self):
        return self.message

    @property
    def recommendations(self):
        return [self.recommendation] if self.recommendation else []


class NotFoundError(VerificationError):
    """A cluster, VM or resource group that is not there (ARM 404, or not among what was read)."""
    az_kind = "ResourceNotFoundError"


class PermissionDeniedError(VerificationError):
    """ARM refused (403). `permission`: the permission that is missing, as ARM named it or as the read needs."""
    az_kind = "ForbiddenError"

    def __init__(self, message, recommendation=None, permission=None):
        super().__init__(message, recommendation)
        self.permission = permission


class AuthenticationError(VerificationError):
    """ARM rejected the credential (401)."""
    az_kind = "UnauthorizedError"


class ThrottledError(VerificationError):
    """ARM or Resource Graph throttled (429) longer than the patience allows. `retry_after`: seconds asked."""
    az_kind = "AzureResponseError"

    def __init__(self, message, recommendation=None, retry_after=None):
        super().__init__(message, recommendation)
        self.retry_after = retry_after


class ServiceError(VerificationError):
    """ARM, Resource Graph or a gateway answered with an error that is not about the caller's resources."""
    az_kind = "AzureResponseError"


class MalformedAnswerError(ServiceError):
    """An answer of the wrong shape (a truncated or inconsistent Resource Graph answer, a paging loop)."""


class NoAnswerError(VerificationError):
    """No answer in time: refused, reset or timed out."""
    az_kind = "AzureConnectionError"


class InvalidInputError(VerificationError):
    """An argument or a file that cannot be used (a malformed host-facts file, a bad resource ID)."""
    az_kind = "InvalidArgumentValueError"


class FileAccessError(VerificationError):
    """A file that cannot be read or written."""
    az_kind = "FileOperationError"


def as_az_error(error):
    """The azclierror az shows for a VerificationError (az's side only: imports azure.cli)."""
    from azure.cli.core import azclierror
    return getattr(azclierror, error.az_kind, azclierror.AzCLIError)(
        error.message, recommendation=error.recommendation)
