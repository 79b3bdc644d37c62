"""A Qdrant-REST-compatible server for the local stack and the tests, on Qdrant Edge.

Where the real Qdrant server is not at hand (local/qdrant-engine.ts picks it
whenever it is), this serves the part of Qdrant's REST API that witnesslog
uses. Every request body is validated with Qdrant's REST models
(`qdrant_client.http.models`, generated from Qdrant's OpenAPI), so a request
the real server rejects is rejected here too; storage, payload indexes,
filters, ordering, facets and search are Qdrant Edge's (`qdrant_edge`,
Qdrant's own shard engine, embedded): see edge_store.py and README.md.

    python local/qdrant/server.py --host 127.0.0.1 --port 6333 --data DIR
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from http.server import ThreadingHTTPServer

from http_handler import RequestHandler
from routes import Store

log = logging.getLogger("qdrant-local")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=os.environ.get("QDRANT_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("QDRANT_PORT", "6333")))
    parser.add_argument("--data", default=os.environ.get("QDRANT_DATA_DIR", "./qdrant-data"))
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    if os.path.exists(os.path.join(args.data, "collection")) or os.path.exists(os.path.join(args.data, "meta.json")):
        log.warning(
            "%s holds collections of the former engine (qdrant-client local mode): they are not migrated "
            "and not served; re-create them (replay the topic) or delete the folder",
            os.path.abspath(args.data),
        )
    RequestHandler.store = Store(args.data)
    RequestHandler.api_key = os.environ.get("QDRANT_API_KEY") or None
    server = ThreadingHTTPServer((args.host, args.port), RequestHandler)
    server.daemon_threads = True
    log.info(
        "qdrant-compatible server listening on http://%s:%d (data: %s, api key: %s)",
        args.host,
        args.port,
        os.path.abspath(args.data),
        "required" if RequestHandler.api_key else "off",
    )
    # SIGTERM (the stack's stop) closes the shards cleanly, like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        RequestHandler.store.close()


if __name__ == "__main__":
    main()
