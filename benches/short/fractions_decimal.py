"""Short program (standard library, 40-300 ms): sum 1/k^2 as Fractions (1,500 terms) and the harmonic series as Decimals (40,000 terms). Prints a digest."""
from fractions import Fraction
from decimal import Decimal, getcontext
import hashlib
getcontext().prec = 40
h = hashlib.sha256()
s = Fraction(0)
for k in range(1, 1500):
    s += Fraction(1, k * k)
    if k % 100 == 0:
        h.update(str(s.limit_denominator(10**12)).encode())
d = Decimal(0)
for k in range(1, 40000):
    d += Decimal(1) / Decimal(k)
h.update(str(d).encode())
print(h.hexdigest())
