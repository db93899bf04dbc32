"""Runtime configuration shared by the CLI, the server and in-process users."""

from dataclasses import dataclass, field
from typing import Optional

# Sandbox-like merchant accounts used when none are configured: Braintree gives every merchant a
# default account and one account per presentment currency. The first entry is the default.
DEFAULT_MERCHANT_ACCOUNTS = {
    "sim_merchant_account": "USD",
    "sim_merchant_account_eur": "EUR",
    "sim_merchant_account_gbp": "GBP",
    "sim_merchant_account_cad": "CAD",
    "sim_merchant_account_aud": "AUD",
}


@dataclass
class SimConfig:
    """Everything needed to start a simulator; defaults match the documented CLI defaults."""

    host: str = "127.0.0.1"
    port: int = 8600
    merchant_id: str = "sim_merchant"
    public_key: str = "sim_public_key"
    private_key: str = "sim_private_key"
    # Merchant account id -> ISO currency; insertion order matters, the first is the default.
    merchant_accounts: dict = field(default_factory=lambda: dict(DEFAULT_MERCHANT_ACCOUNTS))
    state_path: Optional[str] = None
    settle_after: Optional[float] = None
    webhook_url: Optional[str] = None
    # Attempts per webhook (the first delivery included) and the delay before the first retry;
    # each later retry waits twice as long as the one before.
    webhook_attempts: int = 5
    webhook_retry_delay: float = 0.5
    seed: Optional[int] = None
    faults: dict = field(default_factory=dict)
    nonce_ttl: float = 3 * 60 * 60
    # Seconds an authorization (a sale without submit_for_settlement) stays capturable before it
    # moves to authorization_expired; Braintree's is days (7 for most cards).
    authorization_ttl: float = 7 * 24 * 60 * 60
    # None leaves /__sim__/ open; otherwise control routes need "Authorization: Bearer <token>".
    control_token: Optional[str] = None
    max_body_bytes: int = 1024 * 1024
    # Longer than the SDK's 60 s connection idle limit, so the simulator never closes a
    # keep-alive connection the SDK would still reuse, yet a stalled client cannot hold a
    # thread forever.
    socket_timeout: float = 75.0
    max_connections: int = 256
    quiet: bool = True

    @property
    def default_merchant_account_id(self):
        """The account a sale without ``merchant_account_id`` is charged on."""
        return next(iter(self.merchant_accounts))
