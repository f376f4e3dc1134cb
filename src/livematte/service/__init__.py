"""The cut-out service: `livematte api` (aiohttp) in front of `livematte worker`s (Celery on RabbitMQ, Redis)."""
