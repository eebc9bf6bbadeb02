"""Real program (standard library): build MIME messages with email.message.EmailMessage (unicode
subjects, address lists, a text body, a binary attachment), serialise them, parse them back with
the default policy and read every header, body and attachment. Prints a digest."""
import email.policy
import hashlib
import sys
from email.message import EmailMessage
from email.parser import BytesParser

N = int(sys.argv[1]) if len(sys.argv) > 1 else 300

digest = hashlib.sha256()
parser = BytesParser(policy=email.policy.default)
for i in range(N):
    msg = EmailMessage()
    msg["Subject"] = f"Report {i} \u00e9t\u00e9"
    msg["From"] = "A Person <a@example.com>"
    msg["To"] = ", ".join(f"user{j} <u{j}@example.org>" for j in range(5))
    msg.set_content("Hello\n" * 20 + f"line {i}\n")
    msg.add_attachment(bytes(range(256)) * 4, maintype="application",
                       subtype="octet-stream", filename=f"f{i}.bin")
    back = parser.parsebytes(msg.as_bytes())
    digest.update(str(back["To"]).encode())
    digest.update(back.get_body().get_content().encode())
    for part in back.iter_attachments():
        digest.update(part.get_content())
print(digest.hexdigest())
