#!/usr/bin/env bash
# Runs the 3-node example on this machine: formats the three data dirs with one cluster id
# (first run only), starts the three nodes with their output in logs/nodeN.log and their
# pids in logs/nodeN.pid, and stops them all (SIGTERM, a clean stop) on Ctrl-C.
#
#   ./run.sh                 start the cluster and wait
#   ./run.sh start-node N    start node N again after it was killed, or node 4 once formatted
#                            (README.md, "Add a fourth controller"), while ./run.sh runs
set -euo pipefail
cd "$(dirname "$0")"
repo=$(cd ../.. && pwd)

# The sluice command of this checkout (build it first: npm install, or npx tsc -b).
sluice() { node "$repo/kernel/dist/cli/main.js" "$@"; }

STOP_TIMEOUT_S=120
START_TIMEOUT_S=60

# Nodes run in a session of their own where setsid exists, so that Ctrl-C reaches only this
# script, which then stops each node once with SIGTERM: a second signal makes a stopping
# node exit without its clean stop.
detach=()
if command -v setsid >/dev/null; then detach=(setsid); fi

# Where each node's log stood when it was started: logs are appended to across runs, and a
# `Sluice started` of an earlier run must not count.
declare -A log_start
start_node() {
  local n=$1
  touch "logs/node$n.log"
  log_start[$n]=$(wc -c <"logs/node$n.log")
  ${detach[@]+"${detach[@]}"} node "$repo/kernel/dist/cli/main.js" start "node$n.properties" >>"logs/node$n.log" 2>&1 &
  echo $! >"logs/node$n.pid"
  echo "node $n: pid $!, log logs/node$n.log"
}

if [ "${1:-}" = start-node ]; then
  n=${2:?usage: ./run.sh start-node N}
  if [ -f "logs/node$n.pid" ] && kill -0 "$(cat "logs/node$n.pid")" 2>/dev/null; then
    echo "node $n is running (pid $(cat "logs/node$n.pid"))" >&2
    exit 1
  fi
  # The ./run.sh that started the cluster stops this node with the others (by its pid file).
  start_node "$n"
  exit 0
fi

mkdir -p logs data
# Every node of a cluster must carry the same cluster id: node 1's format makes one, the
# others are formatted with it. A node already formatted is left as it is.
if [ ! -f data/node1/meta.properties ]; then
  sluice format node1.properties
fi
cluster_id=$(sed -n 's/^cluster\.id=//p' data/node1/meta.properties)
for n in 2 3; do
  if [ ! -f "data/node$n/meta.properties" ]; then
    sluice format "node$n.properties" --cluster-id "$cluster_id"
  fi
done

# Stops whatever node still runs (a node restarted with start-node too, by the pid files),
# one at a time: each hands its leaderships to the nodes still up (controlled shutdown),
# which needs a controller quorum; stopped all at once, the last ones would wait for a
# controller that is gone.
stop_all() {
  trap - INT TERM EXIT
  echo "stopping..."
  local n pid i
  # Node 4 exists once added by hand (README.md, "Add a fourth controller").
  for n in 4 3 2 1; do
    [ -f "logs/node$n.pid" ] || continue
    pid=$(cat "logs/node$n.pid")
    rm -f "logs/node$n.pid"
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid"
    for ((i = 0; i < STOP_TIMEOUT_S; i++)); do
      if ! kill -0 "$pid" 2>/dev/null; then break; fi
      sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" || true
      echo "node $n did not stop within ${STOP_TIMEOUT_S} s: killed"
    else
      echo "node $n stopped"
    fi
  done
  if [ -n "${sleeper:-}" ]; then kill "$sleeper" 2>/dev/null || true; fi
  echo "stopped"
  exit 0
}
trap stop_all INT TERM EXIT

for n in 1 2 3; do start_node "$n"; done

# Each node logs "Sluice started" when it serves clients.
for n in 1 2 3; do
  for ((i = 0; ; i++)); do
    # grep -c reads to the end: with pipefail, grep -q could stop tail with SIGPIPE.
    [ "$(tail -c +$((log_start[$n] + 1)) "logs/node$n.log" | grep -c 'Sluice started')" -gt 0 ] && break
    if ! kill -0 "$(cat "logs/node$n.pid")" 2>/dev/null; then
      echo "node $n exited; see logs/node$n.log:" >&2
      tail -n 20 "logs/node$n.log" >&2
      exit 1
    fi
    if [ "$i" -ge "$START_TIMEOUT_S" ]; then
      echo "node $n did not start within ${START_TIMEOUT_S} s; see logs/node$n.log" >&2
      exit 1
    fi
    sleep 1
  done
done

cat <<TEXT

Cluster $cluster_id is up: 127.0.0.1:9092, 127.0.0.1:9192, 127.0.0.1:9292.
  npx sluice cluster status
  npx sluice topics create orders --partitions 3 --replication-factor 3
Ctrl-C stops the three nodes.
TEXT

# Until Ctrl-C or SIGTERM: a killed node (kill -9 $(cat logs/node2.pid)) leaves the others
# running. `wait` returns on a signal, where a foreground sleep would delay the trap.
while true; do
  sleep 60 &
  sleeper=$!
  wait "$sleeper" || true
done
