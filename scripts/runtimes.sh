#!/usr/bin/env bash
# runtimes.sh — the real-runtime test environment for cri-mux.
#
#   scripts/runtimes.sh up     STATE_DIR [N]   start a local registry + N containerd instances (a, b, …)
#   scripts/runtimes.sh down   STATE_DIR       stop everything `up` started in STATE_DIR, idempotently
#   scripts/runtimes.sh status STATE_DIR       show what is running (exit 0 only if everything is up)
#
# This is the ONE implementation used by the e2e tests (test/support/runtime-env.ts), by CI and by
# `npm run demo`; keep the knowledge of "how to run containerd here" in this file only.
#
# Constraints of the hosts we run on (dev machines and CI alike) that shape this script:
#   * root, but no CAP_SYS_RESOURCE      -> CRI must run with restrict_oom_score_adj = true
#   * cgroup v1 (+ a `unified` mount)     -> cgroupfs driver, runc (crun fails on this layout)
#   * no internet, only 127.0.0.1         -> images are built locally (umoci + busybox-static),
#                                            served by a docker-registry bound to 127.0.0.1 only,
#                                            and containerd reaches it through hosts.toml (plain http)
#   * several environments may coexist    -> each STATE_DIR claims a "slot" that decides its CNI
#                                            bridge names and subnets, so two environments never
#                                            share a bridge or an address range
# Every daemon's files (config, root, state, sockets, logs) live under STATE_DIR.
set -euo pipefail

# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------

PROG=runtimes.sh
SLOT_DIR=/run/cri-mux-envs  # global: which STATE_DIR owns which slot (bridge names, subnets)
MAX_SLOTS=24                # subnets are 10.88.(1 + slot*10 + i).0/24, so slot*10+10 <= 250
MAX_INSTANCES=10            # instances per environment (names a..j, one /24 each)
REGISTRY_PORTS=(5000 5100)  # first and last port tried for the registry

log() { printf '[%s] %s\n' "$PROG" "$*" >&2; }
die() { printf '[%s] error: %s\n' "$PROG" "$*" >&2; exit 1; }

