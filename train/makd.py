"""MAKD: metaword-aided knowledge distillation from the cloud-GAI into a LoRA adapter for the edge-GAI.

    python3 -m train.makd --subject "shape:star" [--steps 1200] [--batch 16] [--rank 16] [--conv-rank 8] [--mode makd|lora|metaword]
                          [--device cpu|cuda] [--threads 1] --out FILE.dkga [--quick]

For one subject (an attribute:value such as `shape:star`, several joined by commas, or a prompt within the
vocabulary such as "a purple star"):

1. Distillation set. The cloud-GAI samples latents for prompts drawn from the world's grammar that name
   the subject, with every other attribute varied (the benchmark's prompts are excluded, and the noise
   comes from torch's generator, never from the benchmark's SeededRng seeds). The sampler is the one the
   edge will run: DDIM, 20 steps, classifier-free guidance 4. Every step of every trajectory is kept:
   (x_t, t, cloud eps for the prompt, cloud eps unconditional).
2. Training. The edge-GAI's weights stay frozen; it learns a rank-r LoRA update on the attention
   projections (makd_format.DEFAULT_SITES, r = 16), a rank-c LoCon update on every convolution (--conv-rank,
   c = 8: a k x k convolution to c channels and a 1 x 1 back, B zero at the start; the edge's graph merges it
   into the kernel) and a metaword: one embedding per word form of the subject
   (`star` and `stars` get a slot each), which *replaces* that word in the edge's prompt. The metaword
   starts as the word's own embedding and the LoRA B matrices start at zero, so training starts from the
   base edge model exactly. Losses, summed:
   - output distillation on the cloud's own sampling trajectories: the edge's guided eps for (x_t, t,
     prompt) matches the cloud's guided eps, while its unconditional eps stays the shipped edge's (every
     prompt's guidance is built on it, so moving it moved every prompt's image: issue 14's study); this is
     what decides the image the edge draws. `--uncond preserve` (tried, not the default) builds the guided
     eps on the shipped edge's unconditional eps instead and holds the adapted edge's there by preservation
     on the empty prompt: one forward in three fewer per step for the same gap, but other prompts moved more
     (docs/makd.md). `--uncond cloud` distils both branches to the cloud's instead;
     The states are the cloud's own trajectories and, with `--on-policy-every N`, also the adapted edge's
     own every N steps (its sampler from fresh noise on 32 distillation prompts; half of each batch): the
     teacher's answer where the student actually goes, since the edge drifts off the cloud's paths (issue 14:
     +9 points of gap closed on the mean of 5 subjects at N = 25 with batch 48; the default since 2026-12-07,
     now N = 60 with batch 16, docs/makd.md). The refresh draws the states the next N steps will take and asks
     the cloud only at those (about half of the visited ones);
   - optionally (`--w-rollout`, study): the edge's whole sampler from the cloud's noise ends at the cloud's
     final latent, backpropagated through every step;
   - denoising on the cloud's final latents (random t, fresh noise), the classic diffusion loss;
   - preservation: on prompts that do not name the subject, the adapted edge's eps matches the base
     edge's (so the edge still follows other prompts). The unconditional and the preservation targets are
     the shipped edge's: computed without the LoRA and LoCon pairs.
   Steps: 1200, each with 16 distillation, 8 denoising and 8 preservation samples (since 2026-12-07, late
   evening; 500 steps of 48 / 24 / 24 before): more, smaller steps for the same CPU seconds closed ~5 points
   more of star's gap in the levers study (docs/makd.md).
   Schedule (mode makd): the metaword and the LoRA train together from the first step, on one cosine
   learning-rate decay each (metaword 1e-2, LoRA and LoCon 3e-3). `--metaword-frac F` trains the metaword alone for
   the first F of the steps instead ("metaword first, then both"); on the tuning subject (shape:star) that
   left the LoRA fewer steps and scored lower (docs/makd.md). Modes lora and metaword train one part for
   all the steps, with the same losses, data and number of steps: the ablations.
3. The adapter file (.dkga, see train/makd_format.py) records the subject, the base models' sha256, the
   ranks (rank, conv_rank), the metaword placement, the tensors, the command, seed, wall time and mode.

Progress goes to stdout as JSON lines (train/common.py Progress); the last line is {"event": "done", ...}.
"""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .common import MODELS_DIR, Progress, base_parser, module_command, setup
from .diffusion import TRAIN_TIMESTEPS, add_noise, alphas_cumprod, sample_batch, sample_batch_differentiable
from .eval_prompts import fully_specified
from .gai import load_unet
from .makd_format import AdapterHeader, select_sites, write_adapter
from .nets import UNet
from .text_encoder import load_text_encoder
from .vocab import Vocab, load_vocab, split_words
from .world import LABEL_VALUES, sample_scene

MODES = ("makd", "lora", "metaword")
DISTILL_SEED = 7100  # prompts of the distillation set come from this seed; eval prompts use 5000
GUIDANCE = 4.0
SAMPLER_STEPS = 20


# ---- the subject ---------------------------------------------------------------------------------

def parse_subject(subject: str, vocab: Vocab) -> dict[str, str]:
    """'shape:star', 'shape:star,colour:purple' or a prompt ('a purple star') -> {attribute: value}."""
    subject = subject.strip()
    if not subject:
        raise SystemExit("--subject is empty; give an attribute:value such as shape:star, or a prompt")
    out: dict[str, str] = {}
    if ":" in subject:
        for part in subject.split(","):
            attr, _, value = part.strip().partition(":")
            if attr not in LABEL_VALUES or value not in LABEL_VALUES[attr] or value == "none":
                known = ", ".join(f"{a}:{v}" for a, vs in LABEL_VALUES.items() for v in vs if v != "none")
                raise SystemExit(f"--subject: unknown attribute:value '{part.strip()}'; known: {known}")
            out[attr] = value
    else:
        vocab.encode(subject)  # unknown words get the tokenizer's message
        words = vocab.word_to_attribute()
        for w in subject.lower().split():
            if w in words and words[w][0] != "count":
                out[words[w][0]] = words[w][1]
        if not out:
            raise SystemExit(f"--subject '{subject}' names no attribute of the world (shape, colour, ...)")
    return out


