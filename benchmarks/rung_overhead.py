"""Cost of MO-ASHA's live rung bookkeeping (issue 14's targets), measured side by side.

1. Per trial, with --history trials (default 200) in a SQLite study: the bookkeeping a trial
   does (draw and store its bracket; at each rung it reaches, store its own vector, then read
   every vector there from the storage and rank), timed with ``perf_counter`` around exactly those
   calls, for the trials after the first half of the history. Target: median <= 20 ms.
2. The live callback's share of training: mnist-mlp on digits trains --epochs epochs with the
   ``RungJudge`` callback on that same study; its ``on_epoch_end`` time is summed and divided
   by the epochs' time (Keras' own timing of the fit, callback included). Target: <= 2%.
   The same fit without the callback runs just before, as a cross-check of the epoch time.

Run: python benchmarks/rung_overhead.py [--history 200] [--epochs 10] [--strategy mo-asha]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def bookkeeping(storage: str, strategy: str, history: int, epochs: int) -> list[float]:
    """Seconds of rung bookkeeping per trial while a study grows to `history` trials."""
    import numpy as np
    import optuna

    from mobench.objectives import parse_objectives
    from mobench.strategies.multifidelity import parse_multi_fidelity
    from mobench.study.rungs import StudyRungs
    from mobench.study.studies import open_study

    objectives = parse_objectives(["val_accuracy", "train_time"])
    study = open_study(storage, "rungs", objectives, optuna.samplers.RandomSampler(seed=0),
                       "mnist-mlp")
    rungs = StudyRungs(parse_multi_fidelity(strategy), epochs, 0, objectives)
    rng = np.random.default_rng(0)
    costs = []
    for _ in range(history):
        trial = study.ask({"units": optuna.distributions.IntDistribution(32, 512)})
        quality, speed = rng.random(2)
        spent, start = 0.0, time.perf_counter()
        bracket = rungs.bracket(trial)
        spent += time.perf_counter() - start
        reached = epochs
        for epoch in rungs.levels[bracket]:  # a learning curve rising towards `quality`
            vector = [-quality * (1 - 0.5 / epoch), speed * epoch]
            start = time.perf_counter()
            keep = rungs.decide(trial, bracket, epoch, vector)
            spent += time.perf_counter() - start
            if not keep:
                reached = epoch
                break
        costs.append(spent)
        if reached < epochs:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, [quality, speed * epochs])
    return costs


def callback_share(storage: str, strategy: str, epochs: int) -> tuple[float, float, float]:
    """(callback seconds, epoch seconds with it, epoch seconds of the same fit without it)."""
    import keras
    import optuna

    from mobench.data import load_dataset
    from mobench.objectives import parse_objectives
    from mobench.strategies.multifidelity import parse_multi_fidelity
    from mobench.study.rungs import StudyRungs
    from mobench.suites import get_suite

    objectives = parse_objectives(["val_accuracy", "train_time"])
    suite = get_suite("mnist-mlp")
    data = load_dataset("digits")
    hypermodel = suite.hypermodel(tuple(data.x_train.shape[1:]), data.num_classes)
    study = optuna.load_study(study_name="rungs", storage=storage)
    rungs = StudyRungs(parse_multi_fidelity(strategy), epochs, 0, objectives)

    class EpochClock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.seconds = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds += time.perf_counter() - self.t0

    def fit(with_judge: bool) -> tuple[float, float]:
        keras.utils.set_random_seed(0)
        model = hypermodel.build(suite.hyperparameters(hypermodel, "medium"))
        clock, callbacks, judged = EpochClock(), [], 0.0
        if with_judge:
            trial = study.ask()
            rungs.bracket(trial)
            judge = rungs.callback(trial, {"params": float(model.count_params())})
            judge.stopped_at = None
            inner = judge.on_epoch_end

            def timed(epoch, logs=None):
                nonlocal judged
                start = time.perf_counter()
                inner(epoch, logs)
                judged += time.perf_counter() - start
                judge.model.stop_training = False  # train every epoch: the share per epoch

            judge.on_epoch_end = timed
            callbacks.append(judge)
        callbacks.append(clock)  # last: its epoch time includes the judge's
        model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                  epochs=epochs, batch_size=128, verbose=0, callbacks=callbacks)
        return judged, clock.seconds

    _, plain = fit(False)
    judged, epochs_s = fit(True)
    return judged, epochs_s, plain


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--strategy", default="mo-asha")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory() as folder:
        storage = f"sqlite:///{folder}/rungs.db"
        costs = bookkeeping(storage, args.strategy, args.history, args.epochs)
        late = costs[len(costs) // 2:]
        median = statistics.median(late)
        print(f"bookkeeping per trial ({args.strategy}, SQLite, trials {len(costs) // 2 + 1}-"
              f"{len(costs)}): median {median * 1e3:.2f} ms, p95 "
              f"{sorted(late)[int(0.95 * (len(late) - 1))] * 1e3:.2f} ms, max "
              f"{max(late) * 1e3:.2f} ms; target <= 20 ms: "
              f"{'met' if median <= 0.020 else 'MISSED'}")
        judged, epochs_s, plain = callback_share(storage, args.strategy, args.epochs)
        share = judged / epochs_s
        print(f"callback: {judged * 1e3:.1f} ms over {args.epochs} epochs of {epochs_s:.2f} s "
              f"(without it: {plain:.2f} s) = {share:.2%} of training; target <= 2%: "
              f"{'met' if share <= 0.02 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
