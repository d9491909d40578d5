#!/usr/bin/env bash
# Instructions per message of throughput-bench's two passes, counted by callgrind: repeatable
# where the rates are not (see docs/benchmarks.md). Round 1 runs the raw pass first, then the
# hub's; instrumentation is switched on after the preloads and each pass is dumped on its own.
# Run it at two message counts; the difference of the totals divided by the difference of the
# counts leaves out the hub's start-up:
#
#   cargo build --release -p hub-tests --bin throughput-bench
#   tests/e2e/scripts/count-instructions.sh 3000
#   tests/e2e/scripts/count-instructions.sh 6000
#
# Prints "<pass> <messages> <instructions>" for each pass.
set -euo pipefail
n=${1:?usage: count-instructions.sh MESSAGES [BINARY]}
bin=${2:-target/release/throughput-bench}
out=$(mktemp -d)
log=$out/bench.log
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/cg.out" \
    "$bin" --messages "$n" --rounds 1 --quiet-seconds 2 >"$log" 2>&1 &
pid=$!
wait_for() {
    until grep -q "$1" "$log"; do
        kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "throughput-bench ended early" >&2; exit 1; }
        sleep 0.2
    done
}
wait_for "into hub.deliver"
callgrind_control -i on "$pid" >/dev/null 2>&1
wait_for "  raw:"
callgrind_control -d raw "$pid" >/dev/null 2>&1
wait_for "  hub:"
callgrind_control -d hub "$pid" >/dev/null 2>&1
callgrind_control -i off "$pid" >/dev/null 2>&1
wait "$pid"
for pass in raw:1 hub:2; do
    # awk reads to the end: closing the pipe early would fail the pipeline (pipefail).
    total=$(callgrind_annotate "$out/cg.out.${pass#*:}" |
        awk '/PROGRAM TOTALS/ && !found { gsub(",", "", $1); print $1; found = 1 }')
    echo "${pass%:*} $n $total"
done
rm -rf "$out"
