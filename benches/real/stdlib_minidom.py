"""Real program (standard library): parse a generated 4,000-element XML document into a DOM
with xml.dom.minidom, query it by tag name and attribute, and serialise it, several times.
Prints a digest."""
import hashlib
import sys
from xml.dom import minidom

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 6

xml = "<root>" + "".join(
    f'<item id="{i}" kind="k{i % 5}"><name>Item {i}</name><tags><t>a</t><t>b{i}</t></tags></item>'
    for i in range(4000)) + "</root>"
digest = hashlib.sha256()
for _ in range(ROUNDS):
    dom = minidom.parseString(xml)
    for item in dom.getElementsByTagName("item"):
        digest.update(item.getAttribute("id").encode())
        digest.update(item.getElementsByTagName("name")[0].firstChild.data.encode())
    digest.update(dom.toxml().encode())
    dom.unlink()
print(digest.hexdigest())
