"""Train the shared image autoencoder (32x32x3 <-> 8x8x4) on both renderings of the world.

    python3 -m train.autoencoder [--steps 1400] [--device cpu|cuda] [--quick]
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
import numpy as np

from .common import (load_checkpoint, Progress, base_parser, cosine_lr, export_onnx, module_command, setup,
                     update_manifest, write_fixture)
from .data import to_model_images, training_set
from .nets import Autoencoder, count_parameters
from .vocab import load_vocab
from .world import make_dataset


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of images in [-1, 1] (peak-to-peak 2)."""
    mse = F.mse_loss(a.clamp(-1, 1), b).item()
    return 10 * np.log10(4.0 / max(mse, 1e-12))


def gradient_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared error of horizontal and vertical differences: MSE alone blurs small shapes and textures."""
    dxa, dxb = a[..., :, 1:] - a[..., :, :-1], b[..., :, 1:] - b[..., :, :-1]
    dya, dyb = a[..., 1:, :] - a[..., :-1, :], b[..., 1:, :] - b[..., :-1, :]
    return F.mse_loss(dxa, dxb) + F.mse_loss(dya, dyb)


def main() -> None:
    p = base_parser(__doc__)
    p.add_argument("--steps", type=int, default=1400)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--resume", action="store_true",
                   help="continue from the weights in --out-dir/torch/autoencoder.pt (wall time adds up)")
    args = p.parse_args()
    device = setup(args)
    n = 512 if args.quick else None
    steps = 10 if args.quick else args.steps

    cloud = training_set("cloud", n) if n else training_set("cloud")
    edge = training_set("edge", n) if n else training_set("edge")
    images = torch.from_numpy(to_model_images(np.concatenate([cloud.images, edge.images])))
    model = Autoencoder().to(device)
    previous_wall_s, previous_steps, previous_commands = 0.0, 0, []
    if args.resume:
        ckpt = load_checkpoint(args.out_dir / "torch" / "autoencoder.pt")
        model.load_state_dict(ckpt["state_dict"])
        previous_wall_s, previous_steps = ckpt.get("wall_time_s", 0.0), ckpt.get("steps", 0)
        previous_commands = ckpt.get("commands", [])
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    rng = np.random.default_rng(args.seed)
    progress = Progress("autoencoder", steps)
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, steps, args.lr, warmup=50)
        x = images[rng.integers(0, len(images), args.batch)].to(device)
        z = model.encoder(x)
        # noise on the latent teaches the decoder to tolerate imperfect latents (diffusion, JSCC)
        z_noisy = z + 0.05 * z.detach().std() * torch.randn_like(z)
        recon = model.decoder(z_noisy)
        loss = F.mse_loss(recon, x) + gradient_loss(recon, x) + 1e-4 * z.pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        progress.update(step + 1, loss=loss.item())
    wall_s = previous_wall_s + progress.elapsed_s
    steps += previous_steps

    model.eval()
    with torch.no_grad():
        zs = torch.cat([model.encoder(images[i:i + 512].to(device)) for i in range(0, min(len(images), 8192), 512)])
        model.latent_mean.copy_(zs.mean(dim=(0, 2, 3), keepdim=True))
        model.latent_std.copy_(zs.std(dim=(0, 2, 3), keepdim=True))
        test = make_dataset(64 if args.quick else 1024, 77, "cloud", load_vocab())
        xt = torch.from_numpy(to_model_images(test.images)).to(device)
        test_psnr = psnr(model.decode(model.encode(xt)), xt)
    print(f"autoencoder: held-out PSNR {test_psnr:.2f} dB, {wall_s:.0f} s", flush=True)

    model = model.cpu()
    out = args.out_dir
    commands = previous_commands + [module_command("train.autoencoder")]
    weights = out / "torch" / "autoencoder.pt"
    weights.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": model.cfg.__dict__, "state_dict": model.state_dict(), "wall_time_s": wall_s,
                "steps": steps, "commands": commands}, weights)
    enc, dec = out / "autoencoder_encoder.onnx", out / "autoencoder_decoder.onnx"
    encode = _Call(model, "encode")
    decode = _Call(model, "decode")
    x2 = xt[:2].cpu()
    export_onnx(encode, (x2,), enc, ["image"], ["latent"], {"image": {0: "batch"}, "latent": {0: "batch"}})
    z2 = model.encode(x2).detach()
    export_onnx(decode, (z2,), dec, ["latent"], ["image"], {"latent": {0: "batch"}, "image": {0: "batch"}})
    with torch.no_grad():
        write_fixture(out, "autoencoder_encoder", enc.name, {"image": x2}, {"latent": model.encode(x2)})
        write_fixture(out, "autoencoder_decoder", dec.name, {"latent": z2}, {"image": model.decode(z2)})
    update_manifest(out, "autoencoder", [enc, dec, weights], command=" && ".join(commands),
                    seed=args.seed, wall_s=wall_s, parameters=count_parameters(model),
                    data=f"world cloud+edge renderings, {len(images)} images (seed 1000)",
                    extra={"heldout_psnr_db": round(test_psnr, 2), "steps": steps, "batch": args.batch,
                           "loss": "MSE + MSE of image gradients + 1e-4 latent L2; 5% latent noise",
                           "latent_shape": [4, 8, 8]})


class _Call(torch.nn.Module):
    def __init__(self, model: Autoencoder, method: str):
        super().__init__()
        self.model, self.method = model, method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self.model, self.method)(x)


if __name__ == "__main__":
    main()
