"""``python -m braintree_sim``: run the simulator until interrupted."""

import argparse
import json
import logging
import os
import re
import signal
import sys

from braintree_sim.config import DEFAULT_MERCHANT_ACCOUNTS, SimConfig

CONTROL_TOKEN_VARIABLE = "BRAINTREE_SIM_CONTROL_TOKEN"
_ACCOUNT = re.compile(r"\A(?P<id>[A-Za-z0-9_-]+):(?P<currency>[A-Z]{3})\Z")
from braintree_sim.server import make_server


def _fault_rules(args):
    """Turn the convenience fault flags into rules applying to ``--fault-paths``/``--fault-methods``."""
    target = {"paths": args.fault_paths or [], "methods": args.fault_methods or []}
    rules = []
    if args.latency_ms or args.jitter_ms:
        rules.append({"kind": "latency", "latency_ms": args.latency_ms,
                      "jitter_ms": args.jitter_ms, **target})
    if args.error_rate:
        rules.append({"kind": "error", "status": args.error_status, "rate": args.error_rate,
                      **target})
    if args.hang_rate:
        rules.append({"kind": "hang", "seconds": args.hang_seconds, "rate": args.hang_rate,
                      **target})
    if args.drop_rate:
        rules.append({"kind": "drop", "rate": args.drop_rate, **target})
    return rules


def _load_faults(text):
    if text.startswith("@"):
        with open(text[1:], encoding="utf-8") as handle:
            return json.load(handle)
    return json.loads(text)


def _merchant_account(text):
    match = _ACCOUNT.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected ID:CURRENCY such as acct_gbp:GBP, got {text!r}")
    return match["id"], match["currency"]


def parse_args(argv=None, environ=None):
    """Build a :class:`SimConfig` from command-line arguments."""
    defaults = SimConfig()
    parser = argparse.ArgumentParser(prog="python -m braintree_sim", description=__doc__)
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--port", type=int, default=defaults.port, help="0 picks a free port")
    parser.add_argument("--merchant-id", default=defaults.merchant_id)
    parser.add_argument("--public-key", default=defaults.public_key)
    parser.add_argument("--private-key", default=defaults.private_key)
    parser.add_argument("--merchant-account", dest="merchant_accounts", action="append",
                        type=_merchant_account, metavar="ID:CURRENCY",
                        help="a merchant account and its currency (repeatable; the first is the"
                        " default); without it: " + ", ".join(
                            f"{k}:{v}" for k, v in DEFAULT_MERCHANT_ACCOUNTS.items()))
    parser.add_argument("--control-token", metavar="TOKEN",
                        help="require 'Authorization: Bearer TOKEN' on /__sim__/ routes other"
                        f" than health (default: ${CONTROL_TOKEN_VARIABLE}, else open)")
    parser.add_argument("--max-body-bytes", type=int, default=defaults.max_body_bytes,
                        help="larger request bodies get 413")
    parser.add_argument("--socket-timeout", type=float, default=defaults.socket_timeout,
                        metavar="SECONDS", help="idle/stalled connections are closed after this")
    parser.add_argument("--max-connections", type=int, default=defaults.max_connections,
                        help="connections served at once (one thread each); more wait")
    parser.add_argument("--state", dest="state_path", metavar="PATH",
                        help="SQLite file that keeps state across restarts (default: memory)")
    parser.add_argument("--settle-after", type=float, metavar="SECONDS",
                        help="settle submitted transactions after this many seconds")
    parser.add_argument("--webhook-url", help="POST signed settlement and dispute webhooks here")
    parser.add_argument("--webhook-attempts", type=int, default=defaults.webhook_attempts,
                        help="deliveries tried per webhook, the first included")
    parser.add_argument("--webhook-retry-delay", type=float,
                        default=defaults.webhook_retry_delay, metavar="SECONDS",
                        help="wait before the first retry; doubles for each further retry")
    parser.add_argument("--authorization-ttl", type=float, default=defaults.authorization_ttl,
                        metavar="SECONDS",
                        help="an authorization not submitted for settlement expires after this long")
    parser.add_argument("--nonce-ttl", type=float, default=defaults.nonce_ttl,
                        help="lifetime in seconds of nonces minted by POST /__sim__/nonces")
    parser.add_argument("--seed", type=int, help="seed for ids and fault draws")
    parser.add_argument("--faults", metavar="JSON|@FILE",
                        help="initial fault rules, same schema as POST /__sim__/faults")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--error-status", type=int, default=503, choices=(429, 500, 502, 503, 504))
    parser.add_argument("--hang-rate", type=float, default=0.0)
    parser.add_argument("--hang-seconds", type=float, default=30.0)
    parser.add_argument("--drop-rate", type=float, default=0.0,
                        help="rate of 'commit then drop the connection'")
    parser.add_argument("--fault-paths", nargs="*", metavar="GLOB",
                        help="limit flag faults to these merchant-relative paths")
    parser.add_argument("--fault-methods", nargs="*", metavar="VERB")
    parser.add_argument("--verbose", action="store_true",
                        help="log one INFO line per request: method, path, status, latency, faults")
    args = parser.parse_args(argv)
    environ = os.environ if environ is None else environ
    for name, value in (("--max-body-bytes", args.max_body_bytes),
                        ("--max-connections", args.max_connections),
                        ("--webhook-attempts", args.webhook_attempts)):
        if value < 1:
            parser.error(f"{name} must be at least 1")
    accounts = dict(args.merchant_accounts or DEFAULT_MERCHANT_ACCOUNTS.items())
    faults = _load_faults(args.faults) if args.faults else {"rules": []}
    faults.setdefault("rules", []).extend(_fault_rules(args))
    return SimConfig(
        host=args.host, port=args.port, merchant_id=args.merchant_id,
        public_key=args.public_key, private_key=args.private_key, state_path=args.state_path,
        settle_after=args.settle_after, webhook_url=args.webhook_url, seed=args.seed,
        faults=faults, nonce_ttl=args.nonce_ttl, authorization_ttl=args.authorization_ttl, quiet=not args.verbose,
        merchant_accounts=accounts,
        control_token=args.control_token or environ.get(CONTROL_TOKEN_VARIABLE) or None,
        max_body_bytes=args.max_body_bytes, socket_timeout=args.socket_timeout,
        max_connections=args.max_connections, webhook_attempts=args.webhook_attempts,
        webhook_retry_delay=args.webhook_retry_delay,
    )


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    """Run until SIGINT/SIGTERM."""
    config = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    server = make_server(config)
    # SIGTERM must unwind through close() so the SQLite state file is closed cleanly.
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"braintree_sim listening on {server.url} merchant={config.merchant_id}", flush=True)
    server.start_background()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
