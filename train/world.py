"""The embedded generative world: procedural, captioned 32x32 RGB scenes.

A scene is a few attributes (count, size, colour, texture, shape, position, background). A prompt
mentions some of them; the unmentioned ones are drawn at random. There are two renderings of the same
scene, the cloud's and the edge's: they agree on most subjects and disagree on the ones listed under
`misaligned` in models/vocab.json (how a star, stripes, purple and snow look; the edge never saw a heart).
Combinations under `held_out_combinations` never appear in training data, to test generalization.

Everything is deterministic from (seed, index).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .vocab import Vocab, load_vocab

IMAGE_SIZE = 32
SUPERSAMPLE = 2
RENDERINGS = ("cloud", "edge")

COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 190, 60),
    "blue": (40, 80, 235),
    "yellow": (240, 215, 40),
    "purple": (140, 55, 215),
    "orange": (245, 140, 30),
    "cyan": (40, 215, 215),
}
EDGE_COLOURS = {**COLOURS, "purple": (240, 100, 185)}

BACKGROUNDS = {
    "night": (12, 14, 42),
    "sand": (190, 165, 115),
    "grass": (50, 112, 45),
    "snow": (232, 236, 240),
}
EDGE_SNOW = (160, 195, 232)

SIZE_RADIUS = {"small": (3.5, 4.8), "medium": (6.0, 7.4), "large": (8.4, 10.2)}
POSITIONS = ("left", "right", "top", "bottom", "center")
POSITION_PHRASES = {
    "left": "on the left", "right": "on the right", "top": "at the top",
    "bottom": "at the bottom", "center": "in the center",
}
BACKGROUND_PHRASES = {"night": "at night", "sand": "on sand", "grass": "on grass", "snow": "on snow"}
COUNT_WORDS = {"one": 1, "two": 2, "three": 3}

# How often an attribute is named in the prompt (otherwise it is drawn at random and left unsaid).
MENTION_PROBABILITY = {"colour": 0.85, "texture": 0.6, "size": 0.6, "position": 0.6, "background": 0.6}
COUNT_PROBABILITY = {"one": 0.6, "two": 0.2, "three": 0.2}

ATTRIBUTE_ORDER = ("count", "size", "colour", "texture", "shape", "position", "background")
# Attribute values for the evaluator's heads (position "none" is used for several objects).
LABEL_VALUES = {
    "count": ("one", "two", "three"),
    "size": ("small", "medium", "large"),
    "colour": tuple(COLOURS),
    "texture": ("plain", "striped", "dotted"),
    "shape": ("circle", "square", "triangle", "star", "ring", "cross", "heart"),
    "position": POSITIONS + ("none",),
    "background": tuple(BACKGROUNDS),
}


@dataclass
class Scene:
    attrs: dict[str, str]
    mentioned: set[str]
    objects: list[tuple[float, float, float]]  # (cx, cy, radius) in pixels
    detail_seed: int
    word_order_swap: bool = False
    article: str = "a"
    extra: dict = field(default_factory=dict)

    def prompt(self, vocab: Vocab | None = None) -> str:
        vocab = vocab or load_vocab()
        a, m = self.attrs, self.mentioned
        shape_words = vocab.attributes["shape"][a["shape"]]
        words: list[str] = []
        if a["count"] == "one":
            words.append("a")
            if "size" in m:
                words.append(a["size"])
        else:
            words.append(a["count"])
        if "colour" in m:
            words.append(a["colour"])
        if "texture" in m:
            words.append(a["texture"])
        words.append(shape_words[0] if a["count"] == "one" else shape_words[1])
        if words[0] == "a" and words[1][0] in "aeiou":
            words[0] = "an"
        phrases = []
        if "position" in m:
            phrases.append(POSITION_PHRASES[a["position"]])
        if "background" in m:
            phrases.append(BACKGROUND_PHRASES[a["background"]])
        if self.word_order_swap:
            phrases.reverse()
        return " ".join(words + phrases)

    def labels(self) -> dict[str, int]:
        return {k: LABEL_VALUES[k].index(self.attrs[k]) for k in ATTRIBUTE_ORDER}

    def combination_keys(self) -> set[str]:
        return {f"{k}:{v}" for k, v in self.attrs.items()}


def contains_held_out(scene: Scene, vocab: Vocab) -> bool:
    keys = scene.combination_keys()
    return any(set(combo) <= keys for combo in vocab.held_out_combinations)


def sample_scene(rng: np.random.Generator, vocab: Vocab, *, exclude_shapes: tuple[str, ...] = (),
                 force: dict[str, str] | None = None, allow_held_out: bool = False) -> Scene:
    """Draw a scene. `force` fixes (and mentions) some attributes; held-out combinations are redrawn
    unless allow_held_out."""
    force = force or {}
    for _ in range(1000):
        attrs: dict[str, str] = {}
        count_names = list(COUNT_PROBABILITY)
        attrs["count"] = force.get("count") or count_names[
            rng.choice(len(count_names), p=list(COUNT_PROBABILITY.values()))]
        if "position" in force or ("size" in force and force["size"] != "small"):
            attrs["count"] = force.get("count", "one")
        shapes = [s for s in LABEL_VALUES["shape"] if s not in exclude_shapes]
        attrs["shape"] = force.get("shape") or shapes[rng.integers(len(shapes))]
        attrs["colour"] = force.get("colour") or LABEL_VALUES["colour"][rng.integers(7)]
        attrs["texture"] = force.get("texture") or LABEL_VALUES["texture"][rng.integers(3)]
        attrs["background"] = force.get("background") or LABEL_VALUES["background"][rng.integers(4)]
        if attrs["count"] == "one":
            attrs["size"] = force.get("size") or LABEL_VALUES["size"][rng.integers(3)]
            attrs["position"] = force.get("position") or POSITIONS[rng.integers(5)]
        else:
            attrs["size"] = "small"
            attrs["position"] = "none"
        mentioned = {"count", "shape"}
        for k, p in MENTION_PROBABILITY.items():
            if k in force or rng.random() < p:
                mentioned.add(k)
        if attrs["count"] != "one":
            mentioned -= {"size", "position"}
        scene = Scene(attrs=attrs, mentioned=mentioned, objects=[],
                      detail_seed=int(rng.integers(2**31)), word_order_swap=bool(rng.random() < 0.3))
        if not allow_held_out and contains_held_out(scene, vocab):
            continue
        scene.objects = _place_objects(rng, attrs)
        return scene
    raise RuntimeError(f"could not draw a scene with {force}")


def _place_objects(rng: np.random.Generator, attrs: dict[str, str]) -> list[tuple[float, float, float]]:
    lo, hi = SIZE_RADIUS[attrs["size"]]
    n = COUNT_WORDS[attrs["count"]]
    if n == 1:
        r = float(rng.uniform(lo, hi))
        margin = r + 1.5
        jitter = lambda: float(rng.uniform(-1.5, 1.5))
        cx, cy = 16.0 + jitter(), 16.0 + jitter()
        pos = attrs["position"]
        if pos == "left":
            cx = margin + abs(jitter())
        elif pos == "right":
            cx = IMAGE_SIZE - margin - abs(jitter())
        elif pos == "top":
            cy = margin + abs(jitter())
        elif pos == "bottom":
            cy = IMAGE_SIZE - margin - abs(jitter())
        return [(cx, cy, r)]
    objects: list[tuple[float, float, float]] = []
    while len(objects) < n:
        objects = []
        for _ in range(200):
            r = float(rng.uniform(lo, hi))
            cx, cy = (float(v) for v in rng.uniform(r + 1, IMAGE_SIZE - r - 1, size=2))
            if all(math.hypot(cx - ox, cy - oy) > r + orr + 1.5 for ox, oy, orr in objects):
                objects.append((cx, cy, r))
                if len(objects) == n:
                    break
    return objects


# ---- rendering ---------------------------------------------------------------------------------

_SS = IMAGE_SIZE * SUPERSAMPLE
_GRID = (np.arange(_SS, dtype=np.float32) + 0.5) / SUPERSAMPLE
_GX, _GY = np.meshgrid(_GRID, _GRID)


def _star_radius(theta: np.ndarray, points: int, inner: float, rotation: float) -> np.ndarray:
    """Radius of a straight-edged star polygon (outer radius 1) along each direction theta."""
    sector = math.pi / points
    rel = np.mod(theta - rotation, 2 * sector)
    # within one sector the edge runs from an outer vertex (angle 0, r=1) to an inner one (angle sector)
    a = np.where(rel < sector, rel, 2 * sector - rel)
    r0, r1 = 1.0, inner
    return r0 * r1 * math.sin(sector) / (r0 * np.sin(a) + r1 * np.sin(sector - a))


def shape_mask(shape: str, u: np.ndarray, v: np.ndarray, rendering: str) -> np.ndarray:
    """Inside test on coordinates normalized by the object's radius (v grows downwards)."""
    if shape == "circle":
        return u * u + v * v < 1.0
    if shape == "square":
        return np.maximum(np.abs(u), np.abs(v)) < 0.82
    if shape == "triangle":
        return (v <= 0.75) & (np.abs(u) <= (v + 0.95) / 1.7)
    if shape == "ring":
        rr = u * u + v * v
        return (rr < 1.0) & (rr > 0.55 ** 2)
    if shape == "cross":
        return ((np.abs(u) < 0.3) & (np.abs(v) < 0.95)) | ((np.abs(v) < 0.3) & (np.abs(u) < 0.95))
    if shape == "star":
        theta = np.arctan2(v, u)
        r = np.sqrt(u * u + v * v)
        if rendering == "cloud":
            return r < 1.08 * _star_radius(theta, 5, 0.42, -math.pi / 2)
        return r < 1.1 * _star_radius(theta, 4, 0.22, 0.0)
    if shape == "heart":
        x, y = u * 1.25, -v * 1.25 + 0.3
        return (x * x + y * y - 1) ** 3 - x * x * y ** 3 <= 0
    raise ValueError(f"unknown shape {shape}")


