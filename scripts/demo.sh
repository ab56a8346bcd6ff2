#!/usr/bin/env bash
# npm run demo: cri-mux in front of two real local containerd instances, end to end.
#   1. installs what is missing (Debian packages, npm deps) and builds cri-mux;
#   2. starts a local registry and containerd instances "a" and "b" (scripts/runtimes.sh);
#   3. starts cri-mux on /run/cri-mux/cri-mux.sock with a config routing by annotation;
#   4. walks a crictl-style sample pod through it on each backend, saying what happened;
#   5. keeps serving until Ctrl-C when run in a terminal (DEMO_KEEP=1 forces, 0 skips),
#      then tears everything down.
# Needs root (containerd, CNI, mounts). Settings (environment):
#   DEMO_STATE   state dir of runtimes, config, logs (default /var/tmp/cri-mux-demo)
#   DEMO_SOCKET  the CRI socket cri-mux serves (default /run/cri-mux/cri-mux.sock)
#   DEMO_METRICS metrics address (default 127.0.0.1:9464)
#   DEMO_KEEP    1: keep serving after the walk until Ctrl-C; 0: tear down at once
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=${DEMO_STATE:-/var/tmp/cri-mux-demo}
SOCKET=${DEMO_SOCKET:-/run/cri-mux/cri-mux.sock}
METRICS=${DEMO_METRICS:-127.0.0.1:9464}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

[[ $(id -u) == 0 ]] || { echo "demo: run as root (containerd needs it): sudo npm run demo" >&2; exit 1; }

bash scripts/install-debian-packages.sh
[[ -d node_modules ]] || { say "installing npm dependencies"; npm ci --no-audit --no-fund; }
say "building cri-mux"
npx tsc -p tsconfig.json

PROXY_PID=""
cleanup() {
  say "tearing down"
  [[ -n "$PROXY_PID" ]] && kill -TERM "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null || true
  bash scripts/runtimes.sh down "$STATE" || true
}
trap cleanup EXIT

say "starting a local registry and containerd instances a and b under $STATE"
bash scripts/runtimes.sh up "$STATE" 2

CONFIG=$STATE/cri-mux.yaml
node -e '
const env = require(process.argv[1]);
const [a, b] = env.instances;
process.stdout.write(`# written by scripts/demo.sh
listen:
  socket: ${process.argv[2]}
backends:
  - { name: containerd-a, endpoint: "${a.endpoint}", default: true }
  - { name: containerd-b, endpoint: "${b.endpoint}" }
routing:
  annotationBackends: [containerd-a, containerd-b]
  rules:
    - name: sandboxed-namespaces
      match: { namespace: "sandboxed-*" }
      backend: containerd-b
metrics:
  address: ${process.argv[3]}
audit:
  path: ${env.stateDir}/audit.log
`);' "$STATE/env.json" "$SOCKET" "$METRICS" >"$CONFIG"
say "cri-mux config ($CONFIG)"
cat "$CONFIG"

say "starting cri-mux"
node dist/src/main.js serve --config "$CONFIG" 2> >(tee "$STATE/cri-mux.log" >&2) &
PROXY_PID=$!
for _ in $(seq 100); do [[ -S "$SOCKET" ]] && break; sleep 0.1; done
[[ -S "$SOCKET" ]] || { echo "demo: cri-mux did not open $SOCKET; see $STATE/cri-mux.log" >&2; exit 1; }

say "walking the crictl sample pod through $SOCKET"
node dist/scripts/demo-walkthrough.js "$SOCKET" "$STATE/env.json"

keep=${DEMO_KEEP:-}
[[ -z "$keep" && -t 0 ]] && keep=1
if [[ "$keep" == 1 ]]; then
  say "cri-mux is serving on $SOCKET (metrics: http://$METRICS/metrics, audit: $STATE/audit.log). Ctrl-C stops it and tears down."
  wait "$PROXY_PID" || true
fi
