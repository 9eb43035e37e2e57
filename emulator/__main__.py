"""Command line: ``python -m emulator serve --fixtures DIR [options]``.

Prints the emulator's info (see ``emulator.json`` in the README) as one JSON line on stdout
when it is ready, serves until SIGTERM or SIGINT, and exits 0.
"""

import argparse
import sys

from .runner import serve_forever


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m emulator",
                                     description="Local Azure Local (ARM) emulator over HTTPS.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve fixtures on https://127.0.0.1:PORT/")
    serve.add_argument("--fixtures", required=True,
                       help="directory of ARM JSON documents (one resource per file)")
    serve.add_argument("--workdir", help="where ca.pem and emulator.json go "
                                         "(default: a new temporary directory)")
    serve.add_argument("--page-size", type=int, default=100,
                       help="items per page of ARM lists (default 100)")
    serve.add_argument("--port", type=int, default=0, help="TCP port (default 0: any free)")
    serve.add_argument("--rebase-to", metavar="now|ISO",
                       help="shift every timestamp so that the fixtures' reference time "
                            "becomes this moment")
    serve.add_argument("--reference-time", metavar="ISO",
                       help="the moment the fixtures describe (default: referenceTime in "
                            "the fixtures' _emulator.json)")
    serve.add_argument("--verbose", action="store_true", help="log each request on stderr")
    args = parser.parse_args(argv)
    if args.page_size < 1:
        parser.error("--page-size must be at least 1")
    try:
        return serve_forever(args.fixtures, workdir=args.workdir, page_size=args.page_size,
                             port=args.port, rebase_to=args.rebase_to,
                             reference_time=args.reference_time, verbose=args.verbose)
    except (OSError, ValueError) as error:
        print(f"emulator: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
