#!/usr/bin/env python3
"""Adds up the .trx files dotnet test wrote and prints one line: 'tests: N passed, M failed'.

Exits 1 when a test failed or when no test ran at all (a suite that runs nothing must not look green). A test run
that did not finish (the test host crashed or the run was aborted: its tests after that point never ran) counts as
one failed test, with the reason, so the line never looks green for a suite cut short."""
import pathlib
import sys
import xml.etree.ElementTree as ET

NS = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"
passed = failed = 0
for trx in sorted(pathlib.Path(sys.argv[1]).rglob("*.trx")):
    counters = ET.parse(trx).getroot().find(f"{NS}ResultSummary/{NS}Counters")
    if counters is None:
        continue
    p = int(counters.get("passed", 0))
    f = int(counters.get("failed", 0)) + int(counters.get("error", 0)) + int(counters.get("timeout", 0)) + int(counters.get("aborted", 0))
    summary = ET.parse(trx).getroot().find(f"{NS}ResultSummary")
    infos = [(i.get("outcome", ""), (i.findtext(f"{NS}Text") or "").strip()) for i in summary.iter(f"{NS}RunInfo")]
    cut_short = summary.get("outcome") in ("Aborted", "Error") or (summary.get("outcome") == "Failed" and f == 0)
    if cut_short:
        reason = next((text for outcome, text in infos if outcome == "Error" and text), summary.get("outcome"))
        print(f"  {trx.name}: the test run did not finish: {reason.splitlines()[0] if reason else 'aborted'}")
        f += 1
    print(f"  {trx.name}: {p} passed, {f} failed")
    passed += p
    failed += f
print(f"tests: {passed} passed, {failed} failed")
sys.exit(1 if failed or passed == 0 else 0)
