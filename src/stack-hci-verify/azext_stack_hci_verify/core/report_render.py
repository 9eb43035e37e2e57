# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The report of `check` as CI systems read it: JUnit XML (Azure Pipelines' PublishTestResults,
GitHub Actions test reporters) and a Markdown summary (a pipeline's job summary). Pure: a
CheckReport in, text out.

Names are data. XML 1.0 cannot carry most control characters at all, and a raw line break or
a `|` would break a Markdown table, so every name and reason is written with its control
characters as visible escapes (`\\n`, `\\x1b`, `\\u2028`); Markdown cells also escape `|` and the
characters that would make a link, an emphasis or an HTML tag.
"""

import unicodedata
import xml.etree.ElementTree as ET

from . import vocabulary as v
from .report import (SCOPE_CLUSTER, SCOPE_MANAGEMENT_GROUP, SCOPE_SERVER, SCOPE_SUBSCRIPTION,
                     SCOPE_TRUSTED_LAUNCH, SCOPE_VM, matches)

# One test suite per scope, in this order; the last two only when a scope could not be read.
_SUITES = ((SCOPE_CLUSTER, "clusters"), (SCOPE_SERVER, "servers"), (SCOPE_VM, "vms"),
           (SCOPE_TRUSTED_LAUNCH, "trustedLaunch"))
_UNREADABLE_SUITES = ((SCOPE_SUBSCRIPTION, "subscriptions"), (SCOPE_MANAGEMENT_GROUP, "managementGroups"))
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_MARKDOWN_SPECIALS = "\\`*_[]<>|~&"
# A job summary is capped by the CI system (GitHub: 1 MiB a step): the table stops here.
MAX_SUMMARY_ROWS = 500
UNNAMED = "(unnamed)"


def _hidden(char):
    """Characters XML 1.0 cannot carry, or that end a line or hide text where they are shown."""
    code = ord(char)
    return (unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp")
            or code in (0xFFFE, 0xFFFF))


def visible(text):
    """`text` on one line with every control, format or separator character as a visible escape."""
    if text is None:
        return ""
    out = []
    for char in str(text):
        if char in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[char])
        elif _hidden(char):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else
                       f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)


def _name(value):
    return visible(value) if value not in (None, "") else UNNAMED


# ----------------------------------------------------------------------------- JUnit XML

def _finding_lines(finding):
    lines = [f'[{visible(finding.get("severity"))}] {visible(finding.get("reasonCode"))}: '
             f'{visible(finding.get("reason"))}']
    for label, key in (("Action", "action"), ("Command", "command"), ("Run on", "runOn"),
                       ("Learn more", "learnMore"), ("Resource", "resourceId")):
        if finding.get(key):
            lines.append(f"  {label}: {visible(finding[key])}")
    return lines


def _testcase(item, levels):
    case = ET.Element("testcase", {"name": _name(item.name),
                                   "classname": f"vm-verification.{item.scope}.{_name(item.cluster)}",
                                   "time": "0"})
    failing = [finding for finding in item.findings if matches(finding, levels)]
    others = [finding for finding in item.findings if not matches(finding, levels)]
    if failing:
        first = failing[0]
        failure = ET.SubElement(case, "failure", {
            "message": visible(first.get("reason")), "type": visible(first.get("reasonCode"))})
        failure.text = "\n".join(line for finding in failing for line in _finding_lines(finding))
    out = [f"Status: {visible(item.status)}"]
    out += [line for finding in others for line in _finding_lines(finding)]
    if item.resource_id:
        out.append(f"Resource: {visible(item.resource_id)}")
    ET.SubElement(case, "system-out").text = "\n".join(out)
    return case, bool(failing)


def _suite(items, scope, name, levels, stamp):
    """(testsuite element, tests, failures) of the items of one scope."""
    suite = ET.Element("testsuite", {"name": name})
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", {"name": "failOn", "value": " ".join(levels)})
    tests = failures = 0
    for item in items:
        if item.scope == scope:
            case, failed = _testcase(item, levels)
            suite.append(case)
            tests += 1
            failures += int(failed)
    suite.attrib.update({"tests": str(tests), "failures": str(failures), "errors": "0", "skipped": "0",
                         "time": "0"})
    if stamp:
        suite.set("timestamp", stamp)
    return suite, tests, failures


def render_junit(report):
    """JUnit XML (UTF-8 text): one test suite per scope, one test case per cluster, server, VM and
    Trusted launch VM; a test case fails when one of its findings matches the report's test levels
    (--fail-on's, else `warning`), and its failure carries each such reason, action and command."""
    stamp = report.evaluated_at.strftime("%Y-%m-%dT%H:%M:%S") if report.evaluated_at else None
    root = ET.Element("testsuites", {"name": "az stack-hci vm-verification check"})
    present = {item.scope for item in report.items}
    total_tests = total_failures = 0
    for scope, name in _SUITES + tuple(entry for entry in _UNREADABLE_SUITES if entry[0] in present):
        suite, tests, failures = _suite(report.items, scope, name, report.test_levels, stamp)
        root.append(suite)
        total_tests += tests
        total_failures += failures
    root.attrib.update({"tests": str(total_tests), "failures": str(total_failures), "errors": "0", "time": "0"})
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ----------------------------------------------------------------------------- Markdown

def cell(text):
    """A Markdown table cell: one line, control characters visible, `|` and markup escaped."""
    return "".join("\\" + char if char in _MARKDOWN_SPECIALS else char for char in visible(text))


def code_cell(text):
    """A command as a code span in a table cell: one line, `|` escaped (GFM splits cells first)."""
    if not text:
        return ""
    body = visible(text).replace("|", "\\|")
    longest = run = 0
    for char in body:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def _counts_line(counts, labels):
    return " · ".join(f"{label} {counts.get(key, 0)}" for key, label in labels)


_COUNT_ROWS = (
    ("Clusters (host status)", "clusters", ((v.ON.lower(), v.ON), (v.OFF.lower(), v.OFF), ("unknown", v.UNKNOWN))),
    ("Servers", "servers", tuple((status.lower(), status) for status in v.SERVER_STATUSES)),
    ("VMs (benefit status)", "vms", (("activeBenefits", v.BENEFITS_ACTIVE), ("inactiveBenefits", v.BENEFITS_INACTIVE),
                                     ("unknown", v.BENEFITS_UNKNOWN),
                                     ("noApplicableBenefits", v.BENEFITS_NOT_APPLICABLE))),
    ("Trusted launch", "trustedLaunch", (("passed", "Passed"), ("failed", "Failed"), ("warning", "Warning"),
                                         ("unknown", "Unknown"))),
    ("Findings", "findings", ((v.SEVERITY_ERROR, v.SEVERITY_ERROR), (v.SEVERITY_WARNING, v.SEVERITY_WARNING),
                              (v.SEVERITY_INFO, v.SEVERITY_INFO))),
)


def _headline(report, view):
    levels = " ".join(report.fail_on)
    if not report.fail_on:
        return (f'**Reported** (no `--fail-on`): {view["totals"]["findings"]["total"]} findings, '
                f'{view["totals"]["findings"][v.SEVERITY_ERROR]} errors.')
    if report.exit_code:
        return f"**Failed**: {report.matched} findings match `--fail-on {levels}`."
    return f"**Passed**: no finding matches `--fail-on {levels}`."


def _fix_rows(report):
    """The findings to act on: the ones that match --fail-on, then every error and warning."""
    rows = [finding for finding in report.findings if finding["matched"]]
    rows += [finding for finding in report.findings if not finding["matched"]
             and finding.get("severity") in (v.SEVERITY_ERROR, v.SEVERITY_WARNING)]
    return rows


def render_markdown(report):
    """A Markdown summary for a pipeline's job summary: the result, the counts, and the table of
    what to fix (at most MAX_SUMMARY_ROWS rows; the JSON report has them all)."""
    view = report.to_dict()
    lines = ["## Azure verification for VMs: check", "", _headline(report, view), "",
             "| | Total | By status |", "|---|---:|---|"]
    for label, key, labels in _COUNT_ROWS:
        counts = view["totals"][key]
        lines.append(f"| {label} | {counts.get('total', 0)} | {_counts_line(counts, labels)} |")
    rows = _fix_rows(report)
    lines += ["", "### What to fix", ""]
    if not rows:
        lines.append("Nothing: no error or warning finding.")
        return "\n".join(lines) + "\n"
    lines += ["| Fails | Severity | Cluster | Scope | Name | Status | Reason | Action | Command or page |",
              "|---|---|---|---|---|---|---|---|---|"]
    for finding in rows[:MAX_SUMMARY_ROWS]:
        cells = ["yes" if finding["matched"] else "", cell(finding.get("severity")), cell(finding.get("cluster")),
                 cell(finding.get("scope")), cell(finding.get("name")), cell(finding.get("status")),
                 cell(finding.get("reason")), cell(finding.get("action")), _fix_cell(finding)]
        lines.append(f'| {" | ".join(cells)} |')
    if len(rows) > MAX_SUMMARY_ROWS:
        lines += ["", f"{len(rows) - MAX_SUMMARY_ROWS} more findings are in the JSON report."]
    return "\n".join(lines) + "\n"


def _fix_cell(finding):
    """The command and where it runs, or the page to follow."""
    if finding.get("command"):
        where = f" (on the {finding['runOn']})" if finding.get("runOn") in ("server", "vm") else ""
        return code_cell(finding["command"]) + where
    return cell(finding.get("learnMore"))
