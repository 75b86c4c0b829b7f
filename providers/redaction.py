"""What is a secret in a body or a message, and how it is hidden (no Django here).

The call log redacts bodies by their keys (providers/http.py); error messages are free
text built from bodies, so they are masked here too: every ProviderError's message goes
through `mask_secrets`, whichever client built it, before it can reach
`SyncRecord.last_error` (shown to viewers) or `check_providers`' output.
"""

import re

REDACTED = "***"
# Keys whose values are credentials, or grant access (an invite link lets its holder see a
# tenant's data): OAuth's codes and tokens, passwords, API keys, Climkit's `jwt`.
_ANYWHERE = r"secret|token|password|passwd|authorization|apikey|api_key|code_verifier"
_EXACT = r"^(device_code|user_code|jwt|assertion|invitelink|code|key|link)$"
SECRET_KEY = re.compile(f"{_ANYWHERE}|{_EXACT}", re.I)
# Names too common in prose to mask unless they are keys for sure (quoted, or `name=`).
_AMBIGUOUS = {"code", "key", "link"}
# A bare string that looks like a credential (a JWT, or a long opaque token).
BARE_SECRET = re.compile(r"^(eyJ[\w-]+\.[\w-]+\.[\w-]*|[A-Za-z0-9+/_.~-]{24,}={0,2})$")

# In free text: `key: value`, `key=value`, `"key": "value"`.
_PAIR = re.compile(
    r"""(?P<key>["']?(?P<name>[A-Za-z_][\w-]*)["']?)(?P<sep>\s*[:=]\s*)"""
    r"""(?P<value>"[^"]*"?|'[^']*'?|[^\s"'&,;{}\[\]()]+)"""
)
_JWT = re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*")
_SCHEME = re.compile(r"\b(Bearer|bearer|Basic|ApiKey)\s+[\w.~+/=-]{12,}")
# A long opaque run with upper, lower and digits (what token generators make); hex ids,
# UUIDs and words are left alone, so a message keeps the remote ids staff need.
_OPAQUE = re.compile(r"(?<![\w.~+/=-])[\w.~+/=-]{32,}(?![\w.~+/=-])")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def _is_secret_key(name: str, sure: bool) -> bool:
    if not SECRET_KEY.search(name):
        return False
    # "error code: 42" stays readable; `"code": "…"` and `code=…` do not.
    return sure or name.lower() not in _AMBIGUOUS


def _looks_opaque(word: str) -> bool:
    return (
        not _UUID.match(word)
        and any(c.isupper() for c in word)
        and any(c.islower() for c in word)
        and any(c.isdigit() for c in word)
    )


def mask_secrets(text: str) -> str:
    """`text` with every credential-looking part replaced by ***."""
    if not text:
        return text

    def pair(match: re.Match) -> str:
        key, sep, value = match.group("key"), match.group("sep"), match.group("value")
        quote = value[0] if value[0] in "\"'" else ""
        assigned = "=" in sep
        # `name: words` is prose ("a JSON object with inviteLink: {}"): a value is
        # masked when quoted (JSON) or assigned (a form, a query string).
        if not (quote or assigned):
            return match.group(0)
        if not _is_secret_key(match.group("name"), key[0] in "\"'" or assigned):
            return match.group(0)
        return f"{key}{sep}{quote}{REDACTED}{quote}"

    text = _SCHEME.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    text = _PAIR.sub(pair, text)
    return _OPAQUE.sub(lambda m: REDACTED if _looks_opaque(m.group(0)) else m.group(0), text)
