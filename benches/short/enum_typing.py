"""Short program (standard library, 40-300 ms): 60,000 rounds of Enum and IntFlag lookups, a Generic class, an lru_cache, get_type_hints. Prints a digest."""
import enum, typing, hashlib, functools
class Color(enum.Enum):
    RED = 1; GREEN = 2; BLUE = 3
class Perm(enum.IntFlag):
    R = 4; W = 2; X = 1
T = typing.TypeVar("T")
class Box(typing.Generic[T]):
    def __init__(self, v: T): self.v = v
    def map(self, f: "typing.Callable[[T], T]") -> "Box[T]": return Box(f(self.v))
@functools.lru_cache(maxsize=256)
def perm_str(p):
    return "".join(c if p & getattr(Perm, c) else "-" for c in "RWX")
h = hashlib.sha256()
for i in range(60000):
    c = Color((i % 3) + 1)
    p = Perm(i % 8)
    b = Box(i).map(lambda x: x * 2)
    h.update(f"{c.name}{perm_str(p)}{b.v}{Color['RED'] is c}".encode())
    if i % 1000 == 0:
        h.update(repr(typing.get_type_hints(Box.map)).encode())
print(h.hexdigest())
