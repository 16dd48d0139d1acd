#!/usr/bin/env python3
"""The PyTorch side of `adx bench`: the same workloads, the same JSON line.

Run with Debian's python3-torch (1.13) and libopenblas0-pthread installed, e.g.
    /usr/bin/python3 tools/bench/torch_bench.py lenet5-train --threads 2
tools/bench/compare.sh runs this and `adx bench` side by side and prints ratios.
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULT_BATCH = {
    "gemm": 2048, "lenet5-train": 64, "lenet5-infer": 256, "resnet18-train": 64,
    "resnet18-infer": 128, "wgangp-critic-step": 64, "vggf-infer": 16,
    "fanogan-gan-step": 64, "fanogan-encoder-step": 64,
}


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


class BasicBlock(nn.Module):
    """torchvision's BasicBlock, written out so torchvision is not needed."""

    def __init__(self, inp, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inp != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inp, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (self.downsample(x) if self.downsample is not None else x))


def resnet18(classes=10):
    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
              nn.MaxPool2d(3, 2, 1)]
    inp = 64
    for i, planes in enumerate([64, 128, 256, 512]):
        for b in range(2):
            layers.append(BasicBlock(inp, planes, 2 if (b == 0 and i > 0) else 1))
            inp = planes
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes)]
    return nn.Sequential(*layers)


def vggf():
    lrn = lambda: nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)
    pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, 4), nn.ReLU(), lrn(), pool(),
        nn.Conv2d(64, 256, 5, padding=2), nn.ReLU(), lrn(), pool(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), pool(), nn.Flatten(),
        nn.Linear(9216, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 1000))


def train_step(model, x, y):
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def infer_step(model, x):
    model.eval()

    def step():
        with torch.no_grad():
            model(x)
    return step


def wgangp_critic_step(batch, device):
    gen = nn.Sequential(nn.Linear(128, 128 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (128, 7, 7)),
                        nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.ReLU(),
                        nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh()).to(device)
    critic = nn.Sequential(nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
                           nn.Conv2d(64, 128, 4, 2, 1), nn.LeakyReLU(0.2), nn.Flatten(),
                           nn.Linear(128 * 7 * 7, 1)).to(device)
    opt = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.5, 0.9))
    real = torch.rand(batch, 1, 28, 28, device=device) * 2 - 1

    def step():
        with torch.no_grad():
            fake = gen(torch.randn(batch, 128, device=device))
        eps = torch.rand(batch, 1, 1, 1, device=device)
        x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
        g = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)[0]
        penalty = 10 * ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()
        loss = critic(fake).mean() - critic(real).mean() + penalty
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


# f-AnoGAN's `mlp` networks for 28×28 digits, as the reference code (A03ki/f-AnoGAN,
# mnist/model.py, after eriklindernoren/PyTorch-GAN) writes them.
class FanoganGenerator(nn.Module):
    def __init__(self, latent=100, img_shape=(1, 28, 28)):
        super().__init__()
        self.img_shape = img_shape

        def block(inp, out, normalize=True):
            layers = [nn.Linear(inp, out)]
            if normalize:
                layers.append(nn.BatchNorm1d(out, 0.8))  # the reference's 0.8 is ε
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            return layers

        self.model = nn.Sequential(*block(latent, 128, normalize=False), *block(128, 256),
                                   *block(256, 512), *block(512, 1024),
                                   nn.Linear(1024, 28 * 28), nn.Tanh())

    def forward(self, z):
        img = self.model(z)
        return img.view(img.shape[0], *self.img_shape)


class FanoganCritic(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(28 * 28, 512), nn.LeakyReLU(0.2, inplace=True),
                                      nn.Linear(512, 256), nn.LeakyReLU(0.2, inplace=True))
        self.last_layer = nn.Sequential(nn.Linear(256, 1))

    def forward(self, img):
        return self.last_layer(self.forward_features(img))

    def forward_features(self, img):
        return self.features(img.view(img.shape[0], -1))


class FanoganEncoder(nn.Module):
    def __init__(self, latent=100):
        super().__init__()
        self.model = nn.Sequential(nn.Linear(28 * 28, 512), nn.LeakyReLU(0.2, inplace=True),
                                   nn.Linear(512, 256), nn.LeakyReLU(0.2, inplace=True),
                                   nn.Linear(256, latent), nn.Tanh())

    def forward(self, img):
        return self.model(img.view(img.shape[0], -1))


