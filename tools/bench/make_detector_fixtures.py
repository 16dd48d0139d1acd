#!/usr/bin/python3
"""Writes tests/fixtures/detectors/: a small fixed data set and scikit-learn's answers on it.

Run with Debian's python3 (scikit-learn 1.2, numpy), from anywhere:

    /usr/bin/python3 tools/bench/make_detector_fixtures.py

The data: 8-D points around three Gaussian centres (std 1) for training (300) and for the
normal test points (150); the 50 anomalies come from the same centres with std 2.2, so
that they overlap the normal class and no AUROC is 1. Every value is a float32 written
with 9 significant digits, so the C++ tests read exactly the numbers scikit-learn saw.

Files (CSV, one header row):
  train.csv          x0..x7                                  (300 rows)
  test.csv           x0..x7, y (1 = anomaly)                 (200 rows)
  scores.csv         scikit-learn's per-test-point outputs    (200 rows), one column each:
    knn2_mean, knn2_kth       NearestNeighbors(n_neighbors=2): mean / 2nd distance
    ocsvm_linear              OneClassSVM(kernel='linear', nu=0.1).decision_function
    ocsvm_rbf                 OneClassSVM(kernel='rbf', nu=0.1, gamma='scale')
    ocsvm_rbf_g0.5            OneClassSVM(kernel='rbf', nu=0.2, gamma=0.5)
    ocsvm_linear_unit         OneClassSVM(kernel='linear', nu=0.5) on unit-length rows
    pca2_recon, pca2_whiten   PCA(2): squared reconstruction error; PCA(2, whiten=True):
                              squared norm of the whitened projection
    pca_all_whiten            PCA(whiten=True) (all 8 components): squared Mahalanobis
    kmeans3                   KMeans(3, n_init=10): distance to the nearest centre
    gmm3                      GaussianMixture(3, 'full'): -score_samples (= -log p(x))
  summary.csv        name,value: gamma, rho and support-vector counts of the SVMs, the
                     AUROC of every detector (anomaly score = higher is more anomalous),
                     IsolationForest's AUROC and mean anomaly score over 5 seeds
  metrics.csv        score, y: 200 scores rounded to 0.1 (many ties) and labels
  metrics_summary.csv  name,value: roc_auc_score, average_precision_score, and
                     precision / recall / F1 / accuracy of (score >= 0.5)
  roc.csv            fpr, tpr, threshold: roc_curve(drop_intermediate=False); the first
                     threshold is scikit-learn 1.2's max + 1 (adx writes +inf there)
"""
import os

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import (accuracy_score, average_precision_score, f1_score,
                             precision_score, recall_score, roc_auc_score, roc_curve)
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from sklearn.svm import OneClassSVM

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests",
                   "fixtures", "detectors")


def write_csv(name, header, columns):
    rows = np.column_stack(columns)
    with open(os.path.join(OUT, name), "w") as f:
        f.write(",".join(header) + "\n")
        for row in rows:
            f.write(",".join("%.9g" % v for v in row) + "\n")