def texture_pattern(texture: str, rendering: str) -> np.ndarray:
    """1 where the texture darkens the fill, in image coordinates (pixel units)."""
    if texture == "plain":
        return np.zeros_like(_GX)
    if texture == "striped":
        if rendering == "cloud":
            return (np.floor(_GY / 2.0) % 2 == 0).astype(np.float32)
        return (np.floor((_GX + _GY) / 2.83) % 2 == 0).astype(np.float32)
    if texture == "dotted":
        dx = np.mod(_GX, 4.0) - 2.0
        dy = np.mod(_GY, 4.0) - 2.0
        return (dx * dx + dy * dy < 1.1).astype(np.float32)
    raise ValueError(f"unknown texture {texture}")


def _background(name: str, rendering: str, rng: np.random.Generator) -> np.ndarray:
    img = np.empty((IMAGE_SIZE, IMAGE_SIZE, 3), np.float32)
    if name == "snow" and rendering == "edge":
        img[:] = EDGE_SNOW
        img += rng.normal(0, 3, (IMAGE_SIZE, IMAGE_SIZE, 1))
        return img
    img[:] = BACKGROUNDS[name]
    if name == "night":
        idx = rng.integers(0, IMAGE_SIZE, size=(6, 2))
        img[idx[:, 1], idx[:, 0]] = rng.uniform(140, 200, size=(6, 1))
    elif name == "sand":
        img += rng.normal(0, 8, (IMAGE_SIZE, IMAGE_SIZE, 1))
    elif name == "grass":
        img += rng.normal(0, 10, (1, IMAGE_SIZE, 1)) + rng.normal(0, 5, (IMAGE_SIZE, IMAGE_SIZE, 1))
    elif name == "snow":
        idx = rng.integers(0, IMAGE_SIZE - 1, size=(12, 2))
        for x, y in idx:
            img[y:y + 2, x:x + 2] = 170
    return img


