#!/usr/bin/env python3
"""Make the PyTorch parity fixtures of tests/fanogan_parity_test.cpp.

f-AnoGAN's three losses (detectors/fanogan.cpp) and their gradients, computed by
PyTorch on the same networks, weights and inputs as the C++ test:

  * the critic's WGAN-GP loss, Eq. 4.1, with its second-order gradient penalty
    (torch.autograd.grad(..., create_graph=True), as in the reference code);
  * the generator's loss −mean D(G(z));
  * the encoder's izi_f loss, Eq. 4.2 (G and D in eval mode);
  * the anomaly score, Eq. 4.3, of 6 images (G, D and E in eval mode).

The networks are written the way the thesis's reference code writes them
(A03ki/f-AnoGAN, mnist/model.py: `model.*` Sequentials, BatchNorm1d(out, 0.8), i.e.
eps = 0.8, and `features.*` / `last_layer.*` for the critic) for arch `mlp`, and
as models/fanogan.cpp describes them for arch `conv` (28×28 grey). Their
parameter names are mapped to adx's (models/fanogan.cpp) by order and shape.

No weights are stored (the mlp networks hold 2.6M parameters). Both sides set
every parameter and batch-norm buffer from its adx name, prefixed with the
network's ("generator.3.weight", "critic.features.1.bias", ...), by
tools/adx_philox.py's named_tensor() (tests/parity_util.h in C++, the rule the
ResNet parity test uses): Philox uniforms seeded by the name's FNV-1a hash, giving
weights with variance 1/fan_in, biases in ±0.1, batch-norm scales and running
variances in [0.5, 1.5), running means in ±0.1. (Smooth formulas such as
0.05·sin(0.37·i + 1.3·k) were tried first: sin(a·(F·row + col) + φ) is a rank-2
matrix, so every layer's output was rank 2 across the batch, the generator's
gradients vanished behind its batch norms and were mostly rounding noise.) The fixture stores each parameter's sum,
which the test compares to check that both sides apply the same rule. The inputs
(uniform images in [−1, 1], z ~ N(0, I), α in (0.05, 0.95)) come from NumPy and
are stored; the test reads them. The script prints, for each LeakyReLU/ReLU/Tanh,
the share of negative inputs (both sides of the kink are hit).

Losses are evaluated from the same initial parameters and buffers: the encoder
loss and the scores first (they use the running statistics), then the critic
loss and the generator loss, which run G in training mode and so update the
running statistics once each (the fixture records the buffers after both, which
checks batch norm's running-statistics update too).

PyTorch computes everything in float64 from the float32 weights and inputs (the
reference value); the script prints how far PyTorch's own float32 run is from it,
as a guide to the test's tolerances.

Each fixture (tests/fixtures/parity/fanogan_mlp.h5, fanogan_conv.h5) holds:

    inputs/real (6,1,28,28), inputs/z (6,100), inputs/alpha (6,1,1,1), inputs/images (6,1,28,28)
    losses/critic, losses/generator, losses/encoder        (1,)
    score                                                  (6,)
    params/<net>/sum (T,)   the parameters' sums (checks the rule); attribute
                            `names`: adx's names, sorted, comma-separated
    grads/<loss>/{sum,abs_sum,sumsq,max_abs} (T,), index (T, 32), values (T, 32)
        for each parameter of the network that the loss updates (critic,
        generator, encoder; attribute `names` as above): the gradient's sum,
        Σ|g|, Σg², max|g|, and its values at 32 evenly strided flat indices
    buffers_after_gan/...   the same summary of G's batch-norm running statistics
                            after the critic and generator losses

Rerun with Debian's python3-torch and python3-h5py (a few seconds):
    /usr/bin/python3 tools/make_fanogan_fixture.py
"""
import os
import sys

import h5py
import numpy as np
import torch
from torch import autograd, nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adx_philox  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "parity")
N, CHANNELS, SIZE, LATENT = 6, 1, 28, 100
GP_LAMBDA, KAPPA = 10.0, 1.0
SAMPLES = 32


# ---- the networks -----------------------------------------------------------------

