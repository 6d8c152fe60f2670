"""The MAKD adapter file (.dkga): small, self-describing, versioned and checksummed.

Layout (all integers little-endian):

    offset 0   8 bytes   magic b"DKGADAPT"
    offset 8   u32       format version (1)
    offset 12  u32       header length H in bytes
    offset 16  H bytes   header: UTF-8 JSON, padded with spaces so the tensor data starts 4-byte aligned
    16 + H     ...       tensor data: float32 little-endian, row-major, at the offsets the header gives
                         (relative to the start of the tensor data)
    end - 32   32 bytes  sha256 of every byte before it

Header fields: format, subject, subject_attributes, mode, base_model {file: sha256} (the edge-GAI and the
text encoder the adapter was trained against), rank, lora_sites, metaword (placement, word -> slot,
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


def write_adapter(path: Path, header: AdapterHeader, tensors: dict[str, np.ndarray]) -> int:
    """Write the file atomically (temp file + rename); returns its size in bytes."""
    entries, blobs, offset = [], [], 0
    for name, arr in tensors.items():
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        entries.append({"name": name, "dtype": "float32", "shape": list(arr.shape), "offset": offset, "bytes": len(data)})
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
        tensors[t["name"]] = np.frombuffer(data[t["offset"]:t["offset"] + t["bytes"]], "<f4").reshape(t["shape"])
    return header, tensors
