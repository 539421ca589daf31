"""schemathesis hooks for scripts/fuzz-api.sh: every case reaches a handler.

- Every case carries a live bearer token. Cases of operations that end their token or their account
  (logout, password and email changes, account deletion, ending a session) each get a user of their own,
  so they never kill the token the other cases run with; so do the ones limited per user per hour.
- Path ids are real ones (a conversation with messages, a task, an analysis, an import, a session of the caller) in
  most cases, freshly made for the case, and random in the rest (the 404 path).
- Credentials and refresh tokens in bodies are real ones in half the cases, so sign-in, refresh, password
  and email changes get past the check of the secret.
- Hostile text: a string field of the body or the query is, in some cases, replaced by one holding a NUL,
  a lone surrogate (as a JSON escape), or a megabyte.
- Every answer is recorded (method, path template, status) in PARLEY_FUZZ_RECORD, for the check after the
  run that no operation was only ever answered 401, 404 or 429.
"""
import json
import os
import random
import threading
import uuid

import requests
import schemathesis

BASE = os.environ["PARLEY_FUZZ_BASE"]
RECORD = os.environ["PARLEY_FUZZ_RECORD"]
PASSWORD = "Fuzz-pass-1234"

# (method, path) of operations after which the token or account they ran with is gone or limited.
OWN_USER = {
    ("POST", "/api/v1/auth/logout"),
    # A real refresh token rotates; the same one sent again ends its login, as reuse must.
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/me/password"),
    ("DELETE", "/api/v1/me"),
    ("POST", "/api/v1/me/email"),
    ("POST", "/api/v1/me/verification"),
    ("DELETE", "/api/v1/me/sessions/{id}"),
}
HOSTILE = ["a\u0000b", "\ud800", "x" * 1_000_000]
# Queries: a megabyte does not fit in a request line (the HTTP layer refuses it before Parley sees it, as
# nginx would), and a URL cannot carry a lone surrogate at all; a NUL and four kilobytes then.
HOSTILE_QUERY = ["a\u0000b", "y" * 4_000]

_local = threading.local()
_record_lock = threading.Lock()
_shared = {}
_shared_lock = threading.Lock()


def _http():
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def _call(method, path, token=None, body=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = _http().request(method, BASE + path, json=body, headers=headers, timeout=10)
    response.raise_for_status()
    return response.json() if response.content else None


def _new_user():
    """(email, tokens) of a user signed up just now."""
    email = f"fuzz-{uuid.uuid4().hex}@example.com"
    return email, _call("POST", "/api/v1/auth/signup", body={"email": email, "password": PASSWORD})


def _shared_user():
    """The user most cases run as (signed up once; nothing run as it ends its token)."""
    with _shared_lock:
        if "tokens" not in _shared:
            _shared["email"], _shared["tokens"] = _new_user()
        return _shared["email"], _shared["tokens"]


def _conversation(token):
    """A new conversation of the token's user with one exchange in it: (conversation id, message id)."""
    conversation = _call("POST", "/api/v1/conversations", token, {"title": "Fuzzed"})["id"]
    sent = _call("POST", f"/api/v1/conversations/{conversation}/messages", token, {"content": "Hello"})
    return conversation, sent["message"]["id"]


def _real_ids(path, token):
    """Path parameters naming things the token's user owns, made for this case."""
    if path.startswith("/api/v1/conversations/{id}"):
        conversation, message = _conversation(token)
        return {"id": conversation, "message_id": message}
    if path == "/api/v1/tasks/{id}":
        return {"id": _call("POST", "/api/v1/tasks", token, {"title": "Fuzzed task"})["id"]}
    if path == "/api/v1/analyses/{id}":
        conversation, _ = _conversation(token)
        return {"id": _call("POST", f"/api/v1/conversations/{conversation}/analyses", token, {})["id"]}
    if path == "/api/v1/imports/{id}":
        # An import of an empty export (the body is the file, not JSON of a request).
        response = _http().post(
            BASE + "/api/v1/imports",
            data=b"[]",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=10,
        )
        response.raise_for_status()
        return {"id": response.json()["id"]}
    if path == "/api/v1/me/sessions/{id}":
        sessions = _call("GET", "/api/v1/me/sessions", token)["sessions"]
        return {"id": random.choice(sessions)["id"]} if sessions else {}
    return {}


def _real_secrets(method, path, body, email, tokens):
    """Puts the caller's real password, address or refresh token into half the bodies that take them."""
    if not isinstance(body, dict) or random.random() < 0.5:
        return
    if (method, path) == ("POST", "/api/v1/auth/login"):
        body.update(email=email, password=PASSWORD)
    elif (method, path) in {("POST", "/api/v1/auth/refresh"), ("POST", "/api/v1/auth/logout")}:
        body["refresh_token"] = tokens["refresh_token"]
    elif (method, path) in {("POST", "/api/v1/me/password"), ("POST", "/api/v1/me/email")}:
        body["current_password"] = PASSWORD
    elif (method, path) == ("DELETE", "/api/v1/me"):
        body["password"] = PASSWORD


def _hostile(values, choices):
    """Replaces one string value of a dict, in a fifth of the cases, by hostile text."""
    if not isinstance(values, dict) or random.random() >= 0.2:
        return
    keys = [k for k, v in values.items() if isinstance(v, str)]
    if keys:
        values[random.choice(keys)] = random.choice(choices)


@schemathesis.hook
def before_call(ctx, case, kwargs):
    method, path = case.operation.method.upper(), case.operation.path
    if (method, path) in OWN_USER:
        email, tokens = _new_user()
    else:
        email, tokens = _shared_user()
    if case.headers is None:
        case.headers = {}
    case.headers["Authorization"] = f"Bearer {tokens['access_token']}"
    if case.path_parameters and random.random() < 0.8:
        case.path_parameters.update(_real_ids(path, tokens["access_token"]))
    _real_secrets(method, path, case.body, email, tokens)
    _hostile(case.body, HOSTILE)
    _hostile(case.query, HOSTILE_QUERY)


@schemathesis.hook
def after_call(ctx, case, response):
    line = json.dumps([case.operation.method.upper(), case.operation.path, response.status_code])
    with _record_lock, open(RECORD, "a") as record:
        record.write(line + "\n")
