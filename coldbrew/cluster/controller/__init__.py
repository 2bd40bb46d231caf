"""``coldbrew controller``: Services in, Revisions, Deployments and statuses out."""