def metaword_slots(subject: dict[str, str], vocab: Vocab) -> dict[str, int]:
    """Every word form that names the subject gets its own metaword slot, in attribute order."""
    slots: dict[str, int] = {}
    for attr, value in subject.items():
        for word in vocab.attributes[attr][value]:
            slots[word] = len(slots)
    if len(slots) > vocab.metaword_slots:
        raise SystemExit(f"the subject has {len(slots)} word forms; the text encoder has {vocab.metaword_slots} metaword slots")
    return slots


def word_slots(slots: dict[str, int], tokens_per_word: int) -> dict[str, list[int]]:
    """Each subject word's metaword slots when it is replaced by `tokens_per_word` learned tokens: its own slot
    first (the one an adapter file records), the extra ones after every word's first."""
    n, k = len(slots), tokens_per_word
    return {w: [s] + [n + s * (k - 1) + j for j in range(k - 1)] for w, s in slots.items()}


def place_metaword(prompt: str, slots: dict[str, int], vocab: Vocab, tokens_per_word: int = 1) -> str:
    """The edge's prompt when an adapter is loaded: each subject word is replaced by its <metaN> token.
    src/gsc/adapter.ts (placeMetaword) does exactly the same. With tokens_per_word > 1 (study only) each
    subject word becomes that many learned tokens, so the prompt grows."""
    words = split_words(prompt)  # lower case, punctuation stripped: as the tokenizer sees them
    ws = word_slots(slots, tokens_per_word)
    return " ".join(" ".join(vocab.metaword_token(i) for i in ws[w]) if w in ws else w for w in words)


def subject_prompts(subject: dict[str, str], n: int, seed: int, vocab: Vocab, exclude: set[str],
                    named: bool) -> list[str]:
    """n distinct grammar prompts that name the subject (named) or name none of it (not named)."""
    rng = np.random.default_rng(seed)
    out: dict[str, None] = {}
    for _ in range(200 * n):
        scene = sample_scene(rng, vocab, force=subject if named else None, allow_held_out=False)
        prompt = scene.prompt(vocab)
        keys = {f"{k}:{v}" for k, v in scene.attrs.items() if k in scene.mentioned}
        mentions = any(f"{k}:{v}" in keys for k, v in subject.items())
        if prompt in exclude or mentions != named:
            continue
        out[prompt] = None
        if len(out) == n:
            return list(out)
    raise SystemExit(f"could only draw {len(out)} of {n} prompts for {subject}")


def full_subject_prompts(subject: dict[str, str], n: int, seed: int, vocab: Vocab, exclude: set[str]) -> list[str]:
    """n distinct single-object prompts naming every attribute, the subject's fixed (the style of a prompt
    that says what it wants: 'a small green dotted star at the bottom on grass')."""
    rng = np.random.default_rng(seed)
    out: dict[str, None] = {}
    for _ in range(50 * n):
        out[fully_specified(rng, vocab, subject, {}, exclude)] = None
        if len(out) == n:
            return list(out)
    raise SystemExit(f"could only draw {len(out)} of {n} fully specified prompts for {subject}")


def eval_prompts(models_dir: Path) -> set[str]:
    path = models_dir / "eval" / "prompts.json"
    if not path.exists():
        return set()
    doc = json.loads(path.read_text())
    return {p for group in doc["subjects"].values() for p in group} | {h["prompt"] for h in doc["heldout"]}


# ---- the distillation set ------------------------------------------------------------------------

@torch.no_grad()
def cloud_trajectories(cloud: UNet, ctx: torch.Tensor, null_ctx: torch.Tensor, noise: torch.Tensor,
                       steps: int, guidance: float) -> dict[str, torch.Tensor]:
    """DDIM + CFG over the cloud for a batch; every step's (x_t, t, eps_cond, eps_uncond) and the final latents."""
    n = noise.shape[0]
    xs, tss, ecs, eus = [], [], [], []

    def keep(xf: torch.Tensor, t: int, ec: torch.Tensor, eu: torch.Tensor) -> None:
        xs.append(xf)
        tss.append(torch.full((n,), t, dtype=torch.int64, device=xf.device))
        ecs.append(ec)
        eus.append(eu)

    latents = sample_batch(cloud, ctx, null_ctx, noise, steps, guidance, on_step=keep)
    prompt_index = torch.arange(n).repeat(steps)  # on the CPU: it indexes CPU token ids
    return {"x": torch.cat(xs), "t": torch.cat(tss), "eps_cond": torch.cat(ecs), "eps_uncond": torch.cat(eus),
            "prompt": prompt_index, "latents": latents}


# ---- the adapter being trained -------------------------------------------------------------------

class Adapter(torch.nn.Module):
    def __init__(self, sites: dict[str, tuple[int, int]], rank: int, init_metaword: torch.Tensor,
                 use_lora: bool, use_metaword: bool, gen: torch.Generator):
        super().__init__()
        self.sites = sites
        self.use_lora, self.use_metaword = use_lora, use_metaword
        self.a = torch.nn.ParameterDict()
        self.b = torch.nn.ParameterDict()
        if use_lora:
            for name, (fin, fout) in sites.items():
                key = name.replace(".", "__")
                # A random, B zero: the update starts at exactly zero (Hu et al. 2021)
                self.a[key] = torch.nn.Parameter(torch.randn(rank, fin, generator=gen) / fin ** 0.5)
                self.b[key] = torch.nn.Parameter(torch.zeros(fout, rank))
        self.metaword = torch.nn.Parameter(init_metaword.clone(), requires_grad=use_metaword)

    def lora(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]] | None:
        if not self.use_lora:
            return None
        return {name: (self.a[name.replace(".", "__")], self.b[name.replace(".", "__")]) for name in self.sites}

    def lora_parameters(self) -> list[torch.nn.Parameter]:
        return list(self.a.values()) + list(self.b.values())


