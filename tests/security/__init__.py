"""Security tests (issue 11). What lives here, and where the rest already is:

- test_stateful_api.py: schemathesis in stateful mode (chains of calls over inferred links);
  the per-operation run is tests/portal/test_schemathesis.py.
- test_rasa_auth.py: Rasa's HTTP API refuses calls without its token (real Rasa).
- test_xss_pages.py: markup in every staff-rendered text field stays text (Chromium).
- Login throttling: tests/portal/test_ticket_api_flow.py (the sixth failed login is refused,
  across the API and the login page, for five minutes); customer one-time codes:
  tests/portal/test_customer_auth.py (five wrong tries burn the code, one code a minute).
- IDOR, role x endpoint: tests/portal/test_access_matrix.py (404, not 403, for others' data).
- Upload type and size: tests/portal/test_ticket_api_flow.py (a non-image is refused, an
  oversize file is refused).
"""
