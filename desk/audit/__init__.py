"""The audit log: every change to an incident, who made it, before and after."""
