"""Bad text (lone surrogates, invalid UTF-8 decoded with surrogateescape) costs no text its scores."""

from __future__ import annotations

import numpy as np
import pytest

from otel_llm._backends.aws import ComprehendSentiment, ComprehendToxicity, split_text
from otel_llm._backends.base import well_formed
from otel_llm._backends.local import LocalSentiment, LocalToxicity
from otel_llm._config import Settings
from otel_llm.testing.comprehend import ComprehendServer

LONE = "Thanks for asking \ud800 glad to help."
ESCAPED = b"The caf\xe9 was lovely \xff\xfe and the staff kind.".decode("utf-8", "surrogateescape")
INSULT = "You are an idiot \udcff and everyone knows it."


def test_well_formed_replaces_lone_surrogates_joins_pairs_and_keeps_good_text():
    assert well_formed(LONE) == "Thanks for asking \ufffd glad to help."
    assert well_formed(ESCAPED) == "The caf\ufffd was lovely \ufffd\ufffd and the staff kind."
    assert well_formed("smile \ud83d\ude00") == "smile \U0001f600"  # a pair split by a JSON decoder
    good = "plain text, café"
    assert well_formed(good) is good
    for text in (LONE, ESCAPED, INSULT):
        well_formed(text).encode("utf-8")  # would raise UnicodeEncodeError on a surrogate


def test_split_text_takes_bad_text_instead_of_raising():
    parts = split_text(LONE * 40, 1024, 10)
    assert parts and all(len(p.encode("utf-8")) <= 1024 for p in parts)
    assert "".join(parts) == well_formed(LONE * 40)
    assert split_text(ESCAPED, 500, 8, unit="chars") == [well_formed(ESCAPED)]


@pytest.mark.slow
def test_local_embeddings_score_bad_text_as_its_replacement_and_others_unchanged(minilm):
    good = "Use items[::-1] to reverse a list."
    together = minilm.embed([LONE, good, ESCAPED])
    assert together.shape == (3, 384)
    np.testing.assert_allclose(together[0], minilm.embed([well_formed(LONE)])[0], atol=1e-5)
    np.testing.assert_allclose(together[1], minilm.embed([good])[0], atol=1e-5)


@pytest.mark.slow
def test_local_heads_give_every_text_a_result(minilm):
    sentiment = LocalSentiment(minilm).sentiment([LONE, ESCAPED, "A dull, tedious film."])
    assert [r.label for r in sentiment] == ["positive", "positive", "negative"]
    toxicity = LocalToxicity(minilm).toxicity([INSULT, LONE])
    assert toxicity[0].score > 0.5 > toxicity[1].score


@pytest.fixture
def comprehend_settings(monkeypatch):
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with ComprehendServer() as server:
        yield server, Settings(backend="aws", aws_region="us-east-1",
                               comprehend_endpoint_url=server.endpoint_url, backend_timeout_s=10.0)


def test_comprehend_scores_bad_text_and_its_neighbours(comprehend_settings):
    server, settings = comprehend_settings
    toxicity = ComprehendToxicity(settings).toxicity([INSULT, "Have a nice day.", ESCAPED])
    assert toxicity[0].categories == ("insult",) and toxicity[0].score == pytest.approx(0.9)
    assert max(toxicity[1].score, toxicity[2].score) < 0.1
    sentiment = ComprehendSentiment(settings).sentiment([ESCAPED, LONE, "Terrible, awful service."])
    assert [r.label for r in sentiment][2] == "negative" and len(sentiment) == 3
    sent = [s["Text"] for r in server.requests if "TextSegments" in r.body for s in r.body["TextSegments"]]
    assert "\ufffd" in sent[0] and all("\ud800" not in t and "\udcff" not in t for t in sent)
