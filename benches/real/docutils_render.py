"""Real program: render a generated reStructuredText document (sections, lists, tables,
literal blocks, footnotes, cross references) to HTML with docutils. Prints size and digest."""
import hashlib
import sys

from docutils.core import publish_string

N = int(sys.argv[1]) if len(sys.argv) > 1 else 250


def document(n):
    out = ["=========\nBenchmark\n=========\n", ".. contents::\n"]
    for i in range(n):
        title = f"Section {i}"
        out.append(f"{title}\n{'=' * len(title)}\n")
        out.append(f"Text with *emphasis*, **strong**, ``literal {i}`` and a reference to "
                   f"`Section {max(i - 1, 0)}`_ and a footnote [#f{i}]_.\n")
        out.append("- first item\n- second item with a longer text that goes on\n\n  - nested\n")
        out.append("#. one\n#. two\n")
        out.append(f"+-----+-----+\n| a{i:<3}| b   |\n+=====+=====+\n| 1   | 2   |\n+-----+-----+\n")
        out.append(f"::\n\n    def f{i}():\n        return {i}\n")
        out.append(f".. [#f{i}] Footnote {i}.\n")
        out.append(f".. note:: A note in section {i}.\n")
    return "\n".join(out)


html = publish_string(document(N), writer_name="html5",
                      settings_overrides={"report_level": 5, "halt_level": 5})
print(len(html), hashlib.sha256(html).hexdigest())
