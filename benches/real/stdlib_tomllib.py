"""Real program (standard library): parse a generated 1,500-table TOML document (strings,
integers, floats, arrays, dates, inline tables, sub-tables) with tomllib, several times. Prints a
digest of the parsed data."""
import hashlib
import json
import sys
import tomllib

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 10


def document(n):
    parts = []
    for i in range(n):
        parts.append(
            f'[section{i}]\nname = "item {i}"\nvalue = {i * 3}\nratio = {i / 7:.5f}\n'
            f'flags = [true, false, {i}]\nwhen = 1979-05-27T07:32:{i % 60:02d}Z\n'
            f'[section{i}.sub]\nx = {{ a = 1, b = "two", c = [1, 2, 3] }}\n')
    return "\n".join(parts)


text = document(1500)
digest = hashlib.sha256()
for _ in range(ROUNDS):
    digest.update(json.dumps(tomllib.loads(text), default=str, sort_keys=True).encode())
print(digest.hexdigest())
