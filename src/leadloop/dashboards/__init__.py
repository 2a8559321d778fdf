"""Dashboards (issue 15, item 10): each role's figures as panels, a table and a chart each."""