class MlpGenerator(nn.Module):  # A03ki/f-AnoGAN mnist/model.py
    def __init__(self):
        super().__init__()
        self.img_shape = (CHANNELS, SIZE, SIZE)

        def block(in_feat, out_feat, normalize=True):
            layers = [nn.Linear(in_feat, out_feat)]
            if normalize:
                layers.append(nn.BatchNorm1d(out_feat, 0.8))  # eps = 0.8
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            return layers

        self.model = nn.Sequential(
            *block(LATENT, 128, normalize=False),
            *block(128, 256),
            *block(256, 512),
            *block(512, 1024),
            nn.Linear(1024, int(np.prod(self.img_shape))),
            nn.Tanh())

    def forward(self, z):
        img = self.model(z)
        return img.view(img.shape[0], *self.img_shape)


class MlpCritic(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Linear(CHANNELS * SIZE * SIZE, 512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 256),
            nn.LeakyReLU(0.2, inplace=True))
        self.last_layer = nn.Sequential(nn.Linear(256, 1))

    def forward(self, img):
        return self.last_layer(self.forward_features(img))

    def forward_features(self, img):
        return self.features(img.view(img.shape[0], -1))


class MlpEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(CHANNELS * SIZE * SIZE, 512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 256),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(256, LATENT),
            nn.Tanh())

    def forward(self, img):
        return self.model(img.view(img.shape[0], -1))


# models/fanogan.cpp's conv architecture (28×28: s = 7).
class ConvGenerator(nn.Module):
    def __init__(self):
        super().__init__()
        q = SIZE // 4
        self.model = nn.Sequential(
            nn.Linear(LATENT, 128 * q * q), nn.BatchNorm1d(128 * q * q), nn.ReLU(),
            nn.Unflatten(1, (128, q, q)),
            nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.ConvTranspose2d(64, CHANNELS, 4, 2, 1), nn.Tanh())

    def forward(self, z):
        return self.model(z)


