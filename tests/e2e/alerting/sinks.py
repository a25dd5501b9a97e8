#!/usr/bin/python3
"""Local stand-ins for the mail server and Slack, for the alert delivery tests.

    sinks.py OUT_DIR CERT KEY SMTP_USER SMTP_PASSWORD

An SMTP server on 127.0.0.1 (aiosmtpd) that offers STARTTLS with CERT/KEY, requires it
before AUTH, and accepts mail only from SMTP_USER authenticated with SMTP_PASSWORD, as a
real submission server would; and an HTTP server on 127.0.0.1 that answers every POST with
200 "ok", as Slack's incoming webhooks do. Both listen on ports the kernel picks and write
them to OUT_DIR/ports as `smtp=N http=N`.

Every message lands in OUT_DIR as one JSON file, numbered in arrival order:
  mail-NNN.json   {"subject", "from", "to", "tls", "login", "mechanism", "text", "html"}
  http-NNN.json   {"path", "authorization", "body"}: the POSTed JSON document as "body",
                  the Authorization header (or null)
With AFP_SINK_ECHO=1 each message is also printed to stdout in readable form as it arrives
(the demo shows them in its terminal). Stops on SIGTERM.
"""
import asyncio
import email
import email.policy
import http.server
import json
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

out_dir, cert, key, smtp_user, smtp_password = sys.argv[1:6]
lock = threading.Lock()
counter = {"mail": 0, "http": 0}
echo = os.environ.get("AFP_SINK_ECHO") == "1"


def readable(kind, record):
    if kind == "mail":
        text = "\n".join("    " + line for line in record["text"].strip().splitlines()[:20])
        return (f"--- email to {', '.join(record['to'])}: {record['subject']}\n{text}\n")
    body = record["body"] if isinstance(record["body"], dict) else {}
    lines = []
    for att in body.get("attachments") or [body]:
        lines.append(str(att.get("title") or att.get("text") or ""))
        lines += ["    " + line for line in str(att.get("text", "")).strip().splitlines()[:12]]
    return f"--- webhook POST {record['path']}\n" + "\n".join(lines) + "\n"


def store(kind, record):
    with lock:
        counter[kind] += 1
        name = os.path.join(out_dir, f"{kind}-{counter[kind]:03d}.json")
    tmp = name + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1, ensure_ascii=False)
    os.rename(tmp, name)  # readers never see half a file
    if echo:
        print(readable(kind, record), flush=True)


class MailHandler:
    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = {"text": "", "html": ""}
        for part in msg.walk():
            ctype = part.get_content_type()
            if ctype == "text/plain":
                parts["text"] += part.get_content()
            elif ctype == "text/html":
                parts["html"] += part.get_content()
        store("mail", {
            "subject": str(msg["Subject"]),
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "login": session.auth_data.decode() if isinstance(session.auth_data, bytes) else None,
            "mechanism": getattr(session, "mechanism", None),
            **parts,
        })
        return "250 OK"


class SubmissionServer(SMTP):
    # The LOGIN prompts of Postfix and Exchange ("Username:", "Password:"), which
    # Alertmanager's LOGIN client expects, rather than aiosmtpd's own.
    AuthLoginUsernameChallenge = "Username:"
    AuthLoginPasswordChallenge = "Password:"


def authenticate(server, session, envelope, mechanism, auth_data):
    session.mechanism = mechanism
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == smtp_user
          and auth_data.password.decode() == smtp_password)
    return AuthResult(success=ok, auth_data=auth_data.login if ok else None)


class WebhookHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            doc = json.loads(body)
        except ValueError:
            doc = body.decode("utf-8", "replace")
        store("http", {"path": self.path, "authorization": self.headers.get("Authorization"),
                       "body": doc})
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def main():
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    factory = lambda: SubmissionServer(MailHandler(), hostname="sink.test", tls_context=tls,
                           require_starttls=True, auth_required=True, auth_require_tls=True,
                           authenticator=authenticate, loop=loop)
    smtp = loop.run_until_complete(loop.create_server(factory, "127.0.0.1", 0))
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), WebhookHandler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    ports = f"smtp={smtp.sockets[0].getsockname()[1]} http={web.server_address[1]}\n"
    with open(os.path.join(out_dir, "ports.tmp"), "w") as f:
        f.write(ports)
    os.rename(os.path.join(out_dir, "ports.tmp"), os.path.join(out_dir, "ports"))
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.add_signal_handler(signal.SIGINT, loop.stop)
    loop.run_forever()
    smtp.close()
    web.shutdown()


if __name__ == "__main__":
    main()
