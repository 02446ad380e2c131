"""`eqviz cache`: what eqviz keeps on disk ($EQVIZ_CACHE, default ~/.cache/eqviz), and clearing it."""
import argparse

from eqviz.cache import KINDS

HELP = "Show what eqviz's cache holds (downloads, FID statistics, directions, kernels) or clear it."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--info", action="store_true", help="list each part's folder, files and size (the default)")
    group.add_argument("--clear", nargs="*", metavar="KIND", choices=list(KINDS),
                       help=f"delete everything, or only the given parts ({', '.join(KINDS)}); all can be rebuilt")


def run(args) -> int:
    from eqviz.cache import cache_root, cache_usage, clear_cache, folder_usage
    from eqviz.downloads.store import dnnlib_downloads
    from eqviz.untrusted.messages import format_size as size

    if args.clear is not None:
        cleared = clear_cache(args.clear or None)
        for usage in cleared:
            print(f"cleared {usage.kind}: {usage.files} files, {size(usage.bytes)} ({usage.folder})")
        return 0
    usages = cache_usage()
    print(f"eqviz cache: {cache_root()} (set EQVIZ_CACHE to move it)")
    for usage in usages:
        print(f"  {usage.kind:<10} {usage.files:>6} files  {size(usage.bytes):>8}  {KINDS[usage.kind]}")
    print(f"  {'total':<10} {sum(u.files for u in usages):>6} files  {size(sum(u.bytes for u in usages)):>8}")
    files, total = folder_usage(dnnlib_downloads())
    if files:
        print(f"NVIDIA's download cache, reused and never changed: {dnnlib_downloads()} ({files} files, {size(total)})")
    return 0
