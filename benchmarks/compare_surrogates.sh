#!/usr/bin/env bash
# The committed surrogate comparisons: for each suite named (default: all four), fit the
# surrogate to its curves table (fidelity by grouped 5-fold CV, reference fronts), then run
# every strategy that runs here, 40 seeds x 50 trials, on two objective sets, and keep one
# document per (suite, objective set) as results/reference/comparisons/surrogate-SUITE-OBJ1+OBJ2.json
# (the report labels everything under reference/ as the project's shipped results).
#   nohup bash benchmarks/compare_surrogates.sh mnist-mlp > /tmp/compare-mlp.log 2>&1 &
# Summarise them: python benchmarks/comparison_table.py results/reference/comparisons/surrogate-*
# keras-tuner's Bayesian oracle (1.8 s per ask) at the budget this machine affords, two
# objectives only, documents named kt-bayes-SUITE-OBJ1+OBJ2.json:
#   STRATEGIES=random,kt-bayes SEEDS=10 BUDGET=20 CHECKPOINTS=10 SETS=2 NAME=kt-bayes \
#       bash benchmarks/compare_surrogates.sh
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$REPO/.venv/bin/python}
CPU=${CPU:-}
STRATEGIES=${STRATEGIES:-random,nsga2,nsga3,motpe,pesa2,parego,kt-random}  # kt-bayes: see README
THIRD=${THIRD:-peak_memory}  # the three-objective set's resource objective
SEEDS=${SEEDS:-40}
BUDGET=${BUDGET:-50}
CHECKPOINTS=${CHECKPOINTS:-10,20}
SETS=${SETS:-2,3}  # the two-objective set, the three-objective one, or both
NAME=${NAME:-surrogate}
export PYTHONPATH=$REPO OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
cd "$REPO"
pin=()
[ -n "$CPU" ] && pin=(taskset -c "$CPU")

first_objective() {
    case $1 in mnist-gan) echo fcd ;; *) echo val_accuracy ;; esac
}

[ $# -eq 0 ] && set -- mnist-mlp mnist-cnn mnist-rnn mnist-gan
for suite in "$@"; do
    quality=$(first_objective "$suite")
    sets=()
    [[ ,$SETS, == *,2,* ]] && sets+=("$quality,train_time")
    [[ ,$SETS, == *,3,* ]] && sets+=("$quality,train_time,$THIRD")
    for objectives in "${sets[@]}"; do
        echo "=== $(date -u +%FT%TZ) $suite: surrogate and reference front for $objectives"
        "${pin[@]}" "$PY" -m mobench surrogate "$suite" --objectives "$objectives" --model auto
        tmp=$(mktemp -d)
        echo "=== $(date -u +%FT%TZ) $suite: compare on $objectives"
        "${pin[@]}" "$PY" -m mobench compare "$suite" --problem surrogate \
            --strategies "$STRATEGIES" --seeds "$SEEDS" --budget "$BUDGET" \
            --checkpoints "$CHECKPOINTS" \
            --objectives "$objectives" --out "$tmp"
        mkdir -p results/reference/comparisons
        mv "$tmp"/compare-surrogate-*.json \
            "results/reference/comparisons/$NAME-$suite-${objectives//,/+}.json"
        rmdir "$tmp"
    done
done
echo "=== $(date -u +%FT%TZ) done"
