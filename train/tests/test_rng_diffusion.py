import numpy as np

from train.diffusion import alphas_cumprod, ddim_step, ddim_timesteps, sample
from train.rng import SeededRng


def test_seeded_normals_are_deterministic_and_standard():
    a = SeededRng(42).normals(20000)
    assert np.array_equal(a, SeededRng(42).normals(20000))
    assert not np.array_equal(a[:10], SeededRng(43).normals(10))
    assert abs(a.mean()) < 0.03 and abs(a.std() - 1) < 0.03


def test_schedule_is_decreasing_and_ends_noisy():
    ac = alphas_cumprod()
    assert np.all(np.diff(ac) < 0)
    assert 0.99 < ac[0] < 1 and ac[-1] < 0.01


def test_ddim_timesteps_cover_the_range():
    ts = ddim_timesteps(20)
    assert ts[0] == 999 and ts[-1] == 0 and len(set(ts)) == 20


def test_sampling_with_the_true_noise_returns_the_clean_latent():
    ac = alphas_cumprod()
    rng = np.random.default_rng(0)
    x0, n = rng.normal(size=16), rng.normal(size=16)
    t0 = ddim_timesteps(10)[0]
    start = np.sqrt(ac[t0]) * x0 + np.sqrt(1 - ac[t0]) * n

    def eps(x, t):
        e = (x - np.sqrt(ac[int(t)]) * x0) / np.sqrt(1 - ac[int(t)])
        return e, e

    assert np.allclose(sample(eps, start, 10, 3.0), x0, atol=1e-4)
    x = ddim_step(start, n, ac[t0], ac[t0])
    assert np.allclose(x, start)
