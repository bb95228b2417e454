"""The emails customers get: an order confirmation or a failure notice, text plus HTML."""

from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from html import escape

from contracts.events import OrderCompletedV1, OrderFailedV1


@dataclass(frozen=True)
class RenderedEmail:
    message_id: str
    recipient: str
    subject: str
    raw: bytes


def message_id_for(event_id: str) -> str:
    """Deterministic, so a resend of the same event is recognisable as the same email."""
    return f"<{event_id}@events.podium>"


def render(event: OrderCompletedV1 | OrderFailedV1, sender: str) -> RenderedEmail:
    order = event.order
    lines = [f"  {i.quantity} x {i.sku} @ {i.unit_price} {order.currency}" for i in order.items]
    if isinstance(event, OrderCompletedV1):
        subject = f"Your order {order.order_id} is confirmed"
        intro = f"Thank you! We have received your payment of {order.total} {order.currency}."
    else:
        subject = f"Your order {order.order_id} could not be completed"
        intro = f"We are sorry: {event.failure.message}. You have not been charged."
    text = "\n".join(
        [f"Hello {order.shipping_address.name},", "", intro, "", *lines, "", "-- Podium"]
    )
    items_html = "".join(f"<li>{escape(line.strip())}</li>" for line in lines)
    html = (
        f"<p>Hello {escape(order.shipping_address.name)},</p><p>{escape(intro)}</p>"
        f"<ul>{items_html}</ul><p>-- Podium</p>"
    )
    msg = EmailMessage()
    msg["Message-ID"] = message_id_for(event.event_id)
    msg["From"] = sender
    msg["To"] = order.email
    msg["Subject"] = subject
    msg["Date"] = format_datetime(event.occurred_at)
    msg["X-Podium-Event-Id"] = event.event_id
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    # CRLF line ends, as SMTP wants them: smtplib sends bytes as they are.
    raw = msg.as_bytes(policy=policy.SMTP)
    return RenderedEmail(msg["Message-ID"], order.email, subject, raw)
