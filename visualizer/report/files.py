"""The comparison's three files in one folder, each written atomically: results.json, table.md, report.html."""
import json
from pathlib import Path

from eqviz.atomic_io import ensure_writable_folder, write_text
from eqviz.errors import InvalidArgument

REPORT_FILES = ("results.json", "table.md", "report.html")


def check_out_dir(out, overwrite: bool) -> Path:
    """Before any work: the folder can be made, and nothing in it is replaced unless asked."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InvalidArgument(f"{out} is a file; give a folder for the report", "out")
    if not out.parent.is_dir():
        raise InvalidArgument(f"folder {out.parent} does not exist; create it first", "out")
    existing = [name for name in REPORT_FILES if (out / name).exists()]
    if existing and not overwrite:
        raise InvalidArgument(f"{out / existing[0]} already exists; allow overwriting or choose another folder", "out")
    ensure_writable_folder(out if out.is_dir() else out.parent)
    return out


def write_comparison(comparison, out, overwrite: bool = False) -> list:
    """Writes the three files into `out` (created if missing); returns their paths."""
    from eqviz.report.html import report_html
    from eqviz.report.table import markdown_table

    out = check_out_dir(out, overwrite)
    texts = {
        "results.json": json.dumps(comparison.to_json(), indent=1, allow_nan=False) + "\n",
        "table.md": markdown_table(comparison),
        "report.html": report_html(comparison),
    }
    out.mkdir(exist_ok=True)
    for name in REPORT_FILES:
        write_text(out / name, texts[name])
    return [out / name for name in REPORT_FILES]
