"""The registration pages (/setup and its callback) as HTML, every value escaped.

Jinja with autoescape: the manifest (JSON in an attribute), the organisation a visitor typed,
GitHub's URLs and messages all go through it. No script: the setup form is a plain POST to
GitHub with a button, so it works without JavaScript, under a policy that allows no script.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment
from markupsafe import Markup

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)

def security_policy(github_url: str) -> str:
    """No script, no framing; forms post only here and to GitHub's registration page."""
    return (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'; "
        f"form-action 'self' {github_url}"
    )


_LAYOUT = _ENV.from_string("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{ title }} · Reviewgate</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; padding: 0 1rem; }
code { background: #f3f3f3; padding: 0 .2em; }
button, .button { font: inherit; padding: .5em 1em; cursor: pointer; }
.problem { color: #a40000; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
{{ body }}
</body>
</html>
""")

_SETUP = _ENV.from_string("""
<p>No GitHub App is connected to this server yet. Register one from Reviewgate's manifest:
GitHub asks you to name it and confirm, then sends you back here, and this server stores the
App's id, private key and webhook secret and uses them at once.</p>
<ul>
<li>Webhook URL: <code>{{ manifest.hook_attributes.url }}</code></li>
<li>Returns to: <code>{{ manifest.redirect_url }}</code></li>
<li>Events: {% for event in manifest.default_events %}<code>{{ event }}</code>{% if not loop.last %}, {% endif %}{% endfor %}</li>
</ul>
<p>GitHub must reach the webhook URL: set <code>REVIEWGATE_PUBLIC_URL</code> to this server's
public address before you register (a tunnel for local trials).</p>
<form method="get" action="{{ setup_path }}">
<input type="hidden" name="token" value="{{ token }}">
<p><label>Register it for an organisation (leave empty for your own account):
<input name="org" value="{{ org or '' }}" maxlength="39" pattern="[A-Za-z0-9-]*"></label>
<button type="submit">Use this account</button></p>
</form>
{% if problem %}<p class="problem">{{ problem }}</p>{% endif %}
<form method="post" action="{{ action }}">
<input type="hidden" name="manifest" value="{{ manifest_json }}">
<p><button type="submit">Register the GitHub App{% if org %} for {{ org }}{% endif %} on {{ github_host }}</button></p>
</form>
""")

_DONE = _ENV.from_string("""
<p>The GitHub App <strong>{{ name }}</strong> (id {{ app_id }}) is registered, and this server
uses it now: its id, private key and webhook secret are in <code>{{ env_file }}</code>
(readable by its owner only){% if key_file %} and <code>{{ key_file }}</code>{% endif %}.</p>
{% for warning in warnings %}<p class="problem">{{ warning }}</p>{% endfor %}
<p><a class="button" href="{{ install_url }}">Install the App on your repositories</a></p>
<p>Then make <code>reviewgate</code> a required status check from this App on the default branch
(docs/operations.md, "Require the reviewgate check from this App").</p>
""")

_PROBLEM = _ENV.from_string("""
<p class="problem">{{ message }}</p>
{% if retry %}<p><a href="{{ retry }}">Start again</a></p>{% endif %}
""")


def _page(title: str, body: str) -> str:
    # `body` is the output of an autoescaped template: markup already, not text to escape.
    return _LAYOUT.render(title=title, body=Markup(body))  # noqa: S704


def setup_page(**values: Any) -> str:
    return _page("Connect a GitHub App", _SETUP.render(**values))


def done_page(**values: Any) -> str:
    return _page("GitHub App registered", _DONE.render(**values))


def problem_page(title: str, message: str, retry: str | None = None) -> str:
    return _page(title, _PROBLEM.render(message=message, retry=retry))
