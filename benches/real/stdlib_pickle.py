"""Real program (standard library): pickle and unpickle 20,000 records (dicts of ints, strings,
lists, tuples, sets) with the pure-Python pickler and unpickler of the pickle module
(pickle._Pickler, pickle._Unpickler), checking the round trip. Prints a digest of the bytes."""
import hashlib
import io
import pickle
import sys

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 2

data = [{"id": i, "name": f"n{i}", "vals": list(range(i % 20)), "t": (i, str(i), i / 3),
         "s": {i, i + 1}} for i in range(20000)]
digest = hashlib.sha256()
for _ in range(ROUNDS):
    out = io.BytesIO()
    pickle._Pickler(out, protocol=4).dump(data)
    raw = out.getvalue()
    digest.update(raw)
    back = pickle._Unpickler(io.BytesIO(raw)).load()
    if back != data:
        sys.exit("round trip changed the data")
print(digest.hexdigest())
