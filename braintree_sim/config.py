"""Runtime configuration shared by the CLI, the server and in-process users."""

from dataclasses import dataclass, field
from typing import Optional


@dataclass
class SimConfig:
    """Everything needed to start a simulator; defaults match the documented CLI defaults."""

    host: str = "127.0.0.1"
    port: int = 8600
    merchant_id: str = "sim_merchant"
    public_key: str = "sim_public_key"
    private_key: str = "sim_private_key"
    state_path: Optional[str] = None
    settle_after: Optional[float] = None
    webhook_url: Optional[str] = None
    seed: Optional[int] = None
    faults: dict = field(default_factory=dict)
    nonce_ttl: float = 3 * 60 * 60
    quiet: bool = True
