"""What of a page a German reader would find in English: its visible text and the
attributes read out or shown (title, aria-label, placeholder, alt), minus what is code
(<code>, <pre>, <script>, <style>) or marked as another language (lang="en"). A
fragment counts as English when it holds a common English word that is no German one."""

import re
from html.parser import HTMLParser

# Frequent English words that are not German words too (not "in", "an", "was", "will",
# "also", "so", "die", "hat", "admin"), and the portal's own nouns and buttons.
ENGLISH = set(
    """the and is are of to with not its this that be for from which has have been yet
    there here you your they their them or on by at after before when until only each
    every none nothing what who can cannot could would should does do new add delete
    cancel save back continue change remove keep send sent platform platforms tenant
    tenants unit units building buildings device devices meter meters row rows column
    columns file page missing different same since last never shown than then more all
    one yes how why where sign signed locked try again minutes unlock sooner attempts
    access move moves moved out into ends started done compared comparing fix fixed left
    leave adopt ours theirs holds hold held differs differ holding invite invites accepted
    deleted created synced waiting failed connected retry""".split()
)
SKIPPED = {"script", "style", "code", "pre", "textarea"}
SHOWN_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")


class _Visible(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._skipping: list[str] = []  # open tags whose content is not prose

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in SKIPPED or attributes.get("lang") == "en":
            self._skipping.append(tag)
        if not self._skipping:
            self.texts += [attributes[a] for a in SHOWN_ATTRIBUTES if attributes.get(a)]

    def handle_endtag(self, tag):
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()

    def handle_data(self, data):
        if not self._skipping and data.strip():
            self.texts.append(" ".join(data.split()))


def visible_texts(html: str) -> list[str]:
    parser = _Visible()
    parser.feed(html)
    return parser.texts


def english_left(html: str, *, allowed=()) -> list[str]:
    """The page's fragments with an English word in them, after taking out `allowed`
    (the test's own data, the platforms' names) and codes (SMART_METER, tenant_email)."""
    allowed = sorted(allowed, key=len, reverse=True)  # "Flat 10" before "Flat 1"
    found = []
    for text in visible_texts(html):
        rest = text
        for words in allowed:
            rest = re.sub(rf"(?<!\w){re.escape(words)}(?!\w)", " ", rest)
        words = {w.lower() for w in re.findall(r"[A-Za-z_']+", rest) if "_" not in w}
        if ENGLISH & words:
            found.append(text)
    return found
