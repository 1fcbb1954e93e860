#!/usr/bin/env bash
# Runs setup, the full test suite, and prints "N passed, N failed" as the last line.
set -uo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

RESULTS_DIR="artifacts/test-results"

if ! scripts/setup.sh; then
    echo "test: setup failed" >&2
    echo "0 passed, 0 failed"
    exit 1
fi

rm -rf "$RESULTS_DIR"
mkdir -p "$RESULTS_DIR"

dotnet test MLNetNormalization.sln -c Release \
    --logger "trx;LogFilePrefix=results" \
    --results-directory "$RESULTS_DIR"
test_rc=$?

# Sum the <Counters passed="" failed="" .../> of every trx file.
summary="$(/usr/bin/python3 - "$RESULTS_DIR" <<'PY'
import glob, os, sys
import xml.etree.ElementTree as ET

files = sorted(glob.glob(os.path.join(sys.argv[1], "**", "*.trx"), recursive=True))
passed = failed = 0
for path in files:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        print(f"test: cannot parse {path}: {e}", file=sys.stderr)
        failed += 1
        continue
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] == "Counters":
            passed += int(el.get("passed", "0") or 0)
            failed += int(el.get("failed", "0") or 0)
print(len(files), passed, failed)
PY
)"
parse_rc=$?
read -r n_files passed failed <<<"${summary:-0 0 0}"
[ "$parse_rc" -eq 0 ] || { n_files=0; passed=${passed:-0}; failed=${failed:-0}; }

rc=0
if [ "$test_rc" -ne 0 ]; then
    echo "test: dotnet test exited with status $test_rc" >&2
    rc=1
fi
if [ "${n_files:-0}" -eq 0 ]; then
    echo "test: no trx files found under $RESULTS_DIR" >&2
    rc=1
fi
if [ "${failed:-0}" -gt 0 ]; then
    rc=1
fi

echo "${passed:-0} passed, ${failed:-0} failed"
exit "$rc"
