"""Short program (standard library, 40-300 ms): json.dumps/loads round trips of 300 random nested documents, 4 times. Prints a digest."""
import json, hashlib, random
random.seed(3)
def make(d):
    if d == 0:
        return random.choice([1, 2.5, "s" * random.randint(1, 9), None, True])
    if random.random() < 0.5:
        return [make(d - 1) for _ in range(random.randint(1, 5))]
    return {f"k{random.randint(0, 99)}": make(d - 1) for _ in range(random.randint(1, 5))}
docs = [make(6) for _ in range(60)]
h = hashlib.sha256()
for _ in range(3):
    for d in docs:
        s = json.dumps(d, sort_keys=True, indent=1)
        h.update(json.dumps(json.loads(s), separators=(",", ":")).encode())
print(h.hexdigest())
