"""Analytics (issue 15): what the warehouse produced. Reads what the other capabilities record;
writes nothing, so it never slows the capture path."""