def lora_param_groups(adapter: Adapter, conv: torch.nn.Module | None, lr: float, b_ratio: float) -> list[dict]:
    """The optimizer's groups for the low-rank updates: A (and LoCon) at `lr`, B at `b_ratio` x `lr` (LoRA+,
    Hayou et al. 2024: B, which starts at zero, may learn faster; --lr-b-ratio, 1 by default). "peak" is the
    rate the cosine schedule starts from."""
    a = list(adapter.a.values()) + (list(conv.parameters()) if conv is not None else [])
    return [{"params": a, "lr": lr, "peak": lr},
            {"params": list(adapter.b.values()), "lr": lr * b_ratio, "peak": lr * b_ratio}]


def denoising_noise(mode: str, fresh: torch.Tensor, trajectory_noise: torch.Tensor, latent_index: torch.Tensor) -> torch.Tensor:
    """The noise the denoising term adds to the cloud's final latents: fresh draws (DreamBooth's loss), or, for
    'coupled' and 'coupled-guided' (--denoise-noise), the noise each latent's cloud trajectory started from
    (reflow: the cloud's own noise-to-image pairing, which the benchmark's same-noise comparison rewards)."""
    return fresh if mode == "fresh" else trajectory_noise[latent_index]


UNFREEZE_GROUPS = ("all", "conv", "attn", "temb", "norm")


def unfreeze_params(unet: UNet, spec: str) -> list[torch.nn.Parameter]:
    """The edge's own weights a study variant trains in full: all of them, or those of the convolutions,
    the attention blocks (the spatial transformers), the time embedding (time_mlp and each block's
    projection) or the normalizations."""
    groups = [g.strip() for g in spec.split(",") if g.strip()]
    for g in groups:
        if g not in UNFREEZE_GROUPS:
            raise SystemExit(f"--unfreeze: '{g}' is not one of {', '.join(UNFREEZE_GROUPS)}")
    chosen: dict[int, torch.nn.Parameter] = {}
    for name, m in unet.named_modules():
        kinds = {"all"}
        if isinstance(m, torch.nn.Conv2d):
            kinds.add("conv")
        if "attn" in name:
            kinds.add("attn")
        if name.startswith("time_mlp") or name.endswith(".temb"):
            kinds.add("temb")
        if isinstance(m, (torch.nn.GroupNorm, torch.nn.LayerNorm)):
            kinds.add("norm")
        if kinds & set(groups):
            for prm in m.parameters(recurse=False):
                chosen[id(prm)] = prm
    return list(chosen.values())


