"""Open (create or resume) the Optuna study a tuning run writes to."""

from __future__ import annotations

from pathlib import Path

from mobench.errors import UsageError
from mobench.objectives import Objective
from mobench.suites import SAFE_NAME

DEFAULT_STORAGE = "sqlite:///results/studies.sqlite3"


def check_study_name(name: str) -> str:
    if not SAFE_NAME.fullmatch(name or ""):
        raise UsageError(f"study name {name!r}: use 1-100 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit")
    return name


def open_study(storage, name: str, objectives: tuple[Objective, ...], sampler, suite: str):
    """Create or resume a study; a study of the same name with other objectives is refused.

    `storage` is a URL (see `mobench.study.storages`), None for DEFAULT_STORAGE, or an Optuna
    storage object made by `mobench.study.storages.make_storage`.
    """
    import optuna

    from mobench.study.storages import make_storage, normalize_url, redact

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    check_study_name(name)
    url = getattr(storage, "url", None)
    if storage is None or isinstance(storage, str):
        url = normalize_url(storage, DEFAULT_STORAGE)
        if url == DEFAULT_STORAGE:
            Path("results").mkdir(exist_ok=True)
        storage = make_storage(url)
    url = redact(url or type(storage).__name__)
    try:
        study = optuna.create_study(storage=storage, study_name=name,
                                    sampler=sampler, load_if_exists=True,
                                    directions=[o.direction.value for o in objectives])
    except (ValueError, ImportError, RuntimeError) as exc:
        raise UsageError(f"storage {url!r} cannot be opened: {exc}") from None
    except Exception as exc:  # SQLAlchemy's OperationalError, ArgumentError, ...
        raise UsageError(f"storage {url!r} cannot be opened: "
                         f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    names = [o.name for o in objectives]
    stored = study.user_attrs.get("objectives")
    if stored is None:  # "suite" first: a worker that sees "objectives" sees both
        study.set_user_attr("suite", suite)
        study.set_user_attr("objectives", names)
    elif stored != names or study.user_attrs.get("suite") != suite:
        raise UsageError(
            f"study {name!r} in {url} exists for suite {study.user_attrs.get('suite')!r} with "
            f"objectives {','.join(stored)}; rerun with those, or pick another --study")
    if study.metric_names != names:  # optuna-dashboard's axis names (older studies too)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(names)
    return study
