"""Audit the installed dependencies with pip-audit against PyPI's vulnerability data.

    .venv/bin/python scripts/audit.py        (or: make audit)

Fails on a known vulnerability that has a fixed version. Also fails when pip-audit could
not check the packages at all (e.g. PyPI's per-release JSON API is unreachable), because
"no vulnerabilities found" would then mean nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys


def main() -> int:
    out = subprocess.run(
        [sys.executable, "-m", "pip_audit", "--vulnerability-service", "pypi", "--format", "json",
         "--progress-spinner", "off"],
        capture_output=True, text=True,
    )
    try:
        report = json.loads(out.stdout)
    except json.JSONDecodeError:
        print(out.stderr[-2000:], file=sys.stderr)
        return 2
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    fixable = [(d["name"], d["version"], v["id"], v["fix_versions"])
               for d in deps for v in d.get("vulns", []) if v.get("fix_versions")]
    for name, version, vuln, fixes in fixable:
        print(f"{name} {version}: {vuln} (fixed in {', '.join(fixes)})")
    audited = len(deps) - len(skipped)
    print(f"{audited} packages audited, {len(skipped)} could not be checked, {len(fixable)} fixable vulnerabilities")
    if deps and audited == 0:
        print("Nothing could be audited: is PyPI's JSON API reachable from here?", file=sys.stderr)
        return 2
    return 1 if fixable else 0


if __name__ == "__main__":
    raise SystemExit(main())
