"""MAKD trainer (quick mode) and the adapter file format."""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from train.makd import metaword_slots, parse_subject, place_metaword
from train.makd_format import MAGIC, AdapterFormatError, AdapterHeader, read_adapter, write_adapter
from train.vocab import load_vocab

ROOT = Path(__file__).resolve().parents[2]


def run_makd(out: Path, *extra: str) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "train.makd", "--quick", "--out", str(out), *extra],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]


def test_quick_makd_writes_a_checked_adapter_for_the_shipped_edge(tmp_path):
    out = tmp_path / "star.dkga"
    lines = run_makd(out, "--subject", "shape:star", "--rank", "2")
    progress = [l for l in lines if l["event"] == "progress"]
    assert progress and progress[-1]["step"] == progress[-1]["total"]
    done = lines[-1]
    assert done["event"] == "done" and done["bytes"] == out.stat().st_size
    header, tensors = read_adapter(out)
    manifest = json.loads((ROOT / "models" / "manifest.json").read_text())
    assert header["base_model"]["edge_gai.onnx"] == manifest["models"]["edge_gai"]["files"]["edge_gai.onnx"]["sha256"]
    assert header["rank"] == 2 and header["mode"] == "makd"
    assert header["conv_rank"] == 8  # the default LoCon rank on the convolutions
    sites = manifest["models"]["edge_gai"]["lora_sites"]
    convs = manifest["models"]["edge_gai"]["conv_sites"]
    assert header["lora_sites"] == list(sites) + list(convs)
    for site in sites:
        fin, fout = sites[site]
        assert tensors[f"lora.{site}.a"].shape == (2, fin)
        assert tensors[f"lora.{site}.b"].shape == (fout, 2)
    for site, (cin, cout, k) in convs.items():
        assert tensors[f"lora.{site}.a"].shape == (8, cin, k, k)
        assert tensors[f"lora.{site}.b"].shape == (cout, 8)
    # stored as float16 by default (the metaword stays float32)
    assert {e["dtype"] for e in header["tensors"] if e["name"].startswith("lora.")} == {"float16"}
    assert next(e["dtype"] for e in header["tensors"] if e["name"] == "metaword") == "float32"
    # the metaword replaces both word forms of the subject, and has one row per form
    assert header["metaword"]["slots"] == {"star": 0, "stars": 1}
    assert tensors["metaword"].shape == (2, 64)
    # training moved the LoRA away from its zero start
    assert any(np.abs(tensors[f"lora.{s}.b"]).max() > 0 for s in sites)
    assert any(np.abs(tensors[f"lora.{s}.b"]).max() > 0 for s in convs)


def test_ablation_modes_carry_only_their_part(tmp_path):
    lora = tmp_path / "l.dkga"
    meta = tmp_path / "m.dkga"
    run_makd(lora, "--subject", "colour:purple", "--mode", "lora", "--steps", "2")
    run_makd(meta, "--subject", "colour:purple", "--mode", "metaword", "--steps", "2")
    hl, tl = read_adapter(lora)
    hm, tm = read_adapter(meta)
    assert hl["metaword"] is None and "metaword" not in tl and len(tl) == 2 * len(hl["lora_sites"])
    assert hl["conv_rank"] == 8 and any(k.startswith("lora.conv.") for k in tl)
    assert hm["rank"] == 0 and hm["conv_rank"] == 0 and list(tm) == ["metaword"] and tm["metaword"].shape == (1, 64)
    attention_only = tmp_path / "a.dkga"
    run_makd(attention_only, "--subject", "colour:purple", "--mode", "lora", "--steps", "2", "--conv-rank", "0")
    ha, ta = read_adapter(attention_only)
    assert ha["conv_rank"] == 0 and not any(s.startswith("conv.") for s in ha["lora_sites"])
    assert not any(k.startswith("lora.conv.") for k in ta) and len(ta) == 2 * len(ha["lora_sites"])


