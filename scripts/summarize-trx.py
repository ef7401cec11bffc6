#!/usr/bin/env python3
"""Adds up the .trx files dotnet test wrote and prints one line: 'tests: N passed, M failed'.

Exits 1 when a test failed or when no test ran at all (a suite that runs nothing must not look green). A test run
that did not finish (the test host crashed or the run was aborted: its tests after that point never ran) counts as
one failed test, with the reason, so the line never looks green for a suite cut short. Each failed test is named on a
line of its own ('  FAILED: Class.Method'), which scripts/test-repeat.sh adds up over runs; the first lines of each
failure's message and of its stack trace in PeerRelay code follow, indented further, and are repeated just before the
final line so that a CI log cut to its tail still says why."""
import pathlib
import sys
import xml.etree.ElementTree as ET

NS = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"
passed = failed = 0
details = []


def why(result):
    """The first lines of a failed result's message and the PeerRelay frames of its stack trace."""
    info = result.find(f"{NS}Output/{NS}ErrorInfo")
    if info is None:
        return []
    message = [line for line in info.findtext(f"{NS}Message", "").strip().splitlines() if line.strip()][:6]
    stack = [line.strip() for line in info.findtext(f"{NS}StackTrace", "").splitlines() if "PeerRelay" in line][:4]
    return ["    " + line[:300] for line in message + stack]


for trx in sorted(pathlib.Path(sys.argv[1]).rglob("*.trx")):
    root = ET.parse(trx).getroot()
    summary = root.find(f"{NS}ResultSummary")
    counters = summary.find(f"{NS}Counters") if summary is not None else None
    if counters is None:
        continue
    p = int(counters.get("passed", 0))
    f = int(counters.get("failed", 0)) + int(counters.get("error", 0)) + int(counters.get("timeout", 0)) + int(counters.get("aborted", 0))
    cut_short = summary.get("outcome") in ("Aborted", "Error") or (summary.get("outcome") == "Failed" and f == 0)
    if cut_short:
        errors = (i.findtext(f"{NS}Text", "").strip() for i in summary.iter(f"{NS}RunInfo") if i.get("outcome") == "Error")
        reason = next((text for text in errors if text), summary.get("outcome") or "aborted")
        print(f"  {trx.name}: the test run did not finish: {reason.splitlines()[0]}")
        f += 1
    for result in root.iter(f"{NS}UnitTestResult"):
        if result.get("outcome") in ("Failed", "Error", "Timeout", "Aborted"):
            print(f"  FAILED: {result.get('testName')}")
            lines = why(result)
            for line in lines:
                print(line)
            details.append((result.get("testName"), lines))
    print(f"  {trx.name}: {p} passed, {f} failed")
    passed += p
    failed += f
if details:
    print("failures:")
    for name, lines in details:
        print(f"  {name}")
        for line in lines:
            print(line)
print(f"tests: {passed} passed, {failed} failed")
sys.exit(1 if failed or passed == 0 else 0)
