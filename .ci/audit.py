"""CI: known vulnerabilities of the installed packages (pip-audit, PyPI's advisory data).

Fails (exit 1) only on a real finding: a vulnerable package version installed. When the advisory
service cannot be reached (no network), it says so and passes: the audit could not run, which is
not a finding. Run: .venv/bin/python .ci/audit.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "audit.json"
        run = subprocess.run([sys.executable, "-m", "pip_audit", "--progress-spinner", "off", "--skip-editable",
                              "--format", "json", "--output", str(report)], capture_output=True, text=True)
        if not report.exists() or not report.read_text().strip():
            print(f"pip-audit could not run (advisory service unreachable?), not a finding:\n{run.stderr[-2000:]}")
            return 0
        found = json.loads(report.read_text())
    vulnerable = [(d["name"], d["version"], v["id"], ", ".join(v.get("fix_versions", [])) or "no fix yet")
                  for d in found.get("dependencies", []) for v in d.get("vulns", [])]
    for name, version, advisory, fixes in vulnerable:
        print(f"VULNERABLE {name} {version}: {advisory} (fixed in {fixes})")
    print(f"pip-audit: {len(found.get('dependencies', []))} packages audited, {len(vulnerable)} known vulnerabilities")
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
