"""Analytics: the EIE nine-stage model (t1–t9) and the service KPI dashboards."""
