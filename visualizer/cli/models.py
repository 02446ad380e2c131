"""`eqviz models`: NVIDIA's published models, which any command opens by name."""
import argparse
import json

HELP = "List NVIDIA's published StyleGAN3 and StyleGAN2 models; give a name wherever a checkpoint goes (downloaded once)."

EXAMPLES = """examples:
  eqviz stylegan3-r-afhqv2-512x512                 open it in the app (downloaded on first use)
  eqviz info stylegan2-ffhqu-256x256
  EQVIZ_MIRROR=https://my.mirror/models/ eqviz render stylegan3-t-ffhqu-256x256 --seeds 0-3 --outdir out
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EXAMPLES
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--json", action="store_true", help="print the list as JSON (with URLs)")


def run(args) -> int:
    from eqviz.cache import cache_folder
    from eqviz.downloads.catalogue import CATALOGUE, mirrored
    from eqviz.downloads.store import where_cached

    rows = []
    for model in CATALOGUE:
        where = where_cached(model.url)
        rows.append({"name": model.name, "kind": model.kind, "resolution": model.resolution, "dataset": model.dataset,
                     "approx_mb": model.approx_mb, "cached": where, "url": mirrored(model.url)})
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    cached_text = {"eqviz": "cached", "dnnlib": "in NVIDIA's cache", None: "-"}
    table = [("NAME", "KIND", "RES", "DATASET", "SIZE", "CACHED")] + [
        (r["name"], r["kind"], str(r["resolution"]), r["dataset"], f"~{r['approx_mb']} MB", cached_text[r["cached"]])
        for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.rjust(w) if i in (2, 4) else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))).rstrip())
    print(f"\nGive a NAME wherever a checkpoint goes; it downloads once into {cache_folder('downloads')} "
          "(EQVIZ_MIRROR=URL/ fetches from your mirror, EQVIZ_OFFLINE=1 never connects).")
    return 0
