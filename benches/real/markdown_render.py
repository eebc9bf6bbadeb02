"""Real program: render a generated 300-section Markdown document three times to HTML with Python-Markdown
(tables, fenced code, table of contents). Prints the size and a digest of the HTML."""
import hashlib
import sys

import markdown

SECTIONS = int(sys.argv[1]) if len(sys.argv) > 1 else 300


def document(n):
    parts = []
    for i in range(n):
        parts.append(f"## Section {i}: *emphasis* and **strong {i % 7}**\n")
        parts.append(f"Paragraph {i} with a [link](http://example.com/{i}), `inline code {i}`, "
                     f"an automatic <http://example.org/{i}> and some text to wrap. " * 3 + "\n")
        parts.append("- item one\n- item *two*\n    1. nested ordered\n    2. nested **bold**\n")
        parts.append("> quoted text\n> over two lines\n")
        parts.append("| a | b | c |\n|---|:-:|--:|\n" + "".join(f"| {i} | {j} | {i * j} |\n" for j in range(4)))
        parts.append(f"```python\ndef f{i}(x):\n    return x * {i}\n```\n")
    return "\n".join(parts)


text = document(SECTIONS)
html = ""
for _ in range(3):
    html = markdown.markdown(text, extensions=["tables", "fenced_code", "toc"])
print(len(html), hashlib.sha256(html.encode()).hexdigest())
