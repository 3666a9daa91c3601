"""Twilio surface: inbound SMS replies and voice key presses, signature-checked.

Construct with `twilio_router(settings.notify.twilio, actions, phones, pages)`; `pages` is
anything with `latest_page_to(number)` (the delivery ledger, `DeliveryLedger`).
"""