class ConvLora(torch.nn.Module):
    """LoCon: a low-rank update on every convolution of the edge, W * x + B(A(x)), A a k x k convolution to
    `rank` channels with the layer's stride and padding, B a 1x1 back; B starts at zero. It holds the
    parameters only: tensors() gives the update in the form UNet.forward's lora dict and the edge's ONNX graph
    take (lora.conv.<module>.a [r, in, k, k], .b [out, r]), and the edge merges it into each kernel
    (train/nets.py LoraConv2d). Merged, one convolution runs per site instead of three; on the 2-core machine
    that made a training run 7 % faster than the forward hooks used until 2026-12-07 (docs/makd.md)."""

    def __init__(self, unet: UNet, rank: int, gen: torch.Generator):
        super().__init__()
        self.keys: dict[str, str] = {}  # site (conv.<module path>, as UNet.conv_sites() names it) -> key in a, b
        self.a = torch.nn.ModuleDict()
        self.b = torch.nn.ModuleDict()
        for name, m in unet.named_modules():
            if not isinstance(m, torch.nn.Conv2d):
                continue
            key = name.replace(".", "__")
            a = torch.nn.Conv2d(m.in_channels, rank, m.kernel_size, m.stride, m.padding, bias=False)
            with torch.no_grad():
                a.weight.copy_(torch.randn(a.weight.shape, generator=gen) / (m.in_channels * m.kernel_size[0] * m.kernel_size[1]) ** 0.5)
            b = torch.nn.Conv2d(rank, m.out_channels, 1, bias=False)
            torch.nn.init.zeros_(b.weight)
            self.a[key], self.b[key] = a, b
            self.keys[f"conv.{name}"] = key
        self.sites = list(self.keys)
        if set(self.sites) != set(unet.conv_sites()):
            raise RuntimeError(f"the edge's convolutions {sorted(self.sites)} are not its LoCon sites {sorted(unet.conv_sites())}")

    def tensors(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """site -> (A [r, in, k, k], B [out, r]): what UNet.forward's lora dict and the ONNX graph take."""
        return {site: (self.a[key].weight, self.b[key].weight[:, :, 0, 0]) for site, key in self.keys.items()}


def adapted_pairs(adapter: Adapter, conv: ConvLora | None) -> dict[str, tuple[torch.Tensor, torch.Tensor]] | None:
    """Every low-rank pair the adapted edge runs with, attention LoRA and LoCon, as UNet.forward takes them;
    None without a LoRA (the edge as shipped)."""
    pairs = adapter.lora()
    if pairs is None:
        return None
    return {**pairs, **(conv.tensors() if conv is not None else {})}


@torch.no_grad()
def shipped_uncond(edge: UNet, x: torch.Tensor, t: torch.Tensor, null_ctx: torch.Tensor, chunk: int) -> torch.Tensor:
    """The edge's unconditional prediction at states x, as shipped (no LoRA or LoCon pairs passed)."""
    return torch.cat([edge(x[i:i + chunk], t[i:i + chunk].float(), null_ctx.expand(x[i:i + chunk].shape[0], -1, -1))
                      for i in range(0, x.shape[0], chunk)])


def timestep_weights(t: torch.Tensor, power: float) -> torch.Tensor | None:
    """Per-sample weights ((t + 1) / T)^power, mean 1 over the batch: power > 0 weighs the noisy early steps,
    where the sampler lays out the scene and the subject's shape, above the late ones that refine texture.
    None for power 0 (uniform)."""
    if power == 0:
        return None
    w = ((t.float() + 1) / TRAIN_TIMESTEPS) ** power
    return w / w.mean()


def weighted_mse(pred: torch.Tensor, target: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
    """F.mse_loss, each sample's squared error weighted by w (None: unweighted)."""
    if w is None:
        return F.mse_loss(pred, target)
    per = (pred - target).pow(2).flatten(1).mean(1)
    return (per * w.to(per.device)).mean()


def on_policy_states(edge: UNet, lora, cloud: UNet, text, metaword, meta_ids: torch.Tensor, ids: torch.Tensor,
                     null_ctx: torch.Tensor, n: int, draws: tuple[int, int], gen: torch.Generator, rng, device
                     ) -> dict[str, torch.Tensor]:
    """States the *adapted edge's* sampler visits (fresh noise, n distillation prompts), with the cloud's
    conditional and unconditional predictions at them: the teacher's answer where the student actually goes
    (DAgger-style), since the edge drifts off the cloud's trajectories it was distilled on.

    `draws` = (steps, per step): the training steps until the next refresh take that many of the visited
    states, uniformly with replacement. They are drawn here, and only the states drawn get the cloud's
    predictions: about half of the n x SAMPLER_STEPS visited at the default 60 x 8 draws from 640, and the
    cloud's predictions were most of a refresh's cost (docs/makd.md). Returns the drawn states (x, t, eps_cond,
    eps_uncond, prompt) and `draws` [steps, per step], each step's rows into them."""
    pi = torch.from_numpy(rng.integers(0, ids.shape[0], n))
    ctx_edge = text(meta_ids[pi].to(device), metaword) if metaword is not None else text(ids[pi].to(device))
    ctx_cloud = text(ids[pi].to(device))
    xs, tss = [], []
    noise = torch.randn(n, 4, 8, 8, generator=gen).to(device)
    sample_batch(lambda x, t, c: edge(x, t, c, lora), ctx_edge, null_ctx, noise, SAMPLER_STEPS, GUIDANCE,
                 on_step=lambda xf, t, ec, eu: (xs.append(xf), tss.append(torch.full((n,), t, dtype=torch.int64, device=device))))
    picks = rng.integers(0, n * len(xs), draws)
    drawn, rows = np.unique(picks, return_inverse=True)
    sel = torch.from_numpy(drawn)  # on the CPU, like every index tensor here
    x, t = torch.cat(xs)[sel], torch.cat(tss)[sel]
    local = torch.arange(n).repeat(len(xs))[sel]  # each state's prompt among the n
    m = x.shape[0]
    both = cloud(torch.cat([x, x]), torch.cat([t, t]).float(), torch.cat([ctx_cloud[local], null_ctx.expand(m, -1, -1)]))
    return {"x": x, "t": t, "eps_cond": both[:m], "eps_uncond": both[m:], "prompt": pi[local],
            "draws": torch.from_numpy(rows.reshape(draws))}


def rollout_losses(edge: UNet, lora, null_ctx: torch.Tensor, subject_part, other_part, device) -> tuple[torch.Tensor, torch.Tensor]:
    """The rollout terms: the adapted edge's whole sampler from each part's noise, in one batch, against each
    part's target final latents. A part is (contexts, noise, target latents), or None for a term not asked for."""
    parts = [p for p in (subject_part, other_part) if p is not None]
    end = sample_batch_differentiable(lambda x, t, c: edge(x, t, c, lora), torch.cat([p[0] for p in parts]), null_ctx,
                                      torch.cat([p[1] for p in parts]), SAMPLER_STEPS, GUIDANCE)
    ends = iter(torch.split(end, [p[1].shape[0] for p in parts]))
    zero = torch.zeros((), device=device)
    subject = F.mse_loss(next(ends), subject_part[2]) if subject_part is not None else zero
    other = F.mse_loss(next(ends), other_part[2]) if other_part is not None else zero
    return subject, other


def make_parser():
    p = base_parser(__doc__)
    p.add_argument("--subject", required=True, help="attribute:value (e.g. shape:star), several joined by commas, or a prompt")
    p.add_argument("--mode", choices=MODES, default="makd", help="makd (LoRA + metaword), or the ablations lora / metaword")
    p.add_argument("--steps", type=int, default=0, help="training steps (default 1200 of batch 16 since 2026-12-07 evening: more, smaller steps for the same CPU closed more of the gap than 500 of 48, docs/makd.md; --quick 6)")
    p.add_argument("--rank", type=int, default=16, help="LoRA rank (16 since 2026-12-07: 200 KB, and 5 points more of the gap than 4; docs/makd.md)")
    p.add_argument("--sites", default="all", help="where the LoRA goes: all, cross, self, or a comma list of site prefixes")
    p.add_argument("--prompts", type=int, default=0, help="distillation prompts (default 128; --quick 8)")
    p.add_argument("--batch", type=int, default=0, help="samples per distillation term and step (default 16, 48 before 2026-12-07 evening; --quick 16)")
    p.add_argument("--prompt-style", choices=("mixed", "full"), default="mixed",
                   help="distillation prompts: mixed (the grammar's, 2-10 words, some with two objects) or full "
                        "(one object, every attribute named)")
    p.add_argument("--lr-lora", type=float, default=3e-3)
    p.add_argument("--lora-dtype", choices=("float32", "float16"), default="float16",
                   help="how the file stores the LoRA and LoCon matrices (float16, the default: half the bytes, 239 KB "
                        "at the default ranks instead of 477; trained in float32 either way)")
    p.add_argument("--lr-b-ratio", type=float, default=1.0,
                   help="the LoRA B matrices' learning rate as a multiple of --lr-lora (LoRA+; 1: the same rate)")
    p.add_argument("--lr-metaword", type=float, default=1e-2)
    p.add_argument("--metaword-frac", type=float, default=0.0,
                   help="makd: share of the steps that train the metaword alone before both train (0: both from the start)")
    p.add_argument("--metaword-init", choices=("word", "random"), default="word",
                   help="word: start the metaword at the subject word's embedding (a no-op at step 0); random: a "
                        "random direction of the same norm, so the metaword must carry the subject on its own")
    p.add_argument("--w-distill", type=float, default=1.0)
    p.add_argument("--w-denoise", type=float, default=0.5)
    p.add_argument("--w-preserve", type=float, default=2.0,
                   help="weight of the preservation loss (2 since 2026-12-07: with the LoCon update at 1 the star "
                        "adapter moved the other prompts by 0.021, at 2 by at most 0.008; docs/makd.md)")
    p.add_argument("--w-rollout", type=float, default=0.0,
                   help="weight of the rollout loss: the edge's whole sampler (with the adapter) from the cloud's "
                        "noise must end at the cloud's final latent; backpropagates through every sampler step")
    p.add_argument("--w-rollout-preserve", type=float, default=0.0,
                   help="weight of the rollout preservation: on prompts without the subject the adapted edge's "
                        "sampler must end where the shipped edge's does")
    p.add_argument("--uncond", choices=("keep", "preserve", "cloud"), default="keep",
                   help="keep (default): hold the unconditional prediction at the shipped edge's (every prompt's "
                        "guidance uses it) and fit the guided prediction to the cloud's; preserve (tried 2026-12-07, "
                        "night 2, not the default: a quarter less CPU for the same gap, but one adapter moved other "
                        "prompts by more than 0.02, docs/makd.md): the same targets, with the guided prediction built "
                        "on the shipped edge's unconditional one (no unconditional forward in the distillation term) "
                        "and the empty prompt as half of the preservation samples, which hold the adapted edge's "
                        "there; cloud (before issue 14's study): distil the unconditional prediction towards the "
                        "cloud's too")
    p.add_argument("--on-policy-every", type=int, default=60,
                   help="every N steps, run the adapted edge's own sampler on some distillation prompts and add its "
                        "states, with the cloud's predictions there, to the distillation batch (default 60, with batch 16: as many "
                        "refreshes per run as every 25 with batch 48; on-policy states close ~9 more points of the gap "
                        "than without, docs/makd.md; 0: off, the adapters before)")
    p.add_argument("--on-policy-prompts", type=int, default=32, help="prompts per on-policy refresh")
    p.add_argument("--denoise-noise", choices=("fresh", "coupled", "coupled-guided"), default="fresh",
                   help="the denoising term's noise: fresh (DreamBooth), or the noise the cloud's trajectory to that latent "
                        "started from (reflow: the cloud's own noise-to-image coupling), on the conditional branch or on "
                        "the guided step")
    p.add_argument("--t-weight-power", type=float, default=0.0,
                   help="study: weigh the guided distillation by ((t + 1) / T)^P; P > 0 favours the noisy early steps "
                        "(0: uniform, the default; on star P = 1 closed less of the gap, docs/makd.md)")
    p.add_argument("--on-policy-share", type=float, default=0.5, help="share of each batch drawn from the edge's states")
    p.add_argument("--rollout-batch", type=int, default=8, help="prompts per rollout (each term)")
    p.add_argument("--rollout-every", type=int, default=1, help="a rollout every N training steps")
    p.add_argument("--models-dir", type=Path, default=MODELS_DIR, help="where models/torch/*.pt and manifest.json are")
    p.add_argument("--out", type=Path, required=True, help="the adapter file to write (.dkga)")
    p.add_argument("--metaword-tokens", type=int, default=1,
                   help="study only (train/makd_study.py): each subject word becomes this many learned tokens")
    p.add_argument("--conv-rank", type=int, default=8,
                   help="rank of the LoCon update on every convolution of the edge (default 8 since 2026-12-07: with "
                        "500 steps it closes what the attention LoRA alone cannot, docs/makd.md; 0: attention only)")
    p.add_argument("--lr-full", type=float, default=1e-4, help="study only: learning rate of the --unfreeze weights")
    p.add_argument("--unfreeze", default="",
                   help="study only: also train these edge weights in full (comma list of all, conv, attn, temb, norm)")
    p.set_defaults(threads=1)
    return p
def distill(args) -> dict:
    """Builds the distillation set from the cloud and trains the adapter; returns it with what was used."""
    t_start = time.time()
    cpu_start = time.process_time()  # CPU seconds: what the run costs without other jobs' contention
    device = setup(args)
    quick = args.quick
    steps = args.steps or (6 if quick else 1200)
    n_prompts = args.prompts or (8 if quick else 128)
    vocab = load_vocab()
    subject = parse_subject(args.subject, vocab)
    slots = metaword_slots(subject, vocab) if args.mode != "lora" else {}
    k_tokens = args.metaword_tokens
    if k_tokens < 1 or len(slots) * k_tokens > vocab.metaword_slots:
        raise SystemExit(f"--metaword-tokens {k_tokens}: the subject's {len(slots)} word forms need {len(slots) * k_tokens} "
                         f"metaword slots; the text encoder has {vocab.metaword_slots}")
    use_lora = args.mode in ("makd", "lora")
    use_meta = args.mode in ("makd", "metaword")
    if args.rank < 1 or args.rank > 64:
        raise SystemExit(f"--rank must be 1..64, got {args.rank}")
    if args.conv_rank < 0 or args.conv_rank > 64:
        raise SystemExit(f"--conv-rank must be 0..64 (0: no convolution update), got {args.conv_rank}")

    manifest = json.loads((args.models_dir / "manifest.json").read_text())
    base_sha = manifest["models"]["edge_gai"]["files"]["edge_gai.onnx"]["sha256"]
    text_sha = manifest["models"]["text_encoder"]["files"]["text_encoder.onnx"]["sha256"]
    text = load_text_encoder(args.models_dir / "torch" / "text_encoder.pt").to(device)
    cloud = load_unet(args.models_dir / "torch" / "cloud_gai.pt").to(device)
    edge = load_unet(args.models_dir / "torch" / "edge_gai.pt").to(device)
    for m in (text, cloud, edge):
        for prm in m.parameters():
            prm.requires_grad_(False)
    sites = select_sites(edge.lora_sites(), args.sites)
    total_work = steps + SAMPLER_STEPS
    progress = Progress(f"makd:{args.subject}:{args.mode}", total_work, every_s=1.0)

    # 1. distillation set from the cloud
    exclude = eval_prompts(args.models_dir)
    if args.prompt_style == "full":
        prompts = full_subject_prompts(subject, n_prompts, DISTILL_SEED + args.seed, vocab, exclude)
    else:
        prompts = subject_prompts(subject, n_prompts, DISTILL_SEED + args.seed, vocab, exclude, named=True)
    others = subject_prompts(subject, max(8, n_prompts // 2), DISTILL_SEED + 50 + args.seed, vocab, exclude, named=False)
    gen = torch.Generator().manual_seed(args.seed)
    ids = torch.tensor([vocab.encode(pr) for pr in prompts])
    meta_ids = torch.tensor([vocab.encode(place_metaword(pr, slots, vocab, k_tokens)) for pr in prompts])
    other_ids = torch.tensor([vocab.encode(pr) for pr in others])
    null = torch.tensor([vocab.null_ids()])
    with torch.no_grad():
        ctx_cloud = text(ids.to(device))
        null_ctx = text(null.to(device))
        other_ctx = text(other_ids.to(device))
    noise = torch.randn(n_prompts, 4, 8, 8, generator=gen).to(device)
    traj = {}
    chunk = 64
    for s in range(0, n_prompts, chunk):
        part = cloud_trajectories(cloud, ctx_cloud[s:s + chunk], null_ctx, noise[s:s + chunk], SAMPLER_STEPS, GUIDANCE)
        part["prompt"] = part["prompt"] + s
        for k, v in part.items():
            traj.setdefault(k, []).append(v)
    traj = {k: torch.cat(v) for k, v in traj.items()}
    keep_uncond = args.uncond in ("keep", "preserve") and use_lora
    if keep_uncond:  # the shipped edge's unconditional prediction at every state, once (not again every step)
        traj["base_uncond"] = shipped_uncond(edge, traj["x"], traj["t"], null_ctx, chunk * SAMPLER_STEPS)
    rolling = args.w_rollout > 0 or args.w_rollout_preserve > 0
    if args.w_rollout_preserve > 0:
        # where the shipped edge's sampler ends on the other prompts: what the rollout preservation keeps
        other_noise = torch.randn(len(others), 4, 8, 8, generator=gen).to(device)
        other_latents = sample_batch(edge, other_ctx, null_ctx, other_noise, SAMPLER_STEPS, GUIDANCE)
    progress.update(SAMPLER_STEPS, phase=0)
    set_s = time.time() - t_start

    # 2. the adapter
    word_emb = text.token_embedding.weight.detach()
    init_meta = torch.zeros(vocab.metaword_slots, word_emb.shape[1], device=device)
    for word, word_slot_list in word_slots(slots, k_tokens).items():
        own = word_emb[vocab.index(word)]
        for slot in word_slot_list:
            if args.metaword_init == "word":
                init_meta[slot] = own
            else:  # away from the word: a random direction of the word's norm, so the edge starts without it
                direction = torch.randn(own.shape[0], generator=gen).to(device)
                init_meta[slot] = direction / direction.norm() * own.norm()
    adapter = Adapter(sites, args.rank, init_meta.cpu(), use_lora, use_meta, gen).to(device)
    unfrozen = unfreeze_params(edge, args.unfreeze) if use_lora and args.unfreeze else []
    base_edge = copy.deepcopy(edge) if unfrozen else edge  # preservation's target: the edge as shipped
    for prm in unfrozen:
        prm.requires_grad_(True)
    conv = ConvLora(edge, args.conv_rank, gen).to(device) if use_lora and args.conv_rank > 0 else None
    groups = []
    if use_lora:
        groups += lora_param_groups(adapter, conv, args.lr_lora, args.lr_b_ratio)
        if unfrozen:  # full weights move at a fine-tuning rate, not a low-rank update's
            groups.append({"params": unfrozen, "lr": args.lr_full, "peak": args.lr_full})
    if use_meta:
        groups.append({"params": [adapter.metaword], "lr": args.lr_metaword, "peak": args.lr_metaword})
    opt = torch.optim.Adam(groups)
    ac = torch.from_numpy(alphas_cumprod()).float().to(device)
    meta_steps = int(args.metaword_frac * steps) if args.mode == "makd" else 0
    n_traj = traj["x"].shape[0]
    rng = np.random.default_rng(args.seed)
    b = args.batch or 16
    running: dict[str, float] = {}
    policy = None
    for step in range(steps):
        lora_on = use_lora and step >= meta_steps
        for g in opt.param_groups:
            # cosine decay; the LoRA's schedule starts when it starts training
            start = meta_steps if g["params"][0] is not adapter.metaword else 0
            frac = max(0.0, (step - start)) / max(1, steps - start)
            g["lr"] = g["peak"] * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * frac)))
        lora = adapted_pairs(adapter, conv) if lora_on else None
        if args.on_policy_every > 0 and lora is not None and (step - meta_steps) % args.on_policy_every == 0:
            with torch.no_grad():
                window = (min(args.on_policy_every, steps - step), int(round(b * args.on_policy_share)))
                policy = on_policy_states(edge, lora, cloud, text, adapter.metaword if use_meta else None,
                                          meta_ids, ids, null_ctx, args.on_policy_prompts, window, gen, rng, device)
                if keep_uncond:
                    policy["base_uncond"] = shipped_uncond(base_edge, policy["x"], policy["t"], null_ctx, chunk * SAMPLER_STEPS)
        # (a) trajectory distillation: cond and uncond, at the cloud's states (and the edge's own, --on-policy-every)
        # index tensors stay on the CPU: they index CPU token ids and (allowed) device tensors alike
        n_on = policy["draws"].shape[1] if policy is not None else 0
        ti = torch.from_numpy(rng.integers(0, n_traj, b - n_on))
        src = {k: traj[k][ti] for k in ("x", "t", "eps_cond", "eps_uncond", "prompt") + (("base_uncond",) if keep_uncond else ())}
        if n_on:
            oi_ = policy["draws"][(step - meta_steps) % args.on_policy_every]  # this step's row: steps since the refresh
            src = {k: torch.cat([v, policy[k][oi_]]) for k, v in src.items()}
        pi = src["prompt"]
        ctx_meta = text(meta_ids[pi].to(device), adapter.metaword) if use_meta else ctx_cloud[pi]
        # (b) denoising on the cloud's final latents
        di = torch.from_numpy(rng.integers(0, n_prompts, b // 2))
        t_d = torch.randint(0, TRAIN_TIMESTEPS, (b // 2,), generator=gen).to(device)
        eps_d = denoising_noise(args.denoise_noise, torch.randn(b // 2, 4, 8, 8, generator=gen).to(device), noise, di)
        x_d = add_noise(traj["latents"][di], eps_d, t_d, ac)
        ctx_d = text(meta_ids[di].to(device), adapter.metaword) if use_meta else ctx_cloud[di]
        # (c) preservation on prompts without the subject, at trajectory states
        oi = torch.from_numpy(rng.integers(0, len(others), b // 2))
        pj = torch.from_numpy(rng.integers(0, n_traj, b // 2))
        x_p, t_p = traj["x"][pj], traj["t"][pj]

        # timestep weighting of the guided distillation (--t-weight-power; 0: uniform)
        t_w = timestep_weights(src["t"], args.t_weight_power)
        guided_d = args.denoise_noise == "coupled-guided"
        # --uncond preserve: the unconditional branch is not run here; the empty prompt takes the first half of
        # the preservation samples instead, so the adapted edge's unconditional prediction is held to the shipped one there
        uncond_by_preservation = args.uncond == "preserve" and lora is not None
        ctx_p = other_ctx[oi]
        if uncond_by_preservation:
            ctx_p = torch.cat([null_ctx.expand(b // 4, -1, -1), ctx_p[b // 4:]])
        n_u = 0 if uncond_by_preservation else b
        xs = torch.cat([src["x"], src["x"][:n_u], x_d, x_p] + ([x_d] if guided_d else []))
        ts = torch.cat([src["t"], src["t"][:n_u], t_d, t_p] + ([t_d] if guided_d else [])).float()
        ctx = torch.cat([ctx_meta, null_ctx.expand(n_u, -1, -1), ctx_d, ctx_p] + ([null_ctx.expand(b // 2, -1, -1)] if guided_d else []))
        pred = edge(xs, ts, ctx, lora)
        p_c, p_u, p_d, p_p, p_du = torch.split(pred, [b, n_u, b // 2, b // 2, b // 2 if guided_d else 0])
        if keep_uncond and lora is not None:  # the shipped edge's unconditional prediction is the target
            base_u = src["base_uncond"]
            guided_cloud = src["eps_uncond"] + GUIDANCE * (src["eps_cond"] - src["eps_uncond"])
            # the guided prediction, scaled back to one branch's size (the error in it is GUIDANCE× the branch's)
            if uncond_by_preservation:
                loss_distill = weighted_mse((base_u + GUIDANCE * (p_c - base_u)) / GUIDANCE, guided_cloud / GUIDANCE, t_w)
            else:
                loss_distill = weighted_mse((p_u + GUIDANCE * (p_c - p_u)) / GUIDANCE, guided_cloud / GUIDANCE, t_w) + F.mse_loss(p_u, base_u)
        else:
            loss_distill = F.mse_loss(p_c, src["eps_cond"]) + F.mse_loss(p_u, src["eps_uncond"])
        if guided_d:  # the step the sampler takes, scaled back to one branch's size as in (a)
            loss_denoise = F.mse_loss((p_du + GUIDANCE * (p_d - p_du)) / GUIDANCE, eps_d / GUIDANCE)
        else:
            loss_denoise = F.mse_loss(p_d, eps_d)
        if lora is not None:
            with torch.no_grad():
                base_p = base_edge(x_p, t_p.float(), ctx_p)
            loss_preserve = F.mse_loss(p_p, base_p)
        else:
            loss_preserve = torch.zeros((), device=device)  # without LoRA other prompts cannot change
        loss = args.w_distill * loss_distill + args.w_denoise * loss_denoise + args.w_preserve * loss_preserve
        loss_rollout = loss_rollout_preserve = torch.zeros((), device=device)
        if rolling and lora is not None and step % args.rollout_every == 0:
            subject_part = other_part = None
            if args.w_rollout > 0:
                ri = torch.from_numpy(rng.integers(0, n_prompts, args.rollout_batch))
                ctx_r = text(meta_ids[ri].to(device), adapter.metaword) if use_meta else ctx_cloud[ri]
                subject_part = (ctx_r, noise[ri], traj["latents"][ri])
            if args.w_rollout_preserve > 0:
                oj = torch.from_numpy(rng.integers(0, len(others), args.rollout_batch))
                other_part = (other_ctx[oj], other_noise[oj], other_latents[oj])
            loss_rollout, loss_rollout_preserve = rollout_losses(edge, lora, null_ctx, subject_part, other_part, device)
            loss = loss + args.w_rollout * loss_rollout + args.w_rollout_preserve * loss_rollout_preserve
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if not lora_on:
            for prm in (p for g in opt.param_groups if g["params"][0] is not adapter.metaword for p in g["params"]):
                prm.grad = None
        opt.step()
        for k, v in (("loss", loss.item()), ("distill", loss_distill.item()), ("denoise", loss_denoise.item()),
                     ("preserve", loss_preserve.item()), ("rollout", loss_rollout.item()),
                     ("rollout_preserve", loss_rollout_preserve.item())):
            running[k] = v if k not in running else 0.95 * running[k] + 0.05 * v
        progress.update(SAMPLER_STEPS + step + 1, phase=1 if step < meta_steps else 2, **running)

    return {"t_start": t_start, "cpu_start": cpu_start, "set_s": set_s, "adapter": adapter, "conv": conv, "sites": sites,
            "slots": slots, "metaword_tokens": k_tokens, "subject": subject, "use_lora": use_lora, "use_meta": use_meta, "steps": steps,
            "meta_steps": meta_steps, "n_prompts": n_prompts, "batch": b, "running": running, "device": device,
            "base_sha": base_sha, "text_sha": text_sha, "vocab": vocab, "edge": edge, "text": text, "cloud": cloud,
            "null_ctx": null_ctx, "base_edge": base_edge, "unfrozen_numbers": sum(p.numel() for p in unfrozen)}


def main() -> None:
    args = make_parser().parse_args()
    if args.unfreeze:
        raise SystemExit("--unfreeze is a study option (python3 -m train.makd_study): an adapter file carries low-rank "
                         "updates, not the edge's weights")
    if args.metaword_tokens != 1:
        raise SystemExit("--metaword-tokens is a study option (python3 -m train.makd_study): the app places one token "
                         "per subject word (src/gsc/adapter.ts), so an adapter file cannot carry several")
    r = distill(args)
    t_start, cpu_start, set_s, adapter, sites, slots = r["t_start"], r["cpu_start"], r["set_s"], r["adapter"], r["sites"], r["slots"]
    subject, use_lora, use_meta, steps, meta_steps = r["subject"], r["use_lora"], r["use_meta"], r["steps"], r["meta_steps"]
    n_prompts, b, running, device, base_sha, text_sha, vocab = r["n_prompts"], r["batch"], r["running"], r["device"], r["base_sha"], r["text_sha"], r["vocab"]
    # 3. the adapter file
    wall_s = time.time() - t_start
    cpu_s = time.process_time() - cpu_start
    tensors: dict[str, np.ndarray] = {}
    if use_lora:  # the attention projections' pairs in `sites` order, then the convolutions'
        for name, (a, bb) in adapted_pairs(adapter, r["conv"]).items():
            tensors[f"lora.{name}.a"] = a.detach().cpu().numpy()
            tensors[f"lora.{name}.b"] = bb.detach().cpu().numpy()
    if use_meta:
        tensors["metaword"] = adapter.metaword.detach().cpu().numpy()[: len(slots)]
    header = AdapterHeader(
        subject=args.subject, subject_attributes=subject, mode=args.mode,
        base_model={"edge_gai.onnx": base_sha, "text_encoder.onnx": text_sha},
        rank=args.rank if use_lora else 0,
        lora_sites=(list(sites) + (r["conv"].sites if r["conv"] is not None else [])) if use_lora else [],
        conv_rank=args.conv_rank if r["conv"] is not None else 0,
        metaword={"placement": "replace", "slots": slots,
                  "tokens": {w: vocab.metaword_token(s) for w, s in slots.items()}} if use_meta else None,
        training={"command": module_command("train.makd"), "seed": args.seed, "wall_time_s": round(wall_s, 1),
                  "cpu_time_s": round(cpu_s, 1), "distillation_set_s": round(set_s, 1), "steps": steps, "metaword_only_steps": meta_steps,
                  "prompts": n_prompts, "prompt_style": args.prompt_style, "sampler": f"DDIM {SAMPLER_STEPS} steps, guidance {GUIDANCE}",
                  "threads": torch.get_num_threads(), "device": str(device), "torch": torch.__version__,
                  "losses": {"distill": args.w_distill, "denoise": args.w_denoise, "preserve": args.w_preserve,
                             "unconditional": args.uncond, "rollout": args.w_rollout,
                             "rollout_preserve": args.w_rollout_preserve, "timestep_weight_power": args.t_weight_power,
                             "denoise_noise": args.denoise_noise},
                  "lr": {"lora": args.lr_lora, "lora_b_ratio": args.lr_b_ratio, "metaword": args.lr_metaword}, "batch": b,
                  "metaword_init": args.metaword_init,
                  "on_policy": {"every": args.on_policy_every, "prompts": args.on_policy_prompts, "share": args.on_policy_share},
                  "final": {k: round(v, 5) for k, v in running.items()}},
    )
    size = write_adapter(args.out, header, tensors,
                         {k: args.lora_dtype for k in tensors if k.startswith("lora.")})
    print(json.dumps({"event": "done", "out": str(args.out), "bytes": size, "wall_time_s": round(wall_s, 1), "cpu_time_s": round(cpu_s, 1),
                      "distillation_set_s": round(set_s, 1), "mode": args.mode, "subject": args.subject,
                      **{k: round(v, 5) for k, v in running.items()}}), flush=True)


if __name__ == "__main__":
    main()