class ConvCritic(nn.Module):
    def __init__(self):
        super().__init__()
        q = SIZE // 4
        self.features = nn.Sequential(
            nn.Conv2d(CHANNELS, 64, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(64, 128, 4, 2, 1),
            nn.LeakyReLU(0.2), nn.Flatten())
        self.last_layer = nn.Sequential(nn.Linear(128 * q * q, 1))

    def forward(self, img):
        return self.last_layer(self.forward_features(img))

    def forward_features(self, img):
        return self.features(img)


class ConvEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        q = SIZE // 4
        self.model = nn.Sequential(
            nn.Conv2d(CHANNELS, 64, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(64, 128, 4, 2, 1),
            nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(128 * q * q, LATENT), nn.Tanh())

    def forward(self, img):
        return self.model(img)


# torch name → adx name. adx's mlp critic and encoders start with a Flatten layer
# (index 0), the reference code flattens in forward(): its indices are one lower.
def adx_name(arch, net, name):
    if arch == "conv":
        return name[len("model."):] if name.startswith("model.") else name
    if net == "generator":
        return name[len("model."):]
    if net == "encoder":
        idx, rest = name[len("model."):].split(".", 1)
        return f"{int(idx) + 1}.{rest}"
    if name.startswith("features."):
        idx, rest = name[len("features."):].split(".", 1)
        return f"features.{int(idx) + 1}.{rest}"
    return name  # last_layer.0.*


# ---- the values -------------------------------------------------------------------

def inputs():
    """Stored in the fixture (the test reads them): images in [−1, 1], z ~ N(0, I),
    α in (0, 1), as f-AnoGAN's training draws them."""
    rng = np.random.default_rng(20240601)
    shape = (N, CHANNELS, SIZE, SIZE)
    return {
        "real": rng.uniform(-1, 1, shape).astype(np.float32),
        "z": rng.standard_normal((N, LATENT)).astype(np.float32),
        "alpha": rng.uniform(0.05, 0.95, (N, 1, 1, 1)).astype(np.float32),
        "images": rng.uniform(-1, 1, shape).astype(np.float32),
    }


def sorted_params(arch, net, module):
    """[(adx name, torch parameter)] sorted by adx name."""
    return sorted(((adx_name(arch, net, n), p) for n, p in module.named_parameters()), key=lambda t: t[0])


def build(arch, dtype):
    classes = {"mlp": (MlpGenerator, MlpCritic, MlpEncoder), "conv": (ConvGenerator, ConvCritic, ConvEncoder)}
    nets = {n: c() for n, c in zip(("generator", "critic", "encoder"), classes[arch])}
    for net, module in nets.items():
        with torch.no_grad():
            for name, p in sorted_params(arch, net, module):
                p.copy_(torch.from_numpy(adx_philox.named_tensor(f"{net}.{name}", tuple(p.shape))))
            for name, b in module.named_buffers():
                if not name.endswith("num_batches_tracked"):
                    name = adx_name(arch, net, name)
                    b.copy_(torch.from_numpy(adx_philox.named_tensor(f"{net}.{name}", tuple(b.shape))))
        module.to(dtype)
    return nets


# ---- the losses, as the reference code computes them --------------------------------

def encoder_loss(G, D, E, real):
    G.eval()
    D.eval()
    E.train()
    fake_imgs = G(E(real))
    real_features = D.forward_features(real)
    fake_features = D.forward_features(fake_imgs)
    mse = nn.MSELoss()
    return mse(fake_imgs, real) + KAPPA * mse(fake_features, real_features)


def scores(G, D, E, images):
    G.eval()
    D.eval()
    E.eval()
    out = []
    with torch.no_grad():
        for x in images.split(1):  # one image at a time, as the reference code's test
            fake = G(E(x))
            mse = nn.MSELoss()
            out.append(mse(fake, x) + KAPPA * mse(D.forward_features(fake), D.forward_features(x)))
    return torch.stack(out)


def critic_loss(G, D, real, z, alpha):
    G.train()
    with torch.no_grad():
        fake = G(z)
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    d_hat = D(x_hat)
    gradients = autograd.grad(outputs=d_hat, inputs=x_hat, grad_outputs=torch.ones_like(d_hat),
                              create_graph=True, retain_graph=True, only_inputs=True)[0]
    gradients = gradients.view(gradients.size(0), -1)
    gradient_penalty = ((gradients.norm(2, dim=1) - 1) ** 2).mean()
    return -torch.mean(D(real)) + torch.mean(D(fake)) + GP_LAMBDA * gradient_penalty


def generator_loss(G, D, z):
    G.train()
    return -torch.mean(D(G(z)))


def run(arch, dtype):
    nets = build(arch, dtype)
    G, D, E = nets["generator"], nets["critic"], nets["encoder"]
    x = {k: torch.from_numpy(v).to(dtype) for k, v in inputs().items()}
    res = {"losses": {}, "grads": {}}

    loss = encoder_loss(G, D, E, x["real"])
    params = sorted_params(arch, "encoder", E)
    res["losses"]["encoder"] = loss.item()
    res["grads"]["encoder"] = dict(zip([n for n, _ in params], autograd.grad(loss, [p for _, p in params])))
    res["score"] = scores(G, D, E, x["images"])

    loss = critic_loss(G, D, x["real"], x["z"], x["alpha"])
    params = sorted_params(arch, "critic", D)
    res["losses"]["critic"] = loss.item()
    res["grads"]["critic"] = dict(zip([n for n, _ in params], autograd.grad(loss, [p for _, p in params])))

    loss = generator_loss(G, D, x["z"])
    params = sorted_params(arch, "generator", G)
    res["losses"]["generator"] = loss.item()
    res["grads"]["generator"] = dict(zip([n for n, _ in params], autograd.grad(loss, [p for _, p in params])))

    res["buffers"] = {adx_name(arch, "generator", n): b.detach().clone() for n, b in G.named_buffers()
                      if not n.endswith("num_batches_tracked")}
    res["params"] = {net: {n: p.detach().clone() for n, p in sorted_params(arch, net, m)} for net, m in nets.items()}
    return res, nets


def activation_report(arch, nets):
    """Fraction of negative pre-activations at each LeakyReLU/ReLU/Tanh (both sides of
    the kink should be hit) and the largest magnitude, on the test inputs."""
    x = {k: torch.from_numpy(v) for k, v in inputs().items()}
    lines = []

    def hook(tag):
        def f(module, inp, out):
            v = inp[0].detach()
            lines.append(f"  {tag:28s} {type(module).__name__:10s} negative {float((v < 0).double().mean()):.2f}"
                         f"  max|x| {float(v.abs().max()):.3g}")
        return f

    for net, m in nets.items():
        for name, mod in m.named_modules():
            if isinstance(mod, (nn.LeakyReLU, nn.ReLU, nn.Tanh)):
                mod.register_forward_hook(hook(f"{net}.{name}"))
    G, D, E = nets["generator"], nets["critic"], nets["encoder"]
    G.train()
    with torch.no_grad():
        fake = G(x["z"])
        D(torch.cat([x["real"], fake]))
        G.eval()
        E.eval()
        G(E(x["real"]))
    print(f"{arch}: pre-activation signs on the test inputs")
    print("\n".join(lines))


def write_summary(f, group, tensors):
    """tensors: {adx name: tensor}, written in sorted-name order as one row each."""
    names = sorted(tensors)
    flats = [tensors[n].detach().double().reshape(-1).numpy() for n in names]
    index = np.stack([(np.arange(SAMPLES, dtype=np.int64) * v.size) // SAMPLES + (v.size // SAMPLES) // 2
                      for v in flats])
    f[group].attrs["names"] = ",".join(names)
    f.create_dataset(f"{group}/sum", data=np.array([v.sum() for v in flats]))
    f.create_dataset(f"{group}/abs_sum", data=np.array([np.abs(v).sum() for v in flats]))
    f.create_dataset(f"{group}/sumsq", data=np.array([(v * v).sum() for v in flats]))
    f.create_dataset(f"{group}/max_abs", data=np.array([np.abs(v).max() for v in flats]))
    f.create_dataset(f"{group}/index", data=index)
    f.create_dataset(f"{group}/values", data=np.stack([v[i] for v, i in zip(flats, index)]).astype(np.float32))


def write(arch):
    ref, _ = run(arch, torch.float64)
    f32, _ = run(arch, torch.float32)
    activation_report(arch, build(arch, torch.float32))
    # As a share of the C++ test's tolerances (tests/fanogan_parity_test.cpp):
    # 1e-5·max(|loss|, 1) for losses and scores, 1e-4·max|g| of the tensor +
    # 1e-5·max|g| of the network for gradient elements.
    print(f"{arch}: PyTorch float32 vs float64 (the stored reference), |Δ| / the test's tolerance:")
    for k in ("critic", "generator", "encoder"):
        scale = max(float(g.abs().max()) for g in ref["grads"][k].values())
        worst = max(float((f32["grads"][k][n].double() - g).abs().max()) / (1e-4 * float(g.abs().max()) + 1e-5 * scale)
                    for n, g in ref["grads"][k].items())
        rel = abs(f32["losses"][k] - ref["losses"][k]) / (1e-5 * max(abs(ref["losses"][k]), 1))
        print(f"  {k:9s} loss {ref['losses'][k]: .8g}: {rel:.3f};  gradients: {worst:.3f}")
    score_err = float((f32["score"].double() - ref["score"]).abs().max()) / 1e-5
    print(f"  score    {ref['score'].numpy()}: {score_err:.3f}")

    path = os.path.join(OUT, f"fanogan_{arch}.h5")
    with h5py.File(path, "w") as f:
        f.attrs["source"] = f"tools/make_fanogan_fixture.py, torch {torch.__version__}, float64"
        f.attrs["arch"] = arch
        for k, v in inputs().items():
            f.create_dataset(f"inputs/{k}", data=v)
        for k, v in ref["losses"].items():
            f.create_dataset(f"losses/{k}", data=np.array([v], np.float64))
        f.create_dataset("score", data=ref["score"].numpy())
        for net, ps in ref["params"].items():
            f.create_group(f"params/{net}")
            f[f"params/{net}"].attrs["names"] = ",".join(sorted(ps))
            f.create_dataset(f"params/{net}/sum", data=np.array([ps[n].sum().item() for n in sorted(ps)]))
        f.create_group("buffers_after_gan")
        write_summary(f, "buffers_after_gan", ref["buffers"])
        for loss, grads in ref["grads"].items():
            f.create_group(f"grads/{loss}")
            write_summary(f, f"grads/{loss}", grads)
    print(f"{path}: {os.path.getsize(path)} bytes")


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    for arch in ("mlp", "conv"):
        write(arch)


if __name__ == "__main__":
    main()