def test_round_trip_and_rejections(tmp_path):
    path = tmp_path / "a.dkga"
    tensors = {"lora.x.a": np.arange(6, dtype=np.float32).reshape(2, 3), "metaword": np.ones((1, 64), np.float32)}
    header = AdapterHeader(subject="shape:star", subject_attributes={"shape": "star"}, mode="makd",
                           base_model={"edge_gai.onnx": "0" * 64}, rank=2, lora_sites=["x"],
                           metaword={"placement": "replace", "slots": {"star": 0}}, training={"seed": 1})
    size = write_adapter(path, header, tensors)
    blob = path.read_bytes()
    assert size == len(blob) and blob[:8] == MAGIC
    assert hashlib.sha256(blob[:-32]).digest() == blob[-32:]
    assert (16 + int.from_bytes(blob[12:16], "little")) % 4 == 0  # tensor data starts aligned
    h, t = read_adapter(path)
    assert h["subject"] == "shape:star"
    np.testing.assert_array_equal(t["lora.x.a"], tensors["lora.x.a"])
    corrupt = bytearray(blob)
    corrupt[-40] ^= 1
    path.write_bytes(bytes(corrupt))
    with pytest.raises(AdapterFormatError, match="checksum"):
        read_adapter(path)
    path.write_bytes(blob[:-1])
    with pytest.raises(AdapterFormatError, match="checksum"):
        read_adapter(path)
    path.write_bytes(b"NOTADAPT" + blob[8:])
    with pytest.raises(AdapterFormatError, match="magic"):
        read_adapter(path)
    path.write_bytes(blob[:8] + (2).to_bytes(4, "little") + blob[12:])
    with pytest.raises(AdapterFormatError, match="version 2"):
        read_adapter(path)


def test_subjects_and_metaword_placement():
    vocab = load_vocab()
    assert parse_subject("shape:star", vocab) == {"shape": "star"}
    assert parse_subject("a purple star", vocab) == {"colour": "purple", "shape": "star"}
    with pytest.raises(SystemExit, match="unknown attribute:value"):
        parse_subject("shape:hexagon", vocab)
    slots = metaword_slots({"background": "snow"}, vocab)
    assert slots == {"snow": 0}
    assert place_metaword("A red circle on Snow.", slots, vocab) == "a red circle on <meta0>"
    assert place_metaword("two stars", metaword_slots({"shape": "star"}, vocab), vocab) == "two <meta1>"


def test_float16_lora_storage_halves_the_bytes_and_reads_back_within_half_a_step(tmp_path):
    rng = np.random.default_rng(3)
    tensors = {"lora.x.a": rng.normal(0, 0.1, (4, 64)).astype(np.float32),
               "lora.x.b": rng.normal(0, 1e-5, (64, 4)).astype(np.float32),  # partly subnormal in float16
               "metaword": rng.normal(0, 1, (1, 64)).astype(np.float32)}
    header = AdapterHeader(subject="shape:star", subject_attributes={"shape": "star"}, mode="makd",
                           base_model={"edge_gai.onnx": "0" * 64}, rank=4, lora_sites=["x"],
                           metaword={"placement": "replace", "slots": {"star": 0}}, training={"seed": 1})
    full, half = tmp_path / "f32.dkga", tmp_path / "f16.dkga"
    write_adapter(full, header, tensors)
    write_adapter(half, header, tensors, {"lora.x.a": "float16", "lora.x.b": "float16"})
    h, t = read_adapter(half)
    assert [e["dtype"] for e in h["tensors"]] == ["float16", "float16", "float32"]
    assert sum(e["bytes"] for e in h["tensors"]) == 2 * (4 * 64 + 64 * 4) + 4 * 64
    np.testing.assert_array_equal(t["metaword"], tensors["metaword"])
    for k in ("lora.x.a", "lora.x.b"):
        assert t[k].dtype == np.float32
        err = np.abs(t[k] - tensors[k])
        assert np.all(err <= np.maximum(np.abs(tensors[k]) * 2.0 ** -11, 2.0 ** -25)), k
    assert half.stat().st_size < full.stat().st_size
    with pytest.raises(ValueError, match="beyond float16's range"):
        write_adapter(tmp_path / "big.dkga", header, {"lora.x.a": np.full((1, 1), 1e5, np.float32)}, {"lora.x.a": "float16"})
    with pytest.raises(ValueError, match="'int8' is not one of"):
        write_adapter(tmp_path / "int.dkga", header, tensors, {"metaword": "int8"})
