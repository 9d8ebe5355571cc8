"""Write the two example datasets shipped with Trainer Studio.

    python -m trainer_core.examples.make_examples [--out DIR]

Both tables are generated from templates and word lists written for this project, with a fixed seed, so
running this script again reproduces the shipped files byte for byte (``tests/test_examples.py`` checks it).

- ``sentiment.csv`` (text, label): short reviews of films, restaurants, gadgets and stays, labelled
  ``negative`` or ``positive``. Some praise one thing and criticise another before a clear verdict, and a
  few run to several sentences, so a model has to read more than one word.
- ``paraphrase.csv`` (sentence1, sentence2, label): sentence pairs that say the same thing in different
  words (``paraphrase``) or that share a topic and most words but differ in one fact: a date, an amount,
  who did what, or the direction of a change (``different``).
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
SENTIMENT_FILE = "sentiment.csv"
PARAPHRASE_FILE = "paraphrase.csv"
SENTIMENT_ROWS = 320
PARAPHRASE_ROWS = 240
SEED = 20261

# ----------------------------------------------------------------------------------------- sentiment

# What each kind of review talks about: the thing itself, its parts, and how people refer to it.
DOMAINS: dict[str, dict[str, list[str]]] = {
    "film": {
        "thing": ["this film", "the movie", "this thriller", "the sequel", "this comedy", "the documentary"],
        "aspect": [
            "the acting",
            "the plot",
            "the ending",
            "the soundtrack",
            "the dialogue",
            "the pacing",
            "the camera work",
            "the lead performance",
            "the script",
            "the special effects",
        ],
        "act": ["watched", "seen", "sat through"],
        "kind": ["films"],
    },
    "restaurant": {
        "thing": ["this place", "the restaurant", "this little bistro", "the new noodle bar", "this cafe"],
        "aspect": [
            "the food",
            "the service",
            "the pasta",
            "the dessert",
            "the staff",
            "the atmosphere",
            "the portions",
            "the coffee",
            "the wine list",
            "the soup",
        ],
        "act": ["eaten at", "been to", "tried"],
        "kind": ["restaurants"],
    },
    "product": {
        "thing": ["this blender", "the speaker", "this phone case", "the vacuum", "this kettle", "the keyboard"],
        "aspect": [
            "the battery",
            "the build quality",
            "the sound",
            "the setup",
            "the instructions",
            "the design",
            "the price",
            "customer support",
            "the packaging",
            "the charging cable",
        ],
        "act": ["bought", "owned", "used"],
        "kind": ["gadgets"],
    },
    "stay": {
        "thing": ["this hotel", "the guesthouse", "this apartment", "the hostel"],
        "aspect": [
            "the room",
            "the bed",
            "the breakfast",
            "the location",
            "the front desk",
            "the view",
            "the bathroom",
            "the wifi",
        ],
        "act": ["stayed at", "booked", "been to"],
        "kind": ["hotels"],
    },
}

GOOD = [
    "excellent",
    "wonderful",
    "superb",
    "fantastic",
    "delightful",
    "top-notch",
    "really impressive",
    "lovely",
    "spot on",
    "better than I expected",
    "genuinely great",
    "a real highlight",
]
BAD = [
    "awful",
    "disappointing",
    "mediocre",
    "terrible",
    "bland",
    "a letdown",
    "poor",
    "frustrating",
    "worse than I expected",
    "a real mess",
    "forgettable",
    "painfully bad",
]
GOOD_VERDICTS = [
    "Highly recommended.",
    "I would go back in a heartbeat.",
    "Worth every penny.",
    "Five stars from me.",
    "Can't wait to tell my friends.",
    "I'm really glad I gave it a chance.",
    "A genuine pleasure from start to finish.",
    "Would recommend without hesitation.",
    "This one is a keeper.",
    "Easily the best I've had in a while.",
]
BAD_VERDICTS = [
    "Save your money.",
    "I won't be going back.",
    "Not worth the hype.",
    "One star, and that's generous.",
    "Avoid.",
    "I regret it.",
    "What a waste of money.",
    "I want a refund.",
    "Really not recommended.",
    "Skip this one.",
]
OPENERS = ["Honestly,", "To be fair,", "Overall,", "In short,", "", "", "", ""]
FEELINGS_GOOD = ["loved", "really enjoyed", "was pleasantly surprised by", "was blown away by", "adored"]
FEELINGS_BAD = ["hated", "was bored by", "was let down by", "couldn't stand", "was annoyed by"]
REASONS_GOOD = [
    "everything just worked",
    "you can tell people cared about the details",
    "it felt like good value",
    "it made my whole week",
    "it did exactly what it promised",
]
REASONS_BAD = [
    "nothing worked the way it should",
    "it felt rushed and careless",
    "it was overpriced for what you get",
    "it spoiled the whole experience",
    "it never lived up to the description",
]


PLURAL = {"the headphones", "the special effects", "the portions", "the instructions"}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _was(noun: str) -> str:
    return "were" if noun in PLURAL else "was"


def _is(noun: str) -> str:
    return "are" if noun in PLURAL else "is"


def _review(rng: random.Random, positive: bool) -> str:
    domain = DOMAINS[rng.choice(sorted(DOMAINS))]
    thing = rng.choice(domain["thing"])
    a1, a2, a3, a4 = rng.sample(domain["aspect"], 4)
    kind = domain["kind"][0]
    good, bad = (GOOD, BAD) if positive else (BAD, GOOD)
    verdicts = GOOD_VERDICTS if positive else BAD_VERDICTS
    feelings = FEELINGS_GOOD if positive else FEELINGS_BAD
    reasons = REASONS_GOOD if positive else REASONS_BAD
    act = rng.choice(domain["act"])
    opener = rng.choice(OPENERS)

    def lead(sentence: str) -> str:
        return f"{opener} {sentence}" if opener else _cap(sentence)

    templates: list[Callable[[], str]] = [
        lambda: (
            f"{_cap(a1)} {_was(a1)} {rng.choice(good)} and {a2} {_was(a2)} {rng.choice(good)}. {rng.choice(verdicts)}"
        ),
        lambda: lead(f"I {rng.choice(feelings)} {thing}. {_cap(a1)} {_was(a1)} {rng.choice(good)}."),
        lambda: (
            f"{_cap(thing)}? {_cap(a1)}: {rng.choice(good)}. {_cap(a2)}: {rng.choice(good)}. {rng.choice(verdicts)}"
        ),
        lambda: lead(f"{a1} {_was(a1)} {rng.choice(good)}; {rng.choice(reasons)}."),
        # Mixed: one complaint (or one compliment) before a clear overall verdict.
        lambda: (
            f"{_cap(a1)} {_was(a1)} {rng.choice(bad)}, but {a2} and {a3} more than made up for it. "
            f"{rng.choice(verdicts)}"
            if positive
            else f"{_cap(a1)} {_was(a1)} {rng.choice(bad)}, but {a2} {_was(a2)} {rng.choice(good)} and {a3} even worse. "
            f"{rng.choice(verdicts)}"
        ),
        lambda: (
            f"I've {act} a lot of {kind}, and {thing} stands out. {_cap(a1)} {_was(a1)} {rng.choice(good)}."
            if positive
            else f"I've {act} a lot of {kind}, and {thing} was the worst of them. "
            f"{_cap(a1)} {_was(a1)} {rng.choice(good)}."
        ),
        lambda: f"{rng.choice(verdicts)} {_cap(a1)} {_was(a1)} {rng.choice(good)}, and {rng.choice(reasons)}.",
    ]
    if domain is DOMAINS["product"]:
        templates.append(
            lambda: (
                f"Bought {thing} a month ago and it still works perfectly. {_cap(a1)} {_is(a1)} {rng.choice(good)}."
                if positive
                else f"Bought {thing} a month ago and it already stopped working. {_cap(a1)} {_is(a1)} {rng.choice(good)}."
            )
        )
    if rng.random() < 0.12:
        # A longer review: several sentences about different aspects before the verdict.
        sentences = [
            lead(f"I {rng.choice(feelings)} {thing}."),
            f"{_cap(a1)} {_was(a1)} {rng.choice(good)}, {a2} {_was(a2)} {rng.choice(good)}, and {a3} {_was(a3)} {rng.choice(good)}.",
            (
                f"The only thing I would change is {a4}, which {_was(a4)} {rng.choice(bad)}."
                if positive
                else f"The only good thing was {a4}, which {_was(a4)} {rng.choice(bad)}."
            ),
            f"All in all, {rng.choice(reasons)}.",
            rng.choice(verdicts),
        ]
        return " ".join(sentences)
    return rng.choice(templates)().strip()


def build_sentiment(rows: int = SENTIMENT_ROWS, seed: int = SEED) -> list[dict[str, str]]:
    """Balanced, unique reviews in a shuffled order."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[dict[str, str]] = []
    for i in range(rows):
        positive = i % 2 == 0
        while True:
            text = " ".join(_review(rng, positive).split())
            if text not in seen:
                seen.add(text)
                break
        out.append({"text": text, "label": "positive" if positive else "negative"})
    rng.shuffle(out)
    return out


