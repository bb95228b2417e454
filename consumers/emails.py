"""The emails customers get: an order confirmation or a failure notice, text plus HTML."""

from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from html import escape

from contracts.addresses import ascii_domain, check_email, local_text
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


def deliverable_address(email: str) -> Address:
    """The address to send to: validated, its domain in DNS form (`info@xn--bcher-kva.de`),
    quoted by the email package exactly where RFC 5322 needs it. Non-ASCII remains only in the
    local part (`jörg@...`), which needs SMTPUTF8. ValueError when no mail system could deliver
    to it."""
    local, _, domain = check_email(email).rpartition("@")
    return Address(username=local_text(local), domain=ascii_domain(domain))


def needs_smtputf8(address: str) -> bool:
    return not address.isascii()


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
    recipient = deliverable_address(order.email)
    msg = EmailMessage()
    msg["Message-ID"] = message_id_for(event.event_id)
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = subject
    msg["Date"] = format_datetime(event.occurred_at)
    msg["X-Podium-Event-Id"] = event.event_id
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    # CRLF line ends, as SMTP wants them: smtplib sends bytes as they are. A non-ASCII local
    # part cannot be encoded in a header; SMTPUTF8 carries it as UTF-8 instead.
    utf8 = needs_smtputf8(recipient.addr_spec)
    raw = msg.as_bytes(policy=policy.SMTPUTF8 if utf8 else policy.SMTP)
    return RenderedEmail(msg["Message-ID"], recipient.addr_spec, subject, raw)
