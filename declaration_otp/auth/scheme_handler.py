"""connexion's handler of the spec's `oauth2` scheme, asking once what the token function takes.

On every request connexion's handler asks, by inspecting its signature twice, whether the token
function accepts `required_scopes` and `request`. The token function is fixed when the app is
built, so the answer is kept per function and keyword; checking the token and its scopes is
connexion's, unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from connexion.security import OAuthSecurityHandler


@functools.cache
def _accepts(function: Callable[..., Any], keyword: str) -> bool:
    return bool(OAuthSecurityHandler._accepts_kwarg(function, keyword))


class SchemeHandler(OAuthSecurityHandler):  # type: ignore[misc]
    _accepts_kwarg = staticmethod(_accepts)