def write_summary(name, items):
    with open(os.path.join(OUT, name), "w") as f:
        f.write("name,value\n")
        for key, value in items:
            f.write("%s,%.12g\n" % (key, value))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240607)
    dim = 8
    centres = rng.normal(0.0, 4.0, size=(3, dim))

    def blobs(n, std):
        which = rng.integers(0, 3, size=n)
        return centres[which] + rng.normal(0.0, std, size=(n, dim))

    train = blobs(300, 1.0).astype(np.float32)
    test = np.vstack([blobs(150, 1.0), blobs(50, 2.2)]).astype(np.float32)
    y = np.r_[np.zeros(150), np.ones(50)].astype(np.int64)
    order = rng.permutation(200)
    test, y = test[order], y[order]

    # scikit-learn sees exactly the float32 values the C++ side reads.
    xtr, xte = train.astype(np.float64), test.astype(np.float64)

    scores, summary = {}, [("sklearn_version_major_minor",
                            float(".".join(sklearn.__version__.split(".")[:2])))]

    nn = NearestNeighbors(n_neighbors=2).fit(xtr)
    dist, _ = nn.kneighbors(xte)
    scores["knn2_mean"] = dist.mean(axis=1)
    scores["knn2_kth"] = dist[:, -1]

    def unit(a):
        return (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32).astype(np.float64)

    svms = {
        "ocsvm_linear": (OneClassSVM(kernel="linear", nu=0.1), xtr, xte),
        "ocsvm_rbf": (OneClassSVM(kernel="rbf", nu=0.1, gamma="scale"), xtr, xte),
        "ocsvm_rbf_g0.5": (OneClassSVM(kernel="rbf", nu=0.2, gamma=0.5), xtr, xte),
        "ocsvm_linear_unit": (OneClassSVM(kernel="linear", nu=0.5), unit(xtr), unit(xte)),
    }
    for name, (svm, a, b) in svms.items():
        svm.fit(a)
        scores[name] = svm.decision_function(b)
        summary += [(name + "_rho", -svm.intercept_[0]), (name + "_n_sv", len(svm.support_)),
                    (name + "_sum_alpha", svm.dual_coef_.sum())]
    summary.append(("ocsvm_rbf_gamma", svms["ocsvm_rbf"][0]._gamma))

    pca = PCA(n_components=2).fit(xtr)
    scores["pca2_recon"] = ((xte - pca.inverse_transform(pca.transform(xte))) ** 2).sum(axis=1)
    scores["pca2_whiten"] = (PCA(n_components=2, whiten=True).fit(xtr).transform(xte) ** 2).sum(axis=1)
    scores["pca_all_whiten"] = (PCA(whiten=True).fit(xtr).transform(xte) ** 2).sum(axis=1)

    km = KMeans(n_clusters=3, n_init=10, random_state=0).fit(xtr)
    scores["kmeans3"] = km.transform(xte).min(axis=1)
    summary.append(("kmeans3_inertia", km.inertia_))

    gmm = GaussianMixture(n_components=3, covariance_type="full", random_state=0).fit(xtr)
    scores["gmm3"] = -gmm.score_samples(xte)

    # Anomaly scores, higher = more anomalous: the SVMs' decision values are negated.
    for name, s in scores.items():
        anomaly = -s if name.startswith("ocsvm") else s
        summary.append(("auroc_" + name, roc_auc_score(y, anomaly)))

    aurocs, means = [], []
    for seed in range(5):
        forest = IsolationForest(n_estimators=100, max_samples=256, random_state=seed).fit(xtr)
        anomaly = -forest.score_samples(xte)  # = 2^(-E[h(x)] / c(256))
        aurocs.append(roc_auc_score(y, anomaly))
        means.append(anomaly.mean())
    summary += [("auroc_iforest_mean5", np.mean(aurocs)), ("iforest_mean_score_mean5", np.mean(means))]

    names = list(scores)
    write_csv("train.csv", ["x%d" % i for i in range(dim)], [train])
    write_csv("test.csv", ["x%d" % i for i in range(dim)] + ["y"], [test, y])
    write_csv("scores.csv", names, [scores[n] for n in names])
    write_summary("summary.csv", summary)

    # Metrics on scores with many ties.
    labels = (rng.random(200) < 0.3).astype(np.int64)
    raw = np.round(rng.normal(0.0, 1.0, 200) + 0.8 * labels, 1).astype(np.float32)
    write_csv("metrics.csv", ["score", "y"], [raw, labels])
    pred = (raw >= 0.5).astype(np.int64)
    write_summary("metrics_summary.csv", [
        ("roc_auc", roc_auc_score(labels, raw)),
        ("average_precision", average_precision_score(labels, raw)),
        ("precision_at_0.5", precision_score(labels, pred)),
        ("recall_at_0.5", recall_score(labels, pred)),
        ("f1_at_0.5", f1_score(labels, pred)),
        ("accuracy_at_0.5", accuracy_score(labels, pred)),
    ])
    fpr, tpr, thr = roc_curve(labels, raw.astype(np.float64), drop_intermediate=False)
    write_csv("roc.csv", ["fpr", "tpr", "threshold"], [fpr, tpr, thr])

    for name, value in summary:
        print("%-32s %.6g" % (name, value))


if __name__ == "__main__":
    main()
