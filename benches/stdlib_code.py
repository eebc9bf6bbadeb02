"""Dump the bytecode of every code object of a set of big standard-library modules.

Used by benches/compile_speed.rs (run as a subprocess at bench start); also usable by hand:

    python3 benches/stdlib_code.py > code.bin

Each module's source is compiled with compile() (nothing is imported or executed), all code
objects are collected by walking co_consts recursively, and written to stdout as:

    b"CPJB" u32 version=1  u32 count
    count times:  u32 n_units  u32 n_consts  u32 n_names  u16 name_len
                  name (utf-8, "module:qualname")  co_code (2 * n_units bytes)

All integers little-endian. co_code is the unquickened bytecode (CACHE entries are zero), which
is what cpjit's analysis reads through its deopt table anyway.
"""
import importlib.util
import struct
import sys

MODULES = [
    # big pure-Python modules with varied code: classes, generators, closures, comprehensions,
    # try/except/finally, with, async, match (re._parser), many EXTENDED_ARG jumps
    "typing", "argparse", "optparse", "json.decoder", "json.encoder", "http.client",
    "http.server", "http.cookiejar", "email.message", "email._header_value_parser",
    "email.utils", "email.feedparser", "email.generator", "email._policybase",
    "asyncio.base_events", "asyncio.tasks", "asyncio.streams", "asyncio.selector_events",
    "asyncio.sslproto", "unittest.case", "unittest.mock", "unittest.main", "collections",
    "dataclasses", "inspect", "pathlib", "difflib", "pydoc", "tarfile", "zipfile", "statistics",
    "_pydecimal", "subprocess", "threading", "logging", "logging.handlers", "urllib.parse",
    "urllib.request", "shutil", "tempfile", "textwrap", "re._parser", "re._compiler", "enum",
    "functools", "fractions", "datetime", "configparser", "xml.etree.ElementTree", "pickle",
    "ast", "dis", "traceback", "doctest", "calendar", "imaplib", "ftplib", "smtplib",
    "mailbox", "platform", "pdb", "turtle", "tkinter",
]


def source_path(name):
    try:
        spec = importlib.util.find_spec(name)
    except ImportError:
        return None
    origin = spec.origin if spec else None
    return origin if origin and origin.endswith(".py") else None


def walk(code, prefix, out):
    out.append((f"{prefix}:{code.co_qualname}", code))
    for const in code.co_consts:
        if isinstance(const, type(code)):
            walk(const, prefix, out)


def main():
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"stdlib_code.py needs CPython 3.11 bytecode; this is {sys.version.split()[0]}")
    codes = []
    missing = []
    for name in MODULES:
        path = source_path(name)
        if path is None:
            missing.append(name)
            continue
        with open(path, "rb") as f:
            source = f.read()
        walk(compile(source, path, "exec", dont_inherit=True), name, codes)
    out = [b"CPJB", struct.pack("<II", 1, len(codes))]
    for name, code in codes:
        raw = code.co_code
        label = name.encode("utf-8")[:0xFFFF]
        out.append(struct.pack("<IIIH", len(raw) // 2, len(code.co_consts), len(code.co_names), len(label)))
        out.append(label)
        out.append(raw)
    sys.stdout.buffer.write(b"".join(out))
    print(f"stdlib_code.py: {len(codes)} code objects from {len(MODULES) - len(missing)} modules"
          + (f" (not found: {', '.join(missing)})" if missing else ""), file=sys.stderr)


if __name__ == "__main__":
    main()
