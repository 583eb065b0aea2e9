#!/usr/bin/env bash
# Sampled learning-curve tables for the four suites on digits. Resumable: re-running continues
# each table where it stopped (rows already written are skipped, a torn last line is repaired).
# One TF thread (intra and inter op) per build, pinned to one core with taskset, so two lanes
# can build side by side on the 2-core machine without sharing a core:
#   CPU=0 nohup bash benchmarks/build_tables.sh mnist-mlp mnist-gan > /tmp/lane0.log 2>&1 &
#   CPU=1 nohup bash benchmarks/build_tables.sh mnist-cnn mnist-rnn > /tmp/lane1.log 2>&1 &
# With no suite named, it builds all four one after another. Settings per suite below; the
# measured cost per run is in each table's log lines and README's "Benchmark tables" section.
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$REPO/.venv/bin/python}
OUT=${OUT:-$REPO/results/tables}
CPU=${CPU:-}
CHUNK=${CHUNK:-40}
export PYTHONPATH=$REPO  # this checkout's mobench, even when PY is another checkout's venv
export TF_CPP_MIN_LOG_LEVEL=2 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

mkdir -p "$OUT"
cd "$REPO" || exit 1

build() {  # SUITE N EPOCHS [extra args...]
    local suite=$1 n=$2 epochs=$3
    shift 3
    exec 9>"/tmp/build_tables-$suite.lock"
    flock -n 9 || { echo "build_tables.sh: $suite is being built by another run"; return 2; }
    local pin=()
    [ -n "$CPU" ] && pin=(taskset -c "$CPU")
    local csv="$OUT/$suite-digits-curves.csv" runs=$((n + (n + 4) / 5))  # every 5th repeated
    echo "=== $(date -u +%FT%TZ) $suite: --sample $n --epochs $epochs $* ${CPU:+(core $CPU)}"
    # chunks of $CHUNK runs, each in a fresh process: TensorFlow keeps memory across models
    # (a process grew to 9 GB over 150 CNN configs, and its per-config overhead tripled)
    while [ "$(($(wc -l < "$csv" 2>/dev/null || echo 1) - 1))" -lt "$runs" ]; do
        "${pin[@]}" "$PY" -m mobench table "$suite" --sample "$n" \
            --epochs "$epochs" --dataset digits --threads 1 --method sobol --seed 0 \
            --repeat-every 5 --max-runs "$CHUNK" --out "$csv" "$@" \
            || { echo "=== $(date -u +%FT%TZ) $suite: exit $?"; break; }
    done
    echo "=== $(date -u +%FT%TZ) $suite: $(($(wc -l < "$csv") - 1)) of $runs runs"
    exec 9>&-
}

suite_build() {
    case $1 in
        mnist-mlp) build mnist-mlp 800 10 ;;               # full digits (1437 train, 360 val)
        mnist-cnn) build mnist-cnn 300 8 --limit 100 ;;    # 100 train, 25 val
        mnist-rnn) build mnist-rnn 300 8 --limit 240 ;;    # 240 train, 60 val
        mnist-gan) build mnist-gan 100 15 --limit 360 ;;   # 360 train, 90 val; fcd after epochs 3, 6, 9, 12, 15
        # (at --limit 120, 9 of the first 12 configs ended at fcd 169-178, collapsed: no signal)
        *) echo "build_tables.sh: unknown suite '$1' (mnist-mlp, mnist-cnn, mnist-rnn, mnist-gan)"
           return 2 ;;
    esac
}

[ $# -eq 0 ] && set -- mnist-mlp mnist-cnn mnist-rnn mnist-gan
for suite in "$@"; do suite_build "$suite"; done
echo "=== $(date -u +%FT%TZ) all builds in this lane finished"
