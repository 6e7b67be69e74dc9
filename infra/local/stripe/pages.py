"""The pages a person opens in a browser: checkout, the billing portal, hosted invoices and their PDFs.

``/checkout/<session>``: the plan, a test card to pick, and "Pay" (completes the session, then
303 to its ``success_url``). ``/portal/<session>``: switch plan, cancel, renew, invoices, back to
``return_url``. ``/invoice/<id>``: an invoice with "Pay" while it is open; ``/invoice/<id>/pdf``
and ``/credit_note/<id>/pdf``: small PDFs. Nothing here needs an API key: the ids are the secrets.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs

from infra.local.stripe import checkout, invoices, payments
from infra.local.stripe.account import Account
from infra.local.stripe.errors import StripeError
from infra.local.stripe.store import Obj

_PAGE = re.compile(r"^/(checkout|portal|invoice|credit_note)/([A-Za-z0-9_]+)(?:/([a-z]+))?$")
CARD_LABELS = {
    "4242424242424242": "4242 4242 4242 4242 — succeeds",
    "5555555555554444": "5555 5555 5555 4444 — succeeds (Mastercard)",
    "4000000000000341": "4000 0000 0000 0341 — attaches, later payments fail",
    "4000000000000002": "4000 0000 0000 0002 — declined",
    "4000000000009995": "4000 0000 0000 9995 — declined, insufficient funds",
    "4000002760003184": "4000 0027 6000 3184 — renewals need authentication",
    "4000000000000259": "4000 0000 0000 0259 — succeeds, then disputed",
}


@dataclass
class Page:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


def is_page(path: str) -> bool:
    return _PAGE.match(path) is not None


def serve(acct: Account, method: str, path: str, body: bytes) -> Page:
    """Answer one page request (the caller holds the account's lock)."""
    match = _PAGE.match(path)
    assert match is not None
    kind, object_id, action = match.groups()
    form = {key: values[-1] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
    found = acct.store.find(object_id)
    expected = {"checkout": "checkout.session", "portal": "billing_portal.session", "invoice": "invoice"}
    if found is None or found.get("object") != expected.get(kind, "credit_note"):
        return _html(404, "Not found", "<p>This page does not exist (or no longer does).</p>")
    if kind == "checkout":
        return _checkout(acct, found, method, form)
    if kind == "portal":
        return _portal(acct, found, method, action, form)
    if action == "pdf":
        return Page(200, _pdf(_document_lines(acct, found)), "application/pdf")
    if kind == "credit_note":
        return _html(404, "Not found", "<p>Credit notes have a PDF only.</p>")
    return _invoice(acct, found, method, action, form)


# -- checkout -------------------------------------------------------------------------------------


def _checkout(acct: Account, session: Obj, method: str, form: dict[str, str]) -> Page:
    error = None
    if method == "POST" and session["status"] == "open":
        card = payments.CARDS_BY_NUMBER.get(form.get("card", "").replace(" ", ""))
        if card is None:
            error = "Pick one of the test cards."
        else:
            try:
                checkout.complete(acct, session, card, email=form.get("email") or None)
            except StripeError as exc:
                error = exc.message
            else:
                target = (session["success_url"] or "").replace("{CHECKOUT_SESSION_ID}", session["id"])
                if target:
                    return Page(303, b"", headers=[("Location", target)])
    if session["status"] != "open":
        return _html(200, "Checkout", f"<p>This checkout is <b>{_e(session['status'])}</b>.</p>")
    items = "".join(
        f"<li>{_e(item['description'])} &times; {item['quantity']}: {_e(_price_label(item['price']))}</li>"
        for item in checkout.line_items(acct, session)
    )
    terms = acct.checkout_terms[session["id"]]
    trial = f"<p>Free trial: {terms.trial_days} days.</p>" if terms.trial_days else ""
    email = (
        ""
        if session["customer"]
        else (f'<label>Email <input name="email" type="email" value="{_e(session["customer_email"] or "")}"></label>')
    )
    cancel = f'<a href="{_e(session["cancel_url"])}">Cancel</a>' if session["cancel_url"] else ""
    body = (
        f"<ul>{items}</ul>{trial}"
        f"<p>Total: <b>{_e(payments.money(session['amount_total'], session['currency']))}</b></p>"
        f"{_error(error)}<form method='post'>{email}{_card_select()}<button>Pay</button> {cancel}</form>"
    )
    return _html(402 if error else 200, "Checkout", body)


# -- portal ---------------------------------------------------------------------------------------


def _portal(acct: Account, session: Obj, method: str, action: str | None, form: dict[str, str]) -> Page:
    error = None
    if method == "POST":
        try:
            sub_id = form.get("subscription", "")
            if action == "switch":
                checkout.portal_switch(acct, session, sub_id, form.get("price", ""))
            elif action == "cancel":
                checkout.portal_cancel(acct, session, sub_id)
            elif action == "renew":
                checkout.portal_renew(acct, session, sub_id)
            else:
                return _html(404, "Not found", "<p>Unknown action.</p>")
        except StripeError as exc:
            error = exc.message
        else:
            return Page(303, b"", headers=[("Location", f"/portal/{session['id']}")])
    customer = acct.store.get(session["customer"], "customer")
    subs = [
        s
        for s in acct.store.all("subscription")
        if s["customer"] == customer["id"] and s["status"] != "incomplete_expired"
    ]
    prices = [p for p in acct.store.all("price") if p["active"] and p["recurring"]]
    blocks = "".join(_subscription_block(acct, session, sub, prices) for sub in subs) or "<p>No subscriptions.</p>"
    bills = [i for i in acct.store.all("invoice") if i["customer"] == customer["id"] and i["status"] != "draft"]
    rows = "".join(
        f"<li><a href='/invoice/{i['id']}'>{_e(i['number'] or i['id'])}</a> {_e(i['status'])} "
        f"{_e(payments.money(i['total'], i['currency']))}</li>"
        for i in bills
    )
    back = f'<p><a href="{_e(session["return_url"])}">Return</a></p>' if session["return_url"] else ""
    body = (
        f"<p>{_e(customer['email'] or customer['id'])}</p>{_error(error)}{blocks}<h2>Invoices</h2><ul>{rows}</ul>{back}"
    )
    return _html(400 if error else 200, "Billing", body)


def _subscription_block(acct: Account, session: Obj, sub: Obj, prices: list[Obj]) -> str:
    item = sub["items"]["data"][0]
    price = item["price"]
    state = f"{sub['status']}, renews {_date(item['current_period_end'])}"
    if sub["cancel_at_period_end"]:
        state = f"{sub['status']}, ends {_date(item['current_period_end'])}"
    head = f"<h2>{_e(acct.product_name(price))} — {_e(_price_label(price))}</h2><p>{_e(state)}</p>"
    if sub["status"] == "canceled":
        return head
    hidden = f'<input type="hidden" name="subscription" value="{_e(sub["id"])}">'
    options = "".join(
        f'<option value="{_e(p["id"])}">{_e(acct.product_name(p))} — {_e(_price_label(p))}</option>'
        for p in prices
        if p["id"] != price["id"]
    )
    base = f"/portal/{session['id']}"
    switch = (
        f"<form method='post' action='{base}/switch'>{hidden}"
        f"<select name='price'>{options}</select><button>Switch plan</button></form>"
    )
    if sub["cancel_at_period_end"]:
        end = f"<form method='post' action='{base}/renew'>{hidden}<button>Renew plan</button></form>"
    else:
        end = f"<form method='post' action='{base}/cancel'>{hidden}<button>Cancel plan</button></form>"
    return head + switch + end


# -- invoices -------------------------------------------------------------------------------------


def _invoice(acct: Account, invoice: Obj, method: str, action: str | None, form: dict[str, str]) -> Page:
    error = None
    if method == "POST" and action == "pay":
        card = payments.CARDS_BY_NUMBER.get(form.get("card", "").replace(" ", ""))
        token = next((name for name, c in payments.CARDS.items() if c == card), None)
        try:
            invoices.pay_now(acct, invoice, token, on_session=True)
        except StripeError as exc:
            error = exc.message
        else:
            return Page(303, b"", headers=[("Location", f"/invoice/{invoice['id']}")])
    rows = "".join(
        f"<tr><td>{_e(line['description'])}</td><td>{_e(payments.money(line['amount'], line['currency']))}</td></tr>"
        for line in invoice["lines"]["data"]
    )
    pay = (
        f"<form method='post' action='/invoice/{invoice['id']}/pay'>{_card_select()}<button>Pay</button></form>"
        if invoice["status"] == "open"
        else ""
    )
    money = payments.money
    body = (
        f"<p>Status: <b>{_e(invoice['status'])}</b></p><table>{rows}</table>"
        f"<p>Total {_e(money(invoice['total'], invoice['currency']))} · "
        f"due {_e(money(invoice['amount_due'], invoice['currency']))} · "
        f"paid {_e(money(invoice['amount_paid'], invoice['currency']))}</p>"
        f"{_error(error)}{pay}<p><a href='/invoice/{invoice['id']}/pdf'>PDF</a></p>"
    )
    return _html(402 if error else 200, f"Invoice {invoice['number'] or invoice['id']}", body)


def _document_lines(acct: Account, obj: Obj) -> list[str]:
    money = payments.money
    if obj["object"] == "credit_note":
        return [
            f"Credit note {obj['number']}",
            f"Invoice {obj['invoice']}",
            *(f"{line['description']}: {money(line['amount'], obj['currency'])}" for line in obj["lines"]["data"]),
            f"Total {money(obj['total'], obj['currency'])}",
        ]
    customer = acct.store.find(obj["customer"]) or {}
    return [
        f"Invoice {obj['number'] or obj['id']} ({obj['status']})",
        f"Billed to {customer.get('email') or obj['customer']}",
        *(f"{line['description']}: {money(line['amount'], line['currency'])}" for line in obj["lines"]["data"]),
        f"Total {money(obj['total'], obj['currency'])}",
        f"Amount due {money(obj['amount_due'], obj['currency'])}",
        f"Amount paid {money(obj['amount_paid'], obj['currency'])}",
    ]


def _pdf(lines: list[str]) -> bytes:
    """A one-page PDF of text lines (Helvetica, Latin-1)."""

    def escape(text: str) -> str:
        safe = text.encode("latin-1", "replace").decode("latin-1")
        return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    text = "BT /F1 11 Tf 50 790 Td 16 TL " + " ".join(f"({escape(line)}) Tj T*" for line in lines) + " ET"
    parts = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(text.encode('latin-1'))} >>\nstream\n{text}\nendstream",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, part in enumerate(parts, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{part}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(parts) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(parts) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


# -- bits -----------------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _error(message: str | None) -> str:
    return f"<p class='error' role='alert'>{_e(message)}</p>" if message else ""


def _card_select() -> str:
    options = "".join(f'<option value="{number}">{_e(label)}</option>' for number, label in CARD_LABELS.items())
    return f"<label>Test card <select name='card'>{options}</select></label>"


def _price_label(price: Obj) -> str:
    recurring = price["recurring"]
    every = f" / {recurring['interval']}" if recurring else ""
    return payments.money(price["unit_amount"], price["currency"]) + every


def _date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%d %b %Y")


def _html(status: int, title: str, body: str) -> Page:
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_e(title)} · local Stripe</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1a1f36}"
        "button{margin:.5rem .5rem .5rem 0;padding:.5rem 1rem;background:#635bff;color:#fff;border:0;border-radius:4px}"
        ".error{color:#c0123c}select,input{margin:.5rem 0;display:block}td{padding:.25rem 1rem .25rem 0}"
        f"</style></head><body><h1>{_e(title)}</h1>"
        "<p><small>Local Stripe emulator: test mode, nothing is charged.</small></p>"
        f"{body}</body></html>"
    )
    return Page(status, page.encode())
