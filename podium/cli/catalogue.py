"""`podium catalogue`: the SKUs, their names, list prices and the stock available now."""

import asyncio
from dataclasses import dataclass
from typing import Any

from podium.cli import exits
from podium.cli.output import add_json_flag
from podium.cli.parsing import Commands
from workers.runtime.settings import Settings


def register(commands: Commands) -> None:
    cmd = commands.add_parser(
        "catalogue", help="list the SKUs with name, list price and stock available"
    )
    add_json_flag(cmd)
    cmd.set_defaults(
        command=lambda args, settings: asyncio.run(show_catalogue(settings, as_json=args.json))
    )


@dataclass(frozen=True)
class Line:
    sku: str
    name: str | None  # None: stocked, but not one of the shop's products
    price: str | None
    currency: str | None
    available: int
    reserved: int


@dataclass(frozen=True)
class Catalogue:
    lines: list[Line]
    stock_source: str  # "inventory": the service's database; "seed": what a worker will stock


def read_catalogue(settings: Settings) -> Catalogue:
    """Blocking (SQLite): run it in a thread. The stock the inventory service holds, or, before
    any worker created its database, the stock a worker will seed it with (without creating it:
    a read never makes state)."""
    from services.inventory import DEFAULT_CATALOGUE, InventoryService
    from services.products import PRODUCTS

    if settings.inventory_db.exists():
        inventory = InventoryService(settings.inventory_db)  # stocks nothing: no catalogue
        try:
            stock = {level.sku: (level.available, level.reserved) for level in inventory.levels()}
        finally:
            inventory.close()
        source = "inventory"
    else:
        stock = {sku: (quantity, 0) for sku, quantity in DEFAULT_CATALOGUE.items()}
        source = "seed"
    lines = []
    for sku, (available, reserved) in sorted(stock.items()):
        product = PRODUCTS.get(sku)
        lines.append(
            Line(
                sku=sku,
                name=product.name if product else None,
                price=str(product.price) if product else None,
                currency=str(product.currency) if product else None,
                available=available,
                reserved=reserved,
            )
        )
    return Catalogue(lines, source)


def catalogue_json(catalogue: Catalogue) -> dict[str, Any]:
    return {
        "stock_source": catalogue.stock_source,
        "products": [line.__dict__ for line in catalogue.lines],
    }


async def show_catalogue(settings: Settings, *, as_json: bool = False) -> int:
    from podium.cli.output import emit

    catalogue = await asyncio.to_thread(read_catalogue, settings)
    if as_json:
        emit(catalogue_json(catalogue))
        return exits.OK
    print(f"{'sku':<14} {'name':<18} {'price':>9}  {'available':>9} {'reserved':>8}")
    for line in catalogue.lines:
        price = f"{line.price} {line.currency}" if line.price else "-"
        print(
            f"{line.sku:<14} {line.name or '-':<18} {price:>9}  "
            f"{line.available:>9} {line.reserved:>8}"
        )
    if catalogue.stock_source == "seed":
        print("stock: what a worker will seed (no worker has opened the inventory yet)")
    print(
        "prices are list prices: an order states its own unit prices, e.g. "
        "`podium place --item MUG-BLUE:2:12.50`"
    )
    return exits.OK
