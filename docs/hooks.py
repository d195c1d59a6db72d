"""mkdocs hooks: the map at the repository's top (architecture.md) is the site's home page.

It stays where a reader of the repository looks for it, and links to the deep dives as
``docs/<page>.md``; they link back as ``../architecture.md``. On the site all are side by side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

MAP = Path(__file__).resolve().parents[1] / "architecture.md"
HOME = "index.md"


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, HOME, abs_src_path=str(MAP)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    if page.file.src_uri == HOME:
        return markdown.replace("](docs/", "](")
    return markdown.replace("](../architecture.md", f"]({HOME}")
