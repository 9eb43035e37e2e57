# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The one loop over paged answers: ARM lists (`nextLink`) and Resource Graph queries (`$skipToken`).

Every list ends. A continuation handed back a second time (a `nextLink` to its own page, a cycle, a
`$skipToken` that repeats) ends it at once; so does a list longer than MAX_PAGES pages or one still
going after its time (LIST_TIMEOUT_FACTOR times the ARM timeout). Each ends with an error that says
how far the list got, and nothing partial is returned. Where a continuation may lead (the host of a
`nextLink`) is checked by arm_pipeline.TrustedHostPolicy, before anything is sent."""

import time
from typing import NamedTuple

from azext_stack_hci_verify.errors import MalformedAnswerError

# More pages than this is not a list that ends: 5,000 pages is 5 million Resource Graph rows.
MAX_PAGES = 5000


class Listing(NamedTuple):
    """What a paged read is, as its messages name it."""
    service: str                # "ARM", "Resource Graph"
    what: str                   # "the clusters of resource group 'g'"
    continuation: str           # "nextLink", "$skipToken"
    unit: str = "items"         # "items", "rows"
    seconds: float = 600.0      # the time the whole list may take
    max_pages: int = MAX_PAGES


class PagingError(MalformedAnswerError):
    """A list that would not end, or a page of the wrong shape. `pages` and `items`: how far it got."""

    def __init__(self, message, recommendation, pages=0, items=0):
        super().__init__(message, recommendation=recommendation)
        self.pages, self.items = pages, items


def _progress(pages, items, listing):
    return f"{pages:,} page{'' if pages == 1 else 's'} ({items:,} {listing.unit})"


def _service_fault(listing):
    return (f"This is an error of {listing.service} or of a proxy on the way, not of your resources; run the command "
            "again later.")


def wrong_shape(listing, detail, pages, items):
    """The error for a page that is not what the service should answer."""
    return PagingError(
        f"{listing.service}'s answer reading {listing.what} is not what it should be: {detail}. It was read up to "
        f"{_progress(pages, items, listing)}; a partial answer is not reported.",
        _service_fault(listing), pages, items)


def _repeated(listing, pages, items):
    return PagingError(
        f"{listing.service} handed back a {listing.continuation} it had given before while reading {listing.what}: the "
        "pages would never end. It stopped after "
        f"{_progress(pages, items, listing)}; a partial answer is not reported.",
        _service_fault(listing), pages, items)


def _too_many(listing, pages, items):
    return PagingError(
        f"{listing.service}'s list of {listing.what} did not end within {listing.max_pages:,} pages; it stopped after "
        f"{_progress(pages, items, listing)}, and a partial answer is not reported.",
        _service_fault(listing), pages, items)


def _too_long(listing, pages, items):
    from azext_stack_hci_verify._client_factory import (
        ARM_TIMEOUT_ENV, ARM_TIMEOUT_OPTION, ARM_TIMEOUT_SECTION, LIST_TIMEOUT_FACTOR)
    return PagingError(
        f"{listing.service}'s list of {listing.what} did not end within {listing.seconds:g} seconds; it stopped after "
        f"{_progress(pages, items, listing)}, and a partial answer is not reported.",
        f"Run the command again later, or narrow its scope. A list may take {LIST_TIMEOUT_FACTOR} times the ARM "
        "timeout; to raise it, "
        f"set {ARM_TIMEOUT_ENV} or `az config set {ARM_TIMEOUT_SECTION}.{ARM_TIMEOUT_OPTION}=SECONDS`.",
        pages, items)


def each_page(fetch, continuation_of, count, listing, clock=time.monotonic):
    """Yield every page of a list: `fetch(None)` gives the first, `fetch(token)` the one a continuation
    names, while `continuation_of(page)` gives one (None at the end). `count(page)`: how many items the
    page holds, for the messages. A page whose continuation was seen before is not yielded; the caller
    checks each page it gets before the next is fetched. Raises PagingError for a repeated continuation
    and past the bounds."""
    started = clock()
    seen = set()
    done = items = 0
    token = None
    while True:
        page = fetch(token)
        done += 1
        items += count(page)
        token = continuation_of(page)
        if token is not None and token in seen:
            raise _repeated(listing, done, items)
        yield page
        if token is None:
            return
        seen.add(token)
        if done >= listing.max_pages:
            raise _too_many(listing, done, items)
        if clock() - started > listing.seconds:
            raise _too_long(listing, done, items)
