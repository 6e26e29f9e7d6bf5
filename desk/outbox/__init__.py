"""Outbound notifications (SMS), queued in the database with the event that causes them."""
