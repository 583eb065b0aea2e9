"""Tuning-loop overhead against keras-tuner, measured side by side in one run.

Same tutorial `build_model`, same number of 1-epoch trials on `digits`. keras-tuner's
RandomSearch gets `val_accuracy` (it rejects `train_time`); mobench's RandomSearch gets
`val_accuracy` + `train_time` and returns the Pareto front. Target: mobench <= 1.1x.

Run: python benchmarks/tuner_overhead.py [--trials 6] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def build_model(hp):
    import tensorflow as tf

    model = tf.keras.Sequential()
    model.add(tf.keras.layers.Flatten(input_shape=(28, 28)))
    for i in range(hp.Int("num_layers", 1, 3)):
        model.add(tf.keras.layers.Dense(units=hp.Int("units_" + str(i), 32, 512, step=32),
                                        activation="relu"))
    model.add(tf.keras.layers.Dense(10, activation="softmax"))
    model.compile(optimizer=tf.keras.optimizers.Adam(hp.Choice("learning_rate",
                                                               [1e-2, 1e-3, 1e-4])),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def run(kind: str, trials: int, x, y) -> float:
    import keras_tuner

    from mobench import tuners

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        if kind == "keras-tuner":
            tuner = keras_tuner.RandomSearch(build_model, objective="val_accuracy",
                                             max_trials=trials, executions_per_trial=1,
                                             directory=tmp, project_name="kt", seed=0)
            tuner.search(x, y, epochs=1, validation_split=0.2, verbose=0)
        else:
            tuner = tuners.RandomSearch(build_model, objective=["val_accuracy", "train_time"],
                                        max_trials=trials, executions_per_trial=1,
                                        directory=tmp, project_name="mobench", seed=0)
            tuner.search(x, y, epochs=1, validation_split=0.2)
        return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    from mobench.data import load_dataset

    data = load_dataset("digits", announce=lambda _: None)
    times: dict[str, list[float]] = {"keras-tuner": [], "mobench": []}
    for r in range(args.rounds):  # alternate the order so drift hits both alike
        order = ("keras-tuner", "mobench") if r % 2 == 0 else ("mobench", "keras-tuner")
        for kind in order:
            times[kind].append(run(kind, args.trials, data.x_train, data.y_train))
    kt_best, mb_best = min(times["keras-tuner"]), min(times["mobench"])
    print(f"keras-tuner RandomSearch: {kt_best:.1f} s  (runs: "
          f"{', '.join(f'{t:.1f}' for t in times['keras-tuner'])})")
    print(f"mobench RandomSearch:     {mb_best:.1f} s  (runs: "
          f"{', '.join(f'{t:.1f}' for t in times['mobench'])})")
    print(f"ratio mobench / keras-tuner: {mb_best / kt_best:.2f} (target <= 1.10), "
          f"{args.trials} trials x 1 epoch on digits")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
