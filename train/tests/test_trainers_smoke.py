"""Short smoke runs of every trainer (--quick) into a temporary models folder: they train, export ONNX
that passes the checker, write parity fixtures and record themselves in manifest.json."""
import json
import os
import subprocess
import sys
from pathlib import Path

import onnx

ROOT = Path(__file__).resolve().parents[2]


def run(module: str, out: Path, *extra: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", module, "--quick", "--out-dir", str(out), *extra],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    progress = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert progress and progress[-1]["step"] == progress[-1]["total"]


def test_all_trainers_quick(tmp_path):
    out = tmp_path / "models"
    run("train.autoencoder", out)
    run("train.text_encoder", out)
    run("train.gai", out, "--role", "edge", "--models-dir", str(out))
    run("train.evaluator", out, "--models-dir", str(out))
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["models"]) == {"autoencoder", "text_encoder", "edge_gai", "evaluator"}
    for name, entry in manifest["models"].items():
        assert entry["command"].startswith("python3 -m train.") and entry["seed"] == 1
        for rel, info in entry["files"].items():
            assert (out / rel).stat().st_size == info["bytes"]
            if rel.endswith(".onnx"):
                onnx.checker.check_model(onnx.load(str(out / rel)))
    edge_inputs = [i["name"] for i in manifest["models"]["edge_gai"]["files"]["edge_gai.onnx"]["inputs"]]
    assert any(n.startswith("lora.") for n in edge_inputs)
    fixtures = {p.name for p in (out / "fixtures").iterdir()}
    assert {"autoencoder_encoder.json", "text_encoder.json", "edge_gai.json", "edge_gai_lora.json",
            "evaluator_image.json"} <= fixtures


def test_gai_stops_at_the_time_limit_and_records_the_steps_it_ran(tmp_path):
    """--max-minutes guards the 60-minute budget: the run ends early, still exports, and the manifest
    records the steps actually trained rather than the ones asked for."""
    out = tmp_path / "models"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "train.gai", "--quick", "--role", "cloud", "--out-dir", str(out),
                        "--max-minutes", "1e-6"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "stopping at step 1 of 10" in r.stdout
    entry = json.loads((out / "manifest.json").read_text())["models"]["cloud_gai"]
    assert entry["steps"] == 1
    assert (out / "cloud_gai.onnx").stat().st_size == entry["files"]["cloud_gai.onnx"]["bytes"]


def test_edge_export_only_keeps_the_training_record_and_reproduces_the_shipped_inputs(tmp_path):
    """--export-only re-exports the shipped edge from its weights: the graph takes every input the shipped
    manifest lists (attention LoRA and convolution LoCon, each with its own rank axis), the fixtures are
    rewritten, and the training record (steps, date, commands) is kept with the export appended."""
    import shutil
    out = tmp_path / "models"
    (out / "torch").mkdir(parents=True)
    shutil.copy(ROOT / "models" / "torch" / "edge_gai.pt", out / "torch" / "edge_gai.pt")
    shipped = json.loads((ROOT / "models" / "manifest.json").read_text())
    old = shipped["models"]["edge_gai"]
    (out / "manifest.json").write_text(json.dumps({"version": 1, "models": {"edge_gai": old}}))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "train.gai", "--role", "edge", "--export-only", "--out-dir", str(out),
                        "--models-dir", str(ROOT / "models")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    entry = json.loads((out / "manifest.json").read_text())["models"]["edge_gai"]
    assert entry["steps"] == old["steps"] and entry["trained_at"] == old["trained_at"] and entry["final_loss"] == old["final_loss"]
    assert entry["command"].endswith("&& python3 -m train.gai --role edge --export-only --out-dir " + str(out) + " --models-dir " + str(ROOT / "models"))
    assert entry["files"]["edge_gai.onnx"]["inputs"] == old["files"]["edge_gai.onnx"]["inputs"]
    assert entry["conv_sites"] == old["conv_sites"] and entry["lora_sites"] == old["lora_sites"]
    graph = onnx.load(str(out / "edge_gai.onnx")).graph
    dims = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.input}
    assert dims["lora.conv.up1.skip.a"] == ["conv_rank", 128, 1, 1] and dims["lora.down0.cross_attn.to_k.a"] == ["rank", 64]
    assert {"edge_gai.json", "edge_gai_lora.json"} <= {p.name for p in (out / "fixtures").iterdir()}
