"""Open (create or resume) the Optuna study a tuning run writes to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mobench.errors import UsageError
from mobench.objectives import Objective
from mobench.suites import SAFE_NAME

DEFAULT_STORAGE = "sqlite:///results/studies.sqlite3"


def check_study_name(name: str) -> str:
    if not SAFE_NAME.fullmatch(name or ""):
        raise UsageError(f"study name {name!r}: use 1-100 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit")
    return name


SETTINGS_ATTR = "settings"
# how each setting is given on the command line, for the message that refuses a change
SETTING_FLAGS = {"suite": "SUITE", "suite_version": "the suite file's version",
                 "dataset": "--dataset", "limit": "--limit", "epochs": "--epochs",
                 "batch_size": "the suite's batch_size", "objectives": "--objectives",
                 "constraints": "--constraint", "strategy": "--strategy", "seed": "--seed",
                 "mobench_version": "the mobench version"}


def check_settings(study, settings: dict[str, Any], url: str) -> None:
    """Record the settings that decide what a trial means in a new study; refuse a resume
    that differs (a study without trials takes the new settings)."""
    stored = study.user_attrs.get(SETTINGS_ATTR)
    if stored == settings:
        return
    if stored is not None and study.get_trials(deepcopy=False):
        key = next(k for k in sorted(set(stored) | set(settings))
                   if stored.get(k) != settings.get(k))
        raise UsageError(
            f"study {study.study_name!r} in {url} was run with {key} = {stored.get(key)!r} "
            f"({SETTING_FLAGS.get(key, key)}); this command asks for {settings.get(key)!r}. "
            "Rerun with the study's settings to resume it, or start a new study with "
            "--study NEW_NAME")
    study.set_user_attr(SETTINGS_ATTR, settings)


def open_study(storage, name: str, objectives: tuple[Objective, ...], sampler, suite: str,
               settings: dict[str, Any] | None = None):
    """Create or resume a study; a study of the same name with other objectives, or other
    `settings` (see `check_settings`), is refused before anything is written.

    `storage` is a URL (see `mobench.study.storages`), None for DEFAULT_STORAGE, or an Optuna
    storage object made by `mobench.study.storages.make_storage`.
    """
    import optuna

    from mobench.documents import scrub
    from mobench.study.storages import make_storage, normalize_url, redact

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    check_study_name(name)
    url = getattr(storage, "url", None)
    if storage is None or isinstance(storage, str):
        url = normalize_url(storage, DEFAULT_STORAGE)
        if url == DEFAULT_STORAGE:
            Path("results").mkdir(exist_ok=True)
        storage = make_storage(url)
    raw_url = url or type(storage).__name__
    url = redact(raw_url)
    try:
        study = optuna.create_study(storage=storage, study_name=name,
                                    sampler=sampler, load_if_exists=True,
                                    directions=[o.direction.value for o in objectives])
    except (ValueError, ImportError, RuntimeError) as exc:
        raise UsageError(f"storage {url!r} cannot be opened: {scrub(str(exc), raw_url)}") \
            from None
    except Exception as exc:  # SQLAlchemy's OperationalError, ArgumentError, ...
        first = (str(exc).splitlines() or [""])[0]
        raise UsageError(f"storage {url!r} cannot be opened: "
                         f"{type(exc).__name__}: {scrub(first, raw_url)}") from None
    names = [o.name for o in objectives]
    stored = study.user_attrs.get("objectives")
    if stored is None:  # "suite" first: a worker that sees "objectives" sees both
        study.set_user_attr("suite", suite)
        study.set_user_attr("objectives", names)
    elif stored != names or study.user_attrs.get("suite") != suite:
        raise UsageError(
            f"study {name!r} in {url} exists for suite {study.user_attrs.get('suite')!r} with "
            f"objectives {','.join(stored)}; rerun with those, or pick another --study")
    if settings is not None:
        check_settings(study, settings, url)
    if study.metric_names != names:  # optuna-dashboard's axis names (older studies too)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(names)
    return study
