"""Security tests (issue 11). What lives here, and where the rest already is:

- test_stateful_api.py: schemathesis in stateful mode (chains of calls over inferred links),
  and every operation as every caller (staff roles, customer, bot, anonymous) on both
  databases with 0 5xx; the per-operation schema run is tests/portal/test_schemathesis.py;
  benchmarks/api_fuzz.py is the larger-budget sweep.
- test_access_generated.py: every route declares a policy (or is listed public with its
  reason); the role x route table is access_matrix.txt; every route answers every caller as
  its policy says. test_access_rows.py: someone else's rows answer as missing ones (404).
- test_bounded_ids.py: every integer id in a URL is bounded (422, not a 500).
- test_rasa_auth.py: Rasa's HTTP API refuses calls without its token (real Rasa).
- test_xss_pages.py: markup in every staff-rendered text field stays text (Chromium).
- Login throttling: tests/portal/test_ticket_api_flow.py (the sixth failed login is refused,
  across the API and the login page, for five minutes); customer one-time codes:
  tests/portal/test_customer_auth.py (five wrong tries burn the code, one code a minute).
- IDOR, hand-written cases: tests/portal/test_access_matrix.py (404 for others' data).
- Upload type and size: tests/portal/test_ticket_api_flow.py (a non-image is refused, an
  oversize file is refused).
"""
