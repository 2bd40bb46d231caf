"""HTTP/1.1 on the wire: the client side (downstream.py) and the pods' side (upstream.py).

Request handling that does not depend on the client's protocol is in gateway/handling.py;
an HTTP/2 client side would sit beside downstream.py on the same interfaces.
"""
