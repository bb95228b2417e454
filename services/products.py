"""The shop's products as a person picks them: a name and a list price per SKU.

Podium has no price service: an order states its own unit prices and is charged what it states.
These list prices are what the demo and the README use, shown by `podium catalogue` so a first
order can be typed without reading code. Stock lives in the inventory service.
"""

from decimal import Decimal

from contracts.money import Currency
from contracts.order import Contract


class Product(Contract):
    sku: str
    name: str
    price: Decimal
    currency: Currency


def _eur(sku: str, name: str, price: str) -> Product:
    return Product(sku=sku, name=name, price=Decimal(price), currency=Currency("EUR"))


PRODUCTS: dict[str, Product] = {
    p.sku: p
    for p in (
        _eur("MUG-BLUE", "Blue mug", "12.50"),
        _eur("TSHIRT-M", "T-shirt, size M", "19.00"),
        _eur("SOCKS-3PK", "Socks, pack of 3", "9.99"),
        _eur("NOTEBOOK-A5", "Notebook A5", "6.50"),
        _eur("HOODIE-L", "Hoodie, size L", "59.00"),
        _eur("LAMP-DESK", "Desk lamp", "34.90"),
        _eur("POSTER-A2", "Poster A2", "15.00"),
        _eur("VINYL-LTD", "Limited vinyl", "35.00"),
    )
}
