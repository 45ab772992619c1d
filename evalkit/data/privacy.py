"""Identity numbers: check digits and keyed pseudonyms.

Identity numbers (身份证号) are replaced on load by HMAC-SHA256 under a secret key and
names are dropped, so nothing downstream of the loader ever holds them. The key comes
from ``EVALKIT_PSEUDONYM_KEY`` (the key itself) or ``EVALKIT_KEY_FILE`` (a file holding
it), at least 16 bytes either way; without either, a random key lives for one process, so
pseudonyms cannot be linked across runs. The key is never written next to any output. It
is a secret to guard like the raw data: identity numbers have few possible values (a
county's whole space can be enumerated in minutes), so with the key anyone can reverse
the pseudonyms.

Before hashing, a number is normalised so that one person has one pseudonym: spaces
trimmed, full-width digits and ``Ｘ`` made ASCII, a lowercase ``x`` upper-cased, and a
legacy 15-digit number (GB 11643-1989) widened to 18 digits (century 19 inserted, check
digit computed).
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
from functools import lru_cache
from pathlib import Path

from evalkit.errors import ParameterError

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
ID_PATTERN = r"^[1-9][0-9]{5}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]$"


def check_digit(first17: str) -> str:
    """Check digit of an 18-digit identity number (GB 11643-1999).

    >>> check_digit("11010519491231002")
    'X'
    """
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("expected the first 17 digits of an identity number")
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]


_FULL_WIDTH = "０１２３４５６７８９Ｘｘ"
_HALF_WIDTH = "0123456789XX"
MIN_KEY_BYTES = 16


def normalise_id_number(value: str) -> str:
    """One spelling per identity number (see the module doc).

    The standard's example, 17 digits and check digit X, written with full-width characters,
    a lowercase x and spaces, and in the legacy 15-digit form (born 1949, century dropped):

    >>> first17 = "11010519491231002"
    >>> wide = first17.translate(str.maketrans("0123456789", "０１２３４５６７８９")) + "ｘ"
    >>> normalise_id_number(f" {wide} ") == first17 + "X"
    True
    >>> normalise_id_number(first17[:6] + first17[8:]) == first17 + "X"
    True
    """
    text = value.strip().translate(str.maketrans(_FULL_WIDTH, _HALF_WIDTH)).upper()
    if len(text) == 15 and text.isdigit():
        first17 = text[:6] + "19" + text[6:]
        return first17 + check_digit(first17)
    return text


def normalise_id_sql(column: str, bind) -> str:
    """The DuckDB expression of :func:`normalise_id_number` on ``column`` (NULL stays NULL)."""
    text = f"upper(translate(trim({column}), {bind(_FULL_WIDTH)}, {bind(_HALF_WIDTH)}))"
    first17 = f"(substr({text}, 1, 6) || '19' || substr({text}, 7, 9))"
    digits = " + ".join(f"CAST(substr({first17}, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(_WEIGHTS))
    return (f"CASE WHEN regexp_full_match({text}, '[0-9]{{15}}') "
            f"THEN {first17} || substr({bind(_CHECK)}, (({digits}) % 11) + 1, 1) ELSE {text} END")


def is_valid_id_number(value: str) -> bool:
    """True when ``value`` has the shape of an identity number and its check digit matches."""
    return bool(re.match(ID_PATTERN, value)) and check_digit(value[:17]) == value[17].upper()


def id_number_problem_sql(column: str, bind) -> str:
    """DuckDB predicate that is true for a non-empty value that is not a valid identity number.

    ``bind`` (an :class:`evalkit.engine.Params`) takes the pattern and the check characters;
    the weights of GB 11643 stay in the text, as numbers of the algorithm.
    """
    digits = " + ".join(f"TRY_CAST(substr({column}, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(_WEIGHTS))
    return (
        f"({column} IS NOT NULL AND CASE WHEN NOT regexp_full_match({column}, {bind(ID_PATTERN[1:-1])}) THEN TRUE "
        f"ELSE upper(substr({column}, 18, 1)) <> substr({bind(_CHECK)}, (({digits}) % 11) + 1, 1) END)"
    )


@lru_cache(maxsize=1)
def _session_key() -> bytes:
    return secrets.token_bytes(32)


def pseudonym_key(key_file: str | os.PathLike | None = None) -> bytes:
    """The secret key for pseudonyms: a key file, the environment, or a per-process random key."""
    path = key_file or os.environ.get("EVALKIT_KEY_FILE")
    if path:
        try:
            key = Path(path).read_bytes().strip()
        except OSError as exc:
            raise ParameterError(f"pseudonym key file {path}: cannot be read ({exc.strerror})") from None
        if len(key) < MIN_KEY_BYTES:
            raise ParameterError(f"pseudonym key file {path} holds fewer than {MIN_KEY_BYTES} bytes")
        return key
    if "EVALKIT_PSEUDONYM_KEY" in os.environ:
        key = os.environ["EVALKIT_PSEUDONYM_KEY"].encode()
        if len(key) < MIN_KEY_BYTES:
            raise ParameterError(f"EVALKIT_PSEUDONYM_KEY holds fewer than {MIN_KEY_BYTES} bytes; use a long random "
                                 "secret (e.g. python -c 'import secrets; print(secrets.token_hex(32))')")
        return key
    return _session_key()


def hmac_sql(column: str, key: bytes, bind) -> str:
    """DuckDB expression computing hex HMAC-SHA256(key, column) inside the engine.

    The padded keys are bound through ``bind`` (an :class:`evalkit.engine.Params`), so the
    secret never appears in the text of a query.
    """
    block = key if len(key) <= 64 else hashlib.sha256(key).digest()
    block = block.ljust(64, b"\0")
    inner = bind(bytes(b ^ 0x36 for b in block))
    outer = bind(bytes(b ^ 0x5C for b in block))
    return (
        f"CASE WHEN {column} IS NULL THEN NULL ELSE "
        f"sha256({outer} || unhex(sha256({inner} || encode({column})))) END"
    )