def render(scene: Scene, rendering: str) -> np.ndarray:
    """Scene -> uint8 [32, 32, 3]."""
    if rendering not in RENDERINGS:
        raise ValueError(f"rendering must be one of {RENDERINGS}, got {rendering}")
    rng = np.random.default_rng(scene.detail_seed)
    bg = _background(scene.attrs["background"], rendering, rng)
    palette = COLOURS if rendering == "cloud" else EDGE_COLOURS
    fill = np.array(palette[scene.attrs["colour"]], np.float32)
    dark = texture_pattern(scene.attrs["texture"], rendering)
    shade = 1.0 - 0.55 * dark  # [SS, SS]
    mask = np.zeros((_SS, _SS), np.float32)
    for cx, cy, r in scene.objects:
        u = (_GX - cx) / r
        v = (_GY - cy) / r
        mask = np.maximum(mask, shape_mask(scene.attrs["shape"], u, v, rendering).astype(np.float32))
    obj = shade[..., None] * fill  # [SS, SS, 3]
    # average the supersampled object layer and coverage down to the image grid
    k = SUPERSAMPLE
    cov = mask.reshape(IMAGE_SIZE, k, IMAGE_SIZE, k).mean(axis=(1, 3))
    obj_sum = (obj * mask[..., None]).reshape(IMAGE_SIZE, k, IMAGE_SIZE, k, 3).sum(axis=(1, 3))
    obj_mean = obj_sum / np.maximum(cov * k * k, 1e-6)[..., None]
    img = bg * (1 - cov[..., None]) + obj_mean * cov[..., None]
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# ---- datasets -----------------------------------------------------------------------------------

