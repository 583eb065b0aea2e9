import json

import pytest

from mobench.documents import read_json, write_json
from mobench.errors import UsageError
from mobench.profiling.timing import summarize
from mobench.records import SCHEMA_VERSION, Inference, ModeProfile, ProfileRecord, Status


def make_record(graph_median=0.010, xla_median=0.005, energy=None) -> ProfileRecord:
    def mode(name, median):
        return ModeProfile(
            mode=name, status=Status.OK, step_time=summarize([median] * 3),
            compile_time_s=0.5, throughput=128 / median, peak_memory_bytes=1 << 20,
            inference=Inference(0.001, 0.002, 128, summarize([0.004]), 128 / 0.004),
            nvml={"energy_j": energy} if energy is not None else None,
        )

    return ProfileRecord(
        suite="mnist-mlp", suite_version=1, variant="small", hyperparameters={"units_0": 64},
        dataset={"name": "digits"}, batch_size=128, steps=10, warmup=2, seed=0, params=1000,
        flops={"forward_per_sample": 100, "train_per_sample": 300}, matmul_peak=None,
        modes=(mode("graph", graph_median), mode("xla", xla_median),
               ModeProfile("eager", Status.OUT_OF_MEMORY, reason="OOM when allocating")),
    )


def test_objectives_take_canonical_names_from_the_right_modes():
    obj = make_record().objectives()
    assert obj["step_time"] == pytest.approx(0.010)
    assert obj["xla_throughput"] == pytest.approx(128 / 0.005)
    assert obj["xla_speedup"] == pytest.approx(2.0)
    assert obj["latency"] == 0.001 and obj["flops"] == 300 and obj["params"] == 1000
    assert "energy" not in obj  # no NVML measurement -> absent, never invented


def test_energy_is_per_step_when_measured():
    assert make_record(energy=5.0).objectives()["energy"] == pytest.approx(0.5)


def test_round_trip_through_json(tmp_path):
    record = make_record()
    path = write_json(tmp_path / "r.json", record.to_dict())
    doc = read_json(path)
    assert doc["schema_version"] == SCHEMA_VERSION and doc["kind"] == "profile"
    back = ProfileRecord.from_dict(doc)
    assert back == record
    assert back.modes[2].status is Status.OUT_OF_MEMORY


@pytest.mark.parametrize("doc, message", [
    ([1, 2], "top level is list"),
    ({"schema_version": 99, "kind": "profile"}, "unsupported schema_version 99"),
    ({"schema_version": SCHEMA_VERSION, "kind": "table"}, "expected a 'profile' document"),
])
def test_foreign_documents_are_rejected(doc, message):
    with pytest.raises(UsageError, match=message):
        ProfileRecord.from_dict(doc)


def test_corrupt_json_names_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 1,')
    with pytest.raises(UsageError, match="bad.json: not valid JSON"):
        read_json(bad)


def test_write_json_is_atomic_and_keeps_old_file_on_failure(tmp_path):
    path = write_json(tmp_path / "doc.json", {"a": 1})
    with pytest.raises(ValueError):
        write_json(path, {"a": float("nan")})  # NaN is not JSON: nothing half-written
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["doc.json"]
