#!/usr/bin/env bash
# A botbridge cluster on one machine: three instances on one PostgreSQL, on ports 8081-8083.
#   DATABASE_URL=postgres://user:pass@host:5432/botbridge scripts/cluster.sh
# Every instance gets the same DATABASE_URL, SECRET_KEY and ADMIN_TOKEN, and its own PORT,
# INSTANCE_ID and DATA_DIR. Put a load balancer in front (see README, "Cluster") and set
# PUBLIC_HOST to its address, so the demo bot's URL does not depend on one instance.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL to the PostgreSQL database the instances share}"
export DATABASE_URL
export SECRET_KEY="${SECRET_KEY:-$(node -e 'console.log(require("crypto").randomBytes(32).toString("base64"))')}"
export ADMIN_TOKEN="${ADMIN_TOKEN:-$(node -e 'console.log(require("crypto").randomBytes(24).toString("base64url"))')}"
export PUBLIC_HOST="${PUBLIC_HOST:-127.0.0.1:8081}"
echo "SECRET_KEY=$SECRET_KEY"
echo "ADMIN_TOKEN=$ADMIN_TOKEN"

npm run build --silent
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' INT TERM EXIT
for n in 1 2 3; do
  PORT=$((8080 + n)) INSTANCE_ID="node$n" DATA_DIR="./data-node$n" node --max-semi-space-size=64 dist/src/main.js &
  pids+=($!)
  # The first one up migrates an empty database and seeds the demo account; the others follow.
  if [ "$n" = 1 ]; then
    until curl -sf "http://127.0.0.1:8081/healthz" >/dev/null; do sleep 0.2; done
  fi
done
wait