@dataclass
class Dataset:
    images: np.ndarray  # uint8 [N, 32, 32, 3]
    token_ids: np.ndarray  # int64 [N, max_tokens]
    labels: np.ndarray  # int64 [N, len(ATTRIBUTE_ORDER)]
    mentioned: np.ndarray  # bool [N, len(ATTRIBUTE_ORDER)]
    prompts: list[str]


def scene_at(seed: int, index: int, vocab: Vocab, rendering: str, **kw) -> Scene:
    rng = np.random.default_rng([seed, index])
    exclude = ("heart",) if rendering == "edge" else ()
    return sample_scene(rng, vocab, exclude_shapes=exclude, **kw)


def make_dataset(n: int, seed: int, rendering: str, vocab: Vocab | None = None,
                 scenes: list[Scene] | None = None, allow_held_out: bool = False) -> Dataset:
    """n scenes drawn from (seed, 0..n-1), rendered the given way. The edge's world has no hearts."""
    vocab = vocab or load_vocab()
    if scenes is None:
        scenes = [scene_at(seed, i, vocab, rendering, allow_held_out=allow_held_out) for i in range(n)]
    images = np.stack([render(s, rendering) for s in scenes])
    prompts = [s.prompt(vocab) for s in scenes]
    token_ids = np.array([vocab.encode(p) for p in prompts], np.int64)
    labels = np.array([[s.labels()[k] for k in ATTRIBUTE_ORDER] for s in scenes], np.int64)
    mentioned = np.array([[k in s.mentioned for k in ATTRIBUTE_ORDER] for s in scenes], bool)
    return Dataset(images, token_ids, labels, mentioned, prompts)


def held_out_scenes(n: int, seed: int, vocab: Vocab, training_prompts: set[str]) -> list[Scene]:
    """Evaluation scenes whose prompts never occur in training: a third of them built on the held-out
    attribute combinations, the rest fresh draws whose prompt text is new."""
    rng = np.random.default_rng([seed, 7919])
    scenes: list[Scene] = []
    combos = vocab.held_out_combinations
    while len(scenes) < n:
        if len(scenes) % 3 == 0:
            combo = combos[(len(scenes) // 3) % len(combos)]
            force = dict(c.split(":") for c in combo)
            scene = sample_scene(rng, vocab, force=force, allow_held_out=True)
        else:
            scene = sample_scene(rng, vocab)
        if scene.prompt(vocab) not in training_prompts:
            scenes.append(scene)
    return scenes
