#!/usr/bin/env python3
"""Re-weights f-AnoGAN's score from the scores.csv files of an `adx experiment` folder.

Eq. 4.3 scores an image by  pixel + kappa * feature  (the thesis: kappa = 1). Every
f-AnoGAN run writes both terms per image to runs/<id>/scores.csv, so the AUROC of
other weights can be read off without training again:

    tools/score_weights.py experiments/out/mnist-val                # a table over kappas
    tools/score_weights.py experiments/out/mnist-val --kappas 0 1 10

Choose a weight on a `thesis-val` folder, then apply it to the test folder with
`--kappas K`. Pure Python (no numpy), so it runs wherever adx does.
"""
import argparse
import csv
import json
import math
import os
import sys
from collections import defaultdict


def auroc(scores, labels):
    """Exact AUROC with ties counted half (the Mann-Whitney U statistic)."""
    order = sorted(range(len(scores)), key=scores.__getitem__)
    n_pos = sum(labels)
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUROC needs both normal and anomalous test images")
    rank_sum, i = 0.0, 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        mid_rank = (i + j) / 2 + 1  # 1-based average rank of the tied block
        rank_sum += mid_rank * sum(labels[order[k]] for k in range(i, j + 1))
        i = j + 1
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def read_terms(path):
    pixel, feature, labels = [], [], []
    with open(path, newline="") as f:
        rows = csv.DictReader(f)
        if rows.fieldnames is None or "feature" not in rows.fieldnames:
            return None  # not an f-AnoGAN run
        for row in rows:
            if row["split"] != "test":
                continue
            pixel.append(float(row["pixel"]))
            feature.append(float(row["feature"]))
            labels.append(int(row["label"]))
    return pixel, feature, labels


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="an `adx experiment` output folder")
    ap.add_argument("--kappas", type=float, nargs="+",
                    default=[0, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, math.inf],
                    help="weights of the feature term; inf = the feature term alone")
    args = ap.parse_args()

    results = os.path.join(args.out, "results.json")
    if not os.path.exists(results):
        sys.exit(f"{results}: not found (is {args.out} an `adx experiment` folder?)")
    with open(results) as f:
        runs = json.load(f)["runs"]

    label = lambda k: "feature only" if math.isinf(k) else f"κ={k:g}"
    # (dataset, method, epochs, seed) -> {class: {kappa: auroc}}
    table = defaultdict(dict)
    for run in runs:
        path = os.path.join(args.out, "runs", run["id"], "scores.csv")
        if not os.path.exists(path):
            print(f"{path}: missing (a run from before scores were written); skipped", file=sys.stderr)
            continue
        terms = read_terms(path)
        if terms is None:
            continue
        pixel, feature, labels = terms
        row = {}
        for k in args.kappas:
            if math.isinf(k):
                s = feature
            elif k == 0:
                s = pixel  # not p + 0·q: an overflowed feature term would make it NaN
            else:
                s = [p + k * q for p, q in zip(pixel, feature)]
            if any(math.isnan(v) for v in s):
                sys.exit(f"{path}: NaN scores with {label(k)}")
            row[k] = auroc(s, labels)
        table[(run["dataset"], run["method"], run["epochs"], run["seed"])][run["normal_class"]] = row

    if not table:
        sys.exit(f"{args.out}: no f-AnoGAN run with a scores.csv")
    for key, classes in sorted(table.items()):
        ks = sorted(classes)
        print(f"\n{key[0]} · {key[1]} · {key[2]} epochs · seed {key[3]} · AUROC % per normal class\n")
        print("| score | " + " | ".join(str(c) for c in ks) + " | mean |")
        print("|---" * (len(ks) + 2) + "|")
        for k in args.kappas:
            values = [100 * classes[c][k] for c in ks]
            print(f"| {label(k)} | " + " | ".join(f"{v:.2f}" for v in values) + f" | {sum(values) / len(values):.2f} |")


if __name__ == "__main__":
    main()
