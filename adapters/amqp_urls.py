"""PODIUM_AMQP_URL: one broker URL, or a cluster's nodes as several separated by commas.

Pure parsing, no client imports: the settings check it at start-up, `adapters.rabbitmq.connect`
fails over along it. A comma inside a password must be percent-encoded (`%2C`), as any reserved
character in a URL's user info.
"""

from urllib.parse import urlsplit

MAX_URLS = 16  # a bound on outside input, far above any cluster's size
SCHEMES = ("amqp", "amqps")


def amqp_urls(value: str) -> list[str]:
    """The addresses in order; ValueError (never quoting a URL, which may hold a password) when
    one is empty, not amqp:// or amqps://, has no host or a bad port, or the schemes differ."""
    urls = [part.strip() for part in value.split(",")]
    if len(urls) > MAX_URLS:
        raise ValueError(f"at most {MAX_URLS} broker addresses, separated by commas")
    for number, url in enumerate(urls, start=1):
        where = f"address {number} of {len(urls)}" if len(urls) > 1 else "the address"
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
        except ValueError:
            raise ValueError(f"{where} is not a valid URL") from None
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise ValueError(f"{where} must be an amqp:// or amqps:// URL with a host")
    if len({urlsplit(url).scheme for url in urls}) > 1:
        # One TLS context serves every address: all plain or all TLS.
        raise ValueError("the broker addresses mix amqp:// and amqps://")
    return urls
