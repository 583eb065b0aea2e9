#!/usr/bin/env bash
# Sampled learning-curve tables for the four suites on digits. Resumable: re-running continues
# each table where it stopped (rows already written are skipped, a torn last line is repaired).
# One TF thread (intra and inter op) per build, pinned to one core with taskset, so two lanes
# can build side by side on the 2-core machine without sharing a core:
#   CPU=0 nohup bash benchmarks/build_tables.sh mnist-mlp mnist-gan > /tmp/lane0.log 2>&1 &
#   CPU=1 nohup bash benchmarks/build_tables.sh mnist-cnn mnist-rnn > /tmp/lane1.log 2>&1 &
# One table on several cores: CORES="0 1" builds shard k of N on the k-th listed core, each into
# $OUT/shards/, and joins the shards' rows under one header when all are complete:
#   CORES="0 1" nohup bash benchmarks/build_tables.sh mnist-gan > /tmp/gan.log 2>&1 &
# With no suite named, it builds all four one after another. Settings per suite below; the
# measured cost per run is in each table's log lines and README's "Benchmark tables" section.
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$REPO/.venv/bin/python}
OUT=${OUT:-$REPO/results/tables}
CPU=${CPU:-}
CHUNK=${CHUNK:-40}
CORES=${CORES:-}
export PYTHONPATH=$REPO  # this checkout's mobench, even when PY is another checkout's venv
export TF_CPP_MIN_LOG_LEVEL=2 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

mkdir -p "$OUT"
cd "$REPO" || exit 1

rows() { echo $(($( { wc -l < "$1"; } 2>/dev/null || echo 1) - 1)); }

chunks() {  # CSV RUNS CORE SUITE N EPOCHS [args...]: chunks of $CHUNK runs until CSV has RUNS
    local csv=$1 want=$2 core=$3 suite=$4 n=$5 epochs=$6
    shift 6
    local pin=()
    [ -n "$core" ] && pin=(taskset -c "$core")
    # chunks of $CHUNK runs, each in a fresh process: TensorFlow keeps memory across models
    # (a process grew to 9 GB over 150 CNN configs, and its per-config overhead tripled)
    while [ "$(rows "$csv")" -lt "$want" ]; do
        "${pin[@]}" "$PY" -m mobench table "$suite" --sample "$n" \
            --epochs "$epochs" --dataset digits --threads 1 --method sobol --seed 0 \
            --repeat-every 5 --max-runs "$CHUNK" --out "$csv" "$@" \
            || { echo "=== $(date -u +%FT%TZ) $suite ${core:+core $core}: exit $?"; return 1; }
    done
}

build() {  # SUITE N EPOCHS [extra args...]
    local suite=$1 n=$2 epochs=$3
    shift 3
    exec 9>"/tmp/build_tables-$suite.lock"
    flock -n 9 || { echo "build_tables.sh: $suite is being built by another run"; return 2; }
    local csv="$OUT/$suite-digits-curves.csv" runs=$((n + (n + 4) / 5))  # every 5th repeated
    echo "=== $(date -u +%FT%TZ) $suite: --sample $n --epochs $epochs $* ${CPU:+(core $CPU)}${CORES:+(cores $CORES)}"
    if [ -z "$CORES" ] || [ "$(rows "$csv")" -ge "$runs" ]; then
        chunks "$csv" "$runs" "$CPU" "$suite" "$n" "$epochs" "$@"
    else
        local cores=($CORES) k pids=() ok=1
        local count=${#cores[@]} dir="$OUT/shards"
        mkdir -p "$dir"
        for k in "${!cores[@]}"; do
            chunks "$dir/$suite-$k-of-$count.csv" $(((runs - k + count - 1) / count)) \
                "${cores[$k]}" "$suite" "$n" "$epochs" "$@" --shard "$k/$count" &
            pids+=($!)
        done
        for k in "${pids[@]}"; do wait "$k" || ok=0; done
        if [ "$ok" = 1 ] && [ ! -s "$csv" ]; then  # every shard complete: one table
            head -n 1 "$dir/$suite-0-of-$count.csv" > "$csv.tmp"
            for k in "${!cores[@]}"; do tail -n +2 "$dir/$suite-$k-of-$count.csv" >> "$csv.tmp"; done
            cp "$dir/$suite-0-of-$count.json" "${csv%.csv}.json" && mv "$csv.tmp" "$csv"
        fi
    fi
    echo "=== $(date -u +%FT%TZ) $suite: $(rows "$csv") of $runs runs"
    exec 9>&-
}

suite_build() {
    case $1 in
        mnist-mlp) build mnist-mlp 800 10 ;;               # full digits (1437 train, 360 val)
        # 360 validation images (all of digits' split): with 25 or 60 the best quarter of
        # configs took a handful of distinct accuracies and no surrogate could rank them
        mnist-cnn) build mnist-cnn 300 8 --limit 100 --val-limit 360 ;;  # 100 train, 360 val
        mnist-rnn) build mnist-rnn 300 8 --limit 240 --val-limit 360 ;;  # 240 train, 360 val
        # fcd compares generated images with the validation images: 360 of them, not 90
        mnist-gan) build mnist-gan 100 15 --limit 360 --val-limit 360 ;;  # fcd after epochs 3, 6, 9, 12, 15
        # (at --limit 120, 9 of the first 12 configs ended at fcd 169-178, collapsed: no signal)
        *) echo "build_tables.sh: unknown suite '$1' (mnist-mlp, mnist-cnn, mnist-rnn, mnist-gan)"
           return 2 ;;
    esac
}

[ $# -eq 0 ] && set -- mnist-mlp mnist-cnn mnist-rnn mnist-gan
for suite in "$@"; do suite_build "$suite"; done
echo "=== $(date -u +%FT%TZ) all builds in this lane finished"
