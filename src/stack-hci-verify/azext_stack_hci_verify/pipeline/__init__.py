# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""One pipeline from scope to judged model, for every command and every caller:

    scope (pipeline.scope) -> read (pipeline.read: Resource Graph, ARM where it cannot serve)
      -> bind host and guest facts, judge once (pipeline.judge) -> JudgedModel
      -> projections (pipeline.projections): list rows, show, servers, VMs, Trusted launch, check

It knows nothing of az: it takes a connection (a credential, the ARM endpoint and clients made for
it), the scope and the facts files; az's command functions and the Python API are two thin callers."""


def evaluate(conn, scope, *, host_facts=(), guest_facts=(), now=None, trusted_launch=False, progress=None,
             collect=None):
    """The JudgedModel of `scope` at the reference time `now`. `trusted_launch`: also read each
    isolated VM's attestation status and image (a request per VM and image); a function of a VM's
    Arc machine document reads them only for the VMs it is true for (`vm show` of one VM). `collect`: a
    pipeline.collect.CollectRequest to collect host facts from every server of the clusters read through
    Arc Run Command first; they are judged beside `host_facts`."""
    from .judge import judge
    from .read import read_scope
    snapshot = read_scope(conn, scope, trusted_launch=trusted_launch, progress=progress)
    collection = None
    if collect is not None:
        from .collect import collect as run_collection
        collection = run_collection(conn, [read.facts for read in snapshot.clusters], now=now,
                                    settings=collect.settings, progress=collect.progress)
        host_facts = tuple(host_facts or ()) + tuple(collection.host_facts())
    return judge(snapshot, host_facts, guest_facts, now, collection=collection)