usage() {
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# is_alive PIDFILE: the pid recorded in PIDFILE is a live process.
is_alive() {
  local pid
  [[ -s "$1" ]] || return 1
  pid=$(<"$1")
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# stop_pidfile PIDFILE WHAT: SIGTERM, wait up to 10 s, then SIGKILL. Only ever the recorded pid.
stop_pidfile() {
  local pidfile=$1 what=$2 pid i
  if is_alive "$pidfile"; then
    pid=$(<"$pidfile")
    log "stopping $what (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$what did not stop on SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  rm -f "$pidfile"
}

# start_daemon PIDFILE LOGFILE CMD...: start CMD detached from us.
# setsid: a Ctrl-C in the terminal (or vitest's process group dying) must not kill the daemons
# half-way; `down` owns their shutdown. All stdio goes to files, otherwise a caller that captures
# our output (node's execFile) would wait for the daemons to exit. Fd 9 is our lock: the daemon
# must not inherit it, or the lock would live as long as the daemon.
start_daemon() {
  local pidfile=$1 logfile=$2
  shift 2
  setsid "$@" </dev/null >>"$logfile" 2>&1 9>&- &
  echo $! >"$pidfile"
}

# http_status PORT PATH: the HTTP status code of GET http://127.0.0.1:PORT/PATH, using bash's own
# /dev/tcp so that the environment needs no curl.
http_status() {
  local port=$1 path=$2 line=""
  (
    exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\n\r\n' "$path" "$port" >&3
    IFS= read -r -t 5 line <&3 || true
    exec 3>&-
    printf '%s' "$line" | awk '{print $2}'
  ) 2>/dev/null
}

# listening_pid_is PORT PID: PID owns the TCP listener on 127.0.0.1:PORT.
listening_pid_is() {
  ss -Hltnp "sport = :$1" 2>/dev/null | grep -q "pid=$2,"
}

port_in_use() {
  [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]
}

# json_str VALUE: VALUE as a JSON string. Paths are validated to be plain (see resolve_state_dir),
# so escaping backslash and quote is enough.
json_str() {
  local s=${1//\\/\\\\}
  printf '"%s"' "${s//\"/\\\"}"
}

instance_name() { # index -> a, b, c, …
  printf "\\$(printf '%03o' $((97 + $1)))"
}

resolve_state_dir() {
  [[ -n "${1:-}" ]] || usage
  mkdir -p "$1"
  STATE_DIR=$(cd "$1" && pwd -P)
  # Sockets must fit in sun_path (108 bytes) and paths go into TOML/JSON unescaped: keep them plain.
  [[ "$STATE_DIR" =~ ^[A-Za-z0-9._/-]+$ ]] || die "STATE_DIR must be a plain path ([A-Za-z0-9._/-]): $STATE_DIR"
  ((${#STATE_DIR} <= 60)) || die "STATE_DIR is too long for unix socket paths (<= 60 chars): $STATE_DIR"
}

# lock_state_dir: serialise up/down on one STATE_DIR (two `up`s racing would start two
# registries). Held on fd 9 until this script exits.
lock_state_dir() {
  exec 9>"$STATE_DIR/.lock"
  flock -w 300 9 || die "could not lock $STATE_DIR/.lock within 300 s"
}

require_tools() {
  local missing=() t
  for t in containerd containerd-shim-runc-v2 ctr runc skopeo umoci docker-registry ip ss flock setsid findmnt; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] ||
    missing+=("CNI plugins in /usr/lib/cni (containernetworking-plugins)")
  [[ -x "$(busybox_path)" ]] || missing+=("static busybox (busybox-static)")
  ((${#missing[@]} == 0)) || die "missing: ${missing[*]}
  install with: apt-get install -y containerd runc containernetworking-plugins docker-registry skopeo umoci busybox-static iproute2"
  ((EUID == 0)) || die "must run as root (containerd, mounts, network namespaces)"
}

busybox_path() {
  # busybox-static installs /bin/busybox (merged /usr: /usr/bin/busybox); it must be static,
  # because the images contain nothing else.
  local p
  for p in /usr/bin/busybox /bin/busybox; do
    # (ldd exits 1 for static binaries: compare its text, not its status)
    if [[ -x "$p" && "$(LC_ALL=C ldd "$p" 2>&1 || true)" == *"not a dynamic executable"* ]]; then
      echo "$p"
      return
    fi
  done
  echo /nonexistent
}

# ---------------------------------------------------------------------------------------------
# slots: distinct bridge names and subnets per STATE_DIR
# ---------------------------------------------------------------------------------------------

# claim_slot: sets SLOT. A slot whose owner STATE_DIR no longer exists (or no longer points back)
# is stale (a crashed run whose temp dir was deleted) and may be reused.
claim_slot() {
  mkdir -p "$SLOT_DIR"
  if [[ -s "$STATE_DIR/slot" ]]; then
    SLOT=$(<"$STATE_DIR/slot")
    if [[ -f "$SLOT_DIR/slot-$SLOT" && "$(<"$SLOT_DIR/slot-$SLOT")" == "$STATE_DIR" ]]; then
      return
    fi
  fi
  local k owner
  (
    flock -w 60 8 || die "could not lock $SLOT_DIR/.lock"
    for ((k = 0; k < MAX_SLOTS; k++)); do
      if [[ -f "$SLOT_DIR/slot-$k" ]]; then
        owner=$(<"$SLOT_DIR/slot-$k")
        [[ "$owner" == "$STATE_DIR" ]] && { echo "$k" >"$STATE_DIR/slot"; exit 0; }
        if [[ -d "$owner" && -s "$owner/slot" && "$(<"$owner/slot")" == "$k" ]]; then
          continue # in use
        fi
        log "reclaiming stale slot $k (owner $owner is gone)"
      fi
      # Both halves of the claim are written under the lock, so no other `up` ever sees one
      # without the other (and takes the slot for stale).
      echo "$STATE_DIR" >"$SLOT_DIR/slot-$k"
      echo "$k" >"$STATE_DIR/slot"
      exit 0
    done
    die "all $MAX_SLOTS environment slots are in use ($SLOT_DIR); run 'down' on old STATE_DIRs"
  ) 8>"$SLOT_DIR/.lock"
  SLOT=$(<"$STATE_DIR/slot")
}

release_slot() {
  [[ -s "$STATE_DIR/slot" ]] || return 0
  local k
  k=$(<"$STATE_DIR/slot")
  (
    flock -w 60 8 || exit 0
    if [[ -f "$SLOT_DIR/slot-$k" && "$(<"$SLOT_DIR/slot-$k")" == "$STATE_DIR" ]]; then
      rm -f "$SLOT_DIR/slot-$k"
    fi
  ) 8>"$SLOT_DIR/.lock"
  rm -f "$STATE_DIR/slot"
}

# ---------------------------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------------------------

registry_up() {
  local dir=$STATE_DIR/registry port
  mkdir -p "$dir/data"
  if is_alive "$dir/registry.pid" && [[ -s "$dir/port" ]] &&
    [[ "$(http_status "$(<"$dir/port")" /v2/)" == 200 ]]; then
    REGISTRY_PORT=$(<"$dir/port")
    log "registry already running on 127.0.0.1:$REGISTRY_PORT"
    return
  fi
  stop_pidfile "$dir/registry.pid" registry
  for ((port = REGISTRY_PORTS[0]; port <= REGISTRY_PORTS[1]; port++)); do
    port_in_use "$port" && continue
    # Bound to 127.0.0.1 only; no auth, no TLS: it serves nothing but our two test images.
    cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
    start_daemon "$dir/registry.pid" "$dir/registry.log" docker-registry serve "$dir/config.yml"
    local i
    for ((i = 0; i < 100; i++)); do
      is_alive "$dir/registry.pid" || break # lost a race for the port: try the next one
      # The listener must be OUR registry: another environment's may have won this port while
      # ours is still starting up (and about to fail).
      if listening_pid_is "$port" "$(<"$dir/registry.pid")" && [[ "$(http_status "$port" /v2/)" == 200 ]]; then
        echo "$port" >"$dir/port"
        REGISTRY_PORT=$port
        log "registry listening on 127.0.0.1:$port"
        return
      fi
      sleep 0.1
    done
    stop_pidfile "$dir/registry.pid" registry
  done
  tail -n 20 "$dir/registry.log" >&2 || true
  die "could not start docker-registry on any port ${REGISTRY_PORTS[0]}..${REGISTRY_PORTS[1]}"
}

# ---------------------------------------------------------------------------------------------
# images: built from local files only, then pushed to the local registry
# ---------------------------------------------------------------------------------------------

# populate_rootfs ROOTFS APPLETS...: a busybox-only root filesystem.
populate_rootfs() {
  local rootfs=$1 a
  shift
  mkdir -p "$rootfs"/{bin,etc,tmp,proc,sys,dev,root,var/log}
  chmod 1777 "$rootfs/tmp"
  cp "$(busybox_path)" "$rootfs/bin/busybox"
  for a in "$@"; do
    [[ "$a" == busybox ]] || ln -sf busybox "$rootfs/bin/$a"
  done
  # Lets run_as_username / `id` resolve root without a full distro.
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
}

# build_image LAYOUT TAG KIND: KIND is busybox or pause.
build_image() {
  local layout=$1 tag=$2 kind=$3 bundle
  bundle=$(mktemp -d "$STATE_DIR/images/bundle.XXXXXX")
  rmdir "$bundle" # umoci unpack wants to create it
  umoci new --image "$layout:$tag"
  umoci unpack --image "$layout:$tag" "$bundle" >/dev/null
  case $kind in
  busybox)
    # Every applet, so `sh -c '...'` scripts in tests can use whatever busybox offers.
    # shellcheck disable=SC2046
    populate_rootfs "$bundle/rootfs" $("$(busybox_path)" --list)
    ;;
  pause)
    populate_rootfs "$bundle/rootfs" sh sleep kill
    # The sandbox's PID 1: sleeps forever, exits 0 on TERM/INT (a shell as PID 1 only gets
    # signals it traps), and takes its sleep child with it even in a host PID namespace.
    cat >"$bundle/rootfs/pause" <<'EOF'
#!/bin/sh
trap 'kill "$child" 2>/dev/null; exit 0' TERM INT
while :; do
  sleep 3600 &
  child=$!
  wait "$child"
done
EOF
    chmod 0755 "$bundle/rootfs/pause"
    ;;
  esac
  umoci repack --image "$layout:$tag" "$bundle" >/dev/null
  rm -rf "$bundle"
  local cfg=(--config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --config.workingdir /)
  if [[ $kind == pause ]]; then
    cfg+=(--config.entrypoint /pause)
  else
    cfg+=(--config.cmd /bin/sh)
  fi
  umoci config --image "$layout:$tag" --author cri-mux "${cfg[@]}"
}

images_up() {
  local layout=$STATE_DIR/images/layout policy=$STATE_DIR/images/policy.json name
  mkdir -p "$STATE_DIR/images"
  # Our own trust policy: the host's /etc/containers/policy.json may be absent or strict.
  echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$policy"
  if [[ ! -f "$STATE_DIR/images/built" ]]; then
    rm -rf "$layout" "$STATE_DIR"/images/bundle.*
    umoci init --layout "$layout"
    build_image "$layout" busybox busybox
    build_image "$layout" pause pause
    umoci gc --layout "$layout"
    touch "$STATE_DIR/images/built"
  fi
  IMAGE_BUSYBOX=127.0.0.1:$REGISTRY_PORT/cri-mux/busybox:1
  IMAGE_PAUSE=127.0.0.1:$REGISTRY_PORT/cri-mux/pause:1
  for name in busybox pause; do
    local ref=IMAGE_${name^^}
    # Re-pushing is cheap (blobs already there are skipped) and keeps `up` idempotent even if
    # the registry's data was lost.
    skopeo --policy "$policy" copy --quiet --dest-tls-verify=false \
      "oci:$layout:$name" "docker://${!ref}" >/dev/null
  done
  log "images pushed: $IMAGE_BUSYBOX, $IMAGE_PAUSE"
}

# ---------------------------------------------------------------------------------------------
# containerd instances
# ---------------------------------------------------------------------------------------------

# choose_snapshotter: overlayfs when the filesystem under STATE_DIR supports it (it does on ext4
# and xfs, not on some overlay-on-overlay or tmpfs setups), else native (slower, copies layers).
choose_snapshotter() {
  if [[ -s "$STATE_DIR/snapshotter" ]]; then
    SNAPSHOTTER=$(<"$STATE_DIR/snapshotter")
    return
  fi
  local t=$STATE_DIR/.overlay-probe
  rm -rf "$t" && mkdir -p "$t"/{lower,upper,work,merged}
  if mount -t overlay overlay -o "lowerdir=$t/lower,upperdir=$t/upper,workdir=$t/work" "$t/merged" 2>/dev/null; then
    umount "$t/merged"
    SNAPSHOTTER=overlayfs
  else
    log "overlay mounts fail under $STATE_DIR; using the native snapshotter"
    SNAPSHOTTER=native
  fi
  rm -rf "$t"
  echo "$SNAPSHOTTER" >"$STATE_DIR/snapshotter"
}

# instance_vars INDEX: sets the per-instance names and paths (no side effects).
instance_vars() {
  local i=$1
  NAME=$(instance_name "$i")
  IDIR=$STATE_DIR/$NAME
  SOCK=$IDIR/containerd.sock
  ROOT=$IDIR/root
  STATE=$IDIR/state
  POD_LOGS=$IDIR/pod-logs
  PIDFILE=$IDIR/containerd.pid
  DAEMON_LOG=$IDIR/containerd.log
  CONFIG=$IDIR/config.toml
  if ((SLOT == 0)); then BRIDGE=cni-mux-$NAME; else BRIDGE=cni-mux$SLOT-$NAME; fi
  SUBNET=10.88.$((1 + SLOT * 10 + i)).0/24
}

# check_subnet_free: refuse to stack our bridge on an address range the host already routes
# elsewhere (e.g. podman's 10.88.0.0/16): pod traffic must stay on our own bridge.
check_subnet_free() {
  local routes
  routes=$(ip -4 route show match "${SUBNET%/*}" 2>/dev/null | grep -v "^default" | grep -v " dev $BRIDGE " || true)
  [[ -z "$routes" ]] || die "subnet $SUBNET for $BRIDGE is already routed on this host: $routes"
}

write_instance_config() {
  mkdir -p "$ROOT" "$STATE" "$POD_LOGS" "$IDIR/cni/net.d" "$IDIR/cni/ipam" "$IDIR/opt" "$IDIR/runc" \
    "$IDIR/certs.d/127.0.0.1:$REGISTRY_PORT"

  # The registry is plain http on loopback; hosts.toml is the only supported way in 1.6 that
  # does not use the deprecated registry.mirrors.
  cat >"$IDIR/certs.d/127.0.0.1:$REGISTRY_PORT/hosts.toml" <<EOF
server = "http://127.0.0.1:$REGISTRY_PORT"

[host."http://127.0.0.1:$REGISTRY_PORT"]
  capabilities = ["pull", "resolve", "push"]
  skip_verify = true
EOF

  # One bridge network per instance, L2 only: the bridge gets no address (isGateway false, which
  # also keeps the plugin from switching on the host's ip_forward), pods get no default route and
  # no masquerading. Pods reach each other on their bridge and nothing else. containerd's CRI
  # adds the loopback network itself (go-cni WithLoNetwork), so it is not repeated here.
  cat >"$IDIR/cni/net.d/10-cri-mux.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$BRIDGE",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$SUBNET" }]],
        "dataDir": "$IDIR/cni/ipam"
      }
    }
  ]
}
EOF

  cat >"$CONFIG" <<EOF
# Generated by scripts/runtimes.sh for cri-mux's test environment ($NAME, slot $SLOT).
version = 2
root = "$ROOT"
state = "$STATE"
oom_score = 0
# Plugins that cannot work here (or would touch host-global paths) only add noise to the log.
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
]

[grpc]
  address = "$SOCK"
  # Matches what kubelet and cri-mux allow, so big list answers are not a backend-side limit.
  max_recv_message_size = 67108864
  max_send_message_size = 67108864

[ttrpc]
  address = "$SOCK.ttrpc"

[debug]
  level = "info"

[plugins."io.containerd.internal.v1.opt"]
  path = "$IDIR/opt"

# The legacy v1 runtime is unused, but the tasks service needs it loaded; keep its state ours.
[plugins."io.containerd.runtime.v1.linux"]
  runtime_root = "$IDIR/runc-v1"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$IMAGE_PAUSE"
  # Debug/exec/attach/port-forward URLs: loopback only, random port.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # Root without CAP_SYS_RESOURCE cannot lower oom_score_adj: clamp instead of failing.
  restrict_oom_score_adj = true
  enable_selinux = false
  disable_apparmor = true
  # Keeps pod network namespaces under STATE_DIR, so 'down' can find and unmount leftovers.
  netns_mounts_under_state_dir = true
  max_container_log_line_size = 16384

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$IDIR/cni/net.d"
    max_conf_num = 1

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "$SNAPSHOTTER"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # cgroup v1 + cgroupfs on these hosts (no systemd as init).
        SystemdCgroup = false
        # A runc state dir of our own, so 'down' can find (and kill) exactly our containers.
        Root = "$IDIR/runc"

  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$IDIR/certs.d"
EOF

  cat >"$IDIR/instance.env" <<EOF
NAME=$NAME
SOCK=$SOCK
BRIDGE=$BRIDGE
SUBNET=$SUBNET
REGISTRY_PORT=$REGISTRY_PORT
EOF
}

# wait_for_containerd: until the socket answers and the CRI plugin loaded.
wait_for_containerd() {
  local i
  for ((i = 0; i < 300; i++)); do
    is_alive "$PIDFILE" || break
    if [[ -S "$SOCK" ]] && timeout 5 ctr --address "$SOCK" version >/dev/null 2>&1; then
      local cri
      cri=$(timeout 5 ctr --address "$SOCK" plugins ls 2>/dev/null | awk '$1 == "io.containerd.grpc.v1" && $2 == "cri" {print $NF}')
      case $cri in
      ok) return 0 ;;
      error) break ;;
      esac
    fi
    sleep 0.1
  done
  log "containerd '$NAME' did not become ready; last lines of $DAEMON_LOG:"
  tail -n 30 "$DAEMON_LOG" >&2 || true
  return 1
}

