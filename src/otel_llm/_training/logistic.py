"""L2-regularised logistic regression by truncated Newton (conjugate gradient), numpy only."""

from __future__ import annotations

import numpy as np

from .._weights import LinearHead, sigmoid


def _log1pexp(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, z)


def fit_logistic(x: np.ndarray, y: np.ndarray, c: float = 1.0, balanced: bool = False,
                 max_iter: int = 50, tol: float = 1e-5,
                 sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Minimise 0.5*|w|^2 + c * sum_i weight_i * logloss_i (bias unpenalised); returns (w, b).

    `balanced` weights each class by n / (2 * count), as scikit-learn's class_weight="balanced";
    `sample_weight` multiplies each row's weight (e.g. to give a small domain its say).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, d = x.shape
    weight = np.ones(n)
    if balanced:
        positives = y.sum()
        weight = np.where(y > 0, n / (2 * max(positives, 1)), n / (2 * max(n - positives, 1)))
    weight = weight * c
    if sample_weight is not None:
        weight = weight * np.asarray(sample_weight, dtype=np.float64)
    sign = 2 * y - 1
    params = np.zeros(d + 1)  # w..., b

    def loss(p: np.ndarray) -> float:
        return 0.5 * p[:d] @ p[:d] + weight @ _log1pexp(-sign * (x @ p[:d] + p[d]))

    for _ in range(max_iter):
        z = x @ params[:d] + params[d]
        prob = sigmoid(z)
        residual = weight * (prob - y)
        grad = np.append(x.T @ residual + params[:d], residual.sum())
        if np.abs(grad).max() < tol * max(1.0, c * n):
            break
        curvature = weight * prob * (1 - prob)

        def hess(v: np.ndarray, curvature=curvature) -> np.ndarray:
            xv = curvature * (x @ v[:d] + v[d])
            return np.append(x.T @ xv + v[:d], xv.sum())

        step = _conjugate_gradient(hess, -grad)
        current, t = loss(params), 1.0
        while t > 1e-4 and loss(params + t * step) > current + 1e-4 * t * (grad @ step):
            t *= 0.5
        params = params + t * step
    return params[:d], float(params[d])


def _conjugate_gradient(matvec, b: np.ndarray, max_iter: int = 50, rtol: float = 0.1) -> np.ndarray:
    """Approximate solution of A x = b (A symmetric positive definite), stopping at |r| < rtol |b|."""
    x = np.zeros_like(b)
    r = b.copy()
    p = r.copy()
    rr = r @ r
    stop = (rtol * np.sqrt(rr)) ** 2
    for _ in range(max_iter):
        if rr <= stop:
            break
        ap = matvec(p)
        alpha = rr / (p @ ap)
        x += alpha * p
        r -= alpha * ap
        rr, previous = r @ r, rr
        p = r + (rr / previous) * p
    return x


def standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and scales (1 where a column is constant)."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    return mean, np.where(scale > 1e-12, scale, 1.0)


def train_head(x: np.ndarray, targets: dict[str, np.ndarray], c: float, balanced: bool = False,
               thresholds: dict[str, float] | None = None, features: str = "embedding",
               sample_weight: np.ndarray | None = None) -> LinearHead:
    """One standardised logistic output per named 0/1 target, fitted on the same features."""
    mean, scale = standardiser(x)
    z = (x - mean) / scale
    fitted = [fit_logistic(z, y, c=c, balanced=balanced, sample_weight=sample_weight)
              for y in targets.values()]
    limits = thresholds or {}
    return LinearHead(outputs=tuple(targets), weights=np.vstack([w for w, _ in fitted]),
                      bias=np.array([b for _, b in fitted]), mean=mean, scale=scale,
                      thresholds=np.array([limits.get(name, 0.5) for name in targets]), features=features)
