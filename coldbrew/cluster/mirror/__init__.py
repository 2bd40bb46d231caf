"""``coldbrew gateway --kubernetes``: the cluster mirrored into one gateway."""
