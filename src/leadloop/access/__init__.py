"""Who sees what, and who may work a lead: one place decides, every page, API, search and report asks."""
