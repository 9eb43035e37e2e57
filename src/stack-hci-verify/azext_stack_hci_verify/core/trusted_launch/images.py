# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The guest image of a Trusted launch VM (seed 002, "Guest operating system images"). Pure.

All Windows 11 images from Azure Marketplace that Azure Arc VMs support are supported; images
obtained outside Azure Marketplace are not. On Azure Local, an image from Azure Marketplace is a
`Microsoft.AzureStackHCI/marketplaceGalleryImages` resource (its identifier names publisher,
offer and SKU); anything else (`galleryImages`: a VHD from a share, a storage account or another
VM) is not from Azure Marketplace.
"""

import re

from . import (
    DOC_IMAGES, GALLERY_IMAGE_TYPE, IMAGE_CUSTOM, IMAGE_MARKETPLACE, MARKETPLACE_IMAGE_TYPE, PASSED, UNKNOWN, WARNING,
    CheckResult)
from ..values import get_path as _get, text_value as _text

_WINDOWS_11 = re.compile(r"windows-?11|win-?11", re.IGNORECASE)
EXPECTED = "a Windows 11 image from Azure Marketplace"
ACTION_USE_MARKETPLACE = "Use a Windows 11 image from Azure Marketplace"


def image_type(image_id):
    """The resource type of an image id, lower case ('' when it is not a resource id)."""
    parts = (image_id or "").split("/")
    if len(parts) >= 9 and parts[5].lower() == "providers":
        return f"{parts[6]}/{parts[7]}".lower()
    return ""


def image_name(image_id):
    return (image_id or "").rstrip("/").split("/")[-1] or None


def identifier(document):
    """(publisher, offer, sku) of a gallery image document."""
    ident = _get(document, "properties", "identifier")
    return tuple(_text(_get(ident, key)) for key in ("publisher", "offer", "sku"))


def is_windows_11(document):
    publisher, offer, sku = identifier(document)
    os_type = (_text(_get(document, "properties", "osType")) or "windows").lower()
    return os_type == "windows" and any(_WINDOWS_11.search(part or "") for part in (offer, sku)) and \
        (publisher or "").lower().startswith("microsoftwindows")


def image_summary(vm, reading):
    """The image fields of the views: name, id, source (Azure Marketplace / Custom / None) and identifier."""
    kind = image_type(vm.image_id)
    source = {MARKETPLACE_IMAGE_TYPE: IMAGE_MARKETPLACE, GALLERY_IMAGE_TYPE: IMAGE_CUSTOM}.get(kind)
    document = reading.document if reading is not None and reading.ok else None
    publisher, offer, sku = identifier(document) if document else (None, None, None)
    return {"name": image_name(vm.image_id), "id": vm.image_id, "source": source,
            "publisher": publisher, "offer": offer, "sku": sku}


def _described(summary):
    parts = [part for part in (summary["publisher"], summary["offer"], summary["sku"]) if part]
    details = f' ({" / ".join(parts)})' if parts else ""
    return f"'{summary['name']}'{details}"


def check_image(vm, reading):  # pylint: disable=too-many-return-statements
    name = "guest-image"
    summary = image_summary(vm, reading)
    found = {key: summary[key] for key in ("name", "source", "publisher", "offer", "sku")}
    if not vm.image_id:
        how = "from a disk" if vm.created_from_disk else "without an image reference"
        return CheckResult(name, UNKNOWN, "image-not-resolved",
                           f"The VM was created {how}, so the image its OS came from cannot be told.",
                           EXPECTED, found, "Confirm the VM's OS came from a Windows 11 Azure Marketplace image",
                           DOC_IMAGES)
    kind = image_type(vm.image_id)
    if kind == GALLERY_IMAGE_TYPE:
        return CheckResult(name, WARNING, "image-not-from-marketplace",
                           f"The VM's image {_described(summary)} is a custom gallery image, not from Azure "
                           "Marketplace; images obtained outside Azure Marketplace are not supported for Trusted "
                           "launch.", EXPECTED, found, ACTION_USE_MARKETPLACE, DOC_IMAGES)
    if kind != MARKETPLACE_IMAGE_TYPE:
        return CheckResult(name, UNKNOWN, "image-not-resolved",
                           f"The VM's image reference '{vm.image_id}' is not an Azure Local gallery image this version "
                           "knows.", EXPECTED, found, ACTION_USE_MARKETPLACE, DOC_IMAGES)
    if reading is None or not reading.ok:
        why = "it was not found (deleted?)" if reading is not None and reading.not_found else \
            (reading.error if reading is not None and reading.error else "it was not read")
        return CheckResult(name, UNKNOWN, "image-not-resolved",
                           f"The VM's marketplace image '{summary['name']}' could not be read: {why}; its OS cannot "
                           "be told.", EXPECTED, found,
                           "Check the image with `az stack-hci-vm image show`", DOC_IMAGES)
    if not any(identifier(reading.document)[1:]):
        return CheckResult(name, UNKNOWN, "image-not-resolved",
                           f"The VM's marketplace image '{summary['name']}' names no offer or SKU; its OS cannot be "
                           "told.", EXPECTED, found,
                           "Check the image with `az stack-hci-vm image show`", DOC_IMAGES)
    if is_windows_11(reading.document):
        return CheckResult(name, PASSED, "windows-11-marketplace",
                           f"The VM's image {_described(summary)} is a Windows 11 image from Azure Marketplace.",
                           EXPECTED, found)
    return CheckResult(name, WARNING, "image-not-windows-11",
                       f"The VM's image {_described(summary)} is from Azure Marketplace but is not Windows 11; Trusted "
                       "launch supports the Windows 11 images of Azure Marketplace.",
                       EXPECTED, found, ACTION_USE_MARKETPLACE, DOC_IMAGES)
