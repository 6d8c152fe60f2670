"""What every trainer shares: arguments, device, progress lines, ONNX export, fixtures, manifest."""
from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .vocab import REPO_ROOT

MODELS_DIR = REPO_ROOT / "models"
DATA_DIR = REPO_ROOT / "data"
ONNX_OPSET = 17


def base_parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave the default)")
    p.add_argument("--out-dir", type=Path, default=MODELS_DIR,
                   help="where ONNX files, weights, fixtures and manifest.json go")
    p.add_argument("--quick", action="store_true", help="a smoke run: tiny data, a few steps")
    return p


def setup(args: argparse.Namespace) -> torch.device:
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    if args.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("--device cuda asked for, but this PyTorch sees no CUDA device")
    return torch.device(args.device)


class Progress:
    """JSON progress lines on stdout, one every `every` seconds; the TypeScript side draws the bar."""

    def __init__(self, task: str, total: int, every_s: float = 2.0):
        self.task, self.total, self.every_s = task, total, every_s
        self.start = time.time()
        self.last = 0.0

    def update(self, step: int, **metrics: float) -> None:
        now = time.time()
        if now - self.last < self.every_s and step < self.total:
            return
        self.last = now
        line = {"event": "progress", "task": self.task, "step": step, "total": self.total,
                "elapsed_s": round(now - self.start, 1)}
        line.update({k: float(f"{v:.5g}") for k, v in metrics.items()})
        print(json.dumps(line), flush=True)

    @property
    def elapsed_s(self) -> float:
        return time.time() - self.start


def cosine_lr(step: int, total: int, peak: float, warmup: int = 200, floor: float = 0.02) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return peak * (floor + (1 - floor) * 0.5 * (1 + np.cos(np.pi * min(1.0, t))))


class Ema:
    """Exponential moving average of a model's parameters (samples from the EMA are much cleaner)."""

    def __init__(self, model: torch.nn.Module, decay: float = 0.999):
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.steps = 0

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.steps += 1
        d = min(self.decay, (1 + self.steps) / (10 + self.steps))
        for k, v in model.state_dict().items():
            if v.dtype.is_floating_point:
                self.shadow[k].mul_(d).add_(v.detach(), alpha=1 - d)
            else:
                self.shadow[k].copy_(v)

    def copy_to(self, model: torch.nn.Module) -> None:
        model.load_state_dict(self.shadow)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A trainer's saved weights (plain dicts of tensors, numbers and strings), with a clear error."""
    path = Path(path)
    if not path.exists():
        raise SystemExit(f"{path} is missing: train that model first (see README, 'Retraining the models')")
    try:
        return torch.load(path, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - any unpickling failure means the same thing to the user
        raise SystemExit(f"{path} is not a readable checkpoint: {e}") from e


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export_onnx(module: torch.nn.Module, args: tuple, path: Path, input_names: list[str],
                output_names: list[str], dynamic_axes: dict[str, dict[int, str]]) -> None:
    module.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    extra: dict[str, Any] = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        extra["dynamo"] = False  # PyTorch >= 2.9 defaults to the dynamo exporter; keep the TorchScript one
    with torch.no_grad():
        torch.onnx.export(module, args, str(path), input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes, opset_version=ONNX_OPSET, do_constant_folding=True, **extra)
    import onnx
    onnx.checker.check_model(onnx.load(str(path)))


def onnx_io_shapes(path: Path) -> dict[str, Any]:
    import onnx
    model = onnx.load(str(path))
    init = {i.name for i in model.graph.initializer}

    def shape(v: Any) -> dict[str, Any]:
        dims = [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
        elem = onnx.TensorProto.DataType.Name(v.type.tensor_type.elem_type).lower()
        return {"name": v.name, "type": elem, "shape": dims}

    return {"inputs": [shape(v) for v in model.graph.input if v.name not in init],
            "outputs": [shape(v) for v in model.graph.output]}


def tensor_json(t: torch.Tensor | np.ndarray) -> dict[str, Any]:
    a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    kind = "int64" if a.dtype.kind in "iu" else "float32"
    flat = a.astype(np.int64 if kind == "int64" else np.float32).ravel()
    return {"type": kind, "dims": list(a.shape), "data": [int(x) if kind == "int64" else float(x) for x in flat]}


def write_fixture(out_dir: Path, name: str, model_file: str, inputs: dict[str, Any],
                  outputs: dict[str, Any], note: str = "", extra: dict[str, Any] | None = None) -> Path:
    """Reference inputs and PyTorch outputs, for the onnxruntime-node parity tests."""
    path = out_dir / "fixtures" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"model": model_file, "note": note,
           "inputs": {k: tensor_json(v) for k, v in inputs.items()},
           "outputs": {k: tensor_json(v) for k, v in outputs.items()}, **(extra or {})}
    path.write_text(json.dumps(doc))
    return path


def update_manifest(out_dir: Path, name: str, files: list[Path], *, command: str, seed: int, wall_s: float,
                    data: str, parameters: int, extra: dict[str, Any] | None = None,
                    trained_at: str | None = None) -> None:
    """Record one trained artifact: files with sha256 (and ONNX I/O shapes), command, seed, time, data.
    `trained_at` keeps a re-export's training date (default: now). Only this model's entry changes; the rest of manifest.json (other models, the `pipeline` section that
    train/pipeline.py writes) is kept as it is."""
    manifest_path = out_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"version": 1, "models": {}}
    entry: dict[str, Any] = {
        "files": {},
        "command": command,
        "seed": seed,
        "wall_time_s": round(wall_s, 1),
        "data": data,
        "parameters": parameters,
        "torch": torch.__version__,
        "machine": f"{os.cpu_count()} CPU cores" + (f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""),
        "trained_at": trained_at or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    for f in files:
        rel = f.relative_to(out_dir).as_posix()
        info: dict[str, Any] = {"sha256": sha256_file(f), "bytes": f.stat().st_size}
        if f.suffix == ".onnx":
            info.update(onnx_io_shapes(f))
        entry["files"][rel] = info
    if extra:
        entry.update(extra)
    manifest["models"][name] = entry
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")


def module_command(module: str) -> str:
    return "python3 -m " + module + " " + " ".join(shlex.quote(a) for a in sys.argv[1:])
