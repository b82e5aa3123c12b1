"""The customers' own web portal (自助服务门户) under /my: sign-in by phone and one-time code,
the help centre, service requests through the intake templates, their tickets with the live
timeline, and rating a finished job."""
