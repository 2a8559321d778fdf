"""Campaigns as marketing sees them: cost, who they touched, and the leads and deals that followed."""
