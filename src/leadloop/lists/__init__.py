"""What every list shares: paging, page sizes, saved views, CSV export, bulk selection."""
