#!/usr/bin/env python3
"""Renders chat templates the way Hugging Face transformers does, for the
C++ interpreter's tests. Reads a JSON request {template, context, now?} (or a
list of them) on stdin and prints {"ok": true, "text": ...} or
{"ok": false, "error": message, "type": exception class, "raised": bool}
(or a list of those) on stdout."""
import datetime
import json
import sys

try:
    import jinja2
    import jinja2.ext
    import jinja2.sandbox
except ImportError as e:  # the C++ test turns this into a failure
    print(f"jinja_oracle.py: python3 cannot import jinja2 ({e}); install python3-jinja2",
          file=sys.stderr)
    sys.exit(3)


class TemplateRaised(Exception):
    pass


def make_env(now):
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])

    def tojson(x, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=False, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def raise_exception(message):
        raise TemplateRaised(message)

    def strftime_now(fmt):
        return now.strftime(fmt)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(req):
    now = datetime.datetime.fromisoformat(req.get("now", "2024-07-26T12:00:00"))
    try:
        env = make_env(now)
        text = env.from_string(req["template"]).render(**req.get("context", {}))
        return {"ok": True, "text": text}
    except TemplateRaised as e:
        return {"ok": False, "error": str(e), "type": "raise_exception", "raised": True}
    except Exception as e:  # noqa: BLE001 - every template error is an answer
        return {"ok": False, "error": str(e), "type": type(e).__name__, "raised": False}


def main():
    req = json.load(sys.stdin)
    out = [render(r) for r in req] if isinstance(req, list) else render(req)
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