instance_up() {
  instance_vars "$1"
  # A running instance is reused only if it points at the registry we have now (a restarted
  # registry may have had to take another port).
  if is_alive "$PIDFILE" && [[ -S "$SOCK" ]] && grep -qx "REGISTRY_PORT=$REGISTRY_PORT" "$IDIR/instance.env" 2>/dev/null &&
    timeout 5 ctr --address "$SOCK" version >/dev/null 2>&1; then
    log "containerd '$NAME' already running (pid $(<"$PIDFILE"))"
    return
  fi
  stop_pidfile "$PIDFILE" "containerd '$NAME'"
  check_subnet_free
  write_instance_config
  rm -f "$SOCK" "$SOCK.ttrpc"
  start_daemon "$PIDFILE" "$DAEMON_LOG" containerd --config "$CONFIG"
  wait_for_containerd || die "containerd '$NAME' failed to start"
  log "containerd '$NAME' ready on $SOCK (bridge $BRIDGE $SUBNET, $SNAPSHOTTER)"
}

# ---------------------------------------------------------------------------------------------
# teardown
# ---------------------------------------------------------------------------------------------

# own_shim_pids SOCK: pids of containerd shims started for the containerd listening on SOCK
# (their command line carries `-address SOCK`). Matched by exact argument, never by name alone.
own_shim_pids() {
  local sock=$1 f pid
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    tr '\0' '\n' 2>/dev/null <"$f" | awk -v s="$sock" '
      NR == 1 && $0 !~ /containerd-shim/ { exit 1 }
      prev == "-address" && $0 == s { found = 1 }
      { prev = $0 }
      END { exit !found }' && echo "$pid"
  done
  return 0
}