def fanogan_step(batch, device, encoder):
    """One f-AnoGAN iteration, as adx's detectors::Fanogan::gan_step / encoder_step do it.

    gan: a critic update every iteration and a generator update on every 5th
    (n_critic = 5, counted from the first warm-up iteration, as `adx bench` counts).
    encoder: the izi_f loss with G and D frozen in eval mode (κ = 1).
    """
    latent, n_critic, lambda_gp, kappa = 100, 5, 10.0, 1.0
    gen, critic, enc = (FanoganGenerator(latent).to(device), FanoganCritic().to(device),
                        FanoganEncoder(latent).to(device))
    adam = lambda m: torch.optim.Adam(m.parameters(), lr=1e-4, betas=(0.5, 0.999))
    real = torch.rand(batch, 1, 28, 28, device=device) * 2 - 1

    if encoder:
        gen.eval()
        critic.eval()
        enc.train()
        for p in list(gen.parameters()) + list(critic.parameters()):
            p.requires_grad_(False)  # frozen: backward computes E's gradients only
        opt_e = adam(enc)

        def encoder_step():
            opt_e.zero_grad(set_to_none=True)
            fake = gen(enc(real))
            real_features = critic.forward_features(real)  # no graph: D frozen, x constant
            fake_features = critic.forward_features(fake)
            loss = F.mse_loss(fake, real) + kappa * F.mse_loss(fake_features, real_features)
            loss.backward()
            opt_e.step()
        return encoder_step

    gen.train()
    critic.train()
    opt_g, opt_d = adam(gen), adam(critic)
    d_params, g_params = list(critic.parameters()), list(gen.parameters())
    iteration = [0]

    def gan_step():
        z = torch.randn(batch, latent, device=device)
        with torch.no_grad():  # the critic's update does not reach the generator
            fake = gen(z)
        # The reference code's compute_gradient_penalty: one α per image.
        alpha = torch.rand(batch, 1, 1, 1, device=device)
        x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        d_x_hat = critic(x_hat)
        g = torch.autograd.grad(d_x_hat, x_hat, torch.ones_like(d_x_hat), create_graph=True)[0]
        gp = ((g.view(batch, -1).norm(2, dim=1) - 1) ** 2).mean()
        # Two critic calls, real and fake, as the reference code does; adx sends both
        # through the critic in one concatenated batch (the critic has no batch norm).
        real_validity = critic(real)
        fake_validity = critic(fake)
        d_loss = -torch.mean(real_validity) + torch.mean(fake_validity) + lambda_gp * gp
        opt_d.zero_grad(set_to_none=True)
        # inputs=: gradients for D's parameters only, not also for the leaf x̂ (as adx).
        d_loss.backward(inputs=d_params)
        opt_d.step()
        if iteration[0] % n_critic == 0:  # −mean D(G(z)), the same z
            g_loss = -torch.mean(critic(gen(z)))
            opt_g.zero_grad(set_to_none=True)
            # inputs=: G's gradients only; D's weight gradients are not computed (as adx).
            g_loss.backward(inputs=g_params)
            opt_g.step()
        iteration[0] += 1
    return gan_step


def setup(name, batch, device):
    x = lambda *shape: torch.randn(*shape, device=device)
    labels = lambda n: torch.randint(0, 10, (n,), device=device)
    if name == "gemm":
        a, b = x(batch, batch), x(batch, batch)
        return lambda: torch.mm(a, b)
    if name == "lenet5-train":
        return train_step(lenet5().to(device), x(batch, 1, 28, 28), labels(batch))
    if name == "lenet5-infer":
        return infer_step(lenet5().to(device), x(batch, 1, 28, 28))
    if name == "resnet18-train":
        return train_step(resnet18().to(device), x(batch, 3, 32, 32), labels(batch))
    if name == "resnet18-infer":
        return infer_step(resnet18().to(device), x(batch, 3, 32, 32))
    if name == "wgangp-critic-step":
        return wgangp_critic_step(batch, device)
    if name == "fanogan-gan-step":
        return fanogan_step(batch, device, encoder=False)
    if name == "fanogan-encoder-step":
        return fanogan_step(batch, device, encoder=True)
    if name == "vggf-infer":
        return infer_step(vggf().to(device), x(batch, 3, 224, 224))
    raise SystemExit(f"unknown workload {name}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("workload", choices=sorted(DEFAULT_BATCH))
    p.add_argument("--batch", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--tf32", action="store_true", help="allow TF32 for matmul and cuDNN (as adx bench --tf32)")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    if a.device.startswith("cuda"):
        # FP32 against adx's FP32 (no TF32 on either side unless --tf32), cuDNN's
        # benchmark on as adx's per-geometry algorithm search.
        torch.backends.cuda.matmul.allow_tf32 = a.tf32
        torch.backends.cudnn.allow_tf32 = a.tf32
        torch.backends.cudnn.benchmark = True
    batch = a.batch or DEFAULT_BATCH[a.workload]
    step = setup(a.workload, batch, a.device)
    sync = torch.cuda.synchronize if a.device.startswith("cuda") else (lambda: None)
    for _ in range(a.warmup):
        step()
    sync()
    start = time.perf_counter()
    for _ in range(a.iters):
        step()
    sync()
    ms = 1e3 * (time.perf_counter() - start) / a.iters
    out = {"workload": a.workload, "device": a.device, "impl": f"torch {torch.__version__}"}
    if a.workload == "gemm":
        out.update(n=batch, threads=torch.get_num_threads(), gflops=2 * batch ** 3 / (ms * 1e-3) / 1e9)
    else:
        out.update(batch=batch, threads=torch.get_num_threads(), items_per_s=batch / (ms * 1e-3))
    out["ms_per_iter"] = ms
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


if __name__ == "__main__":
    main()
