"""Readers for the public labelled data in the checkout's `data/` (its README gives each file's origin)."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NEUTRAL_BAND = 0.5  # |mean rating| below this (on VADER's -4..+4 scale) is near-neutral


def find_data_dir(explicit: str | Path | None = None) -> Path:
    """The labelled-data folder: `explicit`, $OTEL_LLM_DATA_DIR, the checkout's `data/`, or `./data`."""
    candidates = [explicit, os.environ.get("OTEL_LLM_DATA_DIR"),
                  Path(__file__).resolve().parents[3] / "data", Path.cwd() / "data"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "toxicity-davidson-train.csv").is_file():
            return Path(candidate)
    raise FileNotFoundError("labelled data not found: pass --data-dir or set OTEL_LLM_DATA_DIR "
                            "to the folder holding toxicity-davidson-train.csv (a checkout has it in data/)")


@dataclass(frozen=True)
class SentimentData:
    texts: list[str]
    ratings: np.ndarray  # mean human rating, -4..+4
    domains: np.ndarray  # "tweets" | "nyt"

    def binary(self) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """Texts, 0/1 labels, domains and row indices with the near-neutral ratings dropped."""
        keep = np.flatnonzero(np.abs(self.ratings) >= NEUTRAL_BAND)
        labels = (self.ratings[keep] > 0).astype(np.int64)
        return [self.texts[i] for i in keep], labels, self.domains[keep], keep


def load_sentiment(data_dir: Path) -> SentimentData:
    """Both VADER ground-truth files: TAB-separated id, mean rating, text."""
    texts, ratings, domains = [], [], []
    files = (("tweets", "sentiment-vader-tweets.txt"), ("nyt", "sentiment-vader-nytEditorialSnippets.txt"))
    for domain, name in files:
        with (data_dir / name).open(encoding="utf-8", errors="replace", newline="") as fh:
            for line in fh:
                parts = line.rstrip("\r\n").split("\t", 2)
                if len(parts) == 3 and parts[2].strip():
                    texts.append(parts[2].strip())
                    ratings.append(float(parts[1]))
                    domains.append(domain)
    return SentimentData(texts, np.array(ratings), np.array(domains))


@dataclass(frozen=True)
class TeamSentences:
    """The otel-llm team's LLM-style sentences (support replies, explanations, product and movie reviews,
    many with negation or contrast), positive or negative; `split` keeps a held-out part out of training."""

    texts: list[str]
    labels: np.ndarray  # 1 positive, 0 negative
    domains: np.ndarray  # movie | product | support | explanation
    split: np.ndarray  # train | test


def load_team_sentiment(data_dir: Path) -> TeamSentences:
    with (data_dir / "sentiment-team-llm-style.tsv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    labels = np.array([r["label"] == "positive" for r in rows], dtype=np.int64)
    return TeamSentences([r["text"] for r in rows], labels, np.array([r["domain"] for r in rows]),
                         np.array([r["split"] for r in rows]))


@dataclass(frozen=True)
class TeamComments:
    """The otel-llm team's forum-comment-style toxicity set: insults without profanity, obfuscated and
    compound profanity, character floods, moderation notes, civil disagreement; `split` as above."""

    texts: list[str]
    toxic: np.ndarray  # 1 toxic, 0 not
    split: np.ndarray  # train | test


def load_team_toxicity(data_dir: Path) -> TeamComments:
    with (data_dir / "toxicity-team-forum-style.tsv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    return TeamComments([r["text"] for r in rows], np.array([int(r["toxic"]) for r in rows]),
                        np.array([r["split"] for r in rows]))


@dataclass(frozen=True)
class ToxicityData:
    texts: list[str]
    classes: np.ndarray  # Davidson: 0 hate speech, 1 offensive, 2 neither

    @property
    def toxic(self) -> np.ndarray:
        return (self.classes != 2).astype(np.int64)

    @property
    def hate(self) -> np.ndarray:
        return (self.classes == 0).astype(np.int64)


def load_toxicity(data_dir: Path) -> ToxicityData:
    with (data_dir / "toxicity-davidson-train.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return ToxicityData([r["tweet"] for r in rows], np.array([int(r["class"]) for r in rows]))


@dataclass(frozen=True)
class SimilarityData:
    first: list[str]
    second: list[str]
    scores: np.ndarray  # 0 (unrelated) .. 5 (equivalent)


def load_stsb(data_dir: Path) -> SimilarityData:
    first, second, scores = [], [], []
    with (data_dir / "similarity-stsb-dev.tsv").open(encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) >= 7:
                scores.append(float(row[4]))
                first.append(row[5])
                second.append(row[6])
    return SimilarityData(first, second, np.array(scores))
