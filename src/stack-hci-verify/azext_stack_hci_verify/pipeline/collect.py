# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Collect: the host probe run on every server of the scope's clusters through Arc Run Command, in
parallel with a bound, each server's outcome its own (one failing server never loses a cluster).

For each server: read its Arc machine first (a disconnected machine or an agent older than 1.33 is
reported at once, nothing created), create a run command with a unique name (writes paced per
subscription, so that ARM's write limit is not hit), poll it (Retry-After honoured, bounded by the
timeout), read its instanceView, and always delete it: after success, failure, timeout and Ctrl+C.
Knows nothing of az."""

import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from azext_stack_hci_verify.adapters.arm_pipeline import retry_after_seconds
from azext_stack_hci_verify.core import runcommand as rc
from azext_stack_hci_verify.core.hostfacts import host_facts_from_document

DEFAULT_TIMEOUT_SECONDS = 600.0
DEFAULT_PARALLEL = 16
DEFAULT_POLL_SECONDS = 5.0
# ARM's write bucket per subscription holds 200 and refills 10 a second; a collection takes half of that.
DEFAULT_WRITES_PER_SECOND = 5.0
DEFAULT_WRITE_BURST = 100
# Run commands per server at most: the first with every probe, then the probes whose output was cut.
MAX_RUNS = 3
_ERRORS = (HttpResponseError, ServiceRequestError, ServiceResponseError)
_TERMINAL = {"succeeded", "failed", "timedout", "canceled"}


@dataclass(frozen=True)
class CollectSettings:
    timeout: float = DEFAULT_TIMEOUT_SECONDS       # seconds one server's run may take, polls included
    parallel: int = DEFAULT_PARALLEL
    poll_seconds: float = DEFAULT_POLL_SECONDS     # the longest pause between polls when ARM gives no Retry-After
    writes_per_second: float = DEFAULT_WRITES_PER_SECOND


@dataclass(frozen=True)
class CollectRequest:
    """Collect host facts first: the settings, and `progress(done, total)` or None."""
    settings: CollectSettings = CollectSettings()
    progress: object = None


@dataclass
class Collection:
    """Every server's outcome (core.runcommand.ServerCollection), by cluster resource id (lower case)."""
    outcomes: dict = field(default_factory=dict)
    clusters: dict = field(default_factory=dict)      # lower id -> ClusterFacts
    requests: dict = field(default_factory=lambda: {"create": 0, "get": 0, "delete": 0, "machine": 0})

    def host_facts(self):
        """The documents collected, as parsed host facts (bound to their cluster by its resource id)."""
        parsed = []
        for key, outcomes in self.outcomes.items():
            name = self.clusters[key].name
            for outcome in outcomes:
                if outcome.document is not None:
                    parsed.append(host_facts_from_document(outcome.document, f"{name}/{outcome.server} (runCommand)"))
        return parsed

    def findings(self, cluster_id):
        key = (cluster_id or "").lower()
        facts = self.clusters.get(key)
        return tuple(rc.finding(facts.name, outcome) for outcome in self.outcomes.get(key, ()))

    def documents(self):
        return [outcome.document for outcomes in self.outcomes.values() for outcome in outcomes
                if outcome.document is not None]


class WritePacer:  # pylint: disable=too-few-public-methods
    """A token bucket per subscription shared by every worker: `burst` writes at once, then `per_second`.
    ARM's own bucket for writes is larger (200) and refills faster (10 a second), so a collection never
    takes more than half of a subscription's write budget."""

    def __init__(self, per_second, burst=DEFAULT_WRITE_BURST, clock=time.monotonic, sleep=time.sleep):
        self.rate = per_second if per_second and per_second > 0 else None
        self.burst = max(1.0, float(burst))
        self._buckets = {}
        self._lock = threading.Lock()
        self._clock, self._sleep = clock, sleep

    def acquire(self, subscription):
        if self.rate is None:
            return
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(subscription, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate) - 1
            self._buckets[subscription] = (tokens, now)
        if tokens < 0:
            self._sleep(-tokens / self.rate)


