"""Short program (standard library, 40-300 ms): build an 8,000-book ElementTree, serialise it, parse it back and query it 3 times. Prints a digest."""
import xml.etree.ElementTree as ET, hashlib
root = ET.Element("catalog")
for i in range(8000):
    b = ET.SubElement(root, "book", id=str(i), lang=["en", "fr", "de"][i % 3])
    ET.SubElement(b, "title").text = f"Title {i}"
    ET.SubElement(b, "price").text = f"{(i * 37) % 1000 / 10:.2f}"
    for t in range(i % 4):
        ET.SubElement(b, "tag").text = f"t{t}"
data = ET.tostring(root)
h = hashlib.sha256()
for _ in range(3):
    tree = ET.fromstring(data)
    total = 0.0
    for b in tree.iterfind("book"):
        if b.get("lang") == "fr":
            total += float(b.findtext("price"))
        h.update((b.findtext("title") or "").encode())
    h.update(f"{total:.2f}".encode())
    h.update(str(len(tree.findall(".//tag"))).encode())
print(h.hexdigest())
