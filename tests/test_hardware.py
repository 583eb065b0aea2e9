"""Hardware fingerprint and hardware id (NVML fakes live in test_nvml.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mobench
from mobench.profiling.hardware import fingerprint, format_fingerprint, hardware_id, machine_id

ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def cpu_fp(model: str, cores: int = 8) -> dict:
    return {"cpu_model": model, "cpu_count_logical": cores, "gpus": []}


@pytest.mark.parametrize(
    ("model", "cores", "expected"),
    [
        ("Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz", 2, "cpu-intel-xeon-platinum-8481c-2c"),
        ("Intel(R) Core(TM) i7-8550U CPU @ 1.80GHz", 8, "cpu-intel-core-i7-8550u-8c"),
        ("Intel(R) Xeon(R) Processor", 2, "cpu-intel-xeon-2c"),
        ("AMD Ryzen 9 7950X 16-Core Processor", 32, "cpu-amd-ryzen-9-7950x-32c"),
        ("AMD Ryzen 7 7840U w/ Radeon 780M Graphics", 16, "cpu-amd-ryzen-7-7840u-16c"),
        ("AMD EPYC 7B13", 64, "cpu-amd-epyc-7b13-64c"),
        ("Apple M2 Pro", 12, "cpu-apple-m2-pro-12c"),
        ("", 4, "cpu-unknown-4c"),
    ],
)
def test_cpu_hardware_id(model: str, cores: int, expected: str) -> None:
    assert hardware_id(cpu_fp(model, cores)) == expected


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["NVIDIA H100 80GB HBM3"], "h100-80gb-hbm3x1"),
        (["NVIDIA A100-SXM4-40GB"] * 2, "a100-sxm4-40gbx2"),
        (["Tesla T4"], "tesla-t4x1"),
        (
            ["NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 3090"],
            "geforce-rtx-4090x1-geforce-rtx-3090x1",
        ),
    ],
)
def test_gpu_hardware_id(names: list[str], expected: str) -> None:
    fp = cpu_fp("Intel(R) Xeon(R) Processor") | {"gpus": [{"name": n} for n in names]}
    assert hardware_id(fp) == expected


def test_hardware_id_is_short_stable_and_clean() -> None:
    long_name = "Some (R) Very Long Vendor Name With Many Words Model 12345 Extreme Edition Plus"
    fps = [
        cpu_fp(long_name, 128),
        {"gpus": [{"name": long_name}, {"name": long_name + " B"}, {"name": "x"}]},
        {"gpus": [{"name": "NVIDIA H100 80GB HBM3"}] * 8},
        {"gpus": [{"name": long_name}, {"name": "x"}], "threads": {"intra_op": 12},
         "affinity": [0, 1], "cpu_count_logical": 64},
        {},
    ]
    for fp in fps:
        hid = hardware_id(fp)
        assert ID_RE.match(hid), hid
        assert len(hid) <= 60
        assert hid == hardware_id(json.loads(json.dumps(fp)))
    assert hardware_id(fps[0]).endswith("-128c")


def test_fingerprint_on_this_machine() -> None:
    fp = fingerprint()
    json.dumps(fp)
    assert fp["cpu_model"] and fp["cpu_count_logical"] >= 1
    assert fp["memory_total_bytes"] > 0
    assert {"tensorflow", "keras", "keras_tuner", "numpy"} <= set(fp["versions"])
    assert "is_cuda_build" in fp["tf_build"]
    assert "CPU:0" in fp["tf_devices"]
    assert fp["hardware_id"] == hardware_id(fp)
    if fp["gpus"]:  # a machine with a working NVIDIA driver
        assert "gpu_unavailable_reason" not in fp and not fp["hardware_id"].startswith("cpu-")
    else:
        assert fp["gpu_unavailable_reason"]
        assert fp["hardware_id"].startswith("cpu-")
        assert "GPUs: none (" in format_fingerprint(fp)


def test_fingerprint_records_xla_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XLA_FLAGS", "--xla_gpu_autotune_level=0")
    monkeypatch.delenv("TF_XLA_FLAGS", raising=False)
    fp = fingerprint(tensorflow=False)
    assert fp["env"]["XLA_FLAGS"] == "--xla_gpu_autotune_level=0"
    assert "TF_XLA_FLAGS" not in fp["env"] and "tf_build" not in fp


def test_format_fingerprint_lists_gpus_and_tolerates_missing_keys() -> None:
    fp = {
        "cpu_model": "AMD EPYC 7B13",
        "gpus": [
            {"index": 0, "name": "NVIDIA H100 80GB HBM3", "memory_total_bytes": 80 * 2**30},
            {"index": 1, "name": "NVIDIA H100 80GB HBM3", "power_limit_w": 700.0},
        ],
    }
    text = format_fingerprint(fp)
    assert "hardware id: h100-80gb-hbm3x2" in text
    assert "GPUs: 2" in text and "[1] NVIDIA H100 80GB HBM3, power limit 700 W" in text
    assert "80.0 GiB" in text
    assert "GPUs: none (no reason recorded)" in format_fingerprint({})


def test_import_does_not_import_tensorflow() -> None:
    code = "import sys, mobench.profiling.hardware; print('tensorflow' in sys.modules)"
    root = str(Path(mobench.__file__).resolve().parents[1])
    env = os.environ | {"PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("threads", "affinity", "expected"),
    [
        (None, None, "cpu-intel-xeon-2c"),  # nothing known: the id of old documents
        ({"intra_op": 0, "inter_op": 0}, [0, 1], "cpu-intel-xeon-2c"),  # TF's default, all cores
        ({"intra_op": 1, "inter_op": 1}, [0, 1], "cpu-intel-xeon-2c-t1"),
        ({"intra_op": 0, "inter_op": 2}, [1], "cpu-intel-xeon-2c-cpu1"),  # inter-op alone: no
        ({"intra_op": 2, "inter_op": 2}, [1], "cpu-intel-xeon-2c-t2-cpu1"),
    ],
)
def test_hardware_id_names_threads_and_pinning_when_set(threads, affinity, expected) -> None:
    fp = cpu_fp("Intel(R) Xeon(R) Processor", 2) | {"affinity": affinity}
    if threads is not None:
        fp["threads"] = threads
    assert hardware_id(fp) == expected
    assert machine_id(fp) == "cpu-intel-xeon-2c"


def test_pinned_suffix_counts_cores_and_keeps_the_id_short() -> None:
    fp = cpu_fp("Some (R) Very Long Vendor Name With Many Words Model 12345 Extreme", 64)
    fp |= {"affinity": list(range(8)), "threads": {"intra_op": 16, "inter_op": 2}}
    hid = hardware_id(fp)
    assert hid.endswith("-64c-t16-cpu8")  # the model name is shortened, not the counts
    assert ID_RE.match(hid) and len(hid) <= 60


def test_fingerprint_records_affinity_and_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {2}, raising=False)
    fp = fingerprint(tensorflow=False)
    assert fp["affinity"] == [2] and fp["hardware_id"] == fp["machine_id"] + "-cpu1"
    assert "may run on cores: 2" in format_fingerprint(fp)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    fp = fingerprint(tensorflow=False)
    assert fp["hardware_id"] == fp["machine_id"]  # unpinned: the id stays what it was
