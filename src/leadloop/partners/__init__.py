"""Channel sales: the partner portal, partner SLAs, deal registration and the partner scorecard."""
