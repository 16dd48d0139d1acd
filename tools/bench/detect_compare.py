#!/usr/bin/env python3
"""adx detect and scikit-learn 1.2 side by side on MNIST one-class splits.

The split is the thesis protocol applied inside MNIST's official test split (as
ANCHORS.md measures scikit-learn): normal digit d; train = the first 80 % of the
test split's images of d; test = the remaining 20 % of d (normal) plus every other
digit (anomalous). Raw pixels in [0, 1], 784 features. For each method both sides
fit and score the same HDF5 files in the same run; times are fit + score wall time
(adx: as `adx detect` reports it, excluding file I/O; sklearn: around fit and
score_samples/decision_function). Isolation Forest is random and its AUROC moves by
±0.04 from seed to seed on these splits, on both sides: its row is the mean over
--seeds seeds (0, 1, ...) of each implementation; so is k-means (a local optimum
that depends on its random initialisation). Prints a Markdown table.

    /usr/bin/python3 tools/bench/detect_compare.py [--digits 0 1 ...] [--threads 2]

Needs build/adx, Debian's python3-sklearn, python3-h5py and numpy, and ADX_DATA.
"""
import argparse
import gzip
import os
import re
import subprocess
import tempfile
import time

import h5py
import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors
from sklearn.svm import OneClassSVM
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def read_idx(path):
    with gzip.open(path) if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(data[3])]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def split(images, labels, digit):
    idx = np.flatnonzero(labels == digit)
    n_train = int(len(idx) * 0.8)
    train = images[idx[:n_train]]
    test_idx = np.concatenate([idx[n_train:], np.flatnonzero(labels != digit)])
    return train, images[test_idx], (labels[test_idx] != digit).astype(np.int32)


def sklearn_scores(method, train, test, seed=0):
    """Anomaly scores (higher = more anomalous), as the adx method defines them."""
    if method == "knn":  # mean distance to the 2 nearest training points
        d, _ = NearestNeighbors(n_neighbors=2, algorithm="brute").fit(train).kneighbors(test)
        return d.mean(axis=1)
    if method.startswith("ocsvm"):
        kernel = method.split("-")[1]
        return -OneClassSVM(kernel=kernel, nu=0.1, gamma="scale").fit(train).decision_function(test)
    if method == "iforest":
        return -IsolationForest(n_estimators=100, max_samples=256, random_state=seed).fit(train).score_samples(test)
    if method == "kmeans":
        km = KMeans(n_clusters=8, n_init=10, random_state=seed).fit(train)
        return km.transform(test).min(axis=1) ** 2
    if method == "mean":
        return ((test - train.mean(axis=0)) ** 2).sum(axis=1)
    if method == "pca":
        p = PCA(n_components=32).fit(train)
        return ((test - p.inverse_transform(p.transform(test))) ** 2).sum(axis=1)
    raise ValueError(method)


ADX_ARGS = {
    "knn": ["--method", "knn", "--param", "k=2"],
    "ocsvm-linear": ["--method", "ocsvm", "--param", "kernel=linear", "--param", "nu=0.1"],
    "ocsvm-rbf": ["--method", "ocsvm", "--param", "kernel=rbf", "--param", "nu=0.1", "--param", "gamma=scale"],
    "iforest": ["--method", "iforest", "--param", "n_estimators=100", "--param", "max_samples=256"],
    "kmeans": ["--method", "kmeans", "--param", "k=8"],
    "mean": ["--method", "mean"],
    "pca": ["--method", "pca", "--param", "components=32"],
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--digits", type=int, nargs="+", default=[0])
    p.add_argument("--methods", nargs="+", default=list(ADX_ARGS))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seeds", type=int, default=5, help="seeds averaged for iforest and kmeans")
    a = p.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(a.threads)
    data = os.environ.get("ADX_DATA", os.path.join(ROOT, "..", "shared", "data"))
    images = read_idx(os.path.join(data, "mnist", "t10k-images-idx3-ubyte.gz")).reshape(-1, 784).astype(np.float32) / 255
    labels = read_idx(os.path.join(data, "mnist", "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    adx = os.path.join(ROOT, "build", "adx")
    print("| digit | method | AUROC adx | AUROC sklearn | |Δ| | adx s | sklearn s | speed-up |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for digit in a.digits:
            train, test, y = split(images, labels, digit)
            tr, te = os.path.join(tmp, "train.h5"), os.path.join(tmp, "test.h5")
            with h5py.File(tr, "w") as f:
                f["x"] = train
            with h5py.File(te, "w") as f:
                f["x"] = test
                f["y"] = y
            for m in a.methods:
                seeds = range(a.seeds) if m in ("iforest", "kmeans") else range(1)
                adx_s = adx_auc = sk_s = sk_auc = 0.0
                for seed in seeds:
                    out = subprocess.run([adx, "detect", *ADX_ARGS[m], "--train", tr, "--test", te, "--seed", str(seed),
                                          "--out", os.path.join(tmp, "s.csv"), "--threads", str(a.threads)],
                                         check=True, capture_output=True, text=True).stdout
                    adx_s += float(re.search(r"in ([0-9.]+) s", out).group(1)) / len(seeds)
                    adx_auc += float(re.search(r"AUROC ([0-9.]+)", out).group(1)) / len(seeds)
                    start = time.perf_counter()
                    scores = sklearn_scores(m, train, test, seed)
                    sk_s += (time.perf_counter() - start) / len(seeds)
                    sk_auc += roc_auc_score(y, scores) / len(seeds)
                print(f"| {digit} | {m} | {adx_auc:.4f} | {sk_auc:.4f} | {abs(adx_auc - sk_auc):.4f} | "
                      f"{adx_s:.3f} | {sk_s:.3f} | {sk_s / adx_s:.1f}× |", flush=True)


if __name__ == "__main__":
    main()
