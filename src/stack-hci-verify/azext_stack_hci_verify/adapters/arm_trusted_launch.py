# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""ARM reads for Trusted launch: each isolated VM's attestationStatus/default and the gallery
images its instances name. Raw documents come back as core Readings; a read that ARM refuses
(404, 403, 5xx after the SDK's retries) becomes a Reading with its status, never an exception,
so one VM or image never sinks the others. Reads run concurrently, at most MAX_CONCURRENT_READS
at once; each image is read once however many VMs use it."""

from concurrent.futures import ThreadPoolExecutor

from azext_stack_hci_verify.core.trusted_launch import GALLERY_IMAGE_TYPE, MARKETPLACE_IMAGE_TYPE, Reading
from azext_stack_hci_verify.core.trusted_launch.images import image_type

MAX_CONCURRENT_READS = 8
ATTESTATION_SUFFIX = "/providers/Microsoft.AzureStackHCI/virtualMachineInstances/default/attestationStatus/default"


def _reading(read):
    """Reading of one call; HTTP errors are kept as data, anything else propagates."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
    try:
        return Reading(document=read())
    except (ServiceRequestError, ServiceResponseError) as ex:
        first = str(ex).splitlines()[0] if str(ex) else type(ex).__name__
        return Reading(error=f"ARM did not answer ({first})")
    except HttpResponseError as ex:
        status = getattr(ex, "status_code", None)
        code = getattr(getattr(ex, "error", None), "code", None)
        return Reading(status=status, error=f"ARM answered {status or 'an error'}{(f' ({code})' if code else '')}")


def _get(conn, path):
    """The raw document at `path`, through the command's one pipeline (no SDK model is built)."""
    from azext_stack_hci_verify.adapters.arm import INSTANCES_API_VERSION, get_document
    return lambda: get_document(conn.resourcegraph(), path, INSTANCES_API_VERSION)


def read_trusted_launch(conn, vms):
    """({machine id: attestation Reading}, {image id: image Reading}) for the TrustedLaunchVms given
    (of any subscriptions): attestation for isolated VMs only, images of isolated VMs only."""
    isolated = [vm for vm in vms if vm.isolated and vm.machine_id and len(vm.machine_id.split("/")) > 2]
    image_ids = sorted({vm.image_id for vm in isolated
                        if vm.image_id and image_type(vm.image_id) in (MARKETPLACE_IMAGE_TYPE, GALLERY_IMAGE_TYPE)
                        and len(vm.image_id.split("/")) >= 9})
    if not isolated:
        return {}, {}

    def attestation(vm):
        return _reading(_get(conn, vm.machine_id + ATTESTATION_SUFFIX))

    def image(image_id):
        return _reading(_get(conn, image_id))

    jobs = [(attestation, vm) for vm in isolated] + [(image, image_id) for image_id in image_ids]
    with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENT_READS, len(jobs))) as pool:
        results = list(pool.map(lambda job: job[0](job[1]), jobs))
    attestations = {vm.machine_id: result for vm, result in zip(isolated, results)}
    images = dict(zip(image_ids, results[len(isolated):]))
    return attestations, images
