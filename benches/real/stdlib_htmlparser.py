"""Real program (standard library): parse a generated 3,000-block HTML page (nested tags,
attributes, entities, void elements) with a subclass of html.parser.HTMLParser that counts tags,
attributes and text, several times. Prints a digest of the counts."""
import hashlib
import sys
from html.parser import HTMLParser

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 8


class Counter(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = {}
        self.text = 0

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1 + len(attrs)

    def handle_data(self, data):
        self.text += len(data)


page = "".join(
    f'<div class="c{i}" id="d{i}"><p>Para <b>{i}</b> with <a href="/x/{i}">link</a> &amp; '
    f'text</p><ul><li>one</li><li>two</li></ul><img src="i{i}.png" alt="x"/></div>\n'
    for i in range(3000))
digest = hashlib.sha256()
for _ in range(ROUNDS):
    parser = Counter()
    parser.feed(page)
    parser.close()
    digest.update(repr(sorted(parser.tags.items())).encode())
    digest.update(str(parser.text).encode())
print(digest.hexdigest())