# unmount_under DIR: every mount point below DIR, deepest first (rootfs overlays, shm, netns
# bind mounts that a killed runtime left behind).
unmount_under() {
  local dir=$1 m
  findmnt -rn -o TARGET | awk -v d="$dir/" 'index($0, d) == 1' | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
  done
}

instance_down() {
  local idir=$1 NAME SOCK BRIDGE SUBNET REGISTRY_PORT pid ns id i
  # shellcheck disable=SC1091
  source "$idir/instance.env"
  local pidfile=$idir/containerd.pid runc_root=$idir/runc

  # 1. While containerd is alive, let it stop its own tasks: shims then exit cleanly and the
  #    runtime's bookkeeping stays consistent. Best effort and bounded: the sweep below is the
  #    guarantee.
  if is_alive "$pidfile" && [[ -S "$SOCK" ]]; then
    for ns in $(timeout 10 ctr --address "$SOCK" namespaces ls -q 2>/dev/null || true); do
      for id in $(timeout 10 ctr --address "$SOCK" -n "$ns" tasks ls -q 2>/dev/null || true); do
        timeout 10 ctr --address "$SOCK" -n "$ns" tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true
      done
      for id in $(timeout 10 ctr --address "$SOCK" -n "$ns" tasks ls -q 2>/dev/null || true); do
        timeout 15 ctr --address "$SOCK" -n "$ns" tasks rm -f "$id" >/dev/null 2>&1 || true
      done
    done
  fi

  # 2. The daemon itself.
  stop_pidfile "$pidfile" "containerd '$NAME'"

  # 3. Containers that are still there (containerd was dead or hung): runc kills them by its
  #    own state dir, which only this instance uses; this also removes their cgroups.
  if [[ -d "$runc_root" ]]; then
    for ns in "$runc_root"/*/; do
      [[ -d "$ns" ]] || continue
      for id in $(runc --root "$ns" list -q 2>/dev/null || true); do
        log "removing leftover container $id ($NAME)"
        runc --root "$ns" kill "$id" KILL >/dev/null 2>&1 || true
        runc --root "$ns" delete -f "$id" >/dev/null 2>&1 || true
      done
    done
  fi

  # 4. Shims of this instance that outlived their containers. Wait until they are gone, so that
  #    'down' returning means no process of ours is left (a killed process lingers briefly until
  #    it is reaped).
  local shims
  shims=$(own_shim_pids "$SOCK")
  for pid in $shims; do
    log "killing leftover shim pid $pid ($NAME)"
    kill -KILL "$pid" 2>/dev/null || true
  done
  for pid in $shims; do
    for ((i = 0; i < 50; i++)); do
      [[ -e /proc/$pid ]] || break
      sleep 0.1
    done
  done

  # 5. Mounts and the bridge (veths vanish with their network namespaces).
  unmount_under "$idir"
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link delete "$BRIDGE" type bridge 2>/dev/null || log "could not delete bridge $BRIDGE"
  fi
  rm -f "$SOCK" "$SOCK.ttrpc"
}

# ---------------------------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------------------------

write_env_json() {
  local i first=1
  {
    printf '{\n'
    printf '  "stateDir": %s,\n' "$(json_str "$STATE_DIR")"
    printf '  "slot": %s,\n' "$SLOT"
    printf '  "registry": %s,\n' "$(json_str "127.0.0.1:$REGISTRY_PORT")"
    printf '  "images": {\n    "busybox": %s,\n    "pause": %s\n  },\n' \
      "$(json_str "$IMAGE_BUSYBOX")" "$(json_str "$IMAGE_PAUSE")"
    printf '  "instances": ['
    for ((i = 0; i < N; i++)); do
      instance_vars "$i"
      ((first)) || printf ','
      first=0
      printf '\n    {\n'
      printf '      "name": %s,\n' "$(json_str "$NAME")"
      printf '      "socket": %s,\n' "$(json_str "$SOCK")"
      printf '      "endpoint": %s,\n' "$(json_str "unix://$SOCK")"
      printf '      "root": %s,\n' "$(json_str "$ROOT")"
      printf '      "state": %s,\n' "$(json_str "$STATE")"
      printf '      "logDir": %s,\n' "$(json_str "$POD_LOGS")"
      printf '      "daemonLog": %s,\n' "$(json_str "$DAEMON_LOG")"
      printf '      "pidFile": %s,\n' "$(json_str "$PIDFILE")"
      printf '      "pid": %s,\n' "$(<"$PIDFILE")"
      printf '      "config": %s,\n' "$(json_str "$CONFIG")"
      printf '      "bridge": %s,\n' "$(json_str "$BRIDGE")"
      printf '      "subnet": %s,\n' "$(json_str "$SUBNET")"
      printf '      "snapshotter": %s\n' "$(json_str "$SNAPSHOTTER")"
      printf '    }'
    done
    printf '\n  ]\n}\n'
  } >"$STATE_DIR/env.json.tmp"
  mv "$STATE_DIR/env.json.tmp" "$STATE_DIR/env.json"
}

cmd_up() {
  N=${2:-2}
  [[ "$N" =~ ^[0-9]+$ ]] && ((N >= 1 && N <= MAX_INSTANCES)) || die "N must be 1..$MAX_INSTANCES (got '$N')"
  require_tools
  resolve_state_dir "$1"
  lock_state_dir
  local started=$SECONDS i
  claim_slot
  registry_up
  images_up
  choose_snapshotter
  for ((i = 0; i < N; i++)); do
    instance_up "$i"
  done
  write_env_json
  echo "$N" >"$STATE_DIR/instances"
  echo "cri-mux runtimes up in $((SECONDS - started)) s  (state: $STATE_DIR, slot $SLOT)"
  echo "  registry  127.0.0.1:$REGISTRY_PORT  images: $IMAGE_BUSYBOX  $IMAGE_PAUSE"
  for ((i = 0; i < N; i++)); do
    instance_vars "$i"
    echo "  $NAME  unix://$SOCK  pid $(<"$PIDFILE")  bridge $BRIDGE $SUBNET  log $DAEMON_LOG"
  done
  echo "  env: $STATE_DIR/env.json"
}

cmd_down() {
  [[ -n "${1:-}" ]] || usage
  if [[ ! -d "$1" ]]; then
    log "nothing to do: $1 does not exist"
    return 0
  fi
  ((EUID == 0)) || die "must run as root"
  resolve_state_dir "$1"
  lock_state_dir
  local idir pid pids=() failed=0
  # Instances are independent and containerd takes about a second to shut down: in parallel.
  for idir in "$STATE_DIR"/*/; do
    idir=${idir%/}
    [[ -f "$idir/instance.env" ]] || continue
    instance_down "$idir" &
    pids+=($!)
  done
  stop_pidfile "$STATE_DIR/registry/registry.pid" registry
  for pid in "${pids[@]}"; do
    wait "$pid" || failed=1
  done
  ((failed == 0)) || die "taking down an instance failed (see above); STATE_DIR kept claimed"
  unmount_under "$STATE_DIR"
  # Callers delete STATE_DIR after a successful down: that must never reach into a mount.
  if findmnt -rn -o TARGET | awk -v d="$STATE_DIR/" 'index($0, d) == 1' | grep -q .; then
    die "mounts are still present under $STATE_DIR; not releasing it"
  fi
  release_slot
  rm -f "$STATE_DIR/env.json"
  log "down: $STATE_DIR (files and logs are left for inspection; delete the directory when done)"
}

