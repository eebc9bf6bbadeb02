"""Short program (standard library, 40-300 ms): unified diffs and SequenceMatcher ratios of six 600-line texts. Prints a digest."""
import difflib, hashlib, random
random.seed(1)
words = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta", "iota", "kappa"]
def text(n):
    return [" ".join(random.choice(words) for _ in range(8)) + "\n" for _ in range(n)]
h = hashlib.sha256()
for k in range(6):
    a = text(600)
    b = list(a)
    for _ in range(60):
        i = random.randrange(len(b)); b[i] = " ".join(random.choice(words) for _ in range(8)) + "\n"
    for line in difflib.unified_diff(a, b, "a", "b"):
        h.update(line.encode())
    h.update(str(difflib.SequenceMatcher(None, "".join(a[:80]), "".join(b[:80])).ratio()).encode())
print(h.hexdigest())
