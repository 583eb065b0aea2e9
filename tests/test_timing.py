import gc
import time

import pytest

from mobench.profiling.timing import gc_disabled, percentile, summarize, time_steps, timed_call


def test_summarize_median_and_iqr_of_known_sample():
    t = summarize([1.0, 2.0, 3.0, 4.0, 100.0])
    assert t.median_s == 3.0
    assert t.p25_s == 2.0 and t.p75_s == 4.0
    assert t.iqr_s == 2.0  # the outlier moves the mean, not the median or the IQR
    assert t.mean_s == pytest.approx(22.0)
    assert (t.min_s, t.max_s, t.n) == (1.0, 100.0, 5)


def test_summarize_rejects_empty():
    with pytest.raises(ValueError):
        summarize([])


def test_percentile_interpolates():
    assert percentile([0.0, 10.0], 50) == 5.0
    assert percentile(list(range(101)), 99) == pytest.approx(99.0)


def test_timed_call_syncs_before_and_after_reading_the_clock():
    events = []
    seconds = timed_call(lambda: (events.append("call"), time.sleep(0.01)),
                         sync=lambda: events.append("sync"))
    assert events == ["sync", "call", "sync"]
    assert 0.009 < seconds < 1.0


def test_time_steps_counts_and_disables_gc_while_timing():
    states = []
    times = time_steps(lambda: states.append(gc.isenabled()), 5, sync=lambda: None)
    assert len(times) == 5 and all(t >= 0 for t in times)
    assert states == [False] * 5
    assert gc.isenabled()


def test_gc_disabled_restores_state_after_error():
    with pytest.raises(RuntimeError), gc_disabled():
        raise RuntimeError
    assert gc.isenabled()
