"""The shared attribute table (csrc/attr_table.h): sites that see more classes than their four
ways take entries filed by fills, keyed on (type version tag, name, access). Each test runs a
megamorphic site (a base-class method over many subclasses) natively, changes one thing an entry
depends on, and compares with the interpreter; the first checks that the table answers at all."""
import textwrap

from differential import _run, check, run_jit

# Twelve classes sharing a base whose methods read, store and call through `self`: every site
# in `Base` sees twelve types, three times its ways.
CLASSES = """
    class Base:
        kind = 'base'
        def __init__(self, i):
            self.i = i
            self.name = type(self).__name__
        def read(self):
            return self.name, self.i
        def bump(self):
            self.i = self.i + 1
        def call(self):
            return self.tag()
        def tag(self):
            return 'base'
    classes = [type('C%d' % k, (Base,), {}) for k in range(12)]
    objs = [c(k) for k, c in enumerate(classes)]
    def sweep():
        out = []
        for o in objs:
            o.bump()
            out.append((o.read(), o.call(), o.kind))
        return out
"""


def test_megamorphic_sites_are_answered_from_the_table():
    source = textwrap.dedent(CLASSES) + "result = [sweep() for _ in range(50)][-1]\n"
    plain = _run(source)
    jit, before, after = run_jit(source)
    assert jit == plain
    assert after["attr_table_adopted"] - before["attr_table_adopted"] > 100
    assert after["attr_table_filed"] > before["attr_table_filed"]


def test_table_entries_follow_class_changes():
    check(textwrap.dedent(CLASSES) + textwrap.dedent("""
        out = [sweep() for _ in range(20)][-1:]
        classes[3].tag = lambda self: 'three'       # a method defined on one subclass
        classes[5].kind = 'five'                    # a class attribute shadowing the base's
        Base.read = lambda self: ('read', self.i)   # the base changes: every subclass's tag
        out.append(sweep())
        del classes[3].tag
        out.append(sweep())
        result = out
    """))


def test_table_entries_follow_instance_changes():
    check(textwrap.dedent(CLASSES) + textwrap.dedent("""
        out = [sweep() for _ in range(20)][-1:]
        objs[2].tag = lambda: 'own'          # an instance attribute shadows the method
        objs[4].__dict__['kind'] = 'mine'    # the values become a real dict, then shadow
        vars(objs[6])                        # a real dict, nothing shadowed
        del objs[7].name                     # an inline value goes missing
        for o in objs:
            try:
                out.append((o.read(), o.call(), o.kind))
            except AttributeError as e:
                out.append(str(e))
        result = out
    """))


def test_table_entries_follow_descriptors_and_slots():
    check("""
        class Base:
            def get(self):
                return self.v
            def put(self, x):
                self.v = x
        kinds = []
        for k in range(10):
            if k % 3 == 0:
                ns = {'__slots__': ('v',)}
            elif k % 3 == 1:
                ns = {'v': property(lambda self, k=k: ('prop', k), lambda self, x: None)}
            else:
                ns = {}
            kinds.append(type('K%d' % k, (Base,), ns))
        objs = [c() for c in kinds]
        out = []
        for r in range(30):
            for o in objs:
                o.put(r)
                out.append(o.get())
            if r == 10:
                kinds[2].v = property(lambda self: 'late', lambda self, x: None)  # a data descriptor
            if r == 20:
                kinds[1].v = 'plain'  # a property becomes a plain value (the store shadows it)
        result = out
    """)


def test_names_of_dead_code_are_never_confused():
    # Each round compiles a function reading a fresh attribute name through many classes, then
    # drops it: a new name may be allocated where an old one was, but entries hold their names.
    check("""
        classes = [type('D%d' % k, (), {}) for k in range(8)]
        out = []
        for r in range(40):
            objs = []
            for c in classes:
                o = c()
                setattr(o, 'a%d' % r, r)
                setattr(o, 'a%d' % (r + 1), -r)
                objs.append(o)
            ns = {}
            exec('def f(objs):\\n    return [o.a%d for _ in range(3) for o in objs]' % r, ns)
            out.append(ns['f'](objs))
            del ns
        result = out
    """)


def test_stores_through_the_table_keep_insertion_order():
    check("""
        class Base:
            def fill(self, a, b):
                self.b = b
                self.a = a
        classes = [type('S%d' % k, (Base,), {}) for k in range(9)]
        out = []
        for r in range(20):
            for c in classes:
                o = c()
                o.fill(r, -r)
                out.append(list(vars(o).items()))
        result = out
    """)


GROWING = """
import cpjit
# 1,000 classes whose instances are read through one method's six sites: thousands of
# (type, name) keys filed, so the table grows from 64 sets to 256 and to 1024 while sites keep
# adopting its entries.
class Base:
    def __init__(self, k):
        self.a, self.b, self.c, self.d, self.e = k, k * 2, str(k), -k, k % 7
    def read(self):
        return self.a + self.b + self.d + self.e, self.c, self.tag()
    def tag(self):
        return type(self).__name__
classes = [type('K%d' % k, (Base,), {}) for k in range(1000)]
objs = [c(k) for k, c in enumerate(classes)]
classes[7].tag = lambda self: 'seven'
total = []
for rnd in range(3):
    total.append([o.read() for o in objs])
    if rnd == 1:
        classes[9].a = property(lambda self: -1)   # a data descriptor now shadows the instance
print(total[0][:3], total[2][7], total[2][9], hash(repr(total)))
stats = cpjit.stats() if cpjit.is_enabled() else None
print(stats and (stats["attr_table_sets"], stats["attr_table_filed"] > 1000,
                 stats["attr_table_adopted"] > 0))
"""


def test_the_table_grows_and_keeps_answering(tmp_path):
    # A fresh process (the table is process-wide): it starts with 64 sets, grows as entries
    # are filed, and what sites adopt from it after each growth is still right.
    import os
    import subprocess
    import sys
    import cpjit
    (tmp_path / "grow.py").write_text(GROWING)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPJIT")}
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(cpjit.__file__)))
    env["PYTHONHASHSEED"] = "0"
    plain = subprocess.run([sys.executable, "grow.py"], capture_output=True, text=True, env=env,
                           cwd=tmp_path, timeout=120)
    jit = subprocess.run([sys.executable, "-m", "cpjit", "grow.py"], capture_output=True,
                         text=True, env=dict(env, CPJIT_THRESHOLD="0"), cwd=tmp_path, timeout=120)
    assert plain.returncode == 0 and jit.returncode == 0, jit.stderr
    assert jit.stdout.splitlines()[0] == plain.stdout.splitlines()[0]
    assert jit.stdout.splitlines()[1] == "(1024, True, True)"
