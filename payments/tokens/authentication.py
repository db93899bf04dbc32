"""`Authorization: Token <key>`: django-rest-knox's check of the key against the stored digest.

knox finds the row by the key's first characters, compares SHA-512 digests in constant time and
deletes an expired token when it is presented. Its one gap for this API: a key that is not UTF-8
(any byte a client puts in the header) raised UnicodeDecodeError, a 500; here it is a 401.
https://jazzband.github.io/django-rest-knox/auth/
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed


class ApiTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, token):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AuthenticationFailed(_("Invalid token.")) from exc
        return super().authenticate_credentials(token)


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The OpenAPI security scheme: the `tokenAuth` name and shape DRF's token always had."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.authenticate_header(None)
        )
