"""The numpy training and measuring code, and the shipped heads' files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from otel_llm._training.crossval import rankdata, roc_auc, spearman, stratified_folds
from otel_llm._training.data import load_sentiment, load_stsb, load_toxicity
from otel_llm._training.logistic import fit_logistic, train_head
from otel_llm._weights import MODELS_DIR, LinearHead, SentimentHead, ToxicityHead

SHIPPED = ("sentiment-minilm", "toxicity-minilm", "sentiment-lexical", "toxicity-lexical")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_heads_load_without_pickle(name):
    with np.load(MODELS_DIR / f"{name}.npz", allow_pickle=False) as data:
        assert all(data[key].dtype != object for key in data.files)
    head = LinearHead.load(name)
    assert head.weights.shape == (len(head.outputs), head.mean.shape[0])
    assert np.isfinite(head.weights).all() and (head.scale > 0).all()


def test_report_lists_every_shipped_head():
    report = json.loads((MODELS_DIR / "report.json").read_text())
    assert set(SHIPPED) <= set(report["shipped"])
    assert all(0.0 <= row["mean"] <= 1.0 for row in report["measures"])


def test_logistic_regression_reaches_the_optimum():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 5))
    y = (x @ np.array([2.0, -1.0, 0.0, 0.5, 0.0]) + rng.normal(size=400) > 0).astype(float)
    w, b = fit_logistic(x, y, c=1.0)
    p = 1 / (1 + np.exp(-(x @ w + b)))
    gradient = np.append(x.T @ (p - y) + w, (p - y).sum())
    assert np.abs(gradient).max() < 1e-3  # the first-order condition of the regularised loss
    assert w[0] > 1.0 and w[1] < -0.5


def test_balanced_weights_move_the_boundary_toward_the_rare_class():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(600, 2))
    y = (x[:, 0] > 1.3).astype(float)  # about 10% positives
    _, plain = fit_logistic(x, y, c=0.1)
    _, balanced = fit_logistic(x, y, c=0.1, balanced=True)
    assert balanced > plain


def test_head_round_trips_through_npz(tmp_path):
    x = np.random.default_rng(5).normal(size=(50, 4))
    head = train_head(x, {"a": (x[:, 0] > 0).astype(float), "b": (x[:, 1] > 0).astype(float)}, c=1.0,
                      thresholds={"b": 0.7})
    head.save(tmp_path / "h.npz")
    again = LinearHead.load(tmp_path / "h.npz")
    assert again.outputs == ("a", "b")
    np.testing.assert_allclose(again.probabilities(x), head.probabilities(x))
    np.testing.assert_allclose(again.thresholds, [0.5, 0.7])
    results = ToxicityHead(again).predict(x[:3])
    expected = head.probabilities(x[:3]).max(axis=1)
    assert [r.score for r in results] == pytest.approx(expected.tolist())


def test_sentiment_head_labels_follow_its_neutral_band():
    head = LinearHead(("positive",), np.array([[4.0]]), np.array([0.0]), np.zeros(1), np.ones(1),
                      np.array([0.3]))
    labels = [r.label for r in SentimentHead(head).predict(np.array([[1.0], [0.0], [-1.0]]), ["", "", ""])]
    assert labels == ["positive", "neutral", "negative"]


def test_measures_on_known_answers():
    assert roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.4])) == 1.0
    assert roc_auc(np.array([0, 1, 0, 1]), np.array([0.5, 0.5, 0.1, 0.9])) == pytest.approx(0.875)
    assert spearman(np.array([1, 2, 3, 4]), np.array([10, 20, 30, 40])) == pytest.approx(1.0)
    assert spearman(np.array([1, 2, 3, 4]), np.array([4, 3, 2, 1])) == pytest.approx(-1.0)
    np.testing.assert_array_equal(rankdata(np.array([3.0, 1.0, 3.0, 2.0])), [3.5, 1.0, 3.5, 2.0])
    with pytest.raises(ValueError):
        roc_auc(np.array([1, 1]), np.array([0.2, 0.3]))


def test_stratified_folds_partition_and_balance():
    labels = np.array([0] * 80 + [1] * 20)
    seen = []
    for train, test in stratified_folds(labels, k=5, seed=0):
        assert not set(train) & set(test)
        assert labels[test].sum() == 4
        seen.extend(test)
    assert sorted(seen) == list(range(100))


def test_loaders_read_the_documented_formats(tmp_path):
    (tmp_path / "sentiment-vader-tweets.txt").write_bytes(b"1\t2.5\tso good\r\n2\t-0.2\tmeh\r\n")
    (tmp_path / "sentiment-vader-nytEditorialSnippets.txt").write_bytes(b"1\t-1.5\ta grim outlook\r\n")
    (tmp_path / "toxicity-davidson-train.csv").write_text(
        ',count,hate_speech,offensive_language,neither,class,tweet\n0,3,0,0,3,2,"two\nlines"\n1,3,3,0,0,0,bad\n')
    (tmp_path / "similarity-stsb-dev.tsv").write_text("g\tf\t2012\t0001\t4.5\tA \"cat\".\tA cat.\textra\n")
    texts, labels, domains, keep = load_sentiment(tmp_path).binary()
    assert texts == ["so good", "a grim outlook"] and labels.tolist() == [1, 0] and keep.tolist() == [0, 2]
    assert domains.tolist() == ["tweets", "nyt"]
    tox = load_toxicity(tmp_path)
    assert tox.texts[0] == "two\nlines" and tox.toxic.tolist() == [0, 1] and tox.hate.tolist() == [0, 1]
    sts = load_stsb(tmp_path)
    assert sts.first == ['A "cat".'] and sts.scores.tolist() == [4.5]
