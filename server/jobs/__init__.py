"""Durable asynchronous jobs: the store and the manager that runs them."""
