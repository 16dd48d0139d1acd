#!/usr/bin/env python3
"""Make the PyTorch parity fixtures of tests/resnet_parity_test.cpp.

For torchvision's ResNet-18 and ResNet-50 (eval mode), every parameter and buffer
is set from its name by tools/adx_philox.py's rule, which the C++ test applies too,
so no weight file is needed. A small input batch (also from Philox) goes through
the network and PyTorch's outputs at layer3, avgpool and fc are saved:

    tests/fixtures/parity/resnet18.h5, resnet50.h5:  x, layer3, avgpool, fc

Run with Debian's python3-torch, python3-torchvision and python3-h5py:
    /usr/bin/python3 tools/make_parity_fixtures.py
"""
import os
import sys

import h5py
import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adx_philox  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "parity")
BATCH, SIZE, CLASSES = 2, 64, 10


def tiny_converted():
    """A small network with torch's own random init, converted by torch2h5.py: the
    test loads it by name (checking the converter and h5py's attributes) and
    compares outputs."""
    import torch2h5
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(4 * 4 * 4, 3))
    with torch.no_grad():  # non-trivial running statistics
        net[1].running_mean.uniform_(-0.5, 0.5)
        net[1].running_var.uniform_(0.5, 1.5)
    net.eval()
    torch.save(net.state_dict(), "/tmp/adx_tiny_state.pt")
    torch2h5.write_h5(torch2h5.load_state_dict("/tmp/adx_tiny_state.pt"),
                      os.path.join(OUT, "tiny_weights.h5"), "make_parity_fixtures.py tiny")
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        y = net(x)
    with h5py.File(os.path.join(OUT, "tiny_io.h5"), "w") as f:
        f.create_dataset("x", data=x.numpy())
        f.create_dataset("y", data=y.numpy())


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    tiny_converted()
    for name in ("resnet18", "resnet50"):
        model = getattr(torchvision.models, name)(weights=None, num_classes=CLASSES).eval()
        state = model.state_dict()
        for key, t in state.items():
            if torch.is_floating_point(t):
                state[key] = torch.from_numpy(adx_philox.named_tensor(key, tuple(t.shape)))
        model.load_state_dict(state)
        x = torch.from_numpy(2 * adx_philox.named_tensor("input.bias", (BATCH, 3, SIZE, SIZE)) / 0.2)
        feats = {}
        model.layer3.register_forward_hook(lambda m, i, o: feats.__setitem__("layer3", o))
        model.avgpool.register_forward_hook(lambda m, i, o: feats.__setitem__("avgpool", o.flatten(1)))
        with torch.no_grad():
            feats["fc"] = model(x)
        path = os.path.join(OUT, f"{name}.h5")
        with h5py.File(path, "w") as f:
            f.attrs["source"] = f"torchvision {torchvision.__version__} {name}, torch {torch.__version__}"
            f.attrs["weights"] = "tools/adx_philox.py named_tensor(name, shape)"
            f.create_dataset("x", data=x.numpy())
            for k, v in feats.items():
                f.create_dataset(k, data=v.numpy())
        print(f"{path}: fc scale {feats['fc'].abs().max():.3g}, size {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
