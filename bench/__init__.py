"""The desk's performance benchmark (issue 7): `python -m bench`, or `make bench`.

B1 intake under an outage storm, B2 the SLA clock's tick at 10,000 and 1,000,000 incidents,
B3 the monthly report in a database of 1,000,000, B4 memory. Every workload runs beside its
floor in the same session and is reported as a ratio; see docs/performance.md.
"""
