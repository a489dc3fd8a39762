"""The reference storefront at /shop/<tenant-slug>/: static files (plain ES modules, no build step)
that use only the public GraphQL API, as a brand's own H5 shop would.

Outside production a stand-in for the brand's back end is mounted too (/shop/<slug>/dev-pay): it
confirms a payment with `orderMarkPaid` and the tenant's API key, as the brand's back end does on
its payment provider's notification. The key stays on the server, in the data directory
(`shop-dev-api-keys/<slug>`, written when `groupbuy run` seeds the demo tenant).
"""

from __future__ import annotations

from pathlib import Path

from service.config import get_settings

DEV_KEYS = "shop-dev-api-keys"


def dev_key_path(slug: str) -> Path:
    return get_settings().data_dir / DEV_KEYS / slug


def save_dev_key(slug: str, api_key: str) -> None:
    """Keeps a tenant's API key for the development stand-in (owner-only file)."""
    path = dev_key_path(slug)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(api_key + "\n")
