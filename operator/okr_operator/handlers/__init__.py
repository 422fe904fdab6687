"""kopf handlers: the only package that imports kopf."""
