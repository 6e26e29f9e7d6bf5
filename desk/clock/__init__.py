"""The SLA clock: contractual moments as database rows, acted on by the scheduler."""
