"""Short program (standard library, 40-300 ms): parse the email, json and logging packages' sources with ast, count node kinds with a NodeVisitor, unparse. Prints a digest."""
import ast, hashlib, os, collections
import email, json, logging
paths = []
for mod in (email, json, logging):
    d = os.path.dirname(mod.__file__)
    paths += sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".py"))
class Counter(ast.NodeVisitor):
    def __init__(self):
        self.c = collections.Counter(); self.names = set()
    def generic_visit(self, node):
        self.c[type(node).__name__] += 1
        super().generic_visit(node)
    def visit_Name(self, node):
        self.names.add(node.id); self.generic_visit(node)
h = hashlib.sha256()
for _ in range(2):
    for p in paths:
        with open(p, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        v = Counter(); v.visit(tree)
        h.update(repr(sorted(v.c.items())).encode()); h.update(repr(sorted(v.names)).encode())
        h.update(ast.unparse(tree)[:2000].encode())
print(h.hexdigest())
