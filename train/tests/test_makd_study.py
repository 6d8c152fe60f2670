"""The MAKD levers study: its statistics, and LoCon's zero start and refusal in the shipping trainer."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from train.gai import load_unet
from train.makd import ConvLora
from train.evaluator import evaluator_config
from train.makd_study import Judge, bootstrap_ci, gap_closed, parse_variant
from train.world import ATTRIBUTE_ORDER, LABEL_VALUES

ROOT = Path(__file__).resolve().parents[2]


def test_gap_closed_is_the_share_of_the_mean_gap_and_its_interval_covers_it():
    rng = np.random.default_rng(0)
    none = rng.normal(1.2, 0.1, 48)
    ceiling = none + 0.6 + rng.normal(0, 0.05, 48)
    adapted = none + 0.3 + rng.normal(0, 0.05, 48)
    g = gap_closed(none, adapted, ceiling)
    assert abs(g - 50) < 5
    lo, hi = bootstrap_ci(none, adapted, ceiling)
    assert lo < g < hi and hi - lo < 15
    assert gap_closed(none, none, ceiling) == 0
    # paired: a noisier adapter widens the interval
    lo2, hi2 = bootstrap_ci(none, adapted + rng.normal(0, 0.3, 48), ceiling)
    assert hi2 - lo2 > hi - lo


def _logits(rows: list[dict[str, str]]) -> torch.Tensor:
    """Evaluator logits whose argmax per head is the given value (other heads: index 0)."""
    sizes = list(evaluator_config().head_sizes)
    out = torch.zeros(len(rows), sum(sizes))
    for n, row in enumerate(rows):
        for attr, value in row.items():
            h = ATTRIBUTE_ORDER.index(attr)
            out[n, sum(sizes[:h]) + LABEL_VALUES[attr].index(value)] = 5.0
    return out


def test_attribute_seen_counts_images_showing_every_attribute_of_the_subject():
    judge = Judge.__new__(Judge)  # seen() needs only the subject, not the models
    judge.subject = {"shape": "star"}
    logits = _logits([{"shape": "star"}, {"shape": "star", "colour": "purple"}, {"shape": "heart"}, {}])
    assert judge.seen(logits) == 0.5
    judge.subject = {"shape": "star", "colour": "purple"}  # both must be seen in the same image
    assert judge.seen(logits) == 0.25
    judge.subject = {}
    assert judge.seen(logits) is None


def test_variants_parse_and_bad_ones_are_refused():
    assert parse_variant("attn:4") == {"name": "attn:4", "rank": 4, "conv_rank": 0, "unfreeze": ""}
    assert parse_variant("attn+conv:4:3")["conv_rank"] == 3
    assert parse_variant("attn+full:4:temb+norm")["unfreeze"] == "temb,norm"
    for bad in ("conv:3", "attn", "attn+conv:4"):
        try:
            parse_variant(bad)
        except SystemExit as e:
            assert bad in str(e)
        else:
            raise AssertionError(bad)


def test_locon_starts_at_zero_and_changes_the_output_once_trained():
    from train.makd import Adapter, adapted_pairs
    edge = load_unet(ROOT / "models" / "torch" / "edge_gai.pt")
    x, t, ctx = torch.randn(2, 4, 8, 8), torch.tensor([10.0, 500.0]), torch.randn(2, 16, 64)
    with torch.no_grad():
        base = edge(x, t, ctx)
    conv = ConvLora(edge, 2, torch.Generator().manual_seed(0))
    assert conv.sites == list(edge.conv_sites())
    attention = Adapter(edge.lora_sites(), 2, torch.zeros(4, 64), True, False, torch.Generator().manual_seed(1))
    pairs = adapted_pairs(attention, conv)
    assert set(pairs) == set(edge.lora_sites()) | set(edge.conv_sites())
    with torch.no_grad():
        assert torch.equal(edge(x, t, ctx, pairs), base)  # every B = 0: exactly the base edge
        for b in conv.b.values():
            b.weight.normal_()
        assert not torch.allclose(edge(x, t, ctx, adapted_pairs(attention, conv)), base)
        assert torch.equal(edge(x, t, ctx), base)  # the edge itself is untouched: without the pairs it is as shipped


def test_the_merged_kernel_is_the_two_convolution_update():
    """LoCon is W * x + B(A(x)) with A a k x k convolution and B a 1 x 1 one; training and the edge's graph both
    merge tensors() into the kernel (train/nets.py LoraConv2d): the same function, for every site's shape."""
    edge = load_unet(ROOT / "models" / "torch" / "edge_gai.pt")
    conv = ConvLora(edge, 3, torch.Generator().manual_seed(0))
    modules = dict(edge.named_modules())
    gen = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for b in conv.b.values():
            b.weight.normal_(std=0.05, generator=gen)
        pairs = conv.tensors()
        for site, key in conv.keys.items():
            layer = modules[site[len("conv."):]]
            x = torch.randn(2, layer.in_channels, 8, 8, generator=gen)
            two_convolutions = layer(x) + conv.b[key](conv.a[key](x))
            merged = layer(x, pairs)
            assert torch.allclose(merged, two_convolutions, atol=1e-5), (site, float((merged - two_convolutions).abs().max()))
            assert not torch.allclose(merged, layer(x), atol=1e-3), site


