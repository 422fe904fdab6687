"""I/O adapters behind the services ports: Prometheus, Kubernetes, metrics."""