def machine_id_of(facts, node):
    """The Arc machine of a server: reportedProperties.nodes[].ehcResourceId, else the machine named after
    the server in the cluster's resource group (where Azure Local registers it)."""
    if node.arc_resource_id:
        return node.arc_resource_id
    return (f"/subscriptions/{facts.subscription_id}/resourceGroups/{facts.resource_group}/providers/"
            f"Microsoft.HybridCompute/machines/{node.name}")


class _Runs:
    """The run commands of one server. Run Command keeps only the end of the output: the probes whose
    lines did not come back whole are run again on their own, while each run brings back more (MAX_RUNS
    at most)."""

    def __init__(self, pending):
        self.pending = pending
        self.outputs, self.names, self.size, self.stalled = {}, [], 0, False

    @property
    def last(self):
        return self.names[-1] if self.names else None

    def more(self):
        return bool(self.pending) and not self.stalled and len(self.names) < MAX_RUNS

    def next_name(self):
        self.names.append(f"stack-hci-verify-{uuid.uuid4().hex[:12]}")
        return self.names[-1]

    def add(self, bundle):
        self.size = max(self.size, bundle.bytes)
        new = {key: value for key, value in bundle.outputs.items() if key in self.pending}
        self.outputs.update(new)
        self.pending = [key for key in self.pending if key not in self.outputs]
        self.stalled = not new