def test_unfreeze_groups_pick_the_named_weights_and_refuse_others():
    from train.makd import unfreeze_params
    edge = load_unet(ROOT / "models" / "torch" / "edge_gai.pt")
    total = sum(p.numel() for p in edge.parameters())
    assert sum(p.numel() for p in unfreeze_params(edge, "all")) == total
    temb = unfreeze_params(edge, "temb")
    norm = unfreeze_params(edge, "norm")
    both = unfreeze_params(edge, "temb,norm")
    assert 0 < sum(p.numel() for p in norm) < sum(p.numel() for p in temb) < total
    assert {id(p) for p in both} == {id(p) for p in temb} | {id(p) for p in norm}
    try:
        unfreeze_params(edge, "convs")
    except SystemExit as e:
        assert "convs" in str(e)
    else:
        raise AssertionError("convs accepted")


def test_fully_specified_distillation_prompts_name_every_attribute_and_avoid_the_evaluation():
    from train.makd import eval_prompts, full_subject_prompts, parse_subject
    from train.vocab import load_vocab
    vocab = load_vocab()
    exclude = eval_prompts(ROOT / "models")
    prompts = full_subject_prompts(parse_subject("shape:star", vocab), 64, 7101, vocab, exclude)
    assert len(prompts) == len(set(prompts)) == 64
    assert not set(prompts) & exclude
    for p in prompts:
        words = p.split()
        assert words[0] == "a" and "star" in words, p
        assert len(words) >= 9, p  # size, colour, texture, shape, position and background all named


def test_the_differentiable_sampler_is_the_sampler_and_carries_gradients():
    from train.diffusion import sample_batch, sample_batch_differentiable
    edge = load_unet(ROOT / "models" / "torch" / "edge_gai.pt")
    for p in edge.parameters():
        p.requires_grad_(False)
    gen = torch.Generator().manual_seed(3)
    noise, ctx, null = torch.randn(2, 4, 8, 8, generator=gen), torch.randn(2, 16, 64, generator=gen), torch.randn(1, 16, 64, generator=gen)
    shift = torch.zeros(1, requires_grad=True)  # a trainable input the final latent depends on
    model = lambda x, t, c: edge(x, t, c + shift)
    end = sample_batch_differentiable(model, ctx, null, noise, 4, 4.0)
    assert torch.equal(end.detach(), sample_batch(model, ctx, null, noise, 4, 4.0))
    end.square().mean().backward()
    assert shift.grad is not None and shift.grad.abs().item() > 0


def _branch_changes(uncond: str, *extra: str) -> tuple[float, float]:
    """How far a short distillation moves the edge's unconditional and conditional predictions (mean |Δε|).
    The edge's own states are off: with them each mode trains on the states its own adapted edge visits, so the
    two runs would differ in their data as well as in the unconditional branch's loss, which is what this
    compares (at 40 quick steps that difference in data is as large as the effect)."""
    from train.makd import adapted_pairs, distill, make_parser
    args = make_parser().parse_args(["--subject", "shape:star", "--mode", "lora", "--out", "/dev/null", "--quick",
                                     "--steps", "40", "--uncond", uncond, "--lr-lora", "1e-2", "--threads", "1",
                                     "--on-policy-every", "0", *extra])
    r = distill(args)
    edge, lora = r["edge"], {k: (a.detach(), b.detach()) for k, (a, b) in adapted_pairs(r["adapter"], r["conv"]).items()}
    gen = torch.Generator().manual_seed(5)
    x, t = torch.randn(16, 4, 8, 8, generator=gen), torch.linspace(20, 980, 16)
    with torch.no_grad():
        null = r["null_ctx"].expand(16, -1, -1)
        cond = r["text"](torch.tensor([r["vocab"].encode("a large red star on grass")] * 16))
        adapted_u, adapted_c = edge(x, t, null, lora), edge(x, t, cond, lora)  # LoRA and LoCon
        du = float((adapted_u - edge(x, t, null)).abs().mean())
        dc = float((adapted_c - edge(x, t, cond)).abs().mean())
    return du, dc


