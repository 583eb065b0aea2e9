"""mobench's RandomSearch against keras-tuner's, measured side by side in one process.

Same tutorial `build_model`, same data (`digits`), same number of 1-epoch trials, both silent
(verbose=0). keras-tuner's RandomSearch gets `val_accuracy` (it rejects `train_time`);
mobench's gets `val_accuracy` + `train_time` and returns the Pareto front. The runs come in
pairs whose order alternates (kt, mobench / mobench, kt ...) so drift in the machine's load hits
both alike; the figure is the median of the per-pair wall-time ratios. Target: <= 1.0.

The two samplers draw different configs, and a 3-layer 512-unit model trains longer than a
1-layer 32-unit one, so the wall ratio carries that luck. Each run also reports the time spent
inside `keras.Model.fit` (counted the same way on both sides) and the rest: the tuner's own
overhead per trial (build, bookkeeping, storage, saving, garbage collection).

Run: PYTHONPATH=. python benchmarks/tuner_vs_keras_tuner.py [--trials 6] [--pairs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from mobench.console import quiet_tensorflow

quiet_tensorflow()


def build_model(hp):
    import tensorflow as tf

    model = tf.keras.Sequential()
    model.add(tf.keras.layers.Input((28, 28)))
    model.add(tf.keras.layers.Flatten())
    for i in range(hp.Int("num_layers", 1, 3)):
        model.add(tf.keras.layers.Dense(units=hp.Int("units_" + str(i), 32, 512, step=32),
                                        activation="relu"))
    model.add(tf.keras.layers.Dense(10, activation="softmax"))
    model.compile(optimizer=tf.keras.optimizers.Adam(hp.Choice("learning_rate",
                                                               [1e-2, 1e-3, 1e-4])),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


FIT_S = [0.0]  # seconds inside keras.Model.fit, both tuners alike


def count_fit_time() -> None:
    import keras

    fit = keras.Model.fit

    def timed(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fit(self, *args, **kwargs)
        finally:
            FIT_S[0] += time.perf_counter() - t0

    keras.Model.fit = timed


def run(kind: str, trials: int, x, y, seed: int) -> tuple[float, float]:
    """(wall seconds, seconds inside fit) of one search."""
    import keras_tuner

    from mobench import tuners

    FIT_S[0] = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        if kind == "keras-tuner":
            tuner = keras_tuner.RandomSearch(build_model, objective="val_accuracy",
                                             max_trials=trials, executions_per_trial=1,
                                             directory=tmp, project_name="kt", seed=seed)
        else:
            tuner = tuners.RandomSearch(build_model, objective=["val_accuracy", "train_time"],
                                        max_trials=trials, executions_per_trial=1,
                                        directory=tmp, project_name="mobench", seed=seed)
        tuner.search(x, y, epochs=1, validation_split=0.2, verbose=0)
        return time.perf_counter() - t0, FIT_S[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    from mobench.data import load_dataset

    data = load_dataset("digits", announce=lambda _: None)
    count_fit_time()
    run("keras-tuner", 1, data.x_train, data.y_train, 99)  # imports and first traces, unmeasured
    run("mobench", 1, data.x_train, data.y_train, 99)
    load = [os.getloadavg()]
    runs: dict[str, list[tuple[float, float]]] = {"keras-tuner": [], "mobench": []}
    ratios = []
    for p in range(args.pairs):  # alternate the order so drift hits both alike
        order = ("keras-tuner", "mobench") if p % 2 == 0 else ("mobench", "keras-tuner")
        for kind in order:
            runs[kind].append(run(kind, args.trials, data.x_train, data.y_train, seed=p))
        ratios.append(runs["mobench"][-1][0] / runs["keras-tuner"][-1][0])
        load.append(os.getloadavg())
    for kind, rs in runs.items():
        walls = ", ".join(f"{w:.1f}" for w, _ in rs)
        over = statistics.median((w - f) / args.trials for w, f in rs)
        print(f"{kind:12} wall s: {walls} | median fit {statistics.median(f for _, f in rs):.1f}"
              f" s | overhead outside fit {over:.2f} s/trial")
    print(f"ratio mobench / keras-tuner per pair: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(f"median ratio: {statistics.median(ratios):.2f} (target <= 1.00), {args.trials} "
          f"trials x 1 epoch on digits, {args.pairs} pairs")
    print("load average (1 min) before/after each pair: "
          + ", ".join(f"{a[0]:.2f}" for a in load))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