# ---------------------------------------------------------------------------------------- paraphrase

NAMES = ["Maria", "Tom", "Aisha", "Kenji", "Laura", "David", "Priya", "Omar", "Sofia", "Lucas", "Grace", "Ivan"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
ITEMS = ["a used bike", "a new laptop", "two concert tickets", "a winter coat", "a secondhand piano", "a tent"]
MEETINGS = ["budget meeting", "team review", "parents' evening", "board meeting", "project kickoff"]
COMPANIES = ["Northwind", "Bluefield Foods", "Acme Logistics", "Riverside Bank", "Larkspur Games"]
GOODS = ["coffee", "bread", "petrol", "rent", "electricity", "cinema tickets"]
CITIES = ["Lisbon", "Oslo", "Denver", "Nairobi", "Osaka", "Glasgow", "Porto", "Quebec"]
TEAMS = ["the Tigers", "the Rovers", "United", "the Falcons", "City", "the Wanderers"]
SHOPS = ["bakery", "bookshop", "bike repair shop", "pharmacy", "vegan cafe"]
STREETS = ["Elm Street", "the high street", "Harbour Road", "Mill Lane", "Station Square"]
HABITS = [("regular exercise", "sleep"), ("reading before bed", "memory"), ("walking to work", "mood")]

Frame = tuple[list[str], list[str]]  # (same-meaning templates, different-meaning templates)


def _frames(rng: random.Random) -> list[Frame]:
    """Each frame: ways to say one fact, and related sentences that state a different fact."""
    p, q = rng.sample(NAMES, 2)
    d1, d2 = rng.sample(DAYS, 2)
    item = rng.choice(ITEMS)
    meeting = rng.choice(MEETINGS)
    company = rng.choice(COMPANIES)
    n1, n2 = rng.sample([20, 35, 50, 80, 120, 200, 300], 2)
    good = rng.choice(GOODS)
    pct1, pct2 = rng.sample([3, 5, 8, 10, 12, 15], 2)
    c1, c2 = rng.sample(CITIES, 2)
    t1, t2 = rng.sample(TEAMS, 2)
    s1, s2 = rng.sample([1, 2, 3, 4, 5], 2)
    hi, lo = max(s1, s2), min(s1, s2)
    mins1, mins2 = rng.sample([10, 15, 20, 25, 40, 45], 2)
    time = rng.choice(["7:15", "8:40", "9:05", "17:30", "18:10"])
    hour1, hour2 = rng.sample(["8 pm", "9 pm", "10 pm", "6 pm"], 2)
    shop = rng.choice(SHOPS)
    st1, st2 = rng.sample(STREETS, 2)
    habit, outcome = rng.choice(HABITS)
    return [
        (
            [
                f"{p} bought {item} on {d1}.",
                f"On {d1}, {p} purchased {item}.",
                f"{_cap(item)} was bought by {p} on {d1}.",
                f"{p} picked up {item} on {d1}.",
            ],
            [
                f"{p} bought {item} on {d2}.",
                f"{p} sold {item} on {d1}.",
                f"On {d1}, {q} purchased {item}.",
                f"{p} returned {item} on {d1}.",
            ],
        ),
        (
            [
                f"The {meeting} has been moved to {d1}.",
                f"The {meeting} will now take place on {d1}.",
                f"We rescheduled the {meeting} for {d1}.",
                f"The {meeting} is now on {d1} instead.",
            ],
            [
                f"The {meeting} has been cancelled.",
                f"The {meeting} has been moved to {d2}.",
                f"The {meeting} on {d1} will go ahead as planned.",
                f"The {meeting} was moved from {d1} to a later date.",
            ],
        ),
        (
            [
                f"{company} plans to hire {n1} new employees this year.",
                f"{company} intends to add {n1} people to its staff this year.",
                f"This year {company} expects to take on {n1} new workers.",
            ],
            [
                f"{company} plans to cut {n1} jobs this year.",
                f"{company} plans to hire {n2} new employees this year.",
                f"{company} hired {n1} new employees last year.",
            ],
        ),
        (
            [
                f"The price of {good} rose by {pct1} percent last month.",
                f"{_cap(good)} got {pct1} percent more expensive last month.",
                f"Last month, {good} prices went up {pct1} percent.",
            ],
            [
                f"The price of {good} fell by {pct1} percent last month.",
                f"The price of {good} rose by {pct2} percent last month.",
                f"The price of {good} is expected to rise by {pct1} percent next month.",
            ],
        ),
        (
            [
                f"Heavy rain is expected in {c1} tomorrow.",
                f"Forecasters predict a lot of rain for {c1} tomorrow.",
                f"{c1} should see heavy rainfall tomorrow.",
            ],
            [
                f"Heavy rain is expected in {c2} tomorrow.",
                f"It rained heavily in {c1} yesterday.",
                f"Forecasters predict a sunny day in {c1} tomorrow.",
            ],
        ),
        (
            [
                f"The {time} train to {c1} was delayed by {mins1} minutes.",
                f"The train to {c1} leaving at {time} ran {mins1} minutes late.",
                f"Passengers on the {time} service to {c1} arrived {mins1} minutes behind schedule.",
            ],
            [
                f"The {time} train to {c1} was cancelled.",
                f"The {time} train to {c1} was delayed by {mins2} minutes.",
                f"The {time} train to {c2} was delayed by {mins1} minutes.",
            ],
        ),
        (
            [
                f"The library stays open until {hour1} on weekdays.",
                f"On weekdays the library closes at {hour1}.",
                f"From Monday to Friday you can use the library until {hour1}.",
            ],
            [
                f"The library stays open until {hour2} on weekdays.",
                f"The library stays open until {hour1} at weekends.",
                f"On weekdays the library opens at {hour1}.",
            ],
        ),
        (
            [
                f"{_cap(t1)} beat {t2} {hi} to {lo} on {d1}.",
                f"On {d1}, {t2} lost to {t1}, {hi}-{lo}.",
                f"{_cap(t1)} won {hi}-{lo} against {t2} on {d1}.",
            ],
            [
                f"{_cap(t2)} beat {t1} {hi} to {lo} on {d1}.",
                f"{_cap(t1)} and {t2} drew {lo}-{lo} on {d1}.",
                f"{_cap(t1)} will play {t2} on {d1}.",
            ],
        ),
        (
            [
                f"{p} finished the report before the deadline.",
                f"{p} completed the report ahead of the deadline.",
                f"The report was done by {p} before it was due.",
            ],
            [
                f"{p} missed the deadline for the report.",
                f"{q} finished the report before the deadline.",
                f"{p} asked for more time to finish the report.",
            ],
        ),
        (
            [
                f"A new {shop} opened on {st1} last week.",
                f"Last week a {shop} opened its doors on {st1}.",
                f"There has been a new {shop} on {st1} since last week.",
            ],
            [
                f"The {shop} on {st1} closed last week.",
                f"A new {shop} will open on {st1} next month.",
                f"A new {shop} opened on {st2} last week.",
            ],
        ),
        (
            [
                f"The study found that {habit} improves {outcome}.",
                f"According to the study, {habit} leads to better {outcome}.",
                f"Researchers reported that {outcome} gets better with {habit}.",
            ],
            [
                f"The study found no link between {habit} and {outcome}.",
                f"The study found that {habit} harms {outcome}.",
                f"The study will test whether {habit} improves {outcome}.",
            ],
        ),
        (
            [
                f"{p}'s flight to {c1} was cancelled because of fog.",
                f"Fog forced the cancellation of {p}'s flight to {c1}.",
                f"Because of fog, {p} could not fly to {c1}: the flight was cancelled.",
            ],
            [
                f"{p}'s flight to {c1} was delayed because of fog.",
                f"{p}'s flight to {c1} was cancelled because of a strike.",
                f"{p}'s flight to {c2} was cancelled because of fog.",
            ],
        ),
    ]


def build_paraphrase(rows: int = PARAPHRASE_ROWS, seed: int = SEED) -> list[dict[str, object]]:
    """Balanced, unique sentence pairs in a shuffled order: 1 = same meaning, 0 = a different fact."""
    rng = random.Random(seed)
    seen: set[tuple[str, str]] = set()
    out: list[dict[str, object]] = []
    for i in range(rows):
        equivalent = i % 2 == 0
        while True:
            same, different = rng.choice(_frames(rng))
            first = rng.choice(same)
            second = rng.choice([s for s in same if s != first]) if equivalent else rng.choice(different)
            if rng.random() < 0.5:
                first, second = second, first
            if (first, second) not in seen:
                seen.add((first, second))
                break
        # Named labels, so charts and predictions say what a class means ("different" sorts first: id 0).
        out.append({"sentence1": first, "sentence2": second, "label": "paraphrase" if equivalent else "different"})
    rng.shuffle(out)
    return out


# -------------------------------------------------------------------------------------------- writing


def write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_examples(directory: str | Path = HERE) -> list[Path]:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return [
        write_csv(directory / SENTIMENT_FILE, build_sentiment()),
        write_csv(directory / PARAPHRASE_FILE, build_paraphrase()),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the example datasets (sentiment.csv, paraphrase.csv).")
    parser.add_argument("--out", default=str(HERE), help="Directory to write to (default: next to this script).")
    args = parser.parse_args(argv)
    for path in write_examples(args.out):
        print(path)


if __name__ == "__main__":
    main()