def test_keep_and_preserve_move_the_unconditional_prediction_less_than_cloud_does():
    # the unconditional branch is shared by every prompt's guided step: 'keep' holds it towards the shipped
    # edge's by a loss at every distillation sample, 'preserve' (study) by preservation on the empty prompt,
    # 'cloud' pulls it towards the cloud's; each must still change the subject's conditional branch
    (ku, kc), (cu, cc), (pu, pc) = _branch_changes("keep"), _branch_changes("cloud"), _branch_changes("preserve")
    assert kc > 0 and cc > 0 and pc > 0
    assert ku < cu and pu < cu, (ku, pu, cu)
    assert ku / kc < cu / cc, (ku / kc, cu / cc)
    # what holds it under 'preserve' is the empty prompt's share of the preservation term: without that term it moves more
    free_u, _ = _branch_changes("preserve", "--w-preserve", "0")
    assert pu < free_u, (pu, free_u)


def test_rollout_losses_compare_the_adapted_samplers_end_with_each_target():
    from train.diffusion import sample_batch
    from train.makd import GUIDANCE, SAMPLER_STEPS, rollout_losses
    edge = load_unet(ROOT / "models" / "torch" / "edge_gai.pt")
    for p in edge.parameters():
        p.requires_grad_(False)
    gen = torch.Generator().manual_seed(4)
    ctx, noise, null = torch.randn(2, 16, 64, generator=gen), torch.randn(2, 4, 8, 8, generator=gen), torch.randn(1, 16, 64, generator=gen)
    sites = edge.lora_sites()
    lora = {k: (torch.randn(2, i, generator=gen) / i ** 0.5, torch.zeros(o, 2, requires_grad=True)) for k, (i, o) in sites.items()}
    own_end = sample_batch(edge, ctx, null, noise, SAMPLER_STEPS, GUIDANCE)
    # B = 0: the adapted sampler is the shipped one, so it ends exactly at its own end and elsewhere at a distance
    subject, other = rollout_losses(edge, lora, null, (ctx, noise, own_end + 1.0), (ctx, noise, own_end), "cpu")
    assert abs(subject.item() - 1.0) < 1e-4 and other.item() < 1e-8
    subject.backward()
    assert any(b.grad is not None and b.grad.abs().sum() > 0 for _, b in lora.values())
    only_other = rollout_losses(edge, lora, null, None, (ctx, noise, own_end), "cpu")
    assert only_other[0].item() == 0 and only_other[1].item() < 1e-8


def test_on_policy_states_are_the_edges_own_states_with_the_clouds_answers():
    from train.diffusion import sample_batch
    from train.makd import GUIDANCE, SAMPLER_STEPS, on_policy_states
    from train.text_encoder import load_text_encoder
    from train.vocab import load_vocab
    edge = load_unet(ROOT / "models" / "torch" / "edge_gai.pt")
    cloud = load_unet(ROOT / "models" / "torch" / "cloud_gai.pt")
    text = load_text_encoder(ROOT / "models" / "torch" / "text_encoder.pt")
    vocab = load_vocab()
    ids = torch.tensor([vocab.encode(p) for p in ("a large red star on grass", "two small blue stars on sand")])
    with torch.no_grad():
        null = text(torch.tensor([vocab.null_ids()]))
        lora = {k: (torch.randn(2, i) / i ** 0.5, torch.zeros(o, 2)) for k, (i, o) in edge.lora_sites().items()}
        rng = np.random.default_rng(0)
        s = on_policy_states(edge, lora, cloud, text, None, ids, ids, null, 3, (4, 5), torch.Generator().manual_seed(9), rng, "cpu")
        n = 3
        # the states are where the (here unchanged) edge's own sampler goes from the same noise, and only the
        # ones the next 4 steps draw (5 each, with replacement) are kept, each once
        check = np.random.default_rng(0)
        pi = torch.from_numpy(check.integers(0, 2, n))
        picks = check.integers(0, n * SAMPLER_STEPS, (4, 5))
        drawn = np.unique(picks)
        noise = torch.randn(n, 4, 8, 8, generator=torch.Generator().manual_seed(9))
        seen = []
        sample_batch(edge, text(ids[pi]), null, noise, SAMPLER_STEPS, GUIDANCE, on_step=lambda xf, t, ec, eu: seen.append(xf))
        visited = torch.cat(seen)
        assert s["x"].shape[0] == len(drawn) < 4 * 5 + 1
        assert torch.allclose(s["x"], visited[torch.from_numpy(drawn)])
        assert s["draws"].shape == (4, 5)
        assert torch.allclose(s["x"][s["draws"]], visited[torch.from_numpy(picks)])  # each step gets its own draws
        assert torch.equal(s["prompt"], pi.repeat(SAMPLER_STEPS)[torch.from_numpy(drawn)])
        # and the targets are the cloud's predictions at those states, for each state's own prompt
        for j in (0, len(drawn) - 1):
            expect = cloud(s["x"][j:j + 1], s["t"][j:j + 1].float(), text(ids[s["prompt"][j:j + 1]]))
            assert torch.allclose(s["eps_cond"][j:j + 1], expect, atol=1e-5)
            expect_u = cloud(s["x"][j:j + 1], s["t"][j:j + 1].float(), null)
            assert torch.allclose(s["eps_uncond"][j:j + 1], expect_u, atol=1e-5)


