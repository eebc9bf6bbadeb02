"""LOAD_GLOBAL at sites the interpreter specialised (stencils/globals.c, the hinted forms).

A quickened LOAD_GLOBAL carries LOAD_GLOBAL_MODULE or LOAD_GLOBAL_BUILTIN; the compiler gives it
a stencil that tests cpjit's own global cache for that case in line before the generic body.
Each test warms a function up in the interpreter, lets it compile, checks its stencils, then
rebinds, deletes and shadows what its sites load and compares everything with the interpreter.
"""
import dis

from differential import check, compiled_after_warm_up

THRESHOLD = 20

SOURCE = """
G = 1
def site(x):
    return G + len(x), abs(-G)
"""


def test_specialised_global_loads_get_their_stencils():
    info = compiled_after_warm_up(SOURCE, "site", f"for n in range({THRESHOLD + 5}): site([n])",
                                  THRESHOLD)
    # What the interpreter specialised each LOAD_GLOBAL to (a builtin's form can fail in a
    # process whose builtins dict changed shape), and the stencil each got.
    forms = {ins.offset // 2: ins.opname
             for ins in dis.get_instructions(info["function"], adaptive=True)
             if ins.opname.startswith("LOAD_GLOBAL")}
    stencils = {unit: stencil for unit, stencil, _ in info["layout"] if unit in forms}
    assert "LOAD_GLOBAL_MODULE" in forms.values(), forms
    for unit, form in forms.items():
        if form in ("LOAD_GLOBAL_MODULE", "LOAD_GLOBAL_BUILTIN"):
            assert stencils[unit].startswith(form + "__"), (form, stencils)
        else:
            assert stencils[unit].startswith("LOAD_GLOBAL__"), (form, stencils)


def test_rebound_deleted_and_shadowed_globals_at_specialised_sites():
    check(SOURCE + f"""
for n in range({THRESHOLD + 5}):
    site([n])
out = [site([1, 2])]
G = 10                        # rebound: same keys, new value
out.append(site([1]))
len = lambda x: 100           # a builtin shadowed by a new global
out.append(site([1]))
del len
out.append(site([1, 2, 3]))
H = 5                         # another global added: the keys change
out.append(site([]))
import builtins
old_abs = builtins.abs
builtins.abs = lambda x: "patched abs"   # a builtin rebound
try:
    out.append(site([]))
finally:
    builtins.abs = old_abs
del G                         # gone: NameError at the site
try:
    site([])
except NameError as e:
    out.append(str(e))
G = 2
out.append(site([0]))
result = out
""", threshold=THRESHOLD)


def test_specialised_global_sites_under_other_globals_and_builtins():
    check(SOURCE + f"""
for n in range({THRESHOLD + 5}):
    site([n])
code = site.__code__
out = []
# The same code with other globals and builtins: the cache's versions do not match.
f = type(site)(code, {{"G": 7, "__builtins__": {{"len": lambda x: -1, "abs": lambda x: "abs"}}}})
out.append(f([1]))
class Globals(dict):
    pass
g = Globals(G=3, __builtins__=__builtins__)
f2 = type(site)(code, g)
out.append(f2([1, 2]))
out.append(site([9]))
result = out
""", threshold=THRESHOLD)
