"""The coldbrew command line and its control-API client."""
