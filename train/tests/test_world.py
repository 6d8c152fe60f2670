import numpy as np
import pytest

from train.vocab import PromptError, load_vocab
from train.world import (ATTRIBUTE_ORDER, LABEL_VALUES, contains_held_out, held_out_scenes, make_dataset,
                         render, sample_scene, scene_at)

VOCAB = load_vocab()


def test_scenes_are_deterministic_from_seed_and_index():
    a = make_dataset(16, 5, "cloud", VOCAB)
    b = make_dataset(16, 5, "cloud", VOCAB)
    c = make_dataset(16, 6, "cloud", VOCAB)
    assert np.array_equal(a.images, b.images) and a.prompts == b.prompts
    assert not np.array_equal(a.images, c.images)
    assert a.images.shape == (16, 32, 32, 3) and a.images.dtype == np.uint8


def test_every_prompt_tokenizes_and_names_what_the_labels_say():
    ds = make_dataset(200, 9, "cloud", VOCAB)
    w2a = VOCAB.word_to_attribute()
    for prompt, labels, mentioned in zip(ds.prompts, ds.labels, ds.mentioned):
        VOCAB.encode(prompt)
        for word in prompt.split():
            if word in w2a:
                attr, value = w2a[word]
                i = ATTRIBUTE_ORDER.index(attr)
                assert mentioned[i], (prompt, attr)
                assert LABEL_VALUES[attr][labels[i]] == value, (prompt, attr)


def test_grammar_is_compositional():
    ds = make_dataset(2000, 3, "cloud", VOCAB)
    assert len(set(ds.prompts)) > 1500
    for k, attr in enumerate(ATTRIBUTE_ORDER):
        seen = set(ds.labels[:, k])
        expected = len(LABEL_VALUES[attr]) - (1 if attr == "position" else 0)  # 'none' only for groups
        assert len(seen) >= expected, attr


def test_training_scenes_avoid_held_out_combinations_and_the_edge_never_sees_hearts():
    for i in range(1500):
        s = scene_at(1000, i, VOCAB, "cloud")
        assert not contains_held_out(s, VOCAB)
        assert scene_at(1000, i, VOCAB, "edge").attrs["shape"] != "heart"


def test_held_out_evaluation_prompts_are_new():
    training = set(make_dataset(500, 1000, "cloud", VOCAB).prompts)
    scenes = held_out_scenes(60, 5000, VOCAB, training)
    assert all(s.prompt(VOCAB) not in training for s in scenes)
    assert sum(contains_held_out(s, VOCAB) for s in scenes) >= 20


def _pair(force, seed=0):
    rng = np.random.default_rng(seed)
    scene = sample_scene(rng, VOCAB, force={"count": "one", "size": "large", "position": "center",
                                            "background": "sand", "texture": "plain", "colour": "red",
                                            "shape": "circle", **force}, allow_held_out=True)
    return render(scene, "cloud").astype(float), render(scene, "edge").astype(float)


@pytest.mark.parametrize("force", [{"shape": "star"}, {"texture": "striped"}, {"colour": "purple"},
                                   {"background": "snow"}])
def test_renderings_differ_on_misaligned_subjects(force):
    cloud, edge = _pair(force)
    visibly_different = np.abs(cloud - edge).max(axis=-1) > 40
    assert visibly_different.mean() > 0.05, force  # over 5 % of the pixels, by more than 40 levels


@pytest.mark.parametrize("force", [{"shape": "circle"}, {"shape": "cross"}, {"texture": "dotted"},
                                   {"colour": "green"}, {"background": "grass"}, {"background": "night"}])
def test_renderings_agree_on_aligned_subjects(force):
    cloud, edge = _pair(force)
    assert np.array_equal(cloud, edge), force


def test_vocab_rejects_bad_prompts_clearly():
    with pytest.raises(PromptError, match="unknown word 'purpel'.*purple"):
        VOCAB.encode("a purpel star")
    with pytest.raises(PromptError, match="empty prompt"):
        VOCAB.encode("  ")
    with pytest.raises(PromptError, match="at most 15"):
        VOCAB.encode("red " * 16)
    ids = VOCAB.encode("a <meta0> star")
    assert VOCAB.metaword_first_id <= ids[2] < VOCAB.metaword_first_id + VOCAB.metaword_slots
