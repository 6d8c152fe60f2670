import json

from train.common import update_manifest
from train.pipeline import MODELS_DIR, shipped_pipeline, write_pipeline


def test_the_shipped_manifest_holds_the_pipeline_the_trainers_describe():
    manifest = json.loads((MODELS_DIR / "manifest.json").read_text())
    assert manifest["pipeline"] == shipped_pipeline()
    for part in ("text_encoder", "latent_encoder", "latent_decoder"):
        assert any(manifest["pipeline"][part]["file"] in m["files"] for m in manifest["models"].values())


def test_a_trainer_updating_its_entry_keeps_the_pipeline(tmp_path):
    write_pipeline(tmp_path, {"latent_shape": [4, 16, 16]})
    (tmp_path / "x.bin").write_bytes(b"x")
    update_manifest(tmp_path, "thing", [tmp_path / "x.bin"], command="c", seed=1, wall_s=0, data="d", parameters=0)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["pipeline"] == {"latent_shape": [4, 16, 16]} and "thing" in manifest["models"]
