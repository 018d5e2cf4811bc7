"""The ``file_drop`` connector: departments drop files into ``inbox/<resource>/``. Importing registers it."""

from connectors.file_drop.config import FileDropConfig
from connectors.file_drop.connector import FileDelivery, FileDropConnector, safe_name

__all__ = ["FileDelivery", "FileDropConfig", "FileDropConnector", "safe_name"]