cmd_status() {
  [[ -n "${1:-}" ]] || usage
  [[ -d "$1" ]] || { echo "not up: $1 does not exist"; return 1; }
  resolve_state_dir "$1"
  local ok=0 idir pidfile
  if is_alive "$STATE_DIR/registry/registry.pid" && [[ -s "$STATE_DIR/registry/port" ]] &&
    [[ "$(http_status "$(<"$STATE_DIR/registry/port")" /v2/)" == 200 ]]; then
    echo "registry  up    127.0.0.1:$(<"$STATE_DIR/registry/port")  pid $(<"$STATE_DIR/registry/registry.pid")"
  else
    echo "registry  down"
    ok=1
  fi
  for idir in "$STATE_DIR"/*/; do
    idir=${idir%/}
    [[ -f "$idir/instance.env" ]] || continue
    local NAME SOCK BRIDGE SUBNET REGISTRY_PORT
    # shellcheck disable=SC1091
    source "$idir/instance.env"
    pidfile=$idir/containerd.pid
    if is_alive "$pidfile" && timeout 5 ctr --address "$SOCK" version >/dev/null 2>&1; then
      local pods
      pods=$(timeout 5 ctr --address "$SOCK" -n k8s.io tasks ls -q 2>/dev/null | wc -l)
      echo "$NAME         up    unix://$SOCK  pid $(<"$pidfile")  tasks $pods  bridge $BRIDGE $SUBNET"
    else
      echo "$NAME         down  unix://$SOCK"
      ok=1
    fi
  done
  [[ -f "$STATE_DIR/env.json" ]] && echo "env: $STATE_DIR/env.json"
  return $ok
}

main() {
  local cmd=${1:-}
  shift || true
  case $cmd in
  up) cmd_up "$@" ;;
  down) cmd_down "$@" ;;
  status) cmd_status "$@" ;;
  *) usage ;;
  esac
}

main "$@"
