"""Short program (standard library, 40-300 ms): textwrap.fill, dedent and shorten, string.Template, over 300 random paragraphs. Prints a digest."""
import textwrap, string, hashlib, random
random.seed(5)
words = [''.join(random.choice(string.ascii_lowercase) for _ in range(random.randint(2, 11))) for _ in range(3000)]
h = hashlib.sha256()
tmpl = string.Template("$name scored $score in $game")
for i in range(300):
    para = " ".join(random.choice(words) for _ in range(200))
    for width in (30, 50, 72):
        h.update(textwrap.fill(para, width=width, initial_indent="* ", subsequent_indent="  ").encode())
    h.update(textwrap.dedent("    a\n      b\n    c\n").encode())
    h.update(tmpl.substitute(name=words[i], score=i, game="go").encode())
    h.update(textwrap.shorten(para, 60).encode())
print(h.hexdigest())
