"""The JSCC codec's pieces (quantizer, rate mask, channel, gates) and a smoke run of the CALA trainer."""
import json
import subprocess
import sys

import torch

from train.jscc import (K_MAX, RATES, SNR_GRID_DB, CodecConfig, Gate, JsccCodec, paper_channel, qam_levels,
                        quantize_qam, selectivity_of, symbol_mask)


def test_quantizer_picks_the_nearest_level_and_clamps():
    levels = qam_levels(8)
    assert len(levels) == 16
    assert abs(float((2 * (levels ** 2).mean())) - 1.0) < 1e-6  # unit average energy over both axes
    x = torch.linspace(-2, 2, 1001)
    q = quantize_qam(x, 8)
    nearest = levels[(x[:, None] - levels[None, :]).abs().argmin(dim=1)]
    assert torch.allclose(q, nearest)


def test_rate_mask_sends_the_first_k_symbols():
    m = symbol_mask(torch.tensor([1 / 16, 1 / 2, 1.0]))
    assert m.shape == (3, K_MAX)
    assert m[0].sum() == 16 and m[0, :16].all() and not m[0, 16:].any()
    assert m[1].sum() == 128
    assert m[2].sum() == 256 == K_MAX


def test_encoder_output_has_unit_power_over_the_sent_symbols_and_zeros_after():
    codec = JsccCodec(CodecConfig(adapters=2, rank=2, channels=8, blocks=1))
    z = torch.randn(5, 4, 8, 8)
    rate = torch.tensor([1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0])
    s = codec.encoder(z, torch.full((5,), 10.0), rate, torch.tensor([0.0, 1.0, 0.5, 0.0, 2.0]))
    k = (rate * 256).round().long()
    for i in range(5):
        assert abs(float(s[i, :k[i]].pow(2).sum(-1).mean()) - 1.0) < 1e-4
        assert float(s[i, k[i]:].abs().max() if k[i] < K_MAX else 0) == 0.0


def test_channel_is_transparent_at_very_high_snr_and_noisy_at_low():
    g = torch.Generator().manual_seed(0)
    x = quantize_qam(torch.randn(64, K_MAX, 2) * 0.7, 8)
    eq, rel, _ = paper_channel(x, torch.full((64,), 80.0), g)
    assert float((eq - x).pow(2).mean()) < 1e-4  # deep fades leave a little error even at 80 dB
    assert float(rel.min()) > 1e4 * 1e-3  # deep fades are rare but reliability stays large at 80 dB
    eq_low, rel_low, _ = paper_channel(x, torch.full((64,), -5.0), g)
    assert float((eq_low - x).pow(2).mean()) > 0.1
    assert float(rel_low.mean()) < float(rel.mean())


def test_flat_channel_has_no_selectivity_and_block_fading_about_one():
    g = torch.Generator().manual_seed(1)
    x = quantize_qam(torch.randn(256, K_MAX, 2) * 0.7, 8)
    mask = torch.ones(256, K_MAX)
    fading = torch.arange(256) < 128
    _, _, gain = paper_channel(x, torch.full((256,), 30.0), g, fading)
    sel = selectivity_of(gain, mask)
    assert float(sel[128:].max()) < 0.1  # flat: only the pilot estimate's noise varies the gain
    assert 0.6 < float(sel[:128].mean()) < 1.2  # Rayleigh block fading: |h|^2 exponential, CV about 1 (blocks correlated)


def test_hard_gate_switches_by_snr_group_and_soft_gate_sums_to_one():
    hard = Gate(CodecConfig(adapters=3, gate="hard"))
    g = hard(torch.tensor([-5.0, 4.9, 5.0, 14.9, 15.0, 25.0]), torch.full((6,), 0.25), torch.zeros(6))
    assert g.argmax(1).tolist() == [0, 0, 1, 1, 2, 2]
    assert torch.equal(g.sum(1), torch.ones(6))
    soft = Gate(CodecConfig(adapters=4, gate="soft"))
    s = soft(torch.tensor([-5.0, 25.0]), torch.tensor([1 / 16, 1 / 2]), torch.tensor([0.0, 1.0]))
    assert torch.allclose(s.sum(1), torch.ones(2))


def test_fresh_adapters_leave_the_base_codec_unchanged():
    torch.manual_seed(0)
    base = JsccCodec(CodecConfig(channels=16, blocks=1))
    adapted = JsccCodec(CodecConfig(channels=16, blocks=1, adapters=4, rank=4))
    adapted.load_state_dict(base.state_dict(), strict=False)
    z = torch.randn(3, 4, 8, 8)
    snr, rate, sel = torch.tensor([0.0, 10.0, 20.0]), torch.tensor([1 / 8, 1 / 4, 1.0]), torch.tensor([0.0, 1.0, 0.3])
    assert torch.allclose(base.encoder(z, snr, rate, sel), adapted.encoder(z, snr, rate, sel), atol=1e-6)
    assert len(adapted.adapter_parameters()) > 0
    assert set(map(id, adapted.base_parameters())).isdisjoint(map(id, adapted.adapter_parameters()))


def test_quick_training_run_writes_models_results_and_fixtures(tmp_path):
    out = tmp_path / "models"
    subprocess.run([sys.executable, "-m", "train.cala", "--quick", "--threads", "1", "--out-dir", str(out)],
                   check=True, capture_output=True, timeout=600)
    results = json.loads((out / "cala" / "results.json").read_text())
    assert results["quick"] is True
    assert set(results["curves"]) == {"noadapt", "base", "grouped", "cala", "percond"}
    assert all(len(c) == len(RATES) * len(SNR_GRID_DB) == 40 for c in results["curves"].values())
    assert set(results["curves_flat"]) == {"noadapt", "cala"}
    assert 0 < results["autoencoder_ceiling_image_psnr_db"] < 99
    assert 0 < results["extra_params_pct"] < 100
    manifest = json.loads((out / "manifest.json").read_text())
    files = manifest["models"]["jscc"]["files"]
    assert "cala/latent_klt.json" in files
    klt = json.loads((out / "cala" / "latent_klt.json").read_text())
    assert len(klt["basis"]) == 256 and len(klt["variance"]) == 256
    for name in ("cala", "grouped", "noadapt"):
        assert f"cala/{name}_encoder.onnx" in files and f"cala/{name}_decoder.onnx" in files
        assert (out / "fixtures" / f"jscc_{name}_decoder.json").exists()
