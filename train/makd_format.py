"""The MAKD adapter file (.dkga): small, self-describing, versioned and checksummed.

Layout (all integers little-endian):

    offset 0   8 bytes   magic b"DKGADAPT"
    offset 8   u32       format version (1)
    offset 12  u32       header length H in bytes
    offset 16  H bytes   header: UTF-8 JSON, padded with spaces so the tensor data starts 4-byte aligned
    16 + H     ...       tensor data: float32 (or float16, per tensor) little-endian, row-major, at the header's offsets
                         (relative to the start of the tensor data)
    end - 32   32 bytes  sha256 of every byte before it

Header fields: format, subject, subject_attributes, mode, base_model {file: sha256} (the edge-GAI and the
text encoder the adapter was trained against), rank (the attention projections' LoRA), lora_sites (the
attention projections', then the convolutions' conv.<module>), conv_rank (the convolutions' LoCon rank; 0
or absent: none, as in the files made before the edge's graph took them), metaword (placement, word -> slot,
word -> token), tensors [{name, dtype, shape, offset, bytes}], training {command, seed, wall_time_s, ...}.
src/gsc/adapter.ts reads the same layout.
"""
from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"DKGADAPT"
FORMAT_VERSION = 1
DEFAULT_SITES = "all"


@dataclass
class AdapterHeader:
    subject: str
    subject_attributes: dict[str, str]
    mode: str
    base_model: dict[str, str]
    rank: int
    lora_sites: list[str]
    metaword: dict[str, Any] | None
    training: dict[str, Any]
    conv_rank: int = 0
    tensors: list[dict[str, Any]] = field(default_factory=list)


class AdapterFormatError(ValueError):
    pass


def select_sites(all_sites: dict[str, tuple[int, int]], spec: str) -> dict[str, tuple[int, int]]:
    """'all', 'cross' (cross-attention q/k/v/out), 'self', or comma-separated site-name prefixes."""
    if spec == "all":
        return dict(all_sites)
    if spec in ("cross", "self"):
        return {k: v for k, v in all_sites.items() if f".{spec}_attn." in k}
    prefixes = [s.strip() for s in spec.split(",") if s.strip()]
    chosen = {k: v for k, v in all_sites.items() if any(k.startswith(p) for p in prefixes)}
    if not chosen:
        raise SystemExit(f"--sites '{spec}' matches no LoRA site; sites are: {', '.join(all_sites)}")
    return chosen


TENSOR_DTYPES = {"float32": "<f4", "float16": "<f2"}


def write_adapter(path: Path, header: AdapterHeader, tensors: dict[str, np.ndarray],
                  dtypes: dict[str, str] | None = None) -> int:
    """Write the file atomically (temp file + rename); returns its size in bytes. `dtypes` names the tensors
    stored as float16 (half the bytes; the readers widen them to float32); every other one is float32."""
    entries, blobs, offset = [], [], 0
    for name, arr in tensors.items():
        dtype = (dtypes or {}).get(name, "float32")
        if dtype not in TENSOR_DTYPES:
            raise ValueError(f"tensor '{name}': dtype {dtype!r} is not one of {', '.join(TENSOR_DTYPES)}")
        data = np.ascontiguousarray(arr, dtype=TENSOR_DTYPES[dtype]).tobytes()
        if dtype == "float16" and not np.all(np.isfinite(np.frombuffer(data, "<f2"))) and np.all(np.isfinite(arr)):
            raise ValueError(f"tensor '{name}' has values beyond float16's range (|x| > 65504)")
        entries.append({"name": name, "dtype": dtype, "shape": list(arr.shape), "offset": offset, "bytes": len(data)})
        blobs.append(data)
        offset += len(data)
    doc = {"format": "dekag-makd-adapter", **asdict(header), "tensors": entries}
    head = json.dumps(doc, separators=(",", ":")).encode()
    head += b" " * ((-len(head)) % 4)
    body = MAGIC + struct.pack("<II", FORMAT_VERSION, len(head)) + head + b"".join(blobs)
    blob = body + hashlib.sha256(body).digest()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(blob)
    tmp.replace(path)
    return len(blob)


def read_adapter(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and tensors of an adapter file; AdapterFormatError says what is wrong."""
    blob = Path(path).read_bytes()
    if len(blob) < 16 + 32:
        raise AdapterFormatError(f"{path}: {len(blob)} bytes is too short for an adapter file (truncated?)")
    if blob[:8] != MAGIC:
        raise AdapterFormatError(f"{path}: bad magic {blob[:8]!r}, expected {MAGIC!r}: not a MAKD adapter")
    version, head_len = struct.unpack("<II", blob[8:16])
    if version != FORMAT_VERSION:
        raise AdapterFormatError(f"{path}: format version {version}; this reader knows version {FORMAT_VERSION}")
    if hashlib.sha256(blob[:-32]).digest() != blob[-32:]:
        raise AdapterFormatError(f"{path}: checksum mismatch: the file is corrupt or truncated")
    header = json.loads(blob[16:16 + head_len])
    data = blob[16 + head_len:-32]
    tensors = {}
    for t in header["tensors"]:
        if t["dtype"] not in TENSOR_DTYPES:
            raise AdapterFormatError(f"{path}: tensor '{t['name']}' is {t['dtype']}; expected one of {', '.join(TENSOR_DTYPES)}")
        raw = np.frombuffer(data[t["offset"]:t["offset"] + t["bytes"]], TENSOR_DTYPES[t["dtype"]])
        tensors[t["name"]] = raw.astype(np.float32).reshape(t["shape"])
    return header, tensors
