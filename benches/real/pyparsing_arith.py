"""Real program: parse and evaluate generated arithmetic expressions with a pyparsing grammar
(infix_notation with six precedence levels, function calls, variables). Prints the count and sum."""
import random
import sys

import pyparsing as pp

N = int(sys.argv[1]) if len(sys.argv) > 1 else 400

pp.ParserElement.enable_packrat()
number = pp.pyparsing_common.number
ident = pp.Word(pp.alphas, pp.alphanums + "_")
expr = pp.Forward()
call = pp.Group(ident + pp.Suppress("(") + pp.Optional(pp.delimited_list(expr)) + pp.Suppress(")"))
operand = call | number | ident
expr <<= pp.infix_notation(operand, [
    (pp.one_of("+ -"), 1, pp.OpAssoc.RIGHT),
    ("**", 2, pp.OpAssoc.RIGHT),
    (pp.one_of("* / %"), 2, pp.OpAssoc.LEFT),
    (pp.one_of("+ -"), 2, pp.OpAssoc.LEFT),
    (pp.one_of("< > <= >= == !="), 2, pp.OpAssoc.LEFT),
])
FUNCS = {"max": max, "min": min, "hypot": lambda a, b: (a * a + b * b) ** 0.5 if max(abs(a), abs(b)) < 1e100 else 0.0}
VARS = {"x": 3, "y": -2.5, "zeta": 7}


def evaluate(t):
    if isinstance(t, (int, float)):
        return t
    if isinstance(t, str):
        return VARS[t]
    t = list(t)
    if len(t) >= 1 and isinstance(t[0], str) and t[0] in FUNCS:
        return FUNCS[t[0]](*[evaluate(a) for a in t[1:]])
    if len(t) == 2:
        v = evaluate(t[1])
        return -v if t[0] == "-" else v
    acc = evaluate(t[0])
    for op, rhs in zip(t[1::2], t[2::2]):
        r = evaluate(rhs)
        acc = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
               "/": lambda a, b: a / b if b else 0.0, "%": lambda a, b: a % b if b else 0,
               "**": lambda a, b: a ** min(abs(b), 3) if abs(a) < 1e6 else a,
               "<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
               ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}[op](acc, r)
    return acc


def gen(rng, depth):
    if depth == 0 or rng.random() < 0.3:
        return rng.choice([str(rng.randint(0, 99)), f"{rng.random() * 10:.2f}", "x", "y", "zeta"])
    kind = rng.random()
    if kind < 0.15:
        return f"{rng.choice(list(FUNCS))}({gen(rng, depth - 1)}, {gen(rng, depth - 1)})"
    if kind < 0.3:
        return f"({gen(rng, depth - 1)})"
    return f"{gen(rng, depth - 1)} {rng.choice(['+', '-', '*', '/', '%', '<', '=='])} {gen(rng, depth - 1)}"


rng = random.Random(42)
total = 0.0
for _ in range(N):
    total += float(evaluate(expr.parse_string(gen(rng, 4), parse_all=True)[0]))
print(N, round(total, 6))
