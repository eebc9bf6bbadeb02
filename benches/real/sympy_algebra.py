"""Real program: symbolic algebra with sympy: expand, factor, simplify, differentiate,
integrate, solve and series. Prints each result."""
import sys

import sympy as sp

x, y, z = sp.symbols("x y z")
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 1
for k in range(ROUNDS):
    e = sp.expand((x + 2 * y - z + k) ** 7)
    print(len(e.args))
    print(sp.factor(x ** 6 - y ** 6))
    print(sp.simplify(sp.sin(x) ** 2 + sp.cos(x) ** 2 + sp.exp(x) * sp.exp(-x)))
    print(sp.diff(sp.exp(x * y) * sp.sin(x ** 2) / (1 + x ** 2), x, 2).count_ops())
    print(sp.integrate(x ** 3 * sp.exp(2 * x) + 1 / (x ** 2 + 1), x))
    print(sp.solve([x + y + z - 6, x - y + 2 * z - 5, 2 * x + y - z - 1], [x, y, z]))
    print(sp.series(sp.cos(x) * sp.exp(x), x, 0, 10))
    print(sp.Matrix([[x, 1, 0], [1, y, 1], [0, 1, z]]).det())
    print(sp.apart((3 * x ** 2 + 2) / ((x - 1) * (x + 2) * (x ** 2 + 1)), x))