class _Collector:   # pylint: disable=too-many-instance-attributes
    def __init__(self, client, settings, now, pacer, cancel, counter):  # pylint: disable=too-many-positional-arguments
        from azext_stack_hci_verify.adapters import runcommand
        self.client = client
        self.settings = settings
        self.now = now
        self.pacer = pacer
        self.cancel = cancel
        self.counter = counter
        self._scripts = {}
        self.descriptions = runcommand.probe_descriptions()
        self._lock = threading.Lock()
        self.deleted = {}            # run command name -> True (deleted or gone) / False
        self.delete_errors = {}      # run command name -> (server, what ARM said)

    def count(self, kind):
        with self._lock:
            self.counter[kind] += 1

    def server(self, facts, node):
        started = time.monotonic()
        machine_id = machine_id_of(facts, node)
        outcome = self._server(facts, node.name, machine_id)
        outcome.duration_ms = int((time.monotonic() - started) * 1000)
        return outcome

    def _server(self, facts, server, machine_id):
        self.count("machine")
        try:
            machine = self.client.machine(machine_id)
        except _ERRORS as ex:
            return self._read_failure(ex, server, machine_id)
        problem = rc.machine_problem(machine, server)
        if problem is not None:
            return problem
        runs = _Runs(list(self.descriptions))
        while runs.more():
            if self.cancel.is_set():
                return self._interrupted(server, machine_id, runs.last)
            name = runs.next_name()
            try:
                output = self._run(facts, server, machine, machine_id, name, runs.pending)
            finally:
                self._delete(facts, machine_id, name, server)
            if not isinstance(output, str):
                if runs.outputs:
                    break           # what earlier runs brought back still counts
                return output
            runs.add(rc.read_bundle_output(output))
        merged = rc.BundleOutput(runs.outputs, bool(runs.pending), True, runs.size)
        document = rc.collected_document(merged, now=self.now, descriptions=self.descriptions, cluster_id=facts.id,
                                         machine_id=machine_id, run_command_name=runs.last)
        document["collection"]["runCommandNames"] = list(runs.names)
        from azext_stack_hci_verify.adapters.runcommand import add_trusted_launch
        add_trusted_launch(document, merged, self.descriptions)
        return self._named(rc.from_document(server, machine_id, document), runs.last, runs.names)

    # pylint: disable-next=too-many-arguments,too-many-positional-arguments
    def _run(self, facts, server, machine, machine_id, name, probes):
        """The output of one run command of `probes` (a str), or the ServerCollection of its failure."""
        self.pacer.acquire(facts.subscription_id)
        self.count("create")
        try:
            answer = self.client.create(machine_id, name, location=machine.get("location"),
                                        script=self._script(probes), timeout_seconds=self.settings.timeout)
        except _ERRORS as ex:
            return self._write_failure(ex, server, machine_id, name)
        deadline = time.monotonic() + self.settings.timeout
        polls = 0
        while True:
            view = ((answer.body or {}).get("properties") or {}).get("instanceView") or {}
            if str(view.get("executionState") or "").lower() in _TERMINAL:
                failure, output = rc.instance_view_outcome(server, machine_id, view)
                return output if failure is None else self._named(failure, name)
            left = deadline - time.monotonic()
            if left <= 0:
                return self._named(rc.failed(
                    server, machine_id, rc.REASON_TIMEOUT,
                    f"The probe on '{server}' did not finish within {self.settings.timeout:g} seconds; the run "
                    "command was deleted (which stops it).", rc.ACTION_RETRY,
                    "--timeout SECONDS (a longer wait)"), name)
            pause = retry_after_seconds(answer.headers)
            if pause is None:       # no Retry-After: 1, 2, 4 s, then every poll_seconds
                pause = min(self.settings.poll_seconds, 2.0 ** polls)
            polls += 1
            if self.cancel.wait(max(0.05, min(pause, left))):
                return self._interrupted(server, machine_id, name)
            self.count("get")
            try:
                answer = self.client.get(machine_id, name)
            except _ERRORS as ex:
                return self._write_failure(ex, server, machine_id, name)

    def _script(self, probes):
        key = tuple(probes)
        with self._lock:
            if key not in self._scripts:
                from azext_stack_hci_verify.adapters import runcommand
                self._scripts[key] = runcommand.bundle_script(names=key)
            return self._scripts[key]

    def _delete(self, facts, machine_id, name, server):
        """Delete the run command (it may exist even when its create seemed to fail). Never raises."""
        self.pacer.acquire(facts.subscription_id)
        self.count("delete")
        try:
            self.client.delete(machine_id, name)
            self.deleted[name] = True
        except _ERRORS as ex:
            gone = getattr(ex, "status_code", None) == 404
            self.deleted[name] = gone
            if not gone:
                self.delete_errors[name] = (server, _short(ex))

    @staticmethod
    def _named(outcome, name, names=None):
        outcome.run_command = name
        outcome.run_commands = list(names or ([name] if name else []))
        return outcome

    def _interrupted(self, server, machine_id, name):
        return self._named(rc.failed(server, machine_id, rc.REASON_INTERRUPTED,
                                     f"The collection from '{server}' was interrupted; its run command was deleted.",
                                     rc.ACTION_RETRY, "az stack-hci vm-verification collect"), name)

    def _read_failure(self, ex, server, machine_id):
        status = getattr(ex, "status_code", None)
        if status == 404:
            return rc.failed(server, machine_id, rc.REASON_NO_MACHINE,
                             f"Server '{server}' has no Arc machine at '{machine_id}', so Run Command cannot reach it.",
                             rc.ACTION_COLLECT, f"az stack-hci vm-verification probe   # on {server}")
        if status == 403:
            return rc.failed(server, machine_id, "machine-not-readable",
                             f"Access denied reading Arc machine '{server}': the signed-in identity lacks "
                             "'Microsoft.HybridCompute/machines/read'.", "Grant read access",
                             f"az role assignment create --assignee <object-id> --role Reader --scope {machine_id}")
        return rc.failed(server, machine_id, rc.REASON_SERVICE,
                         f"Arc machine '{server}' could not be read: {_short(ex)}", rc.ACTION_RETRY,
                         "az stack-hci vm-verification collect")

    def _write_failure(self, ex, server, machine_id, name):
        status = getattr(ex, "status_code", None)
        if status == 403:
            return self._named(rc.forbidden(server, machine_id, _object_id(ex)), name)
        if status == 429:
            return self._named(rc.failed(
                server, machine_id, rc.REASON_THROTTLED,
                f"ARM kept throttling the run command on '{server}' ({_short(ex)}); the writes were paced at "
                f"{self.settings.writes_per_second:g} a second per subscription.", rc.ACTION_RETRY,
                "az stack-hci vm-verification collect   # later, or for fewer clusters"), name)
        return self._named(rc.failed(server, machine_id, rc.REASON_SERVICE,
                                     f"The run command on '{server}' failed: {_short(ex)}", rc.ACTION_RETRY,
                                     "az stack-hci vm-verification collect"), name)


