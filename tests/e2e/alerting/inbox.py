#!/usr/bin/python3
"""Counts (or prints) the messages the sinks received.

    inbox.py DIR mail|slack|webhook [--title PREFIX] [--has TEXT]... [--print]

mail:  an email (sinks.py mail-*.json); its title is the Subject, its body the text and HTML
       parts, plus "to:", "tls:" and "login:" lines.
slack: a Slack webhook call (http-*.json POSTed to /slack...); its title is
       attachments[0].title, its body the attachment's text, color and fallback plus the
       channel.
webhook: any other POST (http-*.json), e.g. /webhook/<receiver> (tests/e2e/alerting/derive.py
       points the webhook receivers there); its title is the path, its body an
       "authorization:" line, then "alertname=... severity=... status" for each alert of
       Alertmanager's JSON, then the JSON itself.
Prints how many messages have a title starting with PREFIX and contain every TEXT; with
--print, the messages themselves.
"""
import argparse
import glob
import json
import os


def messages(directory, kind):
    pattern = "mail-*.json" if kind == "mail" else "http-*.json"
    for path in sorted(glob.glob(os.path.join(directory, pattern))):
        m = json.load(open(path, encoding="utf-8"))
        if kind == "mail":
            title = m["subject"]
            body = (f"to: {','.join(m['to'])}\ntls: {m['tls']}\nlogin: {m['login']}\n"
                    f"--- text\n{m['text']}\n--- html\n{m['html']}")
        elif not m["path"].startswith("/slack"):
            if kind == "slack":
                continue
            doc = m["body"] if isinstance(m["body"], dict) else {}
            title = m["path"]
            alerts = "\n".join(
                " ".join(f"{k}={v}" for k, v in sorted(a.get("labels", {}).items())) + " " + a.get("status", "")
                for a in doc.get("alerts", []))
            body = (f"authorization: {m.get('authorization')}\nstatus: {doc.get('status')}\n"
                    f"receiver: {doc.get('receiver')}\n{alerts}\n--- json\n{json.dumps(m['body'])}")
        else:
            if kind == "webhook":
                continue
            doc = m["body"] if isinstance(m["body"], dict) else {}
            att = (doc.get("attachments") or [{}])[0]
            title = att.get("title", "")
            body = (f"path: {m['path']}\nchannel: {doc.get('channel')}\ncolor: {att.get('color')}\n"
                    f"fallback: {att.get('fallback')}\n--- text\n{att.get('text', '')}")
        yield os.path.basename(path), title, body


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("kind", choices=["mail", "slack", "webhook"])
    p.add_argument("--title", default="")
    p.add_argument("--has", action="append", default=[])
    p.add_argument("--print", action="store_true")
    a = p.parse_args()
    found = [(name, title, body) for name, title, body in messages(a.dir, a.kind)
             if title.startswith(a.title) and all(h in title + "\n" + body for h in a.has)]
    if a.print:
        for name, title, body in found:
            print(f"===== {name}: {title}\n{body}\n")
    else:
        print(len(found))


if __name__ == "__main__":
    main()
