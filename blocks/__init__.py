"""labflows Prefect blocks: repositories and B-Fabric credentials.

``prefect block register -m blocks`` registers every block type defined here.
"""

from blocks.bfabric import BfabricCredentials
from blocks.local import LocalRepository
from blocks.repository import Repository
from blocks.s3 import S3Repository

__all__ = ["BfabricCredentials", "LocalRepository", "Repository", "S3Repository"]
