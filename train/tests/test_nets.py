import onnx
import torch

from train.common import export_onnx
from train.gai import LoraUNet, dynamic_rank_axes, lora_input_names, low_rank_pair
from train.nets import Autoencoder, TextEncoder, TextEncoderConfig, UNet, UNetConfig


def small_unet_and_inputs():
    """A seeded small noise predictor, inputs for it and its output without any update."""
    torch.manual_seed(0)
    unet = UNet(UNetConfig(channels=(16, 32))).eval()
    x, t, ctx = torch.randn(2, 4, 8, 8), torch.tensor([10.0, 900.0]), torch.randn(2, 16, 64)
    return unet, x, t, ctx, unet(x, t, ctx)


def test_zero_lora_is_the_base_model_and_nonzero_lora_changes_it():
    unet, x, t, ctx, base = small_unet_and_inputs()
    sites = unet.lora_sites()
    zero = {s: (torch.zeros(2, fin), torch.zeros(fout, 2)) for s, (fin, fout) in sites.items()}
    assert torch.allclose(unet(x, t, ctx, zero), base)
    one = dict(zero)
    name = next(iter(sites))
    one[name] = (torch.randn(2, sites[name][0]), torch.randn(sites[name][1], 2))
    assert not torch.allclose(unet(x, t, ctx, one), base)
    assert any(".cross_attn.to_k" in s for s in sites) and any(".self_attn.to_q" in s for s in sites)


def test_metaword_slots_take_the_fed_embedding():
    cfg = TextEncoderConfig()
    enc = TextEncoder(cfg).eval()
    ids = torch.tensor([[1, cfg.metaword_first_id, 20] + [0] * 13])
    meta_a, meta_b = torch.zeros(cfg.metaword_slots, cfg.dim), torch.randn(cfg.metaword_slots, cfg.dim)
    assert not torch.allclose(enc(ids, meta_a), enc(ids, meta_b))
    plain = torch.tensor([[1, 20, 20] + [0] * 13])
    assert torch.allclose(enc(plain, meta_a), enc(plain, meta_b))


def test_zero_locon_is_the_base_model_and_an_update_is_the_two_convolutions_it_stands_for():
    unet, x, t, ctx, base = small_unet_and_inputs()
    convs = unet.conv_sites()
    assert {"conv.conv_in", "conv.downsample", "conv.upsample.1", "conv.up1.skip", "conv.conv_out"} <= set(convs)
    zero = {s: (torch.zeros(1, cin, k, k), torch.zeros(cout, 1)) for s, (cin, cout, k) in convs.items()}
    assert torch.allclose(unet(x, t, ctx, zero), base)
    # one update on down0.conv1, merged into its kernel, equals the base plus B(A(x)) as two convolutions
    site = "conv.down0.conv1"
    cin, cout, k = convs[site]
    a, b = 0.1 * torch.randn(3, cin, k, k), 0.1 * torch.randn(cout, 3)
    layer = unet.down0.conv1
    h = torch.randn(2, cin, 8, 8)
    merged = layer(h, {site: (a, b)})
    two = layer(h) + torch.nn.functional.conv2d(torch.nn.functional.conv2d(h, a, padding=1), b[:, :, None, None])
    assert torch.allclose(merged, two, atol=1e-4), float((merged - two).abs().max())
    assert not torch.allclose(unet(x, t, ctx, {site: (a, b)}), base)


def test_edge_graph_exports_with_lora_and_locon_inputs_of_their_own_ranks(tmp_path):
    unet = UNet(UNetConfig(channels=(16, 32))).eval()
    wrapper = LoraUNet(unet)
    assert wrapper.sites == list(unet.lora_sites()) + list(unet.conv_sites())
    lora = [v for s in wrapper.sites for v in low_rank_pair(unet, s, 3 if s.startswith("conv.") else 2, torch.zeros)]
    names = lora_input_names(wrapper.sites)
    path = tmp_path / "edge.onnx"
    export_onnx(wrapper, (torch.randn(1, 4, 8, 8), torch.tensor([5.0]), torch.randn(1, 16, 64), *lora), path,
                ["latent", "timestep", "context"] + names, ["eps"], {"latent": {0: "batch"}, **dynamic_rank_axes(unet)})
    graph = onnx.load(str(path)).graph
    inputs = {i.name: i for i in graph.input}
    assert set(names) <= set(inputs)
    dims = lambda n: [d.dim_param or d.dim_value for d in inputs[n].type.tensor_type.shape.dim]
    assert dims(names[0])[0] == "rank"
    assert dims("lora.conv.down0.conv1.a") == ["conv_rank", 16, 3, 3]
    assert dims("lora.conv.down0.conv1.b") == [16, "conv_rank"]


def test_autoencoder_latent_is_8x8x4_and_normalization_round_trips():
    ae = Autoencoder().eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    z = ae.encode(x)
    assert z.shape == (2, 4, 8, 8)
    ae.latent_mean.fill_(0.5)
    ae.latent_std.fill_(2.0)
    assert torch.allclose(ae.decoder(ae.encoder(x)), ae.decode(ae.encode(x)), atol=1e-5)