def _short(ex):
    error = getattr(ex, "error", None)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None) or str(ex).splitlines()[0] if str(ex) else type(ex).__name__
    status = getattr(ex, "status_code", None)
    text = " ".join(str(message).split())[:240]
    return f"{status} {code}: {text}" if code else (f"{status}: {text}" if status else text)


def _object_id(ex):
    import re
    error = getattr(ex, "error", None)
    found = re.search(r"object id '([0-9A-Fa-f-]{36})'", str(getattr(error, "message", "") or ""))
    return found.group(1) if found else None


def collect(conn, clusters, *, now, settings=None, progress=None):
    """The Collection of every server of `clusters` (ClusterFacts). `progress(done, total)` is called as
    servers finish. Ctrl+C stops the polls, deletes every run command created, then is raised again."""
    from azext_stack_hci_verify.adapters.runcommand import RunCommandClient
    settings = settings or CollectSettings()
    result = Collection()
    work = []
    for facts in clusters:
        key = facts.id.lower()
        result.clusters[key] = facts
        result.outcomes[key] = []
        work.extend((key, facts, node) for node in facts.nodes)
    if not work:
        return result
    cancel = threading.Event()
    collector = _Collector(RunCommandClient(conn.resourcegraph()), settings, now,
                           WritePacer(settings.writes_per_second), cancel, result.requests)
    outcomes = _run_all(collector, work, settings.parallel, progress)
    for (key, _, _), outcome in zip(work, outcomes):
        _mark_deleted(outcome, collector)
        result.outcomes[key].append(outcome)
    for outcomes_of_cluster in result.outcomes.values():
        outcomes_of_cluster.sort(key=lambda outcome: outcome.server.lower())
    return result


def _run_all(collector, work, parallel, progress):
    """Each server's outcome, in the order of `work`, at most `parallel` at once. Ctrl+C tells every worker
    to stop polling, waits for them to delete what they created, and is raised again."""
    pool = ThreadPoolExecutor(max_workers=max(1, min(parallel, len(work))))
    futures = [pool.submit(collector.server, facts, node) for _, facts, node in work]
    pending, done = set(futures), 0
    try:
        while pending:
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            done += len(finished)
            if finished and progress is not None:
                progress(done, len(work))
    except KeyboardInterrupt:
        collector.cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)     # servers not started are not started
        raise
    pool.shutdown(wait=True)
    return [future.result() for future in futures]


def _mark_deleted(outcome, collector):
    from azext_stack_hci_verify.adapters.runcommand import RUN_COMMANDS_API_VERSION
    names = getattr(outcome, "run_commands", None) or ([outcome.run_command] if outcome.run_command else [])
    if not names:
        return
    outcome.deleted = all(collector.deleted.get(name) for name in names)
    failed_names = [name for name in names if name in collector.delete_errors]
    name = failed_names[0] if failed_names else names[-1]
    problem = collector.delete_errors.get(name)
    if problem is not None:
        outcome.reason = (f"{outcome.reason} The run command '{name}' could not be deleted ({problem[1]}); "
                          "delete it yourself.")
        if outcome.status == rc.COLLECTED:
            outcome.status, outcome.reason_code = rc.PARTIAL, rc.REASON_NOT_DELETED
        outcome.action = rc.ACTION_DELETE
        outcome.command = (f"az rest --method delete --url \"{outcome.machine_id}/runCommands/{name}"
                           f"?api-version={RUN_COMMANDS_API_VERSION}\"")
