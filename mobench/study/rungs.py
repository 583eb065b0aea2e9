"""MO-ASHA / MO-Hyperband in live tuning: rungs kept in the study's storage, judged by a
Keras callback after each rung epoch.

Each trial stores its bracket (`mf_bracket`) and, at each rung epoch e it reaches, its
objective vector in minimisation space (`mf_rung_<e>`) as user attributes. Deciding is
write-then-rank: a trial stores its vector first, then reads every vector recorded at that
(bracket, rung) from the storage, its own included, and takes its position among them (rows
in trial-number order, so exact ties go to the earlier trial). Two workers reaching a rung
together thus both see both vectors, and at most the top 1/eta of them goes on; reading,
deciding and then writing would let both go on. Several `--workers` or hosts on one
PostgreSQL study share one set of rungs, and no worker waits for a rung to fill
(asynchronous promotion). The order and the top-1/eta rule are
`mobench.strategies.multifidelity`'s. A stopped trial ends PRUNED with its last vector and the
epoch it reached (`mobench.study.loop`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from mobench.errors import UsageError
from mobench.objectives import Objective
from mobench.strategies.multifidelity import (
    MultiFidelity,
    bracket_weights,
    brackets,
    draw_bracket,
    in_top_share,
)

BRACKET_ATTR = "mf_bracket"
RUNG_ATTR = "mf_rung_{}"
STOPPED_AT_ATTR = "stopped_at_epoch"
#: trial states that hold their place at a rung (not FAIL, nor a WAITING retry's copy)
HOLDING = ("RUNNING", "COMPLETE", "PRUNED")
#: objectives known after every epoch: Keras' logs, the cumulative training seconds, and the
#: model's size (known before training)
PER_EPOCH = ("val_accuracy", "val_loss", "accuracy", "loss", "train_time", "params", "flops")


def check_live_objectives(strategy: str, objectives: Sequence[Objective]) -> None:
    late = [o.name for o in objectives if o.name not in PER_EPOCH]
    if late:
        raise UsageError(f"strategy {strategy!r} judges trials after each rung epoch, but "
                         f"{late[0]!r} is only measured after training; use objectives from "
                         f"{', '.join(PER_EPOCH)}")


class StudyRungs:
    """The rungs of one multi-fidelity study, read from and written to its storage."""

    def __init__(self, spec: MultiFidelity, max_epochs: int, seed: int,
                 objectives: tuple[Objective, ...]) -> None:
        self.spec = spec
        self.seed = seed
        self.objectives = objectives
        self.levels = brackets(spec, max_epochs)
        self.weights = bracket_weights(self.levels, spec.eta)

    def bracket(self, trial) -> int:
        """The trial's bracket: drawn from Hyperband's shares, seeded by (seed, trial number),
        and stored on the trial."""
        if BRACKET_ATTR in trial.user_attrs:
            return int(trial.user_attrs[BRACKET_ATTR])
        chosen = draw_bracket(np.random.default_rng([self.seed, trial.number]), self.weights)
        trial.set_user_attr(BRACKET_ATTR, chosen)
        return chosen

    def decide(self, trial, bracket: int, epoch: int, vector: list[float]) -> bool:
        """Whether the trial continues past rung `epoch`: its vector is stored first, then
        ranked among every vector stored at the rung (write-then-rank, see the module).

        Only running, finished and stopped trials hold a place at a rung. A trial whose worker
        died fails (stale heartbeat) and gives its place up; its retry, a copy with its user
        attributes, holds it again as soon as it runs, so a config counts once per rung."""
        from optuna.trial import TrialState

        key = RUNG_ATTR.format(epoch)
        mine = [float(v) for v in vector]
        trial.set_user_attr(key, mine)
        holding = tuple(TrialState[name] for name in HOLDING)
        rows = {t.number: t.user_attrs[key]
                for t in trial.study.get_trials(deepcopy=False, states=holding)
                if key in t.user_attrs and t.user_attrs.get(BRACKET_ATTR) == bracket}
        rows[trial.number] = mine
        numbers = sorted(rows)
        return in_top_share([rows[n] for n in numbers], numbers.index(trial.number),
                            self.spec.eta)

    def callback(self, trial, known: dict[str, float]):
        """A Keras callback judging `trial` at its bracket's rung epochs (1-based)."""
        import keras

        rungs, bracket = self, self.bracket(trial)
        levels = set(self.levels[bracket])

        class RungJudge(keras.callbacks.Callback):
            stopped_at: int | None = None
            stop_reason: str | None = None

            def on_train_begin(self, logs=None) -> None:
                self.t0 = time.perf_counter()

            def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
                done = epoch + 1
                if done not in levels:
                    return
                values = {**known, **(logs or {}), "train_time": time.perf_counter() - self.t0}
                vector = [o.minimized(float(values[o.name])) for o in rungs.objectives]
                if not all(np.isfinite(vector)):
                    return  # NaN: TerminateOnNaN ends it as a failure
                if not rungs.decide(trial, bracket, done, vector):
                    self.stopped_at = done
                    self.stop_reason = (f"stopped after epoch {done} by {rungs.spec.name}: "
                                        f"not in the top 1/{rungs.spec.eta} of its rung")
                    self.model.stop_training = True

        return RungJudge()
