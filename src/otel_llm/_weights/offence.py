"""A normalised profanity / insult signal for the toxicity heads, robust to masking and leetspeak.

Written by the otel-llm team (no external word list). Each word is lower-cased, look-alike digits and
signs are read as letters ("sh1t", "a$$", "pr1ck"), masks ("*", "#", "%") match any letter ("f*cking",
"b*tch") and repeated letters match one ("fuuuck"). A word counts as profane when it is, contains or ends
in a profane root ("dumbass", "shithead", "motherf*cker"), as an insult when it is one of a short list of
insults that need no profanity ("moron", "worthless"). `offence_features` turns the counts into a few
numbers the logistic heads read next to the embeddings.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence

import numpy as np

_TOKEN = re.compile(r"[a-z0-9*#%@$!'-]*[a-z][a-z0-9*#%@$!'-]*", re.IGNORECASE)
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s", "@": "a",
                       "!": "i"})
_MASKS = "*#%"
# roots that are profane wherever they occur in a word ("fuckwit", "bullshit", "dumbfuck")
_ANYWHERE = ("fuck", "shit", "cunt", "bitch", "twat", "wank", "whore", "slut", "nigg", "fagg")
# roots that are profane as a word of their own, with a suffix ("dickhead", "asshat") or after one of a
# few prefixes ("dumbass", "jackass"), and not inside other words ("class", "cocktail", "scrap", "shoe")
_EDGES = ("ass", "arse", "dick", "cock", "prick", "piss", "crap", "bastard", "douche", "bollock", "tit",
          "pussy", "hoe", "skank", "jizz", "retard", "fag", "dyke", "turd", "screw")
_PREFIXES = ("dumb", "jack", "smart", "fat", "lard", "kiss", "dip", "limp", "horse", "bull", "butt",
             "wise", "dick", "ass", "mother", "sissy", "lame", "numb", "stupid", "pencil", "cum")
_SUFFIXES = ("s", "es", "ed", "er", "ers", "ing", "in", "y", "ey", "ies", "head", "heads", "hole", "holes",
             "hat", "hats", "face", "wad", "wads", "bag", "bags", "wit", "wits", "clown", "stain", "weed",
             "ish", "tard", "off", "up")
_INSULTS = ("idiot", "idiots", "idiotic", "moron", "morons", "moronic", "stupid", "stupidest", "dumb",
            "dumber", "dumbest", "imbecile", "imbeciles", "cretin", "cretins", "loser", "losers", "pathetic",
            "worthless", "useless", "halfwit", "dimwit", "nitwit", "numbskull", "dunce", "buffoon", "clown",
            "clowns", "scum", "scumbag", "scumbags", "trash", "garbage", "filth", "filthy", "vile",
            "disgusting", "creep", "coward", "spineless", "bigot", "bigots", "hypocrite", "liar", "liars",
            "fraud", "troll", "jerk", "jerks", "freak", "freaks", "pig", "pigs", "muppet", "brainless",
            "brain-dead", "fool", "fools", "ugly", "dork", "twit", "sleazy", "slimy", "maggot", "vermin",
            "parasite", "degenerate", "lowlife", "subhuman", "thug", "thugs", "savage", "savages", "stfu",
            "gtfo", "wtf", "pervert", "psycho", "weirdo", "wimp", "sucker", "suckers", "bimbo", "ho",
            "hoes", "hoe")
_YOU = frozenset(("you", "your", "you're", "youre", "ur", "u", "ya", "yours", "yourself", "ye"))


def _root(root: str) -> str:
    """A root whose letters may repeat or be masked (its first letter must be a letter)."""
    return root[0] + "+" + "".join(f"[{c}{_MASKS}]+" for c in root[1:])


_ANYWHERE_RE = re.compile("|".join(_root(r) for r in _ANYWHERE))
_EDGES_RE = re.compile("(?:" + "|".join(_PREFIXES) + ")?(?:" + "|".join(_root(r) for r in _EDGES)
                       + ")(?:" + "|".join(_SUFFIXES) + ")?")
_INSULT_SET = frozenset(_INSULTS)


def _normalised(word: str) -> str:
    return word.lower().translate(_LEET).strip("'-")


def is_profane(word: str) -> bool:
    """`word` spells profanity, however masked or compounded ("f*cking", "sh1t", "dumbass", "a$$hole")."""
    w = _normalised(word)
    return bool(w[:1].isalpha() and (_ANYWHERE_RE.search(w) or _EDGES_RE.fullmatch(w)))


def is_insult(word: str) -> bool:
    """`word` is one of the insults that need no profanity ("moron", "worthless", "halfwit")."""
    return _normalised(word) in _INSULT_SET


@functools.lru_cache(maxsize=8192)
def _kind(word: str) -> int:
    """1 profane, 2 insult, 0 neither (cached: most words recur)."""
    return 1 if is_profane(word) else 2 if is_insult(word) else 0


OFFENCE_FEATURES = 4


def offence_features(texts: Sequence[str]) -> np.ndarray:
    """Per text: log(1 + profane words), log(1 + insult words), whether either comes with "you"/"your",
    and the share of the text's words that are profane or insults."""
    out = np.zeros((len(texts), OFFENCE_FEATURES))
    for row, text in enumerate(texts):
        words = _TOKEN.findall(text)
        kinds = [_kind(w) for w in words]
        profane, insults = kinds.count(1), kinds.count(2)
        you = any(w.lower() in _YOU for w in words)
        out[row] = (math.log1p(profane), math.log1p(insults), float(you and profane + insults > 0),
                    (profane + insults) / max(len(words), 1))
    return out
