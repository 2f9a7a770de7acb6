"""Example corpora and words, written for this project (labels colour the map)."""

from __future__ import annotations

# (text, label): four topics, so clusters are visible on the map.
CORPUS: tuple[tuple[str, str], ...] = (
    ("The cat curled up on the warm windowsill and fell asleep.", "animals"),
    ("My dog barks at the postman every single morning.", "animals"),
    ("A kitten chased a ball of yarn across the living room.", "animals"),
    ("Wolves hunt in packs and howl at night.", "animals"),
    ("The parrot learned to repeat the word hello.", "animals"),
    ("Knead the dough for ten minutes before letting it rise.", "cooking"),
    ("Add a pinch of salt to the boiling pasta water.", "cooking"),
    ("Slow-roast the tomatoes with garlic and olive oil.", "cooking"),
    ("This soup tastes better the next day.", "cooking"),
    ("Whisk the eggs and sugar until pale and fluffy.", "cooking"),
    ("The central bank raised interest rates by a quarter point.", "finance"),
    ("Stock markets fell sharply after the earnings report.", "finance"),
    ("She opened a savings account to put money aside each month.", "finance"),
    ("Inflation erodes the value of cash over time.", "finance"),
    ("The loan was approved once the mortgage papers were signed.", "finance"),
    ("Python lists can hold values of different types.", "programming"),
    ("The function returns None when the key is missing.", "programming"),
    ("Run the unit tests before you merge the pull request.", "programming"),
    ("A segmentation fault usually means a bad pointer.", "programming"),
    ("Git rebase rewrites the history of your branch.", "programming"),
)

TEXTS: tuple[str, ...] = tuple(text for text, _ in CORPUS)
LABELS: tuple[str, ...] = tuple(label for _, label in CORPUS)
QUERIES: tuple[str, ...] = (
    "My puppy loves to play fetch.",
    "How do I bake bread at home?",
    "Why are interest rates going up?",
    "My code crashes with a null pointer.",
)

CONTEXT_SENTENCES: tuple[str, ...] = (
    "We had a picnic on the bank of the river.",
    "The river bank was muddy after the rain.",
    "I deposited my salary at the bank.",
    "The bank approved the loan this morning.",
)

MAP_WORDS = "king queen man woman prince princess paris france berlin germany tokyo japan cat dog horse apple banana"
