"""Real program: split, parse and reformat generated SQL with sqlparse (reindent, upper-case
keywords, strip comments). Prints the statement count and a digest of the formatted SQL."""
import hashlib
import random
import sys

import sqlparse

N = int(sys.argv[1]) if len(sys.argv) > 1 else 400
rng = random.Random(7)


def statement(i):
    cols = ", ".join(f"t{i % 5}.col_{j} AS c{j}" for j in range(rng.randint(3, 9)))
    joins = " ".join(f"left join tab_{k} t{k} on t{k}.id = t0.ref_{k}" for k in range(1, rng.randint(2, 5)))
    where = " and ".join(f"t0.f{j} {rng.choice(['=', '<', '>', '<>'])} {rng.randint(0, 999)}"
                         for j in range(rng.randint(1, 5)))
    kind = i % 4
    if kind == 0:
        return (f"select {cols} from base t0 {joins} where {where} and t0.name like 'x%' "
                f"group by c0 having count(*) > {i} order by c0 desc limit 10; -- query {i}")
    if kind == 1:
        return f"insert into log (a, b, c) values ({i}, 'text {i}', {rng.random():.4f});"
    if kind == 2:
        return (f"update items set price = price * 1.{i % 10}, note = 'n{i}' where id in "
                f"(select id from other where {where});")
    return (f"with recent as (select id, max(ts) m from events where kind = {i} group by id) "
            f"select r.id, case when r.m > 5 then 'hot' else 'cold' end state from recent r "
            f"{joins.replace('t0.', 'r.')};")


text = "\n".join(statement(i) for i in range(N))
out = sqlparse.format(text, reindent=True, keyword_case="upper", strip_comments=True)
stmts = sqlparse.split(text)
print(len(stmts), hashlib.sha256(out.encode()).hexdigest())
