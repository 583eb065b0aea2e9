#!/usr/bin/env bash
# Sampled learning-curve tables for the four suites on digits, one after another.
# Resumable: re-running continues each table where it stopped (rows already written are
# skipped, a torn last line is repaired). One TF thread (intra and inter op) so that the
# second core of the 2-core machine stays free. Settings and measured cost: see the commit
# message that added this file and each table's JSON header.
#   nohup bash benchmarks/build_tables.sh > /tmp/build_tables.log 2>&1 &
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$REPO/.venv/bin/python}
OUT=${OUT:-$REPO/results/tables}
export PYTHONPATH=$REPO  # this checkout's mobench, even when PY is another checkout's venv
export TF_CPP_MIN_LOG_LEVEL=2 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

exec 9>/tmp/build_tables.lock
flock -n 9 || { echo "build_tables.sh: another build is running (/tmp/build_tables.lock)"; exit 2; }

mkdir -p "$OUT"
cd "$REPO" || exit 1

build() {  # SUITE N EPOCHS [extra args...]
    local suite=$1 n=$2 epochs=$3
    shift 3
    echo "=== $(date -u +%FT%TZ) $suite: --sample $n --epochs $epochs $*"
    nice -n 10 "$PY" -m mobench table "$suite" --sample "$n" \
        --epochs "$epochs" --dataset digits --threads 1 --method sobol --seed 0 \
        --repeat-every 5 --out "$OUT/$suite-digits-curves.csv" "$@"
    echo "=== $(date -u +%FT%TZ) $suite: exit $?"
}

build mnist-mlp 1024 10                 # full digits (1437 train): ~3.7 s/config
build mnist-cnn 300 8 --limit 180       # ~17-24 s/run at 180 train examples
build mnist-rnn 300 8 --limit 600       # ~15 s/run at 600 train examples
build mnist-gan 100 15 --limit 360      # ~55 s/run at 360, fcd after epochs 3,6,9,12,15
echo "=== $(date -u +%FT%TZ) all builds finished"
