#!/usr/bin/env python3
"""Convert a PyTorch state_dict to adx's HDF5 weight format (docs/weights-format.md).

    torch2h5.py STATE_DICT.pt OUT.h5            # a saved state_dict (or a whole module)
    torch2h5.py --model resnet50 OUT.h5         # a torchvision model with random weights

Every floating-point tensor becomes a float32 dataset at the slash path of its
name (layer1.0.conv1.weight -> /layer1/0/conv1/weight), in PyTorch's layout, which
is adx's (conv weights Cout x Cin x kH x kW). Integer buffers (batch norm's
num_batches_tracked) are skipped: adx does not use them. The file is written to a
temporary name and renamed, so a failed run leaves no half-written file.
Runs with Debian's python3-torch and python3-h5py (torchvision for --model).
"""
import argparse
import os
import sys

import h5py
import numpy as np
import torch

CONVERTER = "torch2h5.py 1"


def load_state_dict(path):
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model", "model_state_dict"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
        if all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
    sys.exit(f"torch2h5: {path}: not a state_dict (a dict of tensors) or a module")


def write_h5(state, out, source):
    tmp = os.path.join(os.path.dirname(os.path.abspath(out)), f".adx-tmp-{os.getpid()}-{os.path.basename(out)}")
    skipped = []
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = "adx-weights"
            f.attrs["format_version"] = np.int64(1)
            f.attrs["source"] = source
            f.attrs["converter"] = CONVERTER
            for name, t in state.items():
                if not torch.is_floating_point(t):
                    skipped.append(name)
                    continue
                # strip DataParallel's prefix so names match the plain module
                key = name[len("module."):] if name.startswith("module.") else name
                value = t.detach().to(torch.float32).contiguous().numpy()
                if not np.isfinite(value).all():
                    raise SystemExit(f"torch2h5: tensor {name} holds NaN or Inf")
                f.create_dataset("/" + key.replace(".", "/"), data=value)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return skipped


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="[STATE_DICT] OUT.h5")
    p.add_argument("--model", help="build this torchvision model with random weights instead")
    p.add_argument("--classes", type=int, default=1000, help="output classes for --model")
    p.add_argument("--seed", type=int, default=0, help="torch seed for --model")
    a = p.parse_args()
    if a.model:
        if len(a.paths) != 1:
            p.error("with --model give only OUT.h5")
        import torchvision
        torch.manual_seed(a.seed)
        model = getattr(torchvision.models, a.model)(weights=None, num_classes=a.classes)
        state, source = model.state_dict(), f"torchvision {a.model} random init seed {a.seed}"
    else:
        if len(a.paths) != 2:
            p.error("give STATE_DICT.pt and OUT.h5")
        state, source = load_state_dict(a.paths[0]), os.path.basename(a.paths[0])
    out = a.paths[-1]
    skipped = write_h5(state, out, source)
    print(f"torch2h5: wrote {len(state) - len(skipped)} tensors to {out}"
          + (f" (skipped {len(skipped)} integer buffers)" if skipped else ""))


if __name__ == "__main__":
    main()
