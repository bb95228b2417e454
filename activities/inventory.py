from temporalio import activity

from activities.failures import business_errors_as_failures
from contracts.steps import ReleaseStock, Reservation, ReserveStock
from services.inventory import InventoryService


class InventoryActivities:
    def __init__(self, inventory: InventoryService) -> None:
        self._inventory = inventory

    @activity.defn(name="reserve_stock")
    def reserve_stock(self, command: ReserveStock) -> Reservation:
        with business_errors_as_failures():
            return self._inventory.reserve(command.key, command.order_id, command.lines)

    @activity.defn(name="release_stock")
    def release_stock(self, command: ReleaseStock) -> Reservation:
        with business_errors_as_failures():
            return self._inventory.release(command.key, command.reservation_key)
