"""The Celery application: RabbitMQ over AMQP carries the tasks, Redis holds results and progress.

Settings that make a job survive a worker's death:
- task_acks_late: a task's message is acknowledged after it ran, so a worker killed mid-task (kill -9,
  a lost machine) never acknowledged it and RabbitMQ hands it to another worker when the connection
  drops; task_reject_on_worker_lost does the same for a pool child that dies.
- worker_prefetch_multiplier = 1: a worker reserves one message per thread, so a dead worker strands
  no queue of reserved tasks and long tasks spread over the workers that are free.
- RabbitMQ closes a channel whose unacknowledged message is older than its consumer_timeout (30 min by
  default) and redelivers it: one task (an image, a video chunk) must stay well under that, which is
  what [service] chunk_frames is for.
- confirm_publish: the API's send waits for RabbitMQ's confirmation, so a job is never lost between
  the API and the broker. Messages are persistent and the queue durable (Celery's defaults).
Results go to Redis through store.py rather than Celery's result backend (task_ignore_result), because
a job is many tasks whose state the API reads directly.
"""
from __future__ import annotations

from celery import Celery

from ..config import ServiceConfig

app = Celery("livematte", include=["livematte.service.tasks", "livematte.service.video_tasks"])
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    broker_transport_options={"confirm_publish": True},
    broker_connection_retry_on_startup=True,
    # Workers are counted from their heartbeats in Redis (store.beat); no remote-control queues per worker.
    worker_enable_remote_control=False,
    worker_hijack_root_logger=False,
)


def configure(service: ServiceConfig) -> Celery:
    app.conf.update(broker_url=service.broker_url, result_backend=service.result_url,
                    task_default_queue=service.queue)
    return app