def test_timestep_weights_favour_noisy_steps_with_mean_one_and_weight_each_samples_error():
    from train.makd import timestep_weights, weighted_mse
    import torch.nn.functional as F
    t = torch.tensor([0, 249, 499, 999])
    assert timestep_weights(t, 0) is None
    w = timestep_weights(t, 1.0)
    assert abs(float(w.mean()) - 1.0) < 1e-6
    assert bool((w[1:] > w[:-1]).all())  # later in t = noisier = heavier
    pred, target = torch.zeros(4, 2, 2), torch.zeros(4, 2, 2)
    target[0] = 1.0  # only the least noisy sample is wrong
    assert torch.isclose(weighted_mse(pred, target, None), F.mse_loss(pred, target))
    assert float(weighted_mse(pred, target, w)) < float(F.mse_loss(pred, target))
    target[0], target[3] = 0.0, 1.0  # only the noisiest one
    assert float(weighted_mse(pred, target, w)) > float(F.mse_loss(pred, target))


def test_several_metaword_tokens_per_word_are_study_only_and_keep_the_first_slot_the_adapter_records(tmp_path):
    from train.makd import place_metaword, word_slots
    from train.vocab import load_vocab
    vocab = load_vocab()
    slots = {"star": 0, "stars": 1}
    assert word_slots(slots, 1) == {"star": [0], "stars": [1]}
    ws = word_slots(slots, 3)
    assert ws == {"star": [0, 2, 3], "stars": [1, 4, 5]}  # distinct slots, each word's own first
    assert place_metaword("a red star on grass", slots, vocab) == f"a red {vocab.metaword_token(0)} on grass"
    assert place_metaword("a red star on grass", slots, vocab, 3) == "a red " + " ".join(vocab.metaword_token(i) for i in ws["star"]) + " on grass"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "train.makd", "--subject", "shape:star", "--quick", "--metaword-tokens", "2",
                        "--out", str(tmp_path / "x.dkga")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "study option" in r.stderr and not (tmp_path / "x.dkga").exists()


def test_lora_plus_groups_give_b_its_multiple_of_the_rate_and_a_and_locon_the_base_rate():
    from train.makd import Adapter, lora_param_groups
    gen = torch.Generator().manual_seed(0)
    adapter = Adapter({"s.to_k": (8, 4), "s.to_v": (8, 4)}, 2, torch.zeros(1, 64), True, False, gen)
    conv = torch.nn.Conv2d(2, 2, 1)
    a_group, b_group = lora_param_groups(adapter, conv, 3e-3, 4.0)
    assert {id(p) for p in a_group["params"]} == {id(p) for p in [*adapter.a.values(), *conv.parameters()]}
    assert {id(p) for p in b_group["params"]} == {id(p) for p in adapter.b.values()}
    assert a_group["lr"] == a_group["peak"] == 3e-3
    assert abs(b_group["lr"] - 1.2e-2) < 1e-12 and b_group["peak"] == b_group["lr"]
    _, same = lora_param_groups(adapter, None, 3e-3, 1.0)
    assert same["lr"] == 3e-3  # ratio 1: the rate the trainer always used


def test_coupled_denoising_uses_the_noise_each_latents_cloud_trajectory_started_from():
    from train.makd import denoising_noise
    fresh = torch.randn(3, 4, 8, 8)
    trajectory_noise = torch.randn(10, 4, 8, 8)
    idx = torch.tensor([7, 0, 7])
    assert denoising_noise("fresh", fresh, trajectory_noise, idx) is fresh
    for mode in ("coupled", "coupled-guided"):
        got = denoising_noise(mode, fresh, trajectory_noise, idx)
        assert torch.equal(got, trajectory_noise[idx])
