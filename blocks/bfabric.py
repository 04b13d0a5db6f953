"""B-Fabric web-service credentials as a Prefect block, turned into a real ``bfabric.Bfabric`` client."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from prefect.blocks.core import Block
from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

if TYPE_CHECKING:
    from bfabric import Bfabric

#: The login under which the bfabric client sends tokens; its "password" may have any length.
_TOKEN_LOGIN = "__oauth__"


def quiet_suds_logging() -> None:
    """Keep suds' DEBUG messages off: they contain whole SOAP envelopes, password included.

    Only lowers nothing: a ``suds`` logger already at INFO or above is left as it is.
    """
    suds_logger = logging.getLogger("suds")
    if suds_logger.level == logging.NOTSET or suds_logger.level < logging.INFO:
        suds_logger.setLevel(logging.INFO)


class BfabricCredentials(Block):
    """Credentials of a B-Fabric web-service user: instance URL, login and web-service password.

    The password is the *web-service* password shown on the user's B-Fabric page (32 characters),
    not the password used to log in to the web interface. ``get_client()`` builds a real
    ``bfabric.Bfabric`` client from these fields alone: no ``~/.bfabricpy.yml`` is read or written.

    Example:
        Load stored B-Fabric credentials and read a workunit:
        ```python
        from blocks import BfabricCredentials

        bfabric_credentials_block = BfabricCredentials.load("BLOCK_NAME")
        client = bfabric_credentials_block.get_client()
        client.read("workunit", {"id": 321})
        ```
    """

    _block_type_name = "Labflows B-Fabric Credentials"
    _block_type_slug = "labflows-bfabric-credentials"
    _logo_url = "https://fgcz-bfabric.uzh.ch/bfabric/images/bfabric-logo.png"
    _documentation_url = "https://fgcz.github.io/bfabricPy/"
    _description = "Login and web-service password for a B-Fabric instance; builds a bfabric client."
    # a validation error must not echo what was given: it would show (part of) the password
    model_config = ConfigDict(hide_input_in_errors=True)

    base_url: str = Field(
        description="URL of the B-Fabric instance, ending in /bfabric (e.g. https://fgcz-bfabric.uzh.ch/bfabric).",
        title="Base URL",
    )
    login: str = Field(description="B-Fabric login of the web-service user.", min_length=1)
    password: SecretStr = Field(
        description="Web-service password of that login (32 characters, not the web interface password).",
        title="Web-service password",
    )

    @field_validator("base_url")
    @classmethod
    def _valid_base_url(cls, value: str) -> str:
        from bfabric.config import BaseUrl

        return str(BaseUrl(value))

    @model_validator(mode="after")
    def _valid_password(self) -> BfabricCredentials:
        if self.login != _TOKEN_LOGIN and len(self.password.get_secret_value()) != 32:
            raise ValueError("the B-Fabric web-service password must be exactly 32 characters")
        return self

    def get_client(self) -> Bfabric:
        """A ``bfabric.Bfabric`` client authenticated with these credentials."""
        from bfabric import Bfabric
        from bfabric.config import BfabricAuth, BfabricClientConfig
        from bfabric.config.config_data import ConfigData

        quiet_suds_logging()
        config = ConfigData(
            client=BfabricClientConfig(base_url=self.base_url),
            auth=BfabricAuth(login=self.login, password=self.password),
        )
        return Bfabric.from_config_data(config)
