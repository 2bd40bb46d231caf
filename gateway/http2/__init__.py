"""HTTP/2: the client side (h2c, Upgrade, ALPN h2) and h2c to the pods."""
