"""Short program (standard library, 40-300 ms): a regular-expression tokenizer over argparse.py, then tokenize.generate_tokens, 3 times. Prints a digest."""
import re, hashlib, tokenize, io, os
TOK = re.compile(r"(?P<num>\d+(\.\d*)?)|(?P<name>[A-Za-z_]\w*)|(?P<op>[-+*/()=<>!]=?)|(?P<ws>\s+)|(?P<other>.)")
src = open(os.path.join(os.path.dirname(os.__file__), "argparse.py"), encoding="utf-8").read()
h = hashlib.sha256()
counts = {}
for _ in range(3):
    for m in TOK.finditer(src[:120000]):
        k = m.lastgroup
        if k != "ws":
            counts[k] = counts.get(k, 0) + 1
    for t in tokenize.generate_tokens(io.StringIO(src[:60000]).readline):
        h.update(tokenize.tok_name[t.type].encode())
h.update(repr(sorted(counts.items())).encode())
print(h.hexdigest())
