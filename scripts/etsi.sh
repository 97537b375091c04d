#!/usr/bin/env bash
# Runs the official ETSI NGSI-LD conformance suite against a fresh Quartier and records the
# result in conformance/ (summary and the names of passing tests).
#
#   scripts/etsi.sh [AREAS]        AREAS default: the areas the NGSI-LD core is judged on
#
# Needs: the suite checked out at ../ngsi-ld-test-suite (pinned commit, see
# ../shared/tools/etsi-conformance/README.md) and the runner in ../shared/tools.
set -euo pipefail
cd "$(dirname "$0")/.."
SUITE=${ETSI_SUITE_DIR:-../ngsi-ld-test-suite}
RUNNER=${ETSI_RUNNER:-../shared/tools/etsi-conformance/run.sh}
AREAS=${1:-CommonBehaviours,ContextInformation/Provision,ContextInformation/Consumption,jsonldContext}
PORT=${QUARTIER_PORT:-1026}
RESULTS=${ETSI_RESULTS_DIR:-target/etsi-results}
# ETSI_RECORD names the record (conformance/<name>-summary.txt, <name>-passing.txt);
# ETSI_EXTRA passes runner options, e.g. "--mqtt --include sub-mqtt-notification".
RECORD=${ETSI_RECORD:-}
PREFIX=${RECORD:+$RECORD-}
DATA=$(mktemp -d)
rm -rf "$RESULTS"   # the runner merges every unit it finds there

cargo build --release -p quartier
# The suite expects 40 temporal instances to be paginated and 20 not (tests 020_13/14, 021_15/16).
printf 'temporal-page-size = 30\n' > "$DATA/quartier.toml"
./target/release/quartier serve --listen "0.0.0.0:$PORT" --data-dir "$DATA" --config "$DATA/quartier.toml" --admin-reset >"$DATA/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done

"$RUNNER" --suite "$SUITE" --broker "http://127.0.0.1:$PORT/ngsi-ld/v1" --results "$RESULTS" \
  --areas "$AREAS" --test-timeout 30s ${ETSI_EXTRA:-} \
  --before-area "curl -s -X POST http://127.0.0.1:$PORT/admin/reset"

# Record: summary lines and the sorted names of passing tests.
cp "$RESULTS/summary.txt" "conformance/${PREFIX}summary.txt"
python3 - "$RESULTS/combined.xml" > "conformance/${PREFIX}passing.txt" <<'PY'
import sys, xml.etree.ElementTree as ET
names = set()
for test in ET.parse(sys.argv[1]).iter('test'):
    status = test.find('status')
    if status is not None and status.get('status') == 'PASS':
        names.add(test.get('name'))
print('\n'.join(sorted(names)))
PY
echo "passing: $(wc -l < "conformance/${PREFIX}passing.txt") (conformance/${PREFIX}passing.txt)"
